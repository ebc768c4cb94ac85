// Soundness by enumeration: for many abstract operands and concrete members of each, the concrete
// result (bpfvm::sem, the semantics every engine shares) must be a member of the abstract result;
// a decided branch must be decided for every member pair, and refining a side must keep every
// pair that takes it. A rule that loses a value fails here, whatever the kernel would say.
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bpfvm/semantics.hpp"
#include "scalar_samples.hpp"

namespace {

using namespace bpfvm::verifier;
using bpfvm::verifier::testing::members;
using bpfvm::verifier::testing::sample_scalars;
namespace sem = bpfvm::sem;

constexpr AluOp kAluOps[] = {AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::SDiv, AluOp::Mod, AluOp::SMod, AluOp::Or,
                             AluOp::And, AluOp::Xor, AluOp::Lsh, AluOp::Rsh, AluOp::Arsh, AluOp::Mov, AluOp::Neg};
constexpr JmpOp kJmpOps[] = {JmpOp::Eq, JmpOp::Ne, JmpOp::Gt, JmpOp::Ge, JmpOp::Lt, JmpOp::Le,
                             JmpOp::Sgt, JmpOp::Sge, JmpOp::Slt, JmpOp::Sle, JmpOp::Set};

uint64_t concrete_alu(AluOp op, bool is64, uint64_t a, uint64_t b) {
    if (is64) {
        const auto sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
        switch (op) {
            case AluOp::Add: return a + b;
            case AluOp::Sub: return a - b;
            case AluOp::Mul: return a * b;
            case AluOp::Div: return sem::udiv64(a, b);
            case AluOp::SDiv: return static_cast<uint64_t>(sem::sdiv64(sa, sb));
            case AluOp::Mod: return sem::umod64(a, b);
            case AluOp::SMod: return static_cast<uint64_t>(sem::smod64(sa, sb));
            case AluOp::Or: return a | b;
            case AluOp::And: return a & b;
            case AluOp::Xor: return a ^ b;
            case AluOp::Lsh: return sem::lsh64(a, b);
            case AluOp::Rsh: return sem::rsh64(a, b);
            case AluOp::Arsh: return sem::arsh64(a, b);
            case AluOp::Mov: return b;
            case AluOp::Neg: return 0 - a;
        }
    }
    const auto a32 = static_cast<uint32_t>(a), b32 = static_cast<uint32_t>(b);
    const auto sa = static_cast<int32_t>(a32), sb = static_cast<int32_t>(b32);
    uint32_t r = 0;
    switch (op) {
        case AluOp::Add: r = a32 + b32; break;
        case AluOp::Sub: r = a32 - b32; break;
        case AluOp::Mul: r = a32 * b32; break;
        case AluOp::Div: r = sem::udiv32(a32, b32); break;
        case AluOp::SDiv: r = static_cast<uint32_t>(sem::sdiv32(sa, sb)); break;
        case AluOp::Mod: r = sem::umod32(a32, b32); break;
        case AluOp::SMod: r = static_cast<uint32_t>(sem::smod32(sa, sb)); break;
        case AluOp::Or: r = a32 | b32; break;
        case AluOp::And: r = a32 & b32; break;
        case AluOp::Xor: r = a32 ^ b32; break;
        case AluOp::Lsh: r = sem::lsh32(a32, b); break;
        case AluOp::Rsh: r = sem::rsh32(a32, b); break;
        case AluOp::Arsh: r = sem::arsh32(a32, b); break;
        case AluOp::Mov: r = b32; break;
        case AluOp::Neg: r = 0u - a32; break;
    }
    return r;  // ALU32 results are zero-extended
}

bool concrete_jmp(JmpOp op, bool is32, uint64_t a, uint64_t b) {
    if (is32) {
        a = static_cast<uint32_t>(a);
        b = static_cast<uint32_t>(b);
    }
    const auto sa = is32 ? int64_t{static_cast<int32_t>(a)} : static_cast<int64_t>(a);
    const auto sb = is32 ? int64_t{static_cast<int32_t>(b)} : static_cast<int64_t>(b);
    switch (op) {
        case JmpOp::Eq: return sem::jeq(a, b);
        case JmpOp::Ne: return sem::jne(a, b);
        case JmpOp::Gt: return sem::jgt(a, b);
        case JmpOp::Ge: return sem::jge(a, b);
        case JmpOp::Lt: return sem::jlt(a, b);
        case JmpOp::Le: return sem::jle(a, b);
        case JmpOp::Sgt: return sem::jsgt(sa, sb);
        case JmpOp::Sge: return sem::jsge(sa, sb);
        case JmpOp::Slt: return sem::jslt(sa, sb);
        case JmpOp::Sle: return sem::jsle(sa, sb);
        case JmpOp::Set: return sem::jset(a, b);
    }
    return false;
}

std::string describe(const Scalar& s) { return s.to_string() + " " + s.var_off.to_string(); }

// Concrete members drawn per operand: fewer in unoptimised (sanitizer) builds, where each check
// costs ten times more, so that the suite stays within seconds there too.
#ifdef NDEBUG
constexpr size_t kMembers = 12;
#else
constexpr size_t kMembers = 6;
#endif

// Operands: the samples, plus the constants that shifts and divisions are decided by.
std::vector<Scalar> operands() {
    auto v = sample_scalars(0x5ca1ab1e);
    for (uint64_t k : {0ull, 3ull, 31ull, 32ull, 63ull, 64ull, ~0ull, ~0ull << 32 | 7})
        v.push_back(Scalar::known(k));
    return v;
}

// The operands with their concrete members, and a walk over every ordered pair of operands and
// every pair of their members that stops at the first fatal failure.
struct Sampled {
    std::vector<Scalar> vals;
    std::vector<std::vector<uint64_t>> mem;

