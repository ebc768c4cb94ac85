// Tests for the JIT's code-quality transformations. Each has two halves: the generated code shows
// the transformation (through the machine-code dump, which lists the host instructions when
// capstone is available), and the generated code computes what the interpreter computes on the
// values where a wrong transformation would show (edge divisors and dividends, registers that
// the transformation uses implicitly, every width and signedness), in checked and unchecked mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/detail/jit.hpp"
#include "program_gen.hpp"
#include "program_util.hpp"

namespace bpfvm {
namespace {

const HelperTable& no_helpers() {
    static const HelperTable table;
    return table;
}

/// The lines of the machine-code dump of `text` (empty, with a test failure, when it cannot be dumped).
std::vector<std::string> dump_lines(std::string_view text, bool checked) {
    EngineOptions o;
    o.checked = checked;
    auto dump = jit::dump(assemble_program(text), no_helpers(), o);
    EXPECT_TRUE(dump.has_value()) << dump.error().to_string();
    std::vector<std::string> out;
    size_t pos = 0;
    while (dump && pos < dump->size()) {
        size_t nl = dump->find('\n', pos);
        if (nl == std::string::npos) nl = dump->size();
        out.push_back(dump->substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

/// A BPF instruction line of the dump: "    3: r0 /= 7    ; 0000a0, 12 bytes".
bool is_bpf_line(const std::string& line) {
    return line.size() > 6 && line[5] == ':' && line[0] == ' ' && line.find("    ; ") != std::string::npos;
}

/// The disassembly of a host line ("    0000a0: 48 89 d0      mov r8, rdx"), or "" for other lines.
std::string host_insn(const std::string& line) {
    static const std::regex host(R"(^    [0-9a-f]{6}: (?:[0-9a-f]{2} )+\s+(\S.*)$)");
    std::smatch m;
    return std::regex_match(line, m, host) ? std::string(m[1]) : std::string();
}

/// The host instructions of the dump (mnemonic and operands), one per line, without the BPF
/// lines, entry points and stubs; empty when the dump has no disassembly (no capstone).
std::vector<std::string> host_body(std::string_view text, bool checked = false) {
    std::vector<std::string> out;
    bool body = false;
    for (const std::string& line : dump_lines(text, checked)) {
        if (line.rfind("; out-of-line", 0) == 0) break;
        if (is_bpf_line(line)) {
            body = true;
            continue;
        }
        if (std::string insn = host_insn(line); body && !insn.empty()) out.push_back(std::move(insn));
    }
    return out;
}

bool has_mnemonic(const std::vector<std::string>& code, const std::string& mnemonic) {
    for (const std::string& line : code)
        if (line.rfind(mnemonic + " ", 0) == 0 || line == mnemonic) return true;
    return false;
}

/// Runs `text` with r1 = each value, in the JIT and the interpreter (checked and unchecked);
/// expects every r0 to agree and no trap.
void expect_same_as_interpreter(const std::string& text, const std::vector<uint64_t>& r1_values) {
    const Program program = assemble_program(text);
    for (bool checked : {false, true}) {
        EngineOptions o;
        o.checked = checked;
        auto jit = jit::compile(program, no_helpers(), o);
        auto interp = interp::prepare(program, no_helpers(), o);
        ASSERT_TRUE(jit.has_value()) << jit.error().to_string() << "\n" << text;
        ASSERT_TRUE(interp.has_value()) << interp.error().to_string();
        RunContext jc, ic;
        for (uint64_t v : r1_values) {
            const RunResult a = (*jit)->run(jc, v);
            const RunResult b = (*interp)->run(ic, v);
            ASSERT_TRUE(a.ok() && b.ok()) << text;
            ASSERT_EQ(a.r0, b.r0) << text << "\nr1 = " << v << (checked ? " (checked)" : " (unchecked)");
        }
    }
}

// ---- Division and modulo by a constant: multiply-high, no div instruction.

TEST(Codegen, DivisionByConstantsUsesNoDivideInstruction) {
    const bool x86 = jit::host_arch() == jit::Arch::X86_64;
    const std::vector<std::string> divides = x86 ? std::vector<std::string>{"div", "idiv"}
                                                  : std::vector<std::string>{"udiv", "sdiv"};
    const std::vector<std::string> multiplies = x86 ? std::vector<std::string>{"imul", "mul"}
                                                     : std::vector<std::string>{"umulh", "umull", "smulh", "smull"};
    auto any = [](const std::vector<std::string>& code, const std::vector<std::string>& names) {
        for (const std::string& m : names)
            if (has_mnemonic(code, m)) return true;
        return false;
    };
    for (const char* op : {"div32", "div", "mod32", "mod", "sdiv32", "sdiv", "smod32", "smod"}) {
        for (const char* divisor : {"7", "65521", "-3", "1000000007"}) {
            const std::string text = std::string("mov %r0, %r1\n") + op + " %r0, " + divisor + "\nexit";
            const auto code = host_body(text);
            if (code.empty()) GTEST_SKIP() << "built without capstone: no disassembly in the dump";
            EXPECT_FALSE(any(code, divides)) << text;
            EXPECT_TRUE(any(code, multiplies)) << text;
        }
    }
    // A register divisor still divides.
    EXPECT_TRUE(any(host_body("mov %r0, %r1\nmov %r2, 7\ndiv %r0, %r2\nexit"), divides));
}

std::vector<uint64_t> dividends() {
    std::vector<uint64_t> v = {0, 1, 2, 3, 6, 7, 8, 99, 65520, 65521, 65522, 0x7fffffff, 0x80000000, 0x80000001,
                               0xfffffffe, 0xffffffff, 0x100000000, 0x123456789abcdef0, 0x7fffffffffffffff,
                               0x8000000000000000, 0x8000000000000001, 0xfffffffffffffffe, 0xffffffffffffffff};
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int i = 0; i < 24; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push_back(x);
        v.push_back(x >> (x % 64));
        v.push_back(static_cast<uint64_t>(-static_cast<int64_t>(x >> 40)));
    }
    return v;
}

TEST(Codegen, DivisionByConstantsAgreeWithTheInterpreter) {
    const std::vector<uint64_t> values = dividends();
    const char* ops[] = {"div32", "div", "mod32", "mod", "sdiv32", "sdiv", "smod32", "smod"};
    const char* divisors[] = {"1", "2", "3", "5", "6", "7", "10", "13", "641", "65521", "0x7fffffff", "0x40000001",
                              "-1", "-2", "-3", "-7", "-65521", "-0x80000000", "0x55555555", "1000000007"};
    for (const char* op : ops) {
        for (const char* divisor : divisors) {
            // The destination in r0 and r3 (which x86 mul/imul use implicitly) and in r6; the
            // other two hold known values that the result folds in, so clobbering them shows.
            for (const char* dst : {"%r0", "%r3", "%r6"}) {
                const std::string d = dst;
                std::string text = "mov %r0, 0x1234\nmov %r3, 0x5678\nmov %r6, 0x9abc\nmov " + d + ", %r1\n";
                text += std::string(op) + " " + d + ", " + divisor + "\n";
                text += "mul %r3, 3\nadd %r0, %r3\nmul %r6, 5\nadd %r0, %r6\n";
                text += "exit";
                expect_same_as_interpreter(text, values);
            }
        }
    }
}

// ---- Peepholes on clang's shapes (fuse.cpp).

size_t count_mnemonic(const std::vector<std::string>& code, const std::string& mnemonic) {
    size_t n = 0;
    for (const std::string& line : code)
        if (line.rfind(mnemonic + " ", 0) == 0 || line == mnemonic) ++n;
    return n;
}

TEST(Codegen, JumpOverAnUnconditionalJumpBecomesOneInvertedJump) {
    // clang's loop back edge: if (exit condition) goto out; goto top.
    const std::string text = "mov %r0, 0\ntop:\nadd %r0, 3\njgt %r0, %r1, out\nja top\nout:\nexit";
    const auto code = host_body(text);
    if (code.empty()) GTEST_SKIP() << "built without capstone";
    if (jit::host_arch() == jit::Arch::X86_64) {
        EXPECT_EQ(count_mnemonic(code, "jmp"), 0u);
        EXPECT_EQ(count_mnemonic(code, "jbe"), 1u);  // the inverse of ja (unsigned >)
        EXPECT_EQ(count_mnemonic(code, "ja"), 0u);
    } else {
        EXPECT_EQ(count_mnemonic(code, "b"), 0u);     // no unconditional branch
        EXPECT_EQ(count_mnemonic(code, "b.ls"), 1u);  // the inverse of b.hi (unsigned >)
    }
    expect_same_as_interpreter(text, {0, 1, 2, 3, 4, 29, 30, 31, 1000});
}

TEST(Codegen, AluResultTestedAgainstZeroNeedsNoTest) {
    const std::string text =
        "mov %r0, 5\nand32 %r1, 6\njeq32 %r1, 0, a\nadd %r0, 1\na:\nsub %r1, 4\njne %r1, 0, b\nadd %r0, 10\n"
        "b:\nexit";
    if (jit::host_arch() == jit::Arch::X86_64) {
        const auto code = host_body(text);
        if (code.empty()) GTEST_SKIP() << "built without capstone";
        EXPECT_EQ(count_mnemonic(code, "test"), 0u);
        EXPECT_EQ(count_mnemonic(code, "cmp"), 0u);
    }
    expect_same_as_interpreter(text, {0, 1, 2, 4, 6, 7, 0xfffffffe, 0x100000000, 0x100000004, ~uint64_t{0}});
    // A 64-bit op followed by a 32-bit test must still compare the low half.
    const std::string mixed = "mov %r0, 1\nadd %r1, 1\njeq32 %r1, 0, a\nmov %r0, 2\na:\nexit";
    if (jit::host_arch() == jit::Arch::X86_64 && !host_body(mixed).empty()) {
        EXPECT_EQ(count_mnemonic(host_body(mixed), "test"), 1u);
    }
    expect_same_as_interpreter(mixed, {0, 0xffffffff, 0x1ffffffff, ~uint64_t{0}});
}

TEST(Codegen, ZeroExtensionsOfZeroExtendedRegistersVanish) {
    // w1 += 5 leaves the upper half zero: the following w1 = w1 and r1 <<= 32; r1 >>= 32 are no-ops.
    const std::string known = "add32 %r1, 5\nmov32 %r1, %r1\nlsh %r1, 32\nrsh %r1, 32\nmov %r0, %r1\nexit";
    // r1 += 5 (64-bit) may leave it set: the shift pair becomes one 32-bit move.
    const std::string unknown = "add %r1, 5\nlsh %r1, 32\nrsh %r1, 32\nmov %r0, %r1\nexit";
    if (jit::host_arch() == jit::Arch::X86_64) {
        const auto a = host_body(known);
        const auto b = host_body(unknown);
        if (a.empty()) GTEST_SKIP() << "built without capstone";
        EXPECT_EQ(a.size(), 3u);  // add, mov r0, ret
        EXPECT_EQ(count_mnemonic(b, "shl") + count_mnemonic(b, "shr"), 0u);
        EXPECT_EQ(b.size(), 4u);  // add, mov (zero-extension), mov r0, ret
    }
    const std::vector<uint64_t> values = {0, 1, 0xfffffffa, 0xfffffffb, 0xffffffff, 0x1fffffffb, ~uint64_t{0}};
    expect_same_as_interpreter(known, values);
    expect_same_as_interpreter(unknown, values);
    // A jump target in between forgets what is known (another path may arrive with the upper half set).
    expect_same_as_interpreter("jeq %r1, 7, t\nadd32 %r1, 0\nt:\nmov32 %r1, %r1\nmov %r0, %r1\nexit",
                               {7, 0x700000007, 0xffffffff00000001});
}

// ---- Entry points save only the host callee-saved registers the program names.

/// The host instructions of the dump's entry points (before the first BPF instruction line).
std::vector<std::string> entry_code(std::string_view text) {
    std::vector<std::string> out;
    for (const std::string& line : dump_lines(text, false)) {
        if (is_bpf_line(line)) break;
        if (std::string insn = host_insn(line); !insn.empty()) out.push_back(std::move(insn));
    }
    return out;
}

TEST(Codegen, EntryPointsSaveOnlyTheCalleeSavedRegistersTheProgramNames) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 entry points";
    // r6-r9 live in rbx, r13, r14, r15; r10 (rbp) and the runtime pointer (r12) are always saved.
    const auto none = entry_code("mov %r0, 1\nexit");
    if (none.empty()) GTEST_SKIP() << "built without capstone";
    for (const char* r : {"rbx", "r13", "r14", "r15"}) EXPECT_EQ(count_mnemonic(none, std::string("push ") + r), 0u);
    EXPECT_EQ(count_mnemonic(none, "push rbp"), 2u);  // once per entry point (run, callback)
    EXPECT_EQ(count_mnemonic(none, "push r12"), 2u);
    const auto some = entry_code("mov %r7, 2\nmov %r0, %r7\nexit");
    EXPECT_EQ(count_mnemonic(some, "push r13"), 2u);
    EXPECT_EQ(count_mnemonic(some, "pop r13"), 1u);  // the shared epilogue
    EXPECT_EQ(count_mnemonic(some, "push rbx"), 0u);
    // Values in r6-r9 survive a local call and a helper-free loop; a caller's r6-r9 (the test's own
    // registers) survive the run, or the next run would differ.
    const std::string text =
        "mov %r6, %r1\nmov %r7, 3\nmov %r8, 5\nmov %r9, 7\ncall local f\nadd %r6, %r7\nadd %r6, %r8\nadd %r6, %r9\n"
        "mov %r0, %r6\nexit\nf:\nmov %r6, 100\nmov %r9, 1\nmov %r0, 0\nexit";
    expect_same_as_interpreter(text, {0, 1, 1000, ~uint64_t{0}});
}

// ---- Layout: loop heads and the branch encodings of the x86-64 emitter.

/// Code offset of BPF instruction `index` in the dump ("    2: r0 += r1    ; 0000a0, 3 bytes").
size_t insn_offset(const std::vector<std::string>& dump, size_t index) {
    const std::string prefix = (index < 10 ? "    " : "   ") + std::to_string(index) + ": ";
    for (const std::string& line : dump) {
        if (!is_bpf_line(line) || line.rfind(prefix, 0) != 0) continue;
        return std::stoul(line.substr(line.find("    ; ") + 6, 6), nullptr, 16);
    }
    ADD_FAILURE() << "instruction " << index << " not in the dump";
    return 0;
}

TEST(Codegen, LoopHeadsStartOnSixteenByteBoundaries) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 layout";
    // Without the padding the head (instruction 2) would start 7 bytes after instruction 0
    // (xor eax, eax; mov edi, 10), which is not a multiple of 16 here; the padding is NOPs,
    // which the dump lists under instruction 1.
    const std::string text = "mov %r0, 0\nmov %r1, 10\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\nexit";
    for (const bool checked : {false, true}) {
        SCOPED_TRACE(checked ? "checked" : "unchecked");
        const auto dump = dump_lines(text, checked);
        const size_t entry = insn_offset(dump, 0), head = insn_offset(dump, 2);
        EXPECT_EQ(head % 16, 0u) << "loop head at " << head;
        EXPECT_GT(head - entry, 7u) << "no padding before the loop head";
        const auto code = host_body(text, checked);
        if (!code.empty()) {
            EXPECT_GE(count_mnemonic(code, "nop"), 1u);
        }
    }
    expect_same_as_interpreter(text, {0, 1});
}

TEST(Codegen, BackwardBranchesUseTheShortFormWhenInRange) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 encodings";
    // A short loop's back edge is a 2-byte jcc (rel8); a forward exit jump to a later instruction
    // is a rel32 the emitter patches, and both reach their targets (the result proves it).
    const std::string text = "mov %r0, 0\nloop:\nadd %r0, 2\njgt %r0, 100, out\nja loop\nout:\nexit";
    const auto dump = dump_lines(text, false);
    bool short_back = false;
    for (const std::string& line : dump)
        if (line.find(": 76 ") != std::string::npos) short_back = true;
    EXPECT_TRUE(short_back) << "no rel8 jbe back edge (the inverted jgt over the ja)";
    expect_same_as_interpreter(text, {0});
}

// ---- Memory: big-endian 16-bit loads from byte pairs, sums folded into the access, 32-bit lea.

/// Runs `text` after `mov %r3, v` for each v of `r3_values`, with r1 = a 16-byte buffer (bytes
/// 0x11, 0x22, ... with the high bit flipped in every third), in the JIT and the interpreter,
/// checked and unchecked (checked only with `checked_only`: accesses outside the buffer read
/// whatever lies there in unchecked mode); expects the same r0, the same trap and the same
/// buffer afterwards.
void expect_same_on_buffer(const std::string& text, const std::vector<uint64_t>& r3_values, bool checked_only = false) {
    testing::GenProgram gp;
    for (uint8_t i = 0; i < 16; ++i) gp.buffer.push_back(static_cast<uint8_t>((0x11 * (i + 1)) ^ (i % 3 == 0 ? 0x80 : 0)));
    for (uint64_t v : r3_values) {
        const std::string full = "mov %r3, " + std::to_string(v) + "\n" + text;
        const Program program = assemble_program(full);
        for (bool checked : {false, true}) {
            if (checked_only && !checked) continue;
            EngineOptions o;
            o.checked = checked;
            auto jit = jit::compile(program, no_helpers(), o);
            auto interp = interp::prepare(program, no_helpers(), o);
            ASSERT_TRUE(jit.has_value()) << jit.error().to_string() << "\n" << full;
            ASSERT_TRUE(interp.has_value()) << interp.error().to_string();
            const auto a = testing::run_generated(**jit, gp), b = testing::run_generated(**interp, gp);
            EXPECT_TRUE(testing::same_outcome(a, b)) << full << (checked ? "\n(checked)" : "\n(unchecked)")
                                                     << "\n  jit:    " << testing::describe_outcome(a)
                                                     << "\n  interp: " << testing::describe_outcome(b);
        }
    }
}

TEST(Codegen, BytePairsBecomeOneBigEndianLoad) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 peephole";
    // clang's `(p[k] << 8) | p[k + 1]`, low byte first or second, 64- or 32-bit shift and or.
    const std::vector<std::string> combined = {
        "ldxb %r0, [%r1+5]\nldxb %r2, [%r1+4]\nlsh %r2, 8\nor %r2, %r0\nmov %r0, %r2\nexit",
        "ldxb %r2, [%r1+4]\nldxb %r0, [%r1+5]\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit",
        // Through a copied and advanced pointer (checksum's loop): one load from base + index.
        "mov %r4, %r1\nadd %r4, %r3\nldxb %r0, [%r4+1]\nldxb %r4, [%r4+0]\nlsh %r4, 8\nor %r4, %r0\nmov %r0, %r4\nexit",
        // The high byte first: for r3 = 11 the second byte load is the one outside.
        "mov %r4, %r1\nadd %r4, %r3\nldxb %r2, [%r4+4]\nldxb %r0, [%r4+5]\nlsh %r2, 8\nor %r2, %r0\nmov %r0, %r2\nexit",
        // After another load through the same pointer (in checked mode: one group, which the
        // pair's first load does not lead).
        "ldxb %r5, [%r1+0]\nldxb %r0, [%r1+5]\nldxb %r2, [%r1+4]\nlsh %r2, 8\nor %r2, %r0\nmov %r0, %r2\nxor %r0, %r5\nexit",
    };
    for (const std::string& text : combined) {
        const auto code = host_body(text);
        if (code.empty()) GTEST_SKIP() << "built without capstone";
        EXPECT_EQ(count_mnemonic(code, "rol"), 1u) << text;
        EXPECT_EQ(count_mnemonic(code, "shl"), 0u) << text;
        EXPECT_EQ(count_mnemonic(code, "lea"), 0u) << text;
        bool word = false;
        for (const std::string& line : code) word = word || line.find("word ptr") != std::string::npos;
        EXPECT_TRUE(word) << text;
        // Checked mode too: the two byte loads share one check (whose slow path traps at the
        // byte load that has it, as the interpreter does: the buffer is 16 bytes).
        EXPECT_EQ(count_mnemonic(host_body(text, true), "rol"), 1u) << text;
        expect_same_on_buffer(text, {0, 3, 10});
        expect_same_on_buffer(text, {11, 12, 14, 15, 16}, true);
        // The same after a load through r1 has filled the region cache: the shared check passes
        // inline and the 16-bit load runs (or, outside, the check fails inline).
        expect_same_on_buffer("ldxb %r7, [%r1+15]\n" + text, {0, 3, 10});
        expect_same_on_buffer("ldxb %r7, [%r1+15]\n" + text, {11, 12, 14, 15, 16}, true);
    }
    // Near misses, each computing its own value: the low byte's register read afterwards, bytes
    // not adjacent or in the other order, another shift, a base the first load overwrites, the
    // pointer still needed after the pair.
    const std::vector<std::string> kept = {
        "ldxb %r0, [%r1+5]\nldxb %r2, [%r1+4]\nlsh %r2, 8\nor %r2, %r0\nadd %r0, %r2\nexit",
        "ldxb %r0, [%r1+6]\nldxb %r2, [%r1+4]\nlsh %r2, 8\nor %r2, %r0\nmov %r0, %r2\nexit",
        "ldxb %r0, [%r1+4]\nldxb %r2, [%r1+5]\nlsh %r2, 8\nor %r2, %r0\nmov %r0, %r2\nexit",
        "ldxb %r0, [%r1+5]\nldxb %r2, [%r1+4]\nlsh %r2, 7\nor %r2, %r0\nmov %r0, %r2\nexit",
        "ldxb %r0, [%r1+5]\nldxb %r2, [%r1+4]\nlsh %r2, 8\nxor %r2, %r0\nmov %r0, %r2\nexit",
        "mov %r4, %r1\nldxb %r4, [%r4+5]\nldxb %r2, [%r4+4]\nmov %r0, 0\nexit",
        "mov %r4, %r1\nadd %r4, %r3\nldxb %r0, [%r4+1]\nldxb %r2, [%r4+0]\nlsh %r2, 8\nor %r2, %r0\n"
        "sub %r4, %r1\nadd %r2, %r4\nmov %r0, %r2\nexit",
    };
    for (size_t i = 0; i < kept.size(); ++i) {
        const auto code = host_body(kept[i]);
        // The last one combines the pair (the pointer survives in its register) but keeps the lea.
        if (i + 1 == kept.size())
            EXPECT_EQ(count_mnemonic(code, "lea"), 1u) << kept[i];
        else
            EXPECT_EQ(count_mnemonic(code, "rol"), 0u) << kept[i];
        if (i != 5) expect_same_on_buffer(kept[i], {0, 3, 14});
    }
}

