// Internals of the interpreter shared by its translation units: the pre-decoded instruction slot,
// the per-run state, and the two dispatch strategies (computed goto, portable switch).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>

#include "bpfvm/detail/runtime.hpp"

namespace bpfvm::interp {

/// One pre-decoded instruction, 32 bytes and 32-byte aligned so that two share a cache line and
/// none straddles two (with the allocator's 16-byte alignment, an array starting 16 bytes past a
/// 32-byte boundary has every other slot across a line boundary: a dispatch touching two lines).
/// Everything the hot loop needs is precomputed at prepare time; the original slot index lives in
/// a side table (`RunState::pcs`) because only traps need it. op, dst, src, pad and off are byte
/// fields (off four bytes) that together fill the last eight bytes, one aligned word: some handlers
/// that take several of them read that word once (exec_support.hpp, SlotFields).
struct alignas(32) Slot {
    const void* label = nullptr;  // computed-goto dispatch: address of this op's handler
    int64_t imm = 0;              // sign-extended imm32, the lddw constant, or a function's insn index
    union {
        const Slot* target;  // jumps and local calls: the destination slot
        HelperFn helper;     // helper calls: the resolved function
    };
    uint8_t op = 0;  // Op, kTrapSlotOp or a SuperOp, for the switch dispatch and for debugging
    uint8_t dst = 0;
    uint8_t src = 0;
    uint8_t pad = 0;  // kSuperMov64AddReg: the added register
    int32_t off = 0;  // kSuperAdd64Imm*: the compare immediate

    Slot() : target(nullptr) {}
};
static_assert(sizeof(Slot) == 32 && alignof(Slot) == 32);

/// Slot::op of a trap slot: an instruction that must not run (one that writes r10) traps with
/// TrapKind Slot::imm. One past the last Op, so the goto label table has one extra entry.
inline constexpr uint8_t kTrapSlotOp = static_cast<uint8_t>(kNumOps);
static_assert(kNumOps < 255, "Slot::op must hold every Op and kTrapSlotOp");

/// Superinstructions: one slot that runs the instruction pair (or a longer shape) starting there
/// (the slots it covers are skipped; none of them is a jump target), one row each in
/// superops.def. Chosen from instruction-pair counts over ../shared/corpus and the bench programs
/// (bench/insn_pairs.py): a register copy then an ALU immediate on the copy (`rX = rY; rX op=
/// K`), a byte load then a shift of the loaded value (how clang assembles big-endian fields, then
/// a shift and or), a loop counter's add then its compare-and-branch, and a pointer's add then its
/// bounds check against another pointer. Unchecked mode only: checked mode counts and budgets
/// every instruction on its own.
enum SuperOp : uint8_t {
    kSuperBeforeFirst = kTrapSlotOp,  // the superinstructions follow the trap slot
#define BPFVM_SUPEROP(name, chain) kSuper##name,
#include "superops.def"
#undef BPFVM_SUPEROP
    kSuperEnd,
    kSuperFirst = kSuperBeforeFirst + 1,
};
static_assert(kSuperEnd <= 255, "Slot::op must hold every superinstruction");
inline constexpr size_t kNumSlotOps = kSuperEnd;  // label table size: Ops, the trap slot, superinstructions

/// Byte `k` of a slot's imm (k = 0 the lowest): the extra register fields of the longer
/// superinstructions. Read as a byte load each: one instruction, where taking it out of imm
/// loaded as one word costs two (measured slower, exec_support.hpp).
inline uint8_t imm_byte(const Slot& slot, unsigned k) { return reinterpret_cast<const unsigned char*>(&slot.imm)[k]; }
/// The value whose bytes first, first + 1, ... hold `regs` (the inverse of imm_byte).
inline int64_t pack_bytes(std::initializer_list<uint8_t> regs, unsigned first) {
    int64_t packed = 0;
    auto* bytes = reinterpret_cast<unsigned char*>(&packed);
    for (const uint8_t r : regs) bytes[first++] = r;
    return packed;
}

struct RunState;

/// The interpreter loop: runs from `entry` with r1..r5 = args in frame `depth` (0 = the entry
/// frame) until that frame exits. Returns r0; a trap or a tail call is recorded in `state`.
/// Called with `entry == nullptr` it only stores its label table in `state.labels` (null for the
/// switch dispatch), so that prepare can fill `Slot::label`.
using ExecFn = uint64_t (*)(RunState& state, const Slot* entry, const uint64_t* args, uint32_t depth);

/// Everything one run needs, on the caller's C++ stack: runs never share mutable state, which
/// makes Executable::run re-entrant and thread-safe.
struct RunState {
    RunContext* ctx = nullptr;
    const Slot* slots = nullptr;    // slot 0 of the program
    const uint32_t* pcs = nullptr;  // slot index -> original instruction slot (pc), for traps
    uint32_t num_slots = 0;
    const std::vector<uint32_t>* entries = nullptr;  // Program::subprog_entries: where callbacks may start
    ExecFn exec = nullptr;
    const HelperTable* helpers = nullptr;  // callx looks helper ids up at run time
    const Slot* call_site = nullptr;       // the helper call running now (callbacks report traps here)
    uint64_t insns = 0;   // instructions executed so far (checked mode), callbacks included
    uint64_t budget = 0;  // checked mode: the run traps before executing instruction budget+1
    uint32_t depth = 0;   // frame running at the time of a helper call (callbacks start below it)
    Trap trap{};
    bool tail_call = false;
    const void* const* labels = nullptr;  // output of the label-table query
    const void* const* chain_labels = nullptr;  // and its chain steps (ChainStep * kNumSlotOps + Slot::op)
    alignas(16) uint8_t stack[kMaxCallDepth * kStackSize];