    explicit Sampled(uint64_t seed) : vals(operands()) {
        std::mt19937_64 rng(seed);
        for (const Scalar& v : vals) mem.push_back(members(v, rng, kMembers));
    }

    // For every pair of operands, `prepare(i, j)` computes the abstract results and returns the
    // check to run on each pair of members; returns the number of member pairs checked.
    template <class Prepare>
    uint64_t for_each_pair(Prepare prepare) const {
        uint64_t checks = 0;
        for (size_t i = 0; i < vals.size(); ++i) {
            for (size_t j = 0; j < vals.size(); ++j) {
                auto check = prepare(i, j);
                for (uint64_t x : mem[i]) {
                    for (uint64_t y : mem[j]) {
                        check(x, y);
                        if (::testing::Test::HasFatalFailure()) return checks;
                        ++checks;
                    }
                }
            }
        }
        return checks;
    }
};

TEST(ScalarSoundness, AluResultsContainEveryConcreteResult) {
    const Sampled s(42);
    struct Result {
        AluOp op;
        bool is64;
        std::optional<ScalarFork> fork;
        Scalar whole, minus_one, zero;
    };
    const uint64_t checks = s.for_each_pair([&](size_t i, size_t j) {
        std::vector<Result> results;
        for (AluOp op : kAluOps) {
            for (bool is64 : {true, false}) {
                // The kernel first splits a [-1, 0] destination of and/or with a constant.
                Result r{op, is64, split_minus_one_or_zero(op, s.vals[i], s.vals[j]), alu(op, is64, s.vals[i], s.vals[j]), {}, {}};
                r.minus_one = r.fork ? alu(op, is64, r.fork->minus_one, s.vals[j]) : r.whole;
                r.zero = r.fork ? alu(op, is64, r.fork->zero, s.vals[j]) : r.whole;
                results.push_back(r);
            }
        }
        return [&s, i, j, results](uint64_t x, uint64_t y) {
            for (const Result& r : results) {
                ASSERT_TRUE(!r.fork || r.fork->minus_one.contains(x) || r.fork->zero.contains(x)) << x;
                const Scalar& result = !r.fork ? r.whole : r.fork->minus_one.contains(x) ? r.minus_one : r.zero;
                const uint64_t c = concrete_alu(r.op, r.is64, x, y);
                ASSERT_TRUE(result.contains(c)) << "op " << int(r.op) << (r.is64 ? " 64" : " 32") << " x=" << x << " in "
                                                << describe(s.vals[i]) << " y=" << y << " in " << describe(s.vals[j])
                                                << " gives " << c << " not in " << describe(result);
            }
        };
    });
    EXPECT_GT(checks, kMembers * kMembers * 1'000u);
}

TEST(ScalarSoundness, UnaryTransfersContainEveryConcreteResult) {
    const auto vals = operands();
    std::mt19937_64 rng(7);
    uint64_t checks = 0;
    for (const Scalar& s : vals) {
        const auto xs = members(s, rng, 64);
        for (unsigned width : {16u, 32u, 64u}) {
            for (ByteOrder kind : {ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap}) {
                const Scalar r = byte_swap(kind, width, s);
                for (uint64_t x : xs) {
                    const uint64_t want = kind == ByteOrder::ToLe ? sem::to_le(x, width) : sem::byte_swap(x, width);
                    ASSERT_TRUE(r.contains(want)) << describe(s) << " width " << width << " x=" << x;
                    ++checks;
                }
            }
        }
        for (unsigned bits : {8u, 16u, 32u}) {
            const Scalar r64 = move_sign_extended(true, bits, s);
            const Scalar r32 = move_sign_extended(false, bits == 32 ? 16 : bits, s);
            const Scalar ld = extend_loaded(s, bits / 8, false);
            const Scalar ldsx = extend_loaded(s, bits / 8, true);
            for (uint64_t x : xs) {
                const auto sx = static_cast<uint64_t>(sem::sext(x, bits));
                ASSERT_TRUE(r64.contains(sx)) << describe(s) << " movsx64 s" << bits << " x=" << x;
                ASSERT_TRUE(ldsx.contains(sx)) << describe(s) << " ldsx " << bits << " x=" << x;
                ASSERT_TRUE(ld.contains(x & ((1ull << bits) - 1))) << describe(s) << " ldx " << bits << " x=" << x;
                const unsigned b32 = bits == 32 ? 16 : bits;
                ASSERT_TRUE(r32.contains(static_cast<uint32_t>(sem::sext(x, b32)))) << describe(s) << " movsx32 x=" << x;
                checks += 4;
            }
        }
    }
    EXPECT_GT(checks, 20'000u);
}

TEST(ScalarSoundness, BranchDecisionsAndRefinementsKeepEveryPair) {
    const Sampled s(99);
    struct Sides {
        JmpOp op;
        bool is32;
        Branch decided;
        Scalar ta, tb, fa, fb;
        bool t_ok, f_ok;
    };
    const uint64_t checks = s.for_each_pair([&](size_t i, size_t j) {
        std::vector<Sides> sides;
        for (JmpOp op : kJmpOps) {
            for (bool is32 : {false, true}) {
                Sides d{op, is32, is_branch_taken(op, is32, s.vals[i], s.vals[j]), s.vals[i], s.vals[j], s.vals[i], s.vals[j],
                        false, false};
                d.t_ok = refine(op, is32, true, d.ta, d.tb);
                d.f_ok = refine(op, is32, false, d.fa, d.fb);
                sides.push_back(d);
            }
        }
        return [&s, i, j, sides](uint64_t x, uint64_t y) {
            for (const Sides& d : sides) {
                const bool c = concrete_jmp(d.op, d.is32, x, y);
                const auto where = [&] {
                    return "op " + std::to_string(int(d.op)) + (d.is32 ? " jmp32" : " jmp") + " x=" + std::to_string(x) +
                           " in " + describe(s.vals[i]) + " y=" + std::to_string(y) + " in " + describe(s.vals[j]);
                };
                ASSERT_FALSE(d.decided == Branch::Always && !c) << where();
                ASSERT_FALSE(d.decided == Branch::Never && c) << where();
                ASSERT_TRUE(c ? d.t_ok : d.f_ok) << "side declared impossible: " << where();
                const Scalar& a = c ? d.ta : d.fa;
                const Scalar& b = c ? d.tb : d.fb;
                ASSERT_TRUE(a.contains(x) && b.contains(y)) << where() << " -> " << describe(a) << " / " << describe(b);
            }
        };
    });
    EXPECT_GT(checks, kMembers * kMembers * 1'000u);
}

TEST(ScalarSoundness, SameRegisterComparisonsKeepTheValue) {
    const auto vals = operands();
    std::mt19937_64 rng(5);
    uint64_t checks = 0;
    for (const Scalar& s : vals) {
        for (JmpOp op : kJmpOps) {
            for (bool is32 : {false, true}) {
                const Branch decided = is_branch_taken(op, is32, s, s);
                Scalar t = s, f = s;
                refine_same_register(op, is32, true, t);
                refine_same_register(op, is32, false, f);
                for (uint64_t x : members(s, rng, 16)) {
                    const bool c = concrete_jmp(op, is32, x, x);
                    ASSERT_FALSE(decided == Branch::Always && !c);
                    ASSERT_FALSE(decided == Branch::Never && c);
                    ASSERT_TRUE((c ? t : f).contains(x)) << describe(s) << " op " << int(op) << " x=" << x;
                    ++checks;
                }
            }
        }
    }
    EXPECT_GT(checks, 10'000u);
}

TEST(ScalarSoundness, SyncAndPointerOffsetsKeepEveryMember) {
    const auto vals = operands();
    std::mt19937_64 rng(11);
    for (size_t i = 0; i < vals.size(); ++i) {
        Scalar synced = vals[i];
        synced.sync();
        const Scalar& off = vals[(i * 7 + 3) % vals.size()];
        const Scalar sum = pointer_offset_add(vals[i], off);
        const Scalar diff = pointer_offset_sub(vals[i], off);
        for (uint64_t x : members(vals[i], rng, 16)) {
            ASSERT_TRUE(synced.contains(x)) << describe(vals[i]);
            for (uint64_t y : members(off, rng, 8)) {
                ASSERT_TRUE(sum.contains(x + y)) << describe(vals[i]) << " + " << describe(off);
                ASSERT_TRUE(diff.contains(x - y)) << describe(vals[i]) << " - " << describe(off);
            }
        }
    }
}

}  // namespace
