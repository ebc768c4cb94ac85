// Shared by the kernel-facing tests: skipping (with the reason) where the kernel cannot be used,
// kernel-visible names unique to each test, the check that nothing a test loaded stays in the
// kernel, paths of the compiled examples, tools and fixtures, and running the bpfvm binary.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace bpfvm::ktest {

/// "" when kernel-facing tests may run here; otherwise why not (a build with BPFVM_KERNEL_TESTS
/// off, such as the sanitizer build, or a process without bpf()).
std::string kernel_unavailable();
/// "" when tracefs is usable (mounting it if needed), else why not.
std::string tracefs_unavailable();

/// Skips the test with the reason when the kernel cannot be used.
#define BPFVM_REQUIRE_KERNEL()                                                        \
    do {                                                                              \
        const std::string why_ = ::bpfvm::ktest::kernel_unavailable();                \
        if (!why_.empty()) GTEST_SKIP() << "kernel-facing test skipped: " << why_;    \
    } while (0)

/// Same, also requiring tracefs (tracepoints).
#define BPFVM_REQUIRE_TRACING()                                                       \
    do {                                                                              \
        BPFVM_REQUIRE_KERNEL();                                                       \
        const std::string why_ = ::bpfvm::ktest::tracefs_unavailable();               \
        if (!why_.empty()) GTEST_SKIP() << "tracing test skipped: " << why_;          \
    } while (0)

/// A prefix for kernel-visible names unique to the running test ("k1a2b3c_"), so that the
/// leftover check sees only this test's programs while other suites run in parallel.
std::string unique_prefix();
/// Names (as the kernel shows them) of the programs currently loaded that start with `prefix`.
std::vector<std::string> programs_named(const std::string& prefix);
/// Fails the current test if programs named `prefix`* are still loaded after up to 5 seconds (the
/// kernel frees programs and links asynchronously once their last reference is gone).
void expect_nothing_left(const std::string& prefix);

/// Base for kernel tests: a unique prefix per test, and the leftover check after the test body.
class KernelTest : public ::testing::Test {
protected:
    void SetUp() override { prefix_ = unique_prefix(); }
    void TearDown() override {
        if (!IsSkipped()) expect_nothing_left(prefix_);
    }
    std::string prefix_;
};

/// build/examples/NAME.bpf.o, build/examples/tools/NAME.bpf.o, build/tests/kernel/bpf/NAME.bpf.o.
std::string example(const std::string& name);
std::string tool(const std::string& name);
std::string fixture(const std::string& name);

/// What a finished child process left.
struct ProcessResult {
    int exit_code = -1;  // -1: killed by a signal or not started
    std::string out;
    std::string err;
};

/// Runs `argv` (argv[0] a path), waits up to `timeout_s` seconds (then SIGKILL), returns its output.
ProcessResult run_process(const std::vector<std::string>& argv, int timeout_s = 60);
/// Runs the bpfvm binary with `args`.
ProcessResult run_bpfvm(const std::vector<std::string>& args, int timeout_s = 60);

/// A child process running in the background with stdout and stderr in temporary files.
class Background {
public:
    explicit Background(const std::vector<std::string>& argv);
    ~Background();  // SIGKILL if still running
    /// SIGTERM, then waits up to `timeout_s` (then SIGKILL); returns the result.
    ProcessResult stop(int timeout_s = 20);
    /// Waits until it exits by itself (up to `timeout_s`, then SIGKILL).
    ProcessResult wait(int timeout_s = 60);
    /// What it has printed to stdout so far.
    std::string output() const;
    /// True while it has not exited.
    bool running() const;
    pid_t pid() const { return pid_; }

private:
    ProcessResult collect(int timeout_s);
    pid_t pid_ = -1;
    std::string out_path_, err_path_;
};

/// A free TCP port on 127.0.0.1 (bound to port 0, read back and released; a small race is accepted
/// in tests).
int free_port();

}  // namespace bpfvm::ktest
