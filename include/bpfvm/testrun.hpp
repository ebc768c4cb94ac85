// Inputs and outputs of a test run: the fields of the kernel's BPF_PROG_TEST_RUN that bpfvm honours,
// plus what userspace can report beyond it (trace output, ring buffer events, redirects).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/vm.hpp"

namespace bpfvm {

/// How a test run checks the program.
enum class RunMode : uint8_t {
    Auto,       // verify first: programs the verifier accepts run unchecked (full speed), others run
                // checked with the first verifier error in TestRunResult::warnings
    Checked,    // bounds checks and the instruction budget, no verification (--no-verify)
    Unchecked,  // no checks at all: only for programs known to be safe (--unchecked)
};

/// Inputs of one test run.
struct TestRunInput {
    // Every member has a default initializer, so `{.data = pkt}` compiles cleanly under -Wextra.
    std::vector<uint8_t> data{};  // packet (xdp, skb types) or memory (r1 = pointer, r2 = length)
    std::vector<uint8_t> ctx{};   // context in: struct xdp_md, struct __sk_buff, u64 args, tracepoint record
    uint32_t repeat = 1;          // runs; 0 counts as 1 (as in the kernel)
    std::optional<EngineKind> engine{};  // default: default_engine()
    RunMode mode = RunMode::Auto; // verification and bounds checks
    uint64_t insn_budget = kDefaultInsnBudget;  // checked mode only; at most kMaxInsnBudget
    /// When set, counts are added here per program name (tail-call targets included); the run
    /// then uses the checked interpreter whatever `engine` and `mode` say.
    std::map<std::string, CoverageCounters>* coverage = nullptr;
};

/// A ring buffer record or a perf event array record produced during a run.
struct RunEvent {
    std::string map;  // name of the ringbuf / perf_event_array map
    uint32_t cpu = 0; // perf_event_array index (0 for ring buffers)
    std::vector<uint8_t> data;
};

/// A redirect the program asked for (bpf_redirect / bpf_redirect_map): recorded, not performed.
struct RedirectRecord {
    std::string helper;   // "redirect" or "redirect_map"
    uint64_t target = 0;  // ifindex, or the map key for redirect_map
    std::string map;      // redirect_map: the map's name
    uint64_t flags = 0;
};

/// Outputs of one test run (the last run when repeat > 1).
struct TestRunResult {
    uint64_t retval = 0;               // r0 of the last run (the kernel reports its low 32 bits)
    std::vector<uint8_t> data_out;     // the packet after the run (xdp: from data_meta to data_end)
    std::vector<uint8_t> ctx_out;      // context out, with the fields the kernel copies back
    std::vector<std::string> trace;    // bpf_trace_printk lines, without the trailing newline
    std::vector<RunEvent> events;      // ring buffer and perf event records, in map order
    std::vector<RedirectRecord> redirects;
    uint32_t repeat = 1;
    uint64_t duration_ns = 0;          // average time of one run: the loop's thread CPU time / repeat (the
                                       // kernel's duration likewise leaves out time the loop was rescheduled)
    uint32_t tail_calls = 0;           // tail calls taken in the last run
    std::string engine;                // engine that ran it ("interp", "jit-x86_64")
    std::string program;               // the program that ran first
    bool checked = true;               // the first program ran with bounds checks
    /// Programs that ran checked because the verifier rejected them: one line each, with the
    /// verifier's first error (program, instruction, message, source line).
    std::vector<std::string> warnings;
};

}  // namespace bpfvm
