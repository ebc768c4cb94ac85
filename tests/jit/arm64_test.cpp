// AArch64 JIT backend tests (run natively on arm64 or under qemu-user): the conformance suite
// with each atomic strategy and both memory modes, engine agreement on targeted programs
// (immediate materialisation, traps, calls, packet loads, far branches), and compile errors.
#if defined(__aarch64__)

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpfvm/asm.hpp"
#include "bpfvm/runners/conformance.hpp"
#include "bpfvm/detail/jit.hpp"
#include "bpfvm/vm.hpp"
#include "jit/arm64/features.hpp"

namespace bpfvm {
namespace {

/// Restores LSE detection when a test that forced a strategy ends.
struct LseOverride {
    explicit LseOverride(int mode) { jit::arm64::set_lse_override(mode); }
    ~LseOverride() { jit::arm64::set_lse_override(-1); }
};

Program assemble_or_die(const std::string& text) {
    auto raw = assemble(text);
    EXPECT_TRUE(raw.has_value()) << (raw ? "" : raw.error().to_string());
    if (!raw) return {};
    auto program = decode_program(std::span<const RawInsn>(*raw));
    EXPECT_TRUE(program.has_value()) << (program ? "" : program.error().to_string());
    return program ? *program : Program{};
}

/// One run of `program` on `engine` with r1 pointing at a copy of `memory`.
struct Outcome {
    RunResult result;
    std::vector<uint8_t> memory;
    std::string error;  // prepare error
    uint64_t base = 0;
};

Outcome run_on(const Program& program, EngineKind engine, const HelperTable& helpers, std::vector<uint8_t> memory,
               const EngineOptions& options = {}, RunContext* context = nullptr) {
    Outcome out;
    auto exe = prepare(program, engine, helpers, options);
    if (!exe) {
        out.error = exe.error().to_string();
        return out;
    }
    RunContext local;
    RunContext& ctx = context ? *context : local;
    out.memory = std::move(memory);
    out.base = out.memory.empty() ? 0 : reinterpret_cast<uint64_t>(out.memory.data());
    if (!out.memory.empty()) ctx.regions.push_back({out.base, out.base + out.memory.size(), true});
    out.result = (*exe)->run(ctx, out.base, out.memory.size());
    return out;
}

/// Runs on the interpreter and the JIT (checked and unchecked) and expects identical outcomes.
RunResult expect_agree(const std::string& text, std::vector<uint8_t> memory = {}, const HelperTable& helpers = {}) {
    const Program program = assemble_or_die(text);
    const Outcome ref = run_on(program, EngineKind::Interp, helpers, memory);
    EXPECT_EQ(ref.error, "");
    for (const bool checked : {true, false}) {
        EngineOptions options;
        options.checked = checked;
        const Outcome jit = run_on(program, EngineKind::Jit, helpers, memory, options);
        EXPECT_EQ(jit.error, "");
        EXPECT_EQ(jit.result.r0, ref.result.r0) << "checked=" << checked << "\n" << text;
        EXPECT_EQ(jit.result.trap.kind, ref.result.trap.kind) << "checked=" << checked;
        EXPECT_EQ(jit.memory, ref.memory) << "checked=" << checked;
    }
    return ref.result;
}

// ---- conformance suite, every strategy --------------------------------------------------------

void run_suite(const EngineOptions& options, const char* label) {
    auto files = list_conformance_files(std::string(BPFVM_SHARED_DIR) + "/conformance/tests");
    if (!files || files->empty()) GTEST_SKIP() << "conformance suite not found under " << BPFVM_SHARED_DIR;
    int passed = 0, total = 0;
    for (const auto& path : *files) {
        auto test = load_conformance_test(path);
        ASSERT_TRUE(test.has_value()) << test.error().to_string();
        if (!test->result) continue;  // error and skip cases are covered by the conformance runner
        ++total;
        auto r0 = run_conformance_program(test->program, test->memory, EngineKind::Jit, options);
        if (!r0) {
            ADD_FAILURE() << label << ": " << test->name << ": " << r0.error().to_string();
        } else if (*r0 != *test->result) {
            ADD_FAILURE() << label << ": " << test->name << ": r0 = " << std::hex << *r0 << ", expected " << *test->result;
        } else {
            ++passed;
        }
    }
    EXPECT_EQ(passed, total) << label;
}

TEST(Arm64Conformance, CheckedLlsc) {
    LseOverride force(0);
    run_suite(EngineOptions{}, "checked, LL/SC atomics");
}

TEST(Arm64Conformance, UncheckedLlsc) {
    LseOverride force(0);
    EngineOptions options;
    options.checked = false;
    run_suite(options, "unchecked, LL/SC atomics");
}

TEST(Arm64Conformance, CheckedLse) {
    if (!jit::arm64::lse_available()) GTEST_SKIP() << "CPU without LSE atomics";
    LseOverride force(1);
    run_suite(EngineOptions{}, "checked, LSE atomics");
}

TEST(Arm64Conformance, UncheckedLse) {
    if (!jit::arm64::lse_available()) GTEST_SKIP() << "CPU without LSE atomics";
    LseOverride force(1);
    EngineOptions options;
    options.checked = false;
    run_suite(options, "unchecked, LSE atomics");
}

// ---- engine agreement on targeted programs -----------------------------------------------------

TEST(Arm64Jit, ImmediatesAndAlu) {
    // Values that exercise movz/movn/movk and logical-immediate materialisation, and ALU
    // immediates that do or do not fit the instruction encodings.
    expect_agree(R"(
        lddw %r0, 0x123456789abcdef0
        lddw %r1, 0xffffffff00000000
        xor %r0, %r1
        lddw %r1, 0x0000ffff0000ffff
        add %r0, %r1
        lddw %r1, 0xffff1234ffffffff
        xor %r0, %r1
        lddw %r1, 0x8000000000000000
        add %r0, %r1
        mov %r1, -1
        mul %r0, %r1
        mov32 %r1, -2
        add %r0, %r1
        add %r0, 4096
        add %r0, -4096
        add %r0, 0x123456
        sub %r0, -5
        sub %r0, 0x7fffffff
        add32 %r0, -2147483648
        or %r0, 0x0ff0
        xor %r0, 0x12345
        and %r0, -16
        mul %r0, -3
        mov %r2, %r0
        div %r2, -1
        add %r0, %r2
        mod %r0, 1000003
        lsh %r0, 67
        arsh %r0, 2
        rsh32 %r0, 33
        arsh32 %r0, 65
        exit)");
    expect_agree(R"(
        lddw %r1, 0xfedcba9876543210
        mov32 %r0, %r1
        mov %r2, %r1
        and32 %r2, 0
        add %r0, %r2
        xor32 %r1, -1
        add %r0, %r1
        lddw %r3, 0xffffffffffffffff
        mov32 %r3, %r3
        add %r0, %r3
        lddw %r4, 0x8000000000000000
        sdiv %r4, -1
        add %r0, %r4
        lddw %r4, 0x80000000
        sdiv32 %r4, -1
        add %r0, %r4
        mov %r5, -7
        smod %r5, 2
        add %r0, %r5
        mov %r5, -7
        smod32 %r5, 0
        add %r0, %r5
        mov32 %r5, 9
        mod32 %r5, 0
        add %r0, %r5
        mov %r5, 9
        div %r5, 0
        add %r0, %r5
        exit)");
}

TEST(Arm64Jit, SignExtensionAndSwaps) {
    expect_agree(R"(
        lddw %r1, 0x89abcdef01928384
        movsx864 %r0, %r1
        movsx1664 %r2, %r1
        add %r0, %r2
        movsx3264 %r2, %r1
        add %r0, %r2
        movsx832 %r2, %r1
        add %r0, %r2
        movsx1632 %r2, %r1
        add %r0, %r2
        mov %r2, %r1
        be16 %r2
        add %r0, %r2
        mov %r2, %r1
        be32 %r2
        add %r0, %r2
        mov %r2, %r1
        be64 %r2
        xor %r0, %r2
        mov %r2, %r1
        le16 %r2
        add %r0, %r2
        mov %r2, %r1
        le32 %r2
        add %r0, %r2
        mov %r2, %r1
        bswap16 %r2
        add %r0, %r2
        mov %r2, %r1
        bswap32 %r2
        add %r0, %r2
        neg32 %r1
        add %r0, %r1
        exit)");
}

TEST(Arm64Jit, JumpImmediates) {
    // cmn for small negative immediates, a register for large ones, tst for jset.
    const char* conditions[] = {"jeq", "jne", "jgt", "jge", "jlt", "jle", "jset", "jsgt", "jsge", "jslt", "jsle"};
    const char* values[] = {"0", "5", "-5", "4095", "-4095", "4096", "-4096", "0x7fffffff", "-2147483648", "0x0ff0"};
    const char* inputs[] = {"0", "5", "-5", "4096", "-4096", "0x7fffffff", "0xffffffff80000000", "0x100000ff0"};
    for (const char* input : inputs) {
        std::string text = "lddw %r1, " + std::string(input) + "\nmov %r0, 0\n";
        int bit = 0;
        for (const char* cond : conditions) {
            for (const char* value : values) {
                for (const char* width : {"", "32"}) {
                    const std::string label = "l" + std::to_string(bit);
                    text += std::string(cond) + width + " %r1, " + value + ", " + label + "\n";
                    text += "xor %r0, " + std::to_string(1 + bit % 1000) + "\nlsh %r0, 1\n" + label + ":\n";
                    ++bit;
                }
            }
        }
        text += "exit\n";
        expect_agree(text);
    }
}

TEST(Arm64Jit, MemoryOffsets) {
    // Negative, unaligned and large offsets; sign-extending loads; stores of immediates.
    std::vector<uint8_t> memory(9000);
    for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(i * 7 + 3);
    expect_agree(R"(
        mov %r6, %r1
        add %r6, 4500
        ldxdw %r0, [%r6-4497]
        ldxw %r2, [%r6+4095]
        add %r0, %r2
        ldxh %r2, [%r6-3]
        add %r0, %r2
        ldxsb %r2, [%r6+255]
        add %r0, %r2
        ldxsh %r2, [%r6-257]
        add %r0, %r2
        ldxsw %r2, [%r6+4099]
        add %r0, %r2
        stdw [%r6-4500], -2
        stw [%r6+1], 0x12345678
        sth [%r6+4498], -1
        stb [%r6-4499], 0x80
        stxdw [%r6+4001], %r0
        stxw [%r6-9], %r0
        stxh [%r6-1], %r0
        stxb [%r6+7], %r0
        stxdw [%r10-8], %r0
        stxw [%r10-13], %r0
        ldxdw %r3, [%r10-16]
        stxdw [%r10-512], %r3
        ldxb %r3, [%r10-9]
        add %r0, %r3
        exit)",
                 memory);
}

TEST(Arm64Jit, AtomicsBothStrategiesAndMisaligned) {
    const std::string program = R"(
        mov %r6, %r1
        lddw %r2, 0x1111111111111111
        lock add [%r6+0], %r2
        lock fetch or [%r6+8], %r2
        mov %r0, %r2
        mov %r3, 0x0ff0
        lock and32 [%r6+16], %r3
        lock fetch xor32 [%r6+20], %r3
        add %r0, %r3
        mov %r4, 77
        lock xchg [%r6+24], %r4
        add %r0, %r4
        ldxdw %r0, [%r6+24]
        lock cmpxchg [%r6+24], %r4
        mov %r5, 99
        lock cmpxchg32 [%r6+32], %r5
        add %r0, %r5
        mov %r7, 5
        lock fetch add [%r6+41], %r7
        add %r0, %r7
        lock fetch and32 [%r6+45], %r7
        add %r0, %r7
        lock xchg32 [%r6+51], %r7
        add %r0, %r7
        ldxw %r0, [%r6+51]
        lock cmpxchg32 [%r6+51], %r2
        stxdw [%r10-16], %r2
        stxdw [%r10-8], %r3
        lock fetch add [%r10-16], %r2
        lock fetch or32 [%r10-7], %r2
        add %r0, %r2
        exit)";
    std::vector<uint8_t> memory(64);
    for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(0x5a ^ (i * 13));
    {
        LseOverride force(0);
        expect_agree(program, memory);
    }
    if (jit::arm64::lse_available()) {
        LseOverride force(1);
        expect_agree(program, memory);
    }
}

