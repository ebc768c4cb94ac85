// x86-64 backend: entry points, the per-instruction dispatch, control flow, calls and trap stubs.
// ALU instructions are in alu.cpp, memory accesses and atomics in memory.cpp.
#include "emitter.hpp"

#include <cstddef>

namespace bpfvm::jit::x86 {
namespace {

// Host callee-saved registers that BPF code may use (rsp excluded): r10 (rbp) and the runtime
// pointer (r12) always, r6-r9 (rbx, r13, r14, r15) when the program names them. After the pushes
// and the return address rsp must be 8 mod 16, so that the `call` into BPF code enters it 16-byte
// aligned: an odd number of pushes adds 8 bytes of padding.
const ax::Gp kSaved[] = {ax::rbx, ax::rbp, ax::r12, ax::r13, ax::r14, ax::r15};
// BPF callee-saved registers r6-r10, pushed around a local call: five pushes plus the return
// address keep rsp 16-byte aligned in the callee.
constexpr uint8_t kLocalSaved[] = {6, 7, 8, 9, 10};

}  // namespace

HostFeatures& host_features() {
    static HostFeatures features = [] {
        HostFeatures f;
        __builtin_cpu_init();
        f.bmi2 = __builtin_cpu_supports("bmi2");
        return f;
    }();
    return features;
}

void Emitter::call_abs(const void* fn) {
    as_.mov(kTmp1, a::Imm(reinterpret_cast<uint64_t>(fn)));
    as_.call(kTmp1);
}

uint32_t Emitter::trap_stub(TrapKind kind, uint32_t pc, uint32_t addr) {
    traps_.push_back({kind, pc, addr});
    return kStubId + static_cast<uint32_t>(traps_.size() - 1);
}

void Emitter::branch(Branch kind, uint32_t target, ax::CondCode cc) {
    const auto code = static_cast<uint8_t>(cc);
    if (target < placed_)  // placed already: the displacement is known
        as_.branch_to(kind, code, offsets_[target]);
    else
        fixups_.push_back({as_.branch_forward(kind, code), target});
}

void Emitter::patch_branches() {
    for (const Fixup& f : fixups_) {
        const uint32_t to = f.target >= kStubId       ? trap_offsets_[f.target - kStubId]
                            : f.target == kExitStubId ? exit_stub_offset_
                                                      : offsets_[f.target];
        as_.patch_rel32(f.at, to);
    }
}

void Emitter::emit_budget_tick(uint32_t pc) {
    // sub qword [r12 + budget], 1 as fixed bytes (one per backward jump in checked code): REX.W+B,
    // 83 /5 ib, ModRM disp8 with a SIB byte for the r12 base (Intel SDM vol. 2, SUB).
    static_assert(offsetof(JitRuntime, budget) < 128);
    static constexpr uint8_t kSubBudget[] = {0x49, 0x83, 0x6c, 0x24, offsetof(JitRuntime, budget), 0x01};
    as_.embed(kSubBudget, sizeof kSubBudget);
    jcc(ax::CondCode::kSignedLT, trap_stub(TrapKind::InsnBudget, pc));
}

void Emitter::emit_jump(const Insn& insn, uint32_t index, ax::CondCode cc, bool is_imm, unsigned width, bool test) {
    if (checked_ && back_jump(index)) emit_budget_tick(insn.pc);
    const uint32_t dst = kHostReg[insn.dst];
    const bool wide = width == 64;
    if (is_imm) {
        if (test)
            as_.test(sized(q(insn.dst), width), a::Imm(static_cast<int32_t>(insn.imm)));
        else if (insn.imm == 0)
            as_.test_rr(dst, dst, wide);  // same flags as cmp dst, 0 (CF = OF = 0), shorter
        else
            as_.alu_ri(7, dst, wide, static_cast<int32_t>(insn.imm));  // cmp
    } else {
        const uint32_t src = kHostReg[insn.src];
        if (test)
            as_.test_rr(dst, src, wide);
        else
            as_.alu_rr(7, dst, src, wide);  // cmp
    }
    jcc(jump_inverted_ ? ax::negateCond(cc) : cc, jump_to_ != kNoTarget ? jump_to_ : insn.target);
}

// may_goto's budget of the running frame: JitRuntime::may_goto[(r10 - stack_bottom) / 512 - 1].
// Frames sit at fixed places in the stack area, so r10 names the frame (kTmp0 is clobbered).
ax::Mem Emitter::may_goto_counter() {
    as_.mov(kTmp0, q(kFrameReg));
    as_.sub(kTmp0, BPFVM_RT_FIELD(stack_bottom, 8));
    as_.shr(kTmp0, 9);
    static_assert(kStackSize == 512);
    return ax::qword_ptr(kRt, kTmp0, 3, static_cast<int32_t>(offsetof(JitRuntime, may_goto)) - 8);
}

void Emitter::emit_may_goto(const Insn& insn, uint32_t index) {
    // Falls through while the budget lasts (taking one unit), then jumps (the kernel's rewrite:
    // if counter == 0 goto target; counter -= 1).
    const ax::Mem counter = may_goto_counter();
    const a::Label fall = as_.newLabel();
    as_.cmp(counter, 0);
    as_.j(ax::CondCode::kNotEqual, fall);
    if (checked_ && back_jump(index)) emit_budget_tick(insn.pc);
    jmp(insn.target);
    as_.bind(fall);
    as_.sub(counter, 1);
}

void Emitter::emit_after_helper(uint32_t pc) {
    // A helper that faults or tail-calls sets ctx->stop; the stub records the pc (the kind stays
    // None: the driver turns kStopFault into HelperFault and kStopTailCall into a tail call).
    if (checked_) {  // the helper may have dropped the cached regions
        as_.xor_(kTmp1.r32(), kTmp1.r32());
        as_.mov(BPFVM_RT_FIELD(read_starts, 8), kTmp1);
        as_.mov(BPFVM_RT_FIELD(write_starts, 8), kTmp1);
    }
    as_.mov(kTmp2, BPFVM_RT_FIELD(ctx, 8));
    as_.cmp(ax::dword_ptr(kTmp2, run_context_stop_offset()), 0);
    jcc(ax::CondCode::kNotEqual, trap_stub(TrapKind::None, pc));
}

bool Emitter::emit_call_helper(const Insn& insn) {
    const HelperFn fn = insn.imm >= 0 ? helpers_.get(static_cast<uint64_t>(insn.imm)) : nullptr;
    if (fn == nullptr) {  // same text as the interpreter's
        std::string what = "call to unknown helper " + std::to_string(insn.imm);
        const auto name = insn.imm > 0 && insn.imm < INT32_MAX ? helper_name(static_cast<int>(insn.imm)) : std::string_view{};
        if (!name.empty()) what += " (" + std::string(name) + ")";
        error_ = make_error(ErrorCode::kNotFound, what, insn.pc);
        return false;
    }
    if (checked_) emit_budget_tick(insn.pc);
    // r1-r5 already sit in rdi, rsi, rdx, rcx, r8; the sixth argument is the RunContext. The frame
    // is recorded for callbacks (they run below it).
    as_.mov(BPFVM_RT_FIELD(frame, 8), q(kFrameReg));
    as_.mov(kTmp2, BPFVM_RT_FIELD(ctx, 8));
    call_abs(reinterpret_cast<const void*>(fn));
    emit_after_helper(insn.pc);
    return true;
}

void Emitter::emit_callx(const Insn& insn) {
    if (checked_) emit_budget_tick(insn.pc);
    const uint32_t unknown = trap_stub(TrapKind::UnknownHelper, insn.pc);
    as_.mov(kTmp0, q(insn.dst));
    as_.cmp(kTmp0, kMaxHelperId);
    jcc(ax::CondCode::kUnsignedGE, unknown);
    as_.mov(kTmp1, BPFVM_RT_FIELD(helpers, 8));
    as_.mov(kTmp1, ax::qword_ptr(kTmp1, kTmp0, 3, static_cast<int32_t>(offsetof(HelperTable, fns))));
    as_.test(kTmp1, kTmp1);
    jcc(ax::CondCode::kZero, unknown);
    as_.mov(BPFVM_RT_FIELD(frame, 8), q(kFrameReg));
    as_.mov(kTmp2, BPFVM_RT_FIELD(ctx, 8));
    as_.call(kTmp1);
    emit_after_helper(insn.pc);
}

void Emitter::emit_call_local(const Insn& insn) {
    if (checked_) emit_budget_tick(insn.pc);
    // The callee's frame is [r10 - 2*512, r10 - 512); it must lie above stack_bottom.
    as_.lea(kTmp0, ax::qword_ptr(q(kFrameReg), -2 * static_cast<int32_t>(kStackSize)));
    as_.cmp(kTmp0, BPFVM_RT_FIELD(stack_bottom, 8));
    jcc(ax::CondCode::kUnsignedLT, trap_stub(TrapKind::CallDepth, insn.pc));
    for (uint8_t r : kLocalSaved) as_.push(q(r));
    as_.sub(q(kFrameReg), kStackSize);
    if (may_goto_) as_.mov(may_goto_counter(), static_cast<int32_t>(kMayGotoBudget));  // a fresh frame
    branch(Branch::Call, insn.target);
    for (size_t i = std::size(kLocalSaved); i-- > 0;) as_.pop(q(kLocalSaved[i]));
}

void Emitter::emit_entry_points(EmittedCode& out) {
    // The BPF registers the program names (dst and src fields; a pseudo src only adds a spare
    // caller-saved one): callee-saved host registers are saved and registers zeroed for those only.
    uint32_t named = 1u << kFrameReg;
    for (const Insn& insn : prog_.insns) named |= (1u << insn.dst) | (1u << (insn.src & 15));
    std::vector<ax::Gp> saved;
    for (const ax::Gp& r : kSaved) {
        const bool fixed = r.id() == ax::Gp::kIdBp || r.id() == kRt.id();
        bool used = fixed;
        for (uint8_t b = 6; b <= 9; ++b) used = used || (r.id() == kHostReg[b] && ((named >> b) & 1));
        if (used) saved.push_back(r);
    }
    const bool pad = saved.size() % 2 == 1;
    const a::Label epilogue = as_.newLabel();
    auto prologue = [&] {
        for (const ax::Gp& r : saved) as_.push(r);
        if (pad) as_.sub(ax::rsp, 8);
        as_.mov(kRt, ax::rdi);
        as_.mov(BPFVM_RT_FIELD(host_sp, 8), ax::rsp);
    };
    // Registers the program may read before writing get defined values (the interpreter starts
    // from zeroed registers too).
    auto zero = [&](std::initializer_list<uint8_t> regs) {
        for (uint8_t r : regs)
            if ((named >> r) & 1) as_.xor_(d(r), d(r));
    };

    // JitEntry(runtime): r1, r2 from the runtime, r3-r5 zero, r10 = stack_top.
    out.entry_offset = as_.offset();
    prologue();
    as_.mov(q(1), BPFVM_RT_FIELD(r1, 8));
    as_.mov(q(2), BPFVM_RT_FIELD(r2, 8));
    zero({0, 3, 4, 5, 6, 7, 8, 9});
    as_.mov(q(kFrameReg), BPFVM_RT_FIELD(stack_top, 8));
    branch(Branch::Call, 0);
    as_.bind(epilogue);
    if (pad) as_.add(ax::rsp, 8);
    for (size_t i = saved.size(); i-- > 0;) as_.pop(saved[i]);
    as_.ret();

    // JitCallEntry(runtime, target, args): r1-r5 from args[0..4], then a call to `target`.
    out.call_entry_offset = as_.offset();
    prologue();
    as_.mov(kTmp0, ax::rsi);
    as_.mov(kTmp1, ax::rdx);
    for (uint8_t r = 1; r <= 5; ++r) as_.mov(q(r), ax::qword_ptr(kTmp1, 8 * (r - 1)));
    zero({0, 6, 7, 8, 9});
    as_.mov(q(kFrameReg), BPFVM_RT_FIELD(stack_top, 8));
    as_.call(kTmp0);
    as_.jmp(epilogue);

    // Trap exit: drop every BPF frame at once.
    as_.bind(unwind_);
    as_.mov(ax::rsp, BPFVM_RT_FIELD(host_sp, 8));
    as_.jmp(epilogue);
}

void Emitter::emit_trap_stubs() {
    // Each trap site gets a stub that loads its pc into kTmp1 and jumps to the tail of its kind
    // (and constant address), which stores the trap and unwinds. Tails come first, so the stubs'
    // jumps are backward with known displacements (short when they reach): checked code has a
    // site per backward jump, helper call and local call.
    struct Tail {
        TrapKind kind;
        uint32_t addr;
        uint32_t offset;
    };
    std::vector<Tail> tails;
    auto tail_of = [&](const TrapStub& t) -> const Tail* {
        for (const Tail& tail : tails)
            if (tail.kind == t.kind && tail.addr == t.addr) return &tail;
        return nullptr;
    };
    for (const TrapStub& t : traps_) {
        if (tail_of(t) != nullptr) continue;
        tails.push_back({t.kind, t.addr, static_cast<uint32_t>(as_.offset())});
        if (t.kind == TrapKind::None) {
            // A helper stopped the run (fault or tail call). A trap the driver recorded during the
            // call (a callback's own trap) is kept; the call site pc fills in a placeholder pc.
            const a::Label write_pc = as_.newLabel();
            as_.cmp(BPFVM_RT_TRAP(kind, 1), 0);
            as_.j(ax::CondCode::kEqual, write_pc);
            as_.cmp(BPFVM_RT_TRAP(pc, 4), -1);
            as_.j(ax::CondCode::kNotEqual, unwind_);
            as_.bind(write_pc);
            as_.mov(BPFVM_RT_TRAP(pc, 4), kTmp1.r32());
            as_.jmp(unwind_);
            continue;
        }
        if (t.kind == TrapKind::UnknownHelper) as_.mov(BPFVM_RT_TRAP(addr, 8), kTmp0);
        else if (t.addr != 0) as_.mov(BPFVM_RT_TRAP(addr, 8), static_cast<int32_t>(t.addr));
        as_.mov(BPFVM_RT_TRAP(pc, 4), kTmp1.r32());
        as_.mov(BPFVM_RT_TRAP(kind, 1), static_cast<uint8_t>(t.kind));
        as_.jmp(unwind_);
    }
    trap_offsets_.resize(traps_.size());
    for (size_t k = 0; k < traps_.size(); ++k) {
        trap_offsets_[k] = static_cast<uint32_t>(as_.offset());
        as_.mov(kTmp1.r32(), traps_[k].pc);
        as_.branch_to(Branch::Jmp, 0, tail_of(traps_[k])->offset);
    }
}

Status Emitter::emit(EmittedCode& out) {
    const auto n = static_cast<uint32_t>(prog_.insns.size());
    BPFVM_ASSERT(kRt.id() == ax::Gp::kIdR12);  // emit_budget_tick's fixed bytes name r12
    marks_ = mark_program(prog_);
    if (checked_) groups_.start(prog_, marks_);
    may_goto_ = marks_.may_goto;
    unwind_ = as_.newLabel();
    traps_.reserve(checked_ ? n / 2 + 16 : 16);
    fixups_.reserve(n / 2 + 16);
    offsets_.resize(n);

    emit_entry_points(out);
    for (uint32_t i = 0; i < n;) {
        const uint8_t marks = marks_.at[i];
        // Loop heads start on a 16-byte boundary (the padding runs once, on loop entry).
        if (marks & kMarkLoopHead) as_.align(a::AlignMode::kCode, 16);
        // Other paths join at a jump target: nothing is known there. A select, not a branch (which
        // instructions are targets follows no pattern on branch-dense code).
        upper_zero_ = (marks & kMarkEntered) ? 0 : upper_zero_;
        offsets_[i] = static_cast<uint32_t>(as_.offset());
        placed_ = i + 1;
        uint32_t used = 0;
        if (marks & kMarkFrameWrite) {
            // A write to r10 decodes (the verifier judges it) but never runs: it traps instead.
            jmp(trap_stub(TrapKind::FrameWrite, prog_.insns[i].pc));
            used = 1;
        } else {
            used = emit_fused(i);
        }
        if (used == 0) {
            if (!emit_insn(i)) return std::move(*error_);
            used = 1;
        }
        track_upper_zero(prog_.insns[i]);
        for (uint32_t k = 1; k < used; ++k) {  // a peephole's further instructions
            offsets_[i + k] = static_cast<uint32_t>(as_.offset());
            track_upper_zero(prog_.insns[i + k]);
        }
        i += used;
        if (open_group_stub_ != kNoStub && i > groups_.last()) {
            // The code of an access group is placed: its second copy runs up to here.
            as_.bind(checks_[open_group_stub_].after);
            checks_[open_group_stub_].last = i - 1;
            open_group_stub_ = kNoStub;
        }
    }
    placed_ = n;
    out.body_end_offset = as_.offset();
    out.may_goto = may_goto_;
    emit_check_stubs();
    emit_trap_stubs();
    patch_branches();
    out.insn_offsets = std::move(offsets_);
    return {};
}

}  // namespace bpfvm::jit::x86

namespace bpfvm::jit {

Result<EmittedCode> emit_x86_64(const Program& program, const HelperTable& helpers, const EngineOptions& options,
                                CodeSink& sink) {
    // Sized once for typical code (about 10 bytes per instruction in checked mode); it grows by
    // doubling past that.
    x86::Encoder code(16 * program.insns.size() + 1024);
    x86::Emitter emitter(program, helpers, options, code);
    EmittedCode out;
    BPFVM_TRY(emitter.emit(out));
    if (!code.finish()) return make_error(ErrorCode::kUnsupported, std::string("jit: ") + code.error());
    BPFVM_TRY(sink.accept(code.bufferData(), code.offset()));
    return out;
}

}  // namespace bpfvm::jit
