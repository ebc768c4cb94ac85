// What every engine (interpreter, JITs) shares at run time: helper table, run context, traps and
// the Executable interface. Engines depend on this header, never on each other.
#pragma once

#include <array>
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

    static constexpr uint32_t kStopFault = 1;
    static constexpr uint32_t kStopTailCall = 2;

    /// Reports a helper fault; the engine stops with TrapKind::HelperFault.
    void fault(std::string message) {
        fault_message = std::move(message);
        stop = kStopFault;
    }
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
    uint64_t insn_budget = 100'000'000; // checked mode: instructions (interpreter) or back-edges+calls (JIT)
};

/// A program prepared for one engine. Thread-safe: run() may be called concurrently with
/// distinct RunContexts.
class Executable {
public:
    virtual ~Executable() = default;
    /// Runs with r1, r2 as given (r3..r5 zero) and r10 at the top of a fresh stack.
    virtual RunResult run(RunContext& ctx, uint64_t r1, uint64_t r2 = 0) const = 0;
    /// Engine name for messages ("interp", "jit-x86_64", "jit-arm64").
    virtual const char* engine_name() const = 0;
};

/// Human-readable description of a trap, e.g.
/// "insn 12: out-of-bounds load of 4 bytes at 0x7ffc0000 (not in stack, input or map memory)".
std::string describe_trap(const Trap& trap, const RunContext& ctx);

}  // namespace bpfvm
