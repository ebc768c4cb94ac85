// Context access conversion. Programs read struct xdp_md / struct __sk_buff packet pointers as
// 32-bit fields (ctx->data), which only works because the kernel's verifier rewrites those loads
// into loads of the real 64-bit pointers from its own struct (convert_ctx_access). bpfvm does the
// same once per program at prepare time: a forward dataflow pass finds the instructions whose base
// register holds the context pointer (plus a constant offset), and those loads are redirected to
// the 64-bit fields appended after the uapi struct (see XdpKernCtx / SkbKernCtx).
//
// Soundness: a base register is "ctx" only if it is on every path reaching the instruction (the
// join of differing values is Unknown). The kernel rejects programs that use one instruction with
// different pointer kinds, so on programs it accepts, Unknown never hides a context access. The
// tracking follows moves, constant adds, 8-byte spills to the frame, and local-call arguments.
#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "bpfvm/ctx_layouts.hpp"
#include "testrun_internal.hpp"

namespace bpfvm::testrun {
namespace {

enum class Kind : uint8_t { Unknown, Ctx, Fp };

struct Val {
    Kind kind = Kind::Unknown;
    int64_t off = 0;
    bool operator==(const Val&) const = default;
};

struct State {
    bool reached = false;
    Val regs[kNumRegs];
    std::map<int64_t, Val> slots;  // frame offset (from r10) of an 8-byte spill -> the spilled value

    /// Joins `other` into this state; true when this state changed.
    bool join(const State& other) {
        if (!reached) {
            *this = other;
            reached = true;
            return true;
        }
        bool changed = false;
        for (int r = 0; r < kNumRegs; ++r) {
            if (regs[r] != other.regs[r] && regs[r].kind != Kind::Unknown) {
                regs[r] = Val{};
                changed = true;
            }
        }
        for (auto it = slots.begin(); it != slots.end();) {
            auto o = other.slots.find(it->first);
            if (o == other.slots.end() || o->second != it->second) {
                it = slots.erase(it);
                changed = true;
            } else {
                ++it;
            }
        }
        return changed;
    }

    /// Forgets spills overlapping [off, off + size) of the frame.
    void clobber(int64_t off, int64_t size) {
        for (auto it = slots.begin(); it != slots.end();)
            it = (it->first < off + size && off < it->first + 8) ? slots.erase(it) : std::next(it);
    }

