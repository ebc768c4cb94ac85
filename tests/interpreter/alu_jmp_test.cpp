// ALU and jump edge cases: division and modulo by zero, signed overflow, shift masking, 32-bit
// zero-extension, sign-extending moves, byte swaps, and JMP vs JMP32 comparisons.
#include <cstdint>
#include <limits>

#include "interp_test_util.hpp"

namespace bpfvm::itest {
namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};
constexpr uint64_t kI64Min = uint64_t{1} << 63;

/// r0 = a; <op>; exit.
Code with_r0(uint64_t a, const Code& op) { return cat({lddw(0, a), op, exit_()}); }
/// r0 = a; r1 = b; <op r0, r1>; exit.
Code with_r0_r1(uint64_t a, uint64_t b, const Code& op) { return cat({lddw(0, a), lddw(1, b), op, exit_()}); }

TEST(InterpAlu, ThirtyTwoBitOpsZeroExtend) {
    expect_r0(with_r0(kAllOnes, alu32(kAdd, 0, 1)), 0);
    expect_r0(with_r0(kAllOnes, alu32(kAdd, 0, 0)), 0xffffffffu);
    expect_r0(with_r0(0x1234567800000001ull, alu32(kSub, 0, 2)), 0xffffffffu);
    expect_r0(with_r0(0x100000003ull, alu32(kMul, 0, 3)), 9);
    expect_r0(with_r0(0xabcdef0000000000ull, alu32(kOr, 0, 1)), 1);
    expect_r0(with_r0(kAllOnes, alu32(kAnd, 0, -1)), 0xffffffffu);
    expect_r0(with_r0(kAllOnes, alu32(kXor, 0, 0)), 0xffffffffu);
    expect_r0(with_r0(kAllOnes, alu32(kMov, 0, -1)), 0xffffffffu);
    expect_r0(with_r0_r1(0, kAllOnes, alu32r(kMov, 0, 1)), 0xffffffffu);
    expect_r0(with_r0(0, alu64(kMov, 0, -1)), kAllOnes);
    expect_r0(with_r0(1, alu32(kNeg, 0, 0)), 0xffffffffu);
    expect_r0(with_r0(1, alu64(kNeg, 0, 0)), kAllOnes);
}

TEST(InterpAlu, DivisionByZero) {
    expect_r0(with_r0(77, alu64(kDiv, 0, 0)), 0);
    expect_r0(with_r0_r1(77, 0, alu64r(kDiv, 0, 1)), 0);
    expect_r0(with_r0(0xffffffff00000077ull, alu32(kDiv, 0, 0)), 0);
    // Only the low 32 bits of the divisor count in 32-bit division.
    expect_r0(with_r0_r1(77, 0x100000000ull, alu32r(kDiv, 0, 1)), 0);
    expect_r0(with_r0(77, alu64(kMod, 0, 0)), 77);
    expect_r0(with_r0_r1(77, 0, alu64r(kMod, 0, 1)), 77);
    // 32-bit modulo by zero keeps the low half of dst, zero-extended.
    expect_r0(with_r0(0xffffffff00000005ull, alu32(kMod, 0, 0)), 5);
    expect_r0(with_r0_r1(0xffffffff00000005ull, 0, alu32r(kMod, 0, 1)), 5);
    expect_r0(with_r0(77, alu64(kDiv, 0, 0, 1)), 0);    // sdiv
    expect_r0(with_r0(77, alu64(kMod, 0, 0, 1)), 77);   // smod
    expect_r0(with_r0(0xffffffff80000000ull, alu32(kMod, 0, 0, 1)), 0x80000000u);
}

TEST(InterpAlu, UnsignedDivisionUsesSignExtendedImm) {
    // div64 by imm -1 divides by 2^64-1.
    expect_r0(with_r0(10, alu64(kDiv, 0, -1)), 0);
    expect_r0(with_r0(kAllOnes, alu64(kDiv, 0, -1)), 1);
    expect_r0(with_r0(10, alu32(kDiv, 0, 3)), 3);
    expect_r0(with_r0(10, alu64(kMod, 0, 3)), 1);
}

