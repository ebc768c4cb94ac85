// The superinstruction pass (src/interpreter/superinsns.cpp): which pairs become one slot, which
// do not (a jump into the second half, a trap slot, checked mode), and that unchecked runs of the
// fused shapes agree with checked runs (the differential test in tests/jit covers random programs).
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "interp_test_util.hpp"
#include "interpreter/internal.hpp"
#include "program_util.hpp"

namespace bpfvm::itest {
namespace {

TEST(Superinstructions, ClangPairsBecomeOneSlot) {
    const Program p = assemble_program(
        "mov %r2, %r1\nadd %r2, 14\n"         // 0: copy then add
        "mov32 %r3, %r1\nrsh32 %r3, 1\n"      // 2: 32-bit copy then shift
        "ldxb %r4, [%r2+0]\nlsh %r4, 8\n"     // 4: byte load then shift
        "mov %r5, %r1\nadd %r5, %r5\n"        // 6: copy then add the copy to itself
        "top:\nadd %r6, 1\njne %r6, 10, top\n"  // 8: a counted loop's add and branch
        "lsh %r4, 8\nor %r4, %r3\n"            // 10: shift then or in the next byte
        "mov %r7, %r2\nadd %r7, 20\njgt %r7, %r1, top\n"  // 12: a pointer, then its bounds check
        "exit");
    const auto slots = fused_slots(p);
    EXPECT_EQ(slots[0].op, interp::kSuperMov64AddImm);
    EXPECT_EQ(slots[0].imm, 14);
    EXPECT_EQ(slots[2].op, interp::kSuperMov32RshImm);
    EXPECT_EQ(slots[4].op, interp::kSuperLdx8Lsh64);
    EXPECT_EQ(slots[6].op, interp::kSuperMov64AddReg);
    EXPECT_EQ(slots[6].pad, 1u);  // r5 += r5 after r5 = r1 adds r1
    EXPECT_EQ(slots[8].op, interp::kSuperAdd64ImmJne);
    EXPECT_EQ(slots[8].off, 10);
    EXPECT_EQ(slots[8].target, &slots[8]);
    EXPECT_EQ(slots[10].op, interp::kSuperLsh64OrReg);
    EXPECT_EQ(slots[12].op, interp::kSuperMovAddJgtReg);  // the bounds-check triple
    EXPECT_EQ(slots[12].pad, 1u);
    EXPECT_EQ(slots[12].imm, 20);
}

TEST(Superinstructions, ByteLoadShapesBecomeOneSlot) {
    const Program p = assemble_program(
        "ldxb %r4, [%r2+3]\njeq32 %r4, -1, out\n"          // 0: load then compare the byte (32-bit)
        "ldxb %r5, [%r2+4]\njlt %r5, -2, out\n"            // 2: the same, 64-bit
        "ldxb %r6, [%r6+5]\nadd32 %r3, %r6\n"              // 4: load then add it to a sum
        "ldxb %r7, [%r2+6]\nor %r7, %r7\n"                 // 6: the op's destination is the load's
        "ldxb %r1, [%r2+1]\nlsh %r1, 8\nor %r1, %r0\n"    // 8: a big-endian field, low byte first
        "ldxb %r7, [%r2+2]\nlsh32 %r7, 8\nadd32 %r3, %r7\n"  // 11: a shifted byte added to a sum
        "ldxb %r8, [%r2+2]\nlsh %r8, 16\nor %r4, %r8\n"   // 14: a shifted byte or-ed into a field
        "mov %r8, %r9\nadd %r8, %r5\njgt %r8, %r3, out\n"  // 17: a pointer moved by a variable, checked
        "ldxb %r1, [%r2+1]\nlsh %r1, 8\nor32 %r1, %r0\n"  // 20: widths differ: a pair, not a triple
        "out:\nexit");
    const auto slots = fused_slots(p);
    EXPECT_EQ(slots[0].op, interp::kSuperLdx8Jeq);
    EXPECT_EQ(slots[0].imm, 0xffffffff);  // as a 32-bit jump compares it
    EXPECT_EQ(slots[0].off, 3);
    EXPECT_EQ(slots[0].target, &slots[23]);
    EXPECT_EQ(slots[2].op, interp::kSuperLdx8Jlt);
    EXPECT_EQ(slots[2].imm, -2);
    EXPECT_EQ(slots[4].op, interp::kSuperLdx8Add32Reg);
    EXPECT_EQ(slots[4].pad, 3u);
    EXPECT_EQ(slots[6].op, interp::kSuperLdx8Or64Reg);
    EXPECT_EQ(slots[6].pad, 7u);
    EXPECT_EQ(slots[8].op, interp::kSuperLdx8LshOr64);
    EXPECT_EQ(slots[8].imm, 8);
    EXPECT_EQ(slots[8].pad, 0u);
    EXPECT_EQ(slots[11].op, interp::kSuperLdx8LshAdd32To);
    EXPECT_EQ(slots[11].pad, 3u);
    EXPECT_EQ(slots[14].op, interp::kSuperLdx8LshOr64To);
    EXPECT_EQ(slots[14].pad, 4u);
    EXPECT_EQ(slots[14].imm, 16);
    EXPECT_EQ(slots[17].op, interp::kSuperMovAddRegJgtReg);
    EXPECT_EQ(slots[17].pad, 5u);
    EXPECT_EQ(slots[17].off, 3);
    EXPECT_EQ(slots[20].op, interp::kSuperLdx8Lsh64);
    EXPECT_EQ(slots[22].op, static_cast<uint8_t>(Op::Or32Reg));
}

TEST(Superinstructions, ACopyBeforeALoopLatchBecomesOneSlot) {
    const Program p = assemble_program(
        "top:\nmov %r4, %r0\njlt %r6, %r2, top\n"  // 0: rotate a loop-carried value, then the back edge
        "mov %r4, %r0\njgt %r4, %r2, top\n"          // 2: the compare reads the copy
        "mov %r4, %r2\njlt %r5, 1498, top\n"         // 4: checksum's latch, against an immediate
        "mov %r4, %r2\njlt %r4, -1, top\n"           // 6: the same, reading the copy
        "mov32 %r8, %r5\nadd32 %r8, %r7\n"           // 8: sieve's stride, a 32-bit copy then an add
        "mov32 %r8, %r5\nadd32 %r8, %r8\n"           // 10: doubling the copy
        "mov %r4, %r0\njge %r6, %r2, top\n"          // 12: no superinstruction for this compare
        "exit");
    const auto slots = fused_slots(p);
    // slot: op, pad, imm (or off for the register compares)
    const std::vector<std::tuple<size_t, uint8_t, uint8_t, int64_t>> want = {
        {0, interp::kSuperMov64JltReg, 6, 2},     {2, interp::kSuperMov64JgtReg, 4, 2},
        {4, interp::kSuperMov64JltImm, 5, 1498},  {6, interp::kSuperMov64JltImm, 4, -1},
        {8, interp::kSuperMov32AddReg, 7, 0},     {10, interp::kSuperMov32AddReg, 5, 0},
    };
    for (const auto& [i, op, pad, k] : want) {
        EXPECT_EQ(slots[i].op, op) << i;
        EXPECT_EQ(slots[i].pad, pad) << i;
        if (op == interp::kSuperMov64JltReg || op == interp::kSuperMov64JgtReg) {
            EXPECT_EQ(slots[i].off, k) << i;
        } else if (op == interp::kSuperMov64JltImm) {
            EXPECT_EQ(slots[i].imm, k) << i;
        }
    }
    EXPECT_EQ(slots[0].target, &slots[0]);
    EXPECT_EQ(slots[4].target, &slots[0]);
    EXPECT_EQ(slots[12].op, static_cast<uint8_t>(Op::Mov64Reg));
}

TEST(Superinstructions, NoPairAcrossAJumpTargetOrWithATrapSlot) {
    const Program p = assemble_program(
        "jeq %r1, 0, in\nmov %r2, %r1\nin:\nadd %r2, 14\n"  // the add is a jump target
        "mov %r3, %r1\nadd %r4, 1\n"                        // different destinations
        "mov %r0, 0\nexit");
    const auto slots = fused_slots(p);
    for (const interp::Slot& s : slots) EXPECT_LT(s.op, interp::kSuperFirst);
}

TEST(Superinstructions, UncheckedRunsAgreeWithCheckedRuns) {
    // Each fused shape on values around its edges (shift counts past the width, 32-bit truncation).
    const std::vector<std::string> programs = {
        "mov %r0, %r1\nadd %r0, -7\nexit",
        "mov %r0, %r1\nrsh %r0, 67\nexit",
        "mov %r0, %r1\nlsh %r0, 3\nexit",
        "mov %r0, %r1\nand %r0, -16\nexit",
        "mov32 %r0, %r1\nrsh32 %r0, 33\nexit",
        "mov32 %r0, %r1\nlsh32 %r0, 4\nexit",
        "mov32 %r0, %r1\nand32 %r0, -1\nexit",
        "mov %r0, %r1\nadd %r0, %r0\nexit",
        "mov %r2, 3\nmov %r0, %r1\nadd %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-7]\nlsh %r0, 60\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\nlsh32 %r0, 28\nexit",
        "mov %r0, 0\ntop:\nadd %r0, 3\njlt %r0, %r1, more\nexit\nmore:\nadd %r0, 0\njgt %r0, 100, out\nja top\nout:\nexit",
        "mov %r2, 50\nmov %r0, %r1\nadd %r0, 7\njgt %r0, %r2, big\nexit\nbig:\nmov %r0, 1\nexit",
        "mov %r2, 50\nadd %r0, 3\nmov %r0, %r1\nadd %r0, -7\njgt %r0, %r2, big\nadd %r0, 1\nexit\nbig:\nexit",
        "mov %r0, %r1\nmov %r2, %r1\nrsh %r2, 8\nlsh %r0, 56\nor %r0, %r2\nexit",
        // Byte loads (r1's bytes on the stack), then a compare of the byte against constants the
        // two jump widths see differently, and the ALU and shift forms at 32-bit wrap-around.
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\njeq32 %r0, -1, no\njne %r0, 255, no\nexit\nno:\nmov %r0, 7\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\njgt32 %r0, -2, no\nexit\nno:\nmov %r0, 7\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-5]\njgt %r0, -2, no\nexit\nno:\nmov %r0, 7\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\njlt %r0, 128, no\nexit\nno:\nmov %r0, 7\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\njlt32 %r0, -1, no\nexit\nno:\nmov %r0, 7\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\njeq %r0, 0, no\nexit\nno:\nmov %r0, 7\nexit",
        "stxdw [%r10-8], %r1\nldxb %r2, [%r10-8]\nmov %r0, %r1\nadd32 %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nldxb %r2, [%r10-5]\nmov %r0, %r1\nadd %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nldxb %r2, [%r10-8]\nmov %r0, %r1\nor32 %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nmov %r0, %r1\nldxb %r0, [%r10-8]\nor %r0, %r0\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\nadd32 %r0, %r0\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-5]\nlsh %r0, 60\nor %r0, %r1\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-5]\nlsh32 %r0, 28\nor32 %r0, %r1\nexit",
        "stxdw [%r10-8], %r1\nmov %r0, %r1\nldxb %r2, [%r10-5]\nlsh32 %r2, 28\nadd32 %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nmov %r0, %r1\nldxb %r2, [%r10-5]\nlsh %r2, 63\nadd %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nmov %r0, %r1\nldxb %r2, [%r10-8]\nlsh32 %r2, 36\nor32 %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nmov %r0, %r1\nldxb %r2, [%r10-8]\nlsh %r2, 40\nor %r0, %r2\nexit",
        "stxdw [%r10-8], %r1\nldxb %r0, [%r10-8]\nlsh32 %r0, 31\nadd32 %r0, %r0\nexit",
        "mov %r2, -1\nmov %r3, %r1\nmov %r0, %r2\nadd %r0, %r1\njgt %r0, %r3, big\nexit\nbig:\nmov %r0, 1\nexit",
        "mov %r3, 0x1000\nmov %r0, %r1\nadd %r0, %r0\njgt %r0, %r3, big\nexit\nbig:\nmov %r0, 1\nexit",
        "mov %r2, 0x80000000\nmov %r0, %r1\njlt %r0, %r2, small\nexit\nsmall:\nmov %r0, 1\nexit",
        "mov %r2, 0x80000000\nmov %r0, %r2\njgt %r1, %r0, big\nexit\nbig:\nmov %r0, 1\nexit",
        "mov %r0, %r1\njlt %r0, %r1, small\nexit\nsmall:\nmov %r0, 1\nexit",  // equal operands
        "mov %r0, %r1\njgt %r1, %r0, big\nexit\nbig:\nmov %r0, 1\nexit",
        "mov %r0, 0\nmov %r4, 0\nmov %r2, %r1\ntop:\nadd %r0, 1\nrsh %r2, 1\nmov %r3, %r2\njgt %r3, %r4, top\nexit",
        "mov %r2, 7\nmov %r0, %r2\njlt %r1, 0x80000000, small\nexit\nsmall:\nmov %r0, 1\nexit",
        "mov %r0, %r1\njlt %r0, -1, small\nexit\nsmall:\nadd %r0, 1\nexit",
        "mov %r2, 0x7fffffff\nmov32 %r0, %r1\nadd32 %r0, %r2\nexit",
        "mov32 %r0, %r1\nadd32 %r0, %r0\nexit",
    };
    for (const std::string& text : programs) {
        const Program p = assemble_program(text);
        for (uint64_t r1 : {uint64_t{0}, uint64_t{1}, uint64_t{0x80000000}, uint64_t{0xffffffff}, uint64_t{0x123456789},
                            ~uint64_t{0}}) {
            RunSpec spec;
            spec.r1 = r1;
            const RunResult checked = run_one(p, interp::default_dispatch(), true, spec);
            for (const interp::Dispatch* d : {&interp::default_dispatch(), &interp::switch_dispatch()}) {
                const RunResult unchecked = run_one(p, *d, false, spec);
                EXPECT_EQ(unchecked.r0, checked.r0) << text << "\nr1 = " << r1 << ", " << d->name;
            }
        }
    }
}

// The x86-64 JIT's idioms as superinstructions: clang's big-endian byte pair (either load first)
// and its byte fill loop (register or immediate value), with the fields the handlers read.
TEST(Superinstructions, ByteFillLoopsAndBytePairsBecomeOneSlot) {
    const Program p = assemble_program(
        "loop:\nmov %r5, %r1\nadd %r5, %r2\nstxb [%r5+2], %r6\nadd %r2, 1\njne %r2, 40, loop\n"  // 0
        "imm:\nmov %r4, %r0\nadd %r4, %r3\nstb [%r4-1], -3\nadd %r3, 1\njne %r3, 7, imm\n"       // 5
        "ldxb %r3, [%r2+4]\nldxb %r4, [%r2+5]\nlsh %r3, 8\nor %r3, %r4\n"                      // 10: high first
        "ldxb %r4, [%r2+7]\nldxb %r3, [%r2+6]\nlsh32 %r3, 8\nor32 %r3, %r4\n"                  // 14: low first
        "ldxb %r3, [%r2+0]\nldxb %r2, [%r2+1]\nlsh %r3, 8\nor %r3, %r2\n"                      // 18: T is the base
        "exit");
    const auto slots = fused_slots(p);
    EXPECT_EQ(slots[0].op, interp::kSuperFillReg);
    EXPECT_EQ(slots[0].dst, 5u);
    EXPECT_EQ(slots[0].src, 1u);
    EXPECT_EQ(slots[0].pad, 2u);
    EXPECT_EQ(slots[0].off, 2);
    EXPECT_EQ(slots[0].imm, 40);
    EXPECT_EQ(slots[2].op, static_cast<uint8_t>(Op::Stx8));  // the fallback runs the loop's own slots
    EXPECT_EQ(slots[4].target, &slots[0]);
    EXPECT_EQ(slots[5].op, interp::kSuperFillImm);
    EXPECT_EQ(slots[5].off, -1);
    EXPECT_EQ(slots[5].imm, 7);
    for (const size_t i : {10u, 14u, 18u}) EXPECT_EQ(slots[i].op, interp::kSuperBe16Load) << i;
    EXPECT_EQ(slots[10].dst, 3u);
    EXPECT_EQ(slots[10].pad, 4u);
    EXPECT_EQ(slots[10].src, 2u);
    EXPECT_EQ(slots[10].off, 4);
    EXPECT_EQ(slots[14].off, 6);
    EXPECT_EQ(slots[18].pad, 2u);
}

TEST(Superinstructions, NearMissesOfTheIdiomsStayApart) {
    const std::vector<std::string> fills = {
        "loop:\nmov %r5, %r1\nadd %r5, %r2\nstxb [%r5+2], %r6\nadd %r2, 2\njne %r2, 40, loop\nexit",  // step 2
        "loop:\nmov %r5, %r1\nadd %r5, %r2\nstxb [%r5+2], %r2\nadd %r2, 1\njne %r2, 40, loop\nexit",  // stores I
        "loop:\nmov %r5, %r1\nadd %r5, %r2\nstxh [%r5+2], %r6\nadd %r2, 1\njne %r2, 40, loop\nexit",  // 2 bytes
        "ja in\nloop:\nmov %r5, %r1\nadd %r5, %r2\nin:\nstxb [%r5+2], %r6\nadd %r2, 1\njne %r2, 40, loop\nexit",
        "loop:\nmov %r5, %r1\nadd %r5, %r2\nstxb [%r5+2], %r6\nadd %r2, 1\njne %r2, 0, loop\nexit",  // N = 0
    };
    for (const std::string& text : fills)
        for (const interp::Slot& s : fused_slots(assemble_program(text)))
            EXPECT_TRUE(s.op != interp::kSuperFillReg && s.op != interp::kSuperFillImm) << text;
    const std::vector<std::string> pairs = {
        "ldxb %r3, [%r2+4]\nldxb %r4, [%r2+5]\nlsh %r3, 7\nor %r3, %r4\nexit",    // shift 7
        "ldxb %r3, [%r2+4]\nldxb %r4, [%r2+6]\nlsh %r3, 8\nor %r3, %r4\nexit",    // not adjacent
        "ldxb %r3, [%r2+5]\nldxb %r4, [%r2+4]\nlsh %r3, 8\nor %r3, %r4\nexit",    // the high byte is the second
        "ldxb %r3, [%r2+4]\nldxb %r4, [%r5+5]\nlsh %r3, 8\nor %r3, %r4\nexit",    // two bases
        "ldxb %r2, [%r2+4]\nldxb %r4, [%r2+5]\nlsh %r2, 8\nor %r2, %r4\nexit",    // the first load moves the base
        "ja in\nldxb %r3, [%r2+4]\nldxb %r4, [%r2+5]\nin:\nlsh %r3, 8\nor %r3, %r4\nexit",
    };
    for (const std::string& text : pairs)
        for (const interp::Slot& s : fused_slots(assemble_program(text))) EXPECT_NE(s.op, interp::kSuperBe16Load) << text;
}

/// r0 after `body`, run unchecked (both dispatches, which must agree) with r1 = `r1`, and
/// expected to equal the checked run's r0 (checked mode installs no superinstructions).
uint64_t unchecked_r0(const std::string& body, uint64_t r1) {
    const Program p = assemble_program(body);
    RunSpec spec;
    spec.r1 = r1;
    const RunResult checked = run_one(p, interp::default_dispatch(), true, spec);
    EXPECT_EQ(checked.trap.kind, TrapKind::None) << body << "\nr1 = " << r1;
    uint64_t r0 = 0;
    for (const interp::Dispatch* d : {&interp::default_dispatch(), &interp::switch_dispatch()}) {
        r0 = run_one(p, *d, false, spec).r0;
        EXPECT_EQ(r0, checked.r0) << body << "\nr1 = " << r1 << ", " << d->name;
    }
    return r0;
}

TEST(Superinstructions, FillLoopsLeaveWhatTheLoopLeaves) {
    // 64 stack bytes holding 00 01 .. 07 per dword, base r1 = r10 - 64, then the loop from index
    // r3 (the argument) to 40 storing at base + i + 2; `tail` reads back what it left.
    const std::string setup =
        "mov %r3, %r1\nmov %r1, %r10\nadd %r1, -64\nlddw %r7, 0x0706050403020100\n"
        "stxdw [%r1+0], %r7\nstxdw [%r1+8], %r7\nstxdw [%r1+16], %r7\nstxdw [%r1+24], %r7\n"
        "stxdw [%r1+32], %r7\nstxdw [%r1+40], %r7\nstxdw [%r1+48], %r7\nstxdw [%r1+56], %r7\nmov %r6, 0x1ab\n";
    const std::string loop = "loop:\nmov %r5, %r1\nadd %r5, %r3\nstxb [%r5+2], %r6\nadd %r3, 1\njne %r3, 40, loop\n";
    const std::string regs = "sub %r5, %r1\nmov %r0, %r3\nmul %r0, 1000\nadd %r0, %r5\nmul %r0, 1000\nadd %r0, %r6\nexit";
    EXPECT_EQ(unchecked_r0(setup + loop + regs, 5), (40 * 1000 + 39) * 1000 + 0x1ab);
    EXPECT_EQ(unchecked_r0(setup + loop + "ldxdw %r0, [%r1+0]\nexit", 5), 0xab06050403020100);
    EXPECT_EQ(unchecked_r0(setup + loop + "ldxdw %r0, [%r1+40]\nexit", 5), 0x070605040302abab);
    EXPECT_EQ(unchecked_r0(setup + loop + "ldxdw %r0, [%r1+40]\nexit", 39), 0x070605040302ab00);  // one byte
    // A start past N (unsigned) runs the loop's own instructions until the index wraps to 0; the
    // superinstruction then fills the rest.
    EXPECT_EQ(unchecked_r0(setup + loop + regs, ~uint64_t{1}), (40 * 1000 + 39) * 1000 + 0x1ab);
    EXPECT_EQ(unchecked_r0(setup + loop + "ldxdw %r0, [%r1+0]\nexit", ~uint64_t{1}), 0xabababababababab);
    // The value register is the base: its low byte is stored, the base stays.
    const std::string from_base = "loop:\nmov %r5, %r1\nadd %r5, %r3\nstxb [%r5+2], %r1\nadd %r3, 1\njne %r3, 40, loop\n";
    EXPECT_EQ(unchecked_r0(setup + from_base + "ldxb %r0, [%r1+20]\nmov %r2, %r1\nand %r2, 0xff\nsub %r0, %r2\nexit", 0), 0u);
    // The immediate form, with a negative offset.
    const std::string imm = "loop:\nmov %r5, %r1\nadd %r5, %r3\nstb [%r5-1], -3\nadd %r3, 1\njne %r3, 40, loop\n";
    EXPECT_EQ(unchecked_r0(setup + "add %r3, 1\n" + imm + "ldxdw %r0, [%r1+0]\nexit", 0), 0xfdfdfdfdfdfdfdfd);
    EXPECT_EQ(unchecked_r0(setup + imm + "ldxdw %r0, [%r1+32]\nexit", 20), 0x07fdfdfdfdfdfdfd);
    for (const uint64_t start : {uint64_t{0}, uint64_t{1}, uint64_t{38}, ~uint64_t{0}}) {
        unchecked_r0(setup + loop + regs, start);
        unchecked_r0(setup + from_base + regs, start);
    }
}

TEST(Superinstructions, ByteLoadPairsLeaveBothRegisters) {
    // r1's bytes on the stack; r0 = D << 16 | T after the pair.
    const std::string store = "stxdw [%r10-8], %r1\nmov %r2, %r10\n";
    const std::string fold = "mov %r0, %r3\nlsh %r0, 16\nor %r0, %r4\nexit";
    EXPECT_EQ(unchecked_r0(store + "ldxb %r3, [%r2-8]\nldxb %r4, [%r2-7]\nlsh %r3, 8\nor %r3, %r4\n" + fold, 0x1234),
              0x34120012u);
    EXPECT_EQ(unchecked_r0(store + "ldxb %r4, [%r2-3]\nldxb %r3, [%r2-4]\nlsh32 %r3, 8\nor32 %r3, %r4\n" + fold,
                           0xfedcba9876543210),
              0x98ba00bau);
    // The low byte's register is the base: both loads read the base before it is overwritten.
    EXPECT_EQ(unchecked_r0(store + "ldxb %r3, [%r2-8]\nldxb %r2, [%r2-7]\nlsh %r3, 8\nor %r3, %r2\n"
                                   "mov %r0, %r3\nlsh %r0, 16\nor %r0, %r2\nexit",
                           0xff80),
              0x80ff00ffu);
}

/// Expects each program's first slot to be none of the superinstructions first..last.
void expect_first_slot_outside(const std::vector<std::string>& programs, uint8_t first, uint8_t last) {
    for (const std::string& text : programs) {
        const uint8_t op = fused_slots(assemble_program(text))[0].op;
        EXPECT_TRUE(op < first || op > last) << text;
    }
}

// The latch with a rotated copy (internal.hpp): rI += K; rX = rY; if rJ op imm goto L, with the
// fields its handler reads.
TEST(Superinstructions, LatchWithACopyBecomesOneSlot) {
    const Program p = assemble_program(
        "top:\nmov %r0, %r0\n"
        "add %r3, 2\nmov %r4, %r2\njlt %r5, 1498, top\n"   // 1: checksum's latch
        "add %r3, -1\nmov %r3, %r3\njgt %r3, -5, top\n"    // 4: all one register
        "exit");
    const auto slots = fused_slots(p);
    EXPECT_EQ(slots[1].op, interp::kSuperAddMovJlt);
    EXPECT_EQ(slots[1].dst, 3u);                    // I
    EXPECT_EQ(slots[1].pad, 4u);                    // X
    EXPECT_EQ(interp::imm_byte(slots[1], 4), 2u);   // Y
    EXPECT_EQ(slots[1].src, 5u);                    // J
    EXPECT_EQ(static_cast<int32_t>(slots[1].imm), 2);
    EXPECT_EQ(slots[1].off, 1498);
    EXPECT_EQ(slots[1].target, &slots[0]);
    EXPECT_EQ(slots[4].op, interp::kSuperAddMovJgt);
    EXPECT_EQ(static_cast<int32_t>(slots[4].imm), -1);
    EXPECT_EQ(slots[4].off, -5);
}

TEST(Superinstructions, NearMissesOfTheLatchWithACopyStayApart) {
    // The copy is a jump target, the add is 32-bit, the compare is one these forms leave out, or
    // the copy is 32-bit.
    expect_first_slot_outside(
        {
            "top:\nadd %r3, 2\nin:\nmov %r4, %r2\njlt %r5, 9, top\nja in\nexit",
            "top:\nadd32 %r3, 2\nmov %r4, %r2\njlt %r5, 9, top\nexit",
            "top:\nadd %r3, 2\nmov %r4, %r2\njge %r5, 9, top\nexit",
            "top:\nadd %r3, 2\nmov32 %r4, %r2\njlt %r5, 9, top\nexit",
        },
        interp::kSuperAddMovJeq, interp::kSuperAddMovJgt);
}

TEST(Superinstructions, LatchWithACopyLeavesEveryRegister) {
    // Y = I reads the added value, J = X compares the copy, J = I; unchecked_r0 holds the fused
    // run to the plain one.
    const std::string fold = "mov %r0, %r3\nlsh %r0, 16\nor %r0, %r4\nexit\nbig:\nmov %r0, 1\nexit";
    for (const uint64_t r1 : {uint64_t{0}, uint64_t{997}, uint64_t{998}, ~uint64_t{0}, uint64_t{0x7ffffffe}}) {
        unchecked_r0("mov %r3, %r1\nmov %r2, 7\nadd %r3, 2\nmov %r4, %r3\njlt %r4, 1000, big\n" + fold, r1);
        unchecked_r0("mov %r3, %r1\nmov %r2, 7\nadd %r3, 2\nmov %r4, %r2\njgt %r3, 1000, big\n" + fold, r1);
        unchecked_r0("mov %r3, %r1\nmov %r4, %r1\nadd %r3, -3\nmov %r3, %r4\njeq %r3, -1, big\n" + fold, r1);
        unchecked_r0("mov %r3, %r1\nmov %r4, %r1\nadd %r3, 1\nmov %r2, %r4\njne %r4, 0, big\n" + fold, r1);
    }
}

// The same latch after the add into the copied register: rY += rS; rI += K; rX = rY; if rJ op
// imm goto L, with the fields its handler reads.
TEST(Superinstructions, LatchAfterTheSumsAddBecomesOneSlot) {
    const Program p = assemble_program(
        "top:\nmov %r0, %r0\n"
        "add %r2, %r4\nadd %r3, 2\nmov %r4, %r2\njlt %r5, 1498, top\n"  // 1: checksum's
        "add %r6, %r6\nadd %r7, -1\nmov %r6, %r6\njne %r7, 0, top\n"     // 5: S = Y = X
        "add %r9, %r2\nadd %r9, 56\nmov %r2, %r9\njgt %r1, 60, top\n"    // 9: I = Y (cilium's)
        "exit");
    const auto slots = fused_slots(p);
    EXPECT_EQ(slots[1].op, interp::kSuperAddAddMovJlt);
    EXPECT_EQ(slots[1].dst, 3u);                   // I
    EXPECT_EQ(slots[1].pad, 4u);                   // X
    EXPECT_EQ(interp::imm_byte(slots[1], 4), 2u);  // Y
    EXPECT_EQ(interp::imm_byte(slots[1], 5), 4u);  // S
    EXPECT_EQ(slots[1].src, 5u);                   // J
    EXPECT_EQ(static_cast<int32_t>(slots[1].imm), 2);
    EXPECT_EQ(slots[1].off, 1498);
    EXPECT_EQ(slots[1].target, &slots[0]);
    EXPECT_EQ(slots[5].op, interp::kSuperAddAddMovJne);
    EXPECT_EQ(static_cast<int32_t>(slots[5].imm), -1);
    EXPECT_EQ(interp::imm_byte(slots[5], 5), 6u);
    EXPECT_EQ(slots[9].op, interp::kSuperAddRegImmMovJgt);  // I is Y: the copy gets the sum plus K
    EXPECT_EQ(slots[9].dst, 9u);
    EXPECT_EQ(interp::imm_byte(slots[9], 5), 2u);
    EXPECT_EQ(static_cast<int32_t>(slots[9].imm), 56);
}

TEST(Superinstructions, NearMissesOfTheLatchAfterTheSumStayApart) {
    // The copy is of another register, the add is 32-bit or an immediate, or an instruction after
    // the first is a jump target.
    expect_first_slot_outside(
        {
            "top:\nadd %r2, %r4\nadd %r3, 2\nmov %r4, %r6\njlt %r5, 9, top\nexit",
            "top:\nadd32 %r2, %r4\nadd %r3, 2\nmov %r4, %r2\njlt %r5, 9, top\nexit",
            "top:\nadd %r2, 4\nadd %r3, 2\nmov %r4, %r2\njlt %r5, 9, top\nexit",
            "top:\nadd %r2, %r4\nin:\nadd %r3, 2\nmov %r4, %r2\njlt %r5, 9, top\nja in\nexit",
            "top:\nadd %r2, %r4\nadd %r3, 2\nin:\nmov %r4, %r2\njlt %r5, 9, top\nja in\nexit",
        },
        interp::kSuperAddAddMovJeq, interp::kSuperAddRegImmMovJgt);
}

TEST(Superinstructions, LatchAfterTheSumLeavesEveryRegister) {
    // Every aliasing the shape allows: S = X (checksum), S = Y, S = I, X = Y, X = I, J = Y, J = X,
    // J = I, J = S, I = Y (with X = S, as cilium's, and with J = Y); unchecked_r0 holds the fused
    // run to the plain one, both dispatches.
    const std::string fold =
        "mov %r0, %r3\nlsh %r0, 16\nxor %r0, %r4\nlsh %r0, 16\nxor %r0, %r2\nexit\nbig:\nmov %r0, 1\nexit";
    const std::string init = "mov %r3, %r1\nmov %r2, 7\nmov %r4, %r1\nrsh %r4, 3\n";
    const std::vector<std::string> latches = {
        "add %r2, %r4\nadd %r3, 2\nmov %r4, %r2\njlt %r5, 1000, big\n",
        "add %r2, %r2\nadd %r3, 2\nmov %r4, %r2\njgt %r3, 1000, big\n",
        "add %r2, %r3\nadd %r3, -3\nmov %r4, %r2\njeq %r2, 0, big\n",
        "add %r2, %r4\nadd %r3, 1\nmov %r2, %r2\njne %r4, 0, big\n",
        "add %r2, %r4\nadd %r3, 1\nmov %r3, %r2\njlt %r3, 1000, big\n",
        "add %r4, %r1\nadd %r3, 5\nmov %r2, %r4\njgt %r2, 0x7fffffff, big\n",
        "add %r2, %r4\nadd %r3, 2\nmov %r4, %r2\njeq %r4, 0, big\n",
        "add %r2, %r4\nadd %r2, 56\nmov %r4, %r2\njgt %r5, 60, big\n",
        "add %r2, %r3\nadd %r2, -9\nmov %r4, %r2\njeq %r2, 0, big\n",
        "add %r3, %r3\nadd %r3, 1\nmov %r3, %r3\njne %r3, 1, big\n",
        "add %r2, %r4\nadd %r3, -2\nmov %r4, %r2\njgt %r5, -3, big\n",  // a negative compare immediate
        "add %r2, %r4\nadd %r2, -1\nmov %r4, %r2\njlt %r2, -2, big\n",
    };
    for (const std::string& latch : latches) {
        const std::string text = "mov %r5, %r1\n" + init + latch + fold;
        const uint8_t op = fused_slots(assemble_program(text))[5].op;  // the latch is one slot
        EXPECT_TRUE(op >= interp::kSuperAddAddMovJeq && op <= interp::kSuperAddRegImmMovJgt) << latch;
        for (const uint64_t r1 : {uint64_t{0}, uint64_t{997}, uint64_t{998}, ~uint64_t{0}, uint64_t{0x7ffffffe}})
            unchecked_r0(text, r1);
    }
}

TEST(Superinstructions, ChecksumLoopSumsTheWords) {
    // bench/programs/checksum.c's loop over r1's eight bytes on the stack: four 16-bit
    // big-endian words added into r4; its latch, with the sum's add, is one slot.
    const std::string text =
        "stxdw [%r10-8], %r1\nmov %r1, %r10\nadd %r1, -8\nmov %r3, 0\nmov %r4, 0\n"
        "top:\nmov %r5, %r3\nmov %r2, %r1\nadd %r2, %r5\nldxb %r0, [%r2+1]\nldxb %r2, [%r2+0]\nlsh %r2, 8\n"
        "or %r2, %r0\nadd %r2, %r4\nadd %r3, 2\nmov %r4, %r2\njlt %r5, 6, top\n"
        "mov %r0, %r2\nlsh %r0, 8\nor %r0, %r3\nlsh %r0, 8\nor %r0, %r5\nexit";
    const auto slots = fused_slots(assemble_program(text));
    EXPECT_EQ(slots[5].op, interp::kSuperCopyMov64AddReg);  // the index copy, then the address
    EXPECT_EQ(slots[8].op, interp::kSuperBe16Load);
    EXPECT_EQ(slots[12].op, interp::kSuperAddAddMovJlt);
    const uint64_t v = 0x0123456789abcdef;  // bytes ef cd ab 89 67 45 23 01
    const uint64_t sum = 0xefcd + 0xab89 + 0x6745 + 0x2301;
    EXPECT_EQ(unchecked_r0(text, v), (sum << 8 | 8) << 8 | 6);
}

// A copy, then a copy-then-ALU pair on another register (internal.hpp, kSuperCopyMov64*).
TEST(Superinstructions, ACopyBeforeACopyThenAluPairBecomesOneSlot) {
    const Program p = assemble_program(
        "mov %r5, %r3\nmov %r2, %r1\nadd %r2, %r5\n"  // 0: checksum's index copy, then the address
        "mov %r6, %r7\nmov %r8, %r6\nrsh %r8, 3\n"    // 3: the pair copies the copy
        "mov %r4, %r1\nmov %r1, %r2\nand %r1, -2\n"   // 6: the pair overwrites the copy's source
        "mov %r0, %r1\nmov %r0, %r3\nadd %r0, 1\n"    // 9: X = C: a copy, then the pair
        "mov %r0, %r1\nmov %r9, %r3\nxor %r9, 1\n"    // 12: not one of the five pairs
        "exit");
    const auto slots = fused_slots(p);
    EXPECT_EQ(slots[0].op, interp::kSuperCopyMov64AddReg);
    EXPECT_EQ(slots[0].dst, 2u);
    EXPECT_EQ(slots[0].src, 1u);
    EXPECT_EQ(slots[0].pad, 3u);  // r2 += r5 reads r3, the value r5 gets
    EXPECT_EQ(interp::imm_byte(slots[0], 4), 5u);
    EXPECT_EQ(interp::imm_byte(slots[0], 5), 3u);
    EXPECT_EQ(slots[3].op, interp::kSuperCopyMov64RshImm);
    EXPECT_EQ(slots[3].src, 7u);
    EXPECT_EQ(static_cast<int32_t>(slots[3].imm), 3);
    EXPECT_EQ(slots[6].op, interp::kSuperCopyMov64AndImm);
    EXPECT_EQ(static_cast<int32_t>(slots[6].imm), -2);
    EXPECT_EQ(slots[9].op, static_cast<uint8_t>(Op::Mov64Reg));
    EXPECT_EQ(slots[10].op, interp::kSuperMov64AddImm);
    EXPECT_EQ(slots[12].op, static_cast<uint8_t>(Op::Mov64Reg));
    EXPECT_EQ(slots[13].op, static_cast<uint8_t>(Op::Mov64Reg));
    // Nor when a jump enters the pair.
    const auto entered = fused_slots(assemble_program("mov %r5, %r3\nin:\nmov %r2, %r1\nadd %r2, 1\nja in\nexit"));
    EXPECT_EQ(entered[0].op, static_cast<uint8_t>(Op::Mov64Reg));
    // Nor when the pair begins a bounds check, whose triple fuses the compare too.
    const auto check =
        fused_slots(assemble_program("mov %r1, %r6\nmov %r2, %r7\nadd %r2, 14\njgt %r2, %r8, out\nout:\nexit"));
    EXPECT_EQ(check[0].op, static_cast<uint8_t>(Op::Mov64Reg));
    EXPECT_EQ(check[1].op, interp::kSuperMovAddJgtReg);
}

TEST(Superinstructions, CopyPrefixedPairsLeaveEveryRegister) {
    // Every register folded into r0 after the triple: the copy, the pair's result, and the
    // operands the pass rewrote or the pair overwrote.
    const std::string fold = fold_registers(9);
    const std::string init = "mov %r2, %r1\nrsh %r2, 7\nmov %r3, %r1\nxor %r3, 0x5a5a\nmov %r6, %r1\nlsh %r6, 3\n";
    const std::vector<std::string> triples = {
        "mov %r5, %r3\nmov %r2, %r1\nadd %r2, %r5\n",  // Z = C
        "mov %r5, %r3\nmov %r2, %r5\nadd %r2, 7\n",    // Y = C
        "mov %r5, %r2\nmov %r2, %r6\nadd %r2, %r2\n",  // D = X, the pair doubles its copy
        "mov %r5, %r5\nmov %r2, %r5\nrsh %r2, 63\n",   // C = D
        "mov %r6, %r2\nmov %r2, %r3\nlsh %r2, 60\n",   // D = X
        "mov %r5, %r1\nmov %r1, %r2\nand %r1, -16\n",  // D = X again, with an and
        "mov %r4, %r6\nmov %r3, %r4\nadd %r3, -1\n",
    };
    for (const std::string& t : triples) {
        EXPECT_GE(fused_slots(assemble_program(init + t + fold))[6].op, interp::kSuperCopyMov64AddImm) << t;
        for (const uint64_t r1 :
             {uint64_t{0}, uint64_t{1}, uint64_t{0x8000000000000001}, ~uint64_t{0}, uint64_t{0xdeadbeefcafe}})
            unchecked_r0(init + t + fold, r1);
    }
}

}  // namespace
}  // namespace bpfvm::itest
