// AArch64 backend: jumps, helper calls, callx, BPF-to-BPF calls, exit and lddw
// (RFC 9669 sections 4.3 and 5.4).
#include <cstdint>
#include <string>
#include <string_view>

#include "emitter.hpp"

namespace bpfvm::jit::arm64 {

void Emitter::jump(size_t index, const Insn& insn) {
    if (back_jump(index)) emit_budget(insn.pc);
    as_->b(insn_labels_[insn.target]);
}

void Emitter::may_goto_slot() {
    // Frames sit at fixed places in the stack area: (r10 - (stack_bottom + 512)) / 512 is the frame's
    // index k, and its budget is JitRuntime::may_goto[k] at x26 + 8k + offsetof(may_goto).
    static_assert(kStackSize == 512);
    as_->sub(xr(kTmp1), bx(kFrameReg), xr(kRegStackLimit));
    as_->lsr(xr(kTmp1), xr(kTmp1), 6);
    as_->add(xr(kTmp1), xr(kTmp1), xr(kRegRuntime));
}

void Emitter::may_goto(size_t index, const Insn& insn) {
    // Falls through while the frame's budget lasts (taking one unit), then jumps: the kernel's
    // rewrite (if counter == 0 goto target; counter -= 1).
    may_goto_slot();
    const a64::Mem counter = a64::ptr(xr(kTmp1), static_cast<int32_t>(offsetof(JitRuntime, may_goto)));
    as_->ldr(xr(kTmp2), counter);
    const Label& target = insn_labels_[insn.target];
    if (!back_jump(index) || !options_.checked) {
        branch_if_zero(xr(kTmp2), target);
    } else {
        Label taken = as_->newLabel();
        branch_if_zero(xr(kTmp2), taken);
        const uint32_t pc = insn.pc;
        deferred_.push_back([this, taken, target, pc] {
            as_->bind(taken);
            emit_budget(pc);
            as_->b(target);
        });
    }
    as_->sub(xr(kTmp2), xr(kTmp2), 1);
    as_->str(xr(kTmp2), counter);
}

void Emitter::cond_jump(size_t index, const Insn& insn, CondCode cc, unsigned width, bool imm, bool test) {
    const a64::Gp d = width == 64 ? a64::Gp(bx(insn.dst)) : a64::Gp(bw(insn.dst));
    auto wide = [width](uint32_t id) { return width == 64 ? a64::Gp(xr(id)) : a64::Gp(wr(id)); };
    if (!imm) {
        if (test)
            as_->tst(d, wide(kHostReg[insn.src]));
        else
            as_->cmp(d, wide(kHostReg[insn.src]));
    } else {
        // JMP compares with the sign-extended immediate, JMP32 with its 32 bits.
        const uint64_t value = width == 64 ? static_cast<uint64_t>(insn.imm) : static_cast<uint32_t>(insn.imm);
        if (test && value != 0 && a64::Utils::isLogicalImm(value, width)) {
            as_->tst(d, value);
        } else if (!test && insn.imm >= 0 && insn.imm < 4096) {
            as_->cmp(d, static_cast<uint64_t>(insn.imm));
        } else if (!test && insn.imm < 0 && insn.imm > -4096) {
            // cmn d, #k sets the same flags as cmp d, #-k (k != 0, no signed-overflow corner).
            as_->cmn(d, static_cast<uint64_t>(-insn.imm));
        } else {
            if (width == 64)
                mov_imm(xr(kImm), value);
            else
                mov_imm32(wr(kImm), static_cast<uint32_t>(value));
            if (test)
                as_->tst(d, wide(kImm));
            else
                as_->cmp(d, wide(kImm));
        }
    }
    const Label& target = jump_to_.isValid() ? jump_to_ : insn_labels_[insn.target];
    if (jump_inverted_) cc = asmjit::arm::negateCond(cc);
    if (!back_jump(index) || !options_.checked) {
        branch_if(cc, target);
        return;
    }
    // A taken back-edge pays one unit of budget, out of line so the fall-through stays short.
    Label taken = as_->newLabel();
    branch_if(cc, taken);
    const uint32_t pc = insn.pc;
    deferred_.push_back([this, taken, target, pc] {
        as_->bind(taken);
        emit_budget(pc);
        as_->b(target);
    });
}

void Emitter::call_helper_at(const Insn& insn, const GpX& fn) {
    // r1-r5 already sit in x0-x4; the sixth argument is the RunContext. x30 is this BPF
    // function's return address, so it is kept on the host stack across the call. r1-r5 are
    // restored too: the ABI leaves them undefined after a call, but the interpreter keeps them,
    // and engines must agree on every program.
    as_->stp(bx(1), bx(2), a64::ptr_pre(a64::sp, -48));
    as_->stp(bx(3), bx(4), a64::ptr(a64::sp, 16));
    as_->stp(bx(5), a64::x30, a64::ptr(a64::sp, 32));
    as_->mov(a64::x5, xr(kRegCtx));
    // Callbacks (RunContext::call_function) share the budget through JitRuntime::budget.
    const a64::Mem budget = a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, budget));
    if (options_.checked) as_->str(xr(kRegBudget), budget);
    // r10 at the call: callbacks (bpf_loop) run in the frame below it, on the same stack, and
    // checked accesses may reach the callers' frames above it.
    as_->str(bx(kFrameReg), a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, frame)));
    as_->blr(fn);
    if (options_.checked) {
        as_->ldr(xr(kRegBudget), budget);
        // The helper may have dropped the regions that the inline checks remember (memory.cpp).
        as_->str(a64::xzr, a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, read_starts)));
        as_->str(a64::xzr, a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, write_starts)));
    }
    as_->mov(bx(0), a64::x0);
    as_->ldp(bx(5), a64::x30, a64::ptr(a64::sp, 32));
    as_->ldp(bx(3), bx(4), a64::ptr(a64::sp, 16));
    as_->ldp(bx(1), bx(2), a64::ptr_post(a64::sp, 48));
    // A fault or a tail call stops the program: record the pc, keep kind None (the driver turns
    // RunContext::stop into HelperFault or a tail call) and unwind.
    as_->ldr(wr(kTmp1), a64::ptr(xr(kRegCtx), run_context_stop_offset()));
    Label stopped = as_->newLabel();
    branch_if_nonzero(xr(kTmp1), stopped);
    const uint32_t pc = insn.pc;
    deferred_.push_back([this, stopped, pc] {
        // The pc is this call's unless a callback already recorded a more precise trap (kind set
        // and pc not the kTrapPcAtCallSite placeholder).
        const a64::Mem kind = a64::ptr(xr(kRegRuntime), static_cast<int32_t>(offsetof(JitRuntime, trap) + offsetof(Trap, kind)));
        const a64::Mem trap_pc = a64::ptr(xr(kRegRuntime), static_cast<int32_t>(offsetof(JitRuntime, trap) + offsetof(Trap, pc)));
        static_assert(kTrapPcAtCallSite == 0xffffffffu);
        Label store = as_->newLabel();
        Label keep = as_->newLabel();
        as_->bind(stopped);
        as_->ldrb(wr(kTmp1), kind);
        as_->cbz(wr(kTmp1), store);
        as_->ldr(wr(kTmp1), trap_pc);
        as_->cmn(wr(kTmp1), 1);
        as_->b(CondCode::kNE, keep);
        as_->bind(store);
        mov_imm32(wr(kTmp2), pc);
        as_->str(wr(kTmp2), trap_pc);
        as_->bind(keep);
        as_->mov(a64::sp, xr(kRegEntrySp));
        as_->b(epilogue_);
    });
}

