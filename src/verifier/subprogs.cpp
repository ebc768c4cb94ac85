// BPF-to-BPF calls and exits: a new frame per call with the caller's r1-r5, global functions
// checked against their BTF signature instead of being walked, `exit` returning to the caller or
// ending the program with the return-value rules of its type (callbacks: the range their helper
// allows), and the references and locks that must be released by then. The kernel's
// check_func_call, setup_func_entry, prepare_func_exit, check_return_code and check_resource_leak.
#include <algorithm>

#include "checks.hpp"

namespace bpfvm::verifier {
namespace {

bool retval_in(const Reg& r, int64_t min, int64_t max) { return r.val.smin >= min && r.val.smax <= max; }

bool fail_range(Env& env, const Reg& r, const char* ctx, int64_t min, int64_t max) {
    if (!r.val.var_off.is_unknown())
        return env.fail("%s the register R0 has value %s should have been in [%lld, %lld]", ctx,
                        r.val.var_off.to_string().c_str(), (long long)min, (long long)max);
    return env.fail("%s the register R0 has unknown scalar value should have been in [%lld, %lld]", ctx, (long long)min,
                    (long long)max);
}

/// check_return_code: the range a program type's r0 must lie in at exit, if any.
bool return_range(const Env& env, int64_t& min, int64_t& max) {
    min = 0;
    max = 1;
    const auto attach = env.opt.attach;
    switch (env.opt.type) {
        case ProgramType::CgroupSockAddr:
            if (attach == AttachType::CgroupUdp4Recvmsg || attach == AttachType::CgroupUdp6Recvmsg ||
                attach == AttachType::CgroupInet4Getpeername || attach == AttachType::CgroupInet6Getpeername ||
                attach == AttachType::CgroupInet4Getsockname || attach == AttachType::CgroupInet6Getsockname ||
                attach == AttachType::CgroupUnixRecvmsg || attach == AttachType::CgroupUnixGetpeername ||
                attach == AttachType::CgroupUnixGetsockname)
                min = max = 1;
            if (attach == AttachType::CgroupInet4Bind || attach == AttachType::CgroupInet6Bind) max = 3;
            return true;
        case ProgramType::CgroupSkb:
            if (attach == AttachType::CgroupInetEgress) max = 3;
            return true;
        case ProgramType::CgroupSock:
        case ProgramType::SockOps:
        case ProgramType::CgroupDevice:
        case ProgramType::CgroupSysctl:
        case ProgramType::CgroupSockopt:
            return true;
        case ProgramType::RawTracepoint:
            return false;
        case ProgramType::Tracing:
            if (attach == AttachType::TraceFentry || attach == AttachType::TraceFexit) {
                max = 0;
                return true;
            }
            if (attach == AttachType::TraceIter) return true;
            return false;
        case ProgramType::SkLookup:
            return true;
        case ProgramType::Netfilter:
            return true;
        default:
            return false;
    }
}

}  // namespace

/// Enters subprogram `subprog` in a new frame (setup_func_entry). `callsite` is the call instruction.
bool enter_frame(Env& env, State& st, uint32_t subprog, uint32_t callsite) {
    if (st.curframe + 1 >= static_cast<uint32_t>(kMaxFrames))
        return env.fail("the call stack of %u frames is too deep", st.curframe + 2);
    Frame callee;
    callee.callsite = callsite;
    callee.frameno = st.curframe + 1;
    callee.subprog = subprog;
    callee.regs[kFrameReg] = Reg::pointer(RegType::Stack);
    callee.regs[kFrameReg].frameno = static_cast<uint8_t>(callee.frameno);
    st.frames.push_back(callee);
    st.curframe++;
    return true;
}

bool check_resource_leak(Env& env, bool check_lock, const char* what) {
    State& st = env.cur->st;
    if (check_lock && st.active_locks) return env.fail("%s cannot be used inside bpf_spin_lock-ed region", what);
    for (const RefState& r : st.refs)
        if (r.kind == RefKind::Ptr) {
            return env.fail("%s would lead to reference leak (Unreleased reference id=%u alloc_insn=%u)", what,
                            r.id, env.insn(r.insn).pc);
        }
    if (check_lock && st.active_rcu) return env.fail("%s cannot be used inside bpf_rcu_read_lock-ed region", what);
    if (check_lock && st.active_preempt) return env.fail("%s cannot be used inside bpf_preempt_disable-ed region", what);
    return true;
}

bool check_func_call(Env& env, const Insn& insn, uint32_t& next) {
    const int sub = env.subprog_at(insn.target);
    if (sub < 0) return env.fail("target of func call at insn %u is not a program", insn.target);
    State& st = env.cur->st;
    Subprog& sp = env.subprogs[static_cast<uint32_t>(sub)];
    if (sp.global) {
        if (st.active_locks)
            return env.fail("global function calls are not allowed while holding a lock,\nuse static function instead");
        // Arguments must fit the signature; the function itself is verified on its own.
        const GlobalFunc* sig = sp.sig;
        if (sig) {
            for (size_t i = 0; i < sig->args.size() && i < 5; ++i) {
                const int regno = static_cast<int>(i) + 1;
                const Reg& r = st.reg(regno);
                bool ok = true;
                switch (sig->args[i]) {
                    case GlobalArg::Scalar: ok = r.type == RegType::Scalar; break;
                    case GlobalArg::Ctx: ok = r.type == RegType::Ctx && r.off == 0; break;
                    case GlobalArg::Mem:
                    case GlobalArg::MemNonNull: {
                        if (r.is_null()) {
                            ok = sig->args[i] == GlobalArg::Mem;
                            break;
                        }
                        if (r.type == RegType::NotInit || r.type == RegType::Scalar) {
                            ok = false;
                            break;
                        }
                        if (r.maybe_null() && sig->args[i] == GlobalArg::MemNonNull) {
                            ok = false;
                            break;
                        }
                        if (r.type == RegType::BtfId) break;  // a kernel object passed on (task_struct *)
                        if (r.maybe_null()) break;  // checked as if non-null; the callee checks for null
                        const uint32_t size = i < sig->arg_size.size() ? sig->arg_size[i] : 0;
                        if (!check_helper_mem_access(env, regno, size, Access::Write, false, false)) return false;
                        break;
                    }
                    case GlobalArg::Unsupported: ok = false; break;
                }
                if (!ok) {
                    env.fail("Caller passes invalid args into func#%d ('%s')", sub, sig->name.c_str());
                    return false;
                }
            }
        }
        if (sp.changes_pkt_data) clear_packet_pointers(st);
        for (int r = 1; r <= 5; ++r) mark_not_init(st.reg(r));
        st.reg(0) = Reg::unknown_scalar();
        next = env.insn_idx + 1;
        return true;
    }
    Reg args[6];
    for (int r = 1; r <= 5; ++r) args[r] = st.reg(r);
    BPFVM_CHECK(enter_frame(env, st, static_cast<uint32_t>(sub), env.insn_idx));
    for (int r = 1; r <= 5; ++r) st.cur().regs[r] = args[r];
    for (int r = 1; r <= 5; ++r) mark_not_init(st.frames[st.curframe - 1].regs[r]);
    next = sp.start;
    return true;
}

bool check_exit(Env& env, bool& done, uint32_t& next) {
    State& st = env.cur->st;
    done = false;
    if (st.curframe == 0) BPFVM_CHECK(check_resource_leak(env, true, "BPF_EXIT instruction in main prog"));
    if (st.curframe > 0) {
        Frame& callee = st.cur();
        Reg& r0 = callee.regs[0];
        if (r0.type == RegType::Stack) return env.fail("cannot return stack pointer to the caller");
        if (callee.in_callback) {
            if (r0.type == RegType::NotInit) return env.fail("R0 !read_ok");
            if (r0.type != RegType::Scalar) return env.fail("R0 not a scalar value");
            BPFVM_CHECK(mark_precise(env, 0));
            if (!retval_in(r0, callee.callback_ret_min, callee.callback_ret_max))
                return fail_range(env, r0, "At callback return", callee.callback_ret_min, callee.callback_ret_max);
        }
        const Reg ret = r0;
        const uint32_t callsite = callee.callsite;
        const bool callback = callee.in_callback;
        st.frames.pop_back();
        st.curframe--;
        if (!callback) st.reg(0) = ret;
        next = callback ? callsite : callsite + 1;
        return true;
    }
    // The entry frame: a program, a global function or an async callback.
    BPFVM_CHECK(check_reg_read(env, 0));
    Frame& f = st.cur();
    const Reg& r0 = f.regs[0];
    if (is_pointer_value(env, r0)) return env.fail("R0 leaks addr as return value");
    if (f.in_async_callback) {
        if (r0.type != RegType::Scalar)
            return env.fail("At async callback return the register R0 is not a known value (%s)", reg_type_name(r0).c_str());
        BPFVM_CHECK(mark_precise(env, 0));
        if (!retval_in(r0, f.callback_ret_min, f.callback_ret_max))
            return fail_range(env, r0, "At async callback return", f.callback_ret_min, f.callback_ret_max);
        done = true;
        return true;
    }
    if (f.subprog != 0) {
        if (r0.type != RegType::Scalar)
            return env.fail("At subprogram exit the register R0 is not a scalar value (%s)", reg_type_name(r0).c_str());
        done = true;
        return true;
    }
    int64_t min, max;
    if (return_range(env, min, max)) {
        if (r0.type != RegType::Scalar)
            return env.fail("At program exit the register R0 is not a known value (%s)", reg_type_name(r0).c_str());
        BPFVM_CHECK(mark_precise(env, 0));
        if (!(r0.val.smin >= min && r0.val.smax <= max)) return fail_range(env, r0, "At program exit", min, max);
    }
    done = true;
    return true;
}

State initial_state(Env& env, uint32_t subprog) {
    State st;
    st.frames.resize(1);
    Frame& f = st.frames[0];
    f.subprog = subprog;
    f.regs[kFrameReg] = Reg::pointer(RegType::Stack);
    const Subprog& sp = env.subprogs[subprog];
    if (subprog == 0 || !sp.sig) {
        f.regs[1] = Reg::pointer(RegType::Ctx);
        return st;
    }
    for (size_t i = 0; i < sp.sig->args.size() && i < 5; ++i) {
        Reg& r = f.regs[i + 1];
        switch (sp.sig->args[i]) {
            case GlobalArg::Scalar: r = Reg::unknown_scalar(); break;
            case GlobalArg::Ctx: r = Reg::pointer(RegType::Ctx); break;
            case GlobalArg::Mem:
            case GlobalArg::MemNonNull:
                r = Reg::pointer(RegType::Mem, sp.sig->args[i] == GlobalArg::Mem ? kMaybeNull : 0);
                r.mem_size = i < sp.sig->arg_size.size() ? sp.sig->arg_size[i] : 0;
                if (r.maybe_null()) r.id = env.new_id();
                break;
            case GlobalArg::Unsupported: r = Reg::unknown_scalar(); break;
        }
    }
    return st;
}

}  // namespace bpfvm::verifier
