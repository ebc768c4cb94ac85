// The example tools loaded into the running kernel, attached where their sections say, triggered
// by this test (opening files, exec'ing a process, calling the probed function, sleeping), and the
// events and map values checked. Each test uses its own kernel-visible name prefix and checks
// afterwards that none of its programs is still loaded.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bpfvm/metrics.hpp"
#include "bpfvm/session.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm::ktest {
namespace {

using observe::EventFormatter;
using observe::Session;
using observe::SessionOptions;

class ToolsInKernel : public KernelTest {
protected:
    SessionOptions options() const {
        SessionOptions o;
        o.kernel_options.name_prefix = prefix_;
        return o;
    }
};

/// Polls `stream` until `done` says so or `seconds` pass; returns the formatted event lines.
std::vector<std::string> collect_events(kernel::EventStream& stream, const EventFormatter& fmt, double seconds,
                                        const std::function<bool(const std::vector<std::string>&)>& done) {
    std::vector<std::string> lines;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end && !done(lines)) {
        auto n = stream.poll(100, [&](const kernel::EventRecord& r) { lines.push_back(fmt.format(r, false)); });
        EXPECT_TRUE(n.has_value()) << n.error().to_string();
    }
    return lines;
}

bool has_line_with(const std::vector<std::string>& lines, const std::vector<std::string>& parts) {
    for (const auto& line : lines) {
        bool all = true;
        for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
        if (all) return true;
    }
    return false;
}

uint64_t value_of(const observe::MapSnapshot& snap, std::span<const uint8_t> key) {
    for (size_t i = 0; i < snap.entries.size(); ++i)
        if (std::equal(key.begin(), key.end(), snap.entries[i].first.begin(), snap.entries[i].first.end()))
            return snap.integer_value(i).value_or(0);
    return 0;
}

template <class T>
std::span<const uint8_t> bytes_of(const T& v) {
    return {reinterpret_cast<const uint8_t*>(&v), sizeof(T)};
}

uint64_t histogram_total(const observe::MapSnapshot& snap) {
    uint64_t total = 0;
    for (size_t i = 0; i < snap.entries.size(); ++i) total += snap.integer_value(i).value_or(0);
    return total;
}

TEST_F(ToolsInKernel, OpensnoopReportsOurOpensWithFilenameAndErrno) {
    BPFVM_REQUIRE_TRACING();
    const std::string path = "/tmp/bpfvm-opensnoop-" + std::to_string(::getpid());
    {
        SessionOptions o = options();
        o.pid = ::getpid();  // targ_tgid: only this process
        auto s = Session::open(tool("opensnoop"), o);
        ASSERT_TRUE(s.has_value()) << s.error().to_string();
        ASSERT_EQ((*s)->programs().size(), 2u);
        EXPECT_EQ((*s)->programs()[0].attachment, "tracepoint syscalls/sys_enter_openat");
        auto events = (*s)->open_events();
        ASSERT_TRUE(events.has_value()) << events.error().to_string();
        EventFormatter fmt((*s)->object());

        const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
        ASSERT_GE(fd, 0);
        ::close(fd);
        EXPECT_LT(::open("/nonexistent/bpfvm-opensnoop", O_RDONLY), 0);
        const std::string pid = "pid=" + std::to_string(::getpid());
        auto lines = collect_events(*events, fmt, 5, [&](const std::vector<std::string>& l) {
            return has_line_with(l, {"fname=" + path}) && has_line_with(l, {"fname=/nonexistent/bpfvm-opensnoop"});
        });
        EXPECT_TRUE(has_line_with(lines, {pid, "ret=" + std::to_string(fd), "fname=" + path}))
            << "events seen:\n" << testing::PrintToString(lines);
        EXPECT_TRUE(has_line_with(lines, {pid, "ret=-2", "fname=/nonexistent/bpfvm-opensnoop"}))
            << "events seen:\n" << testing::PrintToString(lines);
        for (const auto& l : lines)
            EXPECT_NE(l.find(pid), std::string::npos) << "targ_tgid let another process through: " << l;

        auto errors = (*s)->snapshot("open_errors_total");
        ASSERT_TRUE(errors.has_value()) << errors.error().to_string();
        EXPECT_GE(value_of(*errors, bytes_of(uint64_t{2})), 1u) << "ENOENT not counted";
        auto opens = (*s)->snapshot("opens_total");
        ASSERT_TRUE(opens.has_value());
        EXPECT_GE(histogram_total(*opens), 2u);
    }
    ::unlink(path.c_str());
}

TEST_F(ToolsInKernel, ExecsnoopReportsTheProgramAndItsArguments) {
    BPFVM_REQUIRE_TRACING();
    auto s = Session::open(tool("execsnoop"), options());
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    auto events = (*s)->open_events();
    ASSERT_TRUE(events.has_value()) << events.error().to_string();
    EventFormatter fmt((*s)->object());
    const std::string marker = "bpfvm-exec-" + std::to_string(::getpid());
    Background child({"/bin/echo", marker, "second"});
    const std::string child_pid = "pid=" + std::to_string(child.pid());
    EXPECT_EQ(child.wait().exit_code, 0);
    auto lines = collect_events(*events, fmt, 5, [&](const auto& l) { return has_line_with(l, {"arg1=" + marker}); });
    EXPECT_TRUE(has_line_with(lines, {child_pid, "filename=/bin/echo", "argc=2", "arg1=" + marker, "arg2=second"}))
        << "no matching event among " << lines.size();
}

