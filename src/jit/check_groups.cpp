// Accesses that share one access check in checked mode (check_groups.hpp): one scan forward from
// each checked access, over the straight-line code after it.
#include "check_groups.hpp"

#include <algorithm>
#include <array>

namespace bpfvm::jit {
namespace {

/// What the scan needs of an Op, looked up once per instruction (this pass runs over every
/// instruction compiled in checked mode; a table beats the opcode-table queries and switches).
enum Kind : uint8_t {
    kStop,      // the code after it may not be the next instruction: a jump, call, exit, ld_abs/ld_ind
    kStraight,  // falls through (or traps, which ends the run)
    kLoad,      // a plain load (Ldx, Ldxs): base in src
    kStore,     // a plain store (St, Stx): base in dst
};
struct OpFacts {
    Kind kind = kStop;
    uint8_t bytes = 0;
};

std::array<OpFacts, kNumOps> op_facts() {
    std::array<OpFacts, kNumOps> out{};
    for (size_t i = 0; i < kNumOps; ++i) {
        const auto op = static_cast<Op>(i);
        const OpInfo& info = op_info(op);
        switch (info.form) {
            case Form::Ldx:
            case Form::Ldxs: out[i].kind = kLoad; break;
            case Form::St:
            case Form::Stx: out[i].kind = kStore; break;
            case Form::AluImm:
            case Form::AluReg:
            case Form::Neg:
            case Form::End:
            case Form::Movsx:
            case Form::AddrSpaceCast:
            case Form::Lddw:
            case Form::Atomic:
            case Form::LoadAcquire:
            case Form::StoreRelease: out[i].kind = kStraight; break;
            default: out[i].kind = kStop; break;  // ld_abs and ld_ind may end the run like an exit
        }
        out[i].bytes = static_cast<uint8_t>(info.width / 8);
    }
    return out;
}

}  // namespace

std::vector<CheckGroup> find_check_groups(const Program& program, ProgramMarks& marks) {
    static const std::array<OpFacts, kNumOps> kFacts = op_facts();
    const WrittenField* const written = written_fields();
    std::vector<CheckGroup> out;
    const auto n = static_cast<uint32_t>(program.insns.size());
    // A plain load or store that checked mode checks: its base register, else kNumRegs.
    auto checked_base = [&](const Insn& insn, const OpFacts& f) -> uint8_t {
        if (f.kind != kLoad && f.kind != kStore) return kNumRegs;
        const uint8_t base = f.kind == kLoad ? insn.src : insn.dst;
        return static_frame_access(base, insn.off, f.bytes) ? kNumRegs : base;
    };
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& lead = program.insns[i];
        const OpFacts& lf = kFacts[static_cast<size_t>(lead.op)];
        const uint8_t base = checked_base(lead, lf);
        // A load into its own base leads nothing.
        if (base == kNumRegs || written_register(lead, written) == base) continue;
        CheckGroup g{i, i, lead.off, 0, lf.kind == kStore};
        int32_t hi = lead.off + lf.bytes;
        const uint32_t end = std::min(n, i + 1 + kMaxCheckWindow);
        for (uint32_t j = i + 1; j < end && !(marks.at[j] & (kMarkEntered | kMarkFrameWrite)); ++j) {
            const Insn& insn = program.insns[j];
            const OpFacts& f = kFacts[static_cast<size_t>(insn.op)];
            if (f.kind == kStop) break;
            if (checked_base(insn, f) == base) {
                // Past the span it is an access like any other, with its own check.
                const int32_t new_lo = std::min<int32_t>(g.lo, insn.off);
                const int32_t new_hi = std::max<int32_t>(hi, insn.off + f.bytes);
                if (new_hi - new_lo <= kMaxCheckSpan) {
                    g.lo = new_lo;
                    hi = new_hi;
                    g.last = j;
                    g.write = g.write || f.kind == kStore;
                    marks.at[j] |= kMarkCheckCovered;
                }
            }
            if (written_register(insn, written) == base) break;  // the base changes (a member may be the last)
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
