// `bpfvm test SPEC --also-kernel`: every example spec (examples/ and examples/tools/) passes with
// every case also run through the kernel's BPF_PROG_TEST_RUN where its program type has one; a
// deliberately wrong expectation fails; and a difference between bpfvm and the kernel is caught
// (syslat's `start` map holds a thread id and a clock reading, which the spec tells the comparison
// to leave out: without that line the comparison must fail).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "bpfvm/runners/spec.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm::ktest {
namespace {

std::vector<std::string> all_specs() {
    std::vector<std::string> specs;
    for (const char* dir : {BPFVM_EXAMPLES_BUILD_DIR, BPFVM_TOOLS_BUILD_DIR}) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir, ec))
            if (e.path().string().ends_with(".test.json")) specs.push_back(e.path().string());
    }
    std::sort(specs.begin(), specs.end());
    return specs;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

SpecOptions with_kernel() {
    SpecOptions o;
    o.also_kernel = true;
    return o;
}

TEST(AlsoKernel, EveryExampleSpecAgreesWithTheKernel) {
    BPFVM_REQUIRE_KERNEL();
    const auto specs = all_specs();
    ASSERT_GE(specs.size(), 13u) << "examples or tools were not built";
    size_t compared = 0;
    for (const auto& path : specs) {
        SCOPED_TRACE(path);
        auto report = run_spec_file(path, with_kernel());
        ASSERT_TRUE(report.has_value()) << report.error().to_string();
        for (const auto& c : report->cases) {
            EXPECT_TRUE(c.passed) << c.name << ": " << testing::PrintToString(c.failures);
            compared += c.kernel.rfind("same as the kernel", 0) == 0 ? 1 : 0;
            std::cout << "[also-kernel] " << std::filesystem::path(path).filename().string() << " / " << c.name << ": "
                      << c.kernel << "\n";
        }
    }
    EXPECT_GE(compared, 30u) << "too few cases reached the kernel";
}

TEST(AlsoKernel, AWrongExpectationFails) {
    BPFVM_REQUIRE_KERNEL();
    const std::string path = std::string(BPFVM_EXAMPLES_BUILD_DIR) + "/xdp_counter.test.json";
    std::string text = read(path);
    const std::string good = "\"retval\": 2";
    const size_t at = text.find(good);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, good.size(), "\"retval\": 3");
    auto report = run_spec_text(text, path, with_kernel());
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    ASSERT_FALSE(report->cases.empty());
    const auto& first = report->cases.front();
    EXPECT_FALSE(first.passed);
    ASSERT_FALSE(first.failures.empty());
    EXPECT_EQ(first.failures.front(), "expected retval 3, got 2");
    // bpfvm and the kernel agree with each other; only the expectation is wrong.
    EXPECT_EQ(first.kernel.rfind("same as the kernel", 0), 0u) << first.kernel;
}

TEST(AlsoKernel, ADifferenceFromTheKernelFails) {
    BPFVM_REQUIRE_KERNEL();
    const std::string path = std::string(BPFVM_TOOLS_BUILD_DIR) + "/syslat.test.json";
    std::string text = read(path);
    const std::string ignore = "\"kernel_ignore_maps\": [\n    \"start\"\n  ],";
    const size_t at = text.find(ignore);
    ASSERT_NE(at, std::string::npos) << "syslat.test.json changed shape";
    text.erase(at, ignore.size());
    auto report = run_spec_text(text, path, with_kernel());
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    const auto& enter = report->cases.front();
    EXPECT_FALSE(enter.passed);
    ASSERT_FALSE(enter.failures.empty());
    // bpfvm runs as thread 0; the kernel runs the program as the calling thread.
    EXPECT_EQ(enter.failures.front().rfind("differs from the kernel: map start key ", 0), 0u) << enter.failures.front();
}

TEST(AlsoKernel, RefusalsAreComparedByErrno) {
    BPFVM_REQUIRE_KERNEL();
    const std::string path = std::string(BPFVM_EXAMPLES_BUILD_DIR) + "/xdp_counter.test.json";
    const std::string spec = R"({"object": "xdp_counter.bpf.o", "cases": [
        {"name": "a 13-byte frame is refused by both", "program": "xdp_count", "data": "ffffffffffff 000000000000 08",
         "expect": {"error": "EINVAL"}},
        {"name": "a context past struct xdp_md must be zero", "program": "xdp_count",
         "data": "ffffffffffff 000000000000 0800", "ctx": "00000000 0e000000 00000000 00000000 00000000 00000000 01",
         "expect": {"error": "E2BIG"}}]})";
    auto report = run_spec_text(spec, path, with_kernel());
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    ASSERT_EQ(report->cases.size(), 2u);
    for (const auto& c : report->cases) {
        EXPECT_TRUE(c.passed) << c.name << ": " << testing::PrintToString(c.failures);
        EXPECT_EQ(c.kernel.rfind("same as the kernel (refused: E", 0), 0u) << c.kernel;
    }
}

}  // namespace
}  // namespace bpfvm::ktest
