// x86-64 backend: whole loops replaced by one host idiom (unchecked mode only: checked mode must
// trap at the first byte out of bounds, as the interpreter does).
//
// The byte fill, as clang emits `for (i = ...; i != N; i++) p[i] = v` (sieve's first loop):
//   H:   rP = rB
//        rP += rI
//        *(u8 *)(rP + off) = rV   (or an immediate)
//        rI += 1
//        if rI != N goto H
// runs `rep stosb` over [rB + rI + off, rB + N + off) when rI < N, then sets the registers the
// loop leaves behind exactly: rI = N, rP = rB + N - 1. When rI >= N the loop would wrap around
// 2^64 first; the original code handles that (its back edge comes to the same test again). The
// fast path depends only on register values at H, so other paths may enter H too.
#include <optional>

#include "bpfvm/idioms.hpp"
#include "emitter.hpp"

namespace bpfvm::jit::x86 {

uint32_t Emitter::emit_fill_loop(uint32_t head) {
    // The shape is bpfvm::match_fill_loop's (shared with the interpreter); only the loop's back
    // edge may enter it, at its head.
    const auto fill = fusible_after(head, 4) ? match_fill_loop(prog_, head) : std::nullopt;
    if (!fill) return 0;
    const FillLoop& f = *fill;
    const a::Label slow = as_.newLabel(), done = as_.newLabel();
    as_.cmp(q(f.index), f.end);
    as_.j(ax::CondCode::kUnsignedGE, slow);
    // rep stosb takes rdi, rcx and al: park the BPF registers there (r1, r4, r0) in the scratch
    // registers, and read any operand that lives in one of them from its parked copy.
    as_.mov(kTmp0, ax::rdi);
    as_.mov(kTmp1, ax::rcx);
    as_.mov(kTmp2, ax::rax);
    auto operand = [&](uint8_t r) {
        switch (kHostReg[r]) {
            case ax::Gp::kIdDi: return kTmp0;
            case ax::Gp::kIdCx: return kTmp1;
            case ax::Gp::kIdAx: return kTmp2;
            default: return q(r);
        }
    };
    as_.lea(ax::rdi, ax::ptr(operand(f.base), operand(f.index), 0, f.off));
    as_.mov(ax::ecx, f.end);
    as_.sub(ax::rcx, operand(f.index));
    if (f.imm)
        as_.mov(ax::eax, static_cast<uint32_t>(static_cast<uint8_t>(prog_.insns[head + 2].imm)));
    else
        as_.mov(ax::eax, operand(f.value).r32());
    static constexpr uint8_t kRepStosb[] = {0xf3, 0xaa};  // rep stosb (Intel SDM vol. 2, STOS)
    as_.embed(kRepStosb, sizeof kRepStosb);
    as_.mov(ax::rdi, kTmp0);
    as_.mov(ax::rcx, kTmp1);
    as_.mov(ax::rax, kTmp2);
    // What the last iteration leaves: the pointer to the last byte (before its offset), I = N.
    as_.lea(q(f.ptr), ax::ptr(q(f.base), f.end - 1));
    as_.mov(d(f.index), f.end);
    as_.jmp(done);
    // The loop as written (no peepholes: this path runs only for a start at or past N, which
    // wraps around 2^64). Its back edge goes to H, the test above.
    as_.bind(slow);
    for (uint32_t i = head; i < head + 5; ++i) {
        const bool ok = emit_insn(i);  // moves, an add, a byte store, a jump: nothing can fail
        BPFVM_ASSERT(ok);
    }
    as_.bind(done);
    return 5;
}

}  // namespace bpfvm::jit::x86
