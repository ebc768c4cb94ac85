// The contract between the backend-neutral JIT driver (jit.cpp) and the per-architecture
// backends (x86_64/, arm64/). Backends never include each other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpfvm/detail/runtime.hpp"

namespace bpfvm::jit {

/// Run-time state shared by the driver and generated code. Generated code receives a pointer to
/// it as its only argument and keeps it in a callee-saved host register. Field offsets are part
/// of the ABI (backends use offsetof).
struct JitRuntime {
    RunContext* ctx = nullptr;
    uint64_t r1 = 0;
    uint64_t r2 = 0;
    uint8_t* stack_top = nullptr;     // r10 of the entry frame; frame k has r10 = stack_top - k * kStackSize
    uint8_t* stack_bottom = nullptr;  // lowest byte of the stack area (kMaxCallDepth frames)
    int64_t budget = 0;               // checked mode: decremented at back-edges and calls; < 0 traps
    const HelperTable* helpers = nullptr;
    Trap trap{};                      // set before returning when a run stops early
    uint64_t host_sp = 0;             // backend scratch: host stack pointer at entry, to unwind on a trap
    // Checked mode: the last RunContext region that allowed a load (read_*) or a store (write_*),
    // filled by bpfvm_jit_check_access so that generated code can skip the call. An access of at most
    // 8 bytes at addr is inside when addr - lo < starts (unsigned); starts = region size - 7, 0 = empty.
    // Generated code empties both after every helper call (helpers may drop regions).
    uint64_t read_lo = 0, read_starts = 0;
    uint64_t write_lo = 0, write_starts = 0;
    // The running frame chain. Checked accesses may touch [r10 - 512, stack_end): the current frame
    // and its callers' frames (programs pass stack pointers to subprograms and callbacks), like the
    // interpreter. stack_end is stack_top for a run; a callback runs below its caller's frame and
    // keeps the run's stack_end. `frame` is r10 at the last helper call or out-of-line access check,
    // stored by generated code (0: not provided; callbacks then get a fresh stack).
    uint8_t* stack_end = nullptr;
    uint64_t frame = 0;
    // may_goto's budget per frame, indexed by the frame's place in the stack area: frame k of the
    // area (r10 = stack_bottom + (k + 1) * kStackSize) uses may_goto[k]. The driver fills them with
    // kMayGotoBudget when the program has may_goto; generated code refills a callee's on each call.
    uint64_t may_goto[kMaxCallDepth] = {};
};

/// A trap recorded by the driver during a helper call whose pc is not known there (a callback
/// exceeding the frame limit). When a helper returns with ctx->stop set, generated code stores the
/// call's pc into runtime->trap.pc if the trap kind is still None or the pc is this placeholder.
inline constexpr uint32_t kTrapPcAtCallSite = 0xffffffffu;

/// Signature of generated code: returns r0 (meaningless when runtime->trap.kind != None).
using JitEntry = uint64_t (*)(JitRuntime* runtime);

/// Second entry point, for RunContext::call_function (bpf_loop, for_each_map_elem callbacks):
/// sets up the same state as JitEntry (r10 = runtime->stack_top), loads r1..r5 from `args`, makes a
/// BPF local call to the code at `target` (base + insn_offsets[func]), and returns its r0.
using JitCallEntry = uint64_t (*)(JitRuntime* runtime, uint64_t target, const uint64_t* args);

/// Slow path of checked memory accesses, called by generated code for an address outside the
/// current stack frame: returns 1 when RunContext regions allow [addr, addr+size) (for a write when
/// `write` != 0), else 0. The generated code then records the trap (kind, pc, addr, size, write).
/// On success it also caches the region in runtime->read_* / write_*.
extern "C" uint64_t bpfvm_jit_check_access(JitRuntime* runtime, uint64_t addr, uint64_t size, uint64_t write);

/// Offset of RunContext::stop, which generated code tests after every helper call. RunContext is not
/// standard-layout (it holds a vector and a string), so offsetof is not portable: it is measured once.
int32_t run_context_stop_offset();

/// Output of a backend besides the code itself (which goes to a CodeSink): offsets into that code.
struct EmittedCode {
    uint64_t entry_offset = 0;              // offset of the JitEntry function
    uint64_t call_entry_offset = 0;         // offset of the JitCallEntry function
    std::vector<uint32_t> insn_offsets;     // code offset of each Program::insns[i]
    uint64_t body_end_offset = 0;           // end of the last instruction's code (0: the code's size)
    bool may_goto = false;                  // the program has may_goto (JitRuntime::may_goto is used)
};

/// Receives a backend's final machine code: position-independent (absolute addresses such as
/// helpers are materialised as immediates, branches are relative), so it can be copied anywhere.
/// The driver copies it once, straight from the assembler's buffer: into the code arena
/// (compile), or into a vector (dump). An error from accept is the backend's error.
class CodeSink {
public:
    virtual Status accept(const uint8_t* code, size_t size) = 0;

protected:
    ~CodeSink() = default;
};

/// Emits code for `program` and hands it to `sink`. Fails naming the instruction for anything the
/// backend cannot compile.
Result<EmittedCode> emit_x86_64(const Program& program, const HelperTable& helpers, const EngineOptions& options,
                                CodeSink& sink);
Result<EmittedCode> emit_arm64(const Program& program, const HelperTable& helpers, const EngineOptions& options,
                               CodeSink& sink);

}  // namespace bpfvm::jit
