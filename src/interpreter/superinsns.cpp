// Superinstructions (internal.hpp): after prepare has filled every slot, unchecked programs get a
// pass that turns a matching instruction pair into one slot running both. The pairs are the ones
// clang emits most (bench/insn_pairs.py over ../shared/corpus: a copy then an ALU immediate on the
// copy is the most frequent fusible pair, a byte load then a shift the next) plus the add-then-branch
// of counted loops, the copy-add-compare of packet bounds checks (a triple), and from the bench
// programs' dynamic counts (parse, checksum) a byte load then its use: a compare-and-branch on it,
// an ALU op that takes it, or the shift-and-or that builds a big-endian 16-bit field (a triple).
// Two longer shapes come from the x86-64 JIT's idioms (bpfvm/idioms.hpp, the same shape tests):
// clang's whole big-endian byte pair (four instructions, checksum) and its byte fill loop (five,
// sieve), which keep the interpreter's time per instruction within reach of the JIT's.
// One more shape comes from the corpus counts of three-instruction sequences (bench/insn_pairs.py):
// a counted loop's latch with a loop-carried copy rotated into it, `rI += K; rX = rY; if rJ op
// imm goto L` (67 in ../shared/corpus: 60 jgt, 4 jeq, 2 jlt, 1 jne; checksum's loop has one),
// and from the four-instruction counts, that latch after the add that makes the copied value,
// `rY += rS; rI += K; rX = rY; if rJ op imm goto L` (59 of those 67, all with I = Y: cilium's
// pointers moved by a register and a constant; checksum's sum has I != Y): its handler copies the
// sum from a host register, so a loop-carried sum makes one trip through the register file per
// iteration instead of two.
// From the same three-instruction counts, a copy before a 64-bit copy-then-ALU pair on another
// register, `rC = rD; rX = rY; rX op= K|rZ` (1053 in ../shared/corpus; checksum's loop head copies
// its index, then forms the address from it), unless the pair begins a bounds check's triple.
// Checksum's other candidates, the byte pair followed by `sum += pair` and the pair indexed
// through `rA = rB; rA += rI`, occur nowhere in the corpus (it has no big-endian byte pair at
// all). Fused as well (tried on 2026-11-30), they took checksum from 16.4x the JIT to 13.6x: they
// are left out, as fitted to one loop.
// Last, install_chains turns runs of slots that write one register into register chains
// (internal.hpp, ChainStep): the ALU instructions no superinstruction took (two ALU instructions
// in a row on one register, neither a copy, are 14% of the straight-line pairs in
// ../shared/corpus, 72k of 507k, bench/insn_pairs.py), and the superinstructions superops.def
// gives chain steps (chain_role says when a slot takes them). These keep checksum's address, byte
// pair and sum in a host register from the loop head to the latch; with the copy-prefixed pair,
// checksum went from 2963 to 2461 ns per run (bench/README.md, Engines).
#include <optional>
#include <vector>

#include "bpfvm/idioms.hpp"
#include "internal.hpp"

