// The kernel-facing commands as users run them: `bpfvm trace` output (events and BCC-style maps),
// attach until SIGTERM, attach --pin then unload, load of a program the verifier rejects (reason
// and source line), run --kernel, test --also-kernel, and bad input everywhere: a clear message on
// stderr and exit code 2, never a crash.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "bpfvm/kernel.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm::ktest {
namespace {

class Cli : public KernelTest {
protected:
    /// Waits until `child` has printed `text` (up to 20 s).
    static bool wait_for_output(const Background& child, const std::string& text) {
        for (int i = 0; i < 200; ++i) {
            if (child.output().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
};

TEST_F(Cli, TraceOpensnoopPrintsEventsThenTheMaps) {
    BPFVM_REQUIRE_TRACING();
    const std::string path = "/tmp/bpfvm-trace-cli-" + std::to_string(::getpid());
    Background trace({BPFVM_CLI, "trace", tool("opensnoop"), "--duration", "4", "-p", std::to_string(::getpid()),
                      "--name-prefix", prefix_});
    ASSERT_TRUE(wait_for_output(trace, "Hit Ctrl-C to end.")) << trace.output();
    ::close(::open(path.c_str(), O_CREAT | O_WRONLY, 0600));
    ::open("/nonexistent/bpfvm-trace-cli", O_RDONLY);
    ProcessResult r = trace.wait(30);
    ::unlink(path.c_str());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("Tracing tracepoint syscalls/sys_enter_openat, tracepoint syscalls/sys_exit_openat... Hit "
                          "Ctrl-C to end.\n",
                          0),
              0u)
        << r.out;
    EXPECT_NE(r.out.find("pid=" + std::to_string(::getpid())), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" fname=" + path + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" ret=-2 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nopens_total (hash, "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nopen_errors_total (hash, 1 entry):\nKEY  VALUE\n2    "), std::string::npos) << r.out;
}

TEST_F(Cli, TraceRunqlatDrawsTheHistogram) {
    BPFVM_REQUIRE_TRACING();
    ProcessResult r = run_bpfvm({"trace", tool("runqlat"), "-d", "1", "--name-prefix", prefix_}, 30);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(
        r.out.find(
            "\nrunqlat_hist_usecs:\n     usecs               : count    distribution\n         0 -> 1          : "),
        std::string::npos)
        << r.out;
}

TEST_F(Cli, TraceJsonLines) {
    BPFVM_REQUIRE_TRACING();
    Background trace({BPFVM_CLI, "trace", tool("execsnoop"), "--json", "-d", "3", "--name-prefix", prefix_});
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(run_process({"/bin/echo", "bpfvm-json-check"}).exit_code, 0);
    ProcessResult r = trace.wait(30);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.rfind("Tracing tracepoint syscalls/sys_enter_execve... Hit Ctrl-C to end.\n", 0), 0u) << r.err;
    EXPECT_NE(r.out.find("{\"map\":\"events\",\"cpu\":0,\"event\":{\"pid\":"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"filename\":\"/bin/echo\",\"arg1\":\"bpfvm-json-check\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("{\"map\":\"execs_total\",\"type\":\"hash\",\"entries\":[{\"key\":"), std::string::npos)
        << r.out;
}

TEST_F(Cli, AttachHoldsUntilSigtermThenDetaches) {
    BPFVM_REQUIRE_TRACING();
    Background attach({BPFVM_CLI, "attach", tool("execsnoop"), "--name-prefix", prefix_});
    ASSERT_TRUE(wait_for_output(attach, "Hit Ctrl-C to detach.")) << attach.output();
    EXPECT_EQ(programs_named(prefix_).size(), 1u);
    ProcessResult r = attach.stop();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "attached trace_execve: tracepoint syscalls/sys_enter_execve (program id " +
                         r.out.substr(r.out.find("id ") + 3, r.out.find(')') - r.out.find("id ") - 3) +
                         ")\nAttached 1 program. Hit Ctrl-C to detach.\ndetached\n");
}

TEST_F(Cli, AttachPinStaysUntilUnload) {
    BPFVM_REQUIRE_TRACING();
    auto root = kernel::bpffs_root();
    ASSERT_TRUE(root.has_value()) << root.error().to_string();
    const std::string dir = *root + "/" + prefix_ + "pins";
    ProcessResult r = run_bpfvm({"attach", tool("execsnoop"), "--pin", dir, "--name-prefix", prefix_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("pinned under " + dir + " (links/, programs/, maps/): the programs stay attached"),
              std::string::npos);
    EXPECT_EQ(programs_named(prefix_).size(), 1u) << "the pinned link should keep the program attached";
    r = run_bpfvm({"maps", "--pinned", dir});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("\nexecs_total (hash, "), std::string::npos) << r.out;
    r = run_bpfvm({"unload", dir});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "unpinned 1 links, 1 programs, 3 maps; removed " + dir + "\n");
}

TEST_F(Cli, LoadShowsWhyTheVerifierRejects) {
    BPFVM_REQUIRE_KERNEL();
    ProcessResult r = run_bpfvm({"load", fixture("rejected"), "--name-prefix", prefix_});
    EXPECT_EQ(r.exit_code, 1);
    const std::string head = "bpfvm load: " + fixture("rejected") +
                             ": reads_a_number_as_pointer: insn 1: BPF_PROG_LOAD of socket_filter program: Permission "
                             "denied (EACCES): R1 invalid mem access 'scalar'\nverifier log (last lines):\n";
    EXPECT_EQ(r.err.rfind(head, 0), 0u) << r.err;
    EXPECT_NE(r.err.find("\n  at "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("rejected.bpf.c:9:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("return *p;"), std::string::npos) << r.err;
}

TEST_F(Cli, RunKernelAndTestAlsoKernel) {
    BPFVM_REQUIRE_KERNEL();
    const std::string frame = "ffffffffffff 020000000001 0800 4500001c 00000000 4011 0000 0a000001 0a000002";
    ProcessResult r =
        run_bpfvm({"run", example("xdp_counter"), "--program", "xdp_count", "--data-hex", frame, "--kernel"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("retval: 2 (0x2)\n", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(" ns per run (1 run, kernel)\n"), std::string::npos) << r.out;
    r = run_bpfvm({"run", example("xdp_counter"), "--program", "xdp_count", "--data-hex", "ffff", "--kernel"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              "bpfvm run: " + example("xdp_counter") + ": xdp_count: BPF_PROG_TEST_RUN: Invalid argument (EINVAL)\n");
    r = run_bpfvm({"test", std::string(BPFVM_EXAMPLES_BUILD_DIR) + "/xdp_counter.test.json", "--also-kernel"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("PASS counts one UDP packet and passes it [same as the kernel (retval, data, "),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find(" passed, 0 failed; "), std::string::npos) << r.out;
}

TEST_F(Cli, BadInputGetsAClearErrorAndExitCodeTwo) {
    BPFVM_REQUIRE_KERNEL();
    struct Case {
        std::vector<std::string> args;
        std::string err;
    };
    const std::string target = std::string(BPFVM_TOOLS_BUILD_DIR) + "/uprobe_target";
    const std::vector<Case> cases = {
        {{"trace", "/nonexistent/x.bpf.o"},
         "bpfvm trace: /nonexistent/x.bpf.o: cannot open: No such file or directory\n"},
        {{"load", "/nonexistent/x.bpf.o"}, "bpfvm load: /nonexistent/x.bpf.o: cannot open: No such file or directory\n"},
        {{"attach", tool("execsnoop"), "--program", "nope"},
         "bpfvm attach: " + tool("execsnoop") + ": no program 'nope' (programs: trace_execve)\n"},
        {{"attach", example("xdp_counter"), "--interface", "nosuchif0"},
         "bpfvm attach: " + example("xdp_counter") + ": xdp_count (section 'xdp'): no network interface 'nosuchif0'\n"},
        {{"trace", tool("uprobe_count"), "--uprobe", target},
         "bpfvm trace: " + tool("uprobe_count") + ": count_calls (section 'uprobe'): uprobe target '" + target +
             "': expected BINARY:SYMBOL[+OFFSET], e.g. /bin/bash:readline\n"},
        {{"trace", tool("uprobe_count"), "--uprobe", target + ":bpfvm_traced_call+x"},
         "bpfvm trace: " + tool("uprobe_count") + ": count_calls (section 'uprobe'): uprobe target '" + target +
             ":bpfvm_traced_call+x': bad offset 'x' (decimal or 0x hex)\n"},
        {{"trace", tool("uprobe_count"), "--uprobe", "/nonexistent/bin:f"},
         "bpfvm trace: " + tool("uprobe_count") +
             ": count_calls (section 'uprobe'): uprobe target '/nonexistent/bin:f': no file '/nonexistent/bin'\n"},
        {{"trace", tool("opensnoop"), "--event-type", "events=nope"},
         "bpfvm trace: --event-type events=nope: no struct 'nope' in the BTF of " + tool("opensnoop") + "\n"},
        {{"trace", tool("opensnoop"), "--hist", "opens_total=log3"},
         "bpfvm trace: --hist opens_total=log3: expected log2 or linear:STEP, not 'log3'\n"},
        {{"trace", tool("opensnoop"), "--set", "targ_tgid=abc"},
         "bpfvm trace: --set targ_tgid=abc: 'abc' is not an integer\n"},
        {{"trace", tool("opensnoop"), "--set", "nope=1"},
         "bpfvm trace: no global variable 'nope' in " + tool("opensnoop") + "\n"},
        {{"maps", "--pinned", "/tmp"}, "bpfvm maps: /tmp is not on a bpffs mount\n"},
        {{"maps"}, "bpfvm maps: give either OBJ or --pinned PATH\n"},
        {{"unload", "/nonexistent/pins"}, "bpfvm unload: /nonexistent/pins: no such directory\n"},
        {{"unload", "/tmp"}, "bpfvm unload: /tmp is not on a bpffs mount: nothing bpfvm pinned lives there\n"},
        {{"run", "--raw", target, "--kernel"}, "bpfvm run: --kernel runs object files, not raw bytecode\n"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = c.args;
        if (args[0] != "maps" && args[0] != "unload" && args[0] != "run") {
            args.push_back("--name-prefix");
            args.push_back(prefix_);
        }
        ProcessResult r = run_bpfvm(args, 30);
        EXPECT_EQ(r.exit_code, 2) << testing::PrintToString(c.args) << "\n" << r.err;
        EXPECT_EQ(r.err, c.err) << testing::PrintToString(c.args);
    }
}

}  // namespace
}  // namespace bpfvm::ktest
