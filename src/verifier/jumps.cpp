// Conditional jumps, as the kernel's check_cond_jmp_op: decide the branch from the operands'
// abstract values when possible (marking the deciding registers precise), otherwise walk both
// sides with each operand refined; a null check makes every copy of a maybe-null pointer non-null
// (or zero) at once; comparing a packet pointer with data_end proves a range for every packet
// pointer of the same base; registers linked by scalar ids learn the same bounds.
#include "checks.hpp"
#include "walk.hpp"

namespace bpfvm::verifier {
namespace {

constexpr uint32_t kAddConst = 1u << 31;
constexpr int32_t kMaxPacketOff = 0xffff;
constexpr int32_t kAtPktEnd = -1;      // the pointer is at or beyond data_end
constexpr int32_t kBeyondPktEnd = -2;  // the pointer is beyond data_end

std::optional<JmpOp> jmp_op(const Insn& insn) {
    switch (op_info(insn.op).opcode & 0xf0) {
        case 0x10: return JmpOp::Eq;
        case 0x20: return JmpOp::Gt;
        case 0x30: return JmpOp::Ge;
        case 0x40: return JmpOp::Set;
        case 0x50: return JmpOp::Ne;
        case 0x60: return JmpOp::Sgt;
        case 0x70: return JmpOp::Sge;
        case 0xa0: return JmpOp::Lt;
        case 0xb0: return JmpOp::Le;
        case 0xc0: return JmpOp::Slt;
        case 0xd0: return JmpOp::Sle;
        default: return std::nullopt;
    }
}

bool is_jmp32(const Insn& insn) { return (op_info(insn.op).opcode & 0x07) == 0x06; }
bool src_is_reg(const Insn& insn) { return (op_info(insn.op).opcode & 0x08) != 0; }

/// reg_not_null: pointer types that can never be null.
bool reg_not_null(const Reg& r) {
    if (r.maybe_null()) return false;
    switch (r.type) {
        case RegType::Socket:
        case RegType::TcpSock:
        case RegType::MapValue:
        case RegType::MapKey:
        case RegType::SockCommon:
        case RegType::ConstMap:
            return true;
        case RegType::Mem:
            return (r.flags & kUntrusted) == 0;
        default:
            return false;
    }
}

/// is_pkt_ptr_branch_taken: a packet pointer already known to be at or beyond data_end.
Branch pkt_ptr_taken(const Reg& dst, const Reg& src, JmpOp op) {
    const Reg* pkt;
    if (src.type == RegType::PacketEnd) {
        pkt = &dst;
    } else if (dst.type == RegType::PacketEnd) {
        pkt = &src;
        op = swap_operands(op);
    } else {
        return Branch::Unknown;
    }
    if (pkt->range >= 0) return Branch::Unknown;
    switch (op) {
        case JmpOp::Le:
        case JmpOp::Gt:
            if (pkt->range == kBeyondPktEnd) return op == JmpOp::Gt ? Branch::Always : Branch::Never;
            break;
        case JmpOp::Lt:
        case JmpOp::Ge:
            if (pkt->range == kBeyondPktEnd || pkt->range == kAtPktEnd)
                return op == JmpOp::Ge ? Branch::Always : Branch::Never;
            break;
        default:
            break;
    }
    return Branch::Unknown;
}

/// is_branch_taken on any operands.
Branch branch_taken(const Reg& a, const Reg& b, JmpOp op, bool is32) {
    if (a.is_packet() || a.type == RegType::PacketEnd) {
        if ((b.is_packet() || b.type == RegType::PacketEnd) && !is32) return pkt_ptr_taken(a, b, op);
    }
    if (a.is_pointer() || b.is_pointer()) {
        const Reg* p = &a;
        const Reg* k = &b;
        if (!(k->is_scalar() && k->val.is_const_in(is32))) {
            op = swap_operands(op);
            std::swap(p, k);
        }
        if (!(k->is_scalar() && k->val.is_const_in(is32))) return Branch::Unknown;
        if (!reg_not_null(*p)) return Branch::Unknown;
        if (k->val.const_value_in(is32) != 0) return Branch::Unknown;
        if (op == JmpOp::Eq) return Branch::Never;
        if (op == JmpOp::Ne) return Branch::Always;
        return Branch::Unknown;
    }
    return is_branch_taken(op, is32, a.val, b.val);
}

/// The opposite condition (rev_opcode).
JmpOp negate(JmpOp op) {
    switch (op) {
        case JmpOp::Eq: return JmpOp::Ne;
        case JmpOp::Ne: return JmpOp::Eq;
        case JmpOp::Gt: return JmpOp::Le;
        case JmpOp::Ge: return JmpOp::Lt;
        case JmpOp::Lt: return JmpOp::Ge;
        case JmpOp::Le: return JmpOp::Gt;
        case JmpOp::Sgt: return JmpOp::Sle;
        case JmpOp::Sge: return JmpOp::Slt;
        case JmpOp::Slt: return JmpOp::Sge;
        case JmpOp::Sle: return JmpOp::Sgt;
        case JmpOp::Set: return JmpOp::Set;  // refine() handles the not-taken side itself
    }
    return op;
}

/// mark_ptr_or_null_regs: every copy of the checked pointer becomes non-null, or zero.
void mark_ptr_or_null(Env& env, State& st, int regno, bool is_null) {
    const Reg& r = st.reg(regno);
    const uint32_t id = r.id;
    const uint32_t ref = r.ref_obj_id;
    if (ref && ref == id && is_null) {
        // The null branch holds no object: the reference is gone there.
        for (auto it = st.refs.begin(); it != st.refs.end(); ++it)
            if (it->id == id) {
                st.refs.erase(it);
                break;
            }
    }
    if (id == 0) return;
    st.for_each_reg([&](Reg& reg) {
        if (!reg.maybe_null() || reg.id != id) return;
        if (is_null) {
            reg = Reg::known(0);
            return;
        }
        reg.flags &= static_cast<uint16_t>(~kMaybeNull);
        const MapInfo* map = reg.type == RegType::MapValue ? env.map(reg.map) : nullptr;
        if (map && map->inner_map) {
            // A lookup in a map of maps yields the inner map.
            reg.type = RegType::ConstMap;
            reg.map = *map->inner_map;
        } else if (map && map->type == MapType::Xskmap) {
            reg.type = RegType::XdpSock;
        } else if (map && (map->type == MapType::Sockmap || map->type == MapType::Sockhash)) {
            reg.type = RegType::Socket;
        }
        if (!(map && map->spin_lock_off >= 0)) reg.id = 0;
    });
}

/// find_good_pkt_pointers: `ptr` (fixed offset off) is within the packet: every packet pointer of
/// the same base may access `off` (+1 when the comparison was strict) bytes.
void good_pkt_pointers(State& st, const Reg& ptr, bool right_open) {
    if (ptr.off < 0 || (ptr.off == 0 && right_open)) return;
    if (ptr.val.umax > static_cast<uint64_t>(kMaxPacketOff) ||
        ptr.val.umax + static_cast<uint64_t>(ptr.off) > static_cast<uint64_t>(kMaxPacketOff))
        return;
    const int32_t range = ptr.off + (right_open ? 1 : 0);
    const RegType type = ptr.type;
    const uint32_t id = ptr.id;
    st.for_each_reg([&](Reg& reg) {
        if (reg.type == type && reg.id == id) reg.range = std::max(reg.range, range);
    });
}

void mark_pkt_end(State& st, int regno, bool beyond) {
    Reg& r = st.reg(regno);
    if (r.type != RegType::Packet) return;
    r.range = beyond ? kBeyondPktEnd : kAtPktEnd;
}

bool is_init_pkt(const Reg& r, RegType type) {
    return r.type == type && r.off == 0 && r.val.is_const() && r.val.const_value() == 0;
}

/// try_match_pkt_pointers. `taken` is the jump side, `fall` the fall-through side.
bool match_pkt_pointers(const Insn& insn, const Reg& dst, const Reg& src, State& fall, State& taken, JmpOp op) {
    if (!src_is_reg(insn) || is_jmp32(insn)) return false;
    const bool dst_lhs = (dst.type == RegType::Packet && src.type == RegType::PacketEnd) ||
                         (dst.type == RegType::PacketMeta && is_init_pkt(src, RegType::Packet));
    const bool src_lhs = (dst.type == RegType::PacketEnd && src.type == RegType::Packet) ||
                         (is_init_pkt(dst, RegType::Packet) && src.type == RegType::PacketMeta);
    if (!dst_lhs && !src_lhs) return false;
    // Normalise to "ptr OP end" where ptr is the register whose range is learnt.
    const Reg& ptr = dst_lhs ? dst : src;
    const int ptr_regno = dst_lhs ? insn.dst : insn.src;
    if (!dst_lhs) op = swap_operands(op);
    State* le;  // the side where ptr <= end
    State* lt;  // the side where ptr < end
    State* gt;  // ptr > end
    State* ge;  // ptr >= end
    switch (op) {
        case JmpOp::Gt:  // taken: ptr > end
            good_pkt_pointers(fall, ptr, false);
            mark_pkt_end(taken, ptr_regno, true);
            return true;
        case JmpOp::Lt:  // taken: ptr < end
            good_pkt_pointers(taken, ptr, true);
            mark_pkt_end(fall, ptr_regno, false);
            return true;
        case JmpOp::Ge:  // taken: ptr >= end
            good_pkt_pointers(fall, ptr, true);
            mark_pkt_end(taken, ptr_regno, false);
            return true;
        case JmpOp::Le:  // taken: ptr <= end
            good_pkt_pointers(taken, ptr, false);
            mark_pkt_end(fall, ptr_regno, true);
            return true;
        default:
            (void)le, (void)lt, (void)gt, (void)ge;
            return false;
    }
}

/// The registers (and spilled scalars) of every frame linked to scalar id `id`.
std::vector<Reg*> linked_regs(State& st, uint32_t id) {
    std::vector<Reg*> out;
    const uint32_t base = id & ~kAddConst;
    st.for_each_reg([&](Reg& r) {
        if (r.type == RegType::Scalar && r.id && (r.id & ~kAddConst) == base) out.push_back(&r);
    });
    return out;
}

/// sync_linked_regs: registers sharing `known`'s id take its bounds (shifted by their delta).
void sync_linked(State& st, const Reg& known_in) {
    const Reg known = known_in;
    for (Reg* r : linked_regs(st, known.id)) {
        if (r->val == known.val && r->off == known.off && r->id == known.id) continue;
        if ((!(r->id & kAddConst) && !(known.id & kAddConst)) || r->off == known.off) {
            *r = known;
        } else {
            const int32_t saved = r->off;
            const Scalar delta = Scalar::known(static_cast<uint64_t>(static_cast<int64_t>(saved - known.off)));
            *r = known;
            r->off = saved;
            r->val = alu(AluOp::Add, true, known.val, delta);
        }
    }
}

}  // namespace

bool check_cond_jmp(Env& env, const Insn& insn, uint32_t& next) {
    State& st = env.cur->st;
    BPFVM_CHECK(check_reg_read(env, insn.dst));
    const bool reg_src = src_is_reg(insn);
    const bool is32 = is_jmp32(insn);
    if (reg_src) {
        BPFVM_CHECK(check_reg_read(env, insn.src));
        const Reg& d = st.reg(insn.dst);
        const Reg& s = st.reg(insn.src);
        const bool both_pkt = (d.is_packet() || d.type == RegType::PacketEnd) && (s.is_packet() || s.type == RegType::PacketEnd);
        if (!both_pkt && is_pointer_value(env, s)) return env.fail("R%d pointer comparison prohibited", insn.src);
    }
    const JmpOp op = *jmp_op(insn);
    const Reg imm = Reg::known(static_cast<uint64_t>(insn.imm));
    const Reg& dst = st.reg(insn.dst);
    const Reg& src = reg_src ? st.reg(insn.src) : imm;
    const Branch pred = branch_taken(dst, src, op, is32);
    auto note = [&](PathState& p, uint8_t outcome) {
        if (p.trail.size() >= kTrailLength) p.trail.erase(p.trail.begin());
        p.trail.emplace_back(env.insn_idx, outcome);
    };
    if (pred != Branch::Unknown) {
        note(*env.cur, pred == Branch::Always ? kAlwaysJumps : kNeverJumps);
        if (!dst.is_pointer()) BPFVM_CHECK(mark_precise(env, insn.dst));
        if (reg_src && !st.reg(insn.src).is_pointer()) BPFVM_CHECK(mark_precise(env, insn.src));
        next = pred == Branch::Always ? insn.target : env.insn_idx + 1;
        return true;
    }

    // Both sides are possible: history records the registers linked to the compared ones.
    std::array<uint16_t, kMaxFrames> linked{};
    int linked_count = 0;
    auto collect = [&](const Reg& r) {
        if (!(r.type == RegType::Scalar && r.id)) return;
        for (uint32_t f = 0; f < st.frames.size(); ++f)
            for (int i = 0; i < kNumRegs; ++i) {
                const Reg& x = st.frames[f].regs[i];
                const auto bit = static_cast<uint16_t>(1u << i);
                if (x.type == RegType::Scalar && x.id && (x.id & ~kAddConst) == (r.id & ~kAddConst) &&
                    !(linked[f] & bit)) {
                    linked[f] |= bit;
                    ++linked_count;
                }
            }
    };
    if (reg_src) collect(st.reg(insn.src));
    collect(st.reg(insn.dst));
    if (linked_count > 1) current_hist_entry(env).linked = linked;

    note(*env.cur, kFellThrough);
    PathState* other = push_branch(env, insn.target, env.insn_idx);
    if (!other) return false;
    other->trail.back().second = kJumped;
    State& taken = other->st;
    State& fall = st;

    // Scalars: refine each side (reg_set_min_max).
    Reg& fd = fall.reg(insn.dst);
    Reg& td = taken.reg(insn.dst);
    Reg fs_imm = imm, ts_imm = imm;
    Reg& fs = reg_src ? fall.reg(insn.src) : fs_imm;
    Reg& ts = reg_src ? taken.reg(insn.src) : ts_imm;
    if (fd.type == RegType::Scalar && fs.type == RegType::Scalar) {
        bool ok_fall, ok_taken;
        if (reg_src && insn.src == insn.dst) {
            ok_fall = refine_same_register(op, is32, false, fd.val);
            ok_taken = refine_same_register(op, is32, true, td.val);
        } else {
            ok_fall = refine(op, is32, false, fd.val, fs.val);
            ok_taken = refine(op, is32, true, td.val, ts.val);
        }
        if (!ok_fall || !ok_taken) {
            if (env.opt.reg_invariants)
                return env.fail("REG INVARIANTS VIOLATION (%s): range bounds violation", ok_taken ? "false_reg" : "true_reg");
            if (!ok_fall) fd.val.mark_unbounded(), fs.val.mark_unbounded();
            if (!ok_taken) td.val.mark_unbounded(), ts.val.mark_unbounded();
        }
        if (reg_src && fs.type == RegType::Scalar && fs.id) {
            sync_linked(fall, fs);
            sync_linked(taken, ts);
        }
        if (fd.id) {
            sync_linked(fall, fd);
            sync_linked(taken, td);
        }
    }
    (void)negate;

    const Reg& d = fall.reg(insn.dst);
    const Reg& s = reg_src ? fall.reg(insn.src) : imm;
    // A maybe-null pointer compared with a non-null pointer of another kind.
    if (!is32 && reg_src && d.is_pointer() && s.is_pointer() && d.maybe_null() != s.maybe_null() &&
        d.type != RegType::BtfId && s.type != RegType::BtfId) {
        State* eq = op == JmpOp::Eq ? &taken : op == JmpOp::Ne ? &fall : nullptr;
        if (eq) {
            Reg& r = s.maybe_null() ? eq->reg(insn.src) : eq->reg(insn.dst);
            r.flags &= static_cast<uint16_t>(~kMaybeNull);
        }
    }
    if (!is32 && !reg_src && insn.imm == 0 && (op == JmpOp::Eq || op == JmpOp::Ne) && d.maybe_null()) {
        mark_ptr_or_null(env, fall, insn.dst, op == JmpOp::Ne);
        mark_ptr_or_null(env, taken, insn.dst, op == JmpOp::Eq);
    } else {
        const Reg dcopy = d;
        const Reg scopy = reg_src ? fall.reg(insn.src) : imm;
        if (!match_pkt_pointers(insn, dcopy, scopy, fall, taken, op) && is_pointer_value(env, dcopy))
            return env.fail("R%d pointer comparison prohibited", insn.dst);
    }
    next = env.insn_idx + 1;
    return true;
}

bool check_may_goto(Env& env, const Insn& insn, uint32_t& next) {
    // The loop budget may run out at any visit: the fall-through (budget left) is walked later with
    // one more level of depth, the current path takes the jump (budget exhausted).
    PathState* queued = push_branch(env, env.insn_idx + 1, env.insn_idx);
    if (!queued) return false;
    queued->st.may_goto_depth++;
    widen_loop_state(env, *queued);
    next = insn.target;
    return true;
}

}  // namespace bpfvm::verifier
