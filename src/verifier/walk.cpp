// The walk: every path of a subprogram depth-first, as the kernel's do_check. At prune points the
// current state is compared with the states kept there (is_state_visited): a state covered by a
// fully verified one ends the path; one equal to a state still on the current path is an infinite
// loop. Precision (precision.cpp) decides which scalars a comparison must match exactly.
#include <algorithm>

#include "checks.hpp"
#include "walk.hpp"

namespace bpfvm::verifier {
namespace {

constexpr uint32_t kAddConst = 1u << 31;
constexpr size_t kMaxPending = 8192;   // BPF_COMPLEXITY_LIMIT_JMP_SEQ
constexpr size_t kMaxStatesUnpriv = 64;  // BPF_COMPLEXITY_LIMIT_STATES

// ---- State comparison (states_equal, regsafe, stacksafe, refsafe)

enum class Exact { NotExact, RangeWithin, Exact };

/// A bijection between the ids of an old state and the current one (the kernel's idmap).
struct IdMap {
    std::vector<std::pair<uint32_t, uint32_t>> pairs;
    uint32_t tmp = 0x40000000;

    bool check(uint32_t old_id, uint32_t cur_id) {
        if (!!old_id != !!cur_id) return false;
        if (old_id == 0) return true;
        for (const auto& [o, c] : pairs) {
            if (o == old_id) return c == cur_id;
            if (c == cur_id) return false;
        }
        pairs.emplace_back(old_id, cur_id);
        return true;
    }
    /// Scalars (check_scalar_ids): an old register with no id was independent, so whatever links
    /// the current one has only add constraints; an unlinked current register gets a fresh id so
    /// that two independent ones cannot stand for one linked pair of the old state.
    bool check_scalar(uint32_t old_id, uint32_t cur_id) {
        if (old_id == 0) return true;
        return check(old_id, cur_id ? cur_id : ++tmp);
    }
};

/// Fields other than ids equal (the kernel's memcmp up to `id`).
bool same_fields(const Reg& a, const Reg& b) {
    return a.type == b.type && a.flags == b.flags && a.off == b.off && a.val == b.val && a.map == b.map &&
           a.range == b.range && a.mem_size == b.mem_size && a.subprog == b.subprog && a.frameno == b.frameno;
}

bool regs_exact(const Reg& a, const Reg& b, IdMap& ids) {
    return same_fields(a, b) && ids.check(a.id, b.id) && ids.check(a.ref_obj_id, b.ref_obj_id);
}

bool regsafe(const Env& env, const Reg& old, const Reg& cur, IdMap& ids, Exact exact) {
    if (exact == Exact::Exact) return regs_exact(old, cur, ids);
    if (old.type == RegType::NotInit) {
        if (exact == Exact::NotExact || cur.type == RegType::NotInit) return true;
    }
    if (old.type != cur.type || old.flags != cur.flags) return false;
    switch (old.type) {
        case RegType::Scalar: {
            const bool precise = old.precise || !env.opt.privileged;
            if (!precise && exact == Exact::NotExact) return true;
            // Links matter only where the old state had one: `old + delta` links need the same
            // delta, a plain old link refuses a current `+ delta` one; an unlinked old register
            // accepts any current links (they only narrow what the current path can do).
            if (old.id & kAddConst) {
                if (!(cur.id & kAddConst) || old.off != cur.off) return false;
            } else if (old.id && (cur.id & kAddConst)) {
                return false;
            }
            return covers(old.val, cur.val) && ids.check_scalar(old.id, cur.id);
        }
        case RegType::MapKey:
        case RegType::MapValue:
        case RegType::Mem:
        case RegType::Buf:
        case RegType::TpBuffer:
            return old.off == cur.off && old.map == cur.map && old.mem_size == cur.mem_size &&
                   covers(old.val, cur.val) && ids.check(old.id, cur.id) && ids.check(old.ref_obj_id, cur.ref_obj_id);
        case RegType::PacketMeta:
        case RegType::Packet:
            if (old.range > cur.range) return false;
            if (old.off != cur.off) return false;
            if (!ids.check(old.id, cur.id)) return false;
            return covers(old.val, cur.val);
        case RegType::Stack:
            return regs_exact(old, cur, ids) && old.frameno == cur.frameno;
        case RegType::Arena:
            return true;
        default:
            return regs_exact(old, cur, ids);
    }
}

/// The scalar a stack slot holds as a whole (a 64-bit spilled scalar, or 8 bytes of data). A
/// privileged program may read uninitialised stack, so there an Invalid byte reads as data too.
bool slot_scalar(const Env& env, const StackSlot& s, Reg& out) {
    if (s.is_full_spill() && s.spilled.type == RegType::Scalar) {
        out = s.spilled;
        return true;
    }
    const bool misc = std::all_of(std::begin(s.bytes), std::end(s.bytes), [&](SlotByte b) {
        return b == SlotByte::Misc || (b == SlotByte::Invalid && env.opt.privileged);
    });
    if (misc) {
        out = Reg::unknown_scalar();
        return true;
    }
    return false;
}

bool stacksafe(const Env& env, const Frame& old, const Frame& cur, IdMap& ids, Exact exact, uint64_t live) {
    for (size_t spi = 0; spi < old.stack.size(); ++spi) {
        if (exact == Exact::NotExact && spi < 64 && !(live & (uint64_t{1} << spi))) continue;
        const StackSlot& o = old.stack[spi];
        const bool have_cur = spi < cur.stack.size();
        static const StackSlot empty;
        const StackSlot& c = have_cur ? cur.stack[spi] : empty;
        if (exact != Exact::NotExact) {
            if (!have_cur) return false;
            for (int i = 0; i < 8; ++i)
                if (o.bytes[i] != c.bytes[i]) return false;
        }
        if (o.bytes[0] == SlotByte::Iter || o.bytes[0] == SlotByte::Dynptr) {
            // Iterators compare by kind, state and reference (not depth, which would never converge).
            if (!have_cur || o.bytes[0] != c.bytes[0]) return false;
            if (o.iter.kind != c.iter.kind || o.iter.state != c.iter.state || !ids.check(o.iter.ref, c.iter.ref))
                return false;
            continue;
        }
        Reg oreg, creg;
        if (slot_scalar(env, o, oreg) && have_cur && slot_scalar(env, c, creg)) {
            if (!regsafe(env, oreg, creg, ids, exact)) return false;
            continue;
        }
        for (int i = 0; i < 8; ++i) {
            const SlotByte ob = o.bytes[i];
            const SlotByte cb = c.bytes[i];
            if (ob == SlotByte::Invalid) continue;
            if (env.opt.privileged && ob == SlotByte::Misc) continue;
            if (!have_cur) return false;
            if (ob == SlotByte::Misc && cb == SlotByte::Zero) continue;
            if (ob != cb) return false;
        }
        if (o.is_spill() && !regsafe(env, o.spilled, c.spilled, ids, exact)) return false;
    }
    return true;
}

bool refsafe(const State& old, const State& cur, IdMap& ids) {
    if (old.refs.size() != cur.refs.size()) return false;
    if (old.active_locks != cur.active_locks || old.active_rcu != cur.active_rcu ||
        old.active_preempt != cur.active_preempt)
        return false;
    for (size_t i = 0; i < old.refs.size(); ++i) {
        const RefState& a = old.refs[i];
        const RefState& b = cur.refs[i];
        if (!ids.check(a.id, b.id) || a.kind != b.kind) return false;
        // A lock is named by its map and the id of the map value register it was taken through:
        // that id must map like the registers' ids do (two lookups are two different locks).
        if (a.kind == RefKind::Lock && (a.lock_map != b.lock_map || !ids.check(a.lock_id, b.lock_id))) return false;
    }
    return true;
}

/// Stack slots live in frame `f` at instruction `insn`: the running frame's at `insn`; a caller's
/// at its call (which includes everything when it passed a stack pointer to the callee).
uint64_t stack_live_mask(const Env& env, const State& st, uint32_t f, uint32_t insn) {
    if (f == st.curframe) return env.aux[insn].stack_live;
    const uint32_t call = st.frames[f + 1].callsite;
    if (call >= env.aux.size()) return ~uint64_t{0};
    return env.aux[call].stack_live;
}

/// Registers live in frame `f` of a state at instruction `insn` (static liveness): the running
/// frame at `insn`, callers after their call returns.
uint16_t live_mask(const Env& env, const State& st, uint32_t f, uint32_t insn) {
    if (f == st.curframe) return env.aux[insn].live_in;
    const uint32_t ret = st.frames[f + 1].callsite + 1;
    if (ret >= env.aux.size()) return 0xffff;
    // r0 is the callee's result and r1-r5 are clobbered by the call.
    return static_cast<uint16_t>(env.aux[ret].live_in & ~0x3f);
}

bool states_equal(const Env& env, const State& old, const State& cur, uint32_t insn, Exact exact) {
    if (old.curframe != cur.curframe || old.frames.size() != cur.frames.size()) return false;
    if (old.speculative && !cur.speculative) return false;
    IdMap ids;
    if (!refsafe(old, cur, ids)) return false;
    for (uint32_t f = 0; f <= old.curframe; ++f) {
        const Frame& o = old.frames[f];
        const Frame& c = cur.frames[f];
        if (o.callsite != c.callsite) return false;
        if (o.callback_depth > c.callback_depth) return false;
        const uint16_t live = exact == Exact::Exact ? 0xffff : live_mask(env, old, f, insn);
        for (int r = 0; r < kNumRegs; ++r) {
            if (!(live & (1u << r)) && exact == Exact::NotExact) continue;
            if (!regsafe(env, o.regs[r], c.regs[r], ids, exact)) return false;
        }
        if (!stacksafe(env, o, c, ids, exact, stack_live_mask(env, old, f, insn))) return false;
    }
    return true;
}



/// clear_singular_ids: a scalar id no other register (or spilled register) shares links nothing,
/// so it is dropped before the state is kept; the kept state then covers current states whatever
/// links they have there (an old id of 0 accepts any).
void clear_singular_ids(State& st) {
    std::vector<std::pair<uint32_t, uint32_t>> counts;  // base id, registers holding it
    auto base = [](const Reg& r) { return r.id & ~kAddConst; };
    st.for_each_reg([&](Reg& r) {
        if (r.type != RegType::Scalar || !r.id) return;
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == base(r); });
        if (it == counts.end()) counts.emplace_back(base(r), 1);
        else it->second++;
    });
    st.for_each_reg([&](Reg& r) {
        if (r.type != RegType::Scalar || !r.id) return;
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == base(r); });
        if (it->second == 1) {
            r.id = 0;
            r.off = 0;
        }
    });
}