TEST(Codegen, SumsFoldIntoTheAccessWhenThePointerDies) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 peephole";
    // sieve's `data[j] = 0`: the pointer dies at the store (written again before any read).
    const std::string dies = "mov %r4, %r1\nadd %r4, %r3\nstxb [%r4+0], %r3\nmov %r4, 0\nldxdw %r0, [%r1+0]\nexit";
    const auto code = host_body(dies);
    if (code.empty()) GTEST_SKIP() << "built without capstone";
    EXPECT_EQ(count_mnemonic(code, "lea"), 0u);
    expect_same_on_buffer(dies, {0, 7, 15});
    // An immediate store and a load into another register, through an immediate sum.
    const std::string imm = "mov %r4, %r1\nadd %r4, 3\nstb [%r4+1], 9\nmov %r4, %r1\nadd %r4, 8\nldxw %r0, [%r4-4]\nexit";
    EXPECT_EQ(count_mnemonic(host_body(imm), "lea"), 0u);
    expect_same_on_buffer(imm, {0});
    // The pointer is read afterwards, or stored itself: the sum stays in its register.
    const std::string lives = "mov %r4, %r1\nadd %r4, %r3\nstxb [%r4+0], %r3\nsub %r4, %r1\nldxb %r0, [%r1+0]\nadd %r0, %r4\nexit";
    EXPECT_EQ(count_mnemonic(host_body(lives), "lea"), 1u);
    expect_same_on_buffer(lives, {0, 7, 15});
    const std::string self = "mov %r4, %r10\nadd %r4, -8\nstxdw [%r4+0], %r4\nldxdw %r0, [%r10-8]\nsub %r0, %r10\nexit";
    EXPECT_EQ(count_mnemonic(host_body(self), "lea"), 1u);
    expect_same_on_buffer(self, {0});
}

