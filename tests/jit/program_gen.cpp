// Random valid eBPF programs: see program_gen.hpp for the guarantees.
//
// Layout: the main function, then the subprograms. Each function initialises its stack slots
// [r10-128, r10), runs a random body, folds r1-r8 and the stack slots into r0, and exits.
// Register roles: r0-r8 hold data; r9 is the buffer pointer (never written after the prologue,
// and never mixed into data: buffer addresses differ between runs); r8 is the loop counter inside
// a loop (a loop body never writes it).
#include "program_gen.hpp"

#include <cinttypes>
#include <cstdio>
#include <limits>

namespace bpfvm::testing {
namespace {

uint64_t helper_mix(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext*) {
    return r1 * 3 + (r2 ^ r3) - r4 + (r5 << 1);
}
uint64_t helper_inc(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return r1 + 1; }
uint64_t helper_fault(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->fault("generated fault");
    return 0;
}

/// Ops of the table grouped by form, so that the generator covers every row.
struct OpLists {
    std::vector<Op> alu_imm, alu_reg, unary, jmp_imm, jmp_reg, ldx, st, stx, atomic, ldabs, ldind, acquire, release;
};

const OpLists& op_lists() {
    static const OpLists lists = [] {
        OpLists l;
        for (size_t i = 0; i < kNumOps; ++i) {
            const auto op = static_cast<Op>(i);
            switch (op_info(op).form) {
                case Form::AluImm: l.alu_imm.push_back(op); break;
                case Form::AluReg: l.alu_reg.push_back(op); break;
                case Form::Neg:
                case Form::Movsx:
                case Form::End: l.unary.push_back(op); break;
                case Form::JmpImm: l.jmp_imm.push_back(op); break;
                case Form::JmpReg: l.jmp_reg.push_back(op); break;
                case Form::Ldx:
                case Form::Ldxs: l.ldx.push_back(op); break;
                case Form::St: l.st.push_back(op); break;
                case Form::Stx: l.stx.push_back(op); break;
                case Form::Atomic: l.atomic.push_back(op); break;
                case Form::LdAbs: l.ldabs.push_back(op); break;
                case Form::LdInd: l.ldind.push_back(op); break;
                case Form::LoadAcquire: l.acquire.push_back(op); break;
                case Form::StoreRelease: l.release.push_back(op); break;
                case Form::AddrSpaceCast:  // traps: emitted by fault items
                case Form::MayGoto:
                case Form::Ja:
                case Form::Gotol:
                case Form::Call:
                case Form::CallLocal:
                case Form::CallKfunc:
                case Form::Callx:
                case Form::Exit:
                case Form::Lddw: break;  // emitted by dedicated items
            }
        }
        return l;
    }();
    return lists;
}

constexpr int kStackSlots = 16;  // initialised qwords [r10 - 128, r10)
constexpr uint32_t kPacketSize = 48;

/// `Rng` is std::mt19937_64 (tests) or ByteEntropy (fuzzers).
template <class Rng>
class Generator {
public:
    Generator(Rng& rng, const GenOptions& options) : rng_(rng), o_(options) {}

    GenProgram run() {
        GenProgram out;
        out.buffer.resize(o_.buffer_size);
        for (auto& b : out.buffer) b = static_cast<uint8_t>(rnd(256));
        out.packet.resize(kPacketSize);
        for (auto& b : out.packet) b = static_cast<uint8_t>(rnd(256));
        num_subs_ = o_.calls ? static_cast<uint32_t>(rnd(o_.max_subprograms + 1)) : 0;
        oob_pending_ = chance(o_.oob_rate);
        fault_pending_ = chance(o_.fault_rate);
        std::vector<size_t> starts(num_subs_ + 1);
        for (uint32_t f = 0; f <= num_subs_; ++f) {
            starts[f] = code_.size();
            current_fn_ = f;
            function(f);
        }
        for (const Fix& fix : fixes_) code_[fix.slot].set_imm(static_cast<int32_t>(starts[fix.sub] - fix.slot - 1));
        out.code = std::move(code_);
        out.may_oob = may_oob_;
        return out;
    }

private:
    struct Fix {  // local call or function reference to patch once subprogram offsets are known
        size_t slot;
        uint32_t sub;
    };

