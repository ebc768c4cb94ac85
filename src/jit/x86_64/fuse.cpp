// x86-64 backend: peepholes. Compiled BPF code often copies a register only to add to the copy
// (`r7 = r1; r7 += r3`), and then loads through it (`r7 = *(u8 *)(r7 + 0)`); x86 does both in one
// instruction (lea, or a base+index addressing mode). A sequence is fused only when none of its
// later instructions is a jump target, so no path can enter it in the middle.
#include "emitter.hpp"

namespace bpfvm::jit::x86 {

uint32_t Emitter::emit_fused(uint32_t index) {
    const Insn& mov = prog_.insns[index];
    if (mov.op != Op::Mov64Reg || mov.dst == mov.src || !fusible(index + 1)) return 0;
    const Insn& add = prog_.insns[index + 1];
    if (add.dst != mov.dst) return 0;
    // mov A, B; add A, C  ==>  A = B + C', where C' is B when C is A (A holds B after the move).
    ax::Mem sum;
    if (add.op == Op::Add64Reg) {
        const uint8_t index_reg = add.src == mov.dst ? mov.src : add.src;
        sum = ax::ptr(q(mov.src), q(index_reg), 0, 0);
    } else if (add.op == Op::Add64Imm || (add.op == Op::Sub64Imm && add.imm != INT32_MIN)) {
        sum = ax::ptr(q(mov.src), static_cast<int32_t>(add.op == Op::Add64Imm ? add.imm : -add.imm));
    } else {
        return 0;
    }
    // ... then A = *(A + off): load straight from B + C' + off (unchecked mode; checked mode needs
    // the address in a register anyway).
    if (!checked_ && fusible(index + 2)) {
        const Insn& load = prog_.insns[index + 2];
        const Form form = op_info(load.op).form;
        if ((form == Form::Ldx || form == Form::Ldxs) && load.src == mov.dst && load.dst == mov.dst) {
            const int64_t disp = int64_t{sum.offsetLo32()} + load.off;
            if (disp == static_cast<int32_t>(disp)) {
                ax::Mem m = sum;
                m.setOffsetLo32(static_cast<int32_t>(disp));
                const unsigned bytes = op_info(load.op).width / 8;
                m.setSize(bytes);
                emit_load_from(load, bytes, form == Form::Ldxs, m);
                return 3;
            }
        }
    }
    as_.lea(q(mov.dst), sum);
    return 2;
}

}  // namespace bpfvm::jit::x86
