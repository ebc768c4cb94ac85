// x86-64 backend: peepholes over short instruction sequences. A sequence is fused only when none
// of its later instructions is a jump target, so no path can enter it in the middle, or a write to
// r10, which has to trap where it stands (fusible()).
//
// - Copy then add (`r7 = r1; r7 += r3`), then a load through the sum (`r7 = *(u8 *)(r7 + 0)`): one
//   lea, or one load with a base+index address.
// - A conditional jump over an unconditional one (`if r2 == 1500 goto +1; goto -18`, clang's loop
//   back edge): one jump with the inverted condition. Over an exit: an inverted jump to a `ret`
//   placed after the body.
// - An ALU result tested against zero (`w1 &= 1; if w1 == 0 goto`): the ALU instruction's flags
//   already say it, so no `test`.
// - Zero-extensions (`w1 = w1`, `r1 <<= 32; r1 >>= 32`, le32) of a register whose upper half is
//   already zero (upper_zero_: tracked along straight-line code) emit nothing; the shift pair
//   otherwise becomes one 32-bit move.
// - A rotate written as two shifts and an or (`t = x; t >>= 57; x <<= 7; x |= t`): one rol of x
//   after t's own copy and shift.
// - An accumulator copied back (`a += b; [one more]; b = a`): computed in b (emit_fused_accumulate).
// - clang's big-endian byte pair: one 16-bit load and a rotate, folded into the access when the
//   pointer dies there (emit_fused_address, emit_fused_be16); in checked mode only when both byte
//   loads are in one access group (check_groups.hpp).
// In checked mode a peephole may take a load or store only as its first instruction: an access
// group's code must start where its lead's check is emitted (x86_64/memory.cpp, member_access).
#include <algorithm>
#include <array>
#include <optional>

#include "bpfvm/idioms.hpp"
#include "emitter.hpp"
#include "liveness.hpp"

