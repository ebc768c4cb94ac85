// Static liveness, computed once before the walk: which registers and which 8-byte stack slots of
// the running frame may still be read from each instruction on. Pruning ignores the dead ones, as
// the kernel's clean_func_state does with its own (static) register and stack liveness.
//
// Stack slots are tracked through pointers the analysis can follow: r10 and registers holding
// r10 + constant. A helper reads through the memory arguments of its prototype only, from the
// pointer up to the frame pointer (sizes are not known statically). An access through any other
// pointer that may point into this frame (a stack pointer passed to a subprogram, a kfunc or an
// unknown helper, reloaded from memory, with a variable offset) makes every slot live there, which
// is conservative: a slot is only ever called dead when no path can read it before writing all of it.
#include <optional>

#include "bpfvm/cfg.hpp"
#include "bpfvm/helper_protos.hpp"
#include "checks.hpp"
#include "liveness.hpp"

namespace bpfvm::verifier {
namespace {

constexpr uint64_t kAllSlots = ~uint64_t{0};

/// What the forward pass knows about a register: certainly not a pointer into this frame, r10 plus
/// a known offset, or maybe one (offset unknown, or only on some paths).
enum class Fp : uint8_t { No, At, Maybe };
struct FpVal {
    Fp kind = Fp::No;
    int64_t off = 0;
    bool operator==(const FpVal&) const = default;
    bool fp() const { return kind == Fp::At; }
    bool may() const { return kind != Fp::No; }
};

/// What the forward pass knows of a register's value, to size helper memory arguments: a known
/// constant (sizes) or a map (key and value sizes); top when paths disagree.
struct ValFact {
    bool known = false;
    int64_t value = 0;
    int32_t map = -1;
    bool operator==(const ValFact&) const = default;
    static ValFact constant(int64_t v) { return {true, v, -1}; }
};

/// Joins `b` into `a`; true when `a` changed.
bool join_fp(FpVal& a, const FpVal& b) {
    if (a == b || a.kind == Fp::Maybe) return false;
    const bool either = a.may() || b.may();
    a = either ? FpVal{Fp::Maybe, 0} : FpVal{};
    return either;
}

constexpr int kSlots = kMaxStack / 8;

struct FpState {
    bool reached = false;
    FpVal regs[kNumRegs];
    ValFact vals[kNumRegs];
    FpVal slots[kSlots];  // what 8-byte spills at r10 + const hold (pointers into the frame spilled there)

