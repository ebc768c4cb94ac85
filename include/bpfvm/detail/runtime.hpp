// What every engine (interpreter, JITs) shares at run time: helper table, run context, traps and
// the Executable interface. Engines depend on this header, never on each other.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpfvm/helper_protos.hpp"
#include "bpfvm/isa.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm {

struct RunContext;

/// A helper function: the five BPF argument registers r1..r5 and the run context; returns r0.
/// A helper that fails in a way the kernel would not survive (a fault) calls ctx->fault(...) and
/// returns; the engine stops right after the call. The signature is the same for the interpreter
/// and the JITs (six integer arguments fit the SysV and AAPCS64 argument registers).
using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* ctx);

inline constexpr uint32_t kMaxHelperId = 256;

/// Helpers keyed by id (linux/bpf.h numbering). A null entry is an unknown helper.
struct HelperTable {
    std::array<HelperFn, kMaxHelperId> fns{};

    HelperFn get(uint64_t id) const { return id < kMaxHelperId ? fns[id] : nullptr; }
    void set(uint32_t id, HelperFn fn) { fns.at(id) = fn; }
    /// Installs `fn` under its helpers.def name: set(HelperId::map_lookup_elem, fn).
    void set(HelperId id, HelperFn fn) { set(static_cast<uint32_t>(id), fn); }
    bool has(uint64_t id) const { return get(id) != nullptr; }
};

/// Why a run stopped early.
enum class TrapKind : uint8_t {
    None,
    OutOfBounds,     // load/store outside every allowed region (checked mode)
    CallDepth,       // more than kMaxCallDepth nested local calls
    InsnBudget,      // instruction budget exhausted (checked mode)
    UnknownHelper,   // call or callx of a helper id with no implementation
    HelperFault,     // a helper reported a fault (message in RunContext::fault_message)
    Unsupported,     // an instruction this engine cannot execute here (ld_abs without skb, addr_space_cast)
    BadCallTarget,   // callx/function pointer to something that is not a function
    FrameWrite,      // an instruction writes r10, the read-only frame pointer (the verifier rejects it;
                     // decoding does not, since the kernel accepts it in code its walk never reaches)
};

/// A trap: kind and the slot index (pc) of the instruction, plus the faulting access if any.
struct Trap {
    TrapKind kind = TrapKind::None;
    uint32_t pc = 0;
    uint64_t addr = 0;   // OutOfBounds: address; UnknownHelper: helper id; Unsupported: the Op
    uint32_t size = 0;   // OutOfBounds: access size in bytes
    bool write = false;  // OutOfBounds: store (true) or load (false)
};

/// Memory a program may access in checked mode, besides its own stack: [begin, end).
struct MemRegion {
    uint64_t begin = 0;
    uint64_t end = 0;
    bool writable = true;
};

/// A run state bound to one RunContext (Executable::bind): `call(state, r1, r2)` runs the program
/// with r1, r2 (r3..r5 zero) and returns r0; `*trap` (kind None) and RunContext::stop (0) tell
/// whether the call ended normally, `*insns` is what the engine counted (0 when it does not count).
/// DirectCall (vm.hpp) wraps it for embedders; Executable::run calls it inline.
struct BoundEntry {
    uint64_t (*call)(void* state, uint64_t r1, uint64_t r2) = nullptr;
    void* state = nullptr;
    const Trap* trap = nullptr;
    const uint64_t* insns = nullptr;
};

/// Run state an engine keeps in a RunContext between runs (RunContext::scratch): the engine's
/// per-run block and the BPF stack, set up when an executable first runs with the context, so that
/// later runs of the same executable only write what changes (arguments, budget, trap). One run at
/// a time uses it: while run() uses it `owner` is kRunning, and a run nested in a helper call with
/// the same context sets up its own state on the C++ stack instead.
struct RunScratch {
    uint64_t owner = kNone;  // Executable::id() of the executable bound here, kNone or kRunning
    BoundEntry entry;        // valid while owner is that executable's id
    alignas(64) uint8_t state[kMaxCallDepth * kStackSize + 512];  // engine layout, the BPF stack included

    static constexpr uint64_t kNone = 0;
    /// `owner` while run() is using the scratch.
    static constexpr uint64_t kRunning = 1;
};

/// Owns a RunContext's scratch. Moving it unbinds the scratch (engine state points at the context
/// it was bound to), so that the next run with the moved-to context binds again.
class ScratchPtr {
public:
    ScratchPtr() = default;
    ScratchPtr(ScratchPtr&& o) noexcept : p_(std::move(o.p_)) { unbind(); }
    ScratchPtr& operator=(ScratchPtr&& o) noexcept {
        p_ = std::move(o.p_);
        unbind();
        return *this;
    }
    RunScratch* get() const { return p_.get(); }
    RunScratch* operator->() const { return p_.get(); }
    RunScratch& operator*() const { return *p_; }
    /// The scratch, allocated on first use.
    RunScratch& ensure() {
        if (!p_) p_ = std::make_unique<RunScratch>();
        return *p_;
    }

private:
    void unbind() {
        if (p_) p_->owner = RunScratch::kNone;
    }
    std::unique_ptr<RunScratch> p_;
};

