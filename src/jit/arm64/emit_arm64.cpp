// AArch64 backend, top level: the two entry points, the shared epilogue and trap code, the
// instruction dispatch (one case per opcodes.def row) and the out-of-line slow paths.
// Layout of the emitted code: [BPF code][slow paths][JitEntry][JitCallEntry][trap][epilogue].
#include <cstddef>
#include <string>

#include "emitter.hpp"

namespace bpfvm::jit::arm64 {

namespace {

constexpr int32_t kFrameBytes = 96;  // x29, x30 and x19-x28, 16-byte aligned

constexpr int32_t trap_field(size_t field) { return static_cast<int32_t>(offsetof(JitRuntime, trap) + field); }

// Conditional branches reach +-1 MiB. A BPF instruction expands to at most ~60 host instructions
// counting its out-of-line slow paths (a checked misaligned atomic), so with fewer than 4096
// instructions (under 1 MiB of code) every branch is in range; larger programs use far branches.
// Checked mode emits the code of a check group twice (memory.cpp): those instructions count twice.
constexpr size_t kFarThreshold = 4096;

}  // namespace

Emitter::Emitter(const Program& program, const HelperTable& helpers, const EngineOptions& options)
    : program_(program), helpers_(helpers), options_(options), use_lse_(lse_available()) {}

Status Emitter::unsupported(const Insn& insn, const std::string& what) const {
    return make_error(ErrorCode::kUnsupported, what, insn.pc);
}

void Emitter::raw(uint32_t word) { as_->embedUInt32(word); }

void Emitter::mov_imm(const GpX& reg, uint64_t value) {
    if (value != 0 && value != ~uint64_t{0} && a64::Utils::isLogicalImm(value, 64)) {
        as_->orr(reg, a64::xzr, value);
        return;
    }
    // Start from all-zeros (movz) or all-ones (movn), whichever leaves fewer chunks to patch.
    int zeros = 0, ones = 0;
    for (int i = 0; i < 4; ++i) {
        const uint64_t chunk = (value >> (16 * i)) & 0xffff;
        zeros += chunk == 0;
        ones += chunk == 0xffff;
    }
    const bool inverted = ones > zeros;
    const uint64_t fill = inverted ? 0xffff : 0;
    bool first = true;
    for (uint32_t i = 0; i < 4; ++i) {
        const uint64_t chunk = (value >> (16 * i)) & 0xffff;
        if (chunk == fill && !(first && i == 3)) continue;
        if (first) {
            if (inverted)
                as_->movn(reg, (~chunk) & 0xffff, asmjit::arm::lsl(16 * i));
            else
                as_->movz(reg, chunk, asmjit::arm::lsl(16 * i));
            first = false;
        } else {
            as_->movk(reg, chunk, asmjit::arm::lsl(16 * i));
        }
    }
}

void Emitter::mov_imm32(const GpW& reg, uint32_t value) {
    if (value != 0 && value != ~uint32_t{0} && a64::Utils::isLogicalImm(value, 32)) {
        as_->orr(reg, a64::wzr, value);
        return;
    }
    const uint32_t lo = value & 0xffff, hi = value >> 16;
    if (hi == 0xffff) {
        as_->movn(reg, (~lo) & 0xffff);
    } else if (lo == 0 && hi != 0) {
        as_->movz(reg, hi, asmjit::arm::lsl(16));
    } else {
        as_->movz(reg, lo);
        if (hi != 0) as_->movk(reg, hi, asmjit::arm::lsl(16));
    }
}

void Emitter::branch_if(CondCode cc, const Label& target) {
    if (!far_) {
        as_->b(cc, target);
        return;
    }
    // AArch64 condition codes come in complementary pairs that differ in the low bit.
    Label skip = as_->newLabel();
    as_->b(static_cast<CondCode>(static_cast<uint8_t>(cc) ^ 1u), skip);
    as_->b(target);
    as_->bind(skip);
}

void Emitter::branch_if_zero(const GpX& reg, const Label& target) {
    if (!far_) {
        as_->cbz(reg, target);
        return;
    }
    Label skip = as_->newLabel();
    as_->cbnz(reg, skip);
    as_->b(target);
    as_->bind(skip);
}

void Emitter::branch_if_nonzero(const GpX& reg, const Label& target) {
    if (!far_) {
        as_->cbnz(reg, target);
        return;
    }
    Label skip = as_->newLabel();
    as_->cbz(reg, skip);
    as_->b(target);
    as_->bind(skip);
}

Label Emitter::trap_label(TrapKind kind, uint32_t pc, bool with_addr, uint64_t addr) {
    Label label = as_->newLabel();
    deferred_.push_back([this, label, kind, pc, with_addr, addr] {
        as_->bind(label);
        if (!with_addr) mov_imm(xr(kImm2), addr);
        mov_imm32(wr(kTmp1), static_cast<uint32_t>(kind));
        mov_imm32(wr(kTmp2), pc);
        as_->mov(wr(kTmp3), a64::wzr);
        as_->mov(wr(kTmp4), a64::wzr);
        as_->b(trap_common_);
    });
    return label;
}

void Emitter::emit_budget(uint32_t pc) {
    if (!options_.checked) return;
    as_->subs(xr(kRegBudget), xr(kRegBudget), 1);
    branch_if(CondCode::kMI, trap_label(TrapKind::InsnBudget, pc));
}

void Emitter::emit_prologue() {
    as_->stp(a64::x29, a64::x30, a64::ptr_pre(a64::sp, -kFrameBytes));
    as_->mov(a64::x29, a64::sp);
    for (uint32_t r = 19, off = 16; r <= 27; r += 2, off += 16) as_->stp(xr(r), xr(r + 1), a64::ptr(a64::sp, off));
}

// Loads the fixed registers from the JitRuntime in x26 and clears the BPF registers that the
// entry does not set, so that no host value leaks into the program. Does not touch x9, x10.
void Emitter::emit_state_setup() {
    const GpX rt = xr(kRegRuntime);
    as_->ldr(xr(kRegCtx), a64::ptr(rt, offsetof(JitRuntime, ctx)));
    as_->ldr(bx(kFrameReg), a64::ptr(rt, offsetof(JitRuntime, stack_top)));
    as_->ldr(xr(kRegStackLimit), a64::ptr(rt, offsetof(JitRuntime, stack_bottom)));
    as_->add(xr(kRegStackLimit), xr(kRegStackLimit), kStackSize);
    as_->ldr(xr(kRegBudget), a64::ptr(rt, offsetof(JitRuntime, budget)));
    as_->mov(xr(kRegEntrySp), a64::sp);
    as_->mov(bx(0), a64::xzr);
    for (uint8_t r = 6; r <= 9; ++r) as_->mov(bx(r), a64::xzr);
}

void Emitter::emit_entry() {
    emit_prologue();
    as_->mov(xr(kRegRuntime), a64::x0);
    emit_state_setup();
    as_->ldr(bx(1), a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, r1)));
    as_->ldr(bx(2), a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, r2)));
    for (uint8_t r = 3; r <= 5; ++r) as_->mov(bx(r), a64::xzr);
    as_->bl(insn_labels_[0]);
    as_->b(epilogue_);
}

