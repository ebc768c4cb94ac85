// One pass over the instructions for the backends' per-instruction marks (marks.hpp).
#include "marks.hpp"

#include <array>

namespace bpfvm::jit {
namespace {

/// What an Op contributes to the control-flow marks, looked up once per instruction instead of
/// several opcode-table queries (this pass runs over every instruction compiled).
enum OpClass : uint8_t { kPlain, kJump, kEnters, kFuncRef, kMayGoto };

std::array<OpClass, kNumOps> op_classes() {
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

const WrittenField* written_fields() {
    static const std::array<WrittenField, kNumOps> kFields = [] {
        std::array<WrittenField, kNumOps> out{};
        for (size_t i = 0; i < kNumOps; ++i) {
            Insn probe;  // distinct register numbers tell which field defined_register returns
            probe.op = static_cast<Op>(i);
            probe.dst = 1;
            probe.src = 2;
            const int r = defined_register(probe);
            out[i] = r == 1 ? kWritesDst : r == 2 ? kWritesSrc : r == 0 ? kWritesR0 : kWritesNone;
        }
        return out;
    }();
    return kFields.data();
}

ProgramMarks mark_program(const Program& program) {
    static const std::array<OpClass, kNumOps> kClasses = op_classes();
    const WrittenField* const written = written_fields();
    const auto n = static_cast<uint32_t>(program.insns.size());
    ProgramMarks m;
    m.at.assign(n, 0);
    if (n == 0) return m;
    m.at[0] = kMarkEntered;  // the entry
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& insn = program.insns[i];
        // A select, not a branch: which instructions write r10 follows no pattern.
        m.at[i] |= written_register(insn, written) == kFrameReg ? kMarkFrameWrite : 0;
        switch (kClasses[static_cast<size_t>(insn.op)]) {
            case kPlain: continue;
            case kFuncRef:
                if (insn.src != static_cast<uint8_t>(LddwKind::Func)) continue;
                break;
            case kMayGoto:
                m.may_goto = true;
                [[fallthrough]];
            case kJump: {
                // Backward or forward is a coin flip on branch-dense code: computed, not branched on.
                const uint8_t back = insn.target <= i;
                m.at[i] |= back * kMarkBackJump;
                m.at[insn.target] |= back * kMarkLoopHead;
                break;
            }
            case kEnters: break;
        }
        m.at[insn.target] |= kMarkEntered;
    }
    return m;
}

}  // namespace bpfvm::jit
