// The magic numbers behind division by a constant (src/jit/div_magic.hpp), against plain
// division: every divisor up to 70,000 and divisors near powers of two and at the top of the
// range, with dividends at the edges (0, 1, d-1, d, d+1, multiples, the maximum) and
// pseudo-random ones. The JIT tests run the generated code on the same kinds of values.
#include <gtest/gtest.h>

#include <bit>
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

}  // namespace
}  // namespace bpfvm::jit
