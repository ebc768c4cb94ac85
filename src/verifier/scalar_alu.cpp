// ALU transfer functions on scalars: the kernel's adjust_scalar_min_max_vals and the
// scalar{32,}_min_max_* rules, its mov/movsx handling, byte swaps and load extension.
//
// As in the kernel, an ALU32 op runs both the 32-bit and the 64-bit rules, then zero-extends the
// 32-bit result into the register; keeping that order keeps every corner case identical.
#include <algorithm>

#include "scalar.hpp"
#include "scalar_internal.hpp"

namespace bpfvm::verifier {

namespace {

using namespace detail;

template <class T>
bool add_overflows(T a, T b, T& out) { return __builtin_add_overflow(a, b, &out); }
template <class T>
bool sub_overflows(T a, T b, T& out) { return __builtin_sub_overflow(a, b, &out); }
template <class T>
bool mul_overflows(T a, T b, T& out) { return __builtin_mul_overflow(a, b, &out); }

// Addition: signed bounds survive when neither end overflows. Unsigned bounds survive when
// either no end or both ends wrap (then every sum wrapped by exactly 2^N); a wrap of the top
// end alone splits the set, which the bounds cannot express.
template <class S, class U>
void add_bounds(Bounds<S, U> d, Bounds<S, U> s) {
    if (add_overflows(d.smin, s.smin, d.smin) || add_overflows(d.smax, s.smax, d.smax)) {
        d.smin = std::numeric_limits<S>::min();
        d.smax = std::numeric_limits<S>::max();
    }
    const bool min_wraps = add_overflows(d.umin, s.umin, d.umin);
    const bool max_wraps = add_overflows(d.umax, s.umax, d.umax);
    if (!min_wraps && max_wraps) {
        d.umin = 0;
        d.umax = std::numeric_limits<U>::max();
    }
}

// Subtraction: [a, b] - [c, d] = [a - d, b - c]; same wrap argument as addition.
template <class S, class U>
void sub_bounds(Bounds<S, U> d, Bounds<S, U> s) {
    if (sub_overflows(d.smin, s.smax, d.smin) || sub_overflows(d.smax, s.smin, d.smax)) {
        d.smin = std::numeric_limits<S>::min();
        d.smax = std::numeric_limits<S>::max();
    }
    const bool min_wraps = sub_overflows(d.umin, s.umax, d.umin);
    const bool max_wraps = sub_overflows(d.umax, s.umin, d.umax);
    if (min_wraps && !max_wraps) {
        d.umin = 0;
        d.umax = std::numeric_limits<U>::max();
    }
}

// Multiplication: unsigned from the products of the ends when the largest cannot overflow;
// signed from the four corner products when none overflows.
template <class S, class U>
void mul_bounds(Bounds<S, U> d, Bounds<S, U> s) {
    if (mul_overflows(d.umax, s.umax, d.umax) || mul_overflows(d.umin, s.umin, d.umin)) {
        d.umin = 0;
        d.umax = std::numeric_limits<U>::max();
    }
    S p[4];
    if (mul_overflows(d.smin, s.smin, p[0]) || mul_overflows(d.smin, s.smax, p[1]) ||
        mul_overflows(d.smax, s.smin, p[2]) || mul_overflows(d.smax, s.smax, p[3])) {
        d.smin = std::numeric_limits<S>::min();
        d.smax = std::numeric_limits<S>::max();
    } else {
        d.smin = *std::min_element(p, p + 4);
        d.smax = *std::max_element(p, p + 4);
    }
}

// The same bounds rule on both widths (`s` by value: the views need mutable references).
template <void (*Rule)(Bounds32, Bounds32)>
void on32(Scalar& d, Scalar s) { Rule(bounds32(d), bounds32(s)); }
template <void (*Rule)(Bounds64, Bounds64)>
void on64(Scalar& d, Scalar s) { Rule(bounds64(d), bounds64(s)); }

// Bitwise ops run after var_off holds the result. and: the minimum comes from the known 1s, the
// maximum is the smaller maximum. or: the maximum comes from the bits that may be 1, the minimum
// is the larger minimum. xor: both from the tnum.
void and32(Scalar& d, const Scalar& s) {
    const Tnum t = d.var_off.subreg();
    if (s.is_const32() && d.is_const32()) return d.mark_known32(static_cast<uint32_t>(t.value));
    d.u32_min = static_cast<uint32_t>(t.value);
    d.u32_max = std::min(d.u32_max, s.u32_max);
    signed_from_unsigned(bounds32(d));
}

void and64(Scalar& d, const Scalar& s) {
    if (s.is_const() && d.is_const()) return d.mark_known(d.var_off.value);
    d.umin = d.var_off.value;
    d.umax = std::min(d.umax, s.umax);
    signed_from_unsigned(bounds64(d));
    d.update_bounds();
}

void or32(Scalar& d, const Scalar& s) {
    const Tnum t = d.var_off.subreg();
    if (s.is_const32() && d.is_const32()) return d.mark_known32(static_cast<uint32_t>(t.value));
    d.u32_min = std::max(d.u32_min, s.u32_min);
    d.u32_max = static_cast<uint32_t>(t.value | t.mask);
    signed_from_unsigned(bounds32(d));
}

void or64(Scalar& d, const Scalar& s) {
    if (s.is_const() && d.is_const()) return d.mark_known(d.var_off.value);
    d.umin = std::max(d.umin, s.umin);
    d.umax = d.var_off.value | d.var_off.mask;
    signed_from_unsigned(bounds64(d));
    d.update_bounds();
}

void xor32(Scalar& d, const Scalar& s) {
    const Tnum t = d.var_off.subreg();
    if (s.is_const32() && d.is_const32()) return d.mark_known32(static_cast<uint32_t>(t.value));
    d.u32_min = static_cast<uint32_t>(t.value);
    d.u32_max = static_cast<uint32_t>(t.value | t.mask);
    signed_from_unsigned(bounds32(d));
}

void xor64(Scalar& d, const Scalar& s) {
    if (s.is_const() && d.is_const()) return d.mark_known(d.var_off.value);
    d.umin = d.var_off.value;
    d.umax = d.var_off.value | d.var_off.mask;
    signed_from_unsigned(bounds64(d));
    d.update_bounds();
}

// Left shift of the 32-bit bounds by [lo, hi]; used by both shift widths (__scalar32_min_max_lsh).
void lsh_bounds32(Scalar& d, uint64_t lo, uint64_t hi) {
    d.s32_min = kS32Min;  // the sign bit may change
    d.s32_max = kS32Max;
    if (hi > 31 || d.u32_max > (uint64_t{1} << (31 - hi))) {  // the top bit may be shifted out
        d.u32_min = 0;
        d.u32_max = kU32Max;
    } else {
        d.u32_min <<= lo;
        d.u32_max <<= hi;
    }
}

void lsh32(Scalar& d, const Scalar& s) {
    const Tnum sub = d.var_off.subreg();
    lsh_bounds32(d, s.u32_min, s.u32_max);
    d.var_off = sub.lshift(s.u32_min).subreg();
    d.mark_unbounded64();  // zext32() recomputes them
    d.update_bounds32();
}

void lsh64(Scalar& d, const Scalar& s) {
    const uint64_t lo = s.umin, hi = s.umax;
    // `x << 32` is how compilers start a 32-to-64 sign extension (then `s>> 32`): the signed
    // 32-bit bounds become exact signed 64-bit bounds of the shifted value.
    if (lo == 32 && hi == 32) {
        d.smax = static_cast<int64_t>(static_cast<uint64_t>(int64_t{d.s32_max}) << 32);
        d.smin = static_cast<int64_t>(static_cast<uint64_t>(int64_t{d.s32_min}) << 32);
    } else {
        d.smax = kS64Max;
        d.smin = kS64Min;
    }
    if (d.umax > (uint64_t{1} << (63 - hi))) {
        d.umin = 0;
        d.umax = kU64Max;
    } else {
        d.umin <<= lo;
        d.umax <<= hi;
    }
    lsh_bounds32(d, lo, hi);  // after the 64-bit rule, which reads the unshifted 32-bit bounds
    d.var_off = d.var_off.lshift(static_cast<unsigned>(lo));
    d.update_bounds();
}

// Logical right shift: signed bounds are rebuilt from the unsigned ones and the tnum (a shift
// by zero keeps the sign, any other clears it).
void rsh32(Scalar& d, const Scalar& s) {
    const Tnum sub = d.var_off.subreg();
    d.s32_min = kS32Min;
    d.s32_max = kS32Max;
    d.var_off = sub.rshift(s.u32_min);
    d.u32_min >>= s.u32_max;
    d.u32_max >>= s.u32_min;
    d.mark_unbounded64();
    d.update_bounds32();
}

void rsh64(Scalar& d, const Scalar& s) {
    d.smin = kS64Min;
    d.smax = kS64Max;
    d.var_off = d.var_off.rshift(static_cast<unsigned>(s.umin));
    d.umin >>= s.umax;
    d.umax >>= s.umin;
    d.mark_unbounded32();  // bits from the upper half move in: rebuilt from the tnum
    d.update_bounds();
}

// Arithmetic right shift by a known amount (the kernel only gets here with a constant): the
// signed bounds shift, the unsigned ones are rebuilt from the tnum.
void arsh32(Scalar& d, const Scalar& s) {
    const uint32_t n = s.u32_min;
    d.s32_min >>= n;
    d.s32_max >>= n;
    d.var_off = d.var_off.subreg().arshift(n, 32);
    d.u32_min = 0;
    d.u32_max = kU32Max;
    d.mark_unbounded64();
    d.update_bounds32();
}

void arsh64(Scalar& d, const Scalar& s) {
    const auto n = static_cast<unsigned>(s.umin);
    d.smin >>= n;
    d.smax >>= n;
    d.var_off = d.var_off.arshift(n, 64);
    d.umin = 0;
    d.umax = kU64Max;
    d.mark_unbounded32();
    d.update_bounds();
}

// The kernel computes a result range only for these; the rest become unknown (is_safe_to_compute_dst_reg_range).
bool safe_to_compute(AluOp op, bool is64, const Scalar& src) {
    const bool src_const = is64 ? (src.is_const() && src.smin == src.smax && src.umin == src.umax)
                                : (src.is_const32() && src.s32_min == src.s32_max && src.u32_min == src.u32_max);
    switch (op) {
        case AluOp::Add:
        case AluOp::Sub:
        case AluOp::Neg:
        case AluOp::And:
        case AluOp::Or:
        case AluOp::Xor:
        case AluOp::Mul:
        case AluOp::Mov:
            return true;
        case AluOp::Div:
        case AluOp::SDiv:
        case AluOp::Mod:
        case AluOp::SMod:
            return false;  // 6.18 does not track division results
        case AluOp::Lsh:
        case AluOp::Rsh:
        case AluOp::Arsh:
            // Shifts need a known amount below the width; the 64-bit umax is checked even for
            // ALU32, so a constant subregister with unknown upper bits does not qualify.
            return src_const && src.umax < (is64 ? 64u : 32u);
    }
    return false;
}

}  // namespace

Scalar alu(AluOp op, bool is64, const Scalar& dst_in, const Scalar& src) {
    if (op == AluOp::Mov) {
        Scalar r = src;
        if (!is64) {
            r.zext32();
            r.sync();
        }
        return r;
    }
    if (!safe_to_compute(op, is64, src)) return Scalar::unknown();
    Scalar d = dst_in;
    switch (op) {
        case AluOp::Add:
            on32<add_bounds>(d, src);
            on64<add_bounds>(d, src);
            d.var_off = d.var_off + src.var_off;
            break;
        case AluOp::Sub:
            on32<sub_bounds>(d, src);
            on64<sub_bounds>(d, src);
            d.var_off = d.var_off - src.var_off;
            break;
        case AluOp::Neg: {
            const Scalar operand = dst_in;  // 0 - dst
            d = Scalar::known(0);
            on32<sub_bounds>(d, operand);
            on64<sub_bounds>(d, operand);
            d.var_off = -operand.var_off;
            break;
        }
        case AluOp::Mul:
            d.var_off = d.var_off * src.var_off;
            on32<mul_bounds>(d, src);
            on64<mul_bounds>(d, src);
            break;
        case AluOp::And:
            d.var_off = d.var_off & src.var_off;
            and32(d, src);
            and64(d, src);
            break;
        case AluOp::Or:
            d.var_off = d.var_off | src.var_off;
            or32(d, src);
            or64(d, src);
            break;
        case AluOp::Xor:
            d.var_off = d.var_off ^ src.var_off;
            xor32(d, src);
            xor64(d, src);
            break;
        case AluOp::Lsh:
            is64 ? lsh64(d, src) : lsh32(d, src);
            break;
        case AluOp::Rsh:
            is64 ? rsh64(d, src) : rsh32(d, src);
            break;
        case AluOp::Arsh:
            is64 ? arsh64(d, src) : arsh32(d, src);
            break;
        case AluOp::Div:
        case AluOp::SDiv:
        case AluOp::Mod:
        case AluOp::SMod:
        case AluOp::Mov:
            break;  // handled above
    }
    if (!is64) d.zext32();
    d.sync();
    return d;
}

Scalar byte_swap(ByteOrder kind, unsigned width, const Scalar& dst) {
    Scalar d = dst;
    // On a little-endian machine to_le only truncates; to_be and bswap move bytes. The bytes'
    // known bits move with them, the bounds are rebuilt from the new tnum.
    if (kind != ByteOrder::ToLe) {
        d.var_off = d.var_off.bswap(width);
        d.mark_unbounded();
    }
    if (width == 16 || width == 32) d.coerce_to_size(width / 8);
    d.sync();
    return d;
}

Scalar move_sign_extended(bool is64, unsigned from_bits, const Scalar& src) {
    Scalar d = src;
    if (is64) {
        d.coerce_to_size_sx(from_bits / 8);  // no sync afterwards, as in the kernel
        return d;
    }
    d.coerce_subreg_to_size_sx(from_bits / 8);
    d.zext32();
    d.sync();
    return d;
}

Scalar extend_loaded(const Scalar& v, unsigned bytes, bool sign_extend) {
    if (bytes >= 8) return v;
    Scalar d = v;
    if (sign_extend) d.coerce_to_size_sx(bytes);
    else d.coerce_to_size(bytes);
    return d;
}

std::optional<ScalarFork> split_minus_one_or_zero(AluOp op, const Scalar& dst, const Scalar& src) {
    // A value that is -1 or 0 used as a mask: each case alone gives an exact result, while the
    // range [-1, 0] would lose every bit. The kernel only splits for a constant (64-bit) operand.
    if ((op != AluOp::And && op != AluOp::Or) || !src.is_const()) return std::nullopt;
    ScalarFork f{dst, dst};
    if (dst.smin == -1 && dst.smax == 0) {
        f.minus_one.mark_known(~0ull);
        f.zero.mark_known(0);
    } else if (dst.s32_min == -1 && dst.s32_max == 0) {
        f.minus_one.mark_known32(~0u);
        f.zero.mark_known32(0);
    } else {
        return std::nullopt;
    }
    return f;
}

}  // namespace bpfvm::verifier
