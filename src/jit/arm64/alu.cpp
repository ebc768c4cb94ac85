// AArch64 backend: ALU, sign extension and byte swaps (RFC 9669 sections 4.1 and 4.2).
//
// 32-bit operations use the W view of the host register: every AArch64 instruction that writes a
// W register clears bits 63:32, which is exactly the ALU32 zero-extension rule.
// Division and modulo need no branches: UDIV/SDIV return 0 for a zero divisor, and SDIV of
// INT_MIN by -1 returns INT_MIN; MSUB then gives x - (x / y) * y, which is x for y == 0 and 0 for
// INT_MIN % -1 (sem::udiv64/umod64/sdiv64/smod64 and their 32-bit forms).
// Variable shifts (LSLV/LSRV/ASRV) use the shift amount modulo the register width, as eBPF does.
#include "emitter.hpp"

namespace bpfvm::jit::arm64 {

namespace {

/// True when |imm| fits ADD/SUB's 12-bit immediate, optionally shifted left by 12.
bool add_sub_encodable(uint64_t magnitude) {
    return magnitude < 4096 || ((magnitude & 0xfff) == 0 && magnitude < (uint64_t{1} << 24));
}

}  // namespace

void Emitter::alu(const Insn& insn, AluOp op, unsigned width, bool imm) {
    if (!imm) {
        alu_reg(op, width, insn.dst, bx(insn.src));
        return;
    }
    if (alu_imm_direct(op, width, insn.dst, insn.imm)) return;
    if ((op == AluOp::Div || op == AluOp::Sdiv || op == AluOp::Mod || op == AluOp::Smod) &&
        divmod_const(insn, op, width))
        return;
    // The immediate is sign-extended to 64 bits for ALU64 and used as 32 bits for ALU32.
    if (width == 64)
        mov_imm(xr(kImm), static_cast<uint64_t>(insn.imm));
    else
        mov_imm32(wr(kImm), static_cast<uint32_t>(insn.imm));
    alu_reg(op, width, insn.dst, xr(kImm));
}

void Emitter::alu_reg(AluOp op, unsigned width, uint8_t dst, const GpX& src) {
    const a64::Gp d = width == 64 ? a64::Gp(bx(dst)) : a64::Gp(bw(dst));
    const a64::Gp s = width == 64 ? a64::Gp(src) : a64::Gp(wr(src.id()));
    switch (op) {
        case AluOp::Add: as_->add(d, d, s); break;
        case AluOp::Sub: as_->sub(d, d, s); break;
        case AluOp::Mul: as_->mul(d, d, s); break;
        case AluOp::Div:
        case AluOp::Sdiv:
        case AluOp::Mod:
        case AluOp::Smod: divmod(op, width, dst, src); break;
        case AluOp::Or: as_->orr(d, d, s); break;
        case AluOp::And: as_->and_(d, d, s); break;
        case AluOp::Xor: as_->eor(d, d, s); break;
        case AluOp::Lsh: as_->lslv(d, d, s); break;
        case AluOp::Rsh: as_->lsrv(d, d, s); break;
        case AluOp::Arsh: as_->asrv(d, d, s); break;
        case AluOp::Mov: as_->mov(d, s); break;
    }
}

bool Emitter::alu_imm_direct(AluOp op, unsigned width, uint8_t dst, int64_t imm) {
    const a64::Gp d = width == 64 ? a64::Gp(bx(dst)) : a64::Gp(bw(dst));
    // The operand value as the operation sees it.
    const uint64_t value = width == 64 ? static_cast<uint64_t>(imm) : static_cast<uint32_t>(imm);
    const uint64_t magnitude = imm < 0 ? uint64_t{0} - static_cast<uint64_t>(imm) : static_cast<uint64_t>(imm);
    switch (op) {
        case AluOp::Add:
        case AluOp::Sub: {
            if (!add_sub_encodable(magnitude)) return false;
            // x + imm == x - (-imm) modulo 2^width, so a negative immediate flips the operation.
            const bool add = (op == AluOp::Add) == (imm >= 0);
            if (add)
                as_->add(d, d, magnitude);
            else
                as_->sub(d, d, magnitude);
            return true;
        }
        case AluOp::Or:
        case AluOp::And:
        case AluOp::Xor:
            if (!a64::Utils::isLogicalImm(value, width)) return false;
            if (op == AluOp::Or)
                as_->orr(d, d, value);
            else if (op == AluOp::And)
                as_->and_(d, d, value);
            else
                as_->eor(d, d, value);
            return true;
        case AluOp::Lsh:
        case AluOp::Rsh:
        case AluOp::Arsh: {
            // Shift counts are taken modulo the width (sem::lsh64 and friends).
            const uint32_t amount = static_cast<uint32_t>(imm) & (width - 1);
            if (op == AluOp::Lsh)
                as_->lsl(d, d, amount);
            else if (op == AluOp::Rsh)
                as_->lsr(d, d, amount);
            else
                as_->asr(d, d, amount);
            return true;
        }
        case AluOp::Mov:
            if (width == 64)
                mov_imm(bx(dst), value);
            else
                mov_imm32(bw(dst), static_cast<uint32_t>(value));
            return true;
        case AluOp::Mul:
        case AluOp::Div:
        case AluOp::Sdiv:
        case AluOp::Mod:
        case AluOp::Smod:
            return false;
    }
    return false;
}

void Emitter::divmod(AluOp op, unsigned width, uint8_t dst, const GpX& src) {
    const a64::Gp d = width == 64 ? a64::Gp(bx(dst)) : a64::Gp(bw(dst));
    const a64::Gp s = width == 64 ? a64::Gp(src) : a64::Gp(wr(src.id()));
    const a64::Gp q = width == 64 ? a64::Gp(xr(kTmp1)) : a64::Gp(wr(kTmp1));
    switch (op) {
        case AluOp::Div: as_->udiv(d, d, s); break;
        case AluOp::Sdiv: as_->sdiv(d, d, s); break;
        case AluOp::Mod:
            as_->udiv(q, d, s);
            as_->msub(d, q, s, d);
            break;
        case AluOp::Smod:
            as_->sdiv(q, d, s);
            as_->msub(d, q, s, d);
            break;
        case AluOp::Add:
        case AluOp::Sub:
        case AluOp::Mul:
        case AluOp::Or:
        case AluOp::And:
        case AluOp::Xor:
        case AluOp::Lsh:
        case AluOp::Rsh:
        case AluOp::Arsh:
        case AluOp::Mov:
            BPFVM_ASSERT(false && "divmod called for a non-division operation");
    }
}

void Emitter::neg(const Insn& insn, unsigned width) {
    if (width == 64)
        as_->neg(bx(insn.dst), bx(insn.dst));
    else
        as_->neg(bw(insn.dst), bw(insn.dst));
}

void Emitter::movsx(const Insn& insn, unsigned from, unsigned width) {
    // SXTB/SXTH with a W destination sign-extend into bits 31:0 and clear 63:32 (MOVSX ALU32).
    const GpW s = bw(insn.src);
    if (width == 32) {
        if (from == 8)
            as_->sxtb(bw(insn.dst), s);
        else
            as_->sxth(bw(insn.dst), s);
        return;
    }
    if (from == 8)
        as_->sxtb(bx(insn.dst), s);
    else if (from == 16)
        as_->sxth(bx(insn.dst), s);
    else
        as_->sxtw(bx(insn.dst), s);
}

void Emitter::endian(const Insn& insn, unsigned width, bool swap) {
    // The host is little-endian: LE only truncates, BE and BSWAP reverse the bytes (sem::to_le,
    // sem::byte_swap). REV16 swaps the bytes of each halfword, so UXTH keeps the low one.
    const GpX dx = bx(insn.dst);
    const GpW dw = bw(insn.dst);
    if (!swap) {
        if (width == 16) as_->uxth(dw, dw);
        if (width == 32) as_->mov(dw, dw);
        return;
    }
    if (width == 16) {
        as_->rev16(dw, dw);
        as_->uxth(dw, dw);
    } else if (width == 32) {
        as_->rev(dw, dw);
    } else {
        as_->rev(dx, dx);
    }
}

}  // namespace bpfvm::jit::arm64
