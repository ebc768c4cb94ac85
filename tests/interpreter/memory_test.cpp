// Loads, stores and atomics, and the checked mode: bounds of the stack frame and of the
// RunContext regions, read-only regions, and the instruction budget.
#include <cstdint>
#include <cstring>

#include "interp_test_util.hpp"

namespace bpfvm::itest {
namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};

struct Input {
    alignas(8) uint8_t bytes[16] = {0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
                                    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    RunContext ctx;
    RunSpec spec;
    explicit Input(bool writable = false) {
        const auto begin = reinterpret_cast<uint64_t>(bytes);
        ctx.regions.push_back({begin, begin + sizeof bytes, writable});
        spec.r1 = begin;
        spec.ctx = &ctx;
    }
};

TEST(InterpMemory, LoadsZeroOrSignExtend) {
    Input in;
    expect_r0(cat({ldx(kB, 0, 1, 0), exit_()}), 0x80, in.spec);
    expect_r0(cat({ldx(kH, 0, 1, 0), exit_()}), 0x8180, in.spec);
    expect_r0(cat({ldx(kW, 0, 1, 0), exit_()}), 0x83828180u, in.spec);
    expect_r0(cat({ldx(kDW, 0, 1, 0), exit_()}), 0x8786858483828180ull, in.spec);
    expect_r0(cat({ldx(kDW, 0, 1, 8), exit_()}), 0x0f0e0d0c0b0a0908ull, in.spec);
    expect_r0(cat({ldxs(kB, 0, 1, 0), exit_()}), 0xffffffffffffff80ull, in.spec);
    expect_r0(cat({ldxs(kH, 0, 1, 0), exit_()}), 0xffffffffffff8180ull, in.spec);
    expect_r0(cat({ldxs(kW, 0, 1, 0), exit_()}), 0xffffffff83828180ull, in.spec);
    expect_r0(cat({ldxs(kB, 0, 1, 8), exit_()}), 0x08, in.spec);
    expect_r0(cat({ldx(kW, 0, 1, 3), exit_()}), 0x86858483u, in.spec);  // unaligned
}

TEST(InterpMemory, StoresTruncateAndSignExtendImm) {
    // stdw [r10-8], -1 sign-extends the immediate to 64 bits.
    expect_r0(cat({st(kDW, 10, -8, -1), ldx(kDW, 0, 10, -8), exit_()}), kAllOnes);
    expect_r0(cat({st(kDW, 10, -8, 0), st(kW, 10, -8, -1), ldx(kDW, 0, 10, -8), exit_()}), 0xffffffffu);
    expect_r0(cat({st(kDW, 10, -8, 0), st(kH, 10, -7, 0x1234), ldx(kDW, 0, 10, -8), exit_()}), 0x123400u);
    expect_r0(cat({st(kDW, 10, -8, 0), lddw(1, 0x1122334455667788ull), stx(kB, 10, 1, -8), ldx(kDW, 0, 10, -8), exit_()}),
              0x88u);
    expect_r0(cat({lddw(1, 0x1122334455667788ull), stx(kDW, 10, 1, -512), ldx(kDW, 0, 10, -512), exit_()}),
              0x1122334455667788ull);
}

TEST(InterpMemory, StoresToWritableRegion) {
    Input in(true);
    expect_r0(cat({st(kW, 1, 4, 0x55), ldx(kDW, 0, 1, 0), exit_()}), 0x0000005583828180ull, in.spec);
}

/// Stack slot [r10-8] = initial; r1 = operand; r0 = expected (cmpxchg); atomic op; then returns
/// the memory (want_src false) or r1 / r0 (want_src true).
RunResult atomic_run(uint8_t size, int32_t op, uint64_t initial, uint64_t operand, uint64_t r0, bool want_src) {
    const bool cmpxchg = op == kCmpxchg;
    Code tail = want_src ? (cmpxchg ? exit_() : cat({mov64r(0, 1), exit_()})) : cat({ldx(kDW, 0, 10, -8), exit_()});
    return run_all(cat({lddw(2, initial), stx(kDW, 10, 2, -8), lddw(1, operand), lddw(0, r0),
                        atomic(size, 10, 1, -8, op), tail}));
}

TEST(InterpAtomic, SixtyFourBit) {
    struct Case {
        int32_t op;
        uint64_t memory;  // after
        uint64_t src;     // r1 after
    };
    const uint64_t m = 0xf0f0f0f00000000full, s = 0x3c3c3c3c0000003cull;
    const Case cases[] = {
        {kAdd, m + s, s}, {kOr, m | s, s}, {kAnd, m & s, s}, {kXor, m ^ s, s},
        {kAdd | kFetch, m + s, m}, {kOr | kFetch, m | s, m}, {kAnd | kFetch, m & s, m}, {kXor | kFetch, m ^ s, m},
        {kXchg, s, m},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.op);
        EXPECT_EQ(atomic_run(kDW, c.op, m, s, 0, false).r0, c.memory);
        EXPECT_EQ(atomic_run(kDW, c.op, m, s, 0, true).r0, c.src);
    }
}