TEST(Arm64Jit, LocalCallsKeepCalleeSavedRegisters) {
    const RunResult r = expect_agree(R"(
        mov %r6, 6
        mov %r7, 7
        mov %r8, 8
        mov %r9, 9
        mov %r1, 10
        stxdw [%r10-8], %r1
        call local f
        add %r0, %r6
        add %r0, %r7
        add %r0, %r8
        add %r0, %r9
        add %r0, %r1
        ldxdw %r2, [%r10-8]
        add %r0, %r2
        exit
        f:
        mov %r6, 100
        mov %r7, 100
        stxdw [%r10-8], %r6
        mov %r1, 1000
        call local g
        ldxdw %r0, [%r10-8]
        add %r0, %r1
        exit
        g:
        mov %r1, 3
        mov %r0, 1
        exit)");
    EXPECT_EQ(r.r0, 100u + 3 + 6 + 7 + 8 + 9 + 3 + 10);
}

TEST(Arm64Jit, Traps) {
    std::vector<uint8_t> memory(16);
    struct Case {
        const char* text;
        TrapKind kind;
    } cases[] = {
        {"ldxw %r0, [%r1+13]\nexit", TrapKind::OutOfBounds},
        {"mov %r0, 0\nstw [%r10+0], 1\nexit", TrapKind::OutOfBounds},
        {"mov %r2, %r10\nstxdw [%r2-520], %r1\nexit", TrapKind::OutOfBounds},
        {"mov %r0, 0\nlock add [%r1+16], %r0\nexit", TrapKind::OutOfBounds},
        {"f:\ncall local f\nexit", TrapKind::CallDepth},
        {"mov %r2, 77\ncallx %r2\nexit", TrapKind::UnknownHelper},
        {"lddw %r2, 0x100000005\ncallx %r2\nexit", TrapKind::UnknownHelper},
    };
    for (const Case& c : cases) {
        const Program program = assemble_or_die(c.text);
        const Outcome ref = run_on(program, EngineKind::Interp, conformance_helpers(), memory);
        const Outcome jit = run_on(program, EngineKind::Jit, conformance_helpers(), memory);
        ASSERT_EQ(jit.error, "") << c.text;
        EXPECT_EQ(jit.result.trap.kind, c.kind) << c.text;
        EXPECT_EQ(ref.result.trap.kind, c.kind) << c.text;
        EXPECT_EQ(jit.result.trap.pc, ref.result.trap.pc) << c.text;
        EXPECT_EQ(jit.result.trap.size, ref.result.trap.size) << c.text;
        EXPECT_EQ(jit.result.trap.write, ref.result.trap.write) << c.text;
        if (c.kind == TrapKind::OutOfBounds) {
            // Addresses differ between runs (fresh buffers and stacks); compare the offset from r1 or r10.
            EXPECT_NE(jit.result.trap.addr, 0u) << c.text;
        } else {
            EXPECT_EQ(jit.result.trap.addr, ref.result.trap.addr) << c.text;
        }
    }
}

