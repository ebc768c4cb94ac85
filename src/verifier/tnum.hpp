// Tristate numbers ("tnums"): what the verifier knows about the bits of a 64-bit value, as the
// Linux kernel's kernel/bpf/tnum.c keeps it. Each bit is known 0, known 1 or unknown; a tnum stands
// for the set of every value that agrees with its known bits. Every operation here is sound: the
// result's set contains every concrete result of the operation applied to members of the inputs.
// The algorithms follow the kernel's so that bpfvm knows exactly the bits the kernel knows.
#pragma once

#include <cstdint>
#include <string>

namespace bpfvm::verifier {

/// A tnum: bit i is unknown when `mask` has it, otherwise it equals bit i of `value`.
/// Invariant: `(value & mask) == 0`. Members are `value | s` for every submask `s` of `mask`.
struct Tnum {
    uint64_t value = 0;
    uint64_t mask = 0;

    /// The tnum of exactly `v`.
    static constexpr Tnum constant(uint64_t v) { return Tnum{v, 0}; }
    /// The tnum of every 64-bit value.
    static constexpr Tnum unknown() { return Tnum{0, ~0ull}; }
    /// The smallest tnum holding [min, max] (it may hold more: range(0, 2) also holds 3).
    /// Expects min <= max; the bits above the highest differing bit are known.
    static Tnum range(uint64_t min, uint64_t max);

    /// True when every bit is known (a single value).
    constexpr bool is_const() const { return mask == 0; }
    /// True when no bit is known.
    constexpr bool is_unknown() const { return mask == ~0ull; }
    /// True when this is exactly the constant `v`.
    constexpr bool equals_const(uint64_t v) const { return mask == 0 && value == v; }
    /// True when the concrete value `v` is a member.
    constexpr bool contains(uint64_t v) const { return (v & ~mask) == value; }
    /// True when every member of `b` is a member of this (the kernel's tnum_in(this, b)).
    bool covers(Tnum b) const;
    /// True when the known bits of both agree, i.e. they may share a member (tnum_overlap).
    bool overlaps(Tnum b) const;
    /// True when every member is a multiple of `size` (a power of two; 0 counts as aligned).
    bool is_aligned(uint64_t size) const;
    /// Smallest and largest members.
    constexpr uint64_t min() const { return value; }
    constexpr uint64_t max() const { return value | mask; }
    /// The smallest member greater than `z`; max() when there is none, min() when z < min()
    /// (the kernel's tnum_step).
    uint64_t next_after(uint64_t z) const;

    /// The low `bytes` bytes, higher bits known 0 (tnum_cast); bytes in 1..8.
    Tnum cast(unsigned bytes) const;
    /// The low 32 bits (the subregister), zero-extended.
    Tnum subreg() const { return cast(4); }
    /// This with the low 32 bits known 0.
    Tnum clear_subreg() const;
    /// The high 32 bits of this with the low 32 bits of `sub`.
    Tnum with_subreg(Tnum sub) const;
    /// The high 32 bits of this with the low 32 bits known to be `v`.
    Tnum with_const_subreg(uint32_t v) const { return with_subreg(constant(v)); }
    /// True when the low 32 bits are all known.
    bool subreg_is_const() const { return static_cast<uint32_t>(mask) == 0; }

    /// Shifts by a known amount, `n` < 64 (the caller checks; larger amounts are not modelled).
    Tnum lshift(unsigned n) const;
    Tnum rshift(unsigned n) const;
    /// Arithmetic right shift of the low `bits` (32 or 64) bits by `n` < bits; a 32-bit result
    /// is zero-extended.
    Tnum arshift(unsigned n, unsigned bits) const;
    /// Byte swap of the low `width` (16, 32 or 64) bits; a narrower result is zero-extended.
    Tnum bswap(unsigned width) const;

    /// "(0x0; 0xff)": the kernel's tnum_strn format.
    std::string to_string() const;
    /// 64 characters '0', '1' or 'x', most significant bit first (the kernel's tnum_sbin).
    std::string to_binary() const;

    constexpr bool operator==(const Tnum&) const = default;
};

/// Arithmetic and bitwise operations, each sound for every pair of members.
Tnum operator+(Tnum a, Tnum b);
Tnum operator-(Tnum a, Tnum b);
Tnum operator-(Tnum a);
Tnum operator*(Tnum a, Tnum b);
Tnum operator&(Tnum a, Tnum b);
Tnum operator|(Tnum a, Tnum b);
Tnum operator^(Tnum a, Tnum b);

/// The values both may hold. Where the two disagree on a known bit (an empty intersection),
/// the bit comes out known 1, as in the kernel: callers detect emptiness from the bounds.
Tnum intersect(Tnum a, Tnum b);
/// The smallest tnum holding every member of both (the kernel's tnum_union).
Tnum join(Tnum a, Tnum b);

}  // namespace bpfvm::verifier
