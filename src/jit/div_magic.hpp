// Division by a constant through multiplication (Granlund and Montgomery, "Division by Invariant
// Integers using Multiplication", 1994; the round-up method, with the "add" fix-up for divisors
// whose magic number needs one more bit than the operand). Backend-neutral: both JIT backends
// turn `x / d` and `x % d` with a constant unsigned divisor into a multiply-high, shifts and (for
// the modulo) a multiply-subtract; the kernel's JITs emit a div instruction there.
#pragma once

#include <bit>
#include <cstdint>

namespace bpfvm::jit {

/// How to divide an unsigned `width`-bit x by a constant d that is not a power of two:
///   t = mulhi(x, mul)                                  (the high `width` bits of x * mul)
///   !add:  q = t >> shift
///    add:  q = (((x - t) >> 1) + t) >> shift           (all in `width` bits, no overflow)
/// mul < 2^width.
struct UnsignedMagic {
    uint64_t mul = 0;
    uint32_t shift = 0;
    bool add = false;
};

/// Magic for divisor `d` (2 < d, not a power of two, d < 2^width) and width 32 or 64.
constexpr UnsignedMagic unsigned_magic(uint64_t d, unsigned width) {
    const unsigned l = 63 - static_cast<unsigned>(std::countl_zero(d));  // floor(log2 d)
    // floor(2^(width + l) / d) and the remainder, in `width`-bit arithmetic (the quotient fits:
    // d > 2^l makes it < 2^width).
    const unsigned __int128 num = static_cast<unsigned __int128>(1) << (width + l);
    const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    uint64_t m = static_cast<uint64_t>(num / d) & mask;
    const uint64_t rem = static_cast<uint64_t>(num % d);
    UnsignedMagic out;
    out.shift = l;
    if (d - rem < (uint64_t{1} << l)) {
        // ceil(2^(width + l) / d) is close enough to 2^(width + l) / d for every x < 2^width.
        out.mul = (m + 1) & mask;
        return out;
    }
    // Needs ceil(2^(width + l + 1) / d), which has width + 1 bits: keep its low `width` bits and
    // add x back in (halving first so that the sum cannot overflow).
    const uint64_t twice_rem = (rem << 1) & mask;
    m = (m << 1) & mask;
    if (twice_rem >= d || twice_rem < rem) m = (m + 1) & mask;
    out.mul = (m + 1) & mask;
    out.add = true;
    return out;
}

/// mulhi for `width` bits: the high half of the 2*width-bit product.
constexpr uint64_t mulhi(uint64_t x, uint64_t y, unsigned width) {
    if (width == 64) return static_cast<uint64_t>((static_cast<unsigned __int128>(x) * y) >> 64);
    return (x * y) >> 32;  // both < 2^32
}

/// x / d as the generated code computes it (for tests): the magic must come from unsigned_magic.
constexpr uint64_t divide_by_magic(uint64_t x, const UnsignedMagic& m, unsigned width) {
    const uint64_t t = mulhi(x, m.mul, width);
    if (!m.add) return t >> m.shift;
    return (((x - t) >> 1) + t) >> m.shift;
}

/// How to divide a signed `width`-bit x by a constant d (|d| >= 2), truncating toward zero:
///   t = mulhs(x, mul)                     (high half of the signed product)
///   if d > 0 and mul < 0: t += x;  if d < 0 and mul > 0: t -= x
///   t >>= shift (arithmetic);  q = t + (t < 0 ? 1 : 0)
/// mul is a `width`-bit two's-complement number, stored sign-extended.
struct SignedMagic {
    int64_t mul = 0;
    uint32_t shift = 0;
};

/// Magic for divisor `d` (|d| >= 2; d = INT_MIN of the width allowed) and width 32 or 64
/// (Hacker's Delight, 2nd ed., section 10-4).
constexpr SignedMagic signed_magic(int64_t d, unsigned width) {
    const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    const uint64_t top = uint64_t{1} << (width - 1);
    const uint64_t ud = static_cast<uint64_t>(d) & mask;
    const uint64_t ad = (d < 0 ? (0 - ud) : ud) & mask;  // |d| (2^(width-1) for INT_MIN)
    const uint64_t t = top + (ud >> (width - 1));
    const uint64_t anc = t - 1 - t % ad;  // |nc|, the largest "non-conforming" dividend
    unsigned p = width - 1;
    uint64_t q1 = top / anc, r1 = top - q1 * anc;
    uint64_t q2 = top / ad, r2 = top - q2 * ad;
    uint64_t delta = 0;
    do {
        ++p;
        q1 = (q1 << 1) & mask;
        r1 = (r1 << 1) & mask;
        if (r1 >= anc) {
            q1 = (q1 + 1) & mask;
            r1 = (r1 - anc) & mask;
        }
        q2 = (q2 << 1) & mask;
        r2 = (r2 << 1) & mask;
        if (r2 >= ad) {
            q2 = (q2 + 1) & mask;
            r2 = (r2 - ad) & mask;
        }
        delta = ad - r2;
    } while (q1 < delta || (q1 == delta && r1 == 0));
    uint64_t m = (q2 + 1) & mask;
    if (d < 0) m = (0 - m) & mask;
    SignedMagic out;
    // Sign-extend the width-bit magic.
    out.mul = width == 64 ? static_cast<int64_t>(m) : static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(m)));
    out.shift = p - width;
    return out;
}

/// x / d (signed, truncating) as the generated code computes it (for tests); x sign-extended to
/// 64 bits, the result likewise.
constexpr int64_t divide_by_magic(int64_t x, int64_t d, const SignedMagic& m, unsigned width) {
    int64_t t = 0;
    if (width == 64) {
        t = static_cast<int64_t>((static_cast<__int128>(x) * m.mul) >> 64);
    } else {
        t = (x * m.mul) >> 32;  // both fit in 32 bits signed
    }
    if (d > 0 && m.mul < 0) t += x;
    if (d < 0 && m.mul > 0) t -= x;
    if (width == 32) t = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(t)));
    t >>= m.shift;
    return t + (t < 0 ? 1 : 0);
}

}  // namespace bpfvm::jit
