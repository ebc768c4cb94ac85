// The x86-64 backend's encoder against asmjit's x86::Assembler as the oracle: for every form the
// backend emits, on every host register at every width, on memory operands with every base, with
// and without an index, at displacements on both sides of the 8- and 32-bit limits, and on
// immediates at those limits, our bytes must be asmjit's. The emitters call both through the same
// method names, so one generic lambda drives both. x86-64 builds only (the encoder belongs to the
// x86-64 backend).
#if defined(__x86_64__)

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "jit/x86_64/encoder.hpp"

namespace bpfvm::jit::x86 {
namespace {

std::string hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

// Text through a stream: g++ 12 warns wrongly (-Wrestrict) on `"literal" + std::string&&`.
template <typename... Args>
std::string cat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

std::string name(const ax::Gp& r) { return cat("r", r.id(), "/", r.size() * 8); }

std::string name(const ax::Mem& m) {
    std::string s = cat("[r", m.baseId());
    if (m.hasIndex()) s += cat("+r", m.indexId(), "<<", m.shift());
    return s + cat("+", m.offsetLo32(), "]/", m.size());
}

// One asmjit assembler and one Encoder side by side; each case is emitted into both and the bytes
// it added compared.
class Oracle {
public:
    Oracle() : ours_(64) {
        code_.init(a::Environment(a::Arch::kX64));
        code_.setErrorHandler(&errors_);
        theirs_ = std::make_unique<ax::Assembler>(&code_);
        theirs_->addEncodingOptions(a::EncodingOptions::kOptimizedAlign);
    }

    template <typename F>
    void same(const std::string& what, F&& emit) {
        same(what, emit, emit);
    }
    /// The encoder's own entry points that asmjit lacks (raw register ids): `theirs` says it the
    /// asmjit way, `ours` the encoder's way.
    template <typename T, typename O>
    void same(const std::string& what, T&& theirs, O&& ours) {
        const size_t a0 = theirs_->offset();
        const size_t b0 = ours_.offset();
        theirs(*theirs_);
        ours(ours_);
        ASSERT_EQ(errors_.count, 0) << what << ": asmjit refused it (" << errors_.text << ")";
        ASSERT_EQ(ours_.error(), nullptr) << what << ": " << ours_.error();
        const uint8_t* a = code_.textSection()->buffer().data() + a0;
        const size_t na = theirs_->offset() - a0;
        const uint8_t* b = ours_.bufferData() + b0;
        const size_t nb = ours_.offset() - b0;
        ASSERT_EQ(hex(a, na), hex(b, nb)) << what;
        ++cases;
    }

