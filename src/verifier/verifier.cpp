// The verifier's entry: the structural checks (structure.cpp), static liveness, the walk of the
// main program and then of each global function on its own (do_check: one instruction at a time,
// pending branches depth-first), the stack depth check, and the result with its error detail.
#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>

#include "bpfvm/asm.hpp"
#include "bpfvm/kfuncs.hpp"
#include "bpfvm/cfg.hpp"
#include "checks.hpp"
#include "liveness.hpp"
#include "walk.hpp"

namespace bpfvm::verifier {

// ---- Env

Env::Env(const Program& program, std::span<const MapInfo> m, std::span<const GlobalFunc> f, const Options& options)
    : prog(program), maps(m), funcs(f), opt(options) {
    aux.resize(program.insns.size());
    explored.resize(program.insns.size());
}

bool Env::fail(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return fail_at(insn_idx, buf);
}

bool Env::fail_at(uint32_t insn, const std::string& message) {
    if (error) return false;
    VerifyError e;
    e.insn = insn;
    e.message = message;
    error = std::move(e);
    return false;
}

void Env::logf(const char* fmt, ...) {
    if (!opt.log) return;
    // Formatted in place at its full length: state lines of large frames pass 1 KiB, and a cut
    // line would lose its newline and swallow the next instruction's.
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    const int n = std::vsnprintf(nullptr, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        const size_t at = log.size();
        log.resize(at + static_cast<size_t>(n) + 1);
        std::vsnprintf(log.data() + at, static_cast<size_t>(n) + 1, fmt, again);
        log.resize(at + static_cast<size_t>(n));
    }
    va_end(again);
}

uint32_t Env::subprog_of(uint32_t idx) const {
    for (size_t i = subprogs.size(); i > 0; --i)
        if (subprogs[i - 1].start <= idx) return static_cast<uint32_t>(i - 1);
    return 0;
}

int Env::subprog_at(uint32_t idx) const {
    for (size_t i = 0; i < subprogs.size(); ++i)
        if (subprogs[i].start == idx) return static_cast<int>(i);
    return -1;
}

std::string Env::show(const Reg& reg) const {
    const MapInfo* m = (reg.type == RegType::ConstMap || reg.type == RegType::MapValue || reg.type == RegType::MapKey)
                           ? map(reg.map)
                           : nullptr;
    return describe_reg(reg, m ? m->name.c_str() : nullptr, m ? m->key_size : 0, m ? m->value_size : 0);
}

std::string Env::show_state(const State& st) const {
    std::string out;
    const Frame& f = st.cur();
    for (int r = 0; r < kNumRegs; ++r) {
        if (f.regs[r].type == RegType::NotInit) continue;
        out += (out.empty() ? "" : " ") + std::string("R") + std::to_string(r) + "=" + show(f.regs[r]);
    }
    for (size_t k = 0; k < f.stack.size(); ++k) {
        const StackSlot& s = f.stack[k];
        if (s.all(SlotByte::Invalid)) continue;
        std::string v;
        if (s.is_spill()) {
            v = show(s.spilled);
        } else {
            for (int i = 7; i >= 0; --i) {
                const char c[] = {'?', 'r', 'm', '0', 'd', 'i'};
                v += c[static_cast<int>(s.bytes[i])];
            }
        }
        out += " fp-" + std::to_string((k + 1) * 8) + "=" + v;
    }
    return out;
}

namespace {


/// Registers an instruction reads and writes (for static liveness).
void use_def(const Program& p, uint32_t i, uint16_t& use, uint16_t& def) {
    const Insn& insn = p.insns[i];
    const OpInfo& info = op_info(insn.op);
    const auto bit = [](int r) { return static_cast<uint16_t>(1u << r); };
    use = def = 0;
    switch (info.form) {
        case Form::AluImm:
            def = bit(insn.dst);
            if ((info.opcode & 0xf0) != 0xb0) use = bit(insn.dst);
            break;
        case Form::AluReg:
            def = bit(insn.dst);
            use = bit(insn.src);
            if ((info.opcode & 0xf0) != 0xb0) use |= bit(insn.dst);
            break;
        case Form::Movsx:
        case Form::AddrSpaceCast:
            def = bit(insn.dst);
            use = bit(insn.src);
            break;
        case Form::LoadAcquire:
            use = bit(insn.src);
            def = bit(insn.dst);
            break;
        case Form::StoreRelease:
            use = static_cast<uint16_t>(bit(insn.dst) | bit(insn.src));
            break;
        case Form::MayGoto:
            break;
        case Form::Neg:
        case Form::End:
            use = def = bit(insn.dst);
            break;
        case Form::Ldx:
        case Form::Ldxs:
            use = bit(insn.src);
            def = bit(insn.dst);
            break;
        case Form::St:
            use = bit(insn.dst);
            break;
        case Form::Stx:
            use = static_cast<uint16_t>(bit(insn.dst) | bit(insn.src));
            break;
        case Form::Atomic:
            use = static_cast<uint16_t>(bit(insn.dst) | bit(insn.src));
            if (insn.imm == 0xf1) use |= bit(0), def = bit(0);
            else if (insn.imm & 1) def = bit(insn.src);
            break;
        case Form::Lddw:
            def = bit(insn.dst);
            break;
        case Form::LdAbs:
            use = bit(6);
            def = 0x3f;
            break;
        case Form::LdInd:
            use = static_cast<uint16_t>(bit(6) | bit(insn.src));
            def = 0x3f;
            break;
        case Form::JmpImm:
            use = bit(insn.dst);
            break;
        case Form::JmpReg:
            use = static_cast<uint16_t>(bit(insn.dst) | bit(insn.src));
            break;
        case Form::Call:
        case Form::CallLocal:
        case Form::CallKfunc:
        case Form::Callx:
            use = 0x3e;
            def = 0x3f;
            break;
        case Form::Exit:
            use = bit(0);
            break;
        case Form::Ja:
        case Form::Gotol:
            break;
    }
    use |= bit(kFrameReg);
}

void compute_liveness(Env& env) {
    const Program& p = env.prog;
    const auto n = static_cast<uint32_t>(p.insns.size());
    std::vector<uint16_t> use(n), def(n);
    for (uint32_t i = 0; i < n; ++i) {
        use_def(p, i, use[i], def[i]);
        // A helper reads only the arguments of its prototype (the kernel's compute_live_registers).
        if (p.insns[i].op == Op::CallHelper) use[i] = static_cast<uint16_t>((use[i] & ~0x3e) | helper_arg_regs(env, p.insns[i]));
    }
    std::vector<uint32_t> succ;
    bool changed = true;
    while (changed) {
        changed = false;
        for (uint32_t k = n; k > 0; --k) {
            const uint32_t i = k - 1;
            successors(p, i, succ);
            uint16_t out = 0;
            for (uint32_t s : succ)
                if (s < n) out |= env.aux[s].live_in;
            const auto in = static_cast<uint16_t>(use[i] | (out & ~def[i]));
            if (in != env.aux[i].live_in) {
                env.aux[i].live_in = in;
                changed = true;
            }
        }
    }
}

bool check_ld_imm(Env& env, const Insn& insn) {
    BPFVM_CHECK(check_reg_write(env, insn.dst));
    Reg& dst = env.cur->st.reg(insn.dst);
    const auto kind = static_cast<LddwKind>(insn.src);
    switch (kind) {
        case LddwKind::Imm64:
            dst = Reg::known(static_cast<uint64_t>(insn.imm));
            return true;
        case LddwKind::Func: {
            const int sub = env.subprog_at(insn.target);
            if (sub < 0) return env.fail("callback target is not a subprogram");
            if (env.funcs.empty()) return env.fail("missing btf func_info");
            const Subprog& sp = env.subprogs[static_cast<uint32_t>(sub)];
            if (sp.global) return env.fail("callback function not static");
            dst = Reg::pointer(RegType::Func);
            dst.subprog = static_cast<uint32_t>(sub);
            return true;
        }
        case LddwKind::MapFd:
        case LddwKind::MapValue:
            // A file descriptor: bpfvm programs name maps by index (the loader's relocations).
            return env.fail("fd %u is not pointing to valid bpf_map",
                            static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) & 0xffffffffu));
        case LddwKind::MapIdx:
        case LddwKind::MapIdxValue: {
            const auto idx = static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) & 0xffffffffu);
            const auto off = static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) >> 32);
            const MapInfo* map = env.map(idx);
            if (!map) return env.fail("fd %u is not pointing to valid bpf_map", idx);
            if (kind == LddwKind::MapIdxValue) {
                if (map->type == MapType::Arena) {
                    dst = Reg::unknown_scalar();
                    return true;
                }
                if (map->type != MapType::Array || map->max_entries != 1)
                    return env.fail("direct value access on map type %u is not supported", static_cast<uint32_t>(map->type));
                if (off >= map->value_size)
                    return env.fail("invalid access to map value pointer, value_size=%u off=%u", map->value_size, off);
                dst = Reg::pointer(RegType::MapValue);
                dst.off = static_cast<int32_t>(off);
            } else {
                dst = Reg::pointer(RegType::ConstMap);
            }
            dst.map = idx;
            return true;
        }
        case LddwKind::BtfVar:
            dst = Reg::pointer(RegType::Mem, kRdonly);
            return true;
    }
    return env.fail("invalid BPF_LD_IMM insn");
}

