// The checks around the walk: before it, the program's structure as the kernel's add_subprog,
// check_subprogs and check_cfg see it (subprograms, jumps within their subprogram, no unreachable
// instructions, no back edges for unprivileged loaders, maps a program type may not use, call
// depth); after it, the combined stack depth along every call chain (check_max_stack_depth).
#include <algorithm>
#include <functional>

#include "bpfvm/cfg.hpp"
#include "bpfvm/kfuncs.hpp"
#include "checks.hpp"
#include "liveness.hpp"

namespace bpfvm::verifier {
namespace {

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

}  // namespace

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

}  // namespace bpfvm::verifier
