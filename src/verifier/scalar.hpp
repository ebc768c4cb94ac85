// The verifier's scalar value domain, as the Linux kernel keeps it for every SCALAR_VALUE register
// and for the variable offset of pointers: a tnum (known bits) plus signed and unsigned bounds in
// 64 and 32 bits. A Scalar stands for the values that satisfy all five at once. The transfer
// functions (ALU ops, sign/zero extension, byte swaps, branch refinement) follow the kernel's rules
// exactly, imprecision included, because the aim is the kernel's verdict: a program the kernel
// rejects for a lost bound must be rejected here too.
//
// Reference: the kernel of the development machines (Linux 6.18.44 with its stable backports),
// checked by loading probe programs and comparing its level-2 log with this library (see
// tests/verifier/scalar_kernel_cases.txt). Facts of that kernel that differ between versions:
// - reg_bounds_sync collapses a register to a constant when its tnum and unsigned range share a
//   single value (tnum_step), and deduces across the sign boundary in 64 and in 32 bits;
// - byte swaps are tracked through the tnum; neg is tracked as 0 - x (not probed: neg programs
//   crash this kernel, see DEVELOPERS.md);
// - div and mod results are not tracked (unknown, the whole register even for ALU32);
// - `dst &= K` / `dst |= K` with dst in [-1, 0] splits into two paths (split_minus_one_or_zero);
// - a register compared with itself is not special-cased: decided from its bounds, refined
//   through aliases (refine_same_register).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "tnum.hpp"

namespace bpfvm::verifier {

/// An abstract scalar: every value x with var_off.contains(x), umin <= x <= umax,
/// smin <= (int64_t)x <= smax, u32_min <= (uint32_t)x <= u32_max, s32_min <= (int32_t)x <= s32_max.
/// The default value is unknown() (every value). A Scalar whose bounds cross (min > max) is empty:
/// the kernel treats that as a verifier bug or, after a branch, as a dead path (see is_consistent).
struct Scalar {
    Tnum var_off = Tnum::unknown();
    int64_t smin = std::numeric_limits<int64_t>::min();
    int64_t smax = std::numeric_limits<int64_t>::max();
    uint64_t umin = 0;
    uint64_t umax = std::numeric_limits<uint64_t>::max();
    int32_t s32_min = std::numeric_limits<int32_t>::min();
    int32_t s32_max = std::numeric_limits<int32_t>::max();
    uint32_t u32_min = 0;
    uint32_t u32_max = std::numeric_limits<uint32_t>::max();

    /// Exactly `v` (the kernel's ___mark_reg_known).
    static Scalar known(uint64_t v);
    /// Every 64-bit value.
    static Scalar unknown() { return Scalar{}; }
    /// The values in [min, max] unsigned (min <= max), synced.
    static Scalar from_urange(uint64_t min, uint64_t max);
    /// The values in [min, max] signed (min <= max), synced.
    static Scalar from_srange(int64_t min, int64_t max);
    /// The members of `t`, with bounds derived from it.
    static Scalar from_tnum(Tnum t);

    /// True when the whole 64-bit value is known (var_off has no unknown bit).
    bool is_const() const { return var_off.is_const(); }
    /// The value when is_const().
    uint64_t const_value() const { return var_off.value; }
    /// True when the low 32 bits are known.
    bool is_const32() const { return var_off.subreg_is_const(); }
    /// The low 32 bits when is_const32().
    uint32_t const_value32() const { return static_cast<uint32_t>(var_off.value); }
    /// The kernel's is_reg_const: the 32- or 64-bit view is known.
    bool is_const_in(bool is32) const { return is32 ? is_const32() : is_const(); }
    /// The kernel's reg_const_value: the known 32-bit (zero-extended) or 64-bit value.
    uint64_t const_value_in(bool is32) const { return is32 ? const_value32() : const_value(); }
    /// Bits needed to hold umax (the kernel's get_reg_width); 0 for umax == 0.
    unsigned width() const;
    /// True when the concrete value `x` satisfies all five representations.
    bool contains(uint64_t x) const;

    /// No bounds crossed (every min <= max). False means the value set is empty.
    bool is_consistent() const;
    /// The kernel's reg_bounds_sanity_check: nullptr when sound, else its reason ("range bounds
    /// violation", "const tnum out of sync with range bounds", "const subreg tnum out of sync with
    /// range bounds"). The kernel reports these as verifier bugs.
    const char* invariant_violation() const;