TEST(InterpAlu, SignedDivisionEdgeCases) {
    expect_r0(with_r0(kI64Min, alu64(kDiv, 0, -1, 1)), kI64Min);
    expect_r0(with_r0(kI64Min, alu64(kMod, 0, -1, 1)), 0);
    expect_r0(with_r0_r1(kI64Min, kAllOnes, alu64r(kDiv, 0, 1, 1)), kI64Min);
    expect_r0(with_r0(0x80000000u, alu32(kDiv, 0, -1, 1)), 0x80000000u);
    expect_r0(with_r0(0x80000000u, alu32(kMod, 0, -1, 1)), 0);
    expect_r0(with_r0(static_cast<uint64_t>(-7), alu64(kDiv, 0, 2, 1)), static_cast<uint64_t>(-3));
    expect_r0(with_r0(static_cast<uint64_t>(-7), alu64(kMod, 0, 2, 1)), static_cast<uint64_t>(-1));
    expect_r0(with_r0(7, alu64(kMod, 0, -2, 1)), 1);
    expect_r0(with_r0(static_cast<uint32_t>(-7), alu32(kDiv, 0, 2, 1)), static_cast<uint32_t>(-3));
    expect_r0(with_r0(static_cast<uint32_t>(-7), alu32(kMod, 0, 2, 1)), static_cast<uint32_t>(-1));
    // The upper half of a 32-bit sdiv operand is ignored.
    expect_r0(with_r0_r1(0x5555555500000064ull, 0x00000000fffffff6ull, alu32r(kDiv, 0, 1, 1)),
              static_cast<uint32_t>(-10));
}

TEST(InterpAlu, ShiftsAreMasked) {
    expect_r0(with_r0_r1(0x1234, 64, alu64r(kLsh, 0, 1)), 0x1234);
    expect_r0(with_r0_r1(0x1234, 65, alu64r(kLsh, 0, 1)), 0x2468);
    expect_r0(with_r0_r1(0xffffffff00001234ull, 32, alu32r(kLsh, 0, 1)), 0x1234);
    expect_r0(with_r0_r1(0x1234, 36, alu32r(kLsh, 0, 1)), 0x12340);
    expect_r0(with_r0(0xffffffff80000000ull, alu32(kRsh, 0, 4)), 0x08000000u);
    expect_r0(with_r0(0x8000000000000000ull, alu64(kRsh, 0, 63)), 1);
    expect_r0(with_r0(0x80000000u, alu32(kArsh, 0, 4)), 0xf8000000u);
    expect_r0(with_r0(kI64Min, alu64(kArsh, 0, 63)), kAllOnes);
    expect_r0(with_r0_r1(kI64Min, 127, alu64r(kArsh, 0, 1)), kAllOnes);
    expect_r0(with_r0(1, alu64(kLsh, 0, 63)), kI64Min);
}

TEST(InterpAlu, SignExtendingMoves) {
    expect_r0(with_r0_r1(0, 0x180, alu64r(kMov, 0, 1, 8)), 0xffffffffffffff80ull);
    expect_r0(with_r0_r1(0, 0x17f, alu64r(kMov, 0, 1, 8)), 0x7f);
    expect_r0(with_r0_r1(0, 0x18000, alu64r(kMov, 0, 1, 16)), 0xffffffffffff8000ull);
    expect_r0(with_r0_r1(0, 0x180000000ull, alu64r(kMov, 0, 1, 32)), 0xffffffff80000000ull);
    expect_r0(with_r0_r1(0, 0x180, alu32r(kMov, 0, 1, 8)), 0xffffff80u);
    expect_r0(with_r0_r1(0, 0x8000, alu32r(kMov, 0, 1, 16)), 0xffff8000u);
}

TEST(InterpAlu, ByteSwaps) {
    const uint64_t v = 0x1122334455667788ull;
    expect_r0(with_r0(v, insn(kAlu | kEnd | kK, 0, 0, 0, 16)), 0x7788);  // le16
    expect_r0(with_r0(v, insn(kAlu | kEnd | kK, 0, 0, 0, 32)), 0x55667788);
    expect_r0(with_r0(v, insn(kAlu | kEnd | kK, 0, 0, 0, 64)), v);
    expect_r0(with_r0(v, insn(kAlu | kEnd | kX, 0, 0, 0, 16)), 0x8877);  // be16
    expect_r0(with_r0(v, insn(kAlu | kEnd | kX, 0, 0, 0, 32)), 0x88776655);
    expect_r0(with_r0(v, insn(kAlu | kEnd | kX, 0, 0, 0, 64)), 0x8877665544332211ull);
    expect_r0(with_r0(v, insn(kAlu64 | kEnd | kK, 0, 0, 0, 16)), 0x8877);  // bswap16
    expect_r0(with_r0(v, insn(kAlu64 | kEnd | kK, 0, 0, 0, 32)), 0x88776655);
    expect_r0(with_r0(v, insn(kAlu64 | kEnd | kK, 0, 0, 0, 64)), 0x8877665544332211ull);
}