void Emitter::emit_call_entry() {
    emit_prologue();
    as_->mov(xr(kRegRuntime), a64::x0);
    as_->mov(xr(kAddr), a64::x1);  // target address
    as_->mov(xr(kTmp1), a64::x2);  // args
    emit_state_setup();
    static_assert(kHostReg[1] == 0 && kHostReg[2] == 1 && kHostReg[3] == 2 && kHostReg[4] == 3 && kHostReg[5] == 4);
    as_->ldp(a64::x0, a64::x1, a64::ptr(xr(kTmp1)));
    as_->ldp(a64::x2, a64::x3, a64::ptr(xr(kTmp1), 16));
    as_->ldr(a64::x4, a64::ptr(xr(kTmp1), 32));
    as_->blr(xr(kAddr));
    as_->b(epilogue_);
}

void Emitter::emit_deferred() {
    // Slow paths may queue further slow paths (a failed access check queues its trap).
    for (size_t i = 0; i < deferred_.size(); ++i) {
        auto fn = std::move(deferred_[i]);
        fn();
    }
    deferred_.clear();
}

Status Emitter::emit_insn(size_t index) {
    const Insn& insn = program_.insns[index];
    switch (insn.op) {
        // ALU, register and immediate forms (RFC 9669 section 4.1).
        case Op::Add32Imm: alu(insn, AluOp::Add, 32, true); break;
        case Op::Add64Imm: alu(insn, AluOp::Add, 64, true); break;
        case Op::Add32Reg: alu(insn, AluOp::Add, 32, false); break;
        case Op::Add64Reg: alu(insn, AluOp::Add, 64, false); break;
        case Op::Sub32Imm: alu(insn, AluOp::Sub, 32, true); break;
        case Op::Sub64Imm: alu(insn, AluOp::Sub, 64, true); break;
        case Op::Sub32Reg: alu(insn, AluOp::Sub, 32, false); break;
        case Op::Sub64Reg: alu(insn, AluOp::Sub, 64, false); break;
        case Op::Mul32Imm: alu(insn, AluOp::Mul, 32, true); break;
        case Op::Mul64Imm: alu(insn, AluOp::Mul, 64, true); break;
        case Op::Mul32Reg: alu(insn, AluOp::Mul, 32, false); break;
        case Op::Mul64Reg: alu(insn, AluOp::Mul, 64, false); break;
        case Op::Div32Imm: alu(insn, AluOp::Div, 32, true); break;
        case Op::Div64Imm: alu(insn, AluOp::Div, 64, true); break;
        case Op::Div32Reg: alu(insn, AluOp::Div, 32, false); break;
        case Op::Div64Reg: alu(insn, AluOp::Div, 64, false); break;
        case Op::Sdiv32Imm: alu(insn, AluOp::Sdiv, 32, true); break;
        case Op::Sdiv64Imm: alu(insn, AluOp::Sdiv, 64, true); break;
        case Op::Sdiv32Reg: alu(insn, AluOp::Sdiv, 32, false); break;
        case Op::Sdiv64Reg: alu(insn, AluOp::Sdiv, 64, false); break;
        case Op::Mod32Imm: alu(insn, AluOp::Mod, 32, true); break;
        case Op::Mod64Imm: alu(insn, AluOp::Mod, 64, true); break;
        case Op::Mod32Reg: alu(insn, AluOp::Mod, 32, false); break;
        case Op::Mod64Reg: alu(insn, AluOp::Mod, 64, false); break;
        case Op::Smod32Imm: alu(insn, AluOp::Smod, 32, true); break;
        case Op::Smod64Imm: alu(insn, AluOp::Smod, 64, true); break;
        case Op::Smod32Reg: alu(insn, AluOp::Smod, 32, false); break;
        case Op::Smod64Reg: alu(insn, AluOp::Smod, 64, false); break;
        case Op::Or32Imm: alu(insn, AluOp::Or, 32, true); break;
        case Op::Or64Imm: alu(insn, AluOp::Or, 64, true); break;
        case Op::Or32Reg: alu(insn, AluOp::Or, 32, false); break;
        case Op::Or64Reg: alu(insn, AluOp::Or, 64, false); break;
        case Op::And32Imm: alu(insn, AluOp::And, 32, true); break;
        case Op::And64Imm: alu(insn, AluOp::And, 64, true); break;
        case Op::And32Reg: alu(insn, AluOp::And, 32, false); break;
        case Op::And64Reg: alu(insn, AluOp::And, 64, false); break;
        case Op::Xor32Imm: alu(insn, AluOp::Xor, 32, true); break;
        case Op::Xor64Imm: alu(insn, AluOp::Xor, 64, true); break;
        case Op::Xor32Reg: alu(insn, AluOp::Xor, 32, false); break;
        case Op::Xor64Reg: alu(insn, AluOp::Xor, 64, false); break;
        case Op::Lsh32Imm: alu(insn, AluOp::Lsh, 32, true); break;
        case Op::Lsh64Imm: alu(insn, AluOp::Lsh, 64, true); break;
        case Op::Lsh32Reg: alu(insn, AluOp::Lsh, 32, false); break;
        case Op::Lsh64Reg: alu(insn, AluOp::Lsh, 64, false); break;
        case Op::Rsh32Imm: alu(insn, AluOp::Rsh, 32, true); break;
        case Op::Rsh64Imm: alu(insn, AluOp::Rsh, 64, true); break;
        case Op::Rsh32Reg: alu(insn, AluOp::Rsh, 32, false); break;
        case Op::Rsh64Reg: alu(insn, AluOp::Rsh, 64, false); break;
        case Op::Arsh32Imm: alu(insn, AluOp::Arsh, 32, true); break;
        case Op::Arsh64Imm: alu(insn, AluOp::Arsh, 64, true); break;
        case Op::Arsh32Reg: alu(insn, AluOp::Arsh, 32, false); break;
        case Op::Arsh64Reg: alu(insn, AluOp::Arsh, 64, false); break;
        case Op::Mov32Imm: alu(insn, AluOp::Mov, 32, true); break;
        case Op::Mov64Imm: alu(insn, AluOp::Mov, 64, true); break;
        case Op::Mov32Reg: alu(insn, AluOp::Mov, 32, false); break;
        case Op::Mov64Reg: alu(insn, AluOp::Mov, 64, false); break;
        case Op::Neg32: neg(insn, 32); break;
        case Op::Neg64: neg(insn, 64); break;
        case Op::Movsx32_8: movsx(insn, 8, 32); break;
        case Op::Movsx32_16: movsx(insn, 16, 32); break;
        case Op::Movsx64_8: movsx(insn, 8, 64); break;
        case Op::Movsx64_16: movsx(insn, 16, 64); break;
        case Op::Movsx64_32: movsx(insn, 32, 64); break;
        // Byte swaps (section 4.2).
        case Op::Le16: endian(insn, 16, false); break;
        case Op::Le32: endian(insn, 32, false); break;
        case Op::Le64: endian(insn, 64, false); break;
        case Op::Be16: endian(insn, 16, true); break;
        case Op::Be32: endian(insn, 32, true); break;
        case Op::Be64: endian(insn, 64, true); break;
        case Op::Bswap16: endian(insn, 16, true); break;
        case Op::Bswap32: endian(insn, 32, true); break;
        case Op::Bswap64: endian(insn, 64, true); break;
        case Op::AddrSpaceCast:
            // Arena pointers need an arena map, which bpfvm does not have: the instruction traps.
            as_->b(trap_label(TrapKind::Unsupported, insn.pc, false, static_cast<uint64_t>(insn.op)));
            break;
        // Jumps (section 4.3).
        case Op::Ja:
        case Op::Gotol: jump(index, insn); break;
        case Op::MayGoto: may_goto(index, insn); break;
        case Op::Jeq64Imm: cond_jump(index, insn, CondCode::kEQ, 64, true, false); break;
        case Op::Jeq32Imm: cond_jump(index, insn, CondCode::kEQ, 32, true, false); break;
        case Op::Jeq64Reg: cond_jump(index, insn, CondCode::kEQ, 64, false, false); break;
        case Op::Jeq32Reg: cond_jump(index, insn, CondCode::kEQ, 32, false, false); break;
        case Op::Jne64Imm: cond_jump(index, insn, CondCode::kNE, 64, true, false); break;
        case Op::Jne32Imm: cond_jump(index, insn, CondCode::kNE, 32, true, false); break;
        case Op::Jne64Reg: cond_jump(index, insn, CondCode::kNE, 64, false, false); break;
        case Op::Jne32Reg: cond_jump(index, insn, CondCode::kNE, 32, false, false); break;
        case Op::Jgt64Imm: cond_jump(index, insn, CondCode::kHI, 64, true, false); break;
        case Op::Jgt32Imm: cond_jump(index, insn, CondCode::kHI, 32, true, false); break;
        case Op::Jgt64Reg: cond_jump(index, insn, CondCode::kHI, 64, false, false); break;
        case Op::Jgt32Reg: cond_jump(index, insn, CondCode::kHI, 32, false, false); break;
        case Op::Jge64Imm: cond_jump(index, insn, CondCode::kHS, 64, true, false); break;
        case Op::Jge32Imm: cond_jump(index, insn, CondCode::kHS, 32, true, false); break;
        case Op::Jge64Reg: cond_jump(index, insn, CondCode::kHS, 64, false, false); break;
        case Op::Jge32Reg: cond_jump(index, insn, CondCode::kHS, 32, false, false); break;
        case Op::Jlt64Imm: cond_jump(index, insn, CondCode::kLO, 64, true, false); break;
        case Op::Jlt32Imm: cond_jump(index, insn, CondCode::kLO, 32, true, false); break;
        case Op::Jlt64Reg: cond_jump(index, insn, CondCode::kLO, 64, false, false); break;
        case Op::Jlt32Reg: cond_jump(index, insn, CondCode::kLO, 32, false, false); break;
        case Op::Jle64Imm: cond_jump(index, insn, CondCode::kLS, 64, true, false); break;
        case Op::Jle32Imm: cond_jump(index, insn, CondCode::kLS, 32, true, false); break;
        case Op::Jle64Reg: cond_jump(index, insn, CondCode::kLS, 64, false, false); break;
        case Op::Jle32Reg: cond_jump(index, insn, CondCode::kLS, 32, false, false); break;
        case Op::Jset64Imm: cond_jump(index, insn, CondCode::kNE, 64, true, true); break;
        case Op::Jset32Imm: cond_jump(index, insn, CondCode::kNE, 32, true, true); break;
        case Op::Jset64Reg: cond_jump(index, insn, CondCode::kNE, 64, false, true); break;
        case Op::Jset32Reg: cond_jump(index, insn, CondCode::kNE, 32, false, true); break;
        case Op::Jsgt64Imm: cond_jump(index, insn, CondCode::kGT, 64, true, false); break;
        case Op::Jsgt32Imm: cond_jump(index, insn, CondCode::kGT, 32, true, false); break;
        case Op::Jsgt64Reg: cond_jump(index, insn, CondCode::kGT, 64, false, false); break;
        case Op::Jsgt32Reg: cond_jump(index, insn, CondCode::kGT, 32, false, false); break;
        case Op::Jsge64Imm: cond_jump(index, insn, CondCode::kGE, 64, true, false); break;
        case Op::Jsge32Imm: cond_jump(index, insn, CondCode::kGE, 32, true, false); break;
        case Op::Jsge64Reg: cond_jump(index, insn, CondCode::kGE, 64, false, false); break;
        case Op::Jsge32Reg: cond_jump(index, insn, CondCode::kGE, 32, false, false); break;
        case Op::Jslt64Imm: cond_jump(index, insn, CondCode::kLT, 64, true, false); break;
        case Op::Jslt32Imm: cond_jump(index, insn, CondCode::kLT, 32, true, false); break;
        case Op::Jslt64Reg: cond_jump(index, insn, CondCode::kLT, 64, false, false); break;
        case Op::Jslt32Reg: cond_jump(index, insn, CondCode::kLT, 32, false, false); break;
        case Op::Jsle64Imm: cond_jump(index, insn, CondCode::kLE, 64, true, false); break;
        case Op::Jsle32Imm: cond_jump(index, insn, CondCode::kLE, 32, true, false); break;
        case Op::Jsle64Reg: cond_jump(index, insn, CondCode::kLE, 64, false, false); break;
        case Op::Jsle32Reg: cond_jump(index, insn, CondCode::kLE, 32, false, false); break;
        // Calls and exit.
        case Op::CallHelper: return call_helper(insn);
        case Op::CallLocal: call_local(insn); break;
        case Op::CallKfunc:
            return unsupported(insn, "kfunc call (btf id " + std::to_string(insn.imm) + ") is not supported by the JIT");
        case Op::Callx: callx(insn); break;
        case Op::Exit: exit_insn(); break;
        // Loads and stores (section 5).
        case Op::Lddw: return lddw(insn);
        case Op::LdAbsB: ld_packet(insn, 1, false); break;
        case Op::LdAbsH: ld_packet(insn, 2, false); break;
        case Op::LdAbsW: ld_packet(insn, 4, false); break;
        case Op::LdIndB: ld_packet(insn, 1, true); break;
        case Op::LdIndH: ld_packet(insn, 2, true); break;
        case Op::LdIndW: ld_packet(insn, 4, true); break;
        case Op::Ldx8: load(insn, 1, false); break;
        case Op::Ldx16: load(insn, 2, false); break;
        case Op::Ldx32: load(insn, 4, false); break;
        case Op::Ldx64: load(insn, 8, false); break;
        case Op::Ldxs8: load(insn, 1, true); break;
        case Op::Ldxs16: load(insn, 2, true); break;
        case Op::Ldxs32: load(insn, 4, true); break;
        case Op::St8: store(insn, 1, true); break;
        case Op::St16: store(insn, 2, true); break;
        case Op::St32: store(insn, 4, true); break;
        case Op::St64: store(insn, 8, true); break;
        case Op::Stx8: store(insn, 1, false); break;
        case Op::Stx16: store(insn, 2, false); break;
        case Op::Stx32: store(insn, 4, false); break;
        case Op::Stx64: store(insn, 8, false); break;
        // Atomics (section 5.3).
        case Op::AtomicAdd32: atomic(insn, AtomicOp::Add, false, 32); break;
        case Op::AtomicOr32: atomic(insn, AtomicOp::Or, false, 32); break;
        case Op::AtomicAnd32: atomic(insn, AtomicOp::And, false, 32); break;
        case Op::AtomicXor32: atomic(insn, AtomicOp::Xor, false, 32); break;
        case Op::AtomicFetchAdd32: atomic(insn, AtomicOp::Add, true, 32); break;
        case Op::AtomicFetchOr32: atomic(insn, AtomicOp::Or, true, 32); break;
        case Op::AtomicFetchAnd32: atomic(insn, AtomicOp::And, true, 32); break;
        case Op::AtomicFetchXor32: atomic(insn, AtomicOp::Xor, true, 32); break;
        case Op::AtomicXchg32: atomic(insn, AtomicOp::Xchg, true, 32); break;
        case Op::AtomicCmpxchg32: atomic(insn, AtomicOp::Cmpxchg, true, 32); break;
        case Op::AtomicAdd64: atomic(insn, AtomicOp::Add, false, 64); break;
        case Op::AtomicOr64: atomic(insn, AtomicOp::Or, false, 64); break;
        case Op::AtomicAnd64: atomic(insn, AtomicOp::And, false, 64); break;
        case Op::AtomicXor64: atomic(insn, AtomicOp::Xor, false, 64); break;
        case Op::AtomicFetchAdd64: atomic(insn, AtomicOp::Add, true, 64); break;
        case Op::AtomicFetchOr64: atomic(insn, AtomicOp::Or, true, 64); break;
        case Op::AtomicFetchAnd64: atomic(insn, AtomicOp::And, true, 64); break;
        case Op::AtomicFetchXor64: atomic(insn, AtomicOp::Xor, true, 64); break;
        case Op::AtomicXchg64: atomic(insn, AtomicOp::Xchg, true, 64); break;
        case Op::AtomicCmpxchg64: atomic(insn, AtomicOp::Cmpxchg, true, 64); break;
        // Load-acquire and store-release: LDAR/STLR (the kernel's arm64 JIT emits the same).
        case Op::LoadAcquire8: acquire_release(insn, 1, true); break;
        case Op::LoadAcquire16: acquire_release(insn, 2, true); break;
        case Op::LoadAcquire32: acquire_release(insn, 4, true); break;
        case Op::LoadAcquire64: acquire_release(insn, 8, true); break;
        case Op::StoreRelease8: acquire_release(insn, 1, false); break;
        case Op::StoreRelease16: acquire_release(insn, 2, false); break;
        case Op::StoreRelease32: acquire_release(insn, 4, false); break;
        case Op::StoreRelease64: acquire_release(insn, 8, false); break;
    }
    return {};
}

