// x86-64 backend: division and modulo by a constant through a multiply-high (div_magic.hpp), as
// optimising compilers do; a div instruction costs tens of cycles. Divisors 0, -1 and (unsigned)
// powers of two never get here (emit_divmod handles them).
//
// 32-bit forms work in 64-bit scratch registers (the product of two 32-bit values fits), so they
// leave r0 and r3 alone. 64-bit forms need the high half of a 128-bit product, which `mul`/`imul`
// put in rdx:rax: r0 (rax) and r3 (rdx) are parked in scratch registers unless one of them is the
// destination, whose dividend then moves to the scratch register that parking left free.
#include <cstdint>

#include "div_magic.hpp"
#include "emitter.hpp"

namespace bpfvm::jit::x86 {
namespace {

bool fits_i32(int64_t v) { return v == static_cast<int32_t>(v); }

}  // namespace

void Emitter::emit_divmod_const32(const Insn& insn, bool is_signed, bool is_mod) {
    const ax::Gp n = d(insn.dst);
    const ax::Gp t = kTmp0;
    ax::Gp q = kTmp0;
    if (!is_signed) {
        const uint32_t divisor = static_cast<uint32_t>(insn.imm);
        const UnsignedMagic m = unsigned_magic(divisor, 32);
        as_.mov(t.r32(), n);  // zero-extends: the 64-bit product below is exact
        if (m.mul <= static_cast<uint64_t>(INT32_MAX)) {
            as_.imul(t, t, static_cast<int32_t>(m.mul));
        } else {
            as_.mov(kTmp1.r32(), static_cast<uint32_t>(m.mul));
            as_.imul(t, kTmp1);
        }
        if (!m.add) {
            as_.shr(t, 32 + m.shift);
        } else {  // q = (((n - t) >> 1) + t) >> shift, in 32 bits
            as_.shr(t, 32);
            q = kTmp1;
            as_.mov(q.r32(), n);
            as_.sub(q.r32(), t.r32());
            as_.shr(q.r32(), 1);
            as_.add(q.r32(), t.r32());
            if (m.shift != 0) as_.shr(q.r32(), m.shift);
        }
    } else {
        const auto divisor = static_cast<int32_t>(insn.imm);
        const SignedMagic m = signed_magic(divisor, 32);
        as_.movsxd(t, n);
        as_.imul(t, t, static_cast<int32_t>(m.mul));  // |n|, |mul| < 2^31: exact in 64 bits
        as_.sar(t, 32);
        if (divisor > 0 && m.mul < 0) as_.add(t.r32(), n);
        if (divisor < 0 && m.mul > 0) as_.sub(t.r32(), n);
        if (m.shift != 0) as_.sar(t.r32(), m.shift);
        as_.mov(kTmp1.r32(), t.r32());  // round toward zero: add 1 when negative
        as_.shr(kTmp1.r32(), 31);
        as_.add(t.r32(), kTmp1.r32());
    }
    if (!is_mod) {
        as_.mov(n, q.r32());
        return;
    }
    // n - q * d; the low 32 bits of the product do not depend on signedness.
    as_.imul(q.r32(), q.r32(), static_cast<int32_t>(insn.imm));
    as_.sub(n, q.r32());
}

void Emitter::emit_divmod_const64(const Insn& insn, bool is_signed, bool is_mod) {
    const ax::Gp dst = q(insn.dst);
    const bool dst_rax = dst.id() == ax::Gp::kIdAx;
    const bool dst_rdx = dst.id() == ax::Gp::kIdDx;
    // r0 and r3 are copied to kTmp2 and kTmp0 and restored afterwards unless they are the
    // destination; the dividend stays in dst, or (dst being rax or rdx) in that copy.
    const ax::Gp n = dst_rax ? kTmp2 : dst_rdx ? kTmp0 : dst;
    as_.mov(kTmp2, ax::rax);
    as_.mov(kTmp0, ax::rdx);
    ax::Gp result = ax::rdx;
    if (!is_signed) {
        const UnsignedMagic m = unsigned_magic(static_cast<uint64_t>(insn.imm), 64);
        as_.mov(kTmp1, a::Imm(m.mul));
        as_.mov(ax::rax, n);
        as_.mul(kTmp1);  // rdx = t
        if (!m.add) {
            if (m.shift != 0) as_.shr(ax::rdx, m.shift);
        } else {
            as_.mov(ax::rax, n);
            as_.sub(ax::rax, ax::rdx);
            as_.shr(ax::rax, 1);
            as_.add(ax::rax, ax::rdx);
            if (m.shift != 0) as_.shr(ax::rax, m.shift);
            result = ax::rax;
        }
    } else {
        const SignedMagic m = signed_magic(insn.imm, 64);
        as_.mov(kTmp1, a::Imm(m.mul));
        as_.mov(ax::rax, n);
        as_.imul(kTmp1);  // rdx = t (signed high half)
        if (insn.imm > 0 && m.mul < 0) as_.add(ax::rdx, n);
        if (insn.imm < 0 && m.mul > 0) as_.sub(ax::rdx, n);
        if (m.shift != 0) as_.sar(ax::rdx, m.shift);
        as_.mov(ax::rax, ax::rdx);  // round toward zero: add 1 when negative
        as_.shr(ax::rax, 63);
        as_.add(ax::rdx, ax::rax);
    }
    if (is_mod) {
        if (fits_i32(insn.imm)) {
            as_.imul(result, result, static_cast<int32_t>(insn.imm));
        } else {
            as_.mov(kTmp1, a::Imm(insn.imm));
            as_.imul(result, kTmp1);
        }
        as_.sub(n, result);
        result = n;
    }
    if (result.id() != dst.id()) as_.mov(dst, result);
    if (!dst_rax) as_.mov(ax::rax, kTmp2);
    if (!dst_rdx) as_.mov(ax::rdx, kTmp0);
}

}  // namespace bpfvm::jit::x86
