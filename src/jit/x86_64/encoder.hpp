// x86-64 backend: a byte encoder for exactly the instruction forms the backend emits.
//
// asmjit's x86::Assembler validated and encoded every instruction through its generic tables
// (about 18 ns per host instruction, a quarter of the compile time); this encoder writes the
// bytes of the few forms we use directly. It keeps asmjit's method names and operand types
// (ax::Gp, ax::Mem, a::Imm, a::Label are only carriers here), so the emitters read as before, and
// it picks the same encodings asmjit picks (tests/jit/x86_encoder_test.cpp holds it to asmjit
// byte for byte), so generated code did not change with it.
//
// An operand combination outside those forms is a bug in the emitter: the first one is recorded
// (error()) and the compile fails; nothing is emitted for it, never wrong bytes.
// Encodings: Intel SDM vol. 2, chapter 2 (ModRM, SIB, REX, VEX) and the instruction pages.
#pragma once

#include <asmjit/x86.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace bpfvm::jit::x86 {

namespace a = asmjit;
namespace ax = asmjit::x86;

/// Writes x86-64 machine code into a growing buffer. Labels are local to one Encoder.
class Encoder {
public:
    /// An encoder whose buffer starts with room for `capacity` bytes (it grows when needed).
    explicit Encoder(size_t capacity);
    ~Encoder() { std::free(buf_); }
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;

    /// Bytes emitted so far; also the offset of the next instruction.
    size_t offset() const { return static_cast<size_t>(end_ - buf_); }
    /// The code emitted so far (valid until the next emit).
    uint8_t* bufferData() { return buf_; }
    /// The first operand combination that could not be encoded (nullptr: none).
    const char* error() const { return error_; }
    /// Resolves the remaining label uses; false (and error() set) if a used label was never bound.
    bool finish();

    /// A new, unbound label.
    a::Label newLabel();
    /// Places `label` at the current offset and fills in the uses emitted before it.
    void bind(const a::Label& label);
    /// Raw bytes.
    void embed(const void* data, size_t size);
    /// Pads to a multiple of `alignment` (a power of two, at most 64) with long NOPs.
    void align(a::AlignMode mode, uint32_t alignment);
    /// The next instruction gets a LOCK prefix.
    Encoder& lock() {
        lock_ = true;
        return *this;
    }

    /// Moves, extensions and lea, destination first (asmjit's order). Every instruction method
    /// emits nothing and records error() when its operands do not form an encodable instruction.
    void mov(const ax::Gp& dst, const ax::Gp& src) {
        if (wide_pair(dst, src)) return rr(0x89, src.id(), dst.id(), dst.isGpq());
        mov_any(dst, src);
    }
    void mov(const ax::Gp& dst, const ax::Mem& src);
    void mov(const ax::Mem& dst, const ax::Gp& src);
    // Immediates are unpacked here, inline: an a::Imm keeps its value as two 32-bit halves, and
    // reading it back as one 64-bit value in an out-of-line callee stalls on store forwarding.
    void mov(const ax::Gp& dst, const a::Imm& imm) { mov_imm(dst, imm.value()); }
    void mov(const ax::Mem& dst, const a::Imm& imm) { mov_imm(dst, imm.value()); }
    void movzx(const ax::Gp& dst, const ax::Gp& src);
    void movzx(const ax::Gp& dst, const ax::Mem& src);
    void movsx(const ax::Gp& dst, const ax::Gp& src);
    void movsx(const ax::Gp& dst, const ax::Mem& src);
    void movsxd(const ax::Gp& dst, const ax::Gp& src);
    void movsxd(const ax::Gp& dst, const ax::Mem& src);
    void lea(const ax::Gp& dst, const ax::Mem& src);