Result<EmittedCode> Emitter::run(CodeSink& sink) {
    code_.init(asmjit::Environment(asmjit::Arch::kAArch64));
    code_.setErrorHandler(&errors_);
    a64::Assembler as(&code_);
    as_ = &as;

    const size_t n = program_.insns.size();
    insn_labels_.reserve(n);
    for (size_t i = 0; i < n; ++i) insn_labels_.push_back(as.newLabel());
    epilogue_ = as.newLabel();
    trap_common_ = as.newLabel();

    marks_ = mark_program(program_);
    may_goto_ = marks_.may_goto;
    size_t emitted = n;  // instructions emitted, a check group's twice
    if (options_.checked) {
        groups_.start(program_, marks_);
        for (const CheckGroup& g : groups_.groups()) emitted += g.last - g.lead + 1;
    }
    far_ = emitted > kFarThreshold;

    EmittedCode out;
    out.insn_offsets.resize(n);
    out.may_goto = may_goto_;
    for (size_t i = 0; i < n; ++i) {
        as.bind(insn_labels_[i]);
        out.insn_offsets[i] = static_cast<uint32_t>(as.offset());
        const Insn& insn = program_.insns[i];
        const Form form = op_info(insn.op).form;
        if (marks_.at[i] & kMarkFrameWrite) {
            // A write to r10 decodes (the verifier judges it) but never runs: it traps instead.
            as.b(trap_label(TrapKind::FrameWrite, insn.pc));
        } else if ((form == Form::JmpImm || form == Form::JmpReg) && insn.target == i + 2 &&
                   !(marks_.at[i + 1] & kMarkEntered) && (program_.insns[i + 1].op == Op::Ja || program_.insns[i + 1].op == Op::Gotol) &&
                   !(options_.checked && back_jump(i + 1))) {
            // if (c) goto +1; goto L  ==>  if (!c) goto L (checked mode keeps a backward goto,
            // which pays the budget only when taken).
            jump_to_ = insn_labels_[program_.insns[i + 1].target];
            jump_inverted_ = true;
            const Status s = emit_insn(i);
            jump_to_ = Label();
            jump_inverted_ = false;
            BPFVM_TRY(s);
            ++i;
            as.bind(insn_labels_[i]);
            out.insn_offsets[i] = static_cast<uint32_t>(as.offset());
        } else {
            BPFVM_TRY(emit_insn(i));
        }
        if (group_open_ && i >= groups_.last()) {
            // The code of a check group is placed: its second copy continues here.
            as.bind(group_after_);
            group_open_ = false;
        }
        if (errors_.first != asmjit::kErrorOk)
            return make_error(ErrorCode::kUnsupported, "jit: arm64 assembler error: " + errors_.message, program_.insns[i].pc);
    }
    out.body_end_offset = as.offset();
    emit_deferred();

    out.entry_offset = as.offset();
    emit_entry();
    out.call_entry_offset = as.offset();
    emit_call_entry();

    // Trap: w10 kind, w11 pc, x17 addr, w12 size, w13 write.
    as.bind(trap_common_);
    const GpX rt = xr(kRegRuntime);
    as.strb(wr(kTmp1), a64::ptr(rt, trap_field(offsetof(Trap, kind))));
    as.str(wr(kTmp2), a64::ptr(rt, trap_field(offsetof(Trap, pc))));
    as.str(xr(kImm2), a64::ptr(rt, trap_field(offsetof(Trap, addr))));
    as.str(wr(kTmp3), a64::ptr(rt, trap_field(offsetof(Trap, size))));
    as.strb(wr(kTmp4), a64::ptr(rt, trap_field(offsetof(Trap, write))));
    as.mov(a64::sp, xr(kRegEntrySp));

    // Shared epilogue: r0 is the return value.
    as.bind(epilogue_);
    as.mov(a64::x0, bx(0));
    // The driver hands the remaining budget of a callback back to its caller.
    as.str(xr(kRegBudget), a64::ptr(rt, offsetof(JitRuntime, budget)));
    for (uint32_t r = 27, off = 80; r >= 19; r -= 2, off -= 16) as.ldp(xr(r), xr(r + 1), a64::ptr(a64::sp, off));
    as.ldp(a64::x29, a64::x30, a64::ptr_post(a64::sp, kFrameBytes));
    as.ret(a64::x30);

    code_.flatten();
    code_.resolveUnresolvedLinks();
    if (errors_.first != asmjit::kErrorOk)
        return make_error(ErrorCode::kUnsupported, "jit: arm64 assembler error: " + errors_.message);
    std::vector<uint8_t> bytes(code_.codeSize());
    if (code_.copyFlattenedData(bytes.data(), bytes.size()) != asmjit::kErrorOk)
        return make_error(ErrorCode::kUnsupported, "jit: cannot copy the arm64 code");
    as_ = nullptr;
    BPFVM_TRY(sink.accept(bytes.data(), bytes.size()));
    return out;
}

}  // namespace bpfvm::jit::arm64

namespace bpfvm::jit {

Result<EmittedCode> emit_arm64(const Program& program, const HelperTable& helpers, const EngineOptions& options,
                               CodeSink& sink) {
    arm64::Emitter emitter(program, helpers, options);
    return emitter.run(sink);
}

}  // namespace bpfvm::jit
