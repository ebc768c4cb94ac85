// x86-64 backend: ALU instructions (RFC 9669 section 4.1-4.3).
// 32-bit forms use 32-bit host operands: every write to a 32-bit register zero-extends, which is
// exactly the ISA's rule. x86 masks shift counts to 5/6 bits like the ISA does.
#include <bit>

#include "emitter.hpp"

namespace bpfvm::jit::x86 {

using CC = ax::CondCode;

void Emitter::emit_mul(const Insn& insn, unsigned width, bool is_imm) {
    const ax::Gp dst = sized(q(insn.dst), width);
    if (is_imm)  // imm32 is sign-extended by both the ISA (64-bit forms) and the x86 encoding
        as_.imul(dst, dst, a::Imm(static_cast<int32_t>(insn.imm)));
    else
        as_.imul(dst, sized(q(insn.src), width));
}

void Emitter::emit_mov(const Insn& insn, unsigned width, bool is_imm) {
    if (is_imm) {
        if (insn.imm == 0)
            as_.xor_(d(insn.dst), d(insn.dst));
        else if (width == 32 || insn.imm > 0)
            as_.mov(d(insn.dst), static_cast<uint32_t>(insn.imm));  // zero-extends
        else
            as_.mov(q(insn.dst), a::Imm(insn.imm));  // sign-extended imm32
        return;
    }
    if (width == 32)
        as_.mov(d(insn.dst), d(insn.src));  // also when dst == src: clears the upper half
    else if (insn.dst != insn.src)
        as_.mov(q(insn.dst), q(insn.src));
}

void Emitter::emit_neg(const Insn& insn, unsigned width) { as_.neg(sized(q(insn.dst), width)); }

void Emitter::emit_movsx(const Insn& insn, unsigned width, unsigned from) {
    const ax::Gp dst = sized(q(insn.dst), width);
    if (from == 32)
        as_.movsxd(dst, d(insn.src));
    else
        as_.movsx(dst, sized(q(insn.src), from));
}

void Emitter::emit_endian(const Insn& insn, bool swap, unsigned width) {
    const uint8_t r = insn.dst;
    if (!swap) {  // little-endian host: only truncation
        if (width == 16) as_.movzx(d(r), w(r));
        if (width == 32) as_.mov(d(r), d(r));
        return;
    }
    switch (width) {
        case 16:
            as_.rol(w(r), 8);
            as_.movzx(d(r), w(r));
            break;
        case 32: as_.bswap(d(r)); break;
        default: as_.bswap(q(r)); break;
    }
}

void Emitter::emit_shift(const Insn& insn, unsigned width, bool is_imm, a::InstId id) {
    const ax::Gp dst = sized(q(insn.dst), width);
    if (is_imm) {
        const unsigned count = static_cast<unsigned>(insn.imm) & (width - 1);
        if (count != 0)
            as_.emit(id, dst, a::Imm(count));
        else if (width == 32)
            as_.mov(dst, dst);  // a shift by 0 still zero-extends
        return;
    }
    const ax::Gp src = sized(q(insn.src), width);
    if (host_features().bmi2) {
        const a::InstId x = id == ax::Inst::kIdShl   ? ax::Inst::kIdShlx
                            : id == ax::Inst::kIdShr ? ax::Inst::kIdShrx
                                                     : ax::Inst::kIdSarx;
        as_.emit(x, dst, dst, src);
        return;
    }
    // Without BMI2 the count must be in cl; rcx is BPF r4, so it is parked in kTmp0.
    if (src.id() == ax::Gp::kIdCx) {
        as_.emit(id, dst, ax::cl);
    } else {
        as_.mov(kTmp0, ax::rcx);
        as_.mov(ax::ecx, d(insn.src));
        if (dst.id() == ax::Gp::kIdCx) {
            as_.emit(id, sized(kTmp0, width), ax::cl);  // shift the parked copy, which becomes the result
        } else {
            as_.emit(id, dst, ax::cl);
        }
        as_.mov(ax::rcx, kTmp0);
    }
    if (width == 32) as_.mov(dst, dst);  // a count of 0 leaves the register unwritten on some CPUs
}

// Division and modulo. x86 div/idiv fault on a zero divisor and on INT_MIN / -1; the ISA defines
// both (x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0), so those divisors never
// reach the instruction: register divisors are tested by two branches; constant divisors never use
// it (0, -1, 1 and powers of two are decided here, the rest multiply by a reciprocal).
void Emitter::emit_divmod(const Insn& insn, unsigned width, bool is_imm, bool is_signed, bool is_mod) {
    const bool w64 = width == 64;
    const ax::Gp dst = sized(q(insn.dst), width);
    const ax::Gp divisor = sized(kTmp1, width);
    auto zero_divisor = [&] {  // x / 0 = 0, x % 0 = x (truncated to the width)
        if (!is_mod)
            as_.xor_(d(insn.dst), d(insn.dst));
        else if (!w64)
            as_.mov(dst, dst);
    };
    auto minus_one = [&] {  // x / -1 = -x (wrapping), x % -1 = 0
        if (is_mod)
            as_.xor_(d(insn.dst), d(insn.dst));
        else
            as_.neg(dst);
    };
    a::Label special_zero, special_neg, done;
    if (is_imm) {
        const uint64_t value = w64 ? static_cast<uint64_t>(insn.imm) : static_cast<uint32_t>(insn.imm);
        if (value == 0) return zero_divisor();
        if (is_signed && (w64 ? insn.imm == -1 : static_cast<int32_t>(insn.imm) == -1)) return minus_one();
        if (!is_signed && std::has_single_bit(value)) {
            const int shift = std::countr_zero(value);
            if (!is_mod) {
                if (shift != 0) as_.shr(dst, shift);
                else if (!w64) as_.mov(dst, dst);
            } else if (value - 1 <= 0x7fffffff) {
                as_.and_(dst, static_cast<int32_t>(value - 1));
            } else {
                as_.mov(kTmp1, a::Imm(value - 1));
                as_.and_(dst, divisor);
            }
            return;
        }
        if (is_signed && value == 1) {  // x / 1 = x, x % 1 = 0 (the magic method needs |d| >= 2)
            if (is_mod)
                as_.xor_(d(insn.dst), d(insn.dst));
            else if (!w64)
                as_.mov(dst, dst);
            return;
        }
        // Every other constant: multiply by the reciprocal (divconst.cpp).
        if (w64)
            emit_divmod_const64(insn, is_signed, is_mod);
        else
            emit_divmod_const32(insn, is_signed, is_mod);
        return;
    }
    special_zero = as_.newLabel();
    done = as_.newLabel();
    as_.mov(divisor, sized(q(insn.src), width));
    as_.test(divisor, divisor);
    as_.j(CC::kZero, special_zero);
    if (is_signed) {
        special_neg = as_.newLabel();
        as_.cmp(divisor, -1);
        as_.j(CC::kEqual, special_neg);
    }
    // rdx:rax is the dividend; r0 (rax) and r3 (rdx) are parked unless they are the destination.
    const bool dst_rax = kHostReg[insn.dst] == ax::Gp::kIdAx;
    const bool dst_rdx = kHostReg[insn.dst] == ax::Gp::kIdDx;
    if (!dst_rax) as_.mov(kTmp2, ax::rax);
    if (!dst_rdx) as_.mov(kTmp0, ax::rdx);
    if (!dst_rax) as_.mov(sized(ax::rax, width), dst);
    if (is_signed) {
        if (w64)
            as_.cqo();
        else
            as_.cdq();
    } else {
        as_.xor_(ax::edx, ax::edx);
    }
    if (is_signed)
        as_.idiv(divisor);
    else
        as_.div(divisor);
    const ax::Gp result = sized(is_mod ? ax::rdx : ax::rax, width);
    if (result.id() != dst.id()) as_.mov(dst, result);
    if (!dst_rax) as_.mov(ax::rax, kTmp2);
    if (!dst_rdx) as_.mov(ax::rdx, kTmp0);
    as_.jmp(done);
    as_.bind(special_zero);
    zero_divisor();
    if (is_signed) {
        as_.jmp(done);
        as_.bind(special_neg);
        minus_one();
    }
    as_.bind(done);
}

}  // namespace bpfvm::jit::x86