void mark_all_imprecise(State& st) {
    st.for_each_reg([](Reg& r) {
        if (r.type == RegType::Scalar) r.precise = false;
    });
}

/// The iterator r1 points to at an iterator next call is active (not drained).
bool iter_active_at(const State& st) {
    const Reg& r = st.reg(1);
    if (r.type != RegType::Stack || !r.val.is_const()) return false;
    const Frame& f = st.frames[r.frameno];
    const int64_t off = r.off + static_cast<int64_t>(r.val.const_value());
    const StackSlot* s = f.slot_at(static_cast<int32_t>(off));
    return s && s->bytes[0] == SlotByte::Iter && s->iter.state == kIterActive;
}

/// iter_active_depths_differ: another iteration of an iterator loop is not an infinite loop.
bool iter_depths_differ(const State& old, const State& cur) {
    for (size_t f = 0; f < old.frames.size() && f < cur.frames.size(); ++f) {
        const auto& os = old.frames[f].stack;
        const auto& cs = cur.frames[f].stack;
        for (size_t k = 0; k < os.size() && k < cs.size(); ++k)
            if (os[k].bytes[0] == SlotByte::Iter && os[k].iter.state == kIterActive && os[k].iter.depth != cs[k].iter.depth)
                return true;
    }
    return false;
}