    /// The classic ALU operations and test (one encoding scheme: opcode row n = /n).
    void add(const ax::Gp& x, const ax::Gp& y) { arith(0, x, y); }
    void add(const ax::Gp& x, const ax::Mem& y) { arith(0, x, y); }
    void add(const ax::Mem& x, const ax::Gp& y) { arith(0, x, y); }
    void add(const ax::Gp& x, const a::Imm& y) { arith(0, x, y); }
    void add(const ax::Mem& x, const a::Imm& y) { arith(0, x, y); }
    void or_(const ax::Gp& x, const ax::Gp& y) { arith(1, x, y); }
    void or_(const ax::Mem& x, const ax::Gp& y) { arith(1, x, y); }
    void or_(const ax::Gp& x, const a::Imm& y) { arith(1, x, y); }
    void and_(const ax::Gp& x, const ax::Gp& y) { arith(4, x, y); }
    void and_(const ax::Mem& x, const ax::Gp& y) { arith(4, x, y); }
    void and_(const ax::Gp& x, const a::Imm& y) { arith(4, x, y); }
    void sub(const ax::Gp& x, const ax::Gp& y) { arith(5, x, y); }
    void sub(const ax::Gp& x, const ax::Mem& y) { arith(5, x, y); }
    void sub(const ax::Mem& x, const ax::Gp& y) { arith(5, x, y); }
    void sub(const ax::Gp& x, const a::Imm& y) { arith(5, x, y); }
    void sub(const ax::Mem& x, const a::Imm& y) { arith(5, x, y); }
    void xor_(const ax::Gp& x, const ax::Gp& y) { arith(6, x, y); }
    void xor_(const ax::Mem& x, const ax::Gp& y) { arith(6, x, y); }
    void xor_(const ax::Gp& x, const a::Imm& y) { arith(6, x, y); }
    void cmp(const ax::Gp& x, const ax::Gp& y) { arith(7, x, y); }
    void cmp(const ax::Gp& x, const ax::Mem& y) { arith(7, x, y); }
    void cmp(const ax::Mem& x, const ax::Gp& y) { arith(7, x, y); }
    void cmp(const ax::Gp& x, const a::Imm& y) { arith(7, x, y); }
    void cmp(const ax::Mem& x, const a::Imm& y) { arith(7, x, y); }
    void test(const ax::Gp& x, const ax::Gp& y) {
        if (wide_pair(x, y)) return rr(0x85, y.id(), x.id(), x.isGpq());
        test_any(x, y);
    }
    void test(const ax::Gp& x, const a::Imm& y) { test_imm(x, y.value()); }

    /// Multiplication, division, negation, sign extension of rax and byte swap.
    void imul(const ax::Gp& x, const ax::Gp& y);                     // x *= y
    void imul(const ax::Gp& x, const ax::Gp& y, const a::Imm& imm) { imul_imm(x, y, imm.value()); }  // x = y * imm
    void imul(const ax::Gp& x) { unary(0xf7, 5, x); }                // rdx:rax = rax * x (signed)
    void mul(const ax::Gp& x) { unary(0xf7, 4, x); }
    void div(const ax::Gp& x) { unary(0xf7, 6, x); }
    void idiv(const ax::Gp& x) { unary(0xf7, 7, x); }
    void neg(const ax::Gp& x) { unary(0xf7, 3, x); }
    void cdq() { byte(0x99); }
    void cqo() {
        byte(0x48);
        byte(0x99);
    }
    void bswap(const ax::Gp& x);

    /// Rotate and shifts by an immediate count (by cl, and BMI2's forms: emit()).
    void rol(const ax::Gp& x, const a::Imm& n) { shift(0, x, n.value()); }
    void shl(const ax::Gp& x, const a::Imm& n) { shift(4, x, n.value()); }
    void shr(const ax::Gp& x, const a::Imm& n) { shift(5, x, n.value()); }
    void sar(const ax::Gp& x, const a::Imm& n) { shift(7, x, n.value()); }

    /// Read-modify-write forms for atomics (with lock(); xchg with memory locks by itself).
    void xadd(const ax::Mem& m, const ax::Gp& r);
    void cmpxchg(const ax::Mem& m, const ax::Gp& r, const ax::Gp& accumulator);
    void xchg(const ax::Mem& m, const ax::Gp& r);

    /// Stack, indirect call, and branches to labels (rel8 backwards when in range, else rel32).
    void push(const ax::Gp& r) { push_pop(0x50, r); }
    void pop(const ax::Gp& r) { push_pop(0x58, r); }
    void call(const ax::Gp& target);
    void call(const a::Label& target) { branch(Branch::Call, target); }
    void jmp(const a::Label& target) { branch(Branch::Jmp, target); }
    void j(ax::CondCode cc, const a::Label& target);
    void ret() { byte(0xc3); }

