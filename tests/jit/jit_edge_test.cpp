// Hand-written JIT tests for the edges of the ISA and of checked mode: division by zero,
// INT_MIN / -1, masked shifts (with and without BMI2), atomics, traps (call depth, out of bounds,
// budget, unknown helper, helper fault), packet loads, callbacks, compile errors and the dump.
// Every program also runs in the interpreter, which must agree.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>

#include "bpfvm/asm.hpp"
#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/detail/jit.hpp"
#include "program_util.hpp"
#if defined(__x86_64__)
#include "jit/x86_64/features.hpp"
#endif

namespace bpfvm {
namespace {

constexpr uint64_t kMin64 = 0x8000000000000000ull;

uint64_t helper_double(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return r1 * 2; }
uint64_t helper_fault(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->fault("test fault");
    return 0;
}
// Runs the callback whose function reference is r1 three times with r1 = i, summing the results.
uint64_t helper_loop(uint64_t func, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < 3 && ctx->stop == 0; ++i) sum += ctx->call_function(ctx, func, i, 0, 0, 0, 0);
    return sum;
}

const HelperTable& helpers() {
    static const HelperTable table = [] {
        HelperTable t;
        t.set(1, &helper_double);
        t.set(2, &helper_fault);
        t.set(3, &helper_loop);
        return t;
    }();
    return table;
}

struct Options {
    bool checked = true;
    uint64_t budget = 100'000'000;
    std::vector<uint8_t> mem;  // r1 = mem (a region), r2 = size
    const uint8_t* pkt = nullptr;
    uint32_t pkt_len = 0;
};

struct Outcome {
    uint64_t r0 = 0;
    Trap trap{};
    std::vector<uint8_t> mem;
};


Outcome run_exe(const Executable& exe, const Options& o) {
    Outcome out;
    out.mem = o.mem;
    RunContext ctx;
    const auto begin = reinterpret_cast<uint64_t>(out.mem.data());
    if (!out.mem.empty()) ctx.regions.push_back({begin, begin + out.mem.size(), true});
    ctx.pkt = o.pkt;
    ctx.pkt_len = o.pkt_len;
    const RunResult r = exe.run(ctx, out.mem.empty() ? 0 : begin, out.mem.size());
    out.r0 = r.r0;
    out.trap = r.trap;
    return out;
}

/// Runs `text` in the JIT and in the interpreter (same options); expects both to agree, returns the JIT's.
Outcome run(std::string_view text, const Options& o = {}) {
    const Program program = assemble_program(text);
    EngineOptions eo;
    eo.checked = o.checked;
    eo.insn_budget = o.budget;
    auto jit = jit::compile(program, helpers(), eo);
    EXPECT_TRUE(jit.has_value()) << jit.error().to_string();
    if (!jit) return {};
    const Outcome got = run_exe(**jit, o);
    auto interp = interp::prepare(program, helpers(), eo);
    EXPECT_TRUE(interp.has_value());
    if (interp && got.trap.kind != TrapKind::InsnBudget) {  // budgets count different things
        const Outcome want = run_exe(**interp, o);
        EXPECT_EQ(static_cast<int>(want.trap.kind), static_cast<int>(got.trap.kind)) << text;
        EXPECT_EQ(want.trap.pc, got.trap.pc) << text;
        if (got.trap.kind == TrapKind::None) {
            EXPECT_EQ(want.r0, got.r0) << text;
        }
        EXPECT_EQ(want.mem, got.mem) << text;
    }
    return got;
}

uint64_t r0_of(std::string_view text, const Options& o = {}) {
    const Outcome out = run(text, o);
    EXPECT_EQ(static_cast<int>(out.trap.kind), static_cast<int>(TrapKind::None)) << text;
    return out.r0;
}

TEST(JitEdge, DivisionByZero) {
    EXPECT_EQ(r0_of("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit"), 0u);
    EXPECT_EQ(r0_of("mov %r0, 7\ndiv %r0, 0\nexit"), 0u);
    EXPECT_EQ(r0_of("mov %r0, 7\nmov %r1, 0\nmod %r0, %r1\nexit"), 7u);
    EXPECT_EQ(r0_of("mov %r0, 7\nmod %r0, 0\nexit"), 7u);
    EXPECT_EQ(r0_of("mov %r0, -1\nmov %r1, 0\nsdiv %r0, %r1\nexit"), 0u);
    EXPECT_EQ(r0_of("mov %r0, -7\nmov %r1, 0\nsmod %r0, %r1\nexit"), static_cast<uint64_t>(-7));
    // 32-bit modulo by zero leaves the low half and clears the upper half.
    EXPECT_EQ(r0_of("lddw %r0, 0x1234567800000009\nmov %r1, 0\nmod32 %r0, %r1\nexit"), 9u);
    EXPECT_EQ(r0_of("lddw %r0, 0x1234567800000009\nmod32 %r0, 0\nexit"), 9u);
    EXPECT_EQ(r0_of("lddw %r0, 0x1234567800000009\nlddw %r1, 0x100000000\ndiv32 %r0, %r1\nexit"), 0u);
    EXPECT_EQ(r0_of("lddw %r0, 0x12345678fffffff9\nsmod32 %r0, 0\nexit"), 0xfffffff9u);
    // Divisions involving r0 and r3, which the x86 divide instruction uses implicitly.
    EXPECT_EQ(r0_of("mov %r3, 100\nmov %r0, 7\ndiv %r3, %r0\nmov %r0, %r3\nexit"), 14u);
    EXPECT_EQ(r0_of("mov %r3, 100\nmov %r0, 7\nmod %r0, %r3\nexit"), 7u);
    EXPECT_EQ(r0_of("mov %r3, 3\nmov %r0, 100\nmov %r4, 9\nmod %r4, %r3\nadd %r0, %r4\nadd %r0, %r3\nexit"), 103u);
}

TEST(JitEdge, SignedMinByMinusOne) {
    EXPECT_EQ(r0_of("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit"), kMin64);
    EXPECT_EQ(r0_of("lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit"), kMin64);
    EXPECT_EQ(r0_of("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit"), 0u);
    EXPECT_EQ(r0_of("lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit"), 0u);
    EXPECT_EQ(r0_of("lddw %r0, 0xffffffff80000000\nmov %r1, -1\nsdiv32 %r0, %r1\nexit"), 0x80000000u);
    EXPECT_EQ(r0_of("mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit"), 0x80000000u);
    EXPECT_EQ(r0_of("mov32 %r0, 0x80000000\nlddw %r1, 0x12345678ffffffff\nsmod32 %r0, %r1\nexit"), 0u);
    EXPECT_EQ(r0_of("mov %r0, -7\nsmod %r0, 2\nexit"), static_cast<uint64_t>(-1));
    EXPECT_EQ(r0_of("mov %r0, 7\nsmod %r0, -2\nexit"), 1u);
    EXPECT_EQ(r0_of("mov %r0, -7\nmov %r1, 2\nsdiv32 %r0, %r1\nexit"), 0xfffffffdu);
}

class JitShift : public ::testing::TestWithParam<bool> {  // parameter: allow BMI2
protected:
    void SetUp() override {
#if defined(__x86_64__)
        saved_ = jit::x86::host_features().bmi2;
        if (!GetParam()) jit::x86::host_features().bmi2 = false;
#endif
    }
    void TearDown() override {
#if defined(__x86_64__)
        jit::x86::host_features().bmi2 = saved_;
#endif
    }
    bool saved_ = false;
};

TEST_P(JitShift, CountsAreMasked) {
    EXPECT_EQ(r0_of("mov %r0, 1\nlsh %r0, 63\nexit"), kMin64);
    EXPECT_EQ(r0_of("mov %r0, 1\nmov %r1, 63\nlsh %r0, %r1\nexit"), kMin64);
    EXPECT_EQ(r0_of("mov %r0, 5\nmov %r1, 64\nlsh %r0, %r1\nexit"), 5u);
    EXPECT_EQ(r0_of("mov %r0, 5\nmov %r4, 65\nrsh %r0, %r4\nexit"), 2u);
    EXPECT_EQ(r0_of("mov %r4, -1\nmov %r1, 60\nrsh %r4, %r1\nmov %r0, %r4\nexit"), 0xfu);  // dst is rcx
    EXPECT_EQ(r0_of("mov %r4, 3\nlsh %r4, %r4\nmov %r0, %r4\nexit"), 24u);               // dst = src = rcx
    EXPECT_EQ(r0_of("mov %r0, -8\nmov %r1, 66\narsh %r0, %r1\nexit"), static_cast<uint64_t>(-2));
    // 32-bit: count mod 32, and the result is zero-extended even for a count of 0.
    EXPECT_EQ(r0_of("lddw %r0, 0xffffffff00000003\nmov %r1, 32\nlsh32 %r0, %r1\nexit"), 3u);
    EXPECT_EQ(r0_of("lddw %r0, 0xffffffff00000003\nmov %r1, 0\nrsh32 %r0, %r1\nexit"), 3u);
    EXPECT_EQ(r0_of("lddw %r0, 0xffffffff80000000\nmov %r1, 0\narsh32 %r0, %r1\nexit"), 0x80000000u);
    EXPECT_EQ(r0_of("lddw %r0, 0xffffffff00000003\nlsh32 %r0, 32\nexit"), 3u);
    EXPECT_EQ(r0_of("lddw %r0, 0xffffffff80000000\narsh32 %r0, 31\nexit"), 0xffffffffu);
    EXPECT_EQ(r0_of("lddw %r4, 0xffffffff80000000\nmov %r1, 33\narsh32 %r4, %r1\nmov %r0, %r4\nexit"), 0xc0000000u);
}

INSTANTIATE_TEST_SUITE_P(Bmi2, JitShift, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Host" : "NoBmi2"; });

TEST(JitEdge, ByteSwapsAndSignExtension) {
    EXPECT_EQ(r0_of("lddw %r0, 0x1122334455667788\nle16 %r0\nexit"), 0x7788u);
    EXPECT_EQ(r0_of("lddw %r0, 0x1122334455667788\nbe16 %r0\nexit"), 0x8877u);
    EXPECT_EQ(r0_of("lddw %r0, 0x1122334455667788\nbe32 %r0\nexit"), 0x88776655u);
    EXPECT_EQ(r0_of("lddw %r0, 0x1122334455667788\nbswap64 %r0\nexit"), 0x8877665544332211u);
    EXPECT_EQ(r0_of("mov %r1, 0x80\nmovsx864 %r0, %r1\nexit"), static_cast<uint64_t>(-128));
    EXPECT_EQ(r0_of("mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit"), 0xffff8000u);
    EXPECT_EQ(r0_of("mov32 %r1, 0x80000000\nmovsx3264 %r0, %r1\nexit"), 0xffffffff80000000u);
    EXPECT_EQ(r0_of("mov %r0, -1\nneg32 %r0\nexit"), 1u);
}

TEST(JitEdge, Atomics) {
    const std::string setup = "lddw %r0, 0x00000000ffffffff\nstxdw [%r10-8], %r0\n";
    EXPECT_EQ(r0_of(setup + "mov %r1, 1\nlock fetch add32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit"),
              0xffffffffu);  // the low word wrapped to 0, r1 = old value
    EXPECT_EQ(r0_of(setup + "mov %r1, 1\nlock fetch add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit"), 0x100000000u);
    EXPECT_EQ(r0_of(setup + "mov %r0, 0xf0\nlock fetch or32 [%r10-8], %r0\nexit"), 0xffffffffu);  // src is r0
    EXPECT_EQ(r0_of(setup + "mov %r0, 0xf0\nlock fetch and [%r10-8], %r0\nldxdw %r0, [%r10-8]\nexit"), 0xf0u);
    EXPECT_EQ(r0_of(setup + "mov %r2, -1\nlock fetch xor [%r10-8], %r2\nldxdw %r0, [%r10-8]\nadd %r0, %r2\nexit"),
              0xffffffff00000000u + 0xffffffffu);
    EXPECT_EQ(r0_of(setup + "mov %r2, 5\nlock xchg32 [%r10-8], %r2\nldxdw %r0, [%r10-8]\nadd %r0, %r2\nexit"),
              5ull + 0xffffffffull);
    EXPECT_EQ(r0_of(setup + "mov %r2, 5\nlock or [%r10-8], %r2\nlock and [%r10-8], %r2\nlock xor [%r10-8], %r2\n"
                            "lock add [%r10-8], %r2\nldxdw %r0, [%r10-8]\nexit"),
              5u);
    // cmpxchg32 success: r0 becomes the zero-extended old value.
    EXPECT_EQ(r0_of(setup + "lddw %r0, 0x77777777ffffffff\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nexit"), 0xffffffffu);
    EXPECT_EQ(r0_of(setup + "mov %r0, 1\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nexit"),
              0xffffffffull + 0xffffffffull);
    // The base register is r0, which cmpxchg also uses as the comparand.
    Options unchecked;
    unchecked.checked = false;
    EXPECT_EQ(r0_of("mov %r0, %r10\nadd %r0, -8\nstdw [%r10-8], 3\nlock fetch or [%r0+0], %r0\nexit", unchecked), 3u);
}

TEST(JitEdge, CallDepthTrap) {
    const Outcome out = run("mov %r0, 0\ncall local f\nexit\nf:\nadd %r0, 1\ncall local f\nexit");
    EXPECT_EQ(out.trap.kind, TrapKind::CallDepth);
    EXPECT_EQ(out.trap.pc, 4u);
    // Seven nested calls (eight frames, the limit) are fine.
    const char* seven = "mov %r6, 6\ncall local f\nexit\nf:\nmov %r0, %r6\njeq %r6, 0, done\nsub %r6, 1\ncall local f\n"
                        "add %r0, 1\ndone:\nexit";
    EXPECT_EQ(r0_of(seven), 6u);
}

TEST(JitEdge, LocalCallsPreserveCalleeSavedAndFrames) {
    EXPECT_EQ(r0_of("mov %r6, 6\nmov %r9, 9\nstdw [%r10-8], 40\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\n"
                    "add %r0, %r6\nadd %r0, %r9\nexit\n"
                    "f:\nmov %r6, 100\nmov %r9, 100\nstdw [%r10-8], 1000\nmov %r0, 2\nexit"),
              57u);
}

TEST(JitEdge, OutOfBoundsTrapsInCheckedMode) {
    Options o;
    o.mem.assign(16, 0xab);
    Outcome out = run("ldxdw %r0, [%r1+12]\nexit", o);
    EXPECT_EQ(out.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(out.trap.pc, 0u);
    EXPECT_EQ(out.trap.size, 8u);
    EXPECT_FALSE(out.trap.write);
    out = run("mov %r0, 0\nstb [%r1+16], 1\nexit", o);
    EXPECT_EQ(out.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(out.trap.pc, 1u);
    EXPECT_EQ(out.trap.size, 1u);
    EXPECT_TRUE(out.trap.write);
    out = run("mov %r2, %r10\nstxdw [%r2-520], %r1\nexit", o);  // below the frame
    EXPECT_EQ(out.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(out.trap.pc, 1u);
    out = run("lock add [%r10-4], %r1\nexit", o);  // straddles the frame top
    EXPECT_EQ(out.trap.kind, TrapKind::OutOfBounds);
    // In bounds: the buffer edge and the whole frame.
    EXPECT_EQ(r0_of("ldxdw %r0, [%r1+8]\nstdw [%r10-512], 1\nldxb %r2, [%r10-512]\nadd %r0, %r2\nexit", o),
              0xababababababababu + 1);
}

TEST(JitEdge, OutOfBoundsAddressIsReported) {
    Options o;
    o.mem.assign(16, 0);
    const Program program = assemble_program("ldxw %r0, [%r1+14]\nexit");
    auto jit = jit::compile(program, helpers(), EngineOptions{});
    ASSERT_TRUE(jit.has_value());
    RunContext ctx;
    const auto begin = reinterpret_cast<uint64_t>(o.mem.data());
    ctx.regions.push_back({begin, begin + 16, true});
    const RunResult r = (*jit)->run(ctx, begin, 16);
    EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(r.trap.addr, begin + 14);
    EXPECT_EQ(r.trap.size, 4u);
}

TEST(JitEdge, BudgetTrap) {
    Options o;
    o.budget = 1000;
    const Outcome out = run("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit", o);
    EXPECT_EQ(out.trap.kind, TrapKind::InsnBudget);
    EXPECT_EQ(out.trap.pc, 2u);
    // A bounded loop within the budget completes.
    EXPECT_EQ(r0_of("mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 400, loop\nexit", o), 400u);
}

TEST(JitEdge, HelperCalls) {
    EXPECT_EQ(r0_of("mov %r1, 21\nmov %r6, 5\ncall 1\nadd %r0, %r6\nexit"), 47u);
    EXPECT_EQ(r0_of("mov %r1, 4\nmov %r2, 1\ncallx %r2\nexit"), 8u);
    Outcome out = run("mov %r2, 77\ncallx %r2\nexit");
    EXPECT_EQ(out.trap.kind, TrapKind::UnknownHelper);
    EXPECT_EQ(out.trap.pc, 1u);
    EXPECT_EQ(out.trap.addr, 77u);
    out = run("mov %r2, -1\ncallx %r2\nexit");
    EXPECT_EQ(out.trap.kind, TrapKind::UnknownHelper);
    EXPECT_EQ(out.trap.addr, ~0ull);
    out = run("mov %r0, 1\ncall 2\nmov %r0, 3\nexit");
    EXPECT_EQ(out.trap.kind, TrapKind::HelperFault);
    EXPECT_EQ(out.trap.pc, 1u);
}

TEST(JitEdge, CallbacksThroughCallFunction) {
    // lddw src=4 (function reference) built by hand: the assembler has no syntax for it.
    std::vector<RawInsn> raw;
    auto add = [&](Op op, uint8_t dst, uint8_t src, int16_t off, int64_t imm) {
        Insn insn;
        insn.op = op;
        insn.dst = dst;
        insn.src = src;
        insn.off = off;
        insn.imm = imm;
        encode_insn(insn, raw);
    };
    add(Op::Lddw, 1, static_cast<uint8_t>(LddwKind::Func), 0, 4);  // slots 0-1; target slot 0 + 1 + 4 = 5
    add(Op::CallHelper, 0, 0, 0, 3);                                // slot 2: helper_loop
    add(Op::Add64Imm, 0, 0, 0, 1000);                               // slot 3
    add(Op::Exit, 0, 0, 0, 0);                                      // slot 4
    add(Op::Mov64Reg, 0, 1, 0, 0);                                  // slot 5: callback r0 = r1 * 10
    add(Op::Mul64Imm, 0, 0, 0, 10);
    add(Op::Stx64, kFrameReg, 0, -8, 0);  // uses its own frame
    add(Op::Exit, 0, 0, 0, 0);
    auto program = decode_program(std::span<const RawInsn>(raw));
    ASSERT_TRUE(program.has_value()) << program.error().to_string();
    for (bool checked : {true, false}) {
        EngineOptions eo;
        eo.checked = checked;
        auto jit = jit::compile(*program, helpers(), eo);
        ASSERT_TRUE(jit.has_value());
        RunContext ctx;
        const RunResult r = (*jit)->run(ctx, 0, 0);
        EXPECT_EQ(r.trap.kind, TrapKind::None);
        EXPECT_EQ(r.r0, 1030u);  // 0 + 10 + 20 + 1000
    }
}

TEST(JitEdge, CallbacksStartOnlyWhereAFunctionStarts) {
    // helper_loop's callback is r1, here a plain number: the middle of a run the interpreter keeps
    // in a host register (slot 4), the start of code no call or function reference names (slot 3),
    // and past the end. Every engine faults at the helper call, as the kernel refuses such a
    // callback, instead of entering fused code half-way.
    for (const char* func : {"4", "3", "7", "1000"}) {
        const std::string text = std::string("mov %r1, ") + func +
                                 "\ncall 3\nexit\nadd %r2, 1\nadd %r2, 2\nmov %r0, %r2\nexit";
        for (const bool checked : {true, false}) {
            Options o;
            o.checked = checked;
            const Outcome out = run(text, o);
            EXPECT_EQ(out.trap.kind, TrapKind::HelperFault) << text;
            EXPECT_EQ(out.trap.pc, 1u) << text;
        }
    }
}

TEST(JitEdge, CallbackRecursionTrapsCallDepthLikeTheInterpreter) {
    // main: r1 = &cb; call helper_loop. cb: r1 = &cb; call helper_loop (unbounded recursion).
    std::vector<RawInsn> raw;
    auto add = [&](Op op, uint8_t dst, uint8_t src, int64_t imm) {
        Insn insn;
        insn.op = op;
        insn.dst = dst;
        insn.src = src;
        insn.imm = imm;
        encode_insn(insn, raw);
    };
    add(Op::Lddw, 1, static_cast<uint8_t>(LddwKind::Func), 3);  // slots 0-1 -> slot 4
    add(Op::CallHelper, 0, 0, 3);                                // slot 2
    add(Op::Exit, 0, 0, 0);                                      // slot 3
    add(Op::Lddw, 1, static_cast<uint8_t>(LddwKind::Func), -1);  // slots 4-5 -> slot 4
    add(Op::CallHelper, 0, 0, 3);                                // slot 6
    add(Op::Exit, 0, 0, 0);
    auto program = decode_program(std::span<const RawInsn>(raw));
    ASSERT_TRUE(program.has_value()) << program.error().to_string();
    for (bool checked : {true, false}) {
        EngineOptions eo;
        eo.checked = checked;
        auto jit = jit::compile(*program, helpers(), eo);
        auto interp = interp::prepare(*program, helpers(), eo);
        ASSERT_TRUE(jit.has_value() && interp.has_value());
        RunContext jit_ctx, interp_ctx;
        const RunResult got = (*jit)->run(jit_ctx, 0, 0);
        const RunResult want = (*interp)->run(interp_ctx, 0, 0);
        EXPECT_EQ(got.trap.kind, TrapKind::CallDepth);
        EXPECT_EQ(got.trap.pc, 6u);
        EXPECT_EQ(static_cast<int>(want.trap.kind), static_cast<int>(got.trap.kind));
        EXPECT_EQ(want.trap.pc, got.trap.pc);
    }
}

TEST(JitEdge, PacketLoads) {
    const uint8_t pkt[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
    Options o;
    o.pkt = pkt;
    o.pkt_len = sizeof pkt;
    EXPECT_EQ(r0_of("ldabsw 1\nexit", o), 0x22334455u);
    EXPECT_EQ(r0_of("mov %r3, 3\nldindh %r3, 1\nexit", o), 0x5566u);
    EXPECT_EQ(r0_of("mov %r6, 9\nldabsb 0\nadd %r0, %r6\nexit", o), 0x11u + 9);
    // Out of range: the program ends with r0 = 0, no trap.
    EXPECT_EQ(r0_of("mov %r0, 5\nldabsw 3\nmov %r0, 9\nexit", o), 0u);
    EXPECT_EQ(r0_of("mov %r3, -1\nldindb %r3, 0\nmov %r0, 9\nexit", o), 0u);
    const Outcome out = run("ldabsb 0\nexit");  // no packet
    EXPECT_EQ(out.trap.kind, TrapKind::Unsupported);
    EXPECT_EQ(out.trap.pc, 0u);
}

TEST(JitEdge, UnsupportedInstructionsAreCompileErrors) {
    auto compile_text = [](std::string_view text) {
        return jit::compile(assemble_program(text), helpers(), EngineOptions{});
    };
    auto r = compile_text("mov %r0, 0\ncall kfunc 7\nexit");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().to_string(), "insn 1: kfunc call (btf id 7) is not supported by the JIT");
    r = compile_text("mov %r0, 0\ncall 250\nexit");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().to_string(), "insn 1: call to unknown helper 250");
    r = compile_text("mov %r0, 0\ncall 12\nexit");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().to_string(), "insn 1: call to unknown helper 12 (tail_call)");
    std::vector<RawInsn> raw(3);
    raw[0].opcode = 0x18;
    raw[0].set_dst(1);
    raw[0].set_src(1);  // map fd
    raw[2].opcode = 0x95;
    auto program = decode_program(std::span<const RawInsn>(raw));
    ASSERT_TRUE(program.has_value());
    r = jit::compile(*program, helpers(), EngineOptions{});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().to_string(),
              "insn 0: lddw with unresolved pseudo source 1 (map or BTF reference) cannot be compiled");
}

TEST(JitEdge, DumpListsEveryInstruction) {
    const Program program = assemble_program("mov %r0, 1\nadd %r0, 2\nexit");
    auto text = jit::dump(program, helpers(), EngineOptions{});
    ASSERT_TRUE(text.has_value()) << text.error().to_string();
    EXPECT_NE(text->find("    0: r0 = 1"), std::string::npos) << *text;
    EXPECT_NE(text->find("    2: exit"), std::string::npos) << *text;
    EXPECT_NE(text->find("; entry points"), std::string::npos) << *text;
}

}  // namespace
}  // namespace bpfvm
