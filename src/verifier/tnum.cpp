// Tnum operations. Each follows the kernel's algorithm (kernel/bpf/tnum.c) so that the known bits
// agree with the kernel's bit for bit; the comments give the soundness argument of each.
#include "tnum.hpp"

#include <bit>
#include <cinttypes>
#include <cstdio>

#include "bpfvm/result.hpp"

namespace bpfvm::verifier {

Tnum Tnum::range(uint64_t min, uint64_t max) {
    // Every value in [min, max] shares the bits above the highest bit where min and max differ;
    // that bit and all below it may take any value.
    const uint64_t differ = min ^ max;
    if (differ >> 63) return unknown();
    const uint64_t low = differ ? (~0ull >> std::countl_zero(differ)) : 0;
    return Tnum{min & ~low, low};
}

bool Tnum::covers(Tnum b) const {
    if (b.mask & ~mask) return false;  // b has an unknown bit that this knows
    return (b.value & ~mask) == value;
}

bool Tnum::overlaps(Tnum b) const {
    const uint64_t both_known = ~mask & ~b.mask;
    return (value & both_known) == (b.value & both_known);
}

bool Tnum::is_aligned(uint64_t size) const {
    if (size == 0) return true;
    return ((value | mask) & (size - 1)) == 0;
}

uint64_t Tnum::next_after(uint64_t z) const {
    const uint64_t top = max();
    if (z >= top) return top;
    if (z < value) return value;
    // Members are value + s for the submasks s of mask (value and mask share no bit), so we need
    // the smallest submask s > d with d = z - value. A submask is 0 at every non-mask bit, so if d
    // has 1s outside the mask, s must beat d above the highest of them: treat every bit at or below
    // it as 1 already. Then add one "inside the mask": non-mask bits set to 1 carry straight through.
    uint64_t d = z - value;
    const uint64_t outside = d & ~mask;
    if (outside) d |= ~0ull >> std::countl_zero(outside);
    return value | (((d | ~mask) + 1) & mask);
}

Tnum Tnum::cast(unsigned bytes) const {
    const uint64_t keep = bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
    return Tnum{value & keep, mask & keep};
}

Tnum Tnum::clear_subreg() const { return Tnum{value & ~0xffffffffull, mask & ~0xffffffffull}; }

Tnum Tnum::with_subreg(Tnum sub) const { return clear_subreg() | sub.subreg(); }

// Shift amounts come from instructions the caller has checked (or from a known register value
// below the width); a larger one here is a bug in the caller.
Tnum Tnum::lshift(unsigned n) const {
    BPFVM_ASSERT(n < 64);
    return Tnum{value << n, mask << n};
}

Tnum Tnum::rshift(unsigned n) const {
    BPFVM_ASSERT(n < 64);
    return Tnum{value >> n, mask >> n};
}

Tnum Tnum::arshift(unsigned n, unsigned bits) const {
    // The sign bit, known or not, is copied into the vacated bits of both value and mask.
    BPFVM_ASSERT((bits == 32 || bits == 64) && n < bits);
    if (bits == 32) {
        return Tnum{static_cast<uint32_t>(static_cast<int32_t>(value) >> n),
                    static_cast<uint32_t>(static_cast<int32_t>(mask) >> n)};
    }
    return Tnum{static_cast<uint64_t>(static_cast<int64_t>(value) >> n),
                static_cast<uint64_t>(static_cast<int64_t>(mask) >> n)};
}

Tnum Tnum::bswap(unsigned width) const {
    // A byte swap only moves bits, so known and unknown bits move together.
    BPFVM_ASSERT(width == 16 || width == 32 || width == 64);
    switch (width) {
        case 16: return Tnum{__builtin_bswap16(static_cast<uint16_t>(value)), __builtin_bswap16(static_cast<uint16_t>(mask))};
        case 32: return Tnum{__builtin_bswap32(static_cast<uint32_t>(value)), __builtin_bswap32(static_cast<uint32_t>(mask))};
        default: return Tnum{__builtin_bswap64(value), __builtin_bswap64(mask)};
    }
}

std::string Tnum::to_string() const {
    // The kernel's printf prints the 0x prefix even for zero: "(0x0; 0xff)".
    char buf[48];
    std::snprintf(buf, sizeof buf, "(0x%" PRIx64 "; 0x%" PRIx64 ")", value, mask);
    return buf;
}

std::string Tnum::to_binary() const {
    std::string out(64, '0');
    for (int bit = 0; bit < 64; ++bit) {
        char& c = out[63 - bit];
        if ((mask >> bit) & 1) c = 'x';
        else if ((value >> bit) & 1) c = '1';
    }
    return out;
}

Tnum operator+(Tnum a, Tnum b) {
    // The smallest sum takes every unknown bit as 0, the largest as 1; wherever the carries of the
    // two differ the result bit is unknown, and so is every bit that is unknown in an input.
    const uint64_t low = a.value + b.value;
    const uint64_t high = low + a.mask + b.mask;
    const uint64_t unknown = (low ^ high) | a.mask | b.mask;
    return Tnum{low & ~unknown, unknown};
}

Tnum operator-(Tnum a, Tnum b) {
    // Same argument with borrows: a's unknown bits raise the difference, b's lower it.
    const uint64_t base = a.value - b.value;
    const uint64_t high = base + a.mask;
    const uint64_t low = base - b.mask;
    const uint64_t unknown = (high ^ low) | a.mask | b.mask;
    return Tnum{base & ~unknown, unknown};
}

Tnum operator-(Tnum a) { return Tnum::constant(0) - a; }

Tnum operator*(Tnum a, Tnum b) {
    // Long multiplication over the bits of a: a known 1 adds the shifted b, a known 0 adds nothing,
    // an unknown bit gives the join of both outcomes.
    Tnum acc = Tnum::constant(0);
    while (a.value || a.mask) {
        if (a.value & 1) acc = acc + b;
        else if (a.mask & 1) acc = join(acc, acc + b);
        a = a.rshift(1);
        b = b.lshift(1);
    }
    return acc;
}

Tnum operator&(Tnum a, Tnum b) {
    // A result bit is known 1 when both are known 1, may be 1 when both may be 1.
    const uint64_t ones = a.value & b.value;
    const uint64_t maybe = (a.value | a.mask) & (b.value | b.mask);
    return Tnum{ones, maybe & ~ones};
}

Tnum operator|(Tnum a, Tnum b) {
    // A known 1 on either side forces a 1; otherwise unknown if unknown on either side.
    const uint64_t ones = a.value | b.value;
    return Tnum{ones, (a.mask | b.mask) & ~ones};
}

Tnum operator^(Tnum a, Tnum b) {
    const uint64_t unknown = a.mask | b.mask;
    return Tnum{(a.value ^ b.value) & ~unknown, unknown};
}

Tnum intersect(Tnum a, Tnum b) {
    const uint64_t unknown = a.mask & b.mask;
    return Tnum{(a.value | b.value) & ~unknown, unknown};
}

Tnum join(Tnum a, Tnum b) {
    const uint64_t unknown = (a.value ^ b.value) | a.mask | b.mask;
    return Tnum{a.value & b.value & ~unknown, unknown};
}

}  // namespace bpfvm::verifier
