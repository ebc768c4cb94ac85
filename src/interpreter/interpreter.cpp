// The interpreter's prepare step (validation, pre-decoding into Slots, helper resolution) and
// its Executable: per-run state kept in RunContext::scratch (bound entries), RunContext::call_function for callbacks.
#include <new>
#include <string>
#include <vector>

#include "bpfvm/detail/interpreter.hpp"
#include "internal.hpp"

namespace bpfvm::interp {
namespace {

const char* lddw_kind_name(uint8_t src) {
    switch (static_cast<LddwKind>(src)) {
        case LddwKind::Imm64: return "imm64";
        case LddwKind::MapFd: return "map fd";
        case LddwKind::MapValue: return "map value";
        case LddwKind::BtfVar: return "btf variable";
        case LddwKind::Func: return "function";
        case LddwKind::MapIdx: return "map index";
        case LddwKind::MapIdxValue: return "map index value";
    }
    return "unknown";
}

Error insn_error(ErrorCode code, const Insn& insn, std::string message) {
    return make_error(code, std::move(message), insn.pc);
}

/// One run with `st` set up: what changes between runs, then the loop. Also the entry of a bound
/// interpreter state (BoundEntry::call).
uint64_t call_bound(void* state, uint64_t r1, uint64_t r2) {
    RunState& st = *static_cast<RunState*>(state);
    st.trap.kind = TrapKind::None;
    st.tail_call = false;
    st.insns = 0;
    st.ctx->stop = 0;
    const uint64_t args[5] = {r1, r2, 0, 0, 0};
    return st.exec(st, st.slots, args, 0);
}

class InterpExecutable final : public Executable {
public:
    InterpExecutable(size_t n, const HelperTable& helpers, const EngineOptions& options, ExecFn exec)
        : slots_(n), pcs_(n), helpers_(&helpers), options_(options), exec_(exec) {}

    const char* engine_name() const override { return "interp"; }

    std::vector<Slot>& slots() { return slots_; }
    std::vector<uint32_t>& pcs() { return pcs_; }
    std::vector<uint32_t>& entries() { return entries_; }

private:
    void read_stop(const RunContext& ctx, RunResult& result) const override {
        finish(*reinterpret_cast<const RunState*>(ctx.scratch->state), result);
    }

    static void finish(const RunState& st, RunResult& result) {
        result.trap = st.trap;
        result.tail_call = st.tail_call && st.trap.kind == TrapKind::None;
        result.insns = st.insns;
    }

    void init_state(RunState& st, RunContext& ctx) const {
        st.ctx = &ctx;
        st.slots = slots_.data();
        st.pcs = pcs_.data();
        st.num_slots = static_cast<uint32_t>(slots_.size());
        st.entries = &entries_;
        st.exec = exec_;
        st.helpers = helpers_;
        st.budget = options_.insn_budget;
    }

    // Puts this executable's RunState into ctx.scratch (allocated on first use) and sets the
    // context's engine fields, which stay valid while the scratch is bound here (nested runs
    // restore them; moving the context unbinds it). Callbacks run further down the same stack,
    // so the bounds hold for the whole run.
    BoundEntry bind_scratch(RunContext& ctx) const override {
        static_assert(sizeof(RunState) <= sizeof(RunScratch::state), "RunScratch::state too small for RunState");
        static_assert(alignof(RunState) <= alignof(RunScratch));
        RunScratch& s = ctx.scratch.ensure();
        auto* st = reinterpret_cast<RunState*>(s.state);
        if (s.owner != id()) {
            new (st) RunState;
            init_state(*st, ctx);
            s.entry = BoundEntry{&call_bound, st, &st->trap, &st->insns};
            s.owner = id();
        }
        st->ctx = &ctx;
        ctx.stack_begin = reinterpret_cast<uint64_t>(st->stack);
        ctx.stack_end = ctx.stack_begin + sizeof st->stack;
        ctx.checked = options_.checked;
        ctx.call_function = &call_function;
        ctx.engine = st;
        return s.entry;
    }

    // A run nested in a helper call of another run with the same context: its own state on the
    // C++ stack; the context's engine fields are restored afterwards.
    RunResult run_nested(RunContext& ctx, uint64_t r1, uint64_t r2) const override {
        RunState st;
        init_state(st, ctx);
        const bool saved_checked = ctx.checked;
        const auto saved_call = ctx.call_function;
        void* const saved_engine = ctx.engine;
        const uint64_t saved_stack_begin = ctx.stack_begin, saved_stack_end = ctx.stack_end;
        ctx.stack_begin = reinterpret_cast<uint64_t>(st.stack);
        ctx.stack_end = ctx.stack_begin + sizeof st.stack;
        ctx.checked = options_.checked;
        ctx.call_function = &call_function;
        ctx.engine = &st;
        RunResult result;
        result.r0 = call_bound(&st, r1, r2);
        finish(st, result);
        ctx.checked = saved_checked;
        ctx.call_function = saved_call;
        ctx.engine = saved_engine;
        ctx.stack_begin = saved_stack_begin;
        ctx.stack_end = saved_stack_end;
        return result;
    }

