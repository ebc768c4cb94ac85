// Tnum tests: exhaustive soundness of every operation over all tnums of a few unknown bits placed
// where carries and signs change, optimality where the kernel's algorithm is optimal, and exact
// values for the cases the kernel documents.
#include <gtest/gtest.h>

#include <vector>

#include "bpfvm/semantics.hpp"
#include "verifier/tnum.hpp"

namespace {

using bpfvm::verifier::intersect;
using bpfvm::verifier::join;
using bpfvm::verifier::Tnum;
namespace sem = bpfvm::sem;

// Every tnum whose bits in `window` are 0, 1 or unknown and whose other bits equal `base`.
std::vector<Tnum> tnums_over(uint64_t window, uint64_t base) {
    std::vector<uint64_t> bits;
    for (int i = 0; i < 64; ++i)
        if ((window >> i) & 1) bits.push_back(uint64_t{1} << i);
    std::vector<Tnum> out;
    size_t total = 1;
    for (size_t i = 0; i < bits.size(); ++i) total *= 3;
    for (size_t code = 0; code < total; ++code) {
        Tnum t{base & ~window, 0};
        size_t c = code;
        for (uint64_t bit : bits) {
            if (c % 3 == 1) t.value |= bit;
            if (c % 3 == 2) t.mask |= bit;
            c /= 3;
        }
        out.push_back(t);
    }
    return out;
}

std::vector<uint64_t> members_of(Tnum t) {
    std::vector<uint64_t> out;
    uint64_t sub = 0;
    do {
        out.push_back(t.value | sub);
        sub = (sub - t.mask) & t.mask;
    } while (sub != 0);
    return out;
}

// Windows of four bits: the bottom, across bit 31/32, and the top (sign and carry out).
struct Family {
    uint64_t window, base;
};
const Family kFamilies[] = {
    {0xfull, 0},
    {0xfull, 0xfffffffffffffff0ull},
    {0x3ull << 30 | 0x3ull << 32, 0x123456789abcdef0ull},
    {0xfull << 60, 0x0fffffffffffffffull},
    {0x9ull | 0x9ull << 61, 0x00ff00ff00ff00ffull},
};

TEST(Tnum, BinaryOperationsAreSoundOverSmallFamilies) {
    uint64_t checks = 0;
    for (const Family& fa : kFamilies) {
        for (const Family& fb : kFamilies) {
            const auto as = tnums_over(fa.window, fa.base);
            const auto bs = tnums_over(fb.window, fb.base);
            for (const Tnum& a : as) {
                for (const Tnum& b : bs) {
                    const Tnum sum = a + b, diff = a - b, prod = a * b, both = a & b, either = a | b, excl = a ^ b;
                    const Tnum joined = join(a, b);
                    for (uint64_t x : members_of(a)) {
                        ASSERT_TRUE(joined.contains(x));
                        for (uint64_t y : members_of(b)) {
                            ASSERT_TRUE(sum.contains(x + y)) << a.to_string() << " + " << b.to_string();
                            ASSERT_TRUE(diff.contains(x - y)) << a.to_string() << " - " << b.to_string();
                            ASSERT_TRUE(prod.contains(x * y)) << a.to_string() << " * " << b.to_string();
                            ASSERT_TRUE(both.contains(x & y));
                            ASSERT_TRUE(either.contains(x | y));
                            ASSERT_TRUE(excl.contains(x ^ y));
                            checks += 6;
                        }
                    }
                    for (uint64_t y : members_of(b)) ASSERT_TRUE(joined.contains(y));
                }
            }
        }
    }
    EXPECT_GT(checks, 5'000'000u);
}

TEST(Tnum, BitwiseOperationsAreOptimal) {
    // and, or, xor: every bit the result leaves unknown really takes both values.
    for (const Tnum& a : tnums_over(0xf, 0)) {
        for (const Tnum& b : tnums_over(0xf, 0)) {
            uint64_t seen_and[2] = {0, 0}, seen_or[2] = {0, 0}, seen_xor[2] = {0, 0};
            for (uint64_t x : members_of(a)) {
                for (uint64_t y : members_of(b)) {
                    seen_and[0] |= ~(x & y), seen_and[1] |= x & y;
                    seen_or[0] |= ~(x | y), seen_or[1] |= x | y;
                    seen_xor[0] |= ~(x ^ y), seen_xor[1] |= x ^ y;
                }
            }
            EXPECT_EQ((a & b).mask, seen_and[0] & seen_and[1]);
            EXPECT_EQ((a | b).mask, seen_or[0] & seen_or[1]);
            EXPECT_EQ((a ^ b).mask, seen_xor[0] & seen_xor[1]);
        }
    }
}

TEST(Tnum, UnaryOperationsAreSound) {
    for (const Family& f : kFamilies) {
        for (const Tnum& a : tnums_over(f.window, f.base)) {
            const auto xs = members_of(a);
            const Tnum neg = -a;
            for (uint64_t x : xs) ASSERT_TRUE(neg.contains(0 - x));
            for (unsigned n = 0; n < 64; ++n) {
                const Tnum l = a.lshift(n), r = a.rshift(n), ar = a.arshift(n, 64);
                for (uint64_t x : xs) {
                    ASSERT_TRUE(l.contains(sem::lsh64(x, n)));
                    ASSERT_TRUE(r.contains(sem::rsh64(x, n)));
                    ASSERT_TRUE(ar.contains(sem::arsh64(x, n)));
                }
            }
            for (unsigned n = 0; n < 32; ++n) {
                const Tnum ar = a.subreg().arshift(n, 32);
                for (uint64_t x : xs) ASSERT_TRUE(ar.contains(sem::arsh32(static_cast<uint32_t>(x), n)));
            }
            for (unsigned w : {16u, 32u, 64u}) {
                const Tnum s = a.bswap(w);
                for (uint64_t x : xs) ASSERT_TRUE(s.contains(sem::byte_swap(x, w)));
            }
            for (unsigned bytes = 1; bytes <= 8; ++bytes) {
                const Tnum c = a.cast(bytes);
                const uint64_t keep = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
                for (uint64_t x : xs) ASSERT_TRUE(c.contains(x & keep));
            }
        }
    }
}

TEST(Tnum, NextAfterFindsTheSmallestLargerMember) {
    for (const Family& f : kFamilies) {
        for (const Tnum& t : tnums_over(f.window, f.base)) {
            const auto xs = members_of(t);  // ascending
            for (uint64_t x : xs) {
                for (int64_t d : {-1, 0, 1, 2}) {
                    const uint64_t z = x + static_cast<uint64_t>(d);
                    uint64_t want = t.max();
                    if (z < t.min()) want = t.min();
                    else
                        for (uint64_t y : xs)
                            if (y > z) {
                                want = y;
                                break;
                            }
                    ASSERT_EQ(t.next_after(z), want) << t.to_string() << " after " << z;
                }
            }
        }
    }
    // The example of the kernel's tnum_step comment: x11100x0 after 241 is 242.
    EXPECT_EQ((Tnum{0b01110000, 0b10000010}).next_after(241), 242u);
}

TEST(Tnum, RelationsMatchTheirDefinitions) {
    const auto ts = tnums_over(0x1d, 0);
    for (const Tnum& a : ts) {
        const auto xs = members_of(a);
        for (const Tnum& b : ts) {
            const auto ys = members_of(b);
            bool all_in = true, some_common = false;
            for (uint64_t y : ys) {
                all_in = all_in && a.contains(y);
                for (uint64_t x : xs) some_common = some_common || x == y;
            }
            EXPECT_EQ(a.covers(b), all_in) << a.to_string() << " covers " << b.to_string();
            EXPECT_EQ(a.overlaps(b), some_common) << a.to_string() << " overlaps " << b.to_string();
            if (some_common) {
                const Tnum i = intersect(a, b);
                for (uint64_t x : xs) EXPECT_EQ(i.contains(x), b.contains(x));
            }
        }
    }
}

TEST(Tnum, RangeHoldsTheRangeAndKnowsTheCommonHighBits) {
    EXPECT_EQ(Tnum::range(0, 2), (Tnum{0, 3}));  // the kernel's example: holds 3 too
    EXPECT_EQ(Tnum::range(5, 5), Tnum::constant(5));
    EXPECT_EQ(Tnum::range(0x100, 0x1ff), (Tnum{0x100, 0xff}));
    EXPECT_EQ(Tnum::range(0, ~0ull), Tnum::unknown());
    EXPECT_EQ(Tnum::range(1ull << 63, ~0ull), (Tnum{1ull << 63, ~0ull >> 1}));
    for (uint64_t lo : {0ull, 7ull, 0xfffffff0ull, 0x7ffffffffffffff0ull})
        for (uint64_t hi = lo; hi < lo + 40; ++hi)
            for (uint64_t v = lo; v <= hi; ++v) ASSERT_TRUE(Tnum::range(lo, hi).contains(v));
}

TEST(Tnum, KnownExamples) {
    EXPECT_EQ((Tnum{0, 1} + Tnum{0, 1}), (Tnum{0, 3}));
    EXPECT_EQ(Tnum::constant(5) + Tnum::constant(7), Tnum::constant(12));
    // The kernel's tnum_mul example: x1 * 11 = union(0011, 1001) = x0x1.
    EXPECT_EQ((Tnum{1, 2} * Tnum::constant(3)), (Tnum{1, 0xa}));
    EXPECT_EQ(Tnum::unknown() & Tnum::constant(0xff), (Tnum{0, 0xff}));
    EXPECT_EQ(Tnum::unknown() | Tnum::constant(0x8), (Tnum{0x8, ~0x8ull}));
    EXPECT_EQ(-Tnum::constant(1), Tnum::constant(~0ull));
    EXPECT_EQ(join(Tnum::constant(3), Tnum::constant(9)), (Tnum{1, 0xa}));
    // Disagreeing known bits come out known 1 (an empty intersection the bounds reveal).
    EXPECT_EQ(intersect(Tnum::constant(1), Tnum::constant(2)), Tnum::constant(3));
    EXPECT_EQ((Tnum{0x80, 0x7f}).arshift(4, 32), (Tnum{0x8, 0x7}));
    EXPECT_EQ((Tnum{0x80000000, 0x7f}).arshift(4, 32), (Tnum{0xf8000000, 0x7}));
    EXPECT_EQ((Tnum{0, 0x3f00}).bswap(16), (Tnum{0, 0x3f}));
    EXPECT_EQ((Tnum{0x1234567800000000, 0xff}).with_const_subreg(0xabcd), Tnum::constant(0x123456780000abcd));
    EXPECT_EQ((Tnum{0x1234567800000001, 0xf0}).clear_subreg(), Tnum::constant(0x1234567800000000));
    EXPECT_TRUE((Tnum{0x100000000, 0xf00000000}).subreg_is_const());
    EXPECT_TRUE((Tnum{0x10, 0xf0}).is_aligned(16));
    EXPECT_FALSE((Tnum{0x10, 0xf8}).is_aligned(16));
}

TEST(Tnum, PrintsLikeTheKernel) {
    EXPECT_EQ((Tnum{0, 0xff}).to_string(), "(0x0; 0xff)");
    EXPECT_EQ(Tnum::unknown().to_string(), "(0x0; 0xffffffffffffffff)");
    EXPECT_EQ((Tnum{0xfffffffffffffc00, 0x3fc}).to_string(), "(0xfffffffffffffc00; 0x3fc)");
    EXPECT_EQ((Tnum{0b101, 0b010}).to_binary(), std::string(61, '0') + "1x1");
}

}  // namespace
