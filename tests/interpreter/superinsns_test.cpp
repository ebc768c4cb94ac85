// The superinstruction pass (src/interpreter/superinsns.cpp): which pairs become one slot, which
// do not (a jump into the second half, a trap slot, checked mode), and that unchecked runs of the
// fused shapes agree with checked runs (the differential test in tests/jit covers random programs).
#include <gtest/gtest.h>

#include <vector>

#include "interp_test_util.hpp"
#include "interpreter/internal.hpp"
#include "program_util.hpp"

namespace bpfvm::itest {
namespace {

/// Slots as prepare fills them (op and fields; targets resolved), then the pass.
std::vector<interp::Slot> fused_slots(const Program& program) {
    std::vector<interp::Slot> slots(program.insns.size());
    for (size_t i = 0; i < slots.size(); ++i) {
        const Insn& insn = program.insns[i];
        slots[i].op = static_cast<uint8_t>(insn.op);
        slots[i].dst = insn.dst;
        slots[i].src = insn.src;
        slots[i].off = insn.off;
        slots[i].imm = insn.imm;
        if (is_jump(insn.op)) slots[i].target = &slots[insn.target];
    }
    interp::install_superinstructions(program, slots.data(), nullptr);
    return slots;
}

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

}  // namespace
}  // namespace bpfvm::itest