TEST(Codegen, ThirtyTwoBitCopyThenAddIsOneLea) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 peephole";
    const std::vector<std::string> texts = {"mov32 %r0, %r1\nadd32 %r0, %r2\nexit", "mov32 %r0, %r1\nadd32 %r0, %r0\nexit",
                                            "mov32 %r0, %r1\nadd32 %r0, -5\nexit", "mov32 %r0, %r1\nsub32 %r0, 7\nexit"};
    for (const std::string& text : texts) {
        const auto code = host_body(text);
        if (code.empty()) GTEST_SKIP() << "built without capstone";
        EXPECT_EQ(count_mnemonic(code, "lea"), 1u) << text;
        ASSERT_FALSE(code.empty());
        EXPECT_NE(code[0].find("lea eax"), std::string::npos) << code[0];  // a 32-bit result
        // r2 = 0 in these runs; the values wrap at 2^32 and drop r1's upper half.
        expect_same_as_interpreter(text, {0, 1, 4, 0x7fffffff, 0xffffffff, 0x1fffffffb, ~uint64_t{0}});
    }
}

TEST(Codegen, AJumpOverAnExitBecomesAJumpToARetAfterTheBody) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 layout";
    // sieve's outer loop: `if (i != n) goto +1; exit` in the middle of the loop, and a forward
    // jump to the same exit from before the loop. No `ret` is left in the body; both reach it.
    const std::string text =
        "mov %r0, 0\njgt %r1, 100, out\nloop:\nadd %r0, 3\nsub %r1, 1\njne %r1, 0, body\nout:\nexit\n"
        "body:\nadd %r0, 1\nja loop";
    for (const bool checked : {false, true}) {
        const auto code = host_body(text, checked);
        if (code.empty()) GTEST_SKIP() << "built without capstone";
        EXPECT_EQ(count_mnemonic(code, "ret"), 0u) << (checked ? "checked" : "unchecked");
        EXPECT_EQ(count_mnemonic(code, "je"), 1u);  // the inverted jne
    }
    expect_same_as_interpreter(text, {1, 2, 50, 100, 101, 1000});
    // The exit stays in the body when a later jump goes back to it, or when it is a function.
    const std::string back = "mov %r0, 1\nloop:\nadd %r0, 1\njlt %r0, %r1, next\nex:\nexit\nnext:\njeq %r0, 40, ex\nja loop";
    EXPECT_EQ(count_mnemonic(host_body(back), "ret"), 1u);
    expect_same_as_interpreter(back, {0, 5, 39, 40, 41, 100});
    const std::string function = "mov %r0, 5\njgt %r1, 3, skip\nf:\nexit\nskip:\ncall local f\nadd %r0, %r1\nexit";
    EXPECT_EQ(count_mnemonic(host_body(function), "ret"), 2u);
    expect_same_as_interpreter(function, {0, 3, 4, 1000});
}

