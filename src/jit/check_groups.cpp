// Accesses that share one access check in checked mode (check_groups.hpp): one scan forward from
// each checked access, over the straight-line code after it.
#include "check_groups.hpp"

#include <algorithm>

namespace bpfvm::jit {
namespace {

/// Whether the code after an instruction of this form is always the next instruction (it may
/// trap, which ends the run). ld_abs and ld_ind may end the run normally (r0 = 0), like an exit.
bool straight(Form form) {
    switch (form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Neg:
        case Form::End:
        case Form::Movsx:
        case Form::AddrSpaceCast:
        case Form::Lddw:
        case Form::Ldx:
        case Form::Ldxs:
        case Form::St:
        case Form::Stx:
        case Form::Atomic:
        case Form::LoadAcquire:
        case Form::StoreRelease:
            return true;
        default:
            return false;
    }
}

/// A plain load or store that checked mode checks: its base register, else -1.
int checked_base(const Insn& insn, bool (*frame_access)(uint8_t, int16_t, unsigned)) {
    const Form form = op_info(insn.op).form;
    const bool load = form == Form::Ldx || form == Form::Ldxs;
    if (!load && form != Form::St && form != Form::Stx) return -1;
    const uint8_t base = load ? insn.src : insn.dst;
    return frame_access(base, insn.off, op_info(insn.op).width / 8) ? -1 : base;
}

}  // namespace

std::vector<CheckGroup> find_check_groups(const Program& program, ProgramMarks& marks,
                                          bool (*frame_access)(uint8_t base, int16_t off, unsigned bytes)) {
    std::vector<CheckGroup> out;
    const auto n = static_cast<uint32_t>(program.insns.size());
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& lead = program.insns[i];
        const int base = checked_base(lead, frame_access);
        if (base < 0 || defined_register(lead) == base) continue;  // a load into its own base leads nothing
        CheckGroup g{i, i, lead.off, 0, op_info(lead.op).form == Form::St || op_info(lead.op).form == Form::Stx};
        int32_t hi = lead.off + static_cast<int32_t>(op_info(lead.op).width / 8);
        for (uint32_t j = i + 1; j < n && !(marks.at[j] & (kMarkEntered | kMarkFrameWrite)); ++j) {
            const Insn& insn = program.insns[j];
            if (!straight(op_info(insn.op).form)) break;
            if (checked_base(insn, frame_access) == base) {
                // Past the span it is an access like any other, with its own check.
                const int32_t new_lo = std::min<int32_t>(g.lo, insn.off);
                const int32_t new_hi = std::max<int32_t>(hi, insn.off + static_cast<int32_t>(op_info(insn.op).width / 8));
                if (new_hi - new_lo <= kMaxCheckSpan) {
                    g.lo = new_lo;
                    hi = new_hi;
                    g.last = j;
                    g.write = g.write || defined_register(insn) < 0;  // a store defines no register
                    marks.at[j] |= kMarkCheckCovered;
                }
            }
            if (defined_register(insn) == base) break;  // the base changes (a member may be the last)
        }
        if (g.last == i) continue;
        g.span = static_cast<uint8_t>(hi - g.lo);
        marks.at[i] |= kMarkCheckLead;
        out.push_back(g);
        i = g.last;  // the members' accesses are the group's; nothing before the last starts one
    }
    return out;
}

}  // namespace bpfvm::jit
