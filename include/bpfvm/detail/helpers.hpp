// The standard helper functions (map access, time, random, trace_printk, probe_read, task info,
// ring buffer, perf events, bpf_loop, for_each_map_elem, strncmp, snprintf, spin locks, tail calls)
// and the environment they read and write: HelperEnv, which RunContext::env points to.
//
// Pointer arguments. In checked mode (ctx->checked) a pointer the program passes must lie in a
// RunContext region that permits the access or in the stack area the engine declared
// (RunContext::stack_begin/stack_end); otherwise the helper faults. Unchecked runs trust pointers
// (null excepted). Helpers that hand memory to the program (map_lookup_elem, ringbuf_reserve)
// record it with ctx->allow(). probe_read* copy only from declared memory (regions, stack,
// HelperEnv::readable) in every mode, else return -EFAULT with the destination zeroed.
// A map argument (r1) must be a Map* (see maps.hpp); in checked mode it is verified with
// is_live_map().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/maps.hpp"
#include "bpfvm/detail/runtime.hpp"

namespace bpfvm::maps {

/// What get_current_pid_tgid / get_current_uid_gid / get_current_comm report.
struct TaskInfo {
    uint32_t pid = 0;    // thread id (low half of pid_tgid)
    uint32_t tgid = 0;   // process id (high half)
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string comm;    // truncated to 15 bytes plus NUL by get_current_comm
};

/// The helpers' environment for one run (or a sequence of runs on one thread): RunContext::env
/// points to it. Not shared between threads that run concurrently; the maps it reaches are.
struct HelperEnv {
    // ---- Inputs, set by the caller.
    TaskInfo task;
    /// Memory probe_read* may copy from, besides RunContext::regions (writable ignored).
    std::vector<MemRegion> readable;
    /// When set, ktime_get_ns / boot_ns / coarse_ns return this value (deterministic tests).
    std::optional<uint64_t> fixed_time_ns;
    /// Seed of get_prandom_u32; 0 seeds from std::random_device on first use.
    uint64_t random_seed = 0;
    /// Tail calls allowed per run (the kernel's MAX_TAIL_CALL_CNT is 33).
    uint32_t max_tail_calls = 33;
    /// State of the packet helpers (xdp_adjust_*, skb_*_bytes, csum, redirect), owned and defined
    /// by the test-run layer; the helpers here never touch it.
    void* packet = nullptr;
    /// Free for the embedder (e.g. the facade's program table for tail-call targets).
    void* user = nullptr;

    // ---- Outputs, per run (reset_run() clears them).
    uint32_t tail_calls = 0;  // successful tail calls so far
    std::string trace_log;    // trace_printk output: one line per call, each ending in '\n'

    // ---- Internal state of the helpers.
    uint64_t rng_state = 0;
    void* held_lock = nullptr;  // bpf_spin_lock currently held by this run (at most one)

    /// Clears the per-run outputs before a new run (the trace log too).
    void reset_run() {
        tail_calls = 0;
        trace_log.clear();
        held_lock = nullptr;
    }
};

/// The HelperEnv of a run, or nullptr when the caller set none.
inline HelperEnv* env_of(RunContext* ctx) { return static_cast<HelperEnv*>(ctx->env); }

/// Installs every helper implemented here into `table` (entries already set by others are
/// overwritten only for these ids).
void register_helpers(HelperTable& table);

/// A table with exactly the helpers of register_helpers().
HelperTable standard_helpers();

/// Gives every helper id that has a name (helpers.def) but no entry in `table` a stub that stops
/// the run with RunContext::unsupported("helper NAME (#ID) is not supported in userspace"). Call
/// it last, after every implementation is registered.
void register_unsupported_helpers(HelperTable& table);
/// True when `table` holds the unsupported stub for `id`.
bool is_unsupported_helper(const HelperTable& table, uint32_t id);
/// "helper skb_change_type (#32) is not supported in userspace".
std::string unsupported_helper_message(uint32_t id);

/// bpf_loop's iteration limit (1 << 23, as in the kernel).
inline constexpr uint64_t kMaxLoops = 1u << 23;

/// Formats like bpf_trace_printk/bpf_snprintf: %d %i %u %x %X %ld %li %lu %lx %lld %lli %llu %llx
/// %p %s %c %% with optional flags/width/precision digits. `args` are raw u64 values; %s args are
/// pointers, read only where `ctx` allows (checked) or trusted (unchecked). Returns the text, or
/// an error naming the bad conversion (unknown specifier, too many or too few arguments).
Result<std::string> format_bpf_string(const char* fmt, size_t fmt_len, const uint64_t* args, size_t nargs,
                                      RunContext* ctx);

}  // namespace bpfvm::maps