TEST(Codegen, ByteFillLoopsBecomeRepStosb) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 idiom";
    // sieve's `for (i = r3; i != 12; i++) data[i + 2] = v`, with the value and index in the
    // registers rep stosb needs (rax, rdi, rcx hold r0, r1, r4) or not, or an immediate. After the
    // loop r0 folds in what it leaves behind: the index, the pointer (as an offset) and the value
    // register; the buffer shows the stores.
    const std::string fold = "mov %r0, %r6\nmul %r0, 1000\nadd %r0, %r2\nmul %r0, 1000\nsub %r5, %r1\nadd %r0, %r5\nexit";
    const std::vector<std::string> loops = {
        "mov %r2, %r3\nmov %r6, 0x1ab\nloop:\nmov %r5, %r1\nadd %r5, %r2\nstxb [%r5+2], %r6\nadd %r2, 1\njne %r2, 12, loop\n",
        "mov %r4, %r3\nmov %r0, 0x7f\nloop:\nmov %r5, %r1\nadd %r5, %r4\nstxb [%r5+2], %r0\nadd %r4, 1\njne %r4, 12, loop\n"
        "mov %r2, %r4\nmov %r6, %r0\n",
        "mov %r2, %r3\nmov %r6, 0\nloop:\nmov %r5, %r1\nadd %r5, %r2\nstb [%r5+2], -3\nadd %r2, 1\njne %r2, 12, loop\n",
        // The pointer is r4 (rcx) and the base is moved to r0 (rax) first.
        "mov %r0, %r1\nmov %r2, %r3\nmov %r6, 9\nloop:\nmov %r4, %r0\nadd %r4, %r2\nstxb [%r4+2], %r6\nadd %r2, 1\n"
        "jne %r2, 12, loop\nmov %r5, %r4\n",
    };
    for (const std::string& loop : loops) {
        const std::string text = loop + fold;
        const auto code = host_body(text);
        if (code.empty()) GTEST_SKIP() << "built without capstone";
        EXPECT_EQ(count_mnemonic(code, "rep"), 1u) << text;
        EXPECT_EQ(count_mnemonic(host_body(text, true), "rep"), 0u) << text;  // checked: store by store
        expect_same_on_buffer(text, {0, 1, 5, 11});
    }
    // Near misses: a step of 2, the index stored, the end not reached by counting up.
    const std::vector<std::string> kept = {
        "mov %r2, %r3\nmov %r6, 1\nloop:\nmov %r5, %r1\nadd %r5, %r2\nstxb [%r5+2], %r6\nadd %r2, 2\njne %r2, 12, loop\n",
        "mov %r2, %r3\nmov %r6, 1\nloop:\nmov %r5, %r1\nadd %r5, %r2\nstxb [%r5+2], %r2\nadd %r2, 1\njne %r2, 12, loop\n",
        "mov %r2, %r3\nmov %r6, 1\nloop:\nmov %r5, %r1\nadd %r5, %r2\nstxh [%r5+2], %r6\nadd %r2, 1\njne %r2, 12, loop\n",
    };
    for (const std::string& loop : kept) {
        const std::string text = loop + fold;
        EXPECT_EQ(count_mnemonic(host_body(text), "rep"), 0u) << text;
        expect_same_on_buffer(text, {0, 4, 10});
    }
}