bool check_ld_abs(Env& env, const Insn& insn) {
    const ProgramType t = env.opt.type;
    if (t != ProgramType::SocketFilter && t != ProgramType::SchedCls && t != ProgramType::SchedAct)
        return env.fail("BPF_LD_[ABS|IND] instructions not allowed for this program type");
    BPFVM_CHECK(check_reg_read(env, 6));
    State& st = env.cur->st;
    BPFVM_CHECK(check_resource_leak(env, true, "BPF_LD_[ABS|IND]"));
    if (st.reg(6).type != RegType::Ctx) return env.fail("at the time of BPF_LD_ABS|IND R6 != pointer to skb");
    if (op_info(insn.op).form == Form::LdInd) BPFVM_CHECK(check_reg_read(env, insn.src));
    if (st.reg(6).off) return env.fail("dereference of modified ctx ptr R6 off=%d disallowed", st.reg(6).off);
    // In a subprogram a failed load returns 0 from it right away (the JITs branch to its exit):
    // walk that path too. It needs a function returning int.
    if (st.curframe > 0) {
        PathState* early = push_branch(env, st.cur().callsite + 1, env.insn_idx);
        if (!early) return false;
        State& e = early->st;
        e.frames.pop_back();
        e.curframe--;
        e.reg(0) = Reg::known(0);
    }
    for (int r = 0; r <= 5; ++r) mark_not_init(st.reg(r));
    st.reg(0) = Reg::unknown_scalar();
    return true;
}

