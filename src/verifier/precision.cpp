// Precision backtracking (the kernel's mark_chain_precision): when a check depends on a scalar's
// exact value, the scalars it was computed from are marked precise, back along the current path's
// instructions and through its checkpoints' kept states, so that pruning compares those exactly
// and may ignore the others.
#include "checks.hpp"

namespace bpfvm::verifier {
namespace {

/// Registers and stack slots whose precision is still wanted, per frame.
struct Backtrack {
    uint32_t frame = 0;
    uint16_t regs[kMaxFrames] = {};
    uint64_t slots[kMaxFrames] = {};

    bool empty() const {
        for (int f = 0; f < kMaxFrames; ++f)
            if (regs[f] || slots[f]) return false;
        return true;
    }
    bool has(int r) const { return regs[frame] & (1u << r); }
    void set(int r) { regs[frame] |= static_cast<uint16_t>(1u << r); }
    void clear(int r) { regs[frame] &= static_cast<uint16_t>(~(1u << r)); }
};

/// Registers linked by a conditional jump's history entry share their precision.
void sync_linked(Backtrack& bt, const HistEntry* h) {
    if (!h) return;
    bool any = false;
    for (int f = 0; f < kMaxFrames; ++f) any = any || (h->linked[f] & bt.regs[f]);
    if (!any) return;
    for (int f = 0; f < kMaxFrames; ++f) bt.regs[f] |= h->linked[f];
}

enum class BtResult { Ok, Unsupported };

/// backtrack_insn: what instruction `idx` means for the wanted set, walking backwards.
BtResult backtrack_insn(const Env& env, uint32_t idx, int64_t subseq, const HistEntry* h, Backtrack& bt) {
    const Insn& insn = env.insn(idx);
    const OpInfo& info = op_info(insn.op);
    const uint8_t cls = info.opcode & 0x07;
    const uint8_t code = info.opcode & 0xf0;
    sync_linked(bt, h);
    const int d = insn.dst, s = insn.src;
    switch (info.form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Neg:
        case Form::Movsx:
        case Form::End:
        case Form::AddrSpaceCast:
            if (!bt.has(d)) break;
            if (info.form == Form::Neg || info.form == Form::End) break;
            if (code == 0xb0) {  // mov
                bt.clear(d);
                if ((info.opcode & 0x08) && s != kFrameReg) bt.set(s);
            } else if (info.opcode & 0x08) {
                if (s != kFrameReg) bt.set(s);
            }
            break;
        case Form::Ldx:
        case Form::Ldxs:
        case Form::LoadAcquire:
            if (!bt.has(d)) break;
            bt.clear(d);
            if (h && h->stack_slot >= 0) bt.slots[h->frame] |= uint64_t{1} << h->stack_slot;
            break;
        case Form::St:
        case Form::Stx:
        case Form::StoreRelease:
            if (bt.has(d)) return BtResult::Unsupported;
            if (!h || h->stack_slot < 0) break;
            if (!(bt.slots[h->frame] & (uint64_t{1} << h->stack_slot))) break;
            bt.slots[h->frame] &= ~(uint64_t{1} << h->stack_slot);
            if (info.form != Form::St) bt.set(s);
            break;
        case Form::Atomic:
            if (bt.has(d)) return BtResult::Unsupported;
            if (bt.has(s) || (insn.imm == 0xf1 && bt.has(0))) return BtResult::Unsupported;
            break;
        case Form::CallLocal: {
            const int sub = env.subprog_at(insn.target);
            if (sub >= 0 && env.subprogs[static_cast<uint32_t>(sub)].global) {
                bt.clear(0);
                break;
            }
            // Leaving the callee backwards: r1-r5 are the caller's arguments.
            const uint16_t args = bt.regs[bt.frame] & 0x3e;
            bt.regs[bt.frame] = 0;
            bt.slots[bt.frame] = 0;
            if (bt.frame == 0) return BtResult::Unsupported;
            bt.frame--;
            bt.regs[bt.frame] |= args;
            break;
        }
        case Form::Call:
        case Form::CallKfunc:
        case Form::Callx: {
            const bool callback_return = env.aux[idx].calls_callback && subseq >= 0 && static_cast<int64_t>(idx) != subseq - 1;
            if (callback_return) {
                // The exit of a callback returns to its helper call: r1-r5 are not its arguments.
                bt.regs[bt.frame] = 0;
                bt.slots[bt.frame] = 0;
                if (bt.frame == 0) return BtResult::Unsupported;
                bt.frame--;
                break;
            }
            bt.clear(0);
            if (bt.regs[bt.frame] & 0x3e) return BtResult::Unsupported;
            break;
        }
        case Form::Exit: {
            const bool r0 = subseq >= 1 && env.insn(static_cast<uint32_t>(subseq - 1)).op == Op::CallLocal && bt.has(0);
            bt.clear(0);
            if (bt.frame + 1 >= kMaxFrames) return BtResult::Unsupported;
            bt.frame++;
            if (r0) bt.set(0);
            break;
        }
        case Form::JmpReg:
            if (!bt.has(d) && !bt.has(s)) break;
            bt.set(s);
            bt.set(d);
            break;
        case Form::Lddw:
            if (!bt.has(d)) break;
            bt.clear(d);
            break;
        case Form::LdAbs:
        case Form::LdInd:
            if (bt.has(d) || bt.has(0)) return BtResult::Unsupported;
            break;
        default:
            break;
    }
    (void)cls;
    sync_linked(bt, h);
    return BtResult::Ok;
}

/// mark_all_scalars_precise: the fallback when backtracking cannot follow a value.
void mark_all_precise(Env& env) {
    for (Checkpoint* c = env.cur->parent; c; c = c->parent)
        c->st.for_each_reg([](Reg& r) {
            if (r.type == RegType::Scalar) r.precise = true;
        });
}

/// The instruction executed before `i` on a segment, from its history (one entry per visit of
/// an instruction that arrived by a jump or recorded data); -1 at the segment start.
int64_t prev_insn(const std::vector<HistEntry>& hist, size_t& cnt, uint32_t first, uint32_t i) {
    if (i == first && (cnt == 0 || (cnt == 1 && hist[0].idx == i))) return -1;
    if (cnt && hist[cnt - 1].idx == i) return hist[--cnt].prev_idx;
    if (i == 0) return -1;
    return static_cast<int64_t>(i) - 1;
}

const HistEntry* hist_at(const std::vector<HistEntry>& hist, size_t cnt, uint32_t i) {
    return cnt && hist[cnt - 1].idx == i ? &hist[cnt - 1] : nullptr;
}

/// __mark_chain_precision from the current path with `bt` as the wanted set.
bool backtrack(Env& env, Backtrack bt) {
    if (!env.opt.privileged) return true;
    if (bt.empty()) return true;
    const std::vector<HistEntry>* hist = &env.cur->history;
    uint32_t first = env.cur->first_insn;
    int64_t last = env.insn_idx;
    int64_t subseq = -1;
    bool skip_first = true;
    Checkpoint* parent = env.cur->parent;
    for (;;) {
        size_t cnt = hist->size();
        for (int64_t i = last;;) {
            if (skip_first) {
                skip_first = false;
            } else {
                const HistEntry* h = hist_at(*hist, cnt, static_cast<uint32_t>(i));
                if (backtrack_insn(env, static_cast<uint32_t>(i), subseq, h, bt) == BtResult::Unsupported) {
                    mark_all_precise(env);
                    return true;
                }
            }
            if (bt.empty()) return true;
            subseq = i;
            const int64_t p = prev_insn(*hist, cnt, first, static_cast<uint32_t>(i));
            if (p < 0) break;
            i = p;
        }
        if (!parent) break;
        State& st = parent->st;
        for (int64_t f = bt.frame; f >= 0; --f) {
            if (static_cast<size_t>(f) >= st.frames.size()) continue;
            Frame& fr = st.frames[static_cast<size_t>(f)];
            for (int r = 0; r < kNumRegs; ++r) {
                if (!(bt.regs[f] & (1u << r))) continue;
                Reg& reg = fr.regs[r];
                if (reg.type != RegType::Scalar || reg.precise) bt.regs[f] &= static_cast<uint16_t>(~(1u << r));
                else reg.precise = true;
            }
            for (int k = 0; k < 64; ++k) {
                if (!(bt.slots[f] & (uint64_t{1} << k))) continue;
                if (static_cast<size_t>(k) >= fr.stack.size() || !(fr.stack[k].is_spill() && fr.stack[k].spilled.type == RegType::Scalar)) {
                    bt.slots[f] &= ~(uint64_t{1} << k);
                    continue;
                }
                Reg& reg = fr.stack[k].spilled;
                if (reg.precise) bt.slots[f] &= ~(uint64_t{1} << k);
                else reg.precise = true;
            }
        }
        if (bt.empty()) return true;
        subseq = first;
        last = parent->last_insn;
        first = parent->first_insn;
        hist = &parent->history;
        parent = parent->parent;
    }
    if (!bt.empty()) mark_all_precise(env);
    return true;
}

}  // namespace

bool mark_precise(Env& env, int regno) {
    if (!env.opt.privileged) return true;
    Reg& r = env.cur->st.reg(regno);
    if (r.type != RegType::Scalar) return true;
    Backtrack bt;
    bt.frame = env.cur->st.curframe;
    bt.set(regno);
    return backtrack(env, bt);
}

bool mark_precise_stack(Env& env, uint32_t frame, int slot) {
    if (!env.opt.privileged) return true;
    Backtrack bt;
    bt.frame = env.cur->st.curframe;
    bt.slots[frame] |= uint64_t{1} << slot;
    return backtrack(env, bt);
}

/// What was precise in the kept state matters on the pruned path too.
void propagate_precision(Env& env, const State& old) {
    Backtrack bt;
    bt.frame = old.curframe;
    for (uint32_t f = 0; f <= old.curframe; ++f) {
        const Frame& fr = old.frames[f];
        for (int r = 0; r < kFrameReg; ++r)
            if (fr.regs[r].type == RegType::Scalar && fr.regs[r].precise) bt.regs[f] |= static_cast<uint16_t>(1u << r);
        for (size_t k = 0; k < fr.stack.size() && k < 64; ++k)
            if (fr.stack[k].is_spill() && fr.stack[k].spilled.type == RegType::Scalar && fr.stack[k].spilled.precise)
                bt.slots[f] |= uint64_t{1} << k;
    }
    backtrack(env, bt);
}

}  // namespace bpfvm::verifier
