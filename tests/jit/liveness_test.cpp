// The JIT's on-demand liveness query (src/jit/liveness.hpp): what reads a register, what writes
// all of it, both sides of a branch, loops, exit, calls, and the budget that bounds each question.
#include <gtest/gtest.h>

#include <string>

#include "jit/liveness.hpp"
#include "program_util.hpp"

namespace bpfvm {
namespace {

/// is_dead_after on assembled `text`.
bool dead(const std::string& text, uint32_t index, uint8_t reg) {
    return jit::is_dead_after(assemble_program(text), index, reg);
}

TEST(Liveness, ReadBeforeWriteIsLiveWriteBeforeReadIsDead) {
    const std::string text = "mov %r2, 1\nadd %r0, %r2\nmov %r2, 5\nmov %r0, %r2\nexit";
    EXPECT_FALSE(dead(text, 0, 2));  // add reads r2
    EXPECT_TRUE(dead(text, 1, 2));   // mov r2, 5 writes it first
    EXPECT_FALSE(dead(text, 2, 2));
    EXPECT_TRUE(dead(text, 3, 2));   // exit of the whole program reads only r0
    EXPECT_FALSE(dead(text, 3, 0));
    // An instruction that reads and writes the same register reads it first.
    EXPECT_FALSE(dead("mov %r2, 1\nadd %r2, 1\nmov %r0, 0\nexit", 0, 2));
    EXPECT_FALSE(dead("mov %r2, 1\nldxb %r2, [%r2+0]\nmov %r0, 0\nexit", 0, 2));
    EXPECT_FALSE(dead("mov %r2, 1\nmov %r3, %r2\nmov %r0, 0\nexit", 0, 2));
}

TEST(Liveness, ThirtyTwoBitWritesKillTheWholeRegister) {
    EXPECT_TRUE(dead("mov %r2, 1\nmov32 %r2, 7\nmov %r0, %r2\nexit", 0, 2));
    EXPECT_TRUE(dead("mov %r2, 1\nldxw %r2, [%r1+0]\nmov %r0, %r2\nexit", 0, 2));
    EXPECT_TRUE(dead("mov %r2, 1\nlddw %r2, 0x100000000\nmov %r0, %r2\nexit", 0, 2));
    // A 32-bit ALU op other than mov reads its destination.
    EXPECT_FALSE(dead("mov %r2, 1\nadd32 %r2, 7\nmov %r0, %r2\nexit", 0, 2));
}

TEST(Liveness, StoresReadAddressAndValue) {
    EXPECT_FALSE(dead("mov %r2, 1\nstxb [%r10-1], %r2\nmov %r0, 0\nexit", 0, 2));
    EXPECT_FALSE(dead("mov %r2, %r10\nstb [%r2-1], 0\nmov %r0, 0\nexit", 0, 2));
    EXPECT_FALSE(dead("mov %r2, %r10\nstxb [%r2-1], %r1\nmov %r0, 0\nexit", 0, 2));
}

TEST(Liveness, EveryPathMustWriteFirst) {
    // The taken side reads r2, the other writes it: live. Both write: dead.
    const std::string one_side = "mov %r2, 1\njeq %r1, 0, t\nmov %r2, 2\nt:\nmov %r0, %r2\nexit";
    EXPECT_FALSE(dead(one_side, 0, 2));
    const std::string other_side = "mov %r2, 1\njeq %r1, 0, t\nmov %r0, %r2\nexit\nt:\nmov %r2, 3\nmov %r0, %r2\nexit";
    EXPECT_FALSE(dead(other_side, 0, 2));
    const std::string both = "mov %r2, 1\njeq %r1, 0, t\nmov %r2, 2\nja j\nt:\nmov %r2, 3\nj:\nmov %r0, %r2\nexit";
    EXPECT_TRUE(dead(both, 0, 2));
    // The comparison itself reads its operands.
    EXPECT_FALSE(dead("mov %r2, 1\njeq %r2, 0, t\nt:\nmov %r0, 0\nexit", 0, 2));
    EXPECT_FALSE(dead("mov %r2, 1\njeq %r1, %r2, t\nt:\nmov %r0, 0\nexit", 0, 2));
}

TEST(Liveness, LoopsReachTheirHeadAgain) {
    // r3 is a temporary written at the top of every iteration: dead after its use. r4 carries a
    // value around the back edge: live at the end of the body.
    const std::string text =
        "mov %r0, 0\nmov %r4, 10\n"
        "loop:\nmov %r3, %r4\nadd %r3, 1\nadd %r0, %r3\nsub %r4, 1\njne %r4, 0, loop\nexit";
    EXPECT_TRUE(dead(text, 4, 3));   // after add r0, r3
    EXPECT_FALSE(dead(text, 3, 3));  // before it
    EXPECT_FALSE(dead(text, 5, 4));  // the jne reads r4
    EXPECT_FALSE(dead(text, 6, 4));  // the back edge reaches the head, which reads r4
    EXPECT_TRUE(dead(text, 6, 3));   // ... and writes r3 first; the exit side reads only r0
    // On entry to an instruction (the instruction itself included): the head writes r3 first.
    EXPECT_TRUE(jit::is_dead_at(assemble_program(text), 2, 3));
    EXPECT_FALSE(jit::is_dead_at(assemble_program(text), 2, 4));
    EXPECT_FALSE(jit::is_dead_at(assemble_program(text), 4, 3));  // add r0, r3 reads it
    // A loop that never writes r3 and never exits without reading it: every path reads it.
    EXPECT_FALSE(dead("mov %r3, 1\nloop:\nadd %r0, 1\njne %r0, 5, loop\nmov %r0, %r3\nexit", 0, 3));
}

TEST(Liveness, CallsAndExit) {
    // Helpers read r1-r5 and leave r0-r5 written; r6-r9 survive them.
    EXPECT_FALSE(dead("mov %r3, 1\ncall 5\nexit", 0, 3));
    EXPECT_TRUE(dead("mov %r0, 1\ncall 5\nexit", 0, 0));
    EXPECT_FALSE(dead("mov %r6, 1\ncall 5\nmov %r0, %r6\nexit", 0, 6));
    EXPECT_TRUE(dead("mov %r6, 1\ncall 5\nexit", 0, 6));
    // Local calls are not followed: every register is live before one.
    EXPECT_FALSE(dead("mov %r7, 1\ncall local f\nexit\nf:\nmov %r7, 0\nmov %r0, 0\nexit", 0, 7));
    // With subprograms, an exit hands registers back to a caller: live.
    EXPECT_FALSE(dead("mov %r0, 0\ncall local f\nexit\nf:\nmov %r1, 2\nmov %r0, 0\nexit", 4, 1));
    // r10 is never a temporary.
    EXPECT_FALSE(dead("mov %r0, 0\nexit", 0, 10));
}

TEST(Liveness, LongWalksGiveUp) {
    // A write far beyond the budget is not found: the answer is "live", the safe one.
    std::string text = "mov %r2, 1\n";
    for (uint32_t i = 0; i < jit::kLivenessBudget + 4; ++i) text += "add %r0, 1\n";
    const std::string far = text + "mov %r2, 0\nmov %r0, %r2\nexit";
    EXPECT_FALSE(dead(far, 0, 2));
    std::string near = "mov %r2, 1\n";
    for (uint32_t i = 0; i + 4 < jit::kLivenessBudget; ++i) near += "add %r0, 1\n";
    EXPECT_TRUE(dead(near + "mov %r2, 0\nmov %r0, %r2\nexit", 0, 2));
}

}  // namespace
}  // namespace bpfvm
