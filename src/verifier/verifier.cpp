// The verifier's entry: structural checks the kernel makes before walking (check_subprogs,
// check_cfg: jumps within their subprogram, no unreachable instructions, no back edges for
// unprivileged loaders), static register liveness, the walk of the main program and then of each
// global function on its own, and the combined stack depth along call chains.
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

/// The frames of every static call chain (check_max_stack_depth's frame count, known before the
/// walk): at most kMaxFrames, recursion included. Depths are memoized per subprogram, so the check
/// is linear in the call graph.
bool check_call_depth(Env& env) {
    const Program& p = env.prog;
    constexpr uint32_t kUnknown = 0, kInProgress = ~0u, kTooDeep = 1000;
    std::vector<uint32_t> depth(env.subprogs.size(), kUnknown);
    uint32_t culprit = 0;
    // Iterative DFS: frames of the deepest static chain starting at each subprogram.
    std::function<uint32_t(uint32_t)> visit = [&](uint32_t sub) -> uint32_t {
        if (depth[sub] == kInProgress) return kTooDeep;  // recursion: unbounded
        if (depth[sub] != kUnknown) return depth[sub];
        depth[sub] = kInProgress;
        uint32_t deepest = 0;
        const Subprog& sp = env.subprogs[sub];
        for (uint32_t i = sp.start; i < sp.end && deepest < kTooDeep; ++i) {
            const Insn& insn = p.insns[i];
            if (insn.op != Op::CallLocal) continue;
            const int callee = env.subprog_at(insn.target);
            if (callee < 0 || env.subprogs[static_cast<uint32_t>(callee)].global) continue;
            const uint32_t d = visit(static_cast<uint32_t>(callee));
            if (d > deepest) {
                deepest = d;
                if (d + 1 > static_cast<uint32_t>(kMaxFrames) && culprit == 0) culprit = i;
            }
        }
        depth[sub] = std::min(kTooDeep, deepest + 1);
        return depth[sub];
    };
    if (visit(0) > static_cast<uint32_t>(kMaxFrames)) {
        env.insn_idx = culprit;
        return env.fail("the call stack of %d frames is too deep !", kMaxFrames);
    }
    return true;
}