    /// Joins `o` into this state; true when it changed.
    bool join(const FpState& o) {
        if (!reached) {
            *this = o;
            reached = true;
            return true;
        }
        bool changed = false;
        for (int r = 0; r < kNumRegs; ++r) changed = join_fp(regs[r], o.regs[r]) || changed;
        for (int k = 0; k < kSlots; ++k) changed = join_fp(slots[k], o.slots[k]) || changed;
        for (int r = 0; r < kNumRegs; ++r)
            if (!(vals[r] == o.vals[r]) && !(vals[r] == ValFact{})) {
                vals[r] = ValFact{};
                changed = true;
            }
        return changed;
    }
};

/// The slot mask of [off, off + size) below the frame pointer; kAllSlots when out of range.
uint64_t slot_mask(int64_t off, int64_t size) {
    if (off >= 0 || off < -kMaxStack || off + size > 0 || size <= 0) return kAllSlots;
    uint64_t m = 0;
    for (int64_t a = off; a < off + size; ++a) m |= uint64_t{1} << ((-a - 1) / 8);
    return m;
}


/// The slot an 8-byte access at base + off covers whole (base r10 + constant, aligned), or -1.
int whole_slot(const FpVal& base, int64_t off, int64_t size) {
    const int64_t a = base.off + off;
    if (!base.fp() || size != 8 || a % 8 != 0 || a >= 0 || a < -kMaxStack) return -1;
    return static_cast<int>((-a - 1) / 8);
}

/// A call that may run BPF code with a pointer into this frame (a subprogram, a kfunc, a
/// helper's callback) may leave such pointers in any of its slots.
bool call_may_spill_into_frame(const Insn& insn, const FpState& s) {
    const Form form = op_info(insn.op).form;
    if (form == Form::Call) {
        const HelperProto* proto = helper_proto(static_cast<int32_t>(insn.imm));
        bool callback = !proto;
        for (int k = 0; proto && k < 5; ++k) callback = callback || helper_arg_info(proto->args[k]).cls == HelperArgClass::Func;
        if (!callback) return false;
    }
    for (int r = 1; r <= 5; ++r)
        if (s.regs[r].may()) return true;
    return false;
}

/// What `insn` leaves in the registers and stack slots it writes: stack pointers (only 64-bit add
/// and sub keep one: the verifier rejects 32-bit pointer arithmetic and other operators on
/// pointers, or makes the result a scalar; an 8-byte spill and fill keeps one), and the constants
/// and maps that size helper arguments.
void fp_transfer(const Insn& insn, FpState& s) {
    const OpInfo& info = op_info(insn.op);
    const bool alu64 = (info.opcode & 0x07) == 0x07;
    const uint8_t code = info.opcode & 0xf0;
    const int64_t size = info.width / 8;
    const FpVal dst = s.regs[insn.dst];
    const FpVal src = s.regs[insn.src];
    const ValFact src_val = s.vals[insn.src];
    bool fetched_may = false;  // an atomic fetch from a slot that may hold a frame pointer
    switch (info.form) {
        case Form::Stx:
        case Form::StoreRelease:
        case Form::St:
        case Form::Atomic: {
            if (info.form == Form::Atomic && dst.may() && !dst.fp())
                for (const FpVal& slot : s.slots) fetched_may = fetched_may || slot.may();
            if (!dst.fp()) break;
            const uint64_t covered = slot_mask(dst.off + insn.off, size);
            if (covered == kAllSlots) break;  // out of the frame: the verifier rejects it
            const bool reg = info.form != Form::St;
            for (int k = 0; k < kSlots; ++k) {
                if (!(covered & (uint64_t{1} << k))) continue;
                fetched_may = fetched_may || s.slots[k].may();
                if (info.form == Form::Atomic) s.slots[k] = s.slots[k].may() || src.may() ? FpVal{Fp::Maybe, 0} : FpVal{};
                else s.slots[k] = reg && whole_slot(dst, insn.off, size) == k ? src : FpVal{};
            }
            break;
        }
        case Form::CallLocal:
        case Form::CallKfunc:
        case Form::Callx:
        case Form::Call:
            if (call_may_spill_into_frame(insn, s))
                for (FpVal& slot : s.slots) slot = FpVal{Fp::Maybe, 0};
            break;
        default:
            break;
    }
    auto clear = [&](int r) {
        s.regs[r] = FpVal{};
        s.vals[r] = ValFact{};
    };
    switch (info.form) {
        case Form::Call:
        case Form::CallLocal:
        case Form::CallKfunc:
        case Form::Callx:
        case Form::LdAbs:
        case Form::LdInd:
            for (int r = 0; r <= 5; ++r) clear(r);
            break;
        default:
            if (const int d = defined_register(insn); d >= 0 && d < kFrameReg) clear(d);
            break;
    }
    FpVal& d = s.regs[insn.dst];
    ValFact& dv = s.vals[insn.dst];
    switch (info.form) {
        case Form::AluImm:
            if (alu64 && (code == 0x00 || code == 0x10) && dst.may()) {
                d = dst;
                if (d.fp()) d.off += code == 0x00 ? insn.imm : -insn.imm;
            }
            if (code == 0xb0) dv = ValFact::constant(alu64 ? insn.imm : static_cast<int64_t>(static_cast<uint32_t>(insn.imm)));
            break;
        case Form::AluReg:
            if (alu64 && code == 0xb0) {
                d = src;
                dv = src_val;
            } else if (alu64 && ((code == 0x00 && (dst.may() || src.may())) || (code == 0x10 && dst.may()))) {
                d = FpVal{Fp::Maybe, 0};
            }
            break;
        case Form::Atomic:
            if (const int r = defined_register(insn); r >= 0 && fetched_may) s.regs[r] = FpVal{Fp::Maybe, 0};
            break;
        case Form::Ldx:
        case Form::LoadAcquire: {
            // A fill: what the slot holds. Through a pointer of unknown offset: any slot's.
            if (const int k = whole_slot(src, insn.off, size); k >= 0) {
                d = s.slots[k];
            } else if (src.may() && size == 8) {
                for (const FpVal& slot : s.slots)
                    if (slot.may()) d = FpVal{Fp::Maybe, 0};
            }
            break;
        }
        case Form::Lddw:
            if (insn.src == static_cast<uint8_t>(LddwKind::Imm64)) dv = ValFact::constant(insn.imm);
            if (insn.src == static_cast<uint8_t>(LddwKind::MapIdx))
                dv.map = static_cast<int32_t>(static_cast<uint64_t>(insn.imm) & 0x7fffffff);
            break;
        default:
            break;
    }
    s.regs[kFrameReg] = FpVal{Fp::At, 0};
}

/// How many bytes helper argument `k` (0-based) of `proto` reads: the fixed size of its kind, the
/// key or value size of the map argument, the constant in the size argument after it; -1 when
/// not known before the walk.
int64_t helper_read_size(const Env& env, const HelperProto& proto, int k, const FpState& s) {
    const HelperArgInfo info = helper_arg_info(proto.args[k]);
    if (info.fixed_size) return info.fixed_size;
    if (info.cls == HelperArgClass::MapKey || info.cls == HelperArgClass::MapValue) {
        for (int j = 0; j < 5; ++j) {
            if (helper_arg_info(proto.args[j]).cls != HelperArgClass::Map) continue;
            const MapInfo* map = s.vals[j + 1].map >= 0 ? env.map(static_cast<uint32_t>(s.vals[j + 1].map)) : nullptr;
            if (!map) return -1;
            return info.cls == HelperArgClass::MapKey ? map->key_size : map->value_size;
        }
        return -1;
    }
    if (k + 1 < 5 && helper_arg_info(proto.args[k + 1]).cls == HelperArgClass::Size && s.vals[k + 2].known)
        return s.vals[k + 2].value;
    return -1;
}

/// The stack slots a helper call may read through its arguments. Only memory the helper reads
/// counts: a pointer passed where the prototype wants a scalar, a map, a size or the context is
/// never dereferenced, and memory the helper only writes is not read. A read through r10 + off
/// of a size not known before the walk stays within [off, 0). Helpers without a known prototype
/// read everything.
uint64_t helper_stack_use(const Env& env, const Insn& insn, const FpState& s) {
    const ProgramType type = env.opt.type;
    const HelperProto* proto = helper_proto(static_cast<int32_t>(insn.imm), type);
    if (!proto) proto = helper_proto(static_cast<int32_t>(insn.imm));
    if (!proto) {
        for (int r = 1; r <= 5; ++r)
            if (s.regs[r].may()) return kAllSlots;
        return 0;
    }
    uint64_t use = 0;
    for (int k = 0; k < 5 && proto->args[k] != HelperArg::None; ++k) {
        const FpVal& v = s.regs[k + 1];
        if (!v.may()) continue;
        const HelperArgInfo info = helper_arg_info(proto->args[k]);
        switch (info.cls) {
            case HelperArgClass::Scalar:
            case HelperArgClass::Map:
            case HelperArgClass::Size:
            case HelperArgClass::Ctx:
            case HelperArgClass::Func:
                continue;
            case HelperArgClass::MapKey:
            case HelperArgClass::MapValue:
            case HelperArgClass::Mem:
                if (!info.read) continue;
                if (!v.fp()) return kAllSlots;
                if (const int64_t size = helper_read_size(env, *proto, k, s); size == 0) continue;
                else use |= slot_mask(v.off, size > 0 && size <= kMaxStack ? size : -v.off);
                continue;
            default:
                return kAllSlots;
        }
    }
    return use;
}

/// The stack slots instruction `insn` reads (use) and fully overwrites (def), given which registers
/// hold r10 + constant before it.
void stack_use_def(const Env& env, const Insn& insn, const FpState& s, uint64_t& use, uint64_t& def) {
    const OpInfo& info = op_info(insn.op);
    use = def = 0;
    const auto size = static_cast<int64_t>(info.width / 8);
    auto any_stack_arg = [&](int from, int to) {
        for (int r = from; r <= to; ++r)
            if (s.regs[r].may()) return true;
        return false;
    };
    // An access through a register that may point into the frame at an unknown offset.
    auto base_use = [&](int reg, int64_t off) -> uint64_t {
        if (s.regs[reg].fp()) return slot_mask(s.regs[reg].off + off, size);
        return s.regs[reg].may() ? kAllSlots : 0;
    };
    switch (info.form) {
        case Form::Ldx:
        case Form::Ldxs:
        case Form::LoadAcquire:
            use = base_use(insn.src, insn.off);
            break;
        case Form::St:
        case Form::Stx:
        case Form::StoreRelease:
            if (s.regs[insn.dst].fp()) {
                const int64_t a = s.regs[insn.dst].off + insn.off;
                // Only a whole aligned slot write kills what was there; narrower writes keep the rest.
                if (size == 8 && a % 8 == 0) def = slot_mask(a, 8);
            }
            break;
        case Form::Atomic:
            use = base_use(insn.dst, insn.off);
            break;
        case Form::Call:
            use = helper_stack_use(env, insn, s);
            break;
        case Form::CallKfunc:
        case Form::CallLocal:
        case Form::Callx:
            // Memory arguments on the stack: the callee may read any of it.
            if (any_stack_arg(1, 5)) use = kAllSlots;
            break;
        case Form::Exit:
            break;
        default:
            break;
    }
}

}  // namespace

void successors(const Program& p, uint32_t i, std::vector<uint32_t>& out) {
    uint32_t next[2];
    const size_t n = insn_successors(p, i, next);
    out.assign(next, next + n);
}

uint16_t helper_arg_regs(const Env& env, const Insn& insn) {
    const HelperProto* proto = helper_proto(static_cast<int32_t>(insn.imm), env.opt.type);
    if (!proto) proto = helper_proto(static_cast<int32_t>(insn.imm));
    if (!proto) return 0x3e;
    return static_cast<uint16_t>(((1u << proto->num_args()) - 1) << 1);
}

void compute_stack_liveness(Env& env) {
    const Program& p = env.prog;
    const auto n = static_cast<uint32_t>(p.insns.size());
    std::vector<FpState> in(n);
    std::vector<uint32_t> work, succ;
    for (const Subprog& sp : env.subprogs) {
        FpState entry;
        entry.reached = true;
        entry.regs[kFrameReg] = FpVal{Fp::At, 0};
        in[sp.start].join(entry);
        work.push_back(sp.start);
    }
    while (!work.empty()) {
        const uint32_t i = work.back();
        work.pop_back();
        FpState out = in[i];
        fp_transfer(p.insns[i], out);
        successors(p, i, succ);
        for (uint32_t s : succ)
            if (s < n && in[s].join(out)) work.push_back(s);
    }
    std::vector<uint64_t> use(n), def(n);
    for (uint32_t i = 0; i < n; ++i) {
        if (!in[i].reached) {
            use[i] = kAllSlots;
            continue;
        }
        stack_use_def(env, p.insns[i], in[i], use[i], def[i]);
    }
    // A pointer into the frame stored to memory other than a whole slot of this frame (tracked in
    // FpState::slots) can come back through any load: then every slot stays live everywhere.
    bool escapes = false;
    for (uint32_t i = 0; i < n && !escapes; ++i) {
        const Insn& insn = p.insns[i];
        const OpInfo& info = op_info(insn.op);
        if (!in[i].reached || !in[i].regs[insn.src].may()) continue;
        if (info.form == Form::Atomic) escapes = true;
        if ((info.form == Form::Stx || info.form == Form::StoreRelease) &&
            whole_slot(in[i].regs[insn.dst], insn.off, info.width / 8) < 0)
            escapes = true;
    }
    for (uint32_t i = 0; i < n; ++i) {
        env.aux[i].stack_live = kAllSlots;
    }
    if (escapes) return;
    bool changed = true;
    std::vector<uint64_t> live(n, 0);
    while (changed) {
        changed = false;
        for (uint32_t k = n; k > 0; --k) {
            const uint32_t i = k - 1;
            successors(p, i, succ);
            uint64_t out = 0;
            for (uint32_t s : succ)
                if (s < n) out |= live[s];
            const uint64_t li = use[i] | (out & ~def[i]);
            if (li != live[i]) {
                live[i] = li;
                changed = true;
            }
        }
    }
    for (uint32_t i = 0; i < n; ++i) env.aux[i].stack_live = live[i];
}

}  // namespace bpfvm::verifier