/// states_maybe_looping: same frames and the current frame's registers equal.
bool maybe_looping(const State& old, const State& cur) {
    if (old.curframe != cur.curframe) return false;
    const Frame& a = old.cur();
    const Frame& b = cur.cur();
    for (int r = 0; r < kNumRegs; ++r) {
        const Reg& x = a.regs[r];
        const Reg& y = b.regs[r];
        if (!(x.type == y.type && x.off == y.off && x.val == y.val && x.map == y.map && x.range == y.range)) return false;
    }
    return true;
}

}  // namespace

void widen_loop_state(Env& env, PathState& path) {
    // find_prev_entry: the checkpoint at this instruction on the current path (same call sites).
    const uint32_t insn = env.insn_idx;
    const Checkpoint* prev = nullptr;
    for (const auto& c : env.explored[insn]) {
        if (c->branches == 0 || c->st.frames.size() != path.st.frames.size()) continue;
        bool same = true;
        for (size_t f = 0; f < c->st.frames.size(); ++f) same = same && c->st.frames[f].callsite == path.st.frames[f].callsite;
        // Not the checkpoint just kept for this very visit (the path's parent): the one before it.
        if (same && c->dfs_depth + 1 < path.dfs_depth) prev = c.get();
    }
    if (!prev || !env.opt.privileged) return;
    IdMap ids;
    auto widen = [&](const Reg& old, Reg& cur) {
        if (old.type != RegType::Scalar || cur.type != RegType::Scalar) return;
        if (old.precise || cur.precise || regs_exact(old, cur, ids)) return;
        cur = Reg::unknown_scalar();
    };
    for (size_t f = 0; f < prev->st.frames.size(); ++f) {
        const Frame& of = prev->st.frames[f];
        Frame& cf = path.st.frames[f];
        for (int r = 0; r < kNumRegs; ++r) widen(of.regs[r], cf.regs[r]);
        const size_t n = std::min(of.stack.size(), cf.stack.size());
        for (size_t k = 0; k < n; ++k)
            if (of.stack[k].is_spill() && cf.stack[k].is_spill()) widen(of.stack[k].spilled, cf.stack[k].spilled);
    }
}