TEST_F(ToolsInKernel, RunqlatFillsItsHistogramWhileWeSleep) {
    BPFVM_REQUIRE_TRACING();
    auto s = Session::open(tool("runqlat"), options());
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    ASSERT_EQ((*s)->programs().size(), 3u);
    // Run-queue events: a busy thread per cpu keeps the queues full while this thread sleeps and wakes.
    std::atomic<bool> stop{false};
    std::vector<std::thread> busy;
    for (unsigned i = 0; i < std::max(2u, std::thread::hardware_concurrency()); ++i)
        busy.emplace_back([&] {
            while (!stop) {
            }
        });
    for (int i = 0; i < 50; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    stop = true;
    for (auto& t : busy) t.join();
    auto hist = (*s)->snapshot("runqlat_hist_usecs");
    ASSERT_TRUE(hist.has_value()) << hist.error().to_string();
    EXPECT_GE(histogram_total(*hist), 50u);
    auto sum = (*s)->snapshot("runqlat_usecs_total");
    ASSERT_TRUE(sum.has_value());
    EXPECT_GT(histogram_total(*sum), 0u);
    const std::string text = observe::format_map(*hist);
    EXPECT_NE(text.find("     usecs               : count    distribution\n"), std::string::npos) << text;
}

TEST_F(ToolsInKernel, SyslatCountsOurSyscallsErrorsAndLatency) {
    BPFVM_REQUIRE_TRACING();
    SessionOptions o = options();
    o.pid = ::getpid();
    auto s = Session::open(tool("syslat"), o);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    EXPECT_EQ((*s)->programs()[0].attachment, "raw tracepoint sys_enter");
    for (int i = 0; i < 100; ++i) ::syscall(SYS_getppid);
    for (int i = 0; i < 5; ++i) EXPECT_LT(::open("/nonexistent/bpfvm-syslat", O_RDONLY), 0);
    auto calls = (*s)->snapshot("syscalls_total");
    ASSERT_TRUE(calls.has_value()) << calls.error().to_string();
    EXPECT_GE(value_of(*calls, bytes_of(uint64_t{SYS_getppid})), 100u);
    auto errors = (*s)->snapshot("syscall_errors_total");
    ASSERT_TRUE(errors.has_value());
    EXPECT_GE(value_of(*errors, bytes_of(uint64_t{2})), 5u);
    auto hist = (*s)->snapshot("syscall_latency_hist_usecs");
    ASSERT_TRUE(hist.has_value());
    EXPECT_GE(histogram_total(*hist), 105u);

    auto config = observe::load_metrics_config(std::string(BPFVM_EXAMPLES_SOURCE_DIR) + "/tools/syslat.yaml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    auto text = observe::render_session_metrics(**s, *config);
    ASSERT_TRUE(text.has_value()) << text.error().to_string();
    EXPECT_NE(text->find("ebpf_exporter_syscalls_total{syscall=\"getppid\"} "), std::string::npos) << *text;
    EXPECT_NE(text->find("ebpf_exporter_syscall_errors_total{errno=\"ENOENT\"} "), std::string::npos);
    EXPECT_NE(text->find("ebpf_exporter_syscall_latency_seconds_bucket{le=\"+Inf\"} "), std::string::npos);
}

TEST_F(ToolsInKernel, UprobeCountsEachCallOfTheProbedFunction) {
    BPFVM_REQUIRE_KERNEL();
    const std::string target = std::string(BPFVM_TOOLS_BUILD_DIR) + "/uprobe_target";
    SessionOptions o = options();
    o.attach_options.uprobe = target + ":bpfvm_traced_call";
    auto s = Session::open(tool("uprobe_count"), o);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    EXPECT_EQ((*s)->programs()[0].attachment, "uprobe " + target + ":bpfvm_traced_call");
    Background child({target, "7"});
    const uint32_t pid = static_cast<uint32_t>(child.pid());
    ProcessResult r = child.wait();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "called bpfvm_traced_call 7 times (sum 28)\n");
    auto calls = (*s)->snapshot("calls_total");
    ASSERT_TRUE(calls.has_value()) << calls.error().to_string();
    EXPECT_EQ(value_of(*calls, bytes_of(pid)), 7u);
}

TEST_F(ToolsInKernel, PerfEventArrayRecordsReachThePerfBuffer) {
    BPFVM_REQUIRE_TRACING();
    SessionOptions o = options();
    o.programs = {"on_getppid"};
    o.pid = ::getpid();
    auto s = Session::open(fixture("probes"), o);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    auto events = (*s)->open_events();
    ASSERT_TRUE(events.has_value()) << events.error().to_string();
    EventFormatter fmt((*s)->object());
    for (int i = 0; i < 5; ++i) ::syscall(SYS_getppid);
    auto lines = collect_events(*events, fmt, 5, [](const auto& l) { return l.size() >= 5; });
    ASSERT_EQ(lines.size(), 5u);
    std::sort(lines.begin(), lines.end());  // each cpu has its own ring: order across cpus is not kept
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(lines[static_cast<size_t>(i)], "pid=" + std::to_string(::getpid()) + " seq=" + std::to_string(i));
    EXPECT_EQ(events->lost(), 0u);
}

TEST_F(ToolsInKernel, FentryRunsOnTheKernelFunction) {
    BPFVM_REQUIRE_KERNEL();
    SessionOptions o = options();
    o.programs = {"on_unlink_fentry"};
    auto s = Session::open(fixture("probes"), o);
    if (!s &&
        (s.error().message.find("BPF trampolines") != std::string::npos || s.error().code == ErrorCode::kPermission))
        GTEST_SKIP() << "this kernel does not let us attach fentry programs: " << s.error().to_string();
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    EXPECT_EQ((*s)->programs()[0].attachment, "fentry do_unlinkat");
    const std::string path = "/tmp/bpfvm-fentry-" + std::to_string(::getpid());
    ::close(::open(path.c_str(), O_CREAT | O_WRONLY, 0600));
    ASSERT_EQ(::unlink(path.c_str()), 0);
    auto hits = (*s)->snapshot("hits");
    ASSERT_TRUE(hits.has_value());
    EXPECT_GE(value_of(*hits, bytes_of(uint32_t{1})), 1u);
}

TEST_F(ToolsInKernel, KprobesNameWhatIsMissingWhereTheKernelHasNone) {
    BPFVM_REQUIRE_KERNEL();
    SessionOptions o = options();
    o.programs = {"on_unlink_kprobe"};
    auto s = Session::open(fixture("probes"), o);
    if (::access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0) {
        ASSERT_TRUE(s.has_value()) << s.error().to_string();  // a kernel with kprobes: it attaches
        return;
    }
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(
        s.error().to_string(),
        fixture("probes") +
            ": on_unlink_kprobe (section 'kprobe/do_unlinkat'): kprobe do_unlinkat: this kernel has no kprobes "
            "(CONFIG_KPROBES is off: /sys/bus/event_source/devices/kprobe/type is missing); attach to the function "
            "with fentry/do_unlinkat or use a tracepoint instead");
}

TEST_F(ToolsInKernel, PerfEventSamplesTheCpus) {
    BPFVM_REQUIRE_KERNEL();
    SessionOptions o = options();
    o.programs = {"on_sample"};
    o.attach_options.sample_frequency = 1000;
    auto s = Session::open(fixture("probes"), o);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    EXPECT_NE((*s)->programs()[0].attachment.find("perf_event cpu-clock at 1000 Hz"), std::string::npos);
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    volatile uint64_t spin = 0;
    while (std::chrono::steady_clock::now() < end) spin = spin + 1;
    auto hits = (*s)->snapshot("hits");
    ASSERT_TRUE(hits.has_value());
    EXPECT_GT(value_of(*hits, bytes_of(uint32_t{2})), 10u);
}

TEST_F(ToolsInKernel, AttachErrorsNameTheMissingPiece) {
    BPFVM_REQUIRE_KERNEL();
    SessionOptions o = options();
    auto xdp = Session::open(example("xdp_counter"), o);
    ASSERT_FALSE(xdp.has_value());
    EXPECT_EQ(xdp.error().to_string(),
              example("xdp_counter") + ": xdp_count (section 'xdp'): needs a network interface (--interface NAME)");
    o.attach_options.interface = "nosuchif0";
    xdp = Session::open(example("xdp_counter"), o);
    ASSERT_FALSE(xdp.has_value());
    EXPECT_EQ(xdp.error().to_string(),
              example("xdp_counter") + ": xdp_count (section 'xdp'): no network interface 'nosuchif0'");
    o = options();
    o.attach_options.uprobe = "/etc/passwd:main";
    auto up = Session::open(tool("uprobe_count"), o);
    ASSERT_FALSE(up.has_value());
    EXPECT_EQ(up.error().to_string(), tool("uprobe_count") +
                                          ": count_calls (section 'uprobe'): uprobe target '/etc/passwd:main': "
                                          "/etc/passwd is not an ELF file");
    o.attach_options.uprobe = std::string(BPFVM_TOOLS_BUILD_DIR) + "/uprobe_target:no_such_function";
    up = Session::open(tool("uprobe_count"), o);
    ASSERT_FALSE(up.has_value());
    EXPECT_NE(up.error().message.find("no function 'no_such_function' in the symbol tables of"), std::string::npos)
        << up.error().to_string();
    o.programs = {"no_such_program"};
    up = Session::open(tool("uprobe_count"), o);
    ASSERT_FALSE(up.has_value());
    EXPECT_EQ(up.error().message, tool("uprobe_count") + ": no program 'no_such_program' (programs: count_calls)");
}

}  // namespace
}  // namespace bpfvm::ktest
