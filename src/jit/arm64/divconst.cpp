// AArch64 backend: division and modulo by a constant through a multiply-high (div_magic.hpp):
// UMULL/SMULL (32-bit) or UMULH/SMULH (64-bit), shifts and, for the modulo, MSUB. UDIV and SDIV
// take 7 to 40 cycles depending on the core; the kernel's JIT uses them for constants too.
// Unsigned powers of two become a shift or a mask.
#include <bit>
#include <cstdint>

#include "div_magic.hpp"
#include "emitter.hpp"

namespace bpfvm::jit::arm64 {

bool Emitter::divmod_const(const Insn& insn, AluOp op, unsigned width) {
    const bool is_signed = op == AluOp::Sdiv || op == AluOp::Smod;
    const bool is_mod = op == AluOp::Mod || op == AluOp::Smod;
    const bool w64 = width == 64;
    const uint64_t value = w64 ? static_cast<uint64_t>(insn.imm) : static_cast<uint32_t>(insn.imm);
    const int64_t svalue = w64 ? insn.imm : static_cast<int32_t>(insn.imm);
    // 0, 1 and -1 (signed) keep UDIV/SDIV, whose results there are already the ISA's.
    if (value == 0 || (is_signed && (svalue == 1 || svalue == -1))) return false;
    auto g = [w64](uint32_t id) { return w64 ? a64::Gp(xr(id)) : a64::Gp(wr(id)); };
    const a64::Gp d = w64 ? a64::Gp(bx(insn.dst)) : a64::Gp(bw(insn.dst));
    if (!is_signed && std::has_single_bit(value)) {
        const auto shift = static_cast<uint32_t>(std::countr_zero(value));
        if (!is_mod) {
            as_->lsr(d, d, shift);  // a shift by 0 still writes (and zero-extends) the W register
        } else if (shift == 0) {
            as_->mov(d, w64 ? a64::Gp(a64::xzr) : a64::Gp(a64::wzr));
        } else if (a64::Utils::isLogicalImm(value - 1, width)) {
            as_->and_(d, d, value - 1);
        } else {
            mov_imm(xr(kImm), value - 1);
            as_->and_(d, d, g(kImm));
        }
        return true;
    }
    const a64::Gp q = g(kTmp1);
    if (!is_signed) {
        const UnsignedMagic m = unsigned_magic(value, width);
        mov_imm(xr(kImm), m.mul);
        if (w64) {
            as_->umulh(xr(kTmp1), bx(insn.dst), xr(kImm));
        } else {
            as_->umull(xr(kTmp1), bw(insn.dst), wr(kImm));
            as_->lsr(xr(kTmp1), xr(kTmp1), 32);
        }
        if (m.add) {  // q = (((n - t) >> 1) + t) >> shift
            as_->sub(g(kTmp2), d, q);
            as_->lsr(g(kTmp2), g(kTmp2), 1);
            as_->add(q, g(kTmp2), q);
        }
        if (m.shift != 0) as_->lsr(q, q, m.shift);
    } else {
        const SignedMagic m = signed_magic(svalue, width);
        mov_imm(xr(kImm), static_cast<uint64_t>(m.mul));
        if (w64) {
            as_->smulh(xr(kTmp1), bx(insn.dst), xr(kImm));
        } else {
            as_->smull(xr(kTmp1), bw(insn.dst), wr(kImm));
            as_->asr(xr(kTmp1), xr(kTmp1), 32);
        }
        if (svalue > 0 && m.mul < 0) as_->add(q, q, d);
        if (svalue < 0 && m.mul > 0) as_->sub(q, q, d);
        if (m.shift != 0) as_->asr(q, q, m.shift);
        as_->lsr(g(kTmp2), q, width - 1);  // round toward zero: add 1 when negative
        as_->add(q, q, g(kTmp2));
    }
    if (!is_mod) {
        as_->mov(d, q);
        return true;
    }
    mov_imm(xr(kImm), w64 ? value : static_cast<uint32_t>(value));
    as_->msub(d, q, g(kImm), d);  // n - q * d
    return true;
}

}  // namespace bpfvm::jit::arm64