    /// Relative branches: jmp (EB rel8 / E9 rel32), jcc (70+cc rel8 / 0F 80+cc rel32), call (E8
    /// rel32 only). The emitter places its branches to BPF instructions with these too.
    enum class Branch : uint8_t { Jmp, Jcc, Call };
    /// Writes the opcode bytes of `kind`'s rel32 form into `out`; returns their count (1 or 2).
    static size_t rel32_opcode(uint8_t* out, Branch kind, uint8_t cc) {
        if (kind != Branch::Jcc) {
            out[0] = kind == Branch::Jmp ? 0xe9 : 0xe8;
            return 1;
        }
        out[0] = 0x0f;
        out[1] = static_cast<uint8_t>(0x80 | cc);
        return 2;
    }
    /// Writes a branch at code offset `at` to offset `to` into `out` (at most 6 bytes): the rel8
    /// form when the displacement fits and `kind` has one, else rel32. Returns the length.
    static size_t encode_branch_to(uint8_t* out, Branch kind, uint8_t cc, int64_t at, int64_t to) {
        const int64_t short_disp = to - (at + 2);
        if (kind != Branch::Call && short_disp >= INT8_MIN && short_disp <= INT8_MAX) {
            out[0] = kind == Branch::Jmp ? 0xeb : static_cast<uint8_t>(0x70 | cc);
            out[1] = static_cast<uint8_t>(short_disp);
            return 2;
        }
        const size_t len = rel32_opcode(out, kind, cc);
        const auto disp = static_cast<uint32_t>(to - (at + static_cast<int64_t>(len) + 4));
        for (size_t i = 0; i < 4; ++i) out[len + i] = static_cast<uint8_t>(disp >> (8 * i));
        return len + 4;
    }
    /// A branch from here to the code offset `to` (rel8 when it reaches and `kind` has one).
    void branch_to(Branch kind, uint8_t cc, int64_t to) {
        ensure();
        end_ += encode_branch_to(end_, kind, cc, static_cast<int64_t>(offset()), to);
    }
    /// The rel32 form of a branch whose target is not placed yet, with a zero displacement;
    /// returns the offset of its rel32 field (the branch ends 4 bytes after it).
    uint32_t branch_forward(Branch kind, uint8_t cc) {
        ensure();
        end_ += rel32_opcode(end_, kind, cc);
        const auto field = static_cast<uint32_t>(offset());
        for (int i = 0; i < 4; ++i) *end_++ = 0;
        return field;
    }
    /// Fills the rel32 field at `field` (from branch_forward) with the displacement to code offset `to`.
    void patch_rel32(uint32_t field, int64_t to) {
        const auto disp = static_cast<int32_t>(to - (int64_t{field} + 4));
        std::memcpy(buf_ + field, &disp, 4);
    }

