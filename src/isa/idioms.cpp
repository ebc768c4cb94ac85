// Shape tests for the loop and load idioms that the engines replace with a faster equivalent (the
// x86-64 JIT's `rep stosb` and 16-bit load, the interpreter's superinstructions). One definition
// so that every engine replaces exactly the same instructions; each engine adds its own
// conditions (which instructions control enters, register liveness).
#include "bpfvm/idioms.hpp"

namespace bpfvm {

std::optional<FillLoop> match_fill_loop(const Program& prog, uint32_t head) {
    if (size_t{head} + 4 >= prog.insns.size()) return std::nullopt;
    const Insn* p = &prog.insns[head];
    const FillLoop f{p[0].dst, p[0].src, p[1].src, p[2].src, p[2].op == Op::St8, p[2].off,
                     static_cast<int32_t>(p[4].imm)};
    if (p[0].op != Op::Mov64Reg || p[1].op != Op::Add64Reg || p[1].dst != f.ptr) return std::nullopt;
    if (f.ptr == f.base || f.index == f.ptr || f.index == f.base) return std::nullopt;
    if ((p[2].op != Op::Stx8 && p[2].op != Op::St8) || p[2].dst != f.ptr) return std::nullopt;
    if (!f.imm && (f.value == f.ptr || f.value == f.index)) return std::nullopt;
    if (p[3].op != Op::Add64Imm || p[3].dst != f.index || p[3].imm != 1) return std::nullopt;
    if (p[4].op != Op::Jne64Imm || p[4].dst != f.index || p[4].target != head || p[4].imm <= 0) return std::nullopt;
    return f;
}

std::optional<Be16Load> match_be16_load(const Program& prog, uint32_t index) {
    if (size_t{index} + 3 >= prog.insns.size()) return std::nullopt;
    const Insn* p = &prog.insns[index];
    const uint8_t base = p[0].src;
    if (p[0].op != Op::Ldx8 || p[1].op != Op::Ldx8 || p[1].src != base || p[0].dst == base || p[0].dst == p[1].dst)
        return std::nullopt;
    if ((p[2].op != Op::Lsh64Imm && p[2].op != Op::Lsh32Imm) || p[2].imm != 8) return std::nullopt;
    if ((p[3].op != Op::Or64Reg && p[3].op != Op::Or32Reg) || p[3].dst != p[2].dst) return std::nullopt;
    const uint8_t dst = p[2].dst, tmp = p[3].src;
    const int hi = dst == p[0].dst && tmp == p[1].dst ? 0 : dst == p[1].dst && tmp == p[0].dst ? 1 : -1;
    if (hi < 0 || p[1 - hi].off != p[hi].off + 1) return std::nullopt;
    return Be16Load{base, dst, tmp, p[hi].off};
}

}  // namespace bpfvm