TEST(Arm64Jit, OutOfBoundsTrapReportsTheAccess) {
    std::vector<uint8_t> memory(16);
    const Program program = assemble_or_die("mov %r0, 0\nstxh [%r1+15], %r0\nexit");
    const Outcome jit = run_on(program, EngineKind::Jit, {}, memory);
    EXPECT_EQ(jit.result.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(jit.result.trap.pc, 1u);
    EXPECT_EQ(jit.result.trap.addr, jit.base + 15);
    EXPECT_EQ(jit.result.trap.size, 2u);
    EXPECT_TRUE(jit.result.trap.write);
}

TEST(Arm64Jit, BudgetStopsLoops) {
    EngineOptions options;
    options.insn_budget = 1000;
    for (const char* text : {"mov %r0, 0\nl:\nadd %r0, 1\nja l", "mov %r0, 0\nl:\nadd %r0, 1\njne %r0, 0, l\nexit",
                             "mov %r0, 0\nl:\ncall local f\nja l\nf:\nexit"}) {
        const Outcome jit = run_on(assemble_or_die(text), EngineKind::Jit, {}, {}, options);
        EXPECT_EQ(jit.result.trap.kind, TrapKind::InsnBudget) << text;
    }
}

uint64_t helper_sum(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* ctx) {
    return r1 + 2 * r2 + 3 * r3 + 4 * r4 + 5 * r5 + (ctx != nullptr ? 1000 : 0);
}
uint64_t helper_fault(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->fault("test fault");
    return 0;
}
uint64_t helper_tail(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->stop = RunContext::kStopTailCall;
    ctx->tail_call_target = ctx;
    return 0;
}
uint64_t helper_callback(uint64_t func, uint64_t arg, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    // Like bpf_loop: run the BPF function `func` three times and sum its results.
    uint64_t sum = 0;
    for (uint64_t i = 0; i < 3; ++i) sum += ctx->call_function(ctx, func, i, arg, 0, 0, 0);
    return sum;
}

HelperTable test_helpers() {
    HelperTable t;
    t.set(1, helper_sum);
    t.set(2, helper_fault);
    t.set(3, helper_tail);
    t.set(4, helper_callback);
    return t;
}

TEST(Arm64Jit, HelperCalls) {
    const HelperTable helpers = test_helpers();
    const RunResult r = expect_agree(R"(
        mov %r1, 1
        mov %r2, 2
        mov %r3, 3
        mov %r4, 4
        mov %r5, 5
        mov %r6, 6
        call 1
        add %r6, %r0
        mov %r7, 1
        callx %r7
        add %r0, %r6
        exit)",
                                     {}, helpers);
    // r1-r5 survive the calls in both engines, so both calls see the same arguments.
    EXPECT_EQ(r.r0, 2 * (1 + 4 + 9 + 16 + 25 + 1000) + 6u);

    for (const char* text : {"mov %r0, 1\ncall 2\nexit", "mov %r2, 2\ncallx %r2\nexit"}) {
        const Outcome jit = run_on(assemble_or_die(text), EngineKind::Jit, helpers, {});
        EXPECT_EQ(jit.result.trap.kind, TrapKind::HelperFault) << text;
        EXPECT_EQ(jit.result.trap.pc, 1u) << text;
    }
    const Outcome tail = run_on(assemble_or_die("call local f\nexit\nf:\ncall 3\nmov %r0, 9\nexit"), EngineKind::Jit,
                                helpers, {});
    EXPECT_TRUE(tail.result.ok());
    EXPECT_TRUE(tail.result.tail_call);
}