TEST(Codegen, AnAccumulatorCopiedBackIsComputedInTheCopy) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 peephole";
    // checksum's `r2 += r4; r3 += 2; r4 = r2`: the add goes into r4 (rcx), the copy back into r2
    // (rsi), so the carried register r4 depends on itself through the add alone.
    const std::string text = "mov %r2, %r1\nmov %r4, 7\nadd %r2, %r4\nadd %r3, 2\nmov %r4, %r2\n"
                             "mov %r0, %r4\nmul %r0, 3\nadd %r0, %r2\nadd %r0, %r3\nexit";
    const auto code = host_body(text);
    if (code.empty()) GTEST_SKIP() << "built without capstone";
    EXPECT_EQ(count_mnemonic(code, "add rcx, rsi"), 1u);
    EXPECT_EQ(count_mnemonic(code, "mov rsi, rcx"), 1u);
    expect_same_as_interpreter(text, {0, 1, 0x8000000000000000, ~uint64_t{0}});
    for (const char* op : {"or", "and", "xor"}) {
        const std::string other = std::string("mov %r2, %r1\nmov %r4, 0x5a\n") + op + " %r2, %r4\nmov %r4, %r2\nmov %r0, %r4\nmul %r0, 3\nadd %r0, %r2\nexit";
        EXPECT_EQ(count_mnemonic(host_body(other), "mov rsi, rcx"), 1u) << other;
        expect_same_as_interpreter(other, {0, 0xff, ~uint64_t{0}});
    }
    // In a loop whose head rewrites r2, the copy back to r2 moves past the back edge: it runs
    // once, on the way out. When the head reads r2, it stays in the loop.
    auto position = [](const std::vector<std::string>& c, const std::string& prefix) {
        return static_cast<size_t>(std::find_if(c.begin(), c.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }) - c.begin());
    };
    for (const bool head_reads : {false, true}) {
        const std::string loop = std::string("mov %r4, 0\nmov %r3, 0\nmov %r2, 0\nloop:\n") +
                                 (head_reads ? "add %r2, 5\n" : "mov %r2, 5\n") +
                                 "mul %r2, %r3\nadd %r2, %r4\nadd %r3, 1\nmov %r4, %r2\njlt %r3, %r1, loop\nmov %r0, %r2\nexit";
        const auto c = host_body(loop);
        EXPECT_EQ(position(c, "mov rsi, rcx") > position(c, "jb "), !head_reads) << loop;
        expect_same_as_interpreter(loop, {0, 1, 2, 10});
    }
    // The middle instruction reads the accumulator, or the op does not commute: as written.
    for (const std::string kept : {"mov %r2, %r1\nmov %r4, 7\nadd %r2, %r4\nadd %r3, %r2\nmov %r4, %r2\nmov %r0, %r4\nadd %r0, %r3\nexit",
                                   "mov %r2, %r1\nmov %r4, 7\nsub %r2, %r4\nmov %r4, %r2\nmov %r0, %r4\nexit"}) {
        EXPECT_EQ(count_mnemonic(host_body(kept), "mov rsi, rcx"), 0u) << kept;
        expect_same_as_interpreter(kept, {0, 1, ~uint64_t{0}});
    }
}