TEST(InterpAlu, Lddw) {
    expect_r0(cat({lddw(0, 0x8123456789abcdefull), exit_()}), 0x8123456789abcdefull);
    expect_r0(cat({lddw(0, 0xffffffff), exit_()}), 0xffffffffu);
}

/// r0 = 0; r1 = a; r2 = b; <jump +1>; exit; r0 = 1; exit -> 1 when taken.
uint64_t jump_taken(uint64_t a, uint64_t b, const Code& jump) {
    const RunResult r =
        run_all(cat({mov64(0, 0), lddw(1, a), lddw(2, b), jump, exit_(), mov64(0, 1), exit_()}));
    EXPECT_EQ(r.trap.kind, TrapKind::None);
    return r.r0;
}

TEST(InterpJmp, Jmp32ComparesLowHalfOnly) {
    EXPECT_EQ(jump_taken(0x100000000ull, 0, jmp32(kJeq, 1, 0, 1)), 1u);
    EXPECT_EQ(jump_taken(0x100000000ull, 0, jmp(kJeq, 1, 0, 1)), 0u);
    EXPECT_EQ(jump_taken(0xffffffff00000001ull, 0, jmp32(kJgt, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(0xffffffff00000001ull, 0, jmp(kJgt, 1, 2, 1)), 1u);
    EXPECT_EQ(jump_taken(0xffffffffu, 0, jmp32(kJslt, 1, 0, 1)), 1u);  // -1 as 32 bits
    EXPECT_EQ(jump_taken(0xffffffffu, 0, jmp(kJslt, 1, 0, 1)), 0u);
    EXPECT_EQ(jump_taken(0x100000000ull, 0, jmp32(kJset, 1, -1, 1)), 0u);
    EXPECT_EQ(jump_taken(0x100000000ull, 0, jmp(kJset, 1, -1, 1)), 1u);
    EXPECT_EQ(jump_taken(0x1ffffffffull, 0xffffffffu, jmp32r(kJeq, 1, 2, 1)), 1u);
    EXPECT_EQ(jump_taken(0x1ffffffffull, 0xffffffffu, jmpr(kJeq, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(0x1ffffffffull, 0xffffffffu, jmp32r(kJne, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(0x180000000ull, 0x7fffffffu, jmp32r(kJsgt, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(0x180000000ull, 0x7fffffffu, jmpr(kJsgt, 1, 2, 1)), 1u);
}

TEST(InterpJmp, ImmediateIsSignExtendedFor64BitCompares) {
    EXPECT_EQ(jump_taken(kAllOnes, 0, jmp(kJeq, 1, -1, 1)), 1u);
    EXPECT_EQ(jump_taken(0xffffffffu, 0, jmp(kJeq, 1, -1, 1)), 0u);
    EXPECT_EQ(jump_taken(0xffffffffu, 0, jmp32(kJeq, 1, -1, 1)), 1u);
    EXPECT_EQ(jump_taken(5, 0, jmp(kJlt, 1, -1, 1)), 1u);  // unsigned: 5 < 2^64-1
}

TEST(InterpJmp, SignedAndUnsignedCompares) {
    const uint64_t m1 = kAllOnes;
    EXPECT_EQ(jump_taken(m1, 0, jmp(kJsgt, 1, 0, 1)), 0u);
    EXPECT_EQ(jump_taken(m1, 0, jmp(kJgt, 1, 0, 1)), 1u);
    EXPECT_EQ(jump_taken(m1, 0, jmp(kJsge, 1, -1, 1)), 1u);
    EXPECT_EQ(jump_taken(m1, 0, jmp(kJsle, 1, -1, 1)), 1u);
    EXPECT_EQ(jump_taken(m1, 0, jmp(kJslt, 1, -1, 1)), 0u);
    EXPECT_EQ(jump_taken(3, 3, jmpr(kJge, 1, 2, 1)), 1u);
    EXPECT_EQ(jump_taken(3, 3, jmpr(kJgt, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(3, 3, jmpr(kJle, 1, 2, 1)), 1u);
    EXPECT_EQ(jump_taken(3, 3, jmpr(kJlt, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(kI64Min, 1, jmpr(kJslt, 1, 2, 1)), 1u);
    EXPECT_EQ(jump_taken(kI64Min, 1, jmpr(kJlt, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(0x80000000u, 1, jmp32r(kJsle, 1, 2, 1)), 1u);
    EXPECT_EQ(jump_taken(0x80000000u, 1, jmp32r(kJsge, 1, 2, 1)), 0u);
    EXPECT_EQ(jump_taken(0x80000000u, 1, jmp32r(kJge, 1, 2, 1)), 1u);
    EXPECT_EQ(jump_taken(6, 0, jmp(kJset, 1, 4, 1)), 1u);
    EXPECT_EQ(jump_taken(6, 0, jmp(kJset, 1, 1, 1)), 0u);
}

TEST(InterpJmp, LoopCountsInstructions) {
    // r0 = 0; r1 = 10; loop: r0 += r1; r1 -= 1; if r1 != 0 goto loop; exit
    const RunResult r =
        run_all(cat({mov64(0, 0), mov64(1, 10), alu64r(kAdd, 0, 1), alu64(kSub, 1, 1), jmp(kJne, 1, 0, -3), exit_()}));
    EXPECT_EQ(r.r0, 55u);
    EXPECT_EQ(r.insns, 2u + 10 * 3 + 1);
}

TEST(InterpJmp, Gotol) {
    // gotol +1 skips the mov r0 = 2.
    expect_r0(cat({mov64(0, 1), insn(kJmp32 | kJa, 0, 0, 0, 1), mov64(0, 2), exit_()}), 1);
}

// Both dispatch strategies, checked and unchecked (tests/jit/newer_insns_test.cpp runs the budget
// out and compares with the JITs).
TEST(InterpJmp, MayGotoFallsThroughWhileTheBudgetLasts) {
    const Code may_goto_2 = insn(kJmp | 0xe0, 0, 0, 2, 0);  // BPF_JMP | BPF_JCOND, src BPF_MAY_GOTO
    // r0 = 0; loop: may_goto out; r0 += 1; if r0 != 5 goto loop; out: exit
    const RunResult r = run_all(cat({mov64(0, 0), may_goto_2, alu64(kAdd, 0, 1), jmp(kJne, 0, 5, -3), exit_()}));
    EXPECT_EQ(r.r0, 5u);
    EXPECT_EQ(r.insns, 1u + 5 * 3 + 1);
}

TEST(InterpMemory, LoadAcquireAndStoreRelease) {
    constexpr int32_t kLoadAcq = 0x100, kStoreRel = 0x110;
    expect_r0(cat({st(kDW, 10, -8, -1), atomic(kB, 0, 10, -8, kLoadAcq), exit_()}), 0xff);  // dst = *(src + off)
    expect_r0(cat({st(kDW, 10, -8, -1), atomic(kW, 0, 10, -8, kLoadAcq), exit_()}), 0xffffffffu);
    expect_r0(cat({st(kDW, 10, -8, 0), mov64(1, -1), atomic(kH, 10, 1, -6, kStoreRel), ldx(kDW, 0, 10, -8), exit_()}),
              0xffff0000u);  // *(dst + off) = src
    const RunResult r = run_all(cat({atomic(kDW, 0, 10, 8, kLoadAcq), exit_()}), RunSpec{.checked_only = true});
    EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);  // above the frame
}

TEST(InterpTraps, WritesToR10TrapInEveryMode) {
    // Decoded (the kernel accepts them in dead code) but never executed: the frame pointer stays.
    for (const Code& write : {mov64r(10, 1), alu64(kAdd, 10, 8), ldx(kDW, 10, 10, -8), lddw(10, 1),
                              atomic(kDW, 1, 10, 0, kAdd | kFetch)}) {
        const RunResult r = run_all(cat({mov64r(1, 10), alu64(kAdd, 1, -8), mov64(0, 3), write, exit_()}));
        EXPECT_EQ(r.trap.kind, TrapKind::FrameWrite);
        EXPECT_EQ(r.trap.pc, 3u);
        EXPECT_EQ(r.insns, 4u);  // the trap slot counts as dispatched
    }
    expect_r0(cat({mov64(0, 3), ja(1), mov64r(10, 0), exit_()}), 3);  // skipped: no trap
}

}  // namespace
}  // namespace bpfvm::itest