/// add_subprog + check_subprogs + check_cfg.
bool check_structure(Env& env) {
    const Program& p = env.prog;
    const auto n = static_cast<uint32_t>(p.insns.size());
    for (uint32_t start : p.subprog_entries) {
        Subprog sp;
        sp.start = start;
        env.subprogs.push_back(sp);
    }
    for (size_t i = 0; i < env.subprogs.size(); ++i)
        env.subprogs[i].end = i + 1 < env.subprogs.size() ? env.subprogs[i + 1].start : n;
    for (const GlobalFunc& f : env.funcs) {
        const int s = env.subprog_at(f.insn);
        if (s > 0) {
            env.subprogs[static_cast<size_t>(s)].sig = &f;
            env.subprogs[static_cast<size_t>(s)].global = f.global;
        }
    }
    const bool calls_kfunc = std::any_of(p.insns.begin(), p.insns.end(), [](const Insn& x) { return x.op == Op::CallKfunc; });
    if ((env.subprogs.size() > 1 || calls_kfunc) && !env.opt.privileged) {
        env.insn_idx = 0;
        return env.fail("loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN");
    }
    // Jumps stay inside their subprogram; a subprogram ends with exit or a jump.
    for (const Subprog& sp : env.subprogs) {
        for (uint32_t i = sp.start; i < sp.end; ++i) {
            const Insn& insn = p.insns[i];
            const Form form = op_info(insn.op).form;
            if (form == Form::LdAbs || form == Form::LdInd) env.subprogs[env.subprog_of(i)].has_ld_abs = true;
            if (form == Form::Ja || form == Form::Gotol || form == Form::JmpImm || form == Form::JmpReg ||
                form == Form::MayGoto) {
                if (insn.target < sp.start || insn.target >= sp.end) {
                    env.insn_idx = i;
                    return env.fail("jump out of range from insn %u to %u", insn.pc, p.insns[insn.target].pc);
                }
            }
        }
        const Insn& last = p.insns[sp.end - 1];
        if (last.op != Op::Exit && last.op != Op::Ja && last.op != Op::Gotol) {
            env.insn_idx = sp.end - 1;
            return env.fail("last insn is not an exit or jmp");
        }
    }
    // check_btf_func: a subprogram that may leave through LD_ABS's implicit exit or a tail call
    // must return an integer (its caller sees the exit code).
    for (size_t i = 1; i < env.subprogs.size(); ++i) {
        const Subprog& sp = env.subprogs[i];
        if (!sp.sig || sp.sig->returns_scalar) continue;
        const bool tail_call = std::any_of(p.insns.begin() + sp.start, p.insns.begin() + sp.end, [](const Insn& x) {
            return x.op == Op::CallHelper && x.imm == static_cast<int32_t>(helper_index(HelperId::tail_call));
        });
        env.insn_idx = 0;
        if (sp.has_ld_abs) return env.fail("LD_ABS is only allowed in functions that return 'int'.");
        if (tail_call) return env.fail("tail_call is only allowed in functions that return 'int'.");
    }
    // check_map_prog_compatibility: maps with special fields some program types cannot use.
    const ProgramType t = env.opt.type;
    const bool tracing = t == ProgramType::Kprobe || t == ProgramType::Tracepoint || t == ProgramType::PerfEvent ||
                         t == ProgramType::RawTracepoint || t == ProgramType::RawTracepointWritable;
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& insn = p.insns[i];
        if (insn.op != Op::Lddw || (insn.src != static_cast<uint8_t>(LddwKind::MapIdx) &&
                                    insn.src != static_cast<uint8_t>(LddwKind::MapIdxValue)))
            continue;
        const MapInfo* m = env.map(static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) & 0xffffffffu));
        if (!m) continue;
        env.insn_idx = i;
        if (m->spin_lock_off >= 0 && t == ProgramType::SocketFilter)
            return env.fail("socket filter progs cannot use bpf_spin_lock yet");
        if (m->spin_lock_off >= 0 && tracing) return env.fail("tracing progs cannot use bpf_spin_lock yet");
        if (m->timer_off >= 0 && tracing) return env.fail("tracing progs cannot use bpf_timer yet");
        if (m->wq_off >= 0 && tracing) return env.fail("tracing progs cannot use bpf_wq yet");
        if (env.opt.sleepable) {
            switch (m->type) {
                case MapType::Hash: case MapType::LruHash: case MapType::Array: case MapType::PercpuHash:
                case MapType::PercpuArray: case MapType::LruPercpuHash: case MapType::ArrayOfMaps:
                case MapType::HashOfMaps: case MapType::Ringbuf: case MapType::UserRingbuf:
                case MapType::InodeStorage: case MapType::SkStorage: case MapType::TaskStorage:
                case MapType::CgrpStorage: case MapType::Queue: case MapType::Stack: case MapType::Arena:
                    break;
                default:
                    return env.fail("Sleepable programs can only use array, hash, ringbuf and local storage maps");
            }
        }
    }
    // Depth-first search from the entry, through calls and function references.
    enum : uint8_t { kNew, kDiscovered, kExplored };
    std::vector<uint8_t> state(n, kNew);
    std::vector<std::pair<uint32_t, size_t>> stack;  // insn, next edge
    std::vector<uint32_t> succ;
    auto edges = [&](uint32_t i, std::vector<uint32_t>& out) {
        successors(p, i, out);
        const Insn& insn = p.insns[i];
        if (insn.op == Op::CallLocal) out.push_back(insn.target);
        if (insn.op == Op::Lddw && insn.src == static_cast<uint8_t>(LddwKind::Func)) out.push_back(insn.target);
    };
    // Prune and jump points (visit_insn).
    for (uint32_t i = 0; i < n; ++i) {
        const Insn& insn = p.insns[i];
        switch (op_info(insn.op).form) {
            case Form::JmpImm:
            case Form::JmpReg:
                env.aux[i].prune_point = true;
                if (insn.target < n) env.aux[insn.target].prune_point = env.aux[insn.target].jmp_point = true;
                break;
            case Form::Ja:
            case Form::Gotol:
                if (insn.target < n) env.aux[insn.target].prune_point = env.aux[insn.target].jmp_point = true;
                break;
            case Form::MayGoto:
                env.aux[i].prune_point = env.aux[i].force_checkpoint = env.aux[i].may_goto = true;
                if (insn.target < n) env.aux[insn.target].prune_point = env.aux[insn.target].jmp_point = true;
                break;
            case Form::Call:
            case Form::CallLocal:
            case Form::CallKfunc:
            case Form::Callx:
                if (i + 1 < n) env.aux[i + 1].prune_point = env.aux[i + 1].jmp_point = true;
                if (insn.op == Op::CallLocal && insn.target < n) {
                    env.aux[i].prune_point = true;
                    env.aux[insn.target].prune_point = env.aux[insn.target].jmp_point = true;
                }
                if (insn.op == Op::CallHelper) {
                    const int64_t id = insn.imm;
                    // Helpers that run a callback: the walk returns to the call after each run.
                    if (id == 181 || id == 164 || id == 209 || id == 180) {
                        env.aux[i].calls_callback = env.aux[i].force_checkpoint = true;
                        env.aux[i].prune_point = env.aux[i].jmp_point = true;
                    }
                    if (id == 170) env.aux[i].prune_point = true;
                }
                if (insn.op == Op::CallKfunc) {
                    for (const auto& [kid, kname] : env.opt.kfuncs) {
                        const KfuncProto* k = kid == static_cast<int32_t>(insn.imm) ? kfunc_proto(kname) : nullptr;
                        if (k && k->has(kKfIterNext))
                            env.aux[i].iter_next = env.aux[i].force_checkpoint = env.aux[i].prune_point = true;
                    }
                }
                break;
            default:
                break;
        }
    }
    stack.emplace_back(0, 0);
    state[0] = kDiscovered;
    while (!stack.empty()) {
        auto& [t, next] = stack.back();
        edges(t, succ);
        if (next >= succ.size()) {
            state[t] = kExplored;
            stack.pop_back();
            continue;
        }
        const uint32_t w = succ[next++];
        if (w >= n) {
            env.insn_idx = t;
            return env.fail("jump out of range from insn %u to %u", p.insns[t].pc, w);
        }
        if (state[w] == kNew) {
            state[w] = kDiscovered;
            stack.emplace_back(w, 0);
        } else if (state[w] == kDiscovered) {
            if (!env.opt.privileged) {
                env.insn_idx = t;
                return env.fail("back-edge from insn %u to %u", p.insns[t].pc, p.insns[w].pc);
            }
        }
    }
    for (uint32_t i = 0; i < n; ++i)
        if (state[i] != kExplored) {
            env.insn_idx = i;
            return env.fail("unreachable insn %u", p.insns[i].pc);
        }
    return check_call_depth(env);
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

