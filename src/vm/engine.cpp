// Engine selection for the facade (vm.hpp) and trap descriptions.
#include <cinttypes>
#include <cstdio>

#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/vm.hpp"
#if BPFVM_HAVE_JIT
#include "bpfvm/detail/jit.hpp"
#endif

namespace bpfvm {

EngineKind default_engine() {
#if BPFVM_HAVE_JIT
    if (jit::host_supported()) return EngineKind::Jit;
#endif
    return EngineKind::Interp;
}

Result<EngineKind> parse_engine(std::string_view name) {
    if (name == "interp") return EngineKind::Interp;
    if (name == "jit") {
#if BPFVM_HAVE_JIT
        if (jit::host_supported()) return EngineKind::Jit;
#endif
        return make_error(ErrorCode::kUnsupported, "engine 'jit' is not available on this host");
    }
    return make_error(ErrorCode::kInvalidArgument, "unknown engine '" + std::string(name) + "' (expected interp or jit)");
}

Result<std::unique_ptr<Executable>> prepare(const Program& program, EngineKind engine, const HelperTable& helpers,
                                            const EngineOptions& options) {
    if (options.checked && (options.insn_budget == 0 || options.insn_budget > kMaxInsnBudget))
        return make_error(ErrorCode::kInvalidArgument, "instruction budget " + std::to_string(options.insn_budget) +
                                                           " out of range [1, " + std::to_string(kMaxInsnBudget) + "]");
    switch (engine) {
        case EngineKind::Interp:
            return interp::prepare(program, helpers, options);
        case EngineKind::Jit:
#if BPFVM_HAVE_JIT
            return jit::compile(program, helpers, options);
#else
            return make_error(ErrorCode::kUnsupported, "engine 'jit' is not available on this host");
#endif
    }
    return make_error(ErrorCode::kInvalidArgument, "unknown engine");
}

namespace {

// The dump only compiles: every helper id gets a placeholder so that any helper call compiles.
[[maybe_unused]] uint64_t placeholder_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->fault("placeholder helper (a machine-code dump never runs code)");
    return 0;
}

}  // namespace

Result<std::string> dump_machine_code(const Program& program, const EngineOptions& options) {
#if BPFVM_HAVE_JIT
    if (!jit::host_supported()) return make_error(ErrorCode::kUnsupported, "no JIT backend for this host architecture");
    HelperTable helpers;
    for (uint32_t id = 0; id < kMaxHelperId; ++id) helpers.set(id, &placeholder_helper);
    return jit::dump(program, helpers, options);
#else
    (void)program;
    (void)options;
    return make_error(ErrorCode::kUnsupported, "bpfvm was built without a JIT");
#endif
}

namespace {

/// Why an instruction trapped Unsupported; `op` is the Op the engine stored in Trap::addr.
std::string unsupported_reason(uint64_t op) {
    if (op >= kNumOps) return "instruction not executable here";
    const OpInfo& info = op_info(static_cast<Op>(op));
    if (info.form == Form::LdAbs || info.form == Form::LdInd)
        return "legacy packet load (ld_abs/ld_ind) without a socket buffer";
    if (info.form == Form::AddrSpaceCast) return "addr_space_cast is not supported: bpfvm has no arena maps";
    return std::string(info.mnemonic) + " is not executable here";
}

}  // namespace

std::string describe_trap(const Trap& trap, const RunContext& ctx) {
    char buf[256];
    switch (trap.kind) {
        case TrapKind::None:
            return "no trap";
        case TrapKind::OutOfBounds:
            std::snprintf(buf, sizeof buf, "out-of-bounds %s of %u bytes at 0x%" PRIx64
                          " (outside the stack frame and every input or map region)",
                          trap.write ? "store" : "load", trap.size, trap.addr);
            break;
        case TrapKind::CallDepth:
            std::snprintf(buf, sizeof buf, "call depth exceeds %u frames", kMaxCallDepth);
            break;
        case TrapKind::InsnBudget:
            std::snprintf(buf, sizeof buf, "instruction budget exhausted (runaway loop?)");
            break;
        case TrapKind::UnknownHelper:
            std::snprintf(buf, sizeof buf, "call to unknown helper %" PRIu64, trap.addr);
            break;
        case TrapKind::HelperFault:
            return "insn " + std::to_string(trap.pc) + ": helper fault: " + ctx.fault_message;
        case TrapKind::Unsupported:
            return "insn " + std::to_string(trap.pc) + ": " + unsupported_reason(trap.addr);
        case TrapKind::BadCallTarget:
            std::snprintf(buf, sizeof buf, "bad call target 0x%" PRIx64, trap.addr);
            break;
        case TrapKind::FrameWrite:
            return "insn " + std::to_string(trap.pc) + ": write to the read-only frame pointer r10";
    }
    return "insn " + std::to_string(trap.pc) + ": " + buf;
}

}  // namespace bpfvm
