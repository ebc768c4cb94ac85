// One pass over the instructions for the backends' per-instruction marks (marks.hpp).
#include "marks.hpp"

#include <array>

namespace bpfvm::jit {
namespace {

/// What an Op contributes, looked up once per instruction instead of several opcode-table
/// queries (this pass runs over every instruction compiled).
enum OpClass : uint8_t { kPlain, kJump, kEnters, kFuncRef, kMayGoto };
/// Which field names the register an Op writes (defined_register), for the r10 check.
enum Defines : uint8_t { kDefinesOther, kDefinesDst, kDefinesSrc };

struct OpFacts {
    OpClass cls = kPlain;
    Defines defines = kDefinesOther;
};

std::array<OpFacts, kNumOps> op_facts() {
    std::array<OpFacts, kNumOps> out{};
    for (size_t i = 0; i < kNumOps; ++i) {
        const auto op = static_cast<Op>(i);
        const Form form = op_info(op).form;
        if (form == Form::MayGoto) out[i].cls = kMayGoto;
        else if (is_jump(op)) out[i].cls = kJump;
        else if (form == Form::CallLocal) out[i].cls = kEnters;
        else if (form == Form::Lddw) out[i].cls = kFuncRef;
        Insn probe;  // distinct register numbers tell which field defined_register returns
        probe.op = op;
        probe.dst = 1;
        probe.src = 2;
        const int r = defined_register(probe);
        out[i].defines = r == 1 ? kDefinesDst : r == 2 ? kDefinesSrc : kDefinesOther;
    }
    return out;
}

}  // namespace

ProgramMarks mark_program(const Program& program) {
    static const std::array<OpFacts, kNumOps> kFacts = op_facts();
    const auto n = static_cast<uint32_t>(program.insns.size());
    ProgramMarks m;
    m.at.assign(n, 0);
    if (n == 0) return m;
    m.at[0] = kMarkEntered;  // the entry
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& insn = program.insns[i];
        const OpFacts facts = kFacts[static_cast<size_t>(insn.op)];
        // Selects rather than branches: which instructions write r10 follows no pattern.
        const uint8_t defined = facts.defines == kDefinesDst ? insn.dst : facts.defines == kDefinesSrc ? insn.src : 0xff;
        m.at[i] |= defined == kFrameReg ? kMarkFrameWrite : 0;
        switch (facts.cls) {
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
