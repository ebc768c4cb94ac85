// Superinstructions (internal.hpp): after prepare has filled every slot, unchecked programs get a
// pass that turns a matching instruction pair into one slot running both. The pairs are the ones
// clang emits most (bench/insn_pairs.py over ../shared/corpus: a copy then an ALU immediate on the
// copy is the most frequent fusible pair, a byte load then a shift the next) plus the add-then-branch
// of counted loops, and the copy-add-compare of packet bounds checks (a triple).
#include <vector>

#include "internal.hpp"

namespace bpfvm::interp {
namespace {

/// The superinstruction for the pair (a, b) and the fields it needs in `slot` (a's slot), or 0.
uint8_t match_pair(const Insn& a, const Insn& b, Slot* slots, Slot& slot) {
    if (b.dst != a.dst) return 0;
    switch (a.op) {
        case Op::Mov64Reg:
            slot.imm = b.imm;
            switch (b.op) {
                case Op::Add64Imm: return kSuperMov64AddImm;
                case Op::Rsh64Imm: return kSuperMov64RshImm;
                case Op::Lsh64Imm: return kSuperMov64LshImm;
                case Op::And64Imm: return kSuperMov64AndImm;
                case Op::Add64Reg:
                    // rX = rY; rX += rZ, where rZ may be rX itself (then it holds rY).
                    slot.pad = b.src == a.dst ? a.src : b.src;
                    return kSuperMov64AddReg;
                default: return 0;
            }
        case Op::Mov32Reg:
            slot.imm = b.imm;
            switch (b.op) {
                case Op::Rsh32Imm: return kSuperMov32RshImm;
                case Op::Lsh32Imm: return kSuperMov32LshImm;
                case Op::And32Imm: return kSuperMov32AndImm;
                default: return 0;
            }
        case Op::Ldx8:
            slot.imm = b.imm;
            if (b.op == Op::Lsh64Imm) return kSuperLdx8Lsh64;
            if (b.op == Op::Lsh32Imm) return kSuperLdx8Lsh32;
            return 0;
        case Op::Add64Imm: {
            uint8_t op = 0;
            switch (b.op) {
                case Op::Jeq64Imm: op = kSuperAdd64ImmJeq; break;
                case Op::Jne64Imm: op = kSuperAdd64ImmJne; break;
                case Op::Jlt64Imm: op = kSuperAdd64ImmJlt; break;
                case Op::Jgt64Imm: op = kSuperAdd64ImmJgt; break;
                case Op::Jgt64Reg: op = kSuperAdd64ImmJgtReg; break;
                default: return 0;
            }
            // The add's source field is unused: it carries the compared register. A jump
            // immediate is a sign-extended imm32.
            slot.src = b.src;
            slot.off = static_cast<int32_t>(b.imm);
            slot.target = &slots[b.target];
            return op;
        }
        case Op::Lsh64Imm:
            if (b.op != Op::Or64Reg || b.src == a.dst) return 0;  // rX | rX would read the shifted value
            slot.src = b.src;
            return kSuperLsh64OrReg;
        default:
            return 0;
    }
}

/// rX = rY; rX += K; if rX > rZ goto L, with rX distinct from rY and rZ.
bool match_bounds_check(const Insn& a, const Insn& b, const Insn& c) {
    return a.op == Op::Mov64Reg && b.op == Op::Add64Imm && c.op == Op::Jgt64Reg && b.dst == a.dst && c.dst == a.dst &&
           a.src != a.dst && c.src != a.dst;
}

}  // namespace

void install_superinstructions(const Program& program, Slot* slots, const void* const* labels) {
    const size_t n = program.insns.size();
    // A pair's second half is skipped, so nothing may jump or call into it.
    std::vector<bool> entered(n, false);
    for (const Insn& insn : program.insns) {
        const Form form = op_info(insn.op).form;
        if (is_jump(insn.op) || form == Form::CallLocal ||
            (form == Form::Lddw && insn.src == static_cast<uint8_t>(LddwKind::Func)))
            entered[insn.target] = true;
    }
    for (size_t i = 0; i + 1 < n; ++i) {
        if (entered[i + 1] || slots[i].op >= kTrapSlotOp || slots[i + 1].op >= kTrapSlotOp) continue;
        if (i + 2 < n && !entered[i + 2] && slots[i + 2].op < kTrapSlotOp &&
            match_bounds_check(program.insns[i], program.insns[i + 1], program.insns[i + 2])) {
            const Insn& jump = program.insns[i + 2];
            Slot& slot = slots[i];
            slot.op = kSuperMovAddJgtReg;
            slot.imm = program.insns[i + 1].imm;
            slot.pad = jump.src;
            slot.target = &slots[jump.target];
            slot.label = labels != nullptr ? labels[kSuperMovAddJgtReg] : nullptr;
            i += 2;
            continue;
        }
        Slot candidate = slots[i];
        const uint8_t op = match_pair(program.insns[i], program.insns[i + 1], slots, candidate);
        if (op == 0) continue;
        candidate.op = op;
        candidate.label = labels != nullptr ? labels[op] : nullptr;
        slots[i] = candidate;
        ++i;  // the second half only runs inside the pair now
    }
}

}  // namespace bpfvm::interp