    /// The kernel's reg_bounds_sync: learn bounds from var_off, deduce between the signed,
    /// unsigned, 32- and 64-bit bounds (three rounds), learn bits from the bounds, then bounds from
    /// the bits again. Never loses a member.
    void sync();
    /// Steps of sync(), exposed for callers that mirror a kernel path calling them alone.
    void update_bounds();    // __update_reg_bounds: update_bounds32() then update_bounds64()
    void update_bounds32();  // __update_reg32_bounds
    void update_bounds64();  // __update_reg64_bounds, with the single-member collapse
    void deduce_bounds();    // __reg_deduce_bounds (one round)
    void bound_offset();     // __reg_bound_offset

    /// Exactly `v` (keeps nothing). Same as *this = known(v).
    void mark_known(uint64_t v) { *this = known(v); }
    /// The low 32 bits become `v`; the upper 32 bits of var_off and the 64-bit bounds are kept
    /// (the kernel's __mark_reg32_known).
    void mark_known32(uint32_t v);
    /// Forget every bound (var_off kept), in 64 bits, 32 bits or both.
    void mark_unbounded();
    void mark_unbounded64();
    void mark_unbounded32();
    /// The 32-bit result of an ALU32 op becomes the whole register: the upper 32 bits are known 0
    /// (the kernel's zext_32_to_64, without the sync that callers do next).
    void zext32();
    /// Truncate to the low `bytes` bytes (1, 2 or 4), zero-extended, then sync (coerce_reg_to_size):
    /// narrow loads and the truncation half of byte swaps.
    void coerce_to_size(unsigned bytes);
    /// Sign-extend the low `bytes` bytes (1, 2 or 4) to 64 bits (coerce_reg_to_size_sx): ldsx
    /// loads and 64-bit movsx. Like the kernel it does not sync afterwards.
    void coerce_to_size_sx(unsigned bytes);
    /// Sign-extend the low `bytes` bytes (1 or 2) into the 32-bit subregister
    /// (coerce_subreg_to_size_sx); callers zero-extend and sync after it.
    void coerce_subreg_to_size_sx(unsigned bytes);

    /// The kernel's log rendering of a scalar register: "5", "-1", "0xffffffff80000000" when known,
    /// else "scalar()" or "scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))".
    /// The register id and the precision mark ("P") are the caller's to add.
    std::string to_string() const;
    /// The fields inside the parentheses, comma-separated: the bounds that are not at their
    /// default (equal neighbours merged, "smax=umax=255") then var_off unless unknown; "" for an
    /// unknown value. The kernel prints pointer offsets with the same fields.
    std::string fields_string() const;