PathState* push_branch(Env& env, uint32_t insn, uint32_t prev_insn) {
    if (env.pending.size() >= kMaxPending) {
        env.fail("The sequence of %zu jumps is too complex.", env.pending.size());
        return nullptr;
    }
    env.pending.push_back(*env.cur);
    PathState& p = env.pending.back();
    p.resume_insn = insn;
    p.resume_prev = prev_insn;
    if (p.parent) p.parent->branches++;
    return &p;
}

int is_state_visited(Env& env, uint32_t insn) {
    PathState& cur = *env.cur;
    InsnAux& aux = env.aux[insn];
    const bool force = env.opt.test_state_freq || aux.force_checkpoint;
    bool add = force;
    if (env.jmps_processed - env.prev_jmps_processed >= 2 && env.stats.insns_processed - env.prev_insns_processed >= 8)
        add = true;
    auto& list = env.explored[insn];
    size_t count = 0;
    bool hit = false;
    for (size_t k = 0; k < list.size() && !hit;) {
        Checkpoint& c = *list[k];
        ++count;
        bool keep = true;
        if (c.branches > 0) {
            // A state still on this path: the walk is in a loop.
            bool converge = aux.calls_callback || (aux.may_goto && c.st.may_goto_depth != cur.st.may_goto_depth);
            if (aux.iter_next) converge = iter_active_at(cur.st);
            if (converge && states_equal(env, c.st, cur.st, insn, Exact::RangeWithin)) {
                c.hit++;
                env.stats.pruned++;
                cur.loop_entry = &c;
                hit = true;
                propagate_precision(env, c.st);
                break;
            }
            if (aux.iter_next || aux.calls_callback) {
                // Iterator and callback loops converge above or go on: never "infinite".
            } else if (maybe_looping(c.st, cur.st) && states_equal(env, c.st, cur.st, insn, Exact::Exact) &&
                !iter_depths_differ(c.st, cur.st) &&
                c.st.may_goto_depth == cur.st.may_goto_depth &&
                c.st.callback_unroll_depth == cur.st.callback_unroll_depth) {
                env.fail("infinite loop detected at insn %u", env.insn(insn).pc);
                return -1;
            }
            if (!force && env.jmps_processed - env.prev_jmps_processed < 20 &&
                env.stats.insns_processed - env.prev_insns_processed < 100)
                add = false;
        } else {
            const bool within_loop = c.loop_entry && c.loop_entry->branches > 0;
            if (states_equal(env, c.st, cur.st, insn, within_loop ? Exact::RangeWithin : Exact::NotExact)) {
                c.hit++;
                env.stats.pruned++;
                if (within_loop && !cur.loop_entry) cur.loop_entry = c.loop_entry;
                hit = true;
                propagate_precision(env, c.st);
                break;
            }
        }
        // A state that keeps missing is unlikely to help: stop comparing with it.
        if (add) c.miss++;
        const uint32_t n = aux.force_checkpoint && c.branches > 0 ? 64 : 3;
        if (c.miss > c.hit * n + n) {
            env.evicted.push_back(std::move(list[k]));
            list.erase(list.begin() + static_cast<std::ptrdiff_t>(k));
            env.live_states--;
            keep = false;
        }
        if (keep) ++k;
    }
    if (hit) {
        if (env.opt.log) env.logf("%u: safe\n", env.insn(insn).pc);
        return 1;
    }
    if (!env.opt.privileged && count > kMaxStatesUnpriv) return 0;
    if (!add) return 0;
    // Keep this state for future pruning; the path continues from it.
    clear_singular_ids(cur.st);
    auto cp = std::make_unique<Checkpoint>();
    cp->st = cur.st;
    cp->insn = insn;
    cp->branches = 1;
    cp->parent = cur.parent;
    cp->first_insn = cur.first_insn;
    cp->last_insn = env.prev_insn_idx;
    cp->history = std::move(cur.history);
    cp->loop_entry = cur.loop_entry;
    cp->dfs_depth = cur.dfs_depth;
    cur.history.clear();
    cur.parent = cp.get();
    cur.first_insn = insn;
    cur.dfs_depth++;
    if (env.opt.privileged) mark_all_imprecise(cur.st);
    env.prev_jmps_processed = env.jmps_processed;
    env.prev_insns_processed = env.stats.insns_processed;
    list.push_back(std::move(cp));
    env.stats.states++;
    env.live_states++;
    env.stats.peak_states = std::max(env.stats.peak_states, env.live_states);
    return 0;
}

HistEntry& current_hist_entry(Env& env) {
    std::vector<HistEntry>& hist = env.cur->history;
    if (!env.cur_hist_ent || hist.empty() || hist.back().idx != env.insn_idx) {
        HistEntry h;
        h.idx = env.insn_idx;
        h.prev_idx = env.prev_insn_idx;
        hist.push_back(h);
        env.cur_hist_ent = true;
    }
    return hist.back();
}

void finish_path(Env& env) {
    // update_branch_counts: the checkpoints whose every path is now done become complete.
    for (Checkpoint* c = env.cur->parent; c; c = c->parent) {
        if (--c->branches) break;
    }
}

}  // namespace bpfvm::verifier
