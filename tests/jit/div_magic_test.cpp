// The magic numbers behind division by a constant (src/jit/div_magic.hpp), against plain
// division: every divisor up to 70,000 and divisors near powers of two and at the top of the
// range, with dividends at the edges (0, 1, d-1, d, d+1, multiples, the maximum) and
// pseudo-random ones. The JIT tests run the generated code on the same kinds of values.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "jit/div_magic.hpp"

namespace bpfvm::jit {
namespace {

static_assert(divide_by_magic(1000000, unsigned_magic(65521, 32), 32) == 1000000 / 65521);
static_assert(divide_by_magic(~uint64_t{0}, unsigned_magic(7, 64), 64) == ~uint64_t{0} / 7);

std::vector<uint64_t> divisors(unsigned width) {
    std::vector<uint64_t> out;
    for (uint64_t d = 3; d <= 70000; ++d) out.push_back(d);
    const uint64_t top = width == 64 ? ~uint64_t{0} : 0xffffffffu;
    for (unsigned b = 2; b < width; ++b) {
        const uint64_t p = uint64_t{1} << b;
        for (uint64_t d : {p - 1, p + 1, p + 3, p * 3 / 2})
            if (d > 2 && d <= top) out.push_back(d);
    }
    for (uint64_t d : {top, top - 1, top - 2, top / 3, top / 7 * 5, uint64_t{0x7fffffff}, uint64_t{1000000007}})
        out.push_back(d);
    std::vector<uint64_t> kept;
    for (uint64_t d : out)
        if (d > 2 && !std::has_single_bit(d) && d <= top) kept.push_back(d);
    return kept;
}

void check_width(unsigned width) {
    const uint64_t top = width == 64 ? ~uint64_t{0} : 0xffffffffu;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t failures = 0;
    for (uint64_t d : divisors(width)) {
        const UnsignedMagic m = unsigned_magic(d, width);
        ASSERT_LE(m.mul, top) << d;
        std::vector<uint64_t> values = {0, 1, d - 1, d, d + 1, 2 * d - 1, 2 * d, top, top - 1, top / d * d, top / d * d - 1};
        for (int i = 0; i < 40; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push_back(x & top);
            values.push_back((x & top) >> (x % width));
        }
        for (uint64_t v : values) {
            v &= top;
            if (divide_by_magic(v, m, width) != v / d && ++failures < 10)
                ADD_FAILURE() << width << "-bit " << v << " / " << d << ": got " << divide_by_magic(v, m, width);
        }
    }
    EXPECT_EQ(failures, 0u);
}

TEST(DivMagic, Unsigned32) { check_width(32); }
TEST(DivMagic, Unsigned64) { check_width(64); }

TEST(DivMagic, BothFormsOccur) {
    // 7 needs the add fix-up at both widths; 3 and 65521 do not at 32 bits.
    EXPECT_TRUE(unsigned_magic(7, 32).add);
    EXPECT_TRUE(unsigned_magic(7, 64).add);
    EXPECT_FALSE(unsigned_magic(3, 32).add);
    EXPECT_EQ(unsigned_magic(3, 32).mul, 0xaaaaaaabu);
    EXPECT_EQ(unsigned_magic(3, 32).shift, 1u);
}

void check_signed(unsigned width) {
    const int64_t lo = width == 64 ? INT64_MIN : INT32_MIN;
    const int64_t hi = width == 64 ? INT64_MAX : INT32_MAX;
    std::vector<int64_t> ds;
    for (int64_t d = 2; d <= 5000; ++d) {
        ds.push_back(d);
        ds.push_back(-d);
    }
    for (unsigned b = 2; b < width - 1; ++b) {
        const int64_t p = int64_t{1} << b;
        for (int64_t d : {p - 1, p, p + 1, -(p - 1), -p, -(p + 1)}) ds.push_back(d);
    }
    for (int64_t d : {hi, hi - 1, lo, lo + 1, hi / 3, lo / 7, int64_t{65521}, int64_t{-1000000007}}) ds.push_back(d);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t failures = 0;
    for (int64_t d : ds) {
        const SignedMagic m = signed_magic(d, width);
        // Wrapping arithmetic (d may be the extreme values: -lo and 2 * 2^62 overflow int64_t).
        auto wrap = [](uint64_t v) { return static_cast<int64_t>(v); };
        const auto u = static_cast<uint64_t>(d);
        std::vector<int64_t> values = {0, 1, -1, lo, hi, lo + 1, hi - 1, d, wrap(0 - u), wrap(u - 1), wrap(u + 1),
                                       wrap(2 * u), wrap(0 - 2 * u)};
        for (int i = 0; i < 30; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            const auto v = static_cast<int64_t>(x);
            values.push_back(width == 64 ? v : static_cast<int32_t>(v));
            values.push_back(width == 64 ? v >> (x % 64) : static_cast<int32_t>(v) >> (x % 32));
        }
        for (int64_t v : values) {
            if (v < lo || v > hi || d < lo || d > hi) continue;
            if (v == lo && d == -1) continue;
            const int64_t want = v / d;
            const int64_t got = divide_by_magic(v, d, m, width);
            if (got != want && ++failures < 10)
                ADD_FAILURE() << width << "-bit " << v << " / " << d << ": got " << got << ", want " << want;
        }
    }
    EXPECT_EQ(failures, 0u);
}

TEST(DivMagic, Signed32) { check_signed(32); }
TEST(DivMagic, Signed64) { check_signed(64); }

}  // namespace
}  // namespace bpfvm::jit
