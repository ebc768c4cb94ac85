// Shared pieces of the kernel-facing commands; see kernel_common.hpp.
#include "kernel_common.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "bpfvm/kernel.hpp"

namespace bpfvm::cli {
namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

}  // namespace

void add_kernel_options(CLI::App* cmd, KernelCommandOptions& o, bool with_duration) {
    cmd->add_option("OBJ", o.object, "The BPF object file (clang -target bpf)")->required();
    cmd->add_option("--program", o.programs, "Only this program (function or section name); repeatable");
    cmd->add_option("--interface,-i", o.attach.interface, "Network interface for xdp and tc programs");
    cmd->add_option("--uprobe", o.attach.uprobe, "BINARY:SYMBOL[+OFFSET] for uprobe sections that name none");
    cmd->add_option("-p,--pid", o.pid, "Only this process: sets the object's targ_tgid/targ_pid variables, "
                                       "attaches uprobes to it and filters events by their pid/tgid field");
    cmd->add_option("--cgroup", o.attach.cgroup, "cgroup v2 directory for cgroup programs");
    cmd->add_option("--sample-freq", o.attach.sample_frequency, "perf_event programs: samples per second per cpu")
        ->default_val(49);
    cmd->add_flag("--xdp-generic", o.attach.xdp_generic, "Attach XDP in generic (skb) mode, not driver mode");
    cmd->add_option("--set", o.sets,
                    "NAME=INTEGER: set a global variable (.rodata/.data/.bss) before loading; repeatable");
    cmd->add_option("--name-prefix", o.prefix, "Prefix for the kernel-visible program and map names (15 characters)");
    if (with_duration)
        cmd->add_option("--duration,-d", o.duration, "Stop after S seconds (default: at Ctrl-C or SIGTERM)")
            ->check(CLI::NonNegativeNumber);
}

Result<observe::SessionOptions> session_options(const KernelCommandOptions& o, bool attach) {
    observe::SessionOptions s;
    s.programs = o.programs;
    s.attach = attach;
    s.attach_options = o.attach;
    s.pid = o.pid;
    s.kernel_options.name_prefix = o.prefix;
    for (const std::string& set : o.sets) {
        const size_t eq = set.find('=');
        if (eq == std::string::npos || eq == 0)
            return make_error(ErrorCode::kInvalidArgument, "--set " + set + ": expected NAME=INTEGER");
        const std::string text = set.substr(eq + 1);
        const bool negative = !text.empty() && text[0] == '-';
        const bool hex = text.rfind("0x", negative ? 1 : 0) == (negative ? 1u : 0u);
        uint64_t value = 0;
        const char* begin = text.data() + (negative ? 1 : 0) + (hex ? 2 : 0);
        auto r = std::from_chars(begin, text.data() + text.size(), value, hex ? 16 : 10);
        if (begin == text.data() + text.size() || r.ec != std::errc() || r.ptr != text.data() + text.size())
            return make_error(ErrorCode::kInvalidArgument, "--set " + set + ": '" + text + "' is not an integer");
        if (value > (negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX}))
            return make_error(ErrorCode::kInvalidArgument, "--set " + set + ": '" + text + "' is out of range");
        const int64_t v = negative ? static_cast<int64_t>(~value + 1) : static_cast<int64_t>(value);
        s.globals.emplace_back(set.substr(0, eq), v);
    }
    return s;
}

int fail(const char* command, const std::string& message, int code) {
    std::fprintf(stderr, "bpfvm %s: %s\n", command, message.c_str());
    return code;
}

int exit_code_for(const Error& error) { return error.code == ErrorCode::kRejected ? 1 : 2; }

bool require_bpf(const char* command) {
    const kernel::Probe probe = kernel::probe();
    if (probe.usable) return true;
    fail(command, "this process cannot use bpf(): " + probe.reason);
    return false;
}

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a signal interrupts epoll_wait and sleeps
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop != 0; }

void run_until_stopped(double duration, const std::function<bool(int)>& tick) {
    using Clock = std::chrono::steady_clock;
    const auto end =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
    while (!stop_requested()) {
        int timeout = 200;
        if (duration > 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
            if (left <= 0) break;
            timeout = static_cast<int>(std::min<long long>(left, timeout));
        }
        if (!tick(timeout)) break;
    }
}

}  // namespace bpfvm::cli
