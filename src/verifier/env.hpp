// The verifier's working environment for one program: the program and its facts, per-instruction
// data, subprograms, the explored states used for pruning, the pending branches of the depth-first
// walk, counters and the first error. The kernel's struct bpf_verifier_env.
#pragma once

#include <array>
#include <cstdarg>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/verifier.hpp"
#include "state.hpp"

namespace bpfvm::verifier {

/// A subprogram: a contiguous range of instructions (indices into Program::insns).
struct Subprog {
    uint32_t start = 0;
    uint32_t end = 0;              // one past the last instruction
    uint32_t stack_depth = 0;      // bytes of stack the walk saw it use
    bool global = false;           // verified on its own (BTF global linkage)
    bool is_callback = false;      // passed to a helper as a callback
    bool is_async_callback = false;
    bool has_tail_call = false;
    bool has_ld_abs = false;
    bool changes_pkt_data = false; // calls a helper that invalidates packet pointers (transitively)
    bool verified = false;         // global: already verified on its own
    const GlobalFunc* sig = nullptr;
};

/// One entry of a path's history since its last checkpoint: a non-sequential step (a jump, a call
/// or a return) or a stack access, so that precision backtracking can replay the path backwards.
struct HistEntry {
    uint32_t idx = 0;       // the instruction reached or accessing the stack
    uint32_t prev_idx = 0;  // the instruction executed before it
    int32_t stack_slot = -1;  // stack access: slot index, in frame `frame`
    uint8_t frame = 0;
    /// Conditional jump: per frame, the registers linked by scalar ids to the compared ones.
    std::array<uint16_t, kMaxFrames> linked{};
    bool has_linked() const {
        for (uint16_t m : linked)
            if (m) return true;
        return false;
    }
};

struct Checkpoint;

/// Branch outcomes recorded in PathState::trail.
enum : uint8_t { kFellThrough, kJumped, kAlwaysJumps, kNeverJumps };
inline constexpr size_t kTrailLength = 16;

/// A State together with its place in the search: the checkpoint it descends from and the
/// instructions walked since (for precision backtracking).
struct PathState {
    State st;
    Checkpoint* parent = nullptr;     // the last checkpoint on this path
    uint32_t first_insn = 0;          // the first instruction walked since `parent`
    uint32_t last_insn = 0;           // the last instruction walked (before a jump: the jump)
    std::vector<HistEntry> history;   // since `parent`
    /// The last branch decisions on this path, for error reports: instruction and outcome.
    std::vector<std::pair<uint32_t, uint8_t>> trail;
    uint32_t dfs_depth = 0;
    Checkpoint* loop_entry = nullptr; // a loop head still being walked that this path depends on
    uint32_t resume_insn = 0;         // pending paths: where the walk resumes
    uint32_t resume_prev = 0;
};

/// A state kept at a prune point. Its subtree is fully verified once `branches` drops to 0; until
/// then it is on the current path (a loop) or waiting for a pending branch.
struct Checkpoint {
    State st;
    uint32_t insn = 0;
    uint32_t branches = 1;            // paths from here not yet finished
    Checkpoint* parent = nullptr;
    uint32_t first_insn = 0;
    uint32_t last_insn = 0;
    std::vector<HistEntry> history;   // from the parent checkpoint to this one
    uint32_t hit = 0, miss = 0;
    uint32_t dfs_depth = 0;
    Checkpoint* loop_entry = nullptr; // see PathState::loop_entry
};

/// Per-instruction data.
struct InsnAux {
    bool prune_point = false;      // states are compared here (jump targets, after calls)
    bool jmp_point = false;        // reached non-sequentially: record history
    bool force_checkpoint = false; // may_goto / iterator next: always keep a state
    bool calls_callback = false;   // a helper call that runs a callback (bpf_loop, ...)
    bool iter_next = false;        // a call of an iterator's next kfunc (loop convergence point)
    bool seen = false;
    uint8_t ptr_kind = 0;          // memory insns: the kind of base pointer seen first (1 + RegType)
    bool may_goto = false;         // a may_goto instruction (loop convergence point)
    uint16_t live_in = 0;          // registers read before written from here on (static liveness)
    uint64_t stack_live = ~uint64_t{0};  // stack slots of the running frame that may still be read
    uint32_t alu_state = 0;        // unprivileged pointer arithmetic: how it is masked (sanitize_ptr_alu)
    uint32_t alu_limit = 0;
    InsnFacts facts;
};

/// Error reporting: the first error wins; the walk stops there.
struct VerifyError {
    uint32_t insn = 0;             // index into Program::insns
    std::string message;
    std::vector<std::string> detail;
};

class Env {
public:
    Env(const Program& program, std::span<const MapInfo> maps, std::span<const GlobalFunc> funcs,
        const Options& options);

    const Program& prog;
    std::span<const MapInfo> maps;
    std::span<const GlobalFunc> funcs;
    const Options& opt;

    std::vector<InsnAux> aux;
    std::vector<Subprog> subprogs;
    std::vector<std::vector<std::unique_ptr<Checkpoint>>> explored;  // per instruction
    std::vector<std::unique_ptr<Checkpoint>> evicted;  // dropped from pruning; paths may still point to them
    std::vector<PathState> pending;                                  // branches still to walk
    Stats stats;
    uint32_t next_id = 0;
    uint64_t jmps_processed = 0;
    uint64_t prev_jmps_processed = 0;
    uint64_t prev_insns_processed = 0;
    uint64_t live_states = 0;
    std::optional<VerifyError> error;
    std::string log;

    // The path being walked.
    PathState current;
    PathState* cur = &current;
    uint32_t insn_idx = 0;       // instruction being checked
    uint32_t prev_insn_idx = 0;
    bool cur_hist_ent = false;   // the current instruction has its history entry already

    /// A new id (for null checks, packet ranges, references, scalar links).
    uint32_t new_id() { return ++next_id; }
    /// Records the first error at the instruction being checked: always returns false so that
    /// checks can `return fail(...)`.
    bool fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    bool fail_at(uint32_t insn, const std::string& message);
    /// Appends a line to the log (Options::log).
    void logf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    bool logging() const { return opt.log; }

    const Insn& insn(uint32_t idx) const { return prog.insns[idx]; }
    /// The subprogram containing instruction `idx`.
    uint32_t subprog_of(uint32_t idx) const;
    /// The subprogram starting at `idx`, or -1.
    int subprog_at(uint32_t idx) const;
    const MapInfo* map(uint32_t index) const { return index < maps.size() ? &maps[index] : nullptr; }

    /// "R1=fp-8" style rendering of a register with its map's name and sizes.
    std::string show(const Reg& reg) const;
    /// The registers and stack slots of the current frame that hold something, kernel log style.
    std::string show_state(const State& st) const;
};

/// Kernel's bool-or-error convention: checks return false after recording an error.
#define BPFVM_CHECK(expr)       \
    do {                        \
        if (!(expr)) return false; \
    } while (0)

}  // namespace bpfvm::verifier
