// x86-64 backend: the byte encoder (encoder.hpp). Where x86 offers several encodings of one
// instruction, the choice is asmjit's (the oracle of tests/jit/x86_encoder_test.cpp): register to
// register moves and ALU operations in the MR direction (89, 01, ...), imm8 forms when the value
// fits, the accumulator's short forms for wider immediates, `mov r64, imm` as the sign-extended
// imm32 form when it fits (else imm64), and jumps to bound labels as rel8 when they reach.
#include "encoder.hpp"

#include <cstring>
#include <new>

namespace bpfvm::jit::x86 {
namespace {

bool fits_i8(int64_t v) { return v >= INT8_MIN && v <= INT8_MAX; }
bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

// spl, bpl, sil and dil exist only with a REX prefix (without one, ids 4-7 name ah..bh).
bool needs_rex(const ax::Gp& r) { return r.size() == 1 && r.id() >= 4 && r.id() < 8; }

bool is_gp(const ax::Gp& r) { return r.isGpq() || r.isGpd() || r.isGpw() || r.isGpbLo(); }

// The immediate truncated to the operation size and sign-extended back, as the CPU reads it; the
// value must be representable at that size (signed or unsigned).
bool sized_imm(int64_t value, unsigned bytes, int64_t& out) {
    switch (bytes) {
        case 1: out = static_cast<int8_t>(value); return value >= INT8_MIN && value <= UINT8_MAX;
        case 2: out = static_cast<int16_t>(value); return value >= INT16_MIN && value <= UINT16_MAX;
        case 4: out = static_cast<int32_t>(value); return value >= INT32_MIN && value <= UINT32_MAX;
        default: out = value; return fits_i32(value);  // 64-bit operations take a sign-extended imm32
    }
}

}  // namespace

Encoder::Encoder(size_t capacity) {
    labels_.reserve(64);
    grow(capacity < 64 ? 64 : capacity);
}

void Encoder::grow(size_t need) {
    const size_t used = offset();
    size_t cap = static_cast<size_t>(cap_end_ - buf_);
    if (cap == 0) cap = need;
    while (cap - used < need) cap *= 2;
    auto* p = static_cast<uint8_t*>(std::realloc(buf_, cap));
    if (p == nullptr) throw std::bad_alloc();  // allocation failure is not bad input
    buf_ = p;
    end_ = p + used;
    cap_end_ = p + cap;
}

bool Encoder::fail(const char* what) {
    if (error_ == nullptr) error_ = what;
    lock_ = false;
    return false;
}

void Encoder::imm(int64_t value, unsigned bytes) {
    const auto v = static_cast<uint64_t>(value);
    for (unsigned i = 0; i < bytes; ++i) *end_++ = static_cast<uint8_t>(v >> (8 * i));
}

bool Encoder::modrm(uint32_t opcode, unsigned opcode_len, unsigned reg, Rm rm, unsigned opsize, bool force_rex) {
    unsigned rex = (opsize == 8 ? 0x48u : 0u) | ((reg & 8) ? 0x44u : 0u) | (force_rex ? 0x40u : 0u);
    uint8_t modrm_byte = 0;
    uint8_t sib = 0;
    bool has_sib = false;
    int32_t disp = 0;
    unsigned disp_len = 0;
    if (rm.reg != nullptr) {
        const uint32_t id = rm.reg->id();
        if (!is_gp(*rm.reg) || id >= 16) return fail("x86-64 encoder: operand is not a general-purpose register");
        if (needs_rex(*rm.reg)) rex |= 0x40;
        if (id & 8) rex |= 0x41;
        modrm_byte = static_cast<uint8_t>(0xc0 | ((reg & 7) << 3) | (id & 7));
    } else {
        const ax::Mem& m = *rm.mem;
        if (!m.hasBaseReg() || m.baseType() != a::RegType::kX86_Gpq || m.hasSegment() || m.baseId() >= 16)
            return fail("x86-64 encoder: memory operand needs a 64-bit base register");
        const uint32_t base = m.baseId();
        disp = m.offsetLo32();
        const unsigned mod = (disp == 0 && (base & 7) != 5) ? 0u : fits_i8(disp) ? 1u : 2u;
        disp_len = mod == 1 ? 1 : mod == 2 ? 4 : 0;
        if (base & 8) rex |= 0x41;
        if (m.hasIndex()) {
            if (!m.hasIndexReg() || m.indexType() != a::RegType::kX86_Gpq || m.indexId() == 4 || m.indexId() >= 16)
                return fail("x86-64 encoder: memory index must be a 64-bit register other than rsp");
            const uint32_t index = m.indexId();
            if (index & 8) rex |= 0x42;
            has_sib = true;
            sib = static_cast<uint8_t>((m.shift() << 6) | ((index & 7) << 3) | (base & 7));
        } else if ((base & 7) == 4) {  // rsp / r12 as a base: SIB with no index
            has_sib = true;
            sib = static_cast<uint8_t>(0x20 | (base & 7));
        }
        modrm_byte = static_cast<uint8_t>((mod << 6) | ((reg & 7) << 3) | (has_sib ? 4 : (base & 7)));
    }
    ensure();
    if (lock_) *end_++ = 0xf0;
    lock_ = false;
    if (opsize == 2) *end_++ = 0x66;
    if (rex != 0) *end_++ = static_cast<uint8_t>(rex);
    for (unsigned i = 0; i < opcode_len; ++i) *end_++ = static_cast<uint8_t>(opcode >> (8 * i));
    *end_++ = modrm_byte;
    if (has_sib) *end_++ = sib;
    imm(disp, disp_len);
    return true;
}

// --- moves --------------------------------------------------------------------------------------

void Encoder::mov_any(const ax::Gp& dst, const ax::Gp& src) {
    if (dst.size() != src.size()) return (void)fail("x86-64 encoder: mov: operand sizes differ");
    const unsigned s = dst.size();
    modrm(s == 1 ? 0x88 : 0x89, 1, src.id(), {&dst, nullptr}, s, needs_rex(src));
}

void Encoder::mov(const ax::Gp& dst, const ax::Mem& src) {
    if (src.size() != 0 && src.size() != dst.size()) return (void)fail("x86-64 encoder: mov: operand sizes differ");
    const unsigned s = dst.size();
    modrm(s == 1 ? 0x8a : 0x8b, 1, dst.id(), {nullptr, &src}, s, needs_rex(dst));
}

void Encoder::mov(const ax::Mem& dst, const ax::Gp& src) {
    if (dst.size() != 0 && dst.size() != src.size()) return (void)fail("x86-64 encoder: mov: operand sizes differ");
    const unsigned s = src.size();
    modrm(s == 1 ? 0x88 : 0x89, 1, src.id(), {nullptr, &dst}, s, needs_rex(src));
}

void Encoder::mov_imm(const ax::Gp& dst, int64_t v) {
    const uint32_t id = dst.id();
    if (!(dst.isGpd() || dst.isGpq()) || id >= 16) return (void)fail("x86-64 encoder: mov: unsupported register");
    ensure();
    if (dst.isGpq()) {
        if (fits_i32(v)) {  // sign-extended imm32: REX.W C7 /0
            modrm(0xc7, 1, 0, {&dst, nullptr}, 8, false);
            imm(v, 4);
            return;
        }
        *end_++ = static_cast<uint8_t>(0x48 | (id >> 3));  // REX.W B8+r imm64
        *end_++ = static_cast<uint8_t>(0xb8 | (id & 7));
        imm(v, 8);
        return;
    }
    // A 32-bit move: B8+r imm32.
    if (!(v >= INT32_MIN && v <= UINT32_MAX)) return (void)fail("x86-64 encoder: mov: immediate exceeds 32 bits");
    if (id & 8) *end_++ = 0x41;
    *end_++ = static_cast<uint8_t>(0xb8 | (id & 7));
    imm(v, 4);
}

void Encoder::mov_imm(const ax::Mem& dst, int64_t value) {
    const unsigned s = dst.size();
    int64_t v = 0;
    if (s == 0 || !sized_imm(value, s, v)) return (void)fail("x86-64 encoder: mov: bad immediate store");
    if (!modrm(s == 1 ? 0xc6 : 0xc7, 1, 0, {nullptr, &dst}, s, false)) return;
    imm(v, s == 8 ? 4 : s);
}

// movzx is 0F B6 (byte source) / 0F B7 (word source), movsx 0F BE / 0F BF.
void Encoder::extend(uint8_t byte_op, const ax::Gp& dst, Rm src, unsigned src_size) {
    if (src_size == 0 || src_size > 2 || dst.size() <= src_size)
        return (void)fail("x86-64 encoder: movzx/movsx: bad operand sizes");
    const uint32_t op = 0x0fu | (uint32_t{static_cast<uint8_t>(byte_op + (src_size - 1))} << 8);
    modrm(op, 2, dst.id(), src, dst.size(), false);
}

void Encoder::movzx(const ax::Gp& dst, const ax::Gp& src) { extend(0xb6, dst, {&src, nullptr}, src.size()); }
void Encoder::movzx(const ax::Gp& dst, const ax::Mem& src) { extend(0xb6, dst, {nullptr, &src}, src.size()); }
void Encoder::movsx(const ax::Gp& dst, const ax::Gp& src) { extend(0xbe, dst, {&src, nullptr}, src.size()); }
void Encoder::movsx(const ax::Gp& dst, const ax::Mem& src) { extend(0xbe, dst, {nullptr, &src}, src.size()); }

void Encoder::movsxd(const ax::Gp& dst, const ax::Gp& src) {
    if (!dst.isGpq() || !src.isGpd()) return (void)fail("x86-64 encoder: movsxd: bad operand sizes");
    modrm(0x63, 1, dst.id(), {&src, nullptr}, 8, false);
}

void Encoder::movsxd(const ax::Gp& dst, const ax::Mem& src) {
    if (!dst.isGpq() || (src.size() != 0 && src.size() != 4)) return (void)fail("x86-64 encoder: movsxd: bad operand sizes");
    modrm(0x63, 1, dst.id(), {nullptr, &src}, 8, false);
}

void Encoder::lea(const ax::Gp& dst, const ax::Mem& src) {
    if (!(dst.isGpq() || dst.isGpd())) return (void)fail("x86-64 encoder: lea: bad destination");
    modrm(0x8d, 1, dst.id(), {nullptr, &src}, dst.size(), false);
}

// --- ALU ----------------------------------------------------------------------------------------

void Encoder::arith_any(unsigned n, const ax::Gp& x, const ax::Gp& y) {
    if (x.size() != y.size()) return (void)fail("x86-64 encoder: ALU operation: operand sizes differ");
    const unsigned s = x.size();
    modrm((n << 3) | (s == 1 ? 0 : 1), 1, y.id(), {&x, nullptr}, s, needs_rex(y));
}

void Encoder::arith(unsigned n, const ax::Gp& x, const ax::Mem& y) {
    if (y.size() != 0 && y.size() != x.size()) return (void)fail("x86-64 encoder: ALU operation: operand sizes differ");
    const unsigned s = x.size();
    modrm((n << 3) | (s == 1 ? 2 : 3), 1, x.id(), {nullptr, &y}, s, needs_rex(x));
}

void Encoder::arith(unsigned n, const ax::Mem& x, const ax::Gp& y) {
    if (x.size() != 0 && x.size() != y.size()) return (void)fail("x86-64 encoder: ALU operation: operand sizes differ");
    const unsigned s = y.size();
    modrm((n << 3) | (s == 1 ? 0 : 1), 1, y.id(), {nullptr, &x}, s, needs_rex(y));
}

void Encoder::arith_imm(unsigned n, const ax::Mem& x, int64_t value) {
    if (x.size() == 0) return (void)fail("x86-64 encoder: ALU operation: memory operand without a size");
    arith_imm(n, {nullptr, &x}, x.size(), value);
}

void Encoder::arith_imm(unsigned n, Rm rm, unsigned bytes, int64_t value) {
    int64_t v = 0;
    if (!sized_imm(value, bytes, v)) return (void)fail("x86-64 encoder: ALU operation: immediate out of range");
    const bool accumulator = rm.reg != nullptr && rm.reg->id() == 0 && is_gp(*rm.reg);
    // 83 /n ib when the immediate fits 8 bits: for 32-bit operations after truncation to 32 bits,
    // for 16-bit ones as given (asmjit's rule, which the encodings must match).
    if (bytes != 1 && fits_i8(bytes == 2 ? value : v)) {
        if (modrm(0x83, 1, n, rm, bytes, false)) imm(v, 1);
        return;
    }
    const unsigned width = bytes == 8 ? 4 : bytes;
    if (accumulator) {  // al/ax/eax/rax: the short forms n*8+4 ib and n*8+5 iz
        ensure();
        if (lock_) *end_++ = 0xf0;
        lock_ = false;
        if (bytes == 2) *end_++ = 0x66;
        if (bytes == 8) *end_++ = 0x48;
        *end_++ = static_cast<uint8_t>((n << 3) | (bytes == 1 ? 4 : 5));
        imm(v, width);
        return;
    }
    if (bytes == 1) {  // 80 /n ib
        if (modrm(0x80, 1, n, rm, 1, false)) imm(v, 1);
        return;
    }
    if (modrm(0x81, 1, n, rm, bytes, false)) imm(v, width);  // 81 /n iz
}

void Encoder::test_any(const ax::Gp& x, const ax::Gp& y) {
    if (x.size() != y.size()) return (void)fail("x86-64 encoder: test: operand sizes differ");
    modrm(x.size() == 1 ? 0x84 : 0x85, 1, y.id(), {&x, nullptr}, x.size(), needs_rex(y));
}

void Encoder::test_imm(const ax::Gp& x, int64_t value) {
    const unsigned s = x.size();
    int64_t v = 0;
    if (!sized_imm(value, s, v)) return (void)fail("x86-64 encoder: test: immediate out of range");
    const unsigned width = s == 8 ? 4 : s;
    if (x.id() == 0 && is_gp(x)) {  // A8 ib / A9 iz
        ensure();
        if (s == 2) *end_++ = 0x66;
        if (s == 8) *end_++ = 0x48;
        *end_++ = s == 1 ? 0xa8 : 0xa9;
        imm(v, width);
        return;
    }
    if (modrm(s == 1 ? 0xf6 : 0xf7, 1, 0, {&x, nullptr}, s, false)) imm(v, width);
}

void Encoder::imul(const ax::Gp& x, const ax::Gp& y) {
    if (x.size() != y.size() || x.size() == 1) return (void)fail("x86-64 encoder: imul: bad operand sizes");
    modrm(0xaf0f, 2, x.id(), {&y, nullptr}, x.size(), false);
}

void Encoder::imul_imm(const ax::Gp& x, const ax::Gp& y, int64_t value) {
    int64_t v = 0;
    if (x.size() != y.size() || x.size() == 1 || !sized_imm(value, x.size(), v))
        return (void)fail("x86-64 encoder: imul: bad operands");
    if (fits_i8(value)) {  // asmjit: imm8 when the value as given fits
        if (modrm(0x6b, 1, x.id(), {&y, nullptr}, x.size(), false)) imm(v, 1);
    } else if (modrm(0x69, 1, x.id(), {&y, nullptr}, x.size(), false)) {
        imm(v, x.size() == 2 ? 2 : 4);
    }
}

void Encoder::unary(uint8_t opcode, unsigned ext, const ax::Gp& x) {
    const unsigned s = x.size();
    modrm(s == 1 ? opcode - 1 : opcode, 1, ext, {&x, nullptr}, s, false);
}

void Encoder::bswap(const ax::Gp& x) {
    if (!(x.isGpd() || x.isGpq()) || x.id() >= 16) return (void)fail("x86-64 encoder: bswap: bad register");
    ensure();
    const uint32_t id = x.id();
    const unsigned rex = (x.isGpq() ? 0x48u : 0u) | ((id & 8) ? 0x41u : 0u);
    if (rex != 0) *end_++ = static_cast<uint8_t>(rex);
    *end_++ = 0x0f;
    *end_++ = static_cast<uint8_t>(0xc8 | (id & 7));
}

void Encoder::shift(unsigned ext, const ax::Gp& x, int64_t count) {
    if (count < 0 || count > 255) return (void)fail("x86-64 encoder: shift count out of range");
    const bool byte_op = x.size() == 1;
    if (count == 1) {  // D1 /n: the form without an immediate
        modrm(byte_op ? 0xd0 : 0xd1, 1, ext, {&x, nullptr}, x.size(), false);
        return;
    }
    if (modrm(byte_op ? 0xc0 : 0xc1, 1, ext, {&x, nullptr}, x.size(), false)) imm(count, 1);
}

void Encoder::shift_cl(unsigned ext, const ax::Gp& x) {
    modrm(x.size() == 1 ? 0xd2 : 0xd3, 1, ext, {&x, nullptr}, x.size(), false);
}

// --- atomics ------------------------------------------------------------------------------------

void Encoder::xadd(const ax::Mem& m, const ax::Gp& r) {
    if (m.size() != 0 && m.size() != r.size()) return (void)fail("x86-64 encoder: xadd: operand sizes differ");
    modrm(r.size() == 1 ? 0xc00f : 0xc10f, 2, r.id(), {nullptr, &m}, r.size(), needs_rex(r));
}

void Encoder::cmpxchg(const ax::Mem& m, const ax::Gp& r, const ax::Gp& accumulator) {
    if ((m.size() != 0 && m.size() != r.size()) || accumulator.id() != 0 || accumulator.size() != r.size())
        return (void)fail("x86-64 encoder: cmpxchg: bad operands");
    modrm(r.size() == 1 ? 0xb00f : 0xb10f, 2, r.id(), {nullptr, &m}, r.size(), needs_rex(r));
}

void Encoder::xchg(const ax::Mem& m, const ax::Gp& r) {
    if (m.size() != 0 && m.size() != r.size()) return (void)fail("x86-64 encoder: xchg: operand sizes differ");
    modrm(r.size() == 1 ? 0x86 : 0x87, 1, r.id(), {nullptr, &m}, r.size(), needs_rex(r));
}

// --- stack, calls and branches ------------------------------------------------------------------

void Encoder::push_pop(uint8_t opcode, const ax::Gp& r) {
    if (!r.isGpq() || r.id() >= 16) return (void)fail("x86-64 encoder: push/pop: needs a 64-bit register");
    ensure();
    if (r.id() & 8) *end_++ = 0x41;
    *end_++ = static_cast<uint8_t>(opcode | (r.id() & 7));
}

void Encoder::call(const ax::Gp& target) {
    if (!target.isGpq()) return (void)fail("x86-64 encoder: call: needs a 64-bit register");
    modrm(0xff, 1, 2, {&target, nullptr}, 4, false);  // FF /2; no REX.W (64-bit by default)
}

void Encoder::j(ax::CondCode cc, const a::Label& target) {
    const auto c = static_cast<uint8_t>(cc);  // asmjit's CondCode values are the cc nibbles
    if (c > 15) return (void)fail("x86-64 encoder: jcc: bad condition");
    branch(Branch::Jcc, target, c);
}

// A bound label's displacement is known (rel8 when it reaches); a use before the bind gets a
// rel32 field that finish() fills in.
void Encoder::branch(Branch kind, const a::Label& target, uint8_t cc) {
    const uint32_t id = target.id();
    if (id >= labels_.size()) return (void)fail("x86-64 encoder: branch to an unknown label");
    if (labels_[id] != kUnbound) return branch_to(kind, cc, labels_[id]);
    uses_.push_back({branch_forward(kind, cc), id});
}

a::Label Encoder::newLabel() {
    labels_.push_back(kUnbound);
    return a::Label(static_cast<uint32_t>(labels_.size() - 1));
}

void Encoder::bind(const a::Label& label) {
    const uint32_t id = label.id();
    if (id >= labels_.size() || labels_[id] != kUnbound) return (void)fail("x86-64 encoder: bad or rebound label");
    labels_[id] = static_cast<int64_t>(offset());
}

bool Encoder::finish() {
    for (const Use& u : uses_) {
        const int64_t to = labels_[u.label];
        if (to == kUnbound) return fail("x86-64 encoder: branch to a label that was never bound");
        patch_rel32(u.at, to);
    }
    uses_.clear();
    return error_ == nullptr;
}

void Encoder::embed(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    if (size <= 16) {
        // Short runs (budget ticks, stub bytes) with fixed-size copies: a call into the C
        // library's memcpy per run cost more than the copy.
        ensure();
        if (size >= 8) {
            std::memcpy(end_, p, 8);
            std::memcpy(end_ + size - 8, p + size - 8, 8);
        } else if (size >= 4) {
            std::memcpy(end_, p, 4);
            std::memcpy(end_ + size - 4, p + size - 4, 4);
        } else {
            for (size_t i = 0; i < size; ++i) end_[i] = p[i];
        }
        end_ += size;
        return;
    }
    if (static_cast<size_t>(cap_end_ - end_) < size + 16) grow(size + 16);
    std::memcpy(end_, p, size);
    end_ += size;
}

namespace {

// The Intel SDM's recommended NOPs of 1 to 9 bytes (vol. 2, NOP).
constexpr uint8_t kNops[9][9] = {
    {0x90},
    {0x66, 0x90},
    {0x0f, 0x1f, 0x00},
    {0x0f, 0x1f, 0x40, 0x00},
    {0x0f, 0x1f, 0x44, 0x00, 0x00},
    {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
    {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
    {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
};

// Padding of n bytes: 9-byte NOPs, longest first, then the rest (asmjit's sequence).
struct Padding {
    uint8_t bytes[16][16] = {};
    constexpr Padding() {
        for (size_t pad = 1; pad < 16; ++pad) {
            size_t at = 0;
            for (size_t left = pad; left != 0;) {
                const size_t n = left < 9 ? left : 9;
                for (size_t i = 0; i < n; ++i) bytes[pad][at++] = kNops[n - 1][i];
                left -= n;
            }
        }
    }
};
constexpr Padding kPadding;

}  // namespace

void Encoder::align(a::AlignMode mode, uint32_t alignment) {
    if (mode != a::AlignMode::kCode || alignment == 0 || alignment > 64 || (alignment & (alignment - 1)) != 0)
        return (void)fail("x86-64 encoder: align: unsupported alignment");
    size_t pad = (0 - offset()) & (alignment - 1);  // a mask, not a division (loop heads are frequent)
    if (pad < 16) {  // one fixed-size copy (ensure leaves 16 bytes of room)
        ensure();
        std::memcpy(end_, kPadding.bytes[pad], 16);
        end_ += pad;
        return;
    }
    for (; pad >= 16; pad -= 9) embed(kNops[8], 9);
    embed(kPadding.bytes[pad], pad);
}

// --- run-time chosen families -------------------------------------------------------------------

namespace {

// Shift group extension (/n), or -1.
int shift_ext(a::InstId id) {
    switch (id) {
        case ax::Inst::kIdRol: return 0;
        case ax::Inst::kIdShl: return 4;
        case ax::Inst::kIdShr: return 5;
        case ax::Inst::kIdSar: return 7;
        default: return -1;
    }
}

}  // namespace

void Encoder::emit_other(a::InstId id, const ax::Gp& x, const ax::Gp& y) {
    if (id == ax::Inst::kIdImul) return imul(x, y);
    const int ext = shift_ext(id);
    if (ext >= 0 && y.size() == 1 && y.id() == ax::Gp::kIdCx) return shift_cl(static_cast<unsigned>(ext), x);
    fail("x86-64 encoder: unsupported two-register instruction");
}

void Encoder::emit_imm(a::InstId id, const ax::Gp& x, int64_t value) {
    if (const int ext = shift_ext(id); ext >= 0) return shift(static_cast<unsigned>(ext), x, value);
    fail("x86-64 encoder: unsupported register-immediate instruction");
}

void Encoder::emit(a::InstId id, const ax::Gp& x, const ax::Gp& y, const ax::Gp& z) {
    // BMI2 shifts: VEX.LZ.{F3 sarx, 66 shlx, F2 shrx}.0F38.W0/W1 F7 /r; ModRM.reg = x, ModRM.rm = y,
    // VEX.vvvv = z (the count).
    const uint8_t pp = id == ax::Inst::kIdShlx ? 1 : id == ax::Inst::kIdSarx ? 2 : id == ax::Inst::kIdShrx ? 3 : 0;
    if (pp == 0 || x.size() != y.size() || x.size() != z.size() || x.size() < 4 || x.id() >= 16 || y.id() >= 16 ||
        z.id() >= 16)
        return (void)fail("x86-64 encoder: unsupported three-register instruction");
    ensure();
    *end_++ = 0xc4;
    *end_++ = static_cast<uint8_t>(((x.id() & 8) ? 0 : 0x80) | 0x40 | ((y.id() & 8) ? 0 : 0x20) | 0x02);
    *end_++ = static_cast<uint8_t>((x.size() == 8 ? 0x80 : 0) | ((~z.id() & 15) << 3) | pp);
    *end_++ = 0xf7;
    *end_++ = static_cast<uint8_t>(0xc0 | ((x.id() & 7) << 3) | (y.id() & 7));
}

}  // namespace bpfvm::jit::x86
