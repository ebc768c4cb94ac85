// Loads that share one access check in checked mode (check_groups.hpp): one scan forward from
// each checked load, over the straight-line code after it.
#include "check_groups.hpp"

#include <algorithm>

namespace bpfvm::jit {
namespace {

/// What an instruction after a group's lead does to the group of loads through `base`.
enum class Step : uint8_t {
    kMember,   // a checked load through base: joins the group
    kLast,     // the same, loading into base itself: joins, and the group ends after it
    kNeutral,  // cannot trap, writes no observable memory, leaves base alone: the group goes on
    kStop,     // anything else: the group ends before it
};

Step classify(const Insn& insn, uint8_t base, bool (*frame_access)(uint8_t, int16_t, unsigned)) {
    const Form form = op_info(insn.op).form;
    const unsigned bytes = op_info(insn.op).width / 8;
    switch (form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Neg:
        case Form::End:
        case Form::Movsx:
        case Form::Lddw:
            // BPF arithmetic never traps (division by zero has a defined result); a write to r10
            // does, but the caller stops at those (kMarkFrameWrite).
            return insn.dst == base ? Step::kStop : Step::kNeutral;
        case Form::Ldx:
        case Form::Ldxs:
            if (frame_access(insn.src, insn.off, bytes)) return insn.dst == base ? Step::kStop : Step::kNeutral;
            if (insn.src != base) return Step::kStop;
            return insn.dst == base ? Step::kLast : Step::kMember;
        case Form::St:
        case Form::Stx:
            // A store into the frame at a constant offset cannot trap, and the stack is gone once
            // a run traps, so a trap reported early loses nothing by skipping it.
            return frame_access(insn.dst, insn.off, bytes) ? Step::kNeutral : Step::kStop;
        default:
            return Step::kStop;
    }
}

bool checked_load(const Insn& insn, bool (*frame_access)(uint8_t, int16_t, unsigned)) {
    const Form form = op_info(insn.op).form;
    return (form == Form::Ldx || form == Form::Ldxs) &&
           !frame_access(insn.src, insn.off, op_info(insn.op).width / 8);
}

}  // namespace

CheckGroups find_check_groups(const Program& program, ProgramMarks& marks,
                              bool (*frame_access)(uint8_t base, int16_t off, unsigned bytes)) {
    CheckGroups out;
    const auto n = static_cast<uint32_t>(program.insns.size());
    std::vector<uint32_t> members;
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& lead = program.insns[i];
        if (!checked_load(lead, frame_access) || lead.dst == lead.src) continue;
        const uint8_t base = lead.src;
        int32_t lo = lead.off;
        int32_t hi = lead.off + static_cast<int32_t>(op_info(lead.op).width / 8);
        members.assign(1, i);
        uint32_t j = i + 1;
        for (; j < n && !(marks.at[j] & (kMarkEntered | kMarkFrameWrite)); ++j) {
            const Insn& insn = program.insns[j];
            const Step step = classify(insn, base, frame_access);
            if (step == Step::kStop) break;
            if (step == Step::kNeutral) continue;
            const int32_t new_lo = std::min<int32_t>(lo, insn.off);
            const int32_t new_hi = std::max<int32_t>(hi, insn.off + static_cast<int32_t>(op_info(insn.op).width / 8));
            if (new_hi - new_lo > kMaxCheckSpan) break;
            lo = new_lo;
            hi = new_hi;
            members.push_back(j);
            if (step == Step::kLast) break;
        }
        if (members.size() < 2) continue;
        out.groups.push_back(CheckGroup{i, static_cast<uint32_t>(out.members.size()),
                                        static_cast<uint32_t>(members.size()), lo, static_cast<uint8_t>(hi - lo)});
        out.members.insert(out.members.end(), members.begin(), members.end());
        marks.at[i] |= kMarkCheckLead;
        for (size_t k = 1; k < members.size(); ++k) marks.at[members[k]] |= kMarkCheckCovered;
        i = members.back();  // nothing between the lead and the last member starts a group
    }
    return out;
}

}  // namespace bpfvm::jit