TEST(InterpAtomic, ThirtyTwoBitTouchesLowHalfAndZeroExtendsFetch) {
    struct Case {
        int32_t op;
        uint32_t memory_low;
        uint64_t src;
    };
    const uint64_t m = 0xaaaaaaaa8000000full, s = 0xffffffff0000003cull;
    const uint32_t ml = 0x8000000f, sl = 0x3c;
    const Case cases[] = {
        {kAdd, ml + sl, s}, {kOr, ml | sl, s}, {kAnd, ml & sl, s}, {kXor, ml ^ sl, s},
        {kAdd | kFetch, ml + sl, ml}, {kOr | kFetch, ml | sl, ml}, {kAnd | kFetch, ml & sl, ml},
        {kXor | kFetch, ml ^ sl, ml}, {kXchg, sl, ml},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.op);
        EXPECT_EQ(atomic_run(kW, c.op, m, s, 0, false).r0, 0xaaaaaaaa00000000ull | c.memory_low);
        EXPECT_EQ(atomic_run(kW, c.op, m, s, 0, true).r0, c.src);
    }
}

TEST(InterpAtomic, CmpxchgBothOutcomes) {
    const uint64_t m = 0x1111111122222222ull, s = 0x3333333344444444ull;
    // 64-bit success: memory replaced, r0 = old.
    EXPECT_EQ(atomic_run(kDW, kCmpxchg, m, s, m, false).r0, s);
    EXPECT_EQ(atomic_run(kDW, kCmpxchg, m, s, m, true).r0, m);
    // 64-bit failure: memory kept, r0 = current memory.
    EXPECT_EQ(atomic_run(kDW, kCmpxchg, m, s, m + 1, false).r0, m);
    EXPECT_EQ(atomic_run(kDW, kCmpxchg, m, s, m + 1, true).r0, m);
    // 32-bit compares only the low half of r0 and zero-extends the old value into r0.
    EXPECT_EQ(atomic_run(kW, kCmpxchg, m, s, 0xdead000022222222ull, false).r0, 0x1111111144444444ull);
    EXPECT_EQ(atomic_run(kW, kCmpxchg, m, s, 0xdead000022222222ull, true).r0, 0x22222222u);
    EXPECT_EQ(atomic_run(kW, kCmpxchg, m, s, 0x22222223, false).r0, m);
    EXPECT_EQ(atomic_run(kW, kCmpxchg, m, s, 0x22222223, true).r0, 0x22222222u);
}

TEST(InterpAtomic, MisalignedIsExactToo) {
    // A misaligned atomic takes the plain read-modify-write path.
    expect_r0(cat({st(kDW, 10, -16, 0), st(kDW, 10, -8, 0), mov64(1, 0x101), mov64(2, 0x101),
                   atomic(kDW, 10, 1, -12, kAdd | kFetch), atomic(kDW, 10, 2, -12, kAdd), ldx(kDW, 0, 10, -12),
                   alu64r(kAdd, 0, 1), exit_()}),
              0x202);
}