    /// r10 of frame `depth`: frames grow downwards from the top of `stack`.
    uint64_t frame_top(uint32_t depth) const {
        return reinterpret_cast<uint64_t>(stack) + uint64_t{kMaxCallDepth - depth} * kStackSize;
    }
    /// Records a trap at the instruction in `slot`.
    void set_trap(TrapKind kind, const Slot* slot, uint64_t addr = 0, uint32_t size = 0, bool write = false) {
        trap = Trap{kind, pcs[slot - slots], addr, size, write};
    }
};

/// The checked and unchecked loops of one dispatch strategy.
struct Dispatch {
    ExecFn checked;
    ExecFn unchecked;
    const char* name;
};

/// Computed-goto dispatch where the compiler supports it (GNU C), else the switch.
const Dispatch& default_dispatch();
/// Always the portable switch dispatch (tests run both and compare).
const Dispatch& switch_dispatch();

/// interp::prepare with an explicit dispatch strategy.
Result<std::unique_ptr<Executable>> prepare_with(const Program& program, const HelperTable& helpers,
                                                 const EngineOptions& options, const Dispatch& dispatch);

/// Register chains (threaded dispatch, unchecked mode): a run of two or more slots that all write
/// one register, none after the first entered by a jump, keeps that register in a host register
/// from the first to the last. The first runs its Head step (loads the register, a load the
/// compiler drops where the step only writes it, then the instruction), the middle ones their Mid
/// step, the last its Tail step (stores it back); each step dispatches to the next slot's label as
/// usual. A step after the head reads the chain's register only as that host register: a slot
/// that reads it any other way (as an ALU source, a superinstruction's other operand) can only
/// head a chain. Every ALU slot has the three steps; so do the superinstructions marked S in
/// superops.def (pairs that compute one register from others, the copy-prefixed pairs, whose copy
/// goes to the register file, and the big-endian byte pair, which continues a chain through its
/// base), while the latches after a sum (T) only end one; superinsns.cpp (chain_role) says which
/// register each keeps and when it may continue a chain. A dependent run then makes one trip
/// through memory instead of one per slot (store-to-load forwarding is the latency of a plain ALU
/// handler). The label table is ChainStep * kNumSlotOps + Slot::op, null where an op has no such
/// step.
enum ChainStep : uint8_t { kChainHead, kChainMid, kChainTail };

/// Turns matching instruction pairs of an unchecked program's filled slots into superinstructions
/// (superinsns.cpp), then runs of slots on one register into register chains; `labels` and `chain_labels`
/// are the dispatch's label tables (null for the switch dispatch, which gets neither chains nor
/// labels).
void install_superinstructions(const Program& program, Slot* slots, const void* const* labels,
                               const void* const* chain_labels = nullptr);

/// Runs the BPF function at instruction index `func` for RunContext::call_function.
uint64_t call_function(RunContext* ctx, uint64_t func, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                       uint64_t r5);

}  // namespace bpfvm::interp
