// One pass over the instructions for the backends' per-instruction marks (marks.hpp).
#include "marks.hpp"

#include <array>

namespace bpfvm::jit {
namespace {

/// What an Op contributes, looked up once per instruction instead of several opcode-table
/// queries (this pass runs over every instruction compiled).
enum OpClass : uint8_t { kPlain, kJump, kEnters, kFuncRef, kMayGoto };

std::array<OpClass, kNumOps> classify_ops() {
    std::array<OpClass, kNumOps> out{};
    for (size_t i = 0; i < kNumOps; ++i) {
        const auto op = static_cast<Op>(i);
        const Form form = op_info(op).form;
        if (form == Form::MayGoto) out[i] = kMayGoto;
        else if (is_jump(op)) out[i] = kJump;
        else if (form == Form::CallLocal) out[i] = kEnters;
        else if (form == Form::Lddw) out[i] = kFuncRef;
    }
    return out;
}

}  // namespace

ProgramMarks mark_program(const Program& program) {
    static const std::array<OpClass, kNumOps> classes = classify_ops();
    const auto n = static_cast<uint32_t>(program.insns.size());
    ProgramMarks m;
    m.at.assign(n, 0);
    if (n == 0) return m;
    m.at[0] = kMarkEntered;  // the entry
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& insn = program.insns[i];
        // Only an instruction naming r10 can write it; defined_register decides the rare rest.
        if ((insn.dst == kFrameReg || insn.src == kFrameReg) && defined_register(insn) == kFrameReg)
            m.at[i] |= kMarkFrameWrite;
        switch (classes[static_cast<size_t>(insn.op)]) {
            case kPlain: continue;
            case kFuncRef:
                if (insn.src != static_cast<uint8_t>(LddwKind::Func)) continue;
                break;
            case kMayGoto:
                m.may_goto = true;
                [[fallthrough]];
            case kJump:
                if (insn.target <= i) {
                    m.at[i] |= kMarkBackJump;
                    m.at[insn.target] |= kMarkLoopHead;
                }
                break;
            case kEnters: break;
        }
        m.at[insn.target] |= kMarkEntered;
    }
    return m;
}

}  // namespace bpfvm::jit
