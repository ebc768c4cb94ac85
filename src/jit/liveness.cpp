// Register liveness on demand (liveness.hpp). A depth-first walk over the paths leaving one
// instruction; each instruction either reads the register (live: stop), writes all of it without
// reading it (this path is done), or neither (follow its successors). Instructions already visited
// are skipped: a loop back to one of them adds no new read.
#include "liveness.hpp"

#include <algorithm>

#include "bpfvm/cfg.hpp"

namespace bpfvm::jit {
namespace {

enum class Effect : uint8_t { Read, Write, Neither };

Effect effect_on(const Program& program, const Insn& insn, uint8_t reg) {
    const bool dst = insn.dst == reg, src = insn.src == reg;
    const Form form = op_info(insn.op).form;
    switch (form) {
        case Form::AluImm:
            if (insn.op == Op::Mov32Imm || insn.op == Op::Mov64Imm) return dst ? Effect::Write : Effect::Neither;
            return dst ? Effect::Read : Effect::Neither;
        case Form::AluReg:
            if (src) return Effect::Read;
            if (insn.op == Op::Mov32Reg || insn.op == Op::Mov64Reg) return dst ? Effect::Write : Effect::Neither;
            return dst ? Effect::Read : Effect::Neither;
        case Form::Neg:
        case Form::End:
            return dst ? Effect::Read : Effect::Neither;
        case Form::Movsx:
        case Form::Ldx:
        case Form::Ldxs:
        case Form::LoadAcquire:
            if (src) return Effect::Read;
            return dst ? Effect::Write : Effect::Neither;
        case Form::Lddw:
            return dst ? Effect::Write : Effect::Neither;
        case Form::JmpImm:
        case Form::St:
            return dst ? Effect::Read : Effect::Neither;
        case Form::JmpReg:
        case Form::Stx:
        case Form::StoreRelease:
            return dst || src ? Effect::Read : Effect::Neither;
        case Form::Ja:
        case Form::Gotol:
        case Form::MayGoto:
            return Effect::Neither;
        case Form::Call:
            // A helper reads its arguments (at most r1-r5) and returns with r0-r5 written; r6-r9
            // survive it.
            if (reg >= 1 && reg <= 5) return Effect::Read;
            return reg == 0 ? Effect::Write : Effect::Neither;
        case Form::Exit:
            // The end of the run reads only r0; the end of a subprogram hands its registers back
            // to a caller, which this walk cannot see.
            if (reg == 0 || program.subprog_entries.size() > 1) return Effect::Read;
            return Effect::Write;
        case Form::Atomic:
            return dst || src || reg == 0 ? Effect::Read : Effect::Neither;
        case Form::CallLocal:
        case Form::CallKfunc:
        case Form::Callx:
        case Form::LdAbs:
        case Form::LdInd:
        case Form::AddrSpaceCast:
            return Effect::Read;  // not modelled: assume the worst
    }
    return Effect::Read;
}

// The walk behind both queries: `at` true starts at `index` itself, false at its successors.
bool walk_dead(const Program& program, uint32_t index, uint8_t reg, bool at) {
    if (reg >= kFrameReg) return false;
    const auto n = static_cast<uint32_t>(program.insns.size());
    // Every visit pushes at most two successors, so the stack never holds more than this.
    uint32_t stack[2 * kLivenessBudget + 2];
    uint32_t seen[kLivenessBudget];
    uint32_t top = 0, visited = 0;
    auto push_successors = [&](uint32_t i) {
        uint32_t next[2];
        const size_t count = insn_successors(program, i, next);
        for (size_t k = 0; k < count; ++k)
            if (next[k] < n) stack[top++] = next[k];
    };
    if (at)
        stack[top++] = index;
    else
        push_successors(index);
    while (top > 0) {
        const uint32_t i = stack[--top];
        if (std::find(seen, seen + visited, i) != seen + visited) continue;
        if (visited == kLivenessBudget) return false;
        seen[visited++] = i;
        switch (effect_on(program, program.insns[i], reg)) {
            case Effect::Read: return false;
            case Effect::Write: break;
            case Effect::Neither: push_successors(i); break;
        }
    }
    return true;
}

}  // namespace

bool is_dead_after(const Program& program, uint32_t index, uint8_t reg) { return walk_dead(program, index, reg, false); }

bool is_dead_at(const Program& program, uint32_t index, uint8_t reg) { return walk_dead(program, index, reg, true); }

}  // namespace bpfvm::jit