/// Execution counts the checked interpreter collects when RunContext::coverage is set (for
/// `bpfvm fuzz` and `bpfvm test --coverage`), indexed by instruction (Program::insns index).
/// From them: instruction i ran entries[leader of i's block] times, minus the runs that stopped
/// early inside the block before i (listed in `stops`).
struct CoverageCounters {
    std::vector<uint64_t> entries;   // control arrived at i: entry, jump or call target, fall-through, return site
    std::vector<uint64_t> branches;  // conditional jump i: [2i] fell through, [2i + 1] jumped
    std::vector<uint32_t> stops;     // instructions at which a run stopped early (trap, tail call, budget)

    /// Sizes the counters for a program of `insns` instructions (keeps counts already there).
    void ensure(size_t insns) {
        if (entries.size() < insns) entries.resize(insns);
        if (branches.size() < 2 * insns) branches.resize(2 * insns);
    }
};

/// Per-run state handed to helpers. The caller fills the inputs; engines fill `checked` and
/// `call_function`; helpers set `stop` (fault or tail call) and may add regions.
struct RunContext {
    // Inputs.
    std::vector<MemRegion> regions;  // checked mode: memory the program may touch (input, ctx, map values)
    void* env = nullptr;             // owned by the maps/helpers layer (maps, trace log, task info, ...)
    // Legacy packet loads (ld_abs/ld_ind) read the socket buffer's linear data, big-endian. A load
    // outside [pkt, pkt + pkt_len) ends the program with r0 = 0, as in the kernel. Null: the
    // instructions trap with TrapKind::Unsupported.
    const uint8_t* pkt = nullptr;
    uint32_t pkt_len = 0;
    /// When set, the checked interpreter counts block entries and jump outcomes here (other
    /// engines and unchecked runs ignore it).
    CoverageCounters* coverage = nullptr;

    // Filled by the engine before the run.
    bool checked = false;
    /// Calls the BPF function whose entry is instruction index `func` (the value of an lddw func
    /// reference) with r1..r5; used by bpf_loop and for_each_map_elem. Returns its r0. Sets stop on a trap.
    uint64_t (*call_function)(RunContext* ctx, uint64_t func, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                              uint64_t r5) = nullptr;
    void* engine = nullptr;  // engine private data for call_function
    // The stack area of the running frame chain [stack_begin, stack_end), set by the engine (and
    // switched while a call_function callback runs on its own stack). Helpers accept pointer
    // arguments there in checked mode (0/0: no stack, only regions are accepted).
    uint64_t stack_begin = 0;
    uint64_t stack_end = 0;

    // Set by helpers; the engine checks `stop` after every helper call.
    uint32_t stop = 0;  // 0: continue; kStopFault or kStopTailCall
    std::string fault_message;
    const void* tail_call_target = nullptr;  // kStopTailCall: the program to run next (opaque to engines)

    /// Engine-owned, allocated by the first run that uses this context (see RunScratch).
    ScratchPtr scratch;

    static constexpr uint32_t kStopFault = 1;
    static constexpr uint32_t kStopTailCall = 2;

    /// Reports a helper fault; the engine stops with TrapKind::HelperFault.
    void fault(std::string message) {
        fault_message = std::move(message);
        stop = kStopFault;
    }
    /// A fault that is bpfvm's limit, not the program's: a helper userspace cannot perform. The
    /// engine stops as for fault(); callers report it as unsupported (exit code 2), not a trap.
    void unsupported(std::string message) {
        fault(std::move(message));
        unsupported_helper = true;
    }
    bool unsupported_helper = false;  // set by unsupported(); the caller clears it before a run
    /// Records a region that helpers hand to the program (checked mode only).
    void allow(const void* p, uint64_t size, bool writable) {
        if (!checked || p == nullptr) return;
        const auto b = reinterpret_cast<uint64_t>(p);
        for (const auto& r : regions)
            if (r.begin == b && r.end == b + size) return;
        regions.push_back({b, b + size, writable});
    }
    /// True when [addr, addr+size) lies inside one region that permits the access.
    bool region_allows(uint64_t addr, uint64_t size, bool write) const {
        for (const auto& r : regions)
            if (addr >= r.begin && addr + size <= r.end && addr + size >= addr && (!write || r.writable)) return true;
        return false;
    }
};

/// For the engines' RunContext::call_function: whether `func` is a function of the program (one of
/// Program::subprog_entries, which are sorted), as the kernel requires of a callback; otherwise
/// faults the run and returns false. An engine may start a function only where one starts: its
/// fused code (superinstructions, register chains, JIT peepholes) is entered at the first
/// instruction of a run only.
inline bool callback_entry_ok(RunContext* ctx, const std::vector<uint32_t>& entries, uint64_t func) {
    if (std::binary_search(entries.begin(), entries.end(), func)) return true;
    ctx->fault("callback is not a function of this program (instruction index " + std::to_string(func) + ")");
    return false;
}

