// The assembler: exact encodings of every operand shape of the conformance-suite syntax, labels and
// numeric targets, immediate and offset ranges, and the exact error of each rejected line.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "bpfvm/asm.hpp"

namespace bpfvm {
namespace {

/// Assembles and returns the slots as "op dst src off imm" lines, or the error text.
std::string slots(std::string_view text) {
    auto raw = assemble(text);
    if (!raw) return "error: " + raw.error().to_string();
    std::string out;
    for (const RawInsn& r : *raw) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%02x %u %u %d %d\n", r.opcode, r.dst(), r.src(), r.off(), r.imm());
        out += buf;
    }
    return out;
}

std::string error_of(std::string_view text) {
    auto raw = assemble(text);
    return raw ? "assembled" : raw.error().to_string();
}

TEST(Assemble, AluForms) {
    EXPECT_EQ(slots("mov %r0, 1"), "b7 0 0 0 1\n");
    EXPECT_EQ(slots("mov64 %r0, -1"), "b7 0 0 0 -1\n");
    EXPECT_EQ(slots("mov32 %r1, 0xffffffff"), "b4 1 0 0 -1\n");
    EXPECT_EQ(slots("mov %r1, %r2"), "bf 1 2 0 0\n");
    EXPECT_EQ(slots("add32 %r9, %r10"), "0c 9 10 0 0\n");
    EXPECT_EQ(slots("sub %r3, 0x10"), "17 3 0 0 16\n");
    EXPECT_EQ(slots("arsh32 %r1, 3"), "c4 1 0 0 3\n");
    EXPECT_EQ(slots("sdiv %r1, %r2"), "3f 1 2 1 0\n");
    EXPECT_EQ(slots("smod32 %r1, -3"), "94 1 0 1 -3\n");
    EXPECT_EQ(slots("div %r1, 0"), "37 1 0 0 0\n");
    EXPECT_EQ(slots("neg %r4"), "87 4 0 0 0\n");
    EXPECT_EQ(slots("neg32 %r4"), "84 4 0 0 0\n");
    EXPECT_EQ(slots("movsx864 %r1, %r2"), "bf 1 2 8 0\n");
    EXPECT_EQ(slots("movsx8 %r1, %r2"), "bf 1 2 8 0\n");
    EXPECT_EQ(slots("movsx832 %r1, %r2"), "bc 1 2 8 0\n");
    EXPECT_EQ(slots("movsx1632 %r1, %r2"), "bc 1 2 16 0\n");
    EXPECT_EQ(slots("movsx3264 %r1, %r2"), "bf 1 2 32 0\n");
    EXPECT_EQ(slots("be16 %r0\nle32 %r1\nbe64 %r2"), "dc 0 0 0 16\nd4 1 0 0 32\ndc 2 0 0 64\n");
    EXPECT_EQ(slots("bswap16 %r0\nswap64 %r3"), "d7 0 0 0 16\nd7 3 0 0 64\n");
}

TEST(Assemble, MemoryAndLddw) {
    EXPECT_EQ(slots("ldxw %r0, [%r1+4]"), "61 0 1 4 0\n");
    EXPECT_EQ(slots("ldxdw %r0, [%r10-8]"), "79 0 10 -8 0\n");
    EXPECT_EQ(slots("ldxb %r0, [%r1]"), "71 0 1 0 0\n");
    EXPECT_EQ(slots("ldxh %r0, [ %r1 + 0x10 ]"), "69 0 1 16 0\n");
    EXPECT_EQ(slots("ldxsb %r0, [%r1+2]\nldxsh %r0, [%r1+2]\nldxsw %r0, [%r1+2]"),
              "91 0 1 2 0\n89 0 1 2 0\n81 0 1 2 0\n");
    EXPECT_EQ(slots("stxdw [%r10-8], %r0"), "7b 10 0 -8 0\n");
    EXPECT_EQ(slots("stb [%r1+2], 0x11"), "72 1 0 2 17\n");
    EXPECT_EQ(slots("stdw [%r1+0xffff], -1"), "7a 1 0 -1 -1\n");
    EXPECT_EQ(slots("lddw %r0, 0x123456789abcdef0"), "18 0 0 0 -1698898192\n00 0 0 0 305419896\n");
    EXPECT_EQ(slots("lddw %r1, -1"), "18 1 0 0 -1\n00 0 0 0 -1\n");
    EXPECT_EQ(slots("lddw %r1, 18446744073709551615"), "18 1 0 0 -1\n00 0 0 0 -1\n");
    EXPECT_EQ(slots("ldabsw 12\nldindh %r3, 4"), "20 0 0 0 12\n48 0 3 0 4\n");
}

TEST(Assemble, Atomics) {
    EXPECT_EQ(slots("lock add [%r10-8], %r1"), "db 10 1 -8 0\n");
    EXPECT_EQ(slots("lock add32 [%r10-4], %r1"), "c3 10 1 -4 0\n");
    EXPECT_EQ(slots("lock fetch add [%r10-8], %r1"), "db 10 1 -8 1\n");
    EXPECT_EQ(slots("lock fetch or32 [%r1+0], %r3"), "c3 1 3 0 65\n");
    EXPECT_EQ(slots("lock and [%r1], %r3"), "db 1 3 0 80\n");
    EXPECT_EQ(slots("lock fetch xor [%r1], %r3"), "db 1 3 0 161\n");
    EXPECT_EQ(slots("lock xchg [%r10-8], %r1"), "db 10 1 -8 225\n");
    EXPECT_EQ(slots("lock fetch xchg [%r10-8], %r1"), "db 10 1 -8 225\n");
    EXPECT_EQ(slots("lock cmpxchg32 [%r10-8], %r1"), "c3 10 1 -8 241\n");
}

TEST(Assemble, JumpsCallsAndLabels) {
    EXPECT_EQ(slots("ja +1\nexit\nexit"), "05 0 0 1 0\n95 0 0 0 0\n95 0 0 0 0\n");
    EXPECT_EQ(slots("start:\njeq %r1, 2, done\nja start\ndone: exit"),
              "15 1 0 1 2\n05 0 0 -2 0\n95 0 0 0 0\n");
    EXPECT_EQ(slots("jne32 %r1, %r2, +5\nexit"), "5e 1 2 5 0\n95 0 0 0 0\n");
    EXPECT_EQ(slots("jsle %r1, -3, -1"), "d5 1 0 -1 -3\n");
    EXPECT_EQ(slots("ja32 L\nmov %r0, 1\nL:\nexit"), "06 0 0 0 1\nb7 0 0 0 1\n95 0 0 0 0\n");
    EXPECT_EQ(slots("gotol -1"), "06 0 0 0 -1\n");
    EXPECT_EQ(slots("call 5"), "85 0 0 0 5\n");
    EXPECT_EQ(slots("call helper 5"), "85 0 0 0 5\n");
    EXPECT_EQ(slots("call map_lookup_elem"), "85 0 0 0 1\n");
    EXPECT_EQ(slots("call %r2"), "8d 2 0 0 0\n");
    EXPECT_EQ(slots("callx %r3"), "8d 3 0 0 0\n");
    EXPECT_EQ(slots("call local fn\nexit\nfn:\nexit"), "85 0 1 0 1\n95 0 0 0 0\n95 0 0 0 0\n");
    EXPECT_EQ(slots("call runtime 7"), "85 0 2 0 7\n");
    // `exit` names the first exit unless a label of that name exists.
    EXPECT_EQ(slots("jeq %r1, 0, exit\nmov %r0, 1\nexit\nexit"), "15 1 0 1 0\nb7 0 0 0 1\n95 0 0 0 0\n95 0 0 0 0\n");
    // Comments, blank lines, lddw taking two slots before a label.
    EXPECT_EQ(slots("# header\n\n  lddw %r0, 1 # one\n  ja out\nout:\n  exit\n"),
              "18 0 0 0 1\n00 0 0 0 0\n05 0 0 0 0\n95 0 0 0 0\n");
    EXPECT_EQ(slots(""), "");
}

TEST(Assemble, Errors) {
    EXPECT_EQ(error_of("exit\nldxq %r0, %r1"), "line 2: unknown mnemonic 'ldxq'");
    EXPECT_EQ(error_of("lddw %r0"), "line 1: invalid number of operands for 'lddw': expected 2 (register, 64-bit immediate), got 1");
    EXPECT_EQ(error_of("mov %r0"), "line 1: invalid number of operands for 'mov': expected 2 (register, immediate | register, register), got 1");
    EXPECT_EQ(error_of("exit %r0"), "line 1: invalid number of operands for 'exit': expected 0 (no operands), got 1");
    EXPECT_EQ(error_of("or %r0, %r50"), "line 1: invalid register '%r50' (registers are %r0 to %r10)");
    EXPECT_EQ(error_of("mov %r11, 1"), "line 1: invalid register '%r11' (registers are %r0 to %r10)");
    EXPECT_EQ(error_of("mov %r01, 1"), "line 1: invalid register '%r01' (registers are %r0 to %r10)");
    EXPECT_EQ(error_of("ja NOT_A_LABEL\nexit"), "line 1: unknown label 'NOT_A_LABEL'");
    EXPECT_EQ(error_of("mov32 %r0, 2147483648"), "line 1: immediate 2147483648 does not fit in 32 bits");
    EXPECT_EQ(error_of("mov32 %r0, 0x100000000"), "line 1: immediate 0x100000000 does not fit in 32 bits");
    EXPECT_EQ(error_of("mov %r0, -2147483649"), "line 1: immediate -2147483649 does not fit in 32 bits");
    EXPECT_EQ(error_of("mov %r0, 12abc"), "line 1: invalid immediate '12abc'");
    EXPECT_EQ(error_of("lddw %r0, 0x10000000000000000"), "line 1: invalid immediate '0x10000000000000000'");
    EXPECT_EQ(error_of("lddw %r0, -9223372036854775809"), "line 1: immediate -9223372036854775809 does not fit in 64 bits");
    EXPECT_EQ(error_of("ldxb %r0, [%r1+0x10000]"), "line 1: offset +0x10000 does not fit in 16 bits");
    EXPECT_EQ(error_of("ldxb %r0, [%r1+32768]"), "line 1: offset +32768 does not fit in 16 bits");
    EXPECT_EQ(error_of("ldxb %r0, %r1"), "line 1: ldxb: expected a memory operand like [%r1+4], got '%r1'");
    EXPECT_EQ(error_of("stxb [%r1+2], 5"), "line 1: stxb: expected a register like %r1, got '5'");
    EXPECT_EQ(error_of("lock or [%r10-8]"), "line 1: invalid number of operands for 'lock or': expected 2 (memory, register), got 1");
    EXPECT_EQ(error_of("lock"), "line 1: lock needs an atomic operation: lock [fetch] add|or|and|xor [%rD+OFF], %rS, or lock "
                                "xchg|cmpxchg [%rD+OFF], %rS (32-bit forms end in 32)");
    EXPECT_EQ(error_of("lock sub [%r10-8], %r1"), "line 1: unknown atomic operation 'lock sub'");
    EXPECT_EQ(error_of("mov %r0 1"), "line 1: mov: missing ',' between operands in '%r0 1'");
    EXPECT_EQ(error_of("mov %r0,, 1"), "line 1: mov: empty operand in '%r0,, 1'");
    EXPECT_EQ(error_of("ja 4"), "line 1: ja: jump target '4' is neither a label nor a signed offset like +4");
    EXPECT_EQ(error_of("jeq %r0, 0, +40000"), "line 1: offset +40000 does not fit in 16 bits");
    EXPECT_EQ(error_of("a:\na:\nexit"), "line 2: duplicate label 'a' (first defined on line 1)");
    EXPECT_EQ(error_of("1x:\nexit"), "line 1: invalid label name '1x'");
    EXPECT_EQ(error_of("call func1"), "line 1: unknown helper 'func1' (a local function is called with 'call local func1')");
    EXPECT_EQ(error_of("-- Unknown directive"), "line 1: unknown mnemonic '--'");
    // A label too far for a 16-bit offset.
    std::string far = "ja end\n";
    for (int i = 0; i < 40000; ++i) far += "mov %r0, 0\n";
    far += "end:\nexit\n";
    EXPECT_EQ(error_of(far), "line 1: label 'end' is 40000 slots away, beyond the 16-bit jump offset (use ja32)");
    auto errors = assemble("foo");
    ASSERT_FALSE(errors.has_value());
    EXPECT_EQ(errors.error().code, ErrorCode::kMalformed);
}

}  // namespace
}  // namespace bpfvm
