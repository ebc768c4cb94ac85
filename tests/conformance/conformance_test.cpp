// The public BPF conformance suite (BPFVM_SHARED_DIR/conformance): every test file on every available
// engine, the negative files, and the assembler on every `-- asm` section.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "bpfvm/runners/conformance.hpp"

namespace bpfvm {
namespace {

const std::string kTestsDir = std::string(BPFVM_SHARED_DIR) + "/conformance/tests";
const std::string kNegativeDir = std::string(BPFVM_SHARED_DIR) + "/conformance/negative";

/// The files of `dir`, or one empty entry (reported as a skip) when the suite is not there.
std::vector<std::string> files_or_placeholder(const std::string& dir) {
    auto files = list_conformance_files(dir);
    if (!files || files->empty()) return {""};
    return *files;
}

std::vector<EngineKind> engines() {
    std::vector<EngineKind> out{EngineKind::Interp};
    if (parse_engine("jit")) out.push_back(EngineKind::Jit);
    return out;
}

const char* engine_name(EngineKind engine) {
    switch (engine) {
        case EngineKind::Interp: return "interp";
        case EngineKind::Jit: return "jit";
    }
    return "?";
}

using Param = std::tuple<std::string, EngineKind>;

class ConformanceSuite : public ::testing::TestWithParam<Param> {};

TEST_P(ConformanceSuite, Passes) {
    const auto& [path, engine] = GetParam();
    if (path.empty()) GTEST_SKIP() << "conformance suite not found at " << kTestsDir << " (set BPFVM_SHARED_DIR)";
    const ConformanceReport report = run_conformance_file(path, engine);
    EXPECT_EQ(report.outcome, ConformanceOutcome::Pass) << path << " on " << engine_name(engine) << ": " << report.reason;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
    std::string name = std::filesystem::path(std::get<0>(info.param)).stem().string();
    if (name.empty()) name = "suite_missing";
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return name + "_" + engine_name(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Files, ConformanceSuite,
                         ::testing::Combine(::testing::ValuesIn(files_or_placeholder(kTestsDir)),
                                            ::testing::ValuesIn(engines())),
                         param_name);

TEST(ConformanceSuiteFiles, AllAssembleAndDecode) {
    auto files = list_conformance_files(kTestsDir);
    if (!files || files->empty()) GTEST_SKIP() << "conformance suite not found at " << kTestsDir;
    EXPECT_EQ(files->size(), 313u);
    for (const auto& file : *files) {
        auto test = load_conformance_test(file);
        ASSERT_TRUE(test.has_value()) << test.error().to_string();
        EXPECT_TRUE(test->has_asm) << file;
        EXPECT_TRUE(test->result.has_value()) << file;
        auto program = decode_program(std::span<const RawInsn>(test->program));
        ASSERT_TRUE(program.has_value()) << file << ": " << program.error().to_string();
        // decode -> encode gives back the assembled bytes, jump offsets included.
        const auto again = encode_program(*program);
        ASSERT_EQ(again.size(), test->program.size()) << file;
        EXPECT_EQ(std::memcmp(again.data(), test->program.data(), again.size() * sizeof(RawInsn)), 0) << file;
    }
}

TEST(ConformanceNegative, NoneMayPass) {
    auto files = list_conformance_files(kNegativeDir);
    if (!files || files->empty()) GTEST_SKIP() << "negative conformance files not found at " << kNegativeDir;
    size_t failed = 0, skipped = 0;
    for (const auto& engine : engines()) {
        failed = skipped = 0;
        for (const auto& file : *files) {
            const ConformanceReport report = run_conformance_file(file, engine);
            EXPECT_NE(report.outcome, ConformanceOutcome::Pass) << file;
            const bool unused = report.name.rfind("unused-", 0) == 0;
            // The unused-field files carry an empty `-- error`: skipped, like the reference runner.
            EXPECT_EQ(report.outcome == ConformanceOutcome::Skip, unused) << file << ": " << report.reason;
            failed += report.outcome == ConformanceOutcome::Fail;
            skipped += report.outcome == ConformanceOutcome::Skip;
        }
        EXPECT_EQ(failed, 15u) << engine_name(engine);
        EXPECT_EQ(skipped, 45u) << engine_name(engine);
    }
}

TEST(ConformanceNegative, ExactReasons) {
    if (!std::filesystem::exists(kNegativeDir)) GTEST_SKIP() << "negative conformance files not found at " << kNegativeDir;
    const std::pair<const char*, const char*> expected[] = {
        {"empty", "no -- result or -- error section"},
        {"empty_instructions", "no program (no instructions in -- asm or -- raw)"},
        {"incorrect_return_value_high_bits", "r0 = 0x8877665544332211, expected 0x8977665544332211"},
        {"invalid_imm32_dec_range", "line 5: immediate 2147483648 does not fit in 32 bits"},
        {"invalid_imm32_hex_range", "line 5: immediate 0x100000000 does not fit in 32 bits"},
        {"invalid_label", "line 4: unknown label 'NOT_A_LABEL'"},
        {"invalid_lock", "line 4: invalid number of operands for 'lock or': expected 2 (memory, register), got 1"},
        {"invalid_mnemonic", "line 5: unknown mnemonic 'ldxq'"},
        {"invalid_offset", "line 4: ldxb: expected a memory operand like [%r1+4], got '%r1'"},
        {"invalid_offset_range", "line 5: offset +0x10000 does not fit in 16 bits"},
        {"invalid_operand_count",
         "line 4: invalid number of operands for 'lddw': expected 2 (register, 64-bit immediate), got 1"},
        {"invalid_register", "line 4: invalid register '%r50' (registers are %r0 to %r10)"},
        {"invalid_unknown_directive", "line 4: unknown directive '-- Unknown directive'"},
        {"unused-exit-imm", "empty -- error section and no -- result (nothing to check)"},
    };
    for (const auto& [name, reason] : expected) {
        const ConformanceReport report = run_conformance_file(kNegativeDir + "/" + name + ".data", EngineKind::Interp);
        EXPECT_EQ(report.reason, reason) << name;
    }
    // `or %r0, %r10` runs (r0 = the frame pointer) although the file expects an error.
    const ConformanceReport report = run_conformance_file(kNegativeDir + "/error.data", EngineKind::Interp);
    EXPECT_EQ(report.outcome, ConformanceOutcome::Fail);
    EXPECT_EQ(report.reason.rfind("expected an error (Invalid) but the program returned 0x", 0), 0u) << report.reason;
}

}  // namespace
}  // namespace bpfvm