    /// The generic form the emitters use for a family chosen at run time: two-operand ALU
    /// operations (register or immediate source), shifts by an immediate or cl, and BMI2's
    /// three-operand shlx / shrx / sarx.
    void emit(a::InstId id, const ax::Gp& x, const ax::Gp& y) {
        if (const int n = alu_row(id); n >= 0) return arith(static_cast<unsigned>(n), x, y);
        emit_other(id, x, y);
    }
    void emit(a::InstId id, const ax::Gp& x, const a::Imm& y) {
        if (const int n = alu_row(id); n >= 0) return arith(static_cast<unsigned>(n), x, y);
        emit_imm(id, x, y.value());
    }
    void emit(a::InstId id, const ax::Gp& x, const ax::Gp& y, const ax::Gp& z);
    /// The ALU operation of ModRM row `row` (/n: add 0, or 1, and 4, sub 5, xor 6, cmp 7) on host
    /// register ids, 32-bit or 64-bit (`wide`): for the emitter's hottest forms, without building
    /// operand objects. x op= y:
    void alu_rr(unsigned row, uint32_t x, uint32_t y, bool wide) { rr(static_cast<uint8_t>((row << 3) | 1), y, x, wide); }
    /// x op= imm (sign-extended to 64 bits in the wide form): 83 /n ib, 81 /n id, or the
    /// accumulator's short form n*8+5 id, as asmjit picks.
    void alu_ri(unsigned row, uint32_t x, bool wide, int32_t imm) {
        const bool short_imm = imm >= INT8_MIN && imm <= INT8_MAX;
        if (!short_imm && x == 0) {
            ensure();
            uint8_t* p = end_;
            *p = 0x48;
            p += wide;
            *p++ = static_cast<uint8_t>((row << 3) | 5);
            std::memcpy(p, &imm, 4);
            end_ = p + 4;
            return;
        }
        rr(short_imm ? 0x83 : 0x81, row, x, wide);  // leaves room for the immediate
        std::memcpy(end_, &imm, 4);                 // little-endian: the low byte first
        end_ += short_imm ? 1 : 4;
    }
    /// test x, y on host register ids.
    void test_rr(uint32_t x, uint32_t y, bool wide) { rr(0x85, y, x, wide); }
    /// A plain load (zero-extending below 4 bytes: movzx r32 / mov r32 / mov r64) or store (mov m, r
    /// of the access size) of 1 << log2_bytes bytes between host register `reg` and [base + disp],
    /// on host register ids and without branching on which of the eight forms it is (a program's
    /// loads and stores follow no pattern a predictor learns). The bytes asmjit picks for them.
    void load_store(bool store, unsigned log2_bytes, uint32_t reg, uint32_t base, int32_t disp) {
        // Per form: [0x66] [REX] opcode(1-2 bytes) ModRM; index store * 4 + log2_bytes.
        struct Form {
            uint16_t opcode;  // first byte in the low bits
            uint8_t opcode_len;
            uint8_t rex_w;     // 8: REX.W
            bool prefix_66;
            bool byte_reg;     // the reg field names a byte register (spl..dil need a REX prefix)
        };
        static constexpr Form kForms[8] = {
            {0xb60f, 2, 0, false, false}, {0xb70f, 2, 0, false, false}, {0x8b, 1, 0, false, false}, {0x8b, 1, 8, false, false},
            {0x88, 1, 0, false, true},    {0x89, 1, 0, true, false},    {0x89, 1, 0, false, false}, {0x89, 1, 8, false, false},
        };
        const Form f = kForms[(store ? 4u : 0u) | (log2_bytes & 3)];
        ensure();
        uint8_t* p = end_;
        *p = 0x66;
        p += f.prefix_66;
        const unsigned rex = f.rex_w | ((reg >> 1) & 4u) | (base >> 3);
        *p = static_cast<uint8_t>(0x40 | rex);
        p += (rex != 0) | (f.byte_reg & (reg >= 4) & (reg < 8));
        std::memcpy(p, &f.opcode, 2);  // room for 16 bytes: the second byte may be overwritten
        p += f.opcode_len;
        // mod 00 (no displacement) unless the base's low bits are 101 (rbp, r13: that means
        // rip-relative or disp32 there); a base whose low bits are 100 (rsp, r12) needs a SIB byte.
        const bool sib = (base & 7) == 4;
        const bool no_disp = (disp == 0) & ((base & 7) != 5);
        const bool disp8 = (disp >= INT8_MIN) & (disp <= INT8_MAX);
        const unsigned mod = no_disp ? 0u : disp8 ? 1u : 2u;
        *p++ = static_cast<uint8_t>((mod << 6) | ((reg & 7) << 3) | (base & 7));
        *p = 0x24;  // SIB: no index, base in its low bits (4)
        p += sib;
        std::memcpy(p, &disp, 4);
        p += mod == 0 ? 0 : mod == 1 ? 1 : 4;
        end_ = p;
    }

private:
    // The register or memory operand of a ModRM byte, with the REX bits and bytes it needs.
    struct Rm {
        const ax::Gp* reg = nullptr;
        const ax::Mem* mem = nullptr;
    };
    void arith(unsigned n, const ax::Gp& x, const ax::Gp& y) {
        if (wide_pair(x, y)) return rr(static_cast<uint8_t>((n << 3) | 1), y.id(), x.id(), x.isGpq());
        arith_any(n, x, y);
    }
    void arith(unsigned n, const ax::Gp& x, const a::Imm& y) {
        // 83 /n ib, or 81 /n id outside the accumulator (whose short form arith_imm chooses).
        const int64_t v = y.value();
        if ((x.isGpd() || x.isGpq()) && x.id() < 16 && v >= INT32_MIN && v <= INT32_MAX) {
            const bool short_imm = v >= INT8_MIN && v <= INT8_MAX;
            if (short_imm || x.id() != 0) {
                ri(short_imm ? 0x83 : 0x81, n, x.id(), x.isGpq());
                for (unsigned i = 0; i < (short_imm ? 1u : 4u); ++i) *end_++ = static_cast<uint8_t>(v >> (8 * i));
                return;
            }
        }
        arith_imm(n, {&x, nullptr}, x.size(), v);
    }
    void mov_any(const ax::Gp& dst, const ax::Gp& src);
    void test_any(const ax::Gp& x, const ax::Gp& y);
    void arith_any(unsigned n, const ax::Gp& x, const ax::Gp& y);
    // The common case inline: two 32-bit or two 64-bit registers (no 0x66, no byte registers),
    // with the REX prefix computed without branches. Everything else goes through modrm.
    static bool wide_pair(const ax::Gp& x, const ax::Gp& y) {
        return x.signature() == y.signature() && (x.isGpd() || x.isGpq()) && (x.id() | y.id()) < 16;
    }
    // [REX] op ModRM(11, reg, rm); leaves room for an immediate after it (ensure's 16 bytes).
    void rr(uint8_t op, uint32_t reg, uint32_t rm, bool w) {
        ensure();
        uint8_t* p = end_;
        const unsigned rex = (w ? 8u : 0u) | ((reg >> 1) & 4u) | (rm >> 3);
        *p = static_cast<uint8_t>(0x40 | rex);
        p += rex != 0;
        *p++ = op;
        *p++ = static_cast<uint8_t>(0xc0 | ((reg & 7) << 3) | (rm & 7));
        end_ = p;
    }
    void ri(uint8_t op, unsigned ext, uint32_t rm, bool w) { rr(op, ext, rm, w); }
    void arith(unsigned n, const ax::Gp& x, const ax::Mem& y);
    void arith(unsigned n, const ax::Mem& x, const ax::Gp& y);
    void arith(unsigned n, const ax::Mem& x, const a::Imm& y) { arith_imm(n, x, y.value()); }
    void arith_imm(unsigned n, const ax::Mem& x, int64_t value);
    void mov_imm(const ax::Gp& dst, int64_t value);
    void mov_imm(const ax::Mem& dst, int64_t value);
    void test_imm(const ax::Gp& x, int64_t value);
    void imul_imm(const ax::Gp& x, const ax::Gp& y, int64_t value);
    void emit_imm(a::InstId id, const ax::Gp& x, int64_t value);
    void emit_other(a::InstId id, const ax::Gp& x, const ax::Gp& y);
    /// The ALU row (/n) of an asmjit instruction id, or -1.
    static int alu_row(a::InstId id) {
        switch (id) {
            case ax::Inst::kIdAdd: return 0;
            case ax::Inst::kIdOr: return 1;
            case ax::Inst::kIdAnd: return 4;
            case ax::Inst::kIdSub: return 5;
            case ax::Inst::kIdXor: return 6;
            case ax::Inst::kIdCmp: return 7;
            default: return -1;
        }
    }
    void arith_imm(unsigned n, Rm rm, unsigned bytes, int64_t value);
    void extend(uint8_t byte_op, const ax::Gp& dst, Rm src, unsigned src_size);
    void unary(uint8_t opcode, unsigned ext, const ax::Gp& x);
    void shift(unsigned ext, const ax::Gp& x, int64_t count);
    void shift_cl(unsigned ext, const ax::Gp& x);
    void push_pop(uint8_t opcode, const ax::Gp& r);
    void branch(Branch kind, const a::Label& target, uint8_t cc = 0);