TEST(InterpChecked, OutOfBoundsInputLoad) {
    Input in;
    RunSpec spec = in.spec;
    spec.checked_only = true;
    const RunResult r = run_all(cat({mov64(0, 0), ldx(kW, 0, 1, 14), exit_()}), spec);
    EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(r.trap.pc, 1u);
    EXPECT_EQ(r.trap.addr, reinterpret_cast<uint64_t>(in.bytes) + 14);
    EXPECT_EQ(r.trap.size, 4u);
    EXPECT_FALSE(r.trap.write);
    EXPECT_EQ(r.insns, 2u);  // the faulting load was dispatched, so it counts
}

TEST(InterpChecked, LastBytesOfRegionAreAllowed) {
    Input in;
    expect_r0(cat({ldx(kH, 0, 1, 14), exit_()}), 0x0f0e, in.spec);
}

RunSpec checked_only() {
    RunSpec s;
    s.checked_only = true;
    return s;
}

TEST(InterpChecked, StackOverflowBelowFrame) {
    // [r10-512, r10) is the frame; one byte below is a stack overflow.
    const RunResult ok = run_all(cat({st(kDW, 10, -512, 7), ldx(kDW, 0, 10, -512), exit_()}));
    EXPECT_EQ(ok.trap.kind, TrapKind::None);
    EXPECT_EQ(ok.r0, 7u);
    const RunResult r = run_all(cat({mov64(0, 0), st(kB, 10, -513, 1), exit_()}), checked_only());
    EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(r.trap.pc, 1u);
    EXPECT_EQ(r.trap.size, 1u);
    EXPECT_TRUE(r.trap.write);
    // A load straddling the bottom of the frame.
    const RunResult s = run_all(cat({ldx(kDW, 0, 10, -516), exit_()}), checked_only());
    EXPECT_EQ(s.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(s.trap.pc, 0u);
    EXPECT_FALSE(s.trap.write);
}

TEST(InterpChecked, AccessAtOrAboveFrameTop) {
    const RunResult r = run_all(cat({ldx(kB, 0, 10, 0), exit_()}), checked_only());
    EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(r.trap.pc, 0u);
    const RunResult s = run_all(cat({ldx(kW, 0, 10, -2), exit_()}), checked_only());
    EXPECT_EQ(s.trap.kind, TrapKind::OutOfBounds);
}

TEST(InterpChecked, StoreIntoReadOnlyRegion) {
    Input in;
    RunSpec spec = in.spec;
    spec.checked_only = true;
    const RunResult r = run_all(cat({mov64(2, 1), stx(kB, 1, 2, 3), exit_()}), spec);
    EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(r.trap.pc, 1u);
    EXPECT_EQ(r.trap.addr, reinterpret_cast<uint64_t>(in.bytes) + 3);
    EXPECT_EQ(r.trap.size, 1u);
    EXPECT_TRUE(r.trap.write);
    EXPECT_EQ(in.bytes[3], 0x83);
    // Atomics need write permission as well.
    const RunResult a = run_all(cat({mov64(2, 1), atomic(kW, 1, 2, 0, kAdd), exit_()}), spec);
    EXPECT_EQ(a.trap.kind, TrapKind::OutOfBounds);
    EXPECT_TRUE(a.trap.write);
}

TEST(InterpChecked, InstructionBudgetStopsInfiniteLoop) {
    RunSpec spec = checked_only();
    spec.budget = 1000;
    const RunResult r = run_all(cat({mov64(0, 0), ja(-1), exit_()}), spec);
    EXPECT_EQ(r.trap.kind, TrapKind::InsnBudget);
    EXPECT_EQ(r.trap.pc, 1u);
    EXPECT_EQ(r.insns, 1000u);
}

TEST(InterpChecked, BudgetExactlyEnough) {
    RunSpec spec;
    spec.budget = 3;
    const RunResult r = run_all(cat({mov64(0, 1), alu64(kAdd, 0, 1), exit_()}), spec);
    EXPECT_EQ(r.trap.kind, TrapKind::None);
    EXPECT_EQ(r.r0, 2u);
    EXPECT_EQ(r.insns, 3u);
    spec.budget = 2;
    spec.checked_only = true;
    const RunResult t = run_all(cat({mov64(0, 1), alu64(kAdd, 0, 1), exit_()}), spec);
    EXPECT_EQ(t.trap.kind, TrapKind::InsnBudget);
    EXPECT_EQ(t.trap.pc, 2u);
}

}  // namespace
}  // namespace bpfvm::itest