    /// Exact equality of every field (the scalar part of the kernel's regs_exact).
    bool operator==(const Scalar&) const = default;
};

/// Kernel number formatting in logs: decimal in [-32768, 32767] (signed) or [0, 65535]
/// (unsigned), otherwise "0x" hex of the 64-bit pattern.
std::string format_signed(int64_t v);
std::string format_unsigned(uint64_t v);

/// True when every value of `cur` is a value of `old` (the kernel's range_within on the eight
/// bounds plus tnum_in on var_off): state pruning may treat `cur` as already verified by `old`.
bool covers(const Scalar& old, const Scalar& cur);

// ---- ALU transfer (scalar_alu.cpp) -----------------------------------------------------------

/// ALU operations with a scalar destination. Div/Mod/SDiv/SMod follow the kernel's 6.18 rule:
/// the result (the whole 64-bit register, even for ALU32) becomes unknown.
enum class AluOp : uint8_t { Add, Sub, Mul, Div, SDiv, Mod, SMod, Or, And, Xor, Lsh, Rsh, Arsh, Mov, Neg };

/// `dst op= src` in 64 bits (`is64`) or 32 bits (then zero-extended, as the machine does). For an
/// immediate operand pass Scalar::known(sign-extended imm), as the kernel does for BPF_K. Neg
/// ignores `src`. Mov returns `src` (zero-extended from 32 bits when !is64). Shifts by an unknown
/// amount or by >= the width give an unknown result, as in the kernel.
Scalar alu(AluOp op, bool is64, const Scalar& dst, const Scalar& src);

/// The byte-order instructions: to_le/to_be (BPF_ALU class) and bswap (BPF_ALU64 class).
enum class ByteOrder : uint8_t { ToLe, ToBe, Swap };

/// The result of a byte-order instruction of `width` (16, 32 or 64) bits on a little-endian host
/// (the kernel tracks the swapped known bits; 16/32-bit forms truncate).
Scalar byte_swap(ByteOrder kind, unsigned width, const Scalar& dst);

/// movsx: `rD = (sN)rS` when is64 (N = 8, 16, 32) or `wD = (sN)wS` (N = 8, 16, zero-extended).
Scalar move_sign_extended(bool is64, unsigned from_bits, const Scalar& src);

/// A scalar loaded with a `bytes`-byte access (1, 2, 4 or 8): zero-extended (ldx) or
/// sign-extended (ldsx) from the stored or tracked value `v`.
Scalar extend_loaded(const Scalar& v, unsigned bytes, bool sign_extend);

/// The kernel splits `dst &= K` / `dst |= K` when dst is in [-1, 0] (64-bit bounds, else 32-bit
/// bounds): the current path continues with dst = -1 and a second path re-runs the same
/// instruction with dst = 0, so that both results are exact (maybe_fork_scalars).
struct ScalarFork {
    Scalar minus_one;  // dst for the current path
    Scalar zero;       // dst for the pushed path, which re-runs this instruction
};
/// The split for `op` (And or Or with a constant src), or nullopt when the kernel does not split.
std::optional<ScalarFork> split_minus_one_or_zero(AluOp op, const Scalar& dst, const Scalar& src);

// ---- Conditional jumps (scalar_branch.cpp) ---------------------------------------------------

/// Conditional jump conditions, `a op b`; unsigned unless S-prefixed. Set is `(a & b) != 0`.
enum class JmpOp : uint8_t { Eq, Ne, Gt, Ge, Lt, Le, Sgt, Sge, Slt, Sle, Set };

/// Whether a conditional jump is decided by the operands' abstract values.
enum class Branch : uint8_t { Never, Always, Unknown };

/// The kernel's is_scalar_branch_taken on the 32-bit (`is32`, JMP32) or 64-bit view of both
/// operands. 6.18 has no special case for comparing a register with itself: pass it twice.
Branch is_branch_taken(JmpOp op, bool is32, const Scalar& a, const Scalar& b);

/// Refine both operands for the side where `a op b` is `taken` (the kernel's regs_refine_cond_op,
/// then a sync of both). For an immediate pass a throw-away Scalar::known(sign-extended imm).
/// Returns false when a refined operand fails the kernel's invariant checks (bounds crossed, or
/// a known var_off disagreeing with them): that side cannot happen, and the kernel reports it as a
/// register invariant violation (a verifier bug, a rejection under BPF_F_TEST_REG_INVARIANTS;
/// otherwise it forgets the bounds and goes on). True does not prove the side possible: like the
/// kernel's, the single-member collapse of sync() may turn an empty state into a constant.
bool refine(JmpOp op, bool is32, bool taken, Scalar& a, Scalar& b);
/// The same for `if rX op rX`: the kernel applies the two-operand rules to one register seen
/// twice, so `r < r` taken leaves umin + 1 and umax - 1 (an impossible side it does not detect).
bool refine_same_register(JmpOp op, bool is32, bool taken, Scalar& a);

/// The operator that gives the same outcome with the operands swapped (`a < b` is `b > a`).
JmpOp swap_operands(JmpOp op);

// ---- Pointer arithmetic helpers (scalar_branch.cpp) ------------------------------------------

/// The kernel's bound on variable offsets of pointers (BPF_MAX_VAR_OFF, 1 << 29).
inline constexpr int64_t kMaxVarOff = int64_t{1} << 29;

/// Why a scalar may not be added to or subtracted from a pointer (check_reg_sane_offset_scalar,
/// and check_reg_sane_offset_ptr for the pointer's own variable offset).
enum class OffsetProblem : uint8_t {
    None,
    ConstantOutOfRange,  // "math between %s pointer and %lld is not allowed" (the constant value)
    UnboundedMin,        // "... register with unbounded min value is not allowed" (smin == S64_MIN)
    MinOutOfRange,       // "value %lld makes %s pointer be out of bounds" (smin beyond kMaxVarOff)
};
/// Checks a scalar operand of pointer arithmetic.
OffsetProblem check_offset_operand(const Scalar& off);
/// Checks a pointer's variable offset before and after the arithmetic (no UnboundedMin check).
OffsetProblem check_pointer_offset(const Scalar& ptr_off);
/// The kernel taints the result (unknown scalar) when the offset's bounds are impossible, e.g.
/// after a dead branch: a constant with unequal min/max, or crossed 64-bit bounds.
bool has_impossible_bounds(const Scalar& off);
/// Unprivileged loaders may not add a non-constant scalar whose signed bounds straddle zero
/// ("R%d has unknown scalar with mixed signed bounds").
bool has_mixed_signed_bounds(const Scalar& off);
/// The variable offset of `ptr +/- off` as the kernel computes it for pointers: 64-bit bounds
/// only (any overflow gives unbounded), 32-bit bounds forgotten, var_off by tnum arithmetic, synced.
Scalar pointer_offset_add(const Scalar& ptr_off, const Scalar& off);
Scalar pointer_offset_sub(const Scalar& ptr_off, const Scalar& off);

}  // namespace bpfvm::verifier