    Encoder& ours() { return ours_; }
    ax::Assembler& theirs() { return *theirs_; }
    /// The final buffers, once every label use is resolved on both sides.
    void expect_equal_buffers() {
        ASSERT_TRUE(ours_.finish()) << ours_.error();
        const a::CodeBuffer& buf = code_.textSection()->buffer();
        ASSERT_EQ(hex(buf.data(), buf.size()), hex(ours_.bufferData(), ours_.offset()));
    }
    size_t cases = 0;

private:
    struct Errors final : a::ErrorHandler {
        void handleError(a::Error, const char* message, a::BaseEmitter*) override {
            ++count;
            text = message;
        }
        int count = 0;
        std::string text;
    };
    a::CodeHolder code_;
    Errors errors_;
    std::unique_ptr<ax::Assembler> theirs_;
    Encoder ours_;
};

ax::Gp reg(uint32_t id, unsigned bytes) {
    switch (bytes) {
        case 1: return ax::gpb(id);
        case 2: return ax::gpw(id);
        case 4: return ax::gpd(id);
        default: return ax::gpq(id);
    }
}

const int64_t kImms[] = {0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535,
                         0x7fffffff, -0x7fffffff - 1, 0x80000000LL, 0xffffff80LL, 0xffffffffLL};

bool fits(int64_t v, unsigned bytes) {
    switch (bytes) {
        case 1: return v >= INT8_MIN && v <= UINT8_MAX;
        case 2: return v >= INT16_MIN && v <= UINT16_MAX;
        case 4: return v >= INT32_MIN && v <= UINT32_MAX;
        default: return v >= INT32_MIN && v <= INT32_MAX;
    }
}

// Every base; displacements at the 8- and 32-bit limits; with an index (every register but rsp,
// every scale) at a few displacements.
std::vector<ax::Mem> memory_operands(unsigned bytes) {
    std::vector<ax::Mem> out;
    const int32_t disps[] = {0, 1, -1, 127, 128, -128, -129, 0x7fffffff, -0x7fffffff - 1};
    for (uint32_t base = 0; base < 16; ++base) {
        for (int32_t disp : disps) out.push_back(ax::ptr(ax::gpq(base), disp, bytes));
        for (uint32_t index = 0; index < 16; ++index) {
            if (index == ax::Gp::kIdSp) continue;
            for (uint32_t shift = 0; shift < 4; ++shift)
                for (int32_t disp : {0, 8, -200})
                    out.push_back(ax::ptr(ax::gpq(base), ax::gpq(index), shift, disp, bytes));
        }
    }
    return out;
}

TEST(X86Encoder, RegisterToRegister) {
    Oracle o;
    for (unsigned bytes : {1u, 2u, 4u, 8u}) {
        for (uint32_t x = 0; x < 16; ++x) {
            for (uint32_t y = 0; y < 16; ++y) {
                const ax::Gp rx = reg(x, bytes), ry = reg(y, bytes);
                const std::string w = cat(name(rx), ", ", name(ry));
                o.same("mov " + w, [&](auto& as) { as.mov(rx, ry); });
                o.same("add " + w, [&](auto& as) { as.add(rx, ry); });
                o.same("or " + w, [&](auto& as) { as.or_(rx, ry); });
                o.same("and " + w, [&](auto& as) { as.and_(rx, ry); });
                o.same("sub " + w, [&](auto& as) { as.sub(rx, ry); });
                o.same("xor " + w, [&](auto& as) { as.xor_(rx, ry); });
                o.same("cmp " + w, [&](auto& as) { as.cmp(rx, ry); });
                o.same("test " + w, [&](auto& as) { as.test(rx, ry); });
                if (bytes >= 2) o.same("imul " + w, [&](auto& as) { as.imul(rx, ry); });
                if (bytes >= 4) {
                    const ax::Gp c = reg(y, bytes);
                    o.same("shlx " + w, [&](auto& as) { as.emit(ax::Inst::kIdShlx, rx, rx, c); });
                    o.same("shrx " + w, [&](auto& as) { as.emit(ax::Inst::kIdShrx, rx, ry, rx); });
                    o.same("sarx " + w, [&](auto& as) { as.emit(ax::Inst::kIdSarx, ry, rx, c); });
                }
                if (bytes <= 2) {
                    for (unsigned to : {4u, 8u}) {
                        const ax::Gp d = reg(x, to);
                        o.same(cat("movzx ", name(d), ", ", name(ry)), [&](auto& as) { as.movzx(d, ry); });
                        o.same(cat("movsx ", name(d), ", ", name(ry)), [&](auto& as) { as.movsx(d, ry); });
                    }
                }
                if (bytes == 4) {
                    const ax::Gp d = reg(x, 8);
                    o.same(cat("movsxd ", name(d), ", ", name(ry)), [&](auto& as) { as.movsxd(d, ry); });
                }
            }
        }
    }
    EXPECT_GT(o.cases, 7000u);
}

TEST(X86Encoder, RegisterImmediate) {
    Oracle o;
    for (unsigned bytes : {1u, 2u, 4u, 8u}) {
        for (uint32_t x = 0; x < 16; ++x) {
            const ax::Gp r = reg(x, bytes);
            for (int64_t v : kImms) {
                if (!fits(v, bytes)) continue;
                const std::string w = cat(name(r), ", ", v);
                o.same("add " + w, [&](auto& as) { as.add(r, v); });
                o.same("or " + w, [&](auto& as) { as.or_(r, v); });
                o.same("and " + w, [&](auto& as) { as.and_(r, v); });
                o.same("sub " + w, [&](auto& as) { as.sub(r, v); });
                o.same("xor " + w, [&](auto& as) { as.xor_(r, v); });
                o.same("cmp " + w, [&](auto& as) { as.cmp(r, v); });
                o.same("test " + w, [&](auto& as) { as.test(r, v); });
                if (bytes >= 2) {
                    const ax::Gp src = reg(15 - x, bytes);
                    o.same("imul " + w, [&](auto& as) { as.imul(r, src, v); });
                }
            }
        }
    }
    // mov: 32-bit values (signed or unsigned), and 64-bit ones that zero-extend, sign-extend or
    // need all 64 bits.
    const int64_t movs[] = {0, 1, -1, 127, 128, 0x7fffffff, 0x80000000, 0xffffffff, -0x80000000LL, -0x80000001LL,
                            0x100000000LL, INT64_MIN, INT64_MAX};
    for (uint32_t x = 0; x < 16; ++x) {
        for (int64_t v : movs) {
            const ax::Gp r64 = reg(x, 8), r32 = reg(x, 4);
            o.same(cat("mov ", name(r64), ", ", v), [&](auto& as) { as.mov(r64, a::Imm(v)); });
            if (v >= INT32_MIN && v <= UINT32_MAX)
                o.same(cat("mov ", name(r32), ", ", v), [&](auto& as) { as.mov(r32, a::Imm(v)); });
        }
        o.same("mov r32, uint32", [&](auto& as) { as.mov(reg(x, 4), static_cast<uint32_t>(0xfffffff0u)); });
    }
}

TEST(X86Encoder, OneOperandAndShifts) {
    Oracle o;
    for (uint32_t x = 0; x < 16; ++x) {
        for (unsigned bytes : {1u, 2u, 4u, 8u}) {
            const ax::Gp r = reg(x, bytes);
            o.same(cat("neg ", name(r)), [&](auto& as) { as.neg(r); });
            o.same(cat("mul ", name(r)), [&](auto& as) { as.mul(r); });
            o.same(cat("imul ", name(r)), [&](auto& as) { as.imul(r); });
            o.same(cat("div ", name(r)), [&](auto& as) { as.div(r); });
            o.same(cat("idiv ", name(r)), [&](auto& as) { as.idiv(r); });
            for (int count : {1, 2, 7, 8, 31, 32, 63}) {
                const std::string w = cat(name(r), ", ", count);
                o.same("shl " + w, [&](auto& as) { as.shl(r, count); });
                o.same("shr " + w, [&](auto& as) { as.shr(r, count); });
                o.same("sar " + w, [&](auto& as) { as.sar(r, count); });
                o.same("rol " + w, [&](auto& as) { as.rol(r, count); });
                o.same("emit shl " + w, [&](auto& as) { as.emit(ax::Inst::kIdShl, r, a::Imm(count)); });
            }
            o.same(cat("shl cl ", name(r)), [&](auto& as) { as.emit(ax::Inst::kIdShl, r, ax::cl); });
            o.same(cat("shr cl ", name(r)), [&](auto& as) { as.emit(ax::Inst::kIdShr, r, ax::cl); });
            o.same(cat("sar cl ", name(r)), [&](auto& as) { as.emit(ax::Inst::kIdSar, r, ax::cl); });
            if (bytes >= 4) o.same(cat("bswap ", name(r)), [&](auto& as) { as.bswap(r); });
        }
        const ax::Gp r = reg(x, 8);
        o.same(cat("push ", name(r)), [&](auto& as) { as.push(r); });
        o.same(cat("pop ", name(r)), [&](auto& as) { as.pop(r); });
        o.same(cat("call ", name(r)), [&](auto& as) { as.call(r); });
    }
    o.same("cdq", [&](auto& as) { as.cdq(); });
    o.same("cqo", [&](auto& as) { as.cqo(); });
    o.same("ret", [&](auto& as) { as.ret(); });
}

TEST(X86Encoder, MemoryOperands) {
    Oracle o;
    const uint32_t regs[] = {0, 1, 4, 5, 6, 7, 8, 12, 13, 15};
    for (unsigned bytes : {1u, 2u, 4u, 8u}) {
        for (const ax::Mem& m : memory_operands(bytes)) {
            for (uint32_t x : regs) {
                const ax::Gp r = reg(x, bytes);
                const std::string w = cat(name(r), ", ", name(m));
                o.same("mov r, m " + w, [&](auto& as) { as.mov(r, m); });
                o.same("mov m, r " + w, [&](auto& as) { as.mov(m, r); });
                o.same("cmp r, m " + w, [&](auto& as) { as.cmp(r, m); });
                o.same("sub r, m " + w, [&](auto& as) { as.sub(r, m); });
                o.same("add m, r " + w, [&](auto& as) { as.add(m, r); });
                o.same("lock add " + w, [&](auto& as) { as.lock().add(m, r); });
                o.same("lock or " + w, [&](auto& as) { as.lock().or_(m, r); });
                o.same("lock and " + w, [&](auto& as) { as.lock().and_(m, r); });
                o.same("lock xor " + w, [&](auto& as) { as.lock().xor_(m, r); });
                o.same("lock xadd " + w, [&](auto& as) { as.lock().xadd(m, r); });
                o.same("lock cmpxchg " + w, [&](auto& as) { as.lock().cmpxchg(m, r, reg(0, bytes)); });
                o.same("xchg " + w, [&](auto& as) { as.xchg(m, r); });
                if (bytes <= 2) {
                    o.same("movzx " + w, [&](auto& as) { as.movzx(reg(x, 4), m); });
                    o.same("movsx " + w, [&](auto& as) { as.movsx(reg(x, 8), m); });
                }
                if (bytes == 4) o.same("movsxd " + w, [&](auto& as) { as.movsxd(reg(x, 8), m); });
                if (bytes == 8) {
                    o.same("lea " + w, [&](auto& as) { as.lea(r, m); });
                    o.same("lea32 " + w, [&](auto& as) { as.lea(reg(x, 4), m); });
                }
            }
            for (int64_t v : {0LL, 1LL, -1LL, 127LL, 128LL, -129LL, 0x7fffffffLL}) {
                if (!fits(v, bytes)) continue;
                const std::string w = cat(name(m), ", ", v);
                o.same("mov m, imm " + w, [&](auto& as) { as.mov(m, v); });
                o.same("cmp m, imm " + w, [&](auto& as) { as.cmp(m, v); });
                o.same("sub m, imm " + w, [&](auto& as) { as.sub(m, v); });
            }
        }
    }
    // The backend's own store widths: a byte through int8_t, a word through int16_t.
    o.same("mov byte imm", [&](auto& as) { as.mov(ax::ptr(ax::rdi, -3, 1), static_cast<int8_t>(-7)); });
    o.same("mov word imm", [&](auto& as) { as.mov(ax::ptr(ax::r13, 300, 2), static_cast<int16_t>(-700)); });
    // Sizeless address for lea (the peephole's base + index sum).
    o.same("lea sizeless", [&](auto& as) { as.lea(ax::r14, ax::ptr(ax::r13, ax::rbp, 0, 0)); });
}

// The raw-id forms the emitter's hottest paths use (dispatch.cpp): each against the asmjit
// instruction it stands for, on every register pair, both widths, every ALU row, and for loads and
// stores every size, base and displacement class.
TEST(X86Encoder, RawRegisterIdForms) {
    Oracle o;
    const std::pair<unsigned, a::InstId> rows[] = {{0, ax::Inst::kIdAdd}, {1, ax::Inst::kIdOr},  {4, ax::Inst::kIdAnd},
                                                   {5, ax::Inst::kIdSub}, {6, ax::Inst::kIdXor}, {7, ax::Inst::kIdCmp}};
    for (const bool wide : {false, true}) {
        const unsigned bytes = wide ? 8 : 4;
        for (uint32_t x = 0; x < 16; ++x) {
            for (uint32_t y = 0; y < 16; ++y) {
                const std::string w = cat(name(reg(x, bytes)), ", ", name(reg(y, bytes)));
                for (const auto& [row, id] : rows)
                    o.same(cat("alu_rr ", row, " ", w), [&](ax::Assembler& as) { as.emit(id, reg(x, bytes), reg(y, bytes)); },
                           [&](Encoder& as) { as.alu_rr(row, x, y, wide); });
                o.same("test_rr " + w, [&](ax::Assembler& as) { as.test(reg(x, bytes), reg(y, bytes)); },
                       [&](Encoder& as) { as.test_rr(x, y, wide); });
            }
            for (int64_t v : kImms) {
                if (v < INT32_MIN || v > INT32_MAX) continue;
                for (const auto& [row, id] : rows)
                    o.same(cat("alu_ri ", row, " ", name(reg(x, bytes)), ", ", v),
                           [&](ax::Assembler& as) { as.emit(id, reg(x, bytes), a::Imm(v)); },
                           [&](Encoder& as) { as.alu_ri(row, x, wide, static_cast<int32_t>(v)); });
            }
        }
    }
    const int32_t disps[] = {0, 1, -1, 127, 128, -128, -129, 32767, -32768, 0x7fffffff, -0x7fffffff - 1};
    for (unsigned log2_bytes = 0; log2_bytes < 4; ++log2_bytes) {
        const unsigned bytes = 1u << log2_bytes;
        for (uint32_t r = 0; r < 16; ++r) {
            for (uint32_t base = 0; base < 16; ++base) {
                for (int32_t disp : disps) {
                    const ax::Mem m = ax::ptr(ax::gpq(base), disp, bytes);
                    const std::string w = cat(name(reg(r, bytes)), ", ", name(m));
                    o.same("load " + w,
                           [&](ax::Assembler& as) {
                               if (bytes <= 2) as.movzx(reg(r, 4), m);
                               else as.mov(reg(r, bytes), m);
                           },
                           [&](Encoder& as) { as.load_store(false, log2_bytes, r, base, disp); });
                    o.same("store " + w, [&](ax::Assembler& as) { as.mov(m, reg(r, bytes)); },
                           [&](Encoder& as) { as.load_store(true, log2_bytes, r, base, disp); });
                }
            }
        }
    }
    EXPECT_GT(o.cases, 10000u);
}

TEST(X86Encoder, Alignment) {
    for (int before = 0; before < 40; ++before) {
        Oracle o;
        for (int i = 0; i < before; ++i) o.same("ret", [&](auto& as) { as.ret(); });
        o.same(cat("align 16 after ", before), [&](auto& as) { as.align(a::AlignMode::kCode, 16); });
    }
    for (int before = 0; before < 70; ++before) {
        Oracle o;
        for (int i = 0; i < before; ++i) o.same("ret", [&](auto& as) { as.ret(); });
        o.same(cat("align 64 after ", before), [&](auto& as) { as.align(a::AlignMode::kCode, 64); });
    }
}

TEST(X86Encoder, LabelsAndBranches) {
    Oracle o;
    // Backward branches at distances around the rel8 limit, and forward ones (always rel32).
    for (int gap : {0, 1, 100, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 200, 1000}) {
        a::Label back_theirs = o.theirs().newLabel();
        a::Label back_ours = o.ours().newLabel();
        o.theirs().bind(back_theirs);
        o.ours().bind(back_ours);
        for (int i = 0; i < gap; ++i) o.same("fill", [&](auto& as) { as.ret(); });
        auto back = [&](auto& as) -> const a::Label& {
            if constexpr (std::is_same_v<std::decay_t<decltype(as)>, Encoder>)
                return back_ours;
            else
                return back_theirs;
        };
        const std::string g = cat(" gap ", gap);
        o.same("jmp back" + g, [&](auto& as) { as.jmp(back(as)); });
        for (uint8_t cc = 0; cc < 16; ++cc)
            o.same("jcc back" + g, [&](auto& as) { as.j(static_cast<ax::CondCode>(cc), back(as)); });
        o.same("call back" + g, [&](auto& as) { as.call(back(as)); });
    }
    a::Label fwd_theirs = o.theirs().newLabel();
    a::Label fwd_ours = o.ours().newLabel();
    auto fwd = [&](auto& as) -> const a::Label& {
        if constexpr (std::is_same_v<std::decay_t<decltype(as)>, Encoder>)
            return fwd_ours;
        else
            return fwd_theirs;
    };
    o.same("jmp fwd", [&](auto& as) { as.jmp(fwd(as)); });
    for (uint8_t cc = 0; cc < 16; ++cc)
        o.same("jcc fwd", [&](auto& as) { as.j(static_cast<ax::CondCode>(cc), fwd(as)); });
    o.same("call fwd", [&](auto& as) { as.call(fwd(as)); });
    const uint8_t pad[300] = {};
    o.same("embed", [&](auto& as) { as.embed(pad, sizeof pad); });
    o.theirs().bind(fwd_theirs);
    o.ours().bind(fwd_ours);
    o.expect_equal_buffers();
}

TEST(X86Encoder, RefusesWhatItCannotEncode) {
    // Each is recorded as the first error and emits nothing.
    auto refused = [](auto emit, const char* message) {
        Encoder e(64);
        emit(e);
        EXPECT_EQ(e.offset(), 0u) << message;
        ASSERT_NE(e.error(), nullptr) << message;
        EXPECT_STREQ(e.error(), message);
        EXPECT_FALSE(e.finish());
    };
    refused([](Encoder& e) { e.mov(ax::eax, ax::rbx); }, "x86-64 encoder: mov: operand sizes differ");
    refused([](Encoder& e) { e.push(ax::eax); }, "x86-64 encoder: push/pop: needs a 64-bit register");
    refused([](Encoder& e) { e.mov(ax::rax, ax::ptr(ax::rbx, ax::rsp, 0, 0, 8)); },
            "x86-64 encoder: memory index must be a 64-bit register other than rsp");
    refused([](Encoder& e) { e.add(ax::eax, a::Imm(int64_t{1} << 40)); },
            "x86-64 encoder: ALU operation: immediate out of range");
    refused([](Encoder& e) { e.mov(ax::qword_ptr(ax::rax), a::Imm(int64_t{1} << 40)); },
            "x86-64 encoder: mov: bad immediate store");
    refused([](Encoder& e) { e.mov(ax::ah, ax::bh); },
            "x86-64 encoder: operand is not a general-purpose register");
    refused([](Encoder& e) { e.jmp(a::Label(5)); }, "x86-64 encoder: branch to an unknown label");
    refused([](Encoder& e) { e.emit(ax::Inst::kIdNop, ax::eax, ax::ebx); },
            "x86-64 encoder: unsupported two-register instruction");
    // A label used but never bound fails at finish.
    Encoder e(64);
    e.jmp(e.newLabel());
    EXPECT_FALSE(e.finish());
    EXPECT_STREQ(e.error(), "x86-64 encoder: branch to a label that was never bound");
    // The first error is kept.
    Encoder f(64);
    f.push(ax::eax);
    f.mov(ax::eax, ax::rbx);
    EXPECT_STREQ(f.error(), "x86-64 encoder: push/pop: needs a 64-bit register");
}

TEST(X86Encoder, GrowsPastItsFirstCapacity) {
    Encoder e(64);
    for (int i = 0; i < 10000; ++i) e.mov(ax::r13, a::Imm(INT64_MIN + i));
    ASSERT_EQ(e.offset(), 100000u);
    EXPECT_EQ(e.bufferData()[99990], 0x49);  // REX.W+B, B8+5, imm64
    EXPECT_EQ(e.bufferData()[99991], 0xbd);
}

}  // namespace
}  // namespace bpfvm::jit::x86

#endif  // __x86_64__