Status Emitter::call_helper(const Insn& insn) {
    const HelperFn fn = helpers_.get(static_cast<uint64_t>(insn.imm));
    if (fn == nullptr) {  // same text as the interpreter and the x86-64 backend
        std::string what = "call to unknown helper " + std::to_string(insn.imm);
        const auto name = insn.imm > 0 && insn.imm < INT32_MAX ? helper_name(static_cast<int>(insn.imm)) : std::string_view{};
        if (!name.empty()) what += " (" + std::string(name) + ")";
        return make_error(ErrorCode::kNotFound, what, insn.pc);
    }
    emit_budget(insn.pc);
    mov_imm(xr(kImm), reinterpret_cast<uint64_t>(fn));
    call_helper_at(insn, xr(kImm));
    return {};
}

void Emitter::callx(const Insn& insn) {
    // The register holds a helper id, looked up in runtime->helpers->fns at run time.
    const GpX id = xr(kImm2);
    as_->mov(id, bx(insn.dst));
    Label unknown = as_->newLabel();
    as_->cmp(id, kMaxHelperId);
    branch_if(CondCode::kHS, unknown);
    as_->ldr(xr(kTmp1), a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, helpers)));
    static_assert(offsetof(HelperTable, fns) == 0);
    as_->ldr(xr(kImm), a64::ptr(xr(kTmp1), id, asmjit::arm::lsl(3)));
    branch_if_zero(xr(kImm), unknown);
    emit_budget(insn.pc);
    call_helper_at(insn, xr(kImm));
    // Trap::addr reports the helper id, still in x17.
    Label trap = trap_label(TrapKind::UnknownHelper, insn.pc, true);
    deferred_.push_back([this, unknown, trap] {
        as_->bind(unknown);
        as_->b(trap);
    });
}