TEST(Arm64Jit, FunctionReferenceAndCallback) {
    // 0: lddw r1, <func> (src 4)   2: mov r2, 10   3: call 4   4: r0 += 1   5: exit
    // 6: func: r0 = r1   7: r0 *= r2   8: exit
    std::vector<RawInsn> raw(9);
    raw[0].opcode = 0x18, raw[0].set_dst(1), raw[0].set_src(4), raw[0].set_imm(5);  // slot 0 + 1 + 5
    raw[2].opcode = 0xb7, raw[2].set_dst(2), raw[2].set_imm(10);
    raw[3].opcode = 0x85, raw[3].set_imm(4);
    raw[4].opcode = 0x07, raw[4].set_imm(1);
    raw[5].opcode = 0x95;
    raw[6].opcode = 0xbf, raw[6].set_dst(0), raw[6].set_src(1);
    raw[7].opcode = 0x2f, raw[7].set_dst(0), raw[7].set_src(2);
    raw[8].opcode = 0x95;
    auto program = decode_program(std::span<const RawInsn>(raw));
    ASSERT_TRUE(program.has_value()) << program.error().to_string();
    const HelperTable helpers = test_helpers();
    for (const EngineKind engine : {EngineKind::Interp, EngineKind::Jit}) {
        const Outcome out = run_on(*program, engine, helpers, {});
        EXPECT_TRUE(out.result.ok());
        EXPECT_EQ(out.result.r0, (0 + 10 + 20) + 1u);
    }
}

