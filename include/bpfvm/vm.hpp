// Raw programs through the engines: pick an engine, prepare a decoded Program, run it. Objects go
// through bpfvm.hpp, which uses this. The run-time contract (RunContext, helpers, traps) is in
// detail/runtime.hpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "bpfvm/detail/runtime.hpp"

namespace bpfvm {

enum class EngineKind { Interp, Jit };

/// The default engine: the JIT where the host architecture has a backend, else the interpreter.
EngineKind default_engine();

/// Parses "interp" or "jit".
Result<EngineKind> parse_engine(std::string_view name);

/// Prepares `program` for `engine`. `helpers` must outlive the result. kInvalidArgument for a
/// checked-mode budget outside [1, kMaxInsnBudget].
Result<std::unique_ptr<Executable>> prepare(const Program& program, EngineKind engine, const HelperTable& helpers,
                                            const EngineOptions& options = {});

/// The direct-call API, for embedders that run one prepared program many times from one thread
/// (a packet loop, a fuzzer, a benchmark): binds an Executable to a RunContext once, after which a
/// call costs what calling the generated code costs plus a few stores (the arguments, the trap
/// kind, RunContext::stop and, in checked mode, the budget). Executable::run goes through the same
/// bound state, adding only its result, but stays safe for any caller; DirectCall trades that for
/// speed:
///
///   bpfvm::RunContext ctx;                       // regions (checked mode), env, as for run()
///   auto call = bpfvm::DirectCall::bind(*exe, ctx).value();
///   for (auto& pkt : packets) {
///       uint64_t r0 = call(reinterpret_cast<uint64_t>(&pkt.md));
///       if (!call.ok()) [[unlikely]] report(call.result(r0));   // trap, helper fault or tail call
///   }
///
/// Rules: `exe` and `ctx` must outlive the DirectCall and stay where they are; `ctx` serves no other
/// run meanwhile (running or binding another executable with it invalidates this one: bind again);
/// one thread at a time calls it (bind one context per thread for parallel calls). Traps are
/// reported as by run(): the call returns and ok() is false.
class DirectCall {
public:
    /// Binds `exe` to `ctx`. kInvalidArgument when `ctx` is in use by a running program.
    static Result<DirectCall> bind(const Executable& exe, RunContext& ctx) {
        auto entry = exe.bind(ctx);
        if (!entry) return entry.error();
        return DirectCall(exe, ctx, *entry);
    }
    /// Runs the program with r1, r2 (r3..r5 zero, r10 at the top of its stack) and returns r0.
    uint64_t operator()(uint64_t r1, uint64_t r2 = 0) const { return entry_.call(entry_.state, r1, r2); }
    /// False when the last call trapped, a helper faulted or the program made a tail call.
    bool ok() const { return entry_.trap->kind == TrapKind::None && ctx_->stop == 0; }
    /// The full outcome of the last call, which returned `r0`.
    RunResult result(uint64_t r0) const { return exe_->bound_result(*ctx_, r0); }

private:
    DirectCall(const Executable& exe, RunContext& ctx, const BoundEntry& entry) : exe_(&exe), ctx_(&ctx), entry_(entry) {}
    const Executable* exe_;
    RunContext* ctx_;
    BoundEntry entry_;
};

/// The JIT's machine code for `program`, per BPF instruction (offset, bytes, host disassembly when
/// built with capstone), then the entry points and out-of-line stubs. Nothing runs: every helper id
/// compiles to a placeholder. kUnsupported where the host has no JIT backend.
Result<std::string> dump_machine_code(const Program& program, const EngineOptions& options = {});

}  // namespace bpfvm