void Emitter::call_local(const Insn& insn) {
    emit_budget(insn.pc);
    // The callee's frame is [r10 - 2 * kStackSize, r10 - kStackSize); it must stay inside the
    // stack area, which holds kMaxCallDepth frames.
    const GpX new_fp = xr(kAddr);
    as_->sub(new_fp, bx(kFrameReg), kStackSize);
    as_->cmp(new_fp, xr(kRegStackLimit));
    branch_if(CondCode::kLO, trap_label(TrapKind::CallDepth, insn.pc));
    as_->stp(bx(6), bx(7), a64::ptr_pre(a64::sp, -48));
    as_->stp(bx(8), bx(9), a64::ptr(a64::sp, 16));
    as_->stp(bx(kFrameReg), a64::x30, a64::ptr(a64::sp, 32));
    as_->mov(bx(kFrameReg), new_fp);
    if (may_goto_) {  // the callee's frame starts with a full may_goto budget
        may_goto_slot();
        mov_imm(xr(kTmp2), kMayGotoBudget);
        as_->str(xr(kTmp2), a64::ptr(xr(kTmp1), static_cast<int32_t>(offsetof(JitRuntime, may_goto))));
    }
    as_->bl(insn_labels_[insn.target]);
    as_->ldp(bx(kFrameReg), a64::x30, a64::ptr(a64::sp, 32));
    as_->ldp(bx(8), bx(9), a64::ptr(a64::sp, 16));
    as_->ldp(bx(6), bx(7), a64::ptr_post(a64::sp, 48));
}

void Emitter::exit_insn() {
    // Every BPF function, the main program included, was entered with bl: return to the caller
    // (the entry stub for the main program, which then runs the shared epilogue).
    as_->ret(a64::x30);
}

Status Emitter::lddw(const Insn& insn) {
    switch (static_cast<LddwKind>(insn.src)) {
        case LddwKind::Imm64:
            mov_imm(bx(insn.dst), static_cast<uint64_t>(insn.imm));
            return {};
        case LddwKind::Func:
            // A function reference evaluates to the index of its entry instruction.
            mov_imm(bx(insn.dst), insn.target);
            return {};
        case LddwKind::MapFd:
        case LddwKind::MapValue:
        case LddwKind::BtfVar:
        case LddwKind::MapIdx:
        case LddwKind::MapIdxValue:
            break;
    }
    return unsupported(insn, "lddw with unresolved pseudo source " + std::to_string(insn.src) +
                                 " (map or BTF reference) cannot be compiled");
}

}  // namespace bpfvm::jit::arm64