    std::vector<Slot> slots_;  // never resized after construction: Slot::target points into it
    std::vector<uint32_t> pcs_;
    std::vector<uint32_t> entries_;  // Program::subprog_entries: where callbacks may start
    const HelperTable* helpers_;
    EngineOptions options_;
    ExecFn exec_;
};

/// Fills `slot` from `insn` (index `i` of `program`), resolving targets and helpers.
Status fill_slot(const Program& program, size_t i, const HelperTable& helpers, Slot* slots) {
    const Insn& insn = program.insns[i];
    const OpInfo& info = op_info(insn.op);
    Slot& slot = slots[i];
    slot.op = static_cast<uint8_t>(insn.op);
    slot.dst = insn.dst;
    slot.src = insn.src;
    slot.off = insn.off;
    slot.imm = insn.imm;

    // validate_program (in prepare) holds the registers and targets in range. An instruction that
    // writes r10 decodes (the kernel accepts one its verifier never reaches) and must not run: it
    // becomes a trap slot, so the frame pointer stays intact in checked and unchecked mode alike.
    if (defined_register(insn) == kFrameReg) {
        slot.op = kTrapSlotOp;
        slot.imm = static_cast<int64_t>(TrapKind::FrameWrite);
        return {};
    }

    auto resolve_target = [&]() -> Status {
        slot.target = &slots[insn.target];
        return {};
    };
    switch (info.form) {
        case Form::Ja:
        case Form::Gotol:
        case Form::JmpImm:
        case Form::JmpReg:
        case Form::MayGoto:
        case Form::CallLocal:
            return resolve_target();
        case Form::Call: {
            const HelperFn fn = helpers.get(static_cast<uint64_t>(insn.imm));
            if (fn == nullptr) {
                std::string what = "call to unknown helper " + std::to_string(insn.imm);
                const auto name = insn.imm > 0 && insn.imm < INT32_MAX ? helper_name(static_cast<int>(insn.imm))
                                                                       : std::string_view{};
                if (!name.empty()) what += " (" + std::string(name) + ")";
                return insn_error(ErrorCode::kNotFound, insn, what);
            }
            slot.helper = fn;
            return {};
        }
        case Form::CallKfunc:
            return insn_error(ErrorCode::kUnsupported, insn,
                              "kfunc call (btf id " + std::to_string(insn.imm) + ") is not supported by the interpreter");
        case Form::Lddw:
            if (insn.src == static_cast<uint8_t>(LddwKind::Imm64)) return {};
            if (insn.src == static_cast<uint8_t>(LddwKind::Func)) {
                BPFVM_TRY(resolve_target());
                slot.imm = insn.target;  // the value of a function reference: its instruction index
                return {};
            }
            return insn_error(ErrorCode::kUnsupported, insn,
                              "unresolved lddw pseudo source " + std::to_string(insn.src) + " (" +
                                  lddw_kind_name(insn.src) + "): the loader must resolve it before running");
        case Form::AluImm:
        case Form::AluReg:
        case Form::Neg:
        case Form::Movsx:
        case Form::End:
        case Form::Callx:
        case Form::Exit:
        case Form::LdAbs:
        case Form::LdInd:
        case Form::Ldx:
        case Form::Ldxs:
        case Form::St:
        case Form::Stx:
        case Form::Atomic:
        case Form::AddrSpaceCast:
        case Form::LoadAcquire:
        case Form::StoreRelease:
            return {};
    }
    return {};
}

}  // namespace

uint64_t call_function(RunContext* ctx, uint64_t func, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                       uint64_t r5) {
    auto* st = static_cast<RunState*>(ctx->engine);
    if (!callback_entry_ok(ctx, *st->entries, func)) return 0;
    // The callback gets a fresh frame below the frame of the helper's caller.
    const uint32_t caller_depth = st->depth;
    const Slot* const call_site = st->call_site;
    if (caller_depth + 1 >= kMaxCallDepth) {
        st->set_trap(TrapKind::CallDepth, call_site);
        ctx->fault("callback would exceed " + std::to_string(kMaxCallDepth) + " frames");
        return 0;
    }
    const uint64_t args[5] = {r1, r2, r3, r4, r5};
    const uint64_t r0 = st->exec(*st, &st->slots[func], args, caller_depth + 1);
    st->depth = caller_depth;
    st->call_site = call_site;
    // Stop the helper's iteration; the engine then reports the callback's own trap (kept in st).
    if (st->trap.kind != TrapKind::None && ctx->stop == 0)
        ctx->fault("callback trapped at insn " + std::to_string(st->trap.pc));
    return r0;
}

Result<std::unique_ptr<Executable>> prepare_with(const Program& program, const HelperTable& helpers,
                                                 const EngineOptions& options, const Dispatch& dispatch) {
    // A Program may be built by hand: the loop indexes registers and slots without checks.
    BPFVM_TRY(validate_program(program));
    const size_t n = program.insns.size();

    const ExecFn exec = options.checked ? dispatch.checked : dispatch.unchecked;
    // Ask the loop for its label table (null for the switch dispatch).
    auto query = std::make_unique<RunState>();
    exec(*query, nullptr, nullptr, 0);
    const void* const* labels = query->labels;

    auto exe = std::make_unique<InterpExecutable>(n, helpers, options, exec);
    exe->entries() = program.subprog_entries;
    Slot* slots = exe->slots().data();
    for (size_t i = 0; i < n; ++i) {
        BPFVM_TRY(fill_slot(program, i, helpers, slots));
        slots[i].label = labels != nullptr ? labels[slots[i].op] : nullptr;
        exe->pcs()[i] = program.insns[i].pc;
    }
    // Checked mode counts and budgets every instruction on its own: pairs only run unchecked.
    if (!options.checked) install_superinstructions(program, slots, labels, query->chain_labels);
    return std::unique_ptr<Executable>(std::move(exe));
}

Result<std::unique_ptr<Executable>> prepare(const Program& program, const HelperTable& helpers,
                                            const EngineOptions& options) {
    return prepare_with(program, helpers, options, default_dispatch());
}

}  // namespace bpfvm::interp
