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

struct FpState {
    bool reached = false;
    FpVal regs[kNumRegs];

    /// Joins `o` into this state; true when it changed.
    bool join(const FpState& o) {
        if (!reached) {
            *this = o;
            reached = true;
            return true;
        }
        bool changed = false;
        for (int r = 0; r < kNumRegs; ++r)
            if (!(regs[r] == o.regs[r]) && regs[r].kind != Fp::Maybe) {
                const bool either = regs[r].may() || o.regs[r].may();
                regs[r] = either ? FpVal{Fp::Maybe, 0} : FpVal{};
                changed = changed || either;
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


void fp_transfer(const Insn& insn, FpState& s) {
    const OpInfo& info = op_info(insn.op);
    FpVal* regs = s.regs;
    const bool alu64 = (info.opcode & 0x07) == 0x07;
    const uint8_t code = info.opcode & 0xf0;
    switch (info.form) {
        // Pointer arithmetic is 64-bit add and sub only (the verifier rejects 32-bit pointer
        // arithmetic and other operators on pointers, or makes the result a scalar): every other
        // ALU result is a scalar, never a stack pointer.
        case Form::AluImm: {
            FpVal& d = regs[insn.dst];
            if (alu64 && (code == 0x00 || code == 0x10) && d.may()) {
                if (d.fp()) d.off += code == 0x00 ? insn.imm : -insn.imm;
            } else {
                d = FpVal{};
            }
            break;
        }
        case Form::AluReg: {
            FpVal& d = regs[insn.dst];
            const FpVal& src = regs[insn.src];
            if (alu64 && code == 0xb0) d = src;
            else if (alu64 && ((code == 0x00 && (d.may() || src.may())) || (code == 0x10 && d.may()))) d = FpVal{Fp::Maybe, 0};
            else d = FpVal{};
            break;
        }
        case Form::Call:
        case Form::CallLocal:
        case Form::CallKfunc:
        case Form::Callx:
        case Form::LdAbs:
        case Form::LdInd:
            for (int r = 0; r <= 5; ++r) regs[r] = FpVal{};
            break;
        default: {
            const int d = defined_register(insn);
            if (d >= 0 && d < kFrameReg) regs[d] = FpVal{};
            break;
        }
    }
    regs[kFrameReg] = FpVal{Fp::At, 0};
}

/// The stack slots a helper call may read through its arguments. Only memory the helper reads
/// counts: a pointer passed where the prototype wants a scalar, a map, a size or the context is
/// never dereferenced, and memory the helper only writes is not read. A read through r10 + off
/// stays within [off, 0), whatever its size. Helpers without a known prototype read everything.
uint64_t helper_stack_use(const Insn& insn, const FpState& s, ProgramType type) {
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
                use |= info.fixed_size ? slot_mask(v.off, info.fixed_size) : slot_mask(v.off, -v.off);
                continue;
            default:
                return kAllSlots;
        }
    }
    return use;
}

/// The stack slots instruction `insn` reads (use) and fully overwrites (def), given which registers
/// hold r10 + constant before it.
void stack_use_def(const Insn& insn, const FpState& s, ProgramType type, uint64_t& use, uint64_t& def) {
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
            use = helper_stack_use(insn, s, type);
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
        stack_use_def(p.insns[i], in[i], env.opt.type, use[i], def[i]);
    }
    // A pointer into the frame stored to memory can come back through any load: then every slot
    // stays live everywhere.
    bool escapes = false;
    for (uint32_t i = 0; i < n && !escapes; ++i) {
        const Insn& insn = p.insns[i];
        const Form form = op_info(insn.op).form;
        if (!in[i].reached) continue;
        if ((form == Form::Stx || form == Form::StoreRelease || form == Form::Atomic) && in[i].regs[insn.src].may())
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