    uint64_t rnd(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
    /// 64 random bits (the draw itself for mt19937_64, so the tests' programs stay the same).
    uint64_t bits64() { return std::uniform_int_distribution<uint64_t>(0, ~uint64_t{0})(rng_); }
    template <class T>
    T pick(const std::vector<T>& v) { return v[rnd(v.size())]; }

    int64_t imm32() {
        static constexpr int64_t kEdges[] = {0,   1,    -1,    2,      -2,     7,      8,     16,
                                             31,  32,   33,    63,     64,     0x7f,   0x80,  0xff,
                                             0x100, 0x7fff, 0x8000, 0xffff, INT32_MAX, INT32_MIN, -0x8000};
        switch (rnd(3)) {
            case 0: return kEdges[rnd(std::size(kEdges))];
            case 1: return static_cast<int64_t>(rnd(64)) - 16;
            default: return static_cast<int32_t>(bits64());
        }
    }
    int64_t imm64() {
        static constexpr uint64_t kEdges[] = {0, 1, ~0ull, 0x8000000000000000ull, 0x7fffffffffffffffull, 0xffffffffull,
                                              0x80000000ull, 0x100000000ull, 0xffffffff80000000ull, 0x7fffffffull,
                                              0xffffffff00000000ull, 0x8000ull, 0xff00ff00ff00ff00ull};
        return static_cast<int64_t>(chance(0.5) ? kEdges[rnd(std::size(kEdges))] : bits64());
    }
    uint8_t data_reg() { return static_cast<uint8_t>(rnd(in_loop_ ? 8 : 9)); }

    size_t emit(Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int64_t imm = 0) {
        Insn insn;
        insn.op = op;
        insn.dst = dst;
        insn.src = src;
        insn.off = off;
        insn.imm = imm;
        const size_t at = code_.size();
        encode_insn(insn, code_);
        return at;
    }
    void set_reg(uint8_t r, int64_t v) {
        if (v == static_cast<int32_t>(v))
            emit(chance(0.5) ? Op::Mov64Imm : Op::Mov32Imm, r, 0, 0, v);
        else
            emit(Op::Lddw, r, 0, 0, v);
    }

    void function(uint32_t index) {
        cur_func_ = index;
        if (index == 0) {
            emit(Op::Mov64Reg, 9, 1);
            for (uint8_t r = 0; r <= 8; ++r) set_reg(r, chance(0.5) ? imm64() : imm32());
        }
        for (int k = 1; k <= kStackSlots; ++k) emit(Op::St64, kFrameReg, 0, static_cast<int16_t>(-8 * k), imm32());
        block(o_.body_items, 0);
        // Fold the data registers and the stack slots into r0.
        for (uint8_t r = 1; r <= 8; ++r) {
            emit(Op::Mul64Imm, 0, 0, 0, 31);
            emit(Op::Add64Reg, 0, r);
        }
        for (int k = 1; k <= kStackSlots; ++k) {
            emit(Op::Ldx64, 1, kFrameReg, static_cast<int16_t>(-8 * k));
            emit(Op::Mul64Imm, 0, 0, 0, 33);
            emit(Op::Xor64Reg, 0, 1);
        }
        emit(Op::Exit);
    }

    void block(uint32_t items, int depth) {
        for (uint32_t i = 0; i < items; ++i) item(depth);
    }

    /// A memory operand: base register and offset of an in-bounds access of `size` bytes.
    struct Place {
        uint8_t base;
        int16_t off;
    };
    Place place(uint32_t size, bool aligned) {
        const uint32_t align = aligned ? size : 1;
        if (chance(0.35)) {  // stack slot area [-128, 0)
            const uint32_t slots = (8 * kStackSlots - size) / align + 1;
            return {kFrameReg, static_cast<int16_t>(-static_cast<int32_t>(8 * kStackSlots) + rnd(slots) * align)};
        }
        const uint32_t slots = (o_.buffer_size - size) / align + 1;
        return {9, static_cast<int16_t>(rnd(slots) * align)};
    }
    uint32_t access_size(Op op) { return op_info(op).width / 8; }

    void item(int depth) {
        if (oob_pending_ && chance(0.05)) return oob_access();
        if (fault_pending_ && chance(0.05)) return fault_call();
        const uint64_t roll = rnd(100);
        const OpLists& ops = op_lists();
        if (roll < 22) {
            emit(pick(ops.alu_imm), data_reg(), 0, 0, imm32());
        } else if (roll < 42) {
            emit(pick(ops.alu_reg), data_reg(), data_reg());
        } else if (roll < 48) {
            const Op op = pick(ops.unary);
            emit(op, data_reg(), op_info(op).form == Form::Movsx ? data_reg() : 0);
        } else if (roll < 50) {
            set_reg(data_reg(), imm64());
        } else if (roll < 52) {
            special_division();
        } else if (roll < 62 && depth < 3) {
            branch(depth);
        } else if (roll < 65 && depth < 2 && o_.loops && !in_loop_) {
            chance(0.3) ? may_goto_loop(depth) : loop(depth);
        } else if (roll < 73) {
            const Op op = chance(0.15) ? pick(ops.acquire) : pick(ops.ldx);
            const Place p = place(access_size(op), chance(0.7));
            emit(op, data_reg(), p.base, p.off);
        } else if (roll < 80) {
            const bool reg = chance(0.6);
            const Op op = reg ? (chance(0.15) ? pick(ops.release) : pick(ops.stx)) : pick(ops.st);
            const Place p = place(access_size(op), chance(0.7));
            emit(op, p.base, reg ? data_reg() : 0, p.off, reg ? 0 : imm32());
        } else if (roll < 83) {
            pointer_access();
        } else if (roll < 88 && o_.atomics) {
            const Op op = pick(ops.atomic);
            const Place p = place(access_size(op), true);
            if (op_info(op).match_value == 0xf1 && chance(0.5)) {
                // Make the compare succeed: r0 = the current value (32-bit: with the upper half
                // set half of the time, which the result must clear).
                const bool w64 = op_info(op).width == 64;
                emit(w64 ? Op::Ldx64 : Op::Ldx32, 0, p.base, p.off);
                if (!w64) emit(Op::Movsx64_32, 0, 0);
            }
            emit(op, p.base, data_reg(), p.off);
        } else if (roll < 91 && o_.calls && cur_func_ < num_subs_) {
            fixes_.push_back({emit(Op::CallLocal), cur_func_ + 1 + static_cast<uint32_t>(rnd(num_subs_ - cur_func_))});
        } else if (roll < 93 && o_.calls) {
            helper_call();
        } else if (roll < 94 && o_.calls && num_subs_ > 0) {
            fixes_.push_back({emit(Op::Lddw, data_reg(), static_cast<uint8_t>(LddwKind::Func)),
                              1 + static_cast<uint32_t>(rnd(num_subs_))});
        } else if (roll < 96 && o_.packet) {
            packet_load();
        } else if (roll < 99 && depth < 3) {
            idiom(depth);
        } else {
            emit(pick(ops.alu_imm), data_reg(), 0, 0, imm32());
        }
    }

    // Shapes clang emits that the engines treat specially: zero-extensions of a register, an ALU
    // result tested against zero, a copy then an ALU immediate on the copy, a byte load then a
    // shift, a rotate (JIT peepholes, interpreter superinstructions and register chains).
    void idiom(int depth) {
        const uint8_t r = data_reg();
        switch (rnd(10)) {
            case 9: {
                // A rotate written as two shifts and an or (`t = x; t >>= W - k; x <<= k; x |= t`,
                // or the shifts the other way round): the x86-64 JIT emits one rol. Sometimes the
                // amounts do not add up to the width, which is no rotate.
                const bool wide = chance(0.5);
                const int64_t w = wide ? 64 : 32;
                uint8_t t = data_reg();
                if (t == r) t = static_cast<uint8_t>((r + 1) % (in_loop_ ? 8 : 9));
                const int64_t k = 1 + static_cast<int64_t>(rnd(static_cast<uint64_t>(w - 1)));
                const bool left = chance(0.5);
                const Op lsh = wide ? Op::Lsh64Imm : Op::Lsh32Imm, rsh = wide ? Op::Rsh64Imm : Op::Rsh32Imm;
                emit(wide ? Op::Mov64Reg : Op::Mov32Reg, t, r);
                emit(left ? rsh : lsh, t, 0, 0, w - k);
                emit(left ? lsh : rsh, r, 0, 0, chance(0.9) ? k : (k + 1) % w);
                emit(wide ? Op::Or64Reg : Op::Or32Reg, r, t);
                break;
            }
            case 8: {
                // An accumulator copied back (`a += b; [c += k]; b = a`): the JIT computes it in b.
                static constexpr Op kOps[] = {Op::Add64Reg, Op::Or64Reg, Op::And64Reg, Op::Xor64Reg};
                uint8_t b = data_reg();
                if (b == r) b = static_cast<uint8_t>((r + 1) % (in_loop_ ? 8 : 9));
                emit(kOps[rnd(std::size(kOps))], r, b);
                if (chance(0.5)) emit(pick(op_lists().alu_imm), data_reg(), 0, 0, imm32());
                emit(Op::Mov64Reg, b, r);
                break;
            }
            case 7:
                byte_fill();
                break;
            case 5:
                byte_pair();
                break;
            case 6:
                // An early exit that a jump usually skips (the JIT moves the ret out of line),
                // sometimes right after an ALU op whose flags the jump reuses.
                if (chance(0.5)) emit(pick(op_lists().alu_imm), r, 0, 0, imm32());
                emit(chance(0.5) ? Op::Jne64Imm : Op::Jne32Imm, r, 0, 1, chance(0.5) ? 0 : imm32());
                emit(Op::Exit);
                break;
            case 3:
                // Sometimes after another copy (the interpreter's copy-prefixed pairs), sometimes
                // with more ALU on the copy (a register chain headed by a superinstruction).
                if (chance(0.3)) emit(Op::Mov64Reg, data_reg(), data_reg());
                emit(chance(0.5) ? Op::Mov64Reg : Op::Mov32Reg, r, data_reg());
                emit(pick(op_lists().alu_imm), r, 0, 0, imm32());
                if (chance(0.3)) emit(pick(op_lists().alu_imm), r, 0, 0, imm32());
                break;
            case 4: {
                const Place p = place(1, chance(0.7));
                emit(Op::Ldx8, r, p.base, p.off);
                emit(chance(0.5) ? Op::Lsh64Imm : Op::Lsh32Imm, r, 0, 0, static_cast<int64_t>(rnd(40)));
                break;
            }
            case 0:
                emit(Op::Mov32Reg, r, r);
                break;
            case 1:
                emit(Op::Lsh64Imm, r, 0, 0, 32);
                emit(Op::Rsh64Imm, r, 0, 0, 32);
                break;
            default: {
                emit(pick(op_lists().alu_imm), r, 0, 0, imm32());
                static constexpr Op kTest[] = {Op::Jeq64Imm, Op::Jne64Imm, Op::Jeq32Imm, Op::Jne32Imm};
                const size_t jump = emit(kTest[rnd(std::size(kTest))], r, 0, 0, 0);
                block(1 + static_cast<uint32_t>(rnd(3)), depth + 1);
                code_[jump].set_off(static_cast<int16_t>(code_.size() - jump - 1));
                break;
            }
        }
    }

    // INT_MIN / -1 and division by zero, which random operands rarely produce.
    void special_division() {
        static constexpr Op kOps[] = {Op::Sdiv64Reg, Op::Smod64Reg, Op::Sdiv32Reg, Op::Smod32Reg, Op::Div64Reg,
                                      Op::Mod64Reg,  Op::Div32Reg,  Op::Mod32Reg,  Op::Sdiv64Imm, Op::Smod64Imm,
                                      Op::Sdiv32Imm, Op::Smod32Imm};
        const Op op = kOps[rnd(std::size(kOps))];
        const bool w64 = op_info(op).width == 64;
        const uint8_t dst = data_reg();
        uint8_t src = data_reg();
        if (src == dst) src = static_cast<uint8_t>((dst + 1) % (in_loop_ ? 8 : 9));
        set_reg(dst, w64 ? std::numeric_limits<int64_t>::min() : (chance(0.5) ? INT32_MIN : 0x1234567880000000ll));
        const int64_t divisor = chance(0.7) ? -1 : 0;
        if (op_info(op).form == Form::AluImm) {
            emit(op, dst, 0, 0, divisor);
        } else {
            set_reg(src, chance(0.5) ? divisor : static_cast<int64_t>(static_cast<uint32_t>(divisor)) | (int64_t{1} << 40));
            emit(op, dst, src);
        }
    }

    void branch(int depth) {
        const bool reg = chance(0.5);
        const Op op = reg ? pick(op_lists().jmp_reg) : pick(op_lists().jmp_imm);
        const size_t jump = emit(op, data_reg(), reg ? data_reg() : 0, 0, reg ? 0 : imm32());
        block(1 + static_cast<uint32_t>(rnd(4)), depth + 1);
        if (chance(0.3)) {  // if-then-else: the then-part jumps over the else-part
            const size_t over = emit(chance(0.5) ? Op::Ja : Op::Gotol);
            code_[jump].set_off(static_cast<int16_t>(code_.size() - jump - 1));
            block(1 + static_cast<uint32_t>(rnd(3)), depth + 1);
            const auto rel = static_cast<int32_t>(code_.size() - over - 1);
            if (code_[over].opcode == op_info(Op::Ja).opcode)
                code_[over].set_off(static_cast<int16_t>(rel));
            else
                code_[over].set_imm(rel);
        } else {
            code_[jump].set_off(static_cast<int16_t>(code_.size() - jump - 1));
        }
    }

    // A counted loop guarded by may_goto, as clang emits for `can_loop` / `cond_break`: the budget
    // (8M per frame) outlasts the counter, so the exit is the counter's; a forward may_goto over a
    // block is also emitted, never taken.
    void may_goto_loop(int depth) {
        if (chance(0.3)) {
            const size_t skip = emit(Op::MayGoto);
            block(1 + static_cast<uint32_t>(rnd(3)), depth + 1);
            code_[skip].set_off(static_cast<int16_t>(code_.size() - skip - 1));
            return;
        }
        emit(Op::Mov64Imm, 8, 0, 0, 1 + static_cast<int64_t>(rnd(6)));
        const size_t top = code_.size();
        const size_t guard = emit(Op::MayGoto);
        in_loop_ = true;
        block(2 + static_cast<uint32_t>(rnd(4)), depth + 1);
        in_loop_ = false;
        emit(Op::Sub64Imm, 8, 0, 0, 1);
        const size_t back = emit(Op::Jne64Imm, 8, 0, 0, 0);
        code_[back].set_off(static_cast<int16_t>(static_cast<int64_t>(top) - static_cast<int64_t>(back) - 1));
        code_[guard].set_off(static_cast<int16_t>(code_.size() - guard - 1));
    }

    void loop(int depth) {
        const int64_t trips = 1 + static_cast<int64_t>(rnd(6));
        const bool count_up = chance(0.3);  // r8 = 0 .. trips: an add then its compare and branch
        emit(Op::Mov64Imm, 8, 0, 0, count_up ? 0 : trips);
        const size_t top = code_.size();
        in_loop_ = true;
        block(2 + static_cast<uint32_t>(rnd(5)), depth + 1);
        in_loop_ = false;
        if (count_up) {
            emit(Op::Add64Imm, 8, 0, 0, 1);
            const size_t back = emit(chance(0.5) ? Op::Jlt64Imm : Op::Jne64Imm, 8, 0, 0, trips);
            code_[back].set_off(static_cast<int16_t>(static_cast<int64_t>(top) - static_cast<int64_t>(back) - 1));
            return;
        }
        emit(Op::Sub64Imm, 8, 0, 0, 1);
        static constexpr Op kBack[] = {Op::Jne64Imm, Op::Jsgt64Imm, Op::Jgt64Imm, Op::Jne32Imm, Op::Jsgt32Imm};
        if (chance(0.3)) {
            // clang's form: the exit test jumps over an unconditional back edge.
            emit(chance(0.5) ? Op::Jeq64Imm : Op::Jeq32Imm, 8, 0, 1, 0);
            const size_t back = emit(Op::Ja);
            code_[back].set_off(static_cast<int16_t>(static_cast<int64_t>(top) - static_cast<int64_t>(back) - 1));
            return;
        }
        const size_t back = emit(kBack[rnd(std::size(kBack))], 8, 0, 0, 0);
        code_[back].set_off(static_cast<int16_t>(static_cast<int64_t>(top) - static_cast<int64_t>(back) - 1));
    }

    // An access through a copy of the buffer pointer in a data register (other host base
    // registers), which is then overwritten: pointers never reach r0.
    void pointer_access() {
        const uint8_t ptr = data_reg();
        const auto shift = static_cast<int32_t>(rnd(o_.buffer_size / 2));
        // The offset comes as an immediate or in a register (the JIT folds both sums into the
        // access when the pointer dies there).
        uint8_t index = data_reg();
        if (index == ptr) index = static_cast<uint8_t>((ptr + 1) % (in_loop_ ? 8 : 9));
        const bool by_reg = chance(0.3);
        if (by_reg) set_reg(index, shift);
        emit(Op::Mov64Reg, ptr, 9);
        by_reg ? emit(Op::Add64Reg, ptr, index) : emit(Op::Add64Imm, ptr, 0, 0, shift);
        const OpLists& ops = op_lists();
        const uint64_t kind = rnd(3);
        const Op op = kind == 0 ? (chance(0.2) ? pick(ops.acquire) : pick(ops.ldx))
                      : kind == 1 ? (chance(0.2) ? pick(ops.release) : pick(ops.stx))
                                  : pick(ops.atomic);
        const uint32_t size = access_size(op);
        const uint32_t align = kind == 2 ? size : 1;
        const auto off = static_cast<int16_t>(rnd((o_.buffer_size - size) / align + 1) * align - shift);
        uint8_t other = data_reg();
        if (other == ptr) other = static_cast<uint8_t>((ptr + 1) % (in_loop_ ? 8 : 9));
        if (kind == 0)
            emit(op, other, ptr, off);
        else
            emit(op, ptr, other, off);
        // Usually the pointer dies here; otherwise it lives on as its offset into the buffer (a
        // value that does not depend on where the buffer is), so the access cannot absorb the sum.
        // (An atomic may have replaced it: cmpxchg writes r0.)
        if (kind == 2 || chance(0.7))
            set_reg(ptr, imm32());
        else
            emit(Op::Sub64Reg, ptr, 9);
    }

    // clang's byte fill loop (`for (i = s; i != n; i++) p[i + off] = v`, which the x86-64 JIT
    // runs as rep stosb), over part of the buffer; the pointer register is then made an offset.
    void byte_fill() {
        const uint8_t ptr = data_reg();
        auto other = [&](uint8_t a, uint8_t b) {
            uint8_t r = data_reg();
            while (r == a || r == b) r = static_cast<uint8_t>((r + 1) % (in_loop_ ? 8 : 9));
            return r;
        };
        const uint8_t index = other(ptr, ptr), value = other(ptr, index);
        const auto off = static_cast<int16_t>(rnd(8));
        const auto end = static_cast<int32_t>(1 + rnd(o_.buffer_size - off));
        set_reg(index, static_cast<int64_t>(rnd(static_cast<uint64_t>(end))));
        const size_t head = emit(Op::Mov64Reg, ptr, 9);
        emit(Op::Add64Reg, ptr, index);
        const bool imm = chance(0.3);
        emit(imm ? Op::St8 : Op::Stx8, ptr, imm ? 0 : value, off, imm ? imm32() : 0);
        emit(Op::Add64Imm, index, 0, 0, 1);
        const size_t back = emit(Op::Jne64Imm, index, 0, 0, end);
        code_[back].set_off(static_cast<int16_t>(static_cast<int64_t>(head) - static_cast<int64_t>(back) - 1));
        emit(Op::Sub64Reg, ptr, 9);
    }

    // clang's big-endian 16-bit load: two byte loads, a shift by 8 and an or, in the orders
    // clang emits and in near misses (offsets not adjacent or swapped, another shift, the low
    // byte's register still read afterwards) that the JIT must leave alone.
    void byte_pair() {
        Place p = place(2, false);
        const uint8_t hi = data_reg();
        uint8_t lo = data_reg();
        if (lo == hi) lo = static_cast<uint8_t>((hi + 1) % (in_loop_ ? 8 : 9));
        // Sometimes through a pointer copied and advanced first, as clang's loops do (the JIT
        // folds the sum into the load): the pointer is one of the two registers, loaded last, so
        // no address is left in a register.
        if (p.base == 9 && chance(0.4)) {
            const uint8_t ptr = chance(0.5) ? hi : lo;
            const auto shift = static_cast<int16_t>(rnd(static_cast<uint64_t>(p.off) + 1));
            emit(Op::Mov64Reg, ptr, 9);
            emit(Op::Add64Imm, ptr, 0, 0, shift);
            p = {ptr, static_cast<int16_t>(p.off - shift)};
        }
        const uint64_t order = rnd(10);  // 0-7: adjacent (hi first), 8: swapped, 9: the same byte twice
        const auto hi_off = static_cast<int16_t>(p.off + (order == 8 ? 1 : 0));
        const auto lo_off = static_cast<int16_t>(p.off + (order < 8 ? 1 : 0));
        // The pointer register is loaded last, whichever byte it receives.
        const bool lo_first = p.base == hi ? true : p.base == lo ? false : chance(0.5);
        if (lo_first) {
            emit(Op::Ldx8, lo, p.base, lo_off);
            emit(Op::Ldx8, hi, p.base, hi_off);
        } else {
            emit(Op::Ldx8, hi, p.base, hi_off);
            emit(Op::Ldx8, lo, p.base, lo_off);
        }
        emit(chance(0.5) ? Op::Lsh64Imm : Op::Lsh32Imm, hi, 0, 0, chance(0.9) ? 8 : 7);
        emit(chance(0.5) ? Op::Or64Reg : Op::Or32Reg, hi, lo);
        if (chance(0.6)) set_reg(lo, imm32());  // the low byte's register dies (else r0 folds it in)
    }

    void helper_call() {
        if (chance(0.3)) {
            const uint8_t r = data_reg();
            set_reg(r, chance(0.5) ? kHelperMix : kHelperInc);
            emit(Op::Callx, r);
        } else {
            emit(Op::CallHelper, 0, 0, 0, chance(0.5) ? kHelperMix : kHelperInc);
        }
        // r1-r5 are undefined after a helper call (the JIT's host registers are clobbered).
        for (uint8_t r = 1; r <= 5; ++r) set_reg(r, imm32());
    }

    // A call that faults, an unknown callx id, or an instruction every engine traps on: a write to
    // r10 (TrapKind::FrameWrite) or addr_space_cast (TrapKind::Unsupported).
    void fault_call() {
        fault_pending_ = false;
        const uint64_t kind = rnd(8);
        if (kind == 0) {
            static constexpr Op kWriters[] = {Op::Mov64Reg, Op::Add64Imm, Op::Ldx64, Op::Movsx64_8, Op::Le64};
            const Op op = kWriters[rnd(std::size(kWriters))];
            if (op == Op::Ldx64)
                emit(op, kFrameReg, kFrameReg, -8);
            else if (op == Op::Add64Imm)
                emit(op, kFrameReg, 0, 0, 8);
            else if (op == Op::Le64)
                emit(op, kFrameReg);
            else
                emit(op, kFrameReg, data_reg());
            return;
        }
        if (kind == 1) {
            emit(Op::AddrSpaceCast, data_reg(), data_reg(), 0, 1);
            return;
        }
        if (kind < 5) {
            emit(Op::CallHelper, 0, 0, 0, kHelperFault);
        } else {
            const uint8_t r = data_reg();
            set_reg(r, chance(0.5) ? 77 : -1);
            emit(Op::Callx, r);
        }
        for (uint8_t r = 1; r <= 5; ++r) set_reg(r, imm32());
    }

    void oob_access() {
        oob_pending_ = false;
        may_oob_ = true;
        const OpLists& ops = op_lists();
        const bool load = chance(0.5);
        const Op op = load ? pick(ops.ldx) : chance(0.5) ? pick(ops.stx) : pick(ops.atomic);
        const uint32_t size = access_size(op);
        Place p{};
        switch (rnd(4)) {
            case 0: p = {9, static_cast<int16_t>(o_.buffer_size - size + 1 + rnd(size + 8))}; break;
            case 1: p = {9, static_cast<int16_t>(-1 - static_cast<int64_t>(rnd(16)))}; break;
            case 2: p = {kFrameReg, static_cast<int16_t>(-static_cast<int32_t>(kStackSize) - 1 - static_cast<int32_t>(rnd(8)))}; break;
            default:
                // Straddling the top of the frame is out of bounds only in the entry function: a
                // subprogram's r10 + 0 is its caller's frame, which checked mode allows (as the
                // kernel does), so there the access goes above every possible frame instead.
                p = current_fn_ == 0 ? Place{kFrameReg, static_cast<int16_t>(-static_cast<int32_t>(rnd(size)))}
                                     : Place{kFrameReg, static_cast<int16_t>(kStackSize * kMaxCallDepth + rnd(8))};
                break;
        }
        if (load)
            emit(op, data_reg(), p.base, p.off);
        else
            emit(op, p.base, data_reg(), p.off);
    }

    void packet_load() {
        const bool in_range = chance(0.98);
        const auto bytes = static_cast<uint32_t>(1u << rnd(3));
        const int64_t off = in_range ? static_cast<int64_t>(rnd(kPacketSize - bytes + 1))
                                     : (chance(0.5) ? -static_cast<int64_t>(1 + rnd(4)) : kPacketSize - bytes + 1 + rnd(8));
        const uint32_t idx = bytes == 1 ? 0 : bytes == 2 ? 1 : 2;
        static constexpr Op kAbs[] = {Op::LdAbsB, Op::LdAbsH, Op::LdAbsW};
        static constexpr Op kInd[] = {Op::LdIndB, Op::LdIndH, Op::LdIndW};
        if (chance(0.5)) {
            emit(kAbs[idx], 0, 0, 0, off);
        } else {
            const uint8_t r = data_reg();
            const auto part = static_cast<int64_t>(rnd(8));
            set_reg(r, off - part);
            emit(kInd[idx], 0, r, 0, part);
        }
    }

    Rng& rng_;
    const GenOptions& o_;
    std::vector<RawInsn> code_;
    std::vector<Fix> fixes_;
    uint32_t num_subs_ = 0;
    uint32_t cur_func_ = 0;
    bool in_loop_ = false;
    bool oob_pending_ = false;
    uint32_t current_fn_ = 0;  // 0: the entry function; k: subprogram k
    bool fault_pending_ = false;
    bool may_oob_ = false;
};

}  // namespace

const HelperTable& test_helpers() {
    static const HelperTable table = [] {
        HelperTable t;
        t.set(kHelperMix, &helper_mix);
        t.set(kHelperInc, &helper_inc);
        t.set(kHelperFault, &helper_fault);
        return t;
    }();
    return table;
}

GenOutcome run_generated(const Executable& exe, const GenProgram& gp) {
    GenOutcome out;
    out.buffer = gp.buffer;
    RunContext ctx;
    const auto begin = reinterpret_cast<uint64_t>(out.buffer.data());
    ctx.regions.push_back({begin, begin + out.buffer.size(), true});
    ctx.pkt = gp.packet.data();
    ctx.pkt_len = static_cast<uint32_t>(gp.packet.size());
    const RunResult r = exe.run(ctx, begin, out.buffer.size());
    out.r0 = r.r0;
    out.trap = r.trap;
    return out;
}

bool same_outcome(const GenOutcome& a, const GenOutcome& b) {
    if (a.trap.kind != b.trap.kind || a.trap.pc != b.trap.pc) return false;
    if (a.trap.kind == TrapKind::OutOfBounds && (a.trap.size != b.trap.size || a.trap.write != b.trap.write)) return false;
    if (a.trap.kind == TrapKind::None && a.r0 != b.r0) return false;
    return a.buffer == b.buffer;
}

std::string describe_outcome(const GenOutcome& o) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "r0=0x%" PRIx64 " trap(kind=%d pc=%u size=%u write=%d)", o.r0,
                  static_cast<int>(o.trap.kind), o.trap.pc, o.trap.size, o.trap.write ? 1 : 0);
    std::string s = buf;
    s += " buffer=";
    for (uint8_t b : o.buffer) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        s += buf;
    }
    return s;
}

GenProgram generate_program(std::mt19937_64& rng, const GenOptions& options) {
    return Generator<std::mt19937_64>(rng, options).run();
}

GenProgram generate_program(ByteEntropy& bits, const GenOptions& options) {
    return Generator<ByteEntropy>(bits, options).run();
}

ByteEntropy::result_type ByteEntropy::operator()() {
    if (pos_ < size_) return data_[pos_++];
    // splitmix64: never constant, so rejection sampling in the distributions always ends.
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<result_type>(z ^ (z >> 31));
}

}  // namespace bpfvm::testing