namespace bpfvm::jit::x86 {
namespace {

bool is_cond_jump(Form form) { return form == Form::JmpImm || form == Form::JmpReg; }

// ALU forms whose x86 instruction sets ZF from its result (imul, lea, mov and shifts by 0 do not).
bool sets_zero_flag(const Insn& insn) {
    switch (insn.op) {
        case Op::Add32Imm: case Op::Add64Imm: case Op::Add32Reg: case Op::Add64Reg:
        case Op::Sub32Imm: case Op::Sub64Imm: case Op::Sub32Reg: case Op::Sub64Reg:
        case Op::And32Imm: case Op::And64Imm: case Op::And32Reg: case Op::And64Reg:
        case Op::Or32Imm: case Op::Or64Imm: case Op::Or32Reg: case Op::Or64Reg:
        case Op::Xor32Imm: case Op::Xor64Imm: case Op::Xor32Reg: case Op::Xor64Reg:
            return true;
        case Op::Lsh32Imm: case Op::Rsh32Imm: case Op::Arsh32Imm:
            return (insn.imm & 31) != 0;
        case Op::Lsh64Imm: case Op::Rsh64Imm: case Op::Arsh64Imm:
            return (insn.imm & 63) != 0;
        default:
            return false;
    }
}

// What an instruction does to upper_zero_, per Op, computed once from the opcode table (this runs
// for every instruction compiled). Masks rather than kinds, so that track_upper_zero combines them
// without a branch: the kind of instruction follows no pattern on branch-dense code.
struct UpperEffect {
    uint32_t dst_mask = 0;  // ~0: it defines the register named by its dst field
    uint32_t src_mask = 0;  // ~0: ... by its src field (atomic fetch forms)
    uint32_t fixed = 0;     // registers it defines whatever its fields: r0 (1), every one (calls)
    // The defined registers' upper halves afterwards: ~0 always zero (32-bit results,
    // zero-extending loads), 0 never known, or zero for some immediates (by_imm: zero_by_imm).
    uint32_t zero = 0;
    bool by_imm = false;
};

UpperEffect effect_of(Op op) {
    const OpInfo& info = op_info(op);
    UpperEffect e;
    if (info.form == Form::Call || info.form == Form::CallLocal || info.form == Form::Callx ||
        info.form == Form::CallKfunc) {
        e.fixed = ~0u;  // r0-r5 hold whatever the callee left
        return e;
    }
    const WrittenField written = written_fields()[static_cast<size_t>(op)];
    e.dst_mask = written == kWritesDst ? ~0u : 0u;
    e.src_mask = written == kWritesSrc ? ~0u : 0u;
    e.fixed = written == kWritesR0 ? 1u : 0u;
    switch (info.form) {
        case Form::AluImm:
        case Form::AluReg:
            if (info.width == 32) e.zero = ~0u;
            else e.by_imm = op == Op::Mov64Imm || op == Op::And64Imm || op == Op::Rsh64Imm;
            break;
        case Form::Neg:
        case Form::Movsx:
            if (info.width == 32) e.zero = ~0u;
            break;
        case Form::End:
        case Form::Ldx:
        case Form::LoadAcquire:
            if (info.width <= 32) e.zero = ~0u;
            break;
        case Form::Lddw:
            e.by_imm = true;
            break;
        default:
            break;
    }
    return e;
}

// The immediate cases of UpperEffect::by_imm.
bool zero_by_imm(const Insn& insn) {
    switch (insn.op) {
        case Op::Mov64Imm:
        case Op::And64Imm: return insn.imm >= 0;
        case Op::Rsh64Imm: return (insn.imm & 63) >= 32;
        case Op::Lddw:
            return insn.src == static_cast<uint8_t>(LddwKind::Imm64) && static_cast<uint64_t>(insn.imm) <= 0xffffffffu;
        default: return false;
    }
}

// The peephole an instruction may start or end, per Op: most instructions take part in none,
// and one table lookup says so before any pattern is tried.
enum FuseRole : uint8_t {
    kFuseCondJump = 1,  // if (c) goto +1; goto L
    kFuseSetsZf = 2,    // an ALU op whose x86 form sets ZF (shifts: when the count is not 0) ...
    kFuseJz = 4,        // ... followed by if rX ==/!= 0
    kFuseZext = 8,      // w = w, le32, r <<= 32 (then r >>= 32)
    kFuseMov = 16,      // r = r (then r += ...), w = w (then w += ...)
    kFuseByteLoad = 32, // r = *(u8 *)(...): the first of a big-endian 16-bit load
    kFuseAccumulate = 64,  // a op= b (commutative, 64-bit), then b = a
    kFuseCopy = 128,       // r = r, 64-bit: the copy back that ends an accumulate shape
};

struct OpTables {
    std::array<UpperEffect, kNumOps> effects{};
    std::array<uint8_t, kNumOps> roles{};
};

OpTables build_op_tables() {
    OpTables t;
    for (size_t i = 0; i < kNumOps; ++i) {
        const auto op = static_cast<Op>(i);
        t.effects[i] = effect_of(op);
        Insn probe;
        probe.op = op;
        probe.imm = 1;
        uint8_t role = 0;
        if (is_cond_jump(op_info(op).form)) role |= kFuseCondJump;
        if (sets_zero_flag(probe)) role |= kFuseSetsZf;
        if (op == Op::Jeq32Imm || op == Op::Jne32Imm || op == Op::Jeq64Imm || op == Op::Jne64Imm) role |= kFuseJz;
        if (op == Op::Mov32Reg || op == Op::Le32 || op == Op::Lsh64Imm) role |= kFuseZext;
        if (op == Op::Mov64Reg || op == Op::Mov32Reg) role |= kFuseMov;
        if (op == Op::Mov64Reg) role |= kFuseCopy;
        if (op == Op::Ldx8) role |= kFuseByteLoad;
        if (op == Op::Add64Reg || op == Op::Or64Reg || op == Op::And64Reg || op == Op::Xor64Reg) role |= kFuseAccumulate;
        t.roles[i] = role;
    }
    return t;
}

// Built at load time, not on first use: a function-local static costs a guard check per use, and
// these are read several times per instruction compiled. Nothing compiles during static
// initialisation.
const OpTables kTables = build_op_tables();

}  // namespace

void Emitter::track_upper_zero(const Insn& insn) {
    const UpperEffect& e = kTables.effects[static_cast<size_t>(insn.op)];
    const uint32_t defined = (e.dst_mask & (1u << (insn.dst & 15))) | (e.src_mask & (1u << (insn.src & 15))) | e.fixed;
    const uint32_t zero = e.by_imm ? (zero_by_imm(insn) ? ~0u : 0u) : e.zero;
    upper_zero_ = (upper_zero_ & ~defined) | (zero & defined);
}

uint32_t Emitter::emit_fused(uint32_t index) {
    // A filter before any shape is tried: what each shape needs of this instruction and the next
    // two, from their roles, combined without a branch per role. Most instructions start no shape,
    // and on branch-dense code which ones might follows no pattern; only a shape that could
    // match costs a branch.
    const size_t n = prog_.insns.size();
    const Insn& insn = prog_.insns[index];
    const uint8_t role = kTables.roles[static_cast<size_t>(insn.op)];
    const uint8_t next = index + 1 < n ? kTables.roles[static_cast<size_t>(prog_.insns[index + 1].op)] : 0;
    const uint8_t after = index + 2 < n ? kTables.roles[static_cast<size_t>(prog_.insns[index + 2].op)] : 0;
    const bool may_match = ((role & (kFuseZext | kFuseMov | kFuseByteLoad)) != 0) |
                           (((role & kFuseCondJump) != 0) & (insn.target == index + 2)) |
                           (((role & kFuseSetsZf) != 0) & ((next & kFuseJz) != 0)) |
                           (((role & kFuseAccumulate) != 0) & (((next | after) & kFuseCopy) != 0));
    if (!may_match) return 0;
    if (role & (kFuseCondJump | kFuseSetsZf))
        if (uint32_t used = emit_fused_control(index)) return used;
    if (role & kFuseAccumulate)
        if (uint32_t used = emit_fused_accumulate(index)) return used;
    if (role & kFuseZext)
        if (uint32_t used = emit_fused_zero_extension(index)) return used;
    if (role & kFuseMov) {
        if (uint32_t used = emit_fused_rotate(index)) return used;
        return emit_fused_address(index);
    }
    if (role & kFuseByteLoad) return emit_fused_be16(index);
    return 0;
}

uint32_t Emitter::emit_fused_control(uint32_t index) {
    const Insn& first = prog_.insns[index];
    const Form form = op_info(first.op).form;
    // if (cond) goto +1; exit  ==>  if (!cond) goto <a ret after the body> (jumps_over_exit).
    if (jumps_over_exit(index)) {
        jump_to_ = index + 1;  // not placed yet: the jump leaves a rel32 fixup like the others
        jump_inverted_ = true;
        const bool ok = emit_insn(index);
        jump_to_ = kNoTarget;
        jump_inverted_ = false;
        if (!ok) return 0;
        move_exit_out(index + 1);
        return 2;
    }
    // The shape is tested before fusible(): whether an instruction is a jump target follows no
    // pattern on branch-dense code, while these shapes are rare and their tests mostly false.
    if (index + 1 >= prog_.insns.size()) return 0;
    const Insn& next = prog_.insns[index + 1];
    // if (cond) goto +1; goto L  ==>  if (!cond) goto L. Checked mode pays the budget on a back
    // edge only when it is taken, so a backward `goto` keeps its own code there.
    if (is_cond_jump(form) && first.target == index + 2 && (next.op == Op::Ja || next.op == Op::Gotol) &&
        fusible(index + 1) && !(checked_ && back_jump(index + 1))) {
        jump_to_ = next.target;
        jump_inverted_ = true;
        const bool ok = emit_insn(index);
        jump_to_ = kNoTarget;
        jump_inverted_ = false;
        return ok ? 2 : 0;
    }
    // rX op= ...; if rX ==/!= 0 goto L  ==>  op; jz/jnz L. A 64-bit test after a 32-bit op is fine
    // (the op zero-extends); a budget tick before the jump would clobber the flags.
    if ((kTables.roles[static_cast<size_t>(next.op)] & kFuseJz) && sets_zero_flag(first) && next.imm == 0 && next.dst == first.dst &&
        fusible(index + 1) && !(checked_ && back_jump(index + 1)) &&
        (op_info(first.op).width == 32 || op_info(next.op).width == 64)) {
        if (!emit_insn(index)) return 0;
        const bool eq = next.op == Op::Jeq32Imm || next.op == Op::Jeq64Imm;
        if (jumps_over_exit(index + 1)) {  // the loop test `w1 -= 1; if w1 != 0 goto +1; exit`
            jcc(eq ? ax::CondCode::kNotZero : ax::CondCode::kZero, index + 2);
            move_exit_out(index + 2);
            return 3;
        }
        jcc(eq ? ax::CondCode::kZero : ax::CondCode::kNotZero, next.target);
        return 2;
    }
    return 0;
}

// clang puts a loop's exit test as `if (cond) goto +1; exit` inside the loop (sieve's outer
// loop); as it stands the loop jumps over the `ret` on every iteration. Inverted, the jump goes
// to a `ret` after the body and the loop runs straight through. The exit keeps an empty slot, so
// every jump to it must reach that ret too: the ones already emitted (forward jumps, left as
// fixups) are redirected by move_exit_out; a backward jump or a call to it would come later, so
// neither may exist (no loop head mark, not a subprogram entry).
bool Emitter::jumps_over_exit(uint32_t index) const {
    const Insn& jump = prog_.insns[index];
    if (!is_cond_jump(op_info(jump.op).form) || jump.target != index + 2) return false;
    const uint32_t exit = index + 1;
    const auto& entries = prog_.subprog_entries;
    return prog_.insns[exit].op == Op::Exit && !(marks_.at[exit] & kMarkLoopHead) &&
           std::find(entries.begin(), entries.end(), exit) == entries.end();
}

void Emitter::move_exit_out(uint32_t exit) {
    for (Fixup& f : fixups_)
        if (f.target == exit) f.target = kExitStubId;
    exit_moved_ = true;
}

// a op= b; [one ALU instruction naming neither]; b = a  ==>  b op= a; [...]; a = b, for a
// commutative op: both end with the same value, but the register carried around a loop (clang's
// checksum accumulator: `r2 += r4; r3 += 2; r4 = r2`) now depends on itself through one op
// instead of an op and a move. Between the two, a still holds its old value and b its new one;
// the middle instruction reads neither.
uint32_t Emitter::emit_fused_accumulate(uint32_t index) {
    const Insn& op = prog_.insns[index];
    if (op.dst == op.src) return 0;
    auto copies_back = [&](uint32_t k) {
        if (k >= prog_.insns.size()) return false;
        const Insn& mov = prog_.insns[k];
        return mov.op == Op::Mov64Reg && mov.dst == op.src && mov.src == op.dst && fusible(k);
    };
    uint32_t mov = index + 1;
    if (!copies_back(mov)) {
        if (index + 2 >= prog_.insns.size()) return 0;
        const Insn& mid = prog_.insns[index + 1];
        const Op o = mid.op;
        const bool simple = o == Op::Mov64Imm || o == Op::Mov32Imm || o == Op::Add64Imm || o == Op::Add32Imm ||
                            o == Op::Sub64Imm || o == Op::Sub32Imm || o == Op::And64Imm || o == Op::And32Imm ||
                            o == Op::Or64Imm || o == Op::Or32Imm || o == Op::Xor64Imm || o == Op::Xor32Imm;
        if (!simple || mid.dst == op.dst || mid.dst == op.src || !copies_back(index + 2) || !fusible(index + 1)) return 0;
        mov = index + 2;
    }
    Insn swapped = op;
    std::swap(swapped.dst, swapped.src);
    emit_alu(swapped);  // the ALU emitters read only the instruction's fields
    if (mov == index + 2 && !emit_insn(index + 1)) return 0;
    // When a conditional jump follows whose taken side never reads a (checksum's loop back edge:
    // a is rewritten at the head), the copy moves past it, onto the fall-through path only.
    const uint32_t jump = mov + 1;
    if (jump < prog_.insns.size() && fusible(jump) && is_cond_jump(op_info(prog_.insns[jump].op).form)) {
        const Insn& j = prog_.insns[jump];
        const bool reads = j.dst == op.dst || (op_info(j.op).form == Form::JmpReg && j.src == op.dst);
        if (!reads && is_dead_at(prog_, j.target, op.dst)) {
            if (!emit_insn(jump)) return 0;
            as_.mov(q(op.dst), q(op.src));
            return jump - index + 1;
        }
    }
    as_.mov(q(op.dst), q(op.src));
    return mov - index + 1;
}

uint32_t Emitter::emit_fused_zero_extension(uint32_t index) {
    const Insn& insn = prog_.insns[index];
    const bool known = (upper_zero_ >> insn.dst) & 1;
    if ((insn.op == Op::Mov32Reg && insn.src == insn.dst) || insn.op == Op::Le32) return known ? 1 : 0;
    if (insn.op == Op::Lsh64Imm && insn.imm == 32 && index + 1 < prog_.insns.size()) {
        const Insn& next = prog_.insns[index + 1];
        if (next.op != Op::Rsh64Imm || next.imm != 32 || next.dst != insn.dst || !fusible(index + 1)) return 0;
        if (!known) as_.mov(d(insn.dst), d(insn.dst));
        return 2;
    }
    return 0;
}

// t = x; t >>= W - k; x <<= k; x |= t  (or the shifts the other way round), in 64 or 32 bits:
// x rotated left by k. Emitted as the copy and t's shift (t keeps its value), then one rol of x:
// x's new value depends on its old one through one instruction instead of a shift and an or.
// (7 in ../shared/corpus, all 32-bit, in cilium's hashes; bench/programs/arith.c's mixing step.)
uint32_t Emitter::emit_fused_rotate(uint32_t index) {
    const auto& p = prog_.insns;
    if (index + 3 >= p.size()) return 0;
    const Insn &copy = p[index], &ts = p[index + 1], &xs = p[index + 2], &orr = p[index + 3];
    const bool wide = copy.op == Op::Mov64Reg;
    const Op lsh = wide ? Op::Lsh64Imm : Op::Lsh32Imm, rsh = wide ? Op::Rsh64Imm : Op::Rsh32Imm;
    const int64_t w = wide ? 64 : 32;
    const uint8_t t = copy.dst, x = copy.src;
    const bool opposite = (ts.op == lsh && xs.op == rsh) || (ts.op == rsh && xs.op == lsh);
    if (t == x || !opposite || ts.dst != t || xs.dst != x || orr.op != (wide ? Op::Or64Reg : Op::Or32Reg) ||
        orr.dst != x || orr.src != t || ts.imm <= 0 || ts.imm >= w || ts.imm + xs.imm != w || !fusible_after(index, 3))
        return 0;
    if (!emit_insn(index) || !emit_insn(index + 1)) return 0;
    const int64_t k = xs.op == lsh ? xs.imm : ts.imm;  // x = (x << k) | (x >> (w - k))
    as_.rol(wide ? q(x) : d(x), k);
    return 4;
}

uint32_t Emitter::emit_fused_address(uint32_t index) {
    if (!checked_ && (marks_.at[index] & kMarkLoopHead))
        if (uint32_t used = emit_fill_loop(index)) return used;
    const Insn& mov = prog_.insns[index];
    if (mov.dst == mov.src || index + 1 >= prog_.insns.size()) return 0;
    const Insn& add = prog_.insns[index + 1];
    if (add.dst != mov.dst || !fusible(index + 1)) return 0;
    // mov A, B; add A, C  ==>  A = B + C', where C' is B when C is A (A holds B after the move).
    // The 32-bit forms (w = w; w += ...) give the same sum truncated: a lea with a 32-bit
    // destination.
    const bool wide = mov.op == Op::Mov64Reg;
    ax::Mem sum;
    if (add.op == (wide ? Op::Add64Reg : Op::Add32Reg)) {
        const uint8_t index_reg = add.src == mov.dst ? mov.src : add.src;
        sum = ax::ptr(q(mov.src), q(index_reg), 0, 0);
    } else if (add.op == (wide ? Op::Add64Imm : Op::Add32Imm) ||
               (add.op == (wide ? Op::Sub64Imm : Op::Sub32Imm) && add.imm != INT32_MIN)) {
        sum = ax::ptr(q(mov.src), static_cast<int32_t>(add.op == Op::Add64Imm || add.op == Op::Add32Imm ? add.imm : -add.imm));
    } else {
        return 0;
    }
    if (!wide) {
        as_.lea(d(mov.dst), sum);
        return 2;
    }
    // ... then an access through A: address it as B + C' + off instead (unchecked mode; checked
    // mode needs the address in a register anyway).
    if (!checked_ && fusible(index + 2))
        if (uint32_t used = emit_folded_access(index + 2, mov.dst, sum)) return 2 + used;
    as_.lea(q(mov.dst), sum);
    return 2;
}

uint32_t Emitter::emit_folded_access(uint32_t index, uint8_t base, const ax::Mem& sum) {
    // The sum with `off` added, as a `bytes`-wide operand, when the displacement fits.
    auto at = [&](int64_t off, unsigned bytes) -> std::optional<ax::Mem> {
        const int64_t disp = int64_t{sum.offsetLo32()} + off;
        if (disp != static_cast<int32_t>(disp)) return std::nullopt;
        ax::Mem m = sum;
        m.setOffsetLo32(static_cast<int32_t>(disp));
        m.setSize(bytes);
        return m;
    };
    // Each form folds only when A's value is not needed afterwards: overwritten by the access
    // itself, or dead (the liveness walk runs only once the shape has matched).
    // A big-endian byte pair through A (bpfvm::match_be16_load, shared with the interpreter).
    if (const auto pair = fusible_after(index, 3) ? match_be16_load(prog_, index) : std::nullopt;
        pair && pair->base == base) {
        const auto m = at(pair->off, 2);
        if (m && (pair->dst == base || is_dead_after(prog_, index + 3, base)) &&
            is_dead_after(prog_, index + 3, pair->tmp)) {
            emit_be16_load(pair->dst, *m);
            return 4;
        }
    }
    const Insn& insn = prog_.insns[index];
    const Form form = op_info(insn.op).form;
    const unsigned bytes = op_info(insn.op).width / 8;
    if ((form == Form::Ldx || form == Form::Ldxs) && insn.src == base) {
        const auto m = at(insn.off, bytes);
        if (!m || (insn.dst != base && !is_dead_after(prog_, index, base))) return 0;
        emit_load_from(insn, bytes, form == Form::Ldxs, *m);
        return 1;
    }
    if ((form == Form::St || form == Form::Stx) && insn.dst == base && (form == Form::St || insn.src != base)) {
        const auto m = at(insn.off, bytes);
        if (!m || !is_dead_after(prog_, index, base)) return 0;
        emit_store_to(insn, bytes, *m);
        return 1;
    }
    return 0;
}

uint32_t Emitter::emit_fused_be16(uint32_t index) {
    // Checked mode: only when both byte loads share one check (check_groups.hpp), whose slow path
    // runs the two byte loads, each checked, so a trap names the one the interpreter's does. The
    // second is then a member after the first, which leads the group or is a member too.
    const auto pair = fusible_after(index, 3) ? match_be16_load(prog_, index) : std::nullopt;
    const bool shared =
        (marks_.at[index] & (kMarkCheckLead | kMarkCheckCovered)) && (marks_.at[index + 1] & kMarkCheckCovered);
    if (!pair || (checked_ && !shared) || !is_dead_after(prog_, index + 3, pair->tmp)) return 0;
    if (checked_) member_access(prog_.insns[index], pair->base, 1, false);  // the group's check only
    emit_be16_load(pair->dst, mem(q(pair->base), pair->off, 2));
    return 4;
}

void Emitter::emit_be16_load(uint8_t dst, const ax::Mem& m) {
    // movzx clears bits 16-63; the rotate swaps the two low bytes and leaves the rest zero.
    as_.movzx(d(dst), m);
    as_.rol(w(dst), 8);
}

}  // namespace bpfvm::jit::x86