TEST(Codegen, ShiftsOrEdIntoARotateBecomeOneRol) {
    if (jit::host_arch() != jit::Arch::X86_64) GTEST_SKIP() << "x86-64 peephole";
    // t = x; t >>= W - k; x <<= k; x |= t (r0 is rax, r1 rdi): one rol of x, and t keeps its value
    // (the xor after reads both).
    const std::vector<uint64_t> values = {0, 1, 0x8000000000000001, 0x123456789abcdef0, 0xffffffff, ~uint64_t{0}};
    const std::vector<std::pair<std::string, std::string>> rotates = {
        {"mov %r0, %r1\nrsh %r0, 57\nlsh %r1, 7\nor %r1, %r0\nxor %r0, %r1\nexit", "rol rdi, 7"},
        {"mov %r0, %r1\nlsh %r0, 13\nrsh %r1, 51\nor %r1, %r0\nxor %r0, %r1\nexit", "rol rdi, 0xd"},
        {"mov32 %r0, %r1\nrsh32 %r0, 25\nlsh32 %r1, 7\nor32 %r1, %r0\nxor %r0, %r1\nexit", "rol edi, 7"},
        {"mov32 %r0, %r1\nlsh32 %r0, 1\nrsh32 %r1, 31\nor32 %r1, %r0\nxor %r0, %r1\nexit", "rol edi, 1"},
    };
    for (const auto& [text, rol] : rotates) {
        const auto code = host_body(text);
        if (code.empty()) GTEST_SKIP() << "built without capstone";
        EXPECT_EQ(count_mnemonic(code, rol), 1u) << text;
        EXPECT_EQ(count_mnemonic(code, "or"), 0u) << text;
        expect_same_as_interpreter(text, values);
    }
    // Amounts that do not add up to the width, the or the other way round, widths mixed, a jump
    // into the middle: as written.
    for (const std::string kept : {
             "mov %r0, %r1\nrsh %r0, 56\nlsh %r1, 7\nor %r1, %r0\nxor %r0, %r1\nexit",
             "mov %r0, %r1\nrsh %r0, 57\nlsh %r1, 7\nor %r0, %r1\nxor %r0, %r1\nexit",
             "mov %r0, %r1\nrsh32 %r0, 25\nlsh32 %r1, 7\nor32 %r1, %r0\nxor %r0, %r1\nexit",
             "jeq %r1, 3, in\nmov %r0, %r1\nrsh %r0, 57\nin:\nlsh %r1, 7\nor %r1, %r0\nxor %r0, %r1\nexit",
         }) {
        EXPECT_EQ(count_mnemonic(host_body(kept), "rol"), 0u) << kept;
        expect_same_as_interpreter(kept, values);
    }
}

