// What the kernel-facing commands (load, attach, trace, maps, serve-metrics) share: the attach
// options, the bpf() privilege check, and waiting for Ctrl-C / SIGTERM / --duration.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "bpfvm/result.hpp"
#include "bpfvm/session.hpp"

namespace bpfvm::cli {

/// Options of the commands that load and attach an object.
struct KernelCommandOptions {
    std::string object;
    std::vector<std::string> programs;  // --program (repeatable)
    kernel::AttachOptions attach;
    int pid = -1;                       // -p/--pid
    std::vector<std::string> sets;      // --set NAME=VALUE
    double duration = 0;                // --duration S (0: until Ctrl-C)
    std::string prefix;                 // --name-prefix (kernel-visible names)
};

/// Adds OBJ, --program, --interface, --uprobe, -p/--pid, --cgroup, --sample-freq, --xdp-generic,
/// --set, --name-prefix and (with `with_duration`) --duration to `cmd`.
void add_kernel_options(CLI::App* cmd, KernelCommandOptions& options, bool with_duration);

/// The session options the command-line options describe; --set values are parsed here
/// (NAME=INTEGER, written in the variable's size; errors name the option).
Result<observe::SessionOptions> session_options(const KernelCommandOptions& options, bool attach);

/// Prints "bpfvm CMD: message" to stderr and returns `code`.
int fail(const char* command, const std::string& message, int code = 2);
/// Exit code for an error: 1 when the kernel's verifier rejected a program, 2 otherwise.
int exit_code_for(const Error& error);

/// False (after printing why) when this process cannot use bpf().
bool require_bpf(const char* command);

/// Installs SIGINT/SIGTERM handlers that make stop_requested() true (and interrupt waits).
void install_stop_handlers();
/// True once SIGINT or SIGTERM arrived.
bool stop_requested();

/// Calls `tick(timeout_ms)` until a stop signal arrives or `duration` seconds pass (0: no limit).
/// `tick` should wait at most timeout_ms (e.g. in epoll); it returns false to end early.
void run_until_stopped(double duration, const std::function<bool(int timeout_ms)>& tick);

}  // namespace bpfvm::cli