namespace bpfvm::interp {
namespace {

// The compare-and-branch superinstruction families list their 64-bit immediate compares in this
// order, so that one mapping serves them all.
static_assert(kSuperAdd64ImmJne == kSuperAdd64ImmJeq + 1 && kSuperAdd64ImmJlt == kSuperAdd64ImmJeq + 2 &&
              kSuperAdd64ImmJgt == kSuperAdd64ImmJeq + 3);
static_assert(kSuperAddMovJne == kSuperAddMovJeq + 1 && kSuperAddMovJlt == kSuperAddMovJeq + 2 &&
              kSuperAddMovJgt == kSuperAddMovJeq + 3);
static_assert(kSuperAddAddMovJne == kSuperAddAddMovJeq + 1 && kSuperAddAddMovJlt == kSuperAddAddMovJeq + 2 &&
              kSuperAddAddMovJgt == kSuperAddAddMovJeq + 3);
static_assert(kSuperAddRegImmMovJne == kSuperAddRegImmMovJeq + 1 &&
              kSuperAddRegImmMovJlt == kSuperAddRegImmMovJeq + 2 && kSuperAddRegImmMovJgt == kSuperAddRegImmMovJeq + 3);

/// The member of a family (`first` = its Jeq form) for a 64-bit compare with an immediate:
/// ==, !=, < or > (unsigned), else 0.
uint8_t compare_imm_op(Op jump, uint8_t first) {
    switch (jump) {
        case Op::Jeq64Imm: return first;
        case Op::Jne64Imm: return first + 1;
        case Op::Jlt64Imm: return first + 2;
        case Op::Jgt64Imm: return first + 3;
        default: return 0;
    }
}

/// The superinstruction for the pair (a, b) and the fields it needs in `slot` (a's slot), or 0.
uint8_t match_pair(const Insn& a, const Insn& b, Slot* slots, Slot& slot) {
    if (a.op == Op::Mov64Reg && (b.op == Op::Jlt64Reg || b.op == Op::Jgt64Reg)) {
        // Any registers: the handler copies first, then compares.
        slot.pad = b.dst;
        slot.off = b.src;
        slot.target = &slots[b.target];
        return b.op == Op::Jlt64Reg ? kSuperMov64JltReg : kSuperMov64JgtReg;
    }
    if (a.op == Op::Mov64Reg && b.op == Op::Jlt64Imm) {
        slot.pad = b.dst;
        slot.imm = b.imm;
        slot.target = &slots[b.target];
        return kSuperMov64JltImm;
    }
    if (b.dst != a.dst) return 0;
    switch (a.op) {
        case Op::Mov64Reg:
            slot.imm = b.imm;
            switch (b.op) {
                case Op::Add64Imm: return kSuperMov64AddImm;
                case Op::Rsh64Imm: return kSuperMov64RshImm;
                case Op::Lsh64Imm: return kSuperMov64LshImm;
                case Op::And64Imm: return kSuperMov64AndImm;
                case Op::Add64Reg:
                    // rX = rY; rX += rZ, where rZ may be rX itself (then it holds rY).
                    slot.pad = b.src == a.dst ? a.src : b.src;
                    return kSuperMov64AddReg;
                default: return 0;
            }
        case Op::Mov32Reg:
            slot.imm = b.imm;
            switch (b.op) {
                case Op::Rsh32Imm: return kSuperMov32RshImm;
                case Op::Lsh32Imm: return kSuperMov32LshImm;
                case Op::And32Imm: return kSuperMov32AndImm;
                case Op::Add32Reg:
                    slot.pad = b.src == a.dst ? a.src : b.src;  // wX += wX adds the copied value
                    return kSuperMov32AddReg;
                default: return 0;
            }
        case Op::Ldx8:
            slot.imm = b.imm;
            if (b.op == Op::Lsh64Imm) return kSuperLdx8Lsh64;
            if (b.op == Op::Lsh32Imm) return kSuperLdx8Lsh32;
            return 0;
        case Op::Add64Imm: {
            const uint8_t op = b.op == Op::Jgt64Reg ? uint8_t{kSuperAdd64ImmJgtReg} : compare_imm_op(b.op, kSuperAdd64ImmJeq);
            if (op == 0) return 0;
            // The add's source field is unused: it carries the compared register. A jump
            // immediate is a sign-extended imm32.
            slot.src = b.src;
            slot.off = static_cast<int32_t>(b.imm);
            slot.target = &slots[b.target];
            return op;
        }
        case Op::Lsh64Imm:
            if (b.op != Op::Or64Reg || b.src == a.dst) return 0;  // rX | rX would read the shifted value
            slot.src = b.src;
            return kSuperLsh64OrReg;
        default:
            return 0;
    }
}

/// A byte load `rA = u8[rS + off]`, then `b` using rA: a compare of rA with an immediate and a
/// branch, or an ALU op taking rA as its source. The superinstruction and its fields in `slot`
/// (a's slot: dst, src and off are the load's), or 0.
uint8_t match_load_pair(const Insn& a, const Insn& b, Slot* slots, Slot& slot) {
    if (a.op != Op::Ldx8) return 0;
    uint8_t op = 0;
    bool wide = true;  // a 64-bit jump compares the sign-extended immediate, a 32-bit one its low half
    switch (b.op) {
        case Op::Jeq64Imm: op = kSuperLdx8Jeq; break;
        case Op::Jne64Imm: op = kSuperLdx8Jne; break;
        case Op::Jlt64Imm: op = kSuperLdx8Jlt; break;
        case Op::Jgt64Imm: op = kSuperLdx8Jgt; break;
        case Op::Jeq32Imm: op = kSuperLdx8Jeq, wide = false; break;
        case Op::Jne32Imm: op = kSuperLdx8Jne, wide = false; break;
        case Op::Jlt32Imm: op = kSuperLdx8Jlt, wide = false; break;
        case Op::Jgt32Imm: op = kSuperLdx8Jgt, wide = false; break;
        case Op::Add32Reg: op = kSuperLdx8Add32Reg; break;
        case Op::Add64Reg: op = kSuperLdx8Add64Reg; break;
        case Op::Or32Reg: op = kSuperLdx8Or32Reg; break;
        case Op::Or64Reg: op = kSuperLdx8Or64Reg; break;
        default: return 0;
    }
    if (is_jump(b.op)) {
        if (b.dst != a.dst) return 0;
        // The loaded byte has no upper bits, so comparing it in 64 bits with the constant as
        // the jump's width sees it gives the jump's own result.
        slot.imm = wide ? b.imm : static_cast<int64_t>(static_cast<uint32_t>(b.imm));
        slot.target = &slots[b.target];
        return op;
    }
    if (b.src != a.dst) return 0;
    slot.pad = b.dst;  // may be the loaded register itself: the handler writes it first
    return op;
}

/// rX = u8[rY + off]; rX <<= K; then (both 64-bit or both 32-bit) rX |= rZ, rZ distinct from
/// rX (`pad` = rZ), or rZ op= rX for an add or an or (`pad` = rZ). 0 for anything else.
uint8_t match_load_shift(const Insn& a, const Insn& b, const Insn& c, uint8_t* pad) {
    if (a.op != Op::Ldx8 || b.dst != a.dst) return 0;
    const bool wide = b.op == Op::Lsh64Imm;
    if (!wide && b.op != Op::Lsh32Imm) return 0;
    if (c.dst == a.dst && c.src != a.dst) {
        *pad = c.src;
        if (wide && c.op == Op::Or64Reg) return kSuperLdx8LshOr64;
        if (!wide && c.op == Op::Or32Reg) return kSuperLdx8LshOr32;
        return 0;
    }
    if (c.src != a.dst) return 0;
    *pad = c.dst;
    switch (c.op) {
        case Op::Add32Reg: return wide ? 0 : kSuperLdx8LshAdd32To;
        case Op::Or32Reg: return wide ? 0 : kSuperLdx8LshOr32To;
        case Op::Add64Reg: return wide ? kSuperLdx8LshAdd64To : 0;
        case Op::Or64Reg: return wide ? kSuperLdx8LshOr64To : 0;
        default: return 0;
    }
}

/// rX = rY; rX += K (or += rV); if rX > rZ goto L, with rX distinct from rY and rZ: the
/// superinstruction, with the fields beyond the copy's in `slot`, or 0.
uint8_t match_bounds_check(const Insn& a, const Insn& b, const Insn& c, Slot* slots, Slot& slot) {
    if (a.op != Op::Mov64Reg || c.op != Op::Jgt64Reg || b.dst != a.dst || c.dst != a.dst || a.src == a.dst ||
        c.src == a.dst)
        return 0;
    slot.target = &slots[c.target];
    if (b.op == Op::Add64Imm) {
        slot.imm = b.imm;
        slot.pad = c.src;
        return kSuperMovAddJgtReg;
    }
    if (b.op != Op::Add64Reg) return 0;
    slot.pad = b.src == a.dst ? a.src : b.src;  // rX += rX after the copy adds rY
    slot.off = c.src;
    return kSuperMovAddRegJgtReg;
}

/// The fill loop or the big-endian byte pair at `i`, shape only (the caller checks that nothing
/// enters the instructions it covers after its first; the fill loop's own back edge goes to its
/// first): the superinstruction with its fields in `slot`, and the number of instructions it
/// covers in `*covers`; else 0.
uint8_t match_idiom(const Program& program, uint32_t i, Slot& slot, uint32_t* covers) {
    if (const auto f = match_fill_loop(program, i)) {
        slot.dst = f->ptr;
        slot.src = f->base;
        slot.pad = f->index;
        slot.off = f->off;
        slot.imm = f->end;
        *covers = 5;
        return f->imm ? kSuperFillImm : kSuperFillReg;
    }
    if (const auto b = match_be16_load(program, i)) {
        slot.dst = b->dst;
        slot.src = b->base;
        slot.pad = b->tmp;
        slot.off = b->off;
        *covers = 4;
        return kSuperBe16Load;
    }
    return 0;
}

/// A counted loop's latch with a copy rotated into it: rI += K; rX = rY; if rJ op imm goto L
/// (64-bit compare), any registers. The superinstruction with its fields in `slot`, or 0.
uint8_t match_latch_copy(const Insn& a, const Insn& b, const Insn& c, Slot* slots, Slot& slot) {
    const uint8_t op = compare_imm_op(c.op, kSuperAddMovJeq);
    if (op == 0 || a.op != Op::Add64Imm || b.op != Op::Mov64Reg) return 0;
    slot.src = c.dst;
    slot.pad = b.dst;
    slot.imm = static_cast<int64_t>(static_cast<uint32_t>(a.imm)) | pack_bytes({b.src}, 4);
    slot.off = static_cast<int32_t>(c.imm);
    slot.target = &slots[c.target];
    return op;
}

/// That latch after the add that makes the copied value: rY += rS; rI += K; rX = rY; if rJ op imm
/// goto L, any registers (kSuperAddRegImmMov* when I is Y, kSuperAddAddMov* otherwise). The
/// superinstruction with its fields in `slot`, or 0.
uint8_t match_sum_latch(const Insn& a, const Insn& b, const Insn& c, const Insn& d, Slot* slots, Slot& slot) {
    if (a.op != Op::Add64Reg || c.op != Op::Mov64Reg || c.src != a.dst) return 0;
    const uint8_t op = match_latch_copy(b, c, d, slots, slot);
    if (op == 0) return 0;
    slot.dst = b.dst;  // I (the slot held the first add's fields)
    slot.imm |= pack_bytes({a.src}, 5);
    return static_cast<uint8_t>(op - kSuperAddMovJeq + (b.dst == a.dst ? kSuperAddRegImmMovJeq : kSuperAddAddMovJeq));
}

/// A register copy rC = rD, then a 64-bit copy-then-ALU pair on another register (b, c): the
/// copy-prefixed superinstruction with its fields in `slot`, or 0. A pair operand that is C reads
/// D instead (the same value once the copy ran), so the handler reads every operand first.
uint8_t match_copy_prefix(const Insn& a, const Insn& b, const Insn& c, Slot* slots, Slot& slot) {
    if (a.op != Op::Mov64Reg || b.op != Op::Mov64Reg || b.dst == a.dst) return 0;
    uint8_t op = 0;
    switch (match_pair(b, c, slots, slot)) {
        case kSuperMov64AddImm: op = kSuperCopyMov64AddImm; break;
        case kSuperMov64AddReg: op = kSuperCopyMov64AddReg; break;
        case kSuperMov64RshImm: op = kSuperCopyMov64RshImm; break;
        case kSuperMov64LshImm: op = kSuperCopyMov64LshImm; break;
        case kSuperMov64AndImm: op = kSuperCopyMov64AndImm; break;
        default: return 0;
    }
    slot.dst = b.dst;
    slot.src = b.src == a.dst ? a.src : b.src;
    if (slot.pad == a.dst) slot.pad = a.src;
    slot.imm = static_cast<int64_t>(static_cast<uint32_t>(c.imm)) | pack_bytes({a.dst, a.src}, 4);
    return op;
}

/// Whether `insn` reads register `r` as its source operand.
bool reads_source(const Insn& insn, uint8_t r) {
    const Form form = op_info(insn.op).form;
    return (form == Form::AluReg || form == Form::Movsx) && insn.src == r;
}

/// What a chain step of the slot at `k` keeps in `acc`: its result register, and whether the
/// slot may continue a chain on it, reading that register only as the step's input (an ALU source
/// or a pair's other operand that is the register would read a stale register file).
struct ChainRole {
    uint8_t reg;
    bool continues;
};
std::optional<ChainRole> chain_role(const Program& program, const Slot& slot, size_t k) {
    const uint8_t r = slot.dst;
    switch (slot.op) {
        case kSuperMov64AddImm:
        case kSuperMov64RshImm:
        case kSuperMov64LshImm:
        case kSuperMov64AndImm:
        case kSuperMov32RshImm:
        case kSuperMov32LshImm:
        case kSuperMov32AndImm:
        case kSuperLdx8Lsh64:
        case kSuperLdx8Lsh32:
        case kSuperLsh64OrReg: return ChainRole{r, slot.src != r};
        case kSuperMov64AddReg:
        case kSuperMov32AddReg: return ChainRole{r, slot.src != r && slot.pad != r};
        case kSuperCopyMov64AddImm:
        case kSuperCopyMov64RshImm:
        case kSuperCopyMov64LshImm:
        case kSuperCopyMov64AndImm: return ChainRole{r, slot.src != r && imm_byte(slot, 5) != r};
        case kSuperCopyMov64AddReg: return ChainRole{r, slot.src != r && slot.pad != r && imm_byte(slot, 5) != r};
        case kSuperBe16Load: return ChainRole{r, slot.src == r && slot.pad != r};  // through its base
        case kSuperAddAddMovJeq:
        case kSuperAddAddMovJne:
        case kSuperAddAddMovJlt:
        case kSuperAddAddMovJgt: return ChainRole{imm_byte(slot, 4), imm_byte(slot, 5) != imm_byte(slot, 4)};
        case kSuperAddRegImmMovJeq:
        case kSuperAddRegImmMovJne:
        case kSuperAddRegImmMovJlt:
        case kSuperAddRegImmMovJgt: return ChainRole{r, imm_byte(slot, 5) != r};
        default: break;
    }
    if (slot.op >= kTrapSlotOp) return std::nullopt;
    const Insn& insn = program.insns[k];
    return ChainRole{insn.dst, !reads_source(insn, insn.dst)};
}

/// The register chains (internal.hpp, ChainStep) over the slots: a head, then the slots that
/// continue a chain on its register, then at most one slot that can only end one (a latch).
void install_chains(const Program& program, Slot* slots, const std::vector<bool>& entered,
                    const std::vector<bool>& covered, const void* const* chain_labels) {
    const size_t n = program.insns.size();
    auto step = [&](ChainStep s, size_t k) { return chain_labels[s * kNumSlotOps + slots[k].op]; };
    auto next = [&](size_t k) {
        do ++k;
        while (k < n && covered[k]);
        return k;
    };
    // Whether the slot at k, reached from the previous slot only, continues a chain on `r` with `s`.
    auto continues = [&](ChainStep s, size_t k, uint8_t r) {
        if (k >= n || entered[k] || step(s, k) == nullptr) return false;
        const auto role = chain_role(program, slots[k], k);
        return role && role->reg == r && role->continues;
    };
    std::vector<size_t> run;
    for (size_t i = 0; i < n;) {
        if (covered[i] || step(kChainHead, i) == nullptr) {
            ++i;
            continue;
        }
        const auto role = chain_role(program, slots[i], i);
        BPFVM_ASSERT(role.has_value());  // every op with chain steps (superops.def) has a role
        const uint8_t r = role->reg;
        run.assign(1, i);
        size_t k = next(i);
        for (; continues(kChainMid, k, r); k = next(k)) run.push_back(k);
        if (continues(kChainTail, k, r)) {
            run.push_back(k);
            k = next(k);
        }
        if (run.size() >= 2) {
            slots[run.front()].label = step(kChainHead, run.front());
            for (size_t m = 1; m + 1 < run.size(); ++m) slots[run[m]].label = step(kChainMid, run[m]);
            slots[run.back()].label = step(kChainTail, run.back());
        }
        i = k;
    }
}

}  // namespace

void install_superinstructions(const Program& program, Slot* slots, const void* const* labels,
                               const void* const* chain_labels) {
    const size_t n = program.insns.size();
    // A superinstruction's later instructions are skipped, so nothing may jump or call into them,
    // and none of its instructions may be a trap slot (which has to trap, not be skipped).
    std::vector<bool> entered(n, false);
    for (const Insn& insn : program.insns)
        if (has_target(insn)) entered[insn.target] = true;
    std::vector<bool> covered(n, false);  // a superinstruction's later slots
    for (size_t i = 0; i + 1 < n; ++i) {
        auto runs_whole = [&](size_t covers) {
            if (i + covers > n) return false;
            for (size_t k = 0; k < covers; ++k)
                if ((k > 0 && entered[i + k]) || slots[i + k].op >= kTrapSlotOp) return false;
            return true;
        };
        if (!runs_whole(2)) continue;
        Slot candidate = slots[i];
        // Installs `op` covering `covers` slots from i (the rest only run inside it now).
        auto install = [&](uint8_t op, size_t covers) {
            candidate.op = op;
            candidate.label = labels != nullptr ? labels[op] : nullptr;
            slots[i] = candidate;
            for (size_t k = 1; k < covers; ++k) covered[i + k] = true;
            i += covers - 1;
        };
        uint32_t covers = 0;
        if (const uint8_t op = match_idiom(program, static_cast<uint32_t>(i), candidate, &covers)) {
            if (runs_whole(covers)) {
                install(op, covers);
                continue;
            }
            candidate = slots[i];
        }
        const Insn* q = &program.insns[i];
        if (runs_whole(4)) {
            if (const uint8_t op = match_sum_latch(q[0], q[1], q[2], q[3], slots, candidate)) {
                install(op, 4);
                continue;
            }
            candidate = slots[i];
        }
        if (runs_whole(3)) {
            // A copy before a bounds check's copy and add stays apart: the check's triple fuses
            // the compare as well.
            Slot scratch = slots[i + 1];
            const bool bounds_check_next =
                runs_whole(4) && match_bounds_check(q[1], q[2], q[3], slots, scratch) != 0;
            uint8_t op = bounds_check_next ? 0 : match_copy_prefix(q[0], q[1], q[2], slots, candidate);
            if (op == 0) {
                candidate = slots[i];
                op = match_bounds_check(q[0], q[1], q[2], slots, candidate);
            }
            if (op == 0) op = match_latch_copy(q[0], q[1], q[2], slots, candidate);
            if (op == 0 && (op = match_load_shift(q[0], q[1], q[2], &candidate.pad)) != 0) candidate.imm = q[1].imm;
            if (op != 0) {
                install(op, 3);
                continue;
            }
            candidate = slots[i];
        }
        uint8_t op = match_load_pair(q[0], q[1], slots, candidate);
        if (op == 0) op = match_pair(q[0], q[1], slots, candidate);
        if (op != 0) install(op, 2);
    }
    if (chain_labels != nullptr) install_chains(program, slots, entered, covered, chain_labels);
}

}  // namespace bpfvm::interp