/// One instruction of the current path; `next` is where the path goes, `done` when it ends.
bool step(Env& env, const Insn& insn, uint32_t& next, bool& done) {
    next = env.insn_idx + 1;
    done = false;
    switch (op_info(insn.op).form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Neg:
        case Form::Movsx:
        case Form::End:
        case Form::AddrSpaceCast:
            return check_alu(env, insn);
        case Form::Ldx:
        case Form::Ldxs:
            return check_load(env, insn);
        case Form::St:
        case Form::Stx:
            return check_store(env, insn);
        case Form::Atomic:
        case Form::LoadAcquire:
        case Form::StoreRelease:
            return check_atomic(env, insn);
        case Form::Lddw:
            return check_ld_imm(env, insn);
        case Form::LdAbs:
        case Form::LdInd:
            return check_ld_abs(env, insn);
        case Form::Ja:
        case Form::Gotol:
            env.jmps_processed++;
            next = insn.target;
            return true;
        case Form::JmpImm:
        case Form::JmpReg:
            env.jmps_processed++;
            return check_cond_jmp(env, insn, next);
        case Form::MayGoto:
            env.jmps_processed++;
            return check_may_goto(env, insn, next);
        case Form::Call:
            env.jmps_processed++;
            return check_helper_call(env, insn, next);
        case Form::CallLocal:
            env.jmps_processed++;
            return check_func_call(env, insn, next);
        case Form::CallKfunc:
            env.jmps_processed++;
            return check_kfunc_call(env, insn, next, done);
        case Form::Callx:
            return env.fail("BPF_CALL uses reserved fields");
        case Form::Exit:
            env.jmps_processed++;
            return check_exit(env, done, next);
    }
    return env.fail("unknown opcode");
}