// ---- Checked mode: accesses through one base share one check (src/jit/check_groups.hpp).

/// The inline access checks of the checked code of `text`: each has one frame test, which starts
/// with the address relative to the frame (x86-64: `lea r10, [r11 + 0x200]`, from the frame's
/// bottom; arm64: `sub x10, x25, x9`, from r10).
size_t inline_checks(const std::string& text) {
    const bool x86 = jit::host_arch() == jit::Arch::X86_64;
    return count_mnemonic(host_body(text, true), x86 ? "lea r10, [r11 + 0x200]" : "sub x10, x25, x9");
}

TEST(Codegen, AccessesThroughOneBaseShareOneCheck) {
    if (host_body("exit").empty()) GTEST_SKIP() << "built without capstone";
    // Loads and stores through r4 = buffer + r3 spanning at most 8 bytes, with arithmetic, frame
    // accesses and accesses through another pointer between them: one check for r4's, plus one
    // for each other access. The 16-byte buffer puts a later member (a load, or a store after an
    // earlier store that must stay done) outside first for some r3: the run must trap at that
    // access with the buffer as the interpreter leaves it.
    const std::string head = "mov %r4, %r1\nadd %r4, %r3\n";
    const std::string tail = "add %r0, %r2\nadd %r0, %r5\nexit";
    const std::vector<std::pair<std::string, size_t>> shared = {
        {head + "ldxb %r0, [%r4+0]\nadd %r0, 7\nldxh %r2, [%r4+6]\nstxdw [%r10-8], %r2\nmul %r2, 3\n"
                "ldxw %r5, [%r4+2]\n" + tail, 1},
        {head + "ldxb %r0, [%r4+0]\nldxw %r5, [%r4+2]\nlsh %r5, 1\nldxh %r2, [%r4+6]\n" + tail, 1},
        // The last member may load into the base.
        {head + "ldxb %r0, [%r4+3]\nldxb %r2, [%r4+1]\nldxh %r4, [%r4+0]\nmov %r5, %r4\n" + tail, 1},
        // Counters updated in place, the second store furthest: it traps after the first is done.
        {head + "ldxb %r0, [%r4+0]\nadd %r0, 1\nstxb [%r4+0], %r0\nldxh %r2, [%r4+6]\nadd %r2, 1\n"
                "stxh [%r4+6], %r2\nmov %r5, 0\n" + tail, 1},
        {head + "stb [%r4+1], 1\nsth [%r4+2], 2\nstw [%r4+4], 3\nldxdw %r0, [%r4+0]\nmov %r2, 0\nmov %r5, 0\n" +
             tail, 1},
        // Another pointer's accesses between: checked on their own.
        {head + "ldxb %r0, [%r4+0]\nstb [%r1+1], 9\nldxh %r2, [%r4+6]\nmov %r5, 1\n" + tail, 2},
        {head + "ldxb %r0, [%r4+0]\nldxb %r5, [%r1+1]\nldxh %r2, [%r4+6]\n" + tail, 2},
        {head + "ldxb %r0, [%r4+0]\nldxb %r2, [%r4+8]\nldxb %r5, [%r4+4]\n" + tail, 2},  // +8: past the span
    };
    // Each also runs after a load through r1 that fills the region cache, so that the shared
    // check passes inline (a run starts with the cache empty: the first check of a run always
    // takes the out-of-line path).
    const std::string warm = "ldxb %r7, [%r1+15]\n";
    const std::vector<uint64_t> inside = {0, 5, 7}, outside = {8, 9, 10, 11, 13, 14, 15, 16, 40};
    for (const auto& [text, checks] : shared) {
        EXPECT_EQ(inline_checks(text), checks) << text;
        for (const std::string& run : {text, warm + text}) {
            expect_same_on_buffer(run, inside);
            expect_same_on_buffer(run, outside, true);
        }
    }
    // A member below the lead: the span starts at the lowest offset (r3 = 0 and 1 put the second
    // load before the buffer).
    const std::string below =
        "mov %r4, %r1\nadd %r4, %r3\nsub %r4, 2\nldxb %r0, [%r4+4]\nldxb %r2, [%r4+0]\nmov %r5, 0\n" + tail;
    EXPECT_EQ(inline_checks(below), 1u);
    expect_same_on_buffer(warm + below, {0, 1, 2, 3}, true);
    // A span across the top of the frame: the second load is above it (the frame test uses the span).
    const std::string frame_top = "mov %r4, %r10\nadd %r4, -4\nldxw %r0, [%r4+0]\nldxw %r2, [%r4+4]\nexit";
    EXPECT_EQ(inline_checks(frame_top), 1u);
    expect_same_on_buffer(frame_top, {0}, true);
    // Whatever writes the base between two accesses ends the group, each form of write: the
    // accesses keep their own checks. The new base is no pointer into the buffer: checked mode
    // only (the atomics work on the frame, so that no pointer lands in the compared buffer).
    for (const std::string writer : {"lock fetch add [%r10-8], %r4", "lock xchg [%r10-8], %r4", "ldacqdw %r4, [%r10-8]",
                                     "lddw %r4, 0", "movsx864 %r4, %r4", "be16 %r4"}) {
        const std::string text = head + "stdw [%r10-8], 3\nldxb %r0, [%r4+0]\n" + writer +
                                 "\nldxh %r2, [%r4+6]\nmov %r5, 0\n" + tail;
        EXPECT_EQ(inline_checks(text), 2u) << text;
        expect_same_on_buffer(warm + text, {0, 5}, true);
    }
    const std::string cmpxchg = "mov %r0, %r1\nadd %r0, %r3\nldxb %r2, [%r0+0]\nmov %r5, 0\nlock cmpxchg [%r1+8], %r5\n"
                                "ldxb %r5, [%r0+1]\nmov %r0, %r2\nadd %r0, %r5\nexit";  // cmpxchg writes r0, the base
    EXPECT_EQ(inline_checks(cmpxchg), 3u);
    expect_same_on_buffer(warm + cmpxchg, {0, 5}, true);
    // A conditional jump, a jump target, or a write to the base between two accesses: each keeps
    // its own check.
    const std::vector<std::string> separate = {
        head + "ldxb %r0, [%r4+0]\njgt %r0, 5, out\nldxh %r2, [%r4+6]\nout:\nmov %r5, 1\n" + tail,
        head + "ldxb %r0, [%r4+0]\njgt %r3, 5, in\nmov %r2, 1\nin:\nldxh %r2, [%r4+6]\nmov %r5, 1\n" + tail,
        head + "ldxb %r0, [%r4+0]\nadd %r4, 1\nldxh %r2, [%r4+6]\nmov %r5, 1\n" + tail,
        head + "stb [%r4+0], 1\nmov %r2, 0\ncall local f\nstb [%r4+1], 2\nmov %r0, 0\nmov %r5, 0\n" + tail +
            "\nf:\nmov %r0, 0\nexit",
    };
    for (const std::string& text : separate) {
        EXPECT_EQ(inline_checks(text), 2u) << text;
        for (const std::string& run : {text, warm + text}) {
            expect_same_on_buffer(run, inside);
            expect_same_on_buffer(run, outside, true);
        }
    }
}

