// Kernel function calls (`call` src 2): checked against kfuncs.def. Open-coded iterators
// (bpf_iter_num_new / _next / _destroy, ...) live in stack slots; `_next` forks the walk into the
// drained path (returns NULL, the loop ends) and an active one (returns an element, the loop
// body runs again), and the walk proves the loop converges when an active state repeats (the
// kernel's process_iter_next_call). Acquired objects are references released on every path.
#include <algorithm>
#include <functional>

#include "bpfvm/kfuncs.hpp"
#include "checks.hpp"

namespace bpfvm::verifier {
namespace {

uint32_t iter_kind(const KfuncProto& k) {
    return static_cast<uint32_t>(std::hash<std::string_view>{}(k.iter_family())) | 1u;
}

/// The first stack slot of the iterator reg(regno) points to, checking its placement.
StackSlot* iter_slot(Env& env, int regno, const KfuncProto& k, bool uninit, uint32_t& nslots) {
    State& st = env.cur->st;
    const Reg& r = st.reg(regno);
    nslots = k.iter_size / 8;
    if (r.type != RegType::Stack) {
        env.fail("arg#%d expected pointer to an iterator on stack", regno - 1);
        return nullptr;
    }
    if (!r.val.is_const()) {
        env.fail("arg#%d variable offset iterator is not allowed", regno - 1);
        return nullptr;
    }
    const int64_t off = r.off + static_cast<int64_t>(r.val.const_value());
    if (off % 8 != 0 || off < -kMaxStack || off + static_cast<int64_t>(k.iter_size) > 0) {
        env.fail("arg#%d: misaligned or out of range iterator at fp%+lld", regno - 1, (long long)off);
        return nullptr;
    }
    Frame& f = st.frames[r.frameno];
    f.grow(static_cast<uint32_t>(-off));
    Subprog& sp = env.subprogs[f.subprog];
    sp.stack_depth = std::max<uint32_t>(sp.stack_depth, static_cast<uint32_t>(-off));
    // The object covers [off, off + size): its first slot is the lowest address, the highest index.
    const auto top = static_cast<uint32_t>((-off) / 8) - 1;
    const std::string_view family = k.iter_family();
    for (uint32_t i = 0; i < nslots; ++i) {
        if (top < i) {
            env.fail("arg#%d: iterator does not fit in the stack", regno - 1);
            return nullptr;
        }
        StackSlot& s = f.stack[top - i];
        const bool is_iter = s.all(SlotByte::Iter);
        if (uninit && is_iter) {
            env.fail("expected uninitialized iter_%.*s as arg #%d", static_cast<int>(family.size()), family.data(),
                     regno - 1);
            return nullptr;
        }
        if (!uninit && (!is_iter || (i == 0 && s.iter.kind != iter_kind(k)))) {
            env.fail("expected an initialized iter_%.*s as arg #%d", static_cast<int>(family.size()), family.data(),
                     regno - 1);
            return nullptr;
        }
    }
    return &f.stack[top];
}

/// The slots of an iterator, first slot at `first` going up in index order.
void set_iter_bytes(Env& env, int regno, uint32_t nslots, SlotByte b) {
    const Reg& r = env.cur->st.reg(regno);
    Frame& f = env.cur->st.frames[r.frameno];
    const int64_t off = r.off + static_cast<int64_t>(r.val.const_value());
    const auto top = static_cast<uint32_t>((-off) / 8) - 1;
    for (uint32_t i = 0; i < nslots; ++i) {
        StackSlot& s = f.stack[top - i];
        for (auto& x : s.bytes) x = b;
        s.spilled = Reg{};
        if (b != SlotByte::Iter) s.iter = IterInfo{};
    }
}

bool release(Env& env, uint32_t id) {
    State& st = env.cur->st;
    auto it = std::find_if(st.refs.begin(), st.refs.end(), [&](const RefState& r) { return r.id == id && r.kind == RefKind::Ptr; });
    if (it == st.refs.end()) return false;
    st.refs.erase(it);
    st.for_each_reg([&](Reg& r) {
        if (r.ref_obj_id == id) r = Reg::unknown_scalar();
    });
    return true;
}

uint32_t acquire(Env& env) {
    RefState ref;
    ref.id = env.new_id();
    ref.insn = env.insn_idx;
    env.cur->st.refs.push_back(ref);
    return ref.id;
}

}  // namespace

bool check_kfunc_call(Env& env, const Insn& insn, uint32_t& next, bool& done) {
    const auto id = static_cast<int32_t>(insn.imm);
    const std::string* name = nullptr;
    for (const auto& [kid, kname] : env.opt.kfuncs)
        if (kid == id) name = &kname;
    if (!name) return env.fail("kernel btf_id %d is not a function", id);
    const KfuncProto* k = kfunc_proto(*name);
    if (!k) return env.fail("kernel function %s is not known to bpfvm (kfuncs.def)", name->c_str());
    if (!(k->progs & program_type_bit(env.opt.type)))
        return env.fail("calling kernel function %s is not allowed", name->c_str());
    if (k->has(kKfSleepable) && !env.opt.sleepable)
        return env.fail("program must be sleepable to call sleepable kfunc %s", name->c_str());
    if (k->has(kKfTrap)) return env.fail("calling kernel function %s is not allowed", name->c_str());
    State& st = env.cur->st;
    if (st.active_locks) return env.fail("function calls are not allowed while holding a lock");

    uint32_t release_ref = 0;
    StackSlot* iter = nullptr;
    uint32_t iter_slots = 0;
    int iter_reg = 0;
    for (int i = 0; i < 5; ++i) {
        const KfuncArg a = k->args[i];
        if (a == KfuncArg::None) continue;
        const int regno = i + 1;
        BPFVM_CHECK(check_reg_read(env, regno));
        const Reg& r = st.reg(regno);
        switch (a) {
            case KfuncArg::None:
                break;
            case KfuncArg::Scalar:
                if (r.type != RegType::Scalar) return env.fail("R%d is not a scalar", regno);
                break;
            case KfuncArg::Const:
                if (!r.is_const()) return env.fail("R%d must be a known constant", regno);
                BPFVM_CHECK(mark_precise(env, regno));
                break;
            case KfuncArg::Ctx:
                if (r.type != RegType::Ctx)
                    return env.fail("arg#%d expected pointer to ctx, but got %s", i, reg_type_name(r).c_str());
                break;
            case KfuncArg::IterNew:
            case KfuncArg::Iter:
                iter = iter_slot(env, regno, *k, a == KfuncArg::IterNew, iter_slots);
                if (!iter) return false;
                iter_reg = regno;
                break;
            case KfuncArg::Btf:
            case KfuncArg::BtfOrNull:
            case KfuncArg::Release:
                if (a == KfuncArg::BtfOrNull && r.is_null()) break;
                if (r.type != RegType::BtfId || r.maybe_null())
                    return env.fail("arg#%d pointer type STRUCT expected, got %s", i, reg_type_name(r).c_str());
                if ((k->has(kKfTrustedArgs) || a == KfuncArg::Release) && (r.flags & kUntrusted))
                    return env.fail("R%d must be referenced or trusted", regno);
                if (a == KfuncArg::Release) {
                    if (!r.ref_obj_id) return env.fail("release kernel function %s expects refcounted PTR_TO_BTF_ID", name->c_str());
                    if (r.off) return env.fail("R%d must have zero offset when passed to release func or trusted arg to kfunc", regno);
                    release_ref = r.ref_obj_id;
                }
                break;
            case KfuncArg::Any:
                break;
            case KfuncArg::Mem:
                break;
            case KfuncArg::MapPtr:
                if (r.type != RegType::ConstMap) return env.fail("arg#%d expected pointer to a map", i);
                break;
            case KfuncArg::Dynptr:
            case KfuncArg::DynptrUninit:
                return env.fail("kernel function %s: dynptr arguments are not supported by bpfvm yet", name->c_str());
        }
    }
    if (release_ref && !release(env, release_ref))
        return env.fail("kernel function %s: reference has not been acquired before", name->c_str());

    // Iterators.
    bool iter_next = false;
    if (iter && k->has(kKfIterNew)) {
        set_iter_bytes(env, iter_reg, iter_slots, SlotByte::Iter);
        iter->iter.kind = iter_kind(*k);
        iter->iter.state = kIterActive;
        iter->iter.depth = 0;
        iter->iter.ref = acquire(env);
    } else if (iter && k->has(kKfIterDestroy)) {
        if (!release(env, iter->iter.ref)) return env.fail("iterator reference has not been acquired before");
        set_iter_bytes(env, iter_reg, iter_slots, SlotByte::Invalid);
    } else if (iter && k->has(kKfIterNext)) {
        iter_next = true;
    }

    for (int r = 0; r <= 5; ++r) mark_not_init(st.reg(r));
    Reg& r0 = st.reg(0);
    switch (k->ret) {
        case KfuncRet::Int: r0 = Reg::unknown_scalar(); break;
        case KfuncRet::Void: r0 = Reg{}; break;
        case KfuncRet::IterNext: r0 = Reg::known(0); break;
        case KfuncRet::Btf: r0 = Reg::pointer(RegType::BtfId); break;
        case KfuncRet::BtfOrNull: r0 = Reg::pointer(RegType::BtfId, kMaybeNull); break;
        case KfuncRet::Untrusted: r0 = Reg::pointer(RegType::BtfId, kUntrusted); break;
        case KfuncRet::Mem: r0 = Reg::pointer(RegType::Mem, kRdonly); break;
        case KfuncRet::ArenaPtr: r0 = Reg::unknown_scalar(); break;
    }
    if (r0.maybe_null()) r0.id = env.new_id();
    if (k->has(kKfAcquire) && r0.is_pointer()) {
        const uint32_t ref = acquire(env);
        r0.ref_obj_id = ref;
        if (r0.maybe_null()) r0.id = ref;
    }
    next = env.insn_idx + 1;
    if (k->has(kKfThrow)) {
        done = true;  // the path ends: an exception unwinds the program
        return true;
    }
    if (iter_next) {
        // process_iter_next_call: an active iterator may yield again: walk that later.
        if (iter->iter.state == kIterActive) {
            // The same slot in the pushed copy (push_branch copied the frames).
            size_t frame = 0, index = 0;
            for (size_t f = 0; f < st.frames.size(); ++f) {
                const auto& stack = st.frames[f].stack;
                if (iter >= stack.data() && iter < stack.data() + stack.size()) {
                    frame = f;
                    index = static_cast<size_t>(iter - stack.data());
                }
            }
            PathState* active = push_branch(env, env.insn_idx + 1, env.insn_idx);
            if (!active) return false;
            iter = &st.frames[frame].stack[index];
            StackSlot* qi = &active->st.frames[frame].stack[index];
            qi->iter.state = kIterActive;
            qi->iter.depth++;
            Reg& q0 = active->st.reg(0);
            q0 = Reg::pointer(RegType::Mem, kRdonly);
            q0.mem_size = 4;
            widen_loop_state(env, *active);
        }
        iter->iter.state = kIterDrained;
        st.reg(0) = Reg::known(0);
    }
    return true;
}

}  // namespace bpfvm::verifier