/// do_check for one entry: the main program or a global function.
bool walk(Env& env, uint32_t subprog) {
    env.pending.clear();
    for (auto& list : env.explored) list.clear();
    env.live_states = 0;
    env.current = PathState{};
    env.current.st = initial_state(env, subprog);
    uint32_t insn = env.subprogs[subprog].start;
    uint32_t prev = insn;
    env.current.first_insn = insn;
    const auto n = static_cast<uint32_t>(env.prog.insns.size());
    for (;;) {
        if (insn >= n) return env.fail("invalid insn idx %u insn_cnt %u", insn, n);
        env.insn_idx = insn;
        env.prev_insn_idx = prev;
        env.cur = &env.current;
        if (++env.stats.insns_processed > env.opt.insn_limit) {
            return env.fail("BPF program is too large. Processed %llu insn",
                            static_cast<unsigned long long>(env.stats.insns_processed));
        }
        InsnAux& aux = env.aux[insn];
        aux.seen = true;
        aux.facts.visited = true;
        bool done = false;
        uint32_t next = insn + 1;
        bool pruned = false;
        if (aux.prune_point) {
            const int r = is_state_visited(env, insn);
            if (r < 0) return false;
            pruned = r == 1;
        }
        if (!pruned) {
            env.cur_hist_ent = false;
            if (prev + 1 != insn && prev != insn) current_hist_entry(env);
            const Insn& in = env.prog.insns[insn];
            if (env.opt.log) {
                env.logf("%u: %s\n", in.pc, disassemble_insn(in).c_str());
            }
            if (!step(env, in, next, done)) return false;
            if (env.opt.log && !done) env.logf("    ; %s\n", env.show_state(env.current.st).c_str());
            env.current.last_insn = insn;
        }
        if (!pruned && !done) {
            prev = insn;
            insn = next;
            continue;
        }
        finish_path(env);
        if (env.pending.empty()) return true;
        env.current = std::move(env.pending.back());
        env.pending.pop_back();
        insn = env.current.resume_insn;
        prev = env.current.resume_prev;
        if (env.opt.log) env.logf("from %u to %u: %s\n", env.prog.insns[prev].pc, env.prog.insns[insn].pc,
                                  env.show_state(env.current.st).c_str());
    }
}

/// Registers and stack slots the failing instruction touches, and the path's branch decisions.
std::vector<std::string> error_detail(const Env& env) {
    std::vector<std::string> out;
    if (!env.error || env.error->insn >= env.prog.insns.size()) return out;
    const Insn& insn = env.insn(env.error->insn);
    const State& st = env.current.st;
    if (st.frames.empty()) return out;
    uint16_t use = 0, def = 0;
    use_def(env.prog, env.error->insn, use, def);
    std::string regs;
    for (int r = 0; r < kNumRegs; ++r) {
        if (!(use & (1u << r)) || r == kFrameReg) continue;
        regs += (regs.empty() ? "" : " ") + std::string("R") + std::to_string(r) + "=" + env.show(st.reg(r));
    }
    if (!regs.empty()) out.push_back("registers: " + regs);
    (void)insn;
    static const char* const kOutcome[] = {"not taken", "taken", "always taken", "never taken"};
    for (const auto& [idx, outcome] : env.current.trail)
        out.push_back("branch: insn " + std::to_string(env.insn(idx).pc) + " `" + disassemble_insn(env.insn(idx)) + "` " +
                      kOutcome[outcome]);
    return out;
}

}  // namespace

Result verify(const Program& program, std::span<const MapInfo> maps, std::span<const GlobalFunc> funcs,
              const Options& options) {
    const auto t0 = std::chrono::steady_clock::now();
    Result result;
    Env env(program, maps, funcs, options);
    bool ok = !program.insns.empty();
    if (!ok) env.fail_at(0, "empty program");
    if (ok) ok = check_structure(env);
    if (ok) {
        compute_liveness(env);
        compute_stack_liveness(env);
        ok = walk(env, 0);
    }
    // Global functions the program reaches are verified on their own.
    for (size_t i = 1; ok && i < env.subprogs.size(); ++i) {
        Subprog& sp = env.subprogs[i];
        if (!sp.global || sp.verified) continue;
        sp.verified = true;
        ok = walk(env, static_cast<uint32_t>(i));
    }
    if (ok) ok = check_stack_depth(env);
    result.accepted = ok;
    if (!ok) {
        if (!env.error) env.fail_at(env.insn_idx, "verification failed");
        Error e = make_error(ErrorCode::kRejected, env.error->message);
        if (env.error->insn < program.insns.size()) e.pc = program.insns[env.error->insn].pc;
        result.detail = env.error->detail;
        for (std::string& d : error_detail(env)) result.detail.push_back(std::move(d));
        result.error = std::move(e);
    }
    result.facts.resize(program.insns.size());
    for (size_t i = 0; i < program.insns.size(); ++i) result.facts[i] = env.aux[i].facts;
    env.stats.time_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    result.stats = env.stats;
    result.log = std::move(env.log);
    return result;
}

}  // namespace bpfvm::verifier