    /// A helper or callee may write the frame through any frame pointer it receives.
    void clobber_for_call() {
        int64_t lowest = 1;
        for (int r = 1; r <= 5; ++r)
            if (regs[r].kind == Kind::Fp) lowest = std::min(lowest, regs[r].off);
        if (lowest <= 0)
            for (auto it = slots.begin(); it != slots.end();) it = it->first + 8 > lowest ? slots.erase(it) : std::next(it);
        for (int r = 0; r <= 5; ++r) regs[r] = Val{};
    }
};

bool is_memory_form(Form f) {
    return f == Form::Ldx || f == Form::Ldxs || f == Form::St || f == Form::Stx || f == Form::Atomic ||
           f == Form::LoadAcquire || f == Form::StoreRelease;
}

/// Base register of a memory instruction.
uint8_t base_reg(const Insn& insn) {
    const Form f = op_info(insn.op).form;
    return (f == Form::Ldx || f == Form::Ldxs || f == Form::LoadAcquire) ? insn.src : insn.dst;
}

/// Applies `insn` to `s` (the state after it on the fall-through edge).
void transfer(const Insn& insn, State& s) {
    const OpInfo& info = op_info(insn.op);
    const int64_t size = info.width / 8;
    switch (info.form) {
        case Form::AluImm:
            if ((insn.op == Op::Add64Imm || insn.op == Op::Sub64Imm) && s.regs[insn.dst].kind != Kind::Unknown)
                s.regs[insn.dst].off += insn.op == Op::Add64Imm ? insn.imm : -insn.imm;
            else
                s.regs[insn.dst] = Val{};
            break;
        case Form::AluReg:
            s.regs[insn.dst] = insn.op == Op::Mov64Reg ? s.regs[insn.src] : Val{};
            break;
        case Form::Neg:
        case Form::Movsx:
        case Form::End:
        case Form::Lddw:
        case Form::AddrSpaceCast:
        case Form::LoadAcquire:
            s.regs[insn.dst] = Val{};
            break;
        case Form::Ja:
        case Form::Gotol:
        case Form::JmpImm:
        case Form::JmpReg:
        case Form::MayGoto:
        case Form::Exit:
            break;
        case Form::Call:
        case Form::CallLocal:
        case Form::CallKfunc:
        case Form::Callx:
            s.clobber_for_call();
            break;
        case Form::LdAbs:
        case Form::LdInd:
            for (int r = 0; r <= 5; ++r) s.regs[r] = Val{};
            break;
        case Form::Ldx:
        case Form::Ldxs: {
            const Val base = s.regs[insn.src];
            Val loaded{};
            if (base.kind == Kind::Fp && size == 8 && info.form == Form::Ldx) {
                auto it = s.slots.find(base.off + insn.off);
                if (it != s.slots.end()) loaded = it->second;
            }
            s.regs[insn.dst] = loaded;
            break;
        }
        case Form::St:
        case Form::Stx:
        case Form::StoreRelease:
        case Form::Atomic: {
            const Val base = s.regs[insn.dst];
            if (base.kind == Kind::Fp) {
                const int64_t at = base.off + insn.off;
                s.clobber(at, size);
                if (info.form == Form::Stx && size == 8 && s.regs[insn.src].kind != Kind::Unknown)
                    s.slots[at] = s.regs[insn.src];
            }
            if (info.form == Form::Atomic) {
                if (insn.op == Op::AtomicCmpxchg32 || insn.op == Op::AtomicCmpxchg64)
                    s.regs[0] = Val{};
                else if (insn.imm & 1)  // BPF_FETCH
                    s.regs[insn.src] = Val{};
            }
            break;
        }
    }
}

Error reject(uint32_t pc, std::string message) { return make_error(ErrorCode::kRejected, std::move(message), pc); }

}  // namespace

Result<CtxConversion> convert_ctx_access(const Program& program, const CtxLayout* layout) {
    const auto n = static_cast<uint32_t>(program.insns.size());
    std::vector<State> states(n);
    std::vector<uint32_t> work;

    State entry;
    entry.reached = true;
    entry.regs[1] = Val{Kind::Ctx, 0};
    entry.regs[kFrameReg] = Val{Kind::Fp, 0};
    if (n == 0) return CtxConversion{program, 0, 0};
    states[0] = entry;
    work.push_back(0);

    auto flow = [&](uint32_t to, const State& s) {
        if (to < n && states[to].join(s)) work.push_back(to);
    };
    while (!work.empty()) {
        const uint32_t i = work.back();
        work.pop_back();
        const Insn& insn = program.insns[i];
        State s = states[i];
        const Form form = op_info(insn.op).form;
        if (form == Form::CallLocal) {
            // The callee starts a fresh frame: arguments pass through, frame pointers of the
            // caller do not (they would alias the callee's slots in this per-index state).
            State callee;
            callee.reached = true;
            for (int r = 1; r <= 5; ++r)
                if (s.regs[r].kind == Kind::Ctx) callee.regs[r] = s.regs[r];
            callee.regs[kFrameReg] = Val{Kind::Fp, 0};
            flow(insn.target, callee);
        }
        transfer(insn, s);
        switch (form) {
            case Form::Exit:
                break;
            case Form::Ja:
            case Form::Gotol:
                flow(insn.target, s);
                break;
            case Form::JmpImm:
            case Form::JmpReg:
            case Form::MayGoto:
                flow(insn.target, s);
                flow(i + 1, s);
                break;
            default:
                flow(i + 1, s);
                break;
        }
    }

    CtxConversion out{program, 0, 0};
    for (uint32_t i = 0; i < n; ++i) {
        if (!states[i].reached) continue;
        Insn& insn = out.program.insns[i];
        const OpInfo& info = op_info(insn.op);
        if (!is_memory_form(info.form)) continue;
        const Val base = states[i].regs[base_reg(insn)];
        if (base.kind != Kind::Ctx) continue;
        const int64_t off = base.off + insn.off;
        const int64_t size = info.width / 8;
        const bool load = info.form == Form::Ldx || info.form == Form::Ldxs || info.form == Form::LoadAcquire;
        if (info.form == Form::LoadAcquire || info.form == Form::StoreRelease) {
            const char* what = info.form == Form::LoadAcquire ? "load-acquire from " : "store-release to ";
            return reject(insn.pc, what + std::string(layout != nullptr ? layout->type_name : "the context") +
                                       " is not allowed");
        }
        if (off < 0) return reject(insn.pc, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size));
        out.max_ctx_end = std::max<uint32_t>(out.max_ctx_end, static_cast<uint32_t>(off + size));
        if (layout == nullptr) continue;
        if (off + size > layout->uapi_size)
            return reject(insn.pc, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size) +
                                       " (" + layout->type_name + " is " + std::to_string(layout->uapi_size) + " bytes)");
        bool handled = false;
        for (const auto& p : layout->pointers) {
            if (off + size <= p.uapi_off || p.uapi_off + 4 <= off) continue;
            if (!load || off != p.uapi_off || size != 4 || info.form != Form::Ldx)
                return reject(insn.pc, std::string("invalid bpf_context access to ") + layout->type_name + "." + p.name +
                                           " (off=" + std::to_string(off) + " size=" + std::to_string(size) +
                                           "): only 32-bit loads are allowed");
            insn.op = Op::Ldx64;
            insn.off = static_cast<int16_t>(static_cast<int64_t>(p.kern_off) - base.off);
            ++out.rewritten;
            handled = true;
        }
        if (handled || load) continue;
        if (info.form == Form::Atomic)
            return reject(insn.pc, std::string("atomic access to ") + layout->type_name + " at off=" + std::to_string(off) +
                                       " is not allowed");
        const bool ok = std::any_of(layout->writable.begin(), layout->writable.end(),
                                    [&](const auto& w) { return off >= w.first && off + size <= w.second; });
        if (!ok)
            return reject(insn.pc, std::string("invalid bpf_context access: write to ") + layout->type_name +
                                       " at off=" + std::to_string(off) + " size=" + std::to_string(size) +
                                       " (read-only field)");
    }
    return out;
}