TEST(Arm64Jit, PacketLoads) {
    const uint8_t packet[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    const Program program = assemble_or_die(R"(
        mov %r1, 77
        mov %r6, 3
        ldabsw 2
        mov %r7, %r0
        ldindh %r6, 1
        add %r7, %r0
        ldindb %r6, -3
        add %r7, %r0
        add %r7, %r1
        mov %r0, %r7
        exit)");
    for (const EngineKind engine : {EngineKind::Interp, EngineKind::Jit}) {
        RunContext ctx;
        ctx.pkt = packet;
        ctx.pkt_len = sizeof packet;
        const Outcome out = run_on(program, engine, {}, {}, {}, &ctx);
        EXPECT_TRUE(out.result.ok());
        EXPECT_EQ(out.result.r0, 0x33445566u + 0x5566u + 0x11u + 77u) << static_cast<int>(engine);
    }
    for (const char* text : {"ldindw %r1, 6\nexit", "mov %r2, -1\nldindb %r2, 0\nexit", "ldabsb 8\nexit"}) {
        const Program p = assemble_or_die(std::string("mov %r0, 5\n") + text);
        RunContext ctx;
        ctx.pkt = packet;
        ctx.pkt_len = sizeof packet;
        const Outcome out = run_on(p, EngineKind::Jit, {}, {}, {}, &ctx);
        EXPECT_TRUE(out.result.ok()) << text;
        EXPECT_EQ(out.result.r0, 0u) << text;
    }
    const Outcome none = run_on(assemble_or_die("ldabsb 0\nexit"), EngineKind::Jit, {}, {});
    EXPECT_EQ(none.result.trap.kind, TrapKind::Unsupported);
}

TEST(Arm64Jit, FarBranches) {
    // More host code than conditional branches (+-1 MiB) can span: the slow path of the load at
    // slot 5 and the loop exit are far away.
    //   0: r0 = 0   1: r6 = 3   2: loop: if r6 != 0 goto 4   3: gotol done   4: r6 -= 1
    //   5: r2 = *(u64 *)(r1 + 0)   6..: r0 += 1 (kAdds times)   gotol loop
    //   done: r2 = *(u8 *)(r1 + off)   exit
    constexpr int32_t kAdds = 300000;
    auto make = [](int16_t last_off) {
        std::vector<RawInsn> raw(6 + kAdds + 3);
        raw[0].opcode = 0xb7;
        raw[1].opcode = 0xb7, raw[1].set_dst(6), raw[1].set_imm(3);
        raw[2].opcode = 0x55, raw[2].set_dst(6), raw[2].set_off(1);
        raw[3].opcode = 0x06, raw[3].set_imm(kAdds + 3);
        raw[4].opcode = 0x17, raw[4].set_dst(6), raw[4].set_imm(1);
        raw[5].opcode = 0x79, raw[5].set_dst(2), raw[5].set_src(1);
        for (int32_t i = 0; i < kAdds; ++i) raw[6 + i].opcode = 0x07, raw[6 + i].set_imm(1);
        raw[6 + kAdds].opcode = 0x06, raw[6 + kAdds].set_imm(-(kAdds + 5));
        raw[7 + kAdds].opcode = 0x71, raw[7 + kAdds].set_dst(2), raw[7 + kAdds].set_src(1), raw[7 + kAdds].set_off(last_off);
        raw[8 + kAdds].opcode = 0x95;
        auto program = decode_program(std::span<const RawInsn>(raw));
        EXPECT_TRUE(program.has_value()) << program.error().to_string();
        return program ? *program : Program{};
    };
    std::vector<uint8_t> memory(8);
    const Outcome trapped = run_on(make(8), EngineKind::Jit, {}, memory);
    EXPECT_EQ(trapped.error, "");
    EXPECT_EQ(trapped.result.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(trapped.result.trap.pc, uint32_t{7 + kAdds});
    EngineOptions unchecked;
    unchecked.checked = false;
    const Program ok = make(7);
    EXPECT_EQ(run_on(ok, EngineKind::Jit, {}, memory, unchecked).result.r0, 3u * kAdds);
    EXPECT_EQ(run_on(ok, EngineKind::Jit, {}, memory).result.r0, 3u * kAdds);
}

TEST(Arm64Jit, CompileErrorsNameTheInstruction) {
    struct Case {
        std::vector<RawInsn> raw;
        const char* expected;
    };
    RawInsn exit_insn;
    exit_insn.opcode = 0x95;
    RawInsn kfunc;
    kfunc.opcode = 0x85, kfunc.set_src(2), kfunc.set_imm(1234);
    RawInsn map_lo, map_hi;
    map_lo.opcode = 0x18, map_lo.set_dst(1), map_lo.set_src(1), map_lo.set_imm(3);
    RawInsn helper;
    helper.opcode = 0x85, helper.set_imm(199);
    const Case cases[] = {
        {{exit_insn, kfunc, exit_insn}, "insn 1: kfunc call (btf id 1234) is not supported by the JIT"},
        {{exit_insn, map_lo, map_hi, exit_insn}, "insn 1: lddw with unresolved pseudo source 1 (map or BTF reference) cannot be compiled"},
        {{helper, exit_insn}, "insn 0: call to unknown helper 199"},
    };
    for (const Case& c : cases) {
        auto program = decode_program(std::span<const RawInsn>(c.raw));
        ASSERT_TRUE(program.has_value()) << program.error().to_string();
        auto exe = jit::compile(*program, {}, {});
        ASSERT_FALSE(exe.has_value());
        EXPECT_EQ(exe.error().to_string().rfind(c.expected, 0), 0u) << exe.error().to_string();
    }
}

TEST(Arm64Jit, DumpListsEveryInstruction) {
    const Program program = assemble_or_die("mov %r0, 1\nadd %r0, 0x123456\nexit");
    auto text = jit::dump(program, {}, {});
    ASSERT_TRUE(text.has_value()) << text.error().to_string();
    EXPECT_NE(text->find("r0 = 1"), std::string::npos) << *text;
}

}  // namespace
}  // namespace bpfvm

#endif  // __aarch64__
