// The `.data` parser and the runner of conformance.hpp on small inline files, and the CLI's
// conformance and plugin modes when the bpfvm binary has been built.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "bpfvm/runners/conformance.hpp"

namespace bpfvm {
namespace {

std::string parse_error(std::string_view text) {
    auto test = parse_conformance_test(text, "t");
    return test ? "parsed" : test.error().to_string();
}

ConformanceReport run_text(std::string_view text) {
    auto test = parse_conformance_test(text, "t");
    if (!test) return {"t", ConformanceOutcome::Fail, "parse: " + test.error().to_string()};
    return run_conformance_test(*test, EngineKind::Interp);
}

TEST(ConformanceParse, Sections) {
    auto test = parse_conformance_test(
        "# comment\n-- asm\nmov %r0, %r2 # length\nexit\n-- mem\naa bb\n0c\n-- c\nint x--;\n-- result\n0x3\n", "mem");
    ASSERT_TRUE(test.has_value()) << test.error().to_string();
    EXPECT_EQ(test->name, "mem");
    EXPECT_EQ(test->program.size(), 2u);
    EXPECT_EQ(test->memory, (std::vector<uint8_t>{0xaa, 0xbb, 0x0c}));
    EXPECT_EQ(test->result, 3u);
    EXPECT_FALSE(test->error.has_value());
    EXPECT_TRUE(test->has_asm);
    EXPECT_FALSE(test->has_raw);
}

TEST(ConformanceParse, RawForms) {
    // Slot words (lddw.data) and byte tokens (the unused-* files) give the same bytes.
    auto words = parse_conformance_test("-- raw\n0x00000001000000b7\n0x0000000000000095\n-- result\n1\n", "w");
    auto bytes = parse_conformance_test("-- raw\nb7 00 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- result\n1\n", "b");
    ASSERT_TRUE(words.has_value()) << words.error().to_string();
    ASSERT_TRUE(bytes.has_value()) << bytes.error().to_string();
    ASSERT_EQ(words->program.size(), 2u);
    EXPECT_EQ(std::memcmp(words->program.data(), bytes->program.data(), 16), 0);
    EXPECT_EQ(words->program[0].imm(), 1);
    // -- asm and -- raw together must agree.
    EXPECT_EQ(parse_error("-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000001000000b7\n0x0000000000000095\n"), "parsed");
    EXPECT_EQ(parse_error("-- asm\nmov %r0, 2\nexit\n-- raw\n0x00000001000000b7\n0x0000000000000095\n"),
              "line 4: -- asm and -- raw differ at slot 0: b7 00 00 00 02 00 00 00 vs b7 00 00 00 01 00 00 00");
    EXPECT_EQ(parse_error("-- asm\nexit\n-- raw\n0x00000001000000b7\n0x0000000000000095\n"),
              "line 3: -- asm assembles to 1 instructions but -- raw has 2");
}

TEST(ConformanceParse, Errors) {
    EXPECT_EQ(parse_error("-- asm\nexit\n-- bogus\n"), "line 3: unknown directive '-- bogus'");
    EXPECT_EQ(parse_error("-- asm\nexit\nfoo %r0\n"), "line 3: unknown mnemonic 'foo'");
    EXPECT_EQ(parse_error("-- result\n0x1\n0x2\n"), "line 3: -- result: more than one value");
    EXPECT_EQ(parse_error("-- result\n0xzz\n"), "line 2: -- result: invalid value '0xzz' (expected 0x... or a decimal number)");
    EXPECT_EQ(parse_error("-- mem\nag\n"), "line 2: -- mem: invalid hex byte 'ag'");
    EXPECT_EQ(parse_error("-- raw\nb7 00 00\n"), "line 1: -- raw: 3 bytes is not a whole number of 8-byte instructions");
    EXPECT_EQ(parse_error("-- raw\nb7 xyz\n"),
              "line 2: -- raw: invalid token 'xyz' (expected hex bytes like 'b7' or slot words like '0x00000001000000b7')");
    EXPECT_EQ(parse_error("mov %r0, 1\n"), "line 1: text outside any section: 'mov %r0, 1'");
    EXPECT_EQ(parse_error("# only comments\n\n"), "parsed");
}

TEST(ConformanceParse, HexBytes) {
    EXPECT_EQ(*parse_hex_bytes("aa  bb  0c  "), (std::vector<uint8_t>{0xaa, 0xbb, 0x0c}));
    EXPECT_EQ(*parse_hex_bytes("0xff 1 aabbcc"), (std::vector<uint8_t>{0xff, 0x01, 0xaa, 0xbb, 0xcc}));
    EXPECT_EQ(parse_hex_bytes("").value().size(), 0u);
    EXPECT_EQ(parse_hex_bytes("abc").error().message, "invalid hex byte 'abc' (odd number of digits)");
    EXPECT_EQ(parse_hex_bytes("g0").error().message, "invalid hex byte 'g0'");
}

TEST(ConformanceRun, Outcomes) {
    EXPECT_EQ(run_text("-- asm\nmov %r0, %r2\nexit\n-- mem\n01 02 03\n-- result\n3\n").outcome, ConformanceOutcome::Pass);
    // All 64 bits count.
    auto r = run_text("-- asm\nlddw %r0, 0x100000001\nexit\n-- result\n0x1\n");
    EXPECT_EQ(r.outcome, ConformanceOutcome::Fail);
    EXPECT_EQ(r.reason, "r0 = 0x100000001, expected 0x1");
    // The input memory is writable and r1 points at it.
    EXPECT_EQ(run_text("-- asm\nstb [%r1+1], 7\nldxb %r0, [%r1+1]\nexit\n-- mem\n00 00\n-- result\n7\n").outcome,
              ConformanceOutcome::Pass);
    // Helper 5 returns its first argument; other helpers are unknown.
    EXPECT_EQ(run_text("-- asm\nmov %r1, 42\ncall 5\nexit\n-- result\n42\n").outcome, ConformanceOutcome::Pass);
    r = run_text("-- asm\ncall 6\nexit\n-- result\n0\n");
    EXPECT_EQ(r.outcome, ConformanceOutcome::Fail);
    EXPECT_NE(r.reason.find("insn 0"), std::string::npos) << r.reason;
    // An expected error is met by a trap ...
    r = run_text("-- asm\nldxw %r0, [%r1+100]\nexit\n-- mem\n00\n-- error\nout of bounds\n");
    EXPECT_EQ(r.outcome, ConformanceOutcome::Pass) << r.reason;
    // ... or by a decoder rejection, but not by a normal return.
    EXPECT_EQ(run_text("-- raw\n07 00 01 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- error\nbad\n").outcome,
              ConformanceOutcome::Pass);
    r = run_text("-- asm\nmov %r0, 1\nexit\n-- error\nInvalid\n");
    EXPECT_EQ(r.outcome, ConformanceOutcome::Fail);
    EXPECT_EQ(r.reason, "expected an error (Invalid) but the program returned 0x1");
    // Empty -- error without -- result: skipped.
    EXPECT_EQ(run_text("-- raw\n95 00 00 00 00 00 00 01\n-- error\n").outcome, ConformanceOutcome::Skip);
    // Runaway loops stop at the instruction budget.
    r = run_text("-- asm\nja -1\n-- result\n0\n");
    EXPECT_EQ(r.outcome, ConformanceOutcome::Fail);
    EXPECT_NE(r.reason.find("budget"), std::string::npos) << r.reason;
}

/// Runs the built CLI with `input` on stdin; returns its stdout and exit status.
std::pair<std::string, int> run_cli(const std::string& args, const std::string& input = "") {
    const std::string command =
        "printf '%s' '" + input + "' | " + std::string(BPFVM_BINARY_DIR) + "/bpfvm " + args + " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return {"", -1};
    std::string out;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    const int status = pclose(pipe);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(ConformanceCli, PluginAndSuiteModes) {
    if (!std::filesystem::exists(std::string(BPFVM_BINARY_DIR) + "/bpfvm")) GTEST_SKIP() << "bpfvm binary not built";
    // Program on stdin, memory in the first argument (as the bpf_conformance runner sends them).
    auto [out, status] = run_cli("conformance --plugin 'aa  bb  cc  ' --engine interp",
                                 "bf 20 00 00 00 00 00 00  95 00 00 00 00 00 00 00");
    if (status == -1) GTEST_SKIP() << "cannot run the shell";
    EXPECT_EQ(status, 0);
    EXPECT_EQ(out, "3\n");
    std::tie(out, status) = run_cli("conformance --plugin", "71 00 00 00 00 00 00 00  95 00 00 00 00 00 00 00");
    EXPECT_EQ(status, 1);  // load through a null r1: error on stderr
    EXPECT_EQ(out, "");
    std::tie(out, status) = run_cli("conformance --plugin --elf");
    EXPECT_EQ(status, 1);

    const auto dir = std::filesystem::temp_directory_path() / ("bpfvm_conformance_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "b_fail.data") << "-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n";
    std::ofstream(dir / "a_pass.data") << "-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n";
    std::ofstream(dir / "c_skip.data") << "-- raw\n95 00 00 00 00 00 00 00\n-- error\n";
    std::tie(out, status) = run_cli("conformance " + dir.string() + " --engine interp");
    EXPECT_EQ(out, "PASS a_pass\nFAIL b_fail: r0 = 0x1, expected 0x2\n"
                   "SKIP c_skip: empty -- error section and no -- result (nothing to check)\n"
                   "1 passed, 1 failed, 1 skipped\n");
    EXPECT_EQ(status, 1);
    std::filesystem::remove(dir / "b_fail.data");
    std::tie(out, status) = run_cli("conformance " + dir.string() + " --engine interp");
    EXPECT_EQ(status, 0);
    std::tie(out, status) = run_cli("conformance /nonexistent/dir");
    EXPECT_EQ(status, 2);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bpfvm