/// check_max_stack_depth: frames along every call chain fit in 512 bytes. Tracing programs get a
/// private stack per subprogram (JITs with private stacks, x86-64 and arm64) when it is large
/// enough to be worth it: such frames are checked on their own.
bool check_stack_depth(Env& env) {
    const Program& p = env.prog;
    auto round = [](uint32_t d) { return (d + 15) / 16 * 16; };
    const ProgramType t = env.opt.type;
    bool priv_stack = t == ProgramType::Kprobe || t == ProgramType::Tracepoint || t == ProgramType::PerfEvent ||
                      t == ProgramType::RawTracepoint;
    for (const Subprog& sp : env.subprogs) priv_stack = priv_stack && !sp.has_tail_call;
    if (priv_stack) {
        constexpr uint32_t kPrivStackMin = 64;  // BPF_PRIV_STACK_MIN_SIZE
        for (size_t i = 0; i < env.subprogs.size(); ++i) {
            const uint32_t d = round(env.subprogs[i].stack_depth);
            if (d >= kPrivStackMin) {
                if (d > static_cast<uint32_t>(kMaxStack)) {
                    env.insn_idx = env.subprogs[i].start;
                    return env.fail("stack size of subprog %zu is %u. Too large", i, d);
                }
                env.subprogs[i].stack_depth = 0;  // on its own stack
            }
        }
    }
    // Depth-first over static calls from each root (the entry and async callbacks).
    struct Frame {
        uint32_t sub;
        uint32_t pos;
    };
    for (uint32_t root = 0; root < env.subprogs.size(); ++root) {
        if (root != 0 && !env.subprogs[root].is_async_callback) continue;
        std::vector<Frame> chain{{root, env.subprogs[root].start}};
        uint32_t depth = round(env.subprogs[root].stack_depth);
        if (depth > static_cast<uint32_t>(kMaxStack)) {
            env.insn_idx = env.subprogs[root].start;
            return env.fail("combined stack size of 1 calls is %u. Too large", depth);
        }
        while (!chain.empty()) {
            Frame& f = chain.back();
            const Subprog& sp = env.subprogs[f.sub];
            bool descended = false;
            for (; f.pos < sp.end; ++f.pos) {
                const Insn& insn = p.insns[f.pos];
                if (insn.op != Op::CallLocal) continue;
                const int callee = env.subprog_at(insn.target);
                ++f.pos;
                if (callee < 0 || env.subprogs[static_cast<uint32_t>(callee)].global) continue;
                const auto c = static_cast<uint32_t>(callee);
                if (chain.size() + 1 > static_cast<size_t>(kMaxFrames)) {
                    env.insn_idx = insn.target;
                    return env.fail("the call stack of %zu frames is too deep !", chain.size() + 1);
                }
                // A tail call unwinds only its own frame: the callers' frames stay, for up to 33
                // programs in a row, so they must be small (the kernel's 256-byte rule).
                constexpr uint32_t kTailCallCallerStack = 256;
                if (env.subprogs[c].has_tail_call && depth >= kTailCallCallerStack) {
                    env.insn_idx = f.pos - 1;
                    return env.fail("tail_calls are not allowed when call stack of previous frames is %u bytes. Too large",
                                    depth);
                }
                depth += round(env.subprogs[c].stack_depth);
                if (depth > static_cast<uint32_t>(kMaxStack)) {
                    env.insn_idx = f.pos - 1;
                    return env.fail("combined stack size of %zu calls is %u. Too large", chain.size() + 1, depth);
                }
                chain.push_back({c, env.subprogs[c].start});
                descended = true;
                break;
            }
            if (descended) continue;
            if (chain.size() > 1) depth -= round(env.subprogs[f.sub].stack_depth);
            chain.pop_back();
        }
    }
    return true;
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