    /// Emits [prefixes] [REX] opcode ModRM [SIB] [disp]: `reg` is the ModRM reg field (a register
    /// id, or an opcode extension), `opsize` the operand size in bytes (2 adds 0x66, 8 REX.W),
    /// `byte_regs` whether a register operand is 8-bit (spl..dil then need a REX prefix).
    /// `opcode` holds 1-3 opcode bytes, first byte in the low bits. Returns false after recording
    /// an error (an operand that cannot be encoded).
    bool modrm(uint32_t opcode, unsigned opcode_len, unsigned reg, Rm rm, unsigned opsize, bool byte_regs);
    bool fail(const char* what);
    void byte(uint8_t b) {
        ensure();
        *end_++ = b;
    }
    void imm(int64_t value, unsigned bytes);
    // Every instruction first makes room for the longest x86 instruction (15 bytes).
    void ensure() {
        if (static_cast<size_t>(cap_end_ - end_) < 16) grow(16);
    }
    void grow(size_t need);

    uint8_t* buf_ = nullptr;
    uint8_t* end_ = nullptr;
    uint8_t* cap_end_ = nullptr;
    bool lock_ = false;
    const char* error_ = nullptr;
    static constexpr int64_t kUnbound = -1;
    std::vector<int64_t> labels_;  // offset of each label, or kUnbound
    struct Use {
        uint32_t at;     // offset of a rel32 field
        uint32_t label;  // label id
    };
    std::vector<Use> uses_;  // rel32 fields waiting for a label
};

}  // namespace bpfvm::jit::x86