CtxConversion convert_ctx_access(const Program& program, const CtxLayout* layout,
                                 const std::vector<verifier::InsnFacts>& facts) {
    CtxConversion out{program, 0, 0};
    for (size_t i = 0; i < program.insns.size() && i < facts.size(); ++i) {
        if (!facts[i].ctx_access) continue;
        Insn& insn = out.program.insns[i];
        const OpInfo& info = op_info(insn.op);
        const int64_t off = facts[i].ctx_off;
        const int64_t size = info.width / 8;
        out.max_ctx_end = std::max<uint32_t>(out.max_ctx_end, static_cast<uint32_t>(off + size));
        if (layout == nullptr || info.form != Form::Ldx || size != 4) continue;
        for (const auto& p : layout->pointers) {
            if (off != p.uapi_off) continue;
            // The base register holds the context itself (the verifier allows no modified ctx
            // pointer), so the 64-bit field is at kern_off from it.
            insn.op = Op::Ldx64;
            insn.off = static_cast<int16_t>(p.kern_off);
            ++out.rewritten;
        }
    }
    return out;
}

namespace {

/// The layout of `type`, from the context table of isa (ctx_layouts.def): the packet pointer fields
/// are converted into loads of the kernel-like struct's 64-bit pointers, the fields the type may
/// write are writable. Types whose context has no packet pointers need no conversion.
std::optional<CtxLayout> build_layout(ProgramType type) {
    const CtxInfo info = ctx_info(type);
    const bool xdp = info.struct_name == "struct xdp_md";
    const bool skb = info.struct_name == "struct __sk_buff";
    if (!xdp && !skb) return std::nullopt;
    CtxLayout l;
    l.type_name = xdp ? "struct xdp_md" : "struct __sk_buff";
    l.uapi_size = info.size;
    for (const CtxField& f : info.fields) {
        uint32_t kern = 0;
        switch (f.yields) {
            case CtxYield::PktStart: kern = xdp ? offsetof(XdpKernCtx, data) : offsetof(SkbKernCtx, data); break;
            case CtxYield::PktEnd: kern = xdp ? offsetof(XdpKernCtx, data_end) : offsetof(SkbKernCtx, data_end); break;
            case CtxYield::PktMeta: kern = xdp ? offsetof(XdpKernCtx, data_meta) : offsetof(SkbKernCtx, data_meta); break;
            default: break;
        }
        if (kern) l.pointers.push_back({f.offset, kern, f.name.data()});
        const std::optional<CtxRule> rule = ctx_rule(type, f);
        if (rule == CtxRule::Write || rule == CtxRule::WriteCapBpf) l.writable.emplace_back(f.offset, f.offset + f.size);
    }
    return l;
}

}  // namespace

const CtxLayout* ctx_layout_for(ProgramType type) {
    static const auto layouts = [] {
        std::vector<std::optional<CtxLayout>> all(kNumProgramTypes);
        for (uint32_t t = 0; t < kNumProgramTypes; ++t) all[t] = build_layout(static_cast<ProgramType>(t));
        return all;
    }();
    const auto t = static_cast<uint32_t>(type);
    return t < layouts.size() && layouts[t] ? &*layouts[t] : nullptr;
}

}  // namespace bpfvm::testrun