/// The outcome of one run.
struct RunResult {
    uint64_t r0 = 0;
    Trap trap{};
    bool tail_call = false;  // the program ended in a successful tail call (RunContext::tail_call_target)
    uint64_t insns = 0;      // instructions executed, when the engine counts them (checked interpreter)

    bool ok() const { return trap.kind == TrapKind::None; }
};

/// Engine options.
struct EngineOptions {
    bool checked = true;                // bounds-check memory and enforce the budget
    uint64_t insn_budget = kDefaultInsnBudget;  // checked mode: instructions (interpreter) or back-edges+calls (JIT), at most kMaxInsnBudget
};

/// A program prepared for one engine. Thread-safe: run() may be called concurrently with
/// distinct RunContexts.
class Executable {
public:
    virtual ~Executable() = default;
    /// Runs with r1, r2 as given (r3..r5 zero) and r10 at the top of a fresh stack. The first run
    /// with a context binds this executable's state to it (RunContext::scratch); later runs of the
    /// same executable with that context take the path below: no virtual dispatch, no allocation,
    /// one indirect call into the engine.
    RunResult run(RunContext& ctx, uint64_t r1, uint64_t r2 = 0) const {
        RunScratch* s = ctx.scratch.get();
        if (s != nullptr && s->owner == id_) [[likely]] {
            s->owner = RunScratch::kRunning;
            const uint64_t r0 = s->entry.call(s->entry.state, r1, r2);
            s->owner = id_;
            if (s->entry.trap->kind == TrapKind::None && ctx.stop == 0) [[likely]]
                return RunResult{r0, Trap{}, false, *s->entry.insns};
            return bound_result(ctx, r0);
        }
        return run_unbound(ctx, r1, r2);
    }
    /// Engine name for messages ("interp", "jit-x86_64", "jit-arm64").
    virtual const char* engine_name() const = 0;
    /// Unique for the life of the process (never reused, unlike an address): what RunScratch::owner
    /// holds, so that a context bound to a destroyed executable is never taken for bound to a new one.
    uint64_t id() const { return id_; }

    /// Sets up this executable's run state in `ctx.scratch` (allocating it on first use) and returns
    /// the entry that runs it; kInvalidArgument while a run is using the context's scratch. Any
    /// later run or bind of another executable with `ctx` invalidates the entry.
    Result<BoundEntry> bind(RunContext& ctx) const {
        if (scratch_running(ctx))
            return make_error(ErrorCode::kInvalidArgument,
                              std::string(engine_name()) + ": the run context is in use by a running program");
        return bind_scratch(ctx);
    }
    /// The RunResult of the last call of this executable's bound entry in `ctx`, which returned
    /// `r0`: trap, helper fault or tail call from the engine state and `ctx.stop`.
    RunResult bound_result(const RunContext& ctx, uint64_t r0) const {
        RunResult result;
        result.r0 = r0;
        if (ctx.scratch.get() != nullptr && ctx.scratch->owner == id_) read_stop(ctx, result);
        return result;
    }

protected:
    Executable() : id_(next_id()) {}
    /// Engine: puts its run state for this executable into `ctx.scratch.ensure()` (unless the
    /// scratch is bound to it already), sets RunScratch::entry and owner = id(), and the context's
    /// engine fields (checked, call_function, engine, stack bounds); returns the entry.
    virtual BoundEntry bind_scratch(RunContext& ctx) const = 0;
    /// Engine: the trap, tail call and instruction count of the last bound call, from the state in
    /// `ctx.scratch` (bound to this executable) and `ctx.stop`.
    virtual void read_stop(const RunContext& ctx, RunResult& result) const = 0;
    /// Engine: a run nested in a helper call of a run that uses the same context's scratch; its own
    /// state on the C++ stack, the context's engine fields restored afterwards.
    virtual RunResult run_nested(RunContext& ctx, uint64_t r1, uint64_t r2) const = 0;

private:
    static bool scratch_running(const RunContext& ctx) {
        return ctx.scratch.get() != nullptr && ctx.scratch->owner == RunScratch::kRunning;
    }
    [[gnu::noinline]] RunResult run_unbound(RunContext& ctx, uint64_t r1, uint64_t r2) const {
        if (scratch_running(ctx)) return run_nested(ctx, r1, r2);
        bind_scratch(ctx);
        return run(ctx, r1, r2);
    }
    static uint64_t next_id() {
        static std::atomic<uint64_t> next{RunScratch::kRunning + 1};
        return next.fetch_add(1, std::memory_order_relaxed);
    }
    const uint64_t id_;
};

/// Human-readable description of a trap, e.g.
/// "insn 12: out-of-bounds load of 4 bytes at 0x7ffc0000 (not in stack, input or map memory)".
std::string describe_trap(const Trap& trap, const RunContext& ctx);

}  // namespace bpfvm