TEST(Codegen, SharedCheckOfAStoreTestsForWriting) {
    // A load and a store through one pointer into a read-only region, the read cache filled first:
    // the span passes for reading but not for writing, and the store traps, the memory unchanged.
    const Program program = assemble_program("ldxb %r6, [%r1+15]\nldxb %r0, [%r1+0]\nstb [%r1+1], 7\nexit");
    for (bool jit : {true, false}) {
        std::vector<uint8_t> buffer(16, 0x5a);
        const auto begin = reinterpret_cast<uint64_t>(buffer.data());
        auto exe = jit ? jit::compile(program, no_helpers(), EngineOptions{})
                       : interp::prepare(program, no_helpers(), EngineOptions{});
        ASSERT_TRUE(exe.has_value()) << exe.error().to_string();
        RunContext ctx;
        ctx.regions.push_back({begin, begin + 16, false});
        const RunResult r = (*exe)->run(ctx, begin);
        EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
        EXPECT_EQ(r.trap.pc, 2u);
        EXPECT_EQ(r.trap.addr, begin + 1);
        EXPECT_TRUE(r.trap.write);
        EXPECT_EQ(buffer, std::vector<uint8_t>(16, 0x5a));
    }
}

TEST(Codegen, SharedCheckAcrossTwoRegionsChecksEachLoad) {
    // Two loads whose span crosses from one region into the next: the span is in neither, each
    // load is in one. The group's slow path checks them one by one and lets the run go on.
    const Program program = assemble_program("ldxw %r0, [%r1+4]\nldxw %r2, [%r1+8]\nadd %r0, %r2\nexit");
    std::vector<uint8_t> buffer(16);
    for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<uint8_t>(i + 1);
    const auto begin = reinterpret_cast<uint64_t>(buffer.data());
    for (bool split : {true, false}) {
        auto jit = jit::compile(program, no_helpers(), EngineOptions{});
        ASSERT_TRUE(jit.has_value()) << jit.error().to_string();
        RunContext ctx;
        if (split) {
            ctx.regions.push_back({begin, begin + 8, true});
            ctx.regions.push_back({begin + 8, begin + 16, true});
        } else {
            ctx.regions.push_back({begin + 8, begin + 16, true});  // the first load is outside
        }
        const RunResult r = (*jit)->run(ctx, begin);
        if (split) {
            EXPECT_EQ(r.trap.kind, TrapKind::None);
            EXPECT_EQ(r.r0, 0x08070605u + 0x0c0b0a09u);
        } else {
            EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
            EXPECT_EQ(r.trap.pc, 0u);
            EXPECT_EQ(r.trap.addr, begin + 4);
            EXPECT_EQ(r.trap.size, 4u);
        }
    }
}

}  // namespace
}  // namespace bpfvm
