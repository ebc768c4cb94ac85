// Local calls (callee-saved registers, frames, depth limit), helper calls (faults, tail calls,
// callx), callbacks through RunContext::call_function, prepare errors, legacy packet loads and
// concurrent runs.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "interp_test_util.hpp"

namespace bpfvm::itest {
namespace {

uint64_t sum5(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext*) {
    return r1 + 2 * r2 + 3 * r3 + 4 * r4 + 5 * r5;
}
uint64_t fault_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->fault("boom");
    return 0;
}
uint64_t tail_call_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->stop = RunContext::kStopTailCall;
    return 0;
}
uint64_t const_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return 0x55; }
// Like bpf_loop: calls the function at index r2 for i in [0, r1), summing the results.
uint64_t loop_helper(uint64_t n, uint64_t func, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n && ctx->stop == 0; ++i) sum += ctx->call_function(ctx, func, i, 0, 0, 0, 0);
    return sum;
}

const HelperTable& helpers() {
    static const HelperTable table = [] {
        HelperTable t;
        t.set(1, &sum5);
        t.set(2, &fault_helper);
        t.set(5, &const_helper);
        t.set(12, &tail_call_helper);
        t.set(100, &loop_helper);
        return t;
    }();
    return table;
}

RunSpec with_helpers(bool checked_only = false) {
    RunSpec s;
    s.helpers = &helpers();
    s.checked_only = checked_only;
    return s;
}

TEST(InterpCall, LocalCallPreservesCalleeSavedRegistersAndFrame) {
    const Code code = cat({
        mov64(6, 6), mov64(7, 7), mov64(8, 8), mov64(9, 9), st(kDW, 10, -8, 42),
        call_local(10),                                  // 5 -> 16
        mov64r(1, 10), alu64r(kSub, 1, 0),               // r1 = r10 - callee's r10 = 512
        alu64r(kAdd, 6, 7), alu64r(kAdd, 6, 8), alu64r(kAdd, 6, 9),
        ldx(kDW, 2, 10, -8), alu64r(kAdd, 6, 2), alu64r(kAdd, 6, 1),
        mov64r(0, 6), exit_(),
        // 16: callee clobbers r6..r9 and its own [r10-8], returns its r10.
        mov64(6, 100), mov64(7, 100), mov64(8, 100), mov64(9, 100), st(kDW, 10, -8, 7), mov64r(0, 10), exit_(),
    });
    expect_r0(code, 6 + 7 + 8 + 9 + 42 + 512);
}

/// main calls f with r1 = n; f counts its invocations in r0 and recurses while r1 != 0.
Code recursion(int32_t n) {
    return cat({mov64(0, 0), mov64(1, n), call_local(1), exit_(),
                alu64(kAdd, 0, 1), jmp(kJeq, 1, 0, 2), alu64(kSub, 1, 1), call_local(-4), exit_()});
}

TEST(InterpCall, EightFramesAllowed) { expect_r0(recursion(6), 7); }

TEST(InterpCall, NinthFrameTrapsCallDepth) {
    const RunResult r = run_all(recursion(7));
    EXPECT_EQ(r.trap.kind, TrapKind::CallDepth);
    EXPECT_EQ(r.trap.pc, 7u);
}

TEST(InterpCall, HelperGetsFiveArguments) {
    expect_r0(cat({mov64(1, 1), mov64(2, 10), mov64(3, 100), mov64(4, 1000), mov64(5, 10000), call_helper(1), exit_()}),
              1 + 20 + 300 + 4000 + 50000, with_helpers());
}

TEST(InterpCall, HelperFaultTraps) {
    RunContext ctx;
    RunSpec spec = with_helpers();
    spec.ctx = &ctx;
    const RunResult r = run_all(cat({mov64(0, 1), call_helper(2), mov64(0, 9), exit_()}), spec);
    EXPECT_EQ(r.trap.kind, TrapKind::HelperFault);
    EXPECT_EQ(r.trap.pc, 1u);
    EXPECT_EQ(ctx.fault_message, "boom");
}

TEST(InterpCall, TailCallEndsRun) {
    const RunResult r = run_all(cat({call_helper(12), mov64(0, 9), exit_()}), with_helpers());
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.tail_call);
    EXPECT_EQ(r.insns, 1u);
}

TEST(InterpCall, CallxResolvesHelperAtRunTime) {
    expect_r0(cat({mov64(3, 5), callx(3), exit_()}), 0x55, with_helpers());
    const RunResult r = run_all(cat({mov64(3, 77), callx(3), exit_()}), with_helpers());
    EXPECT_EQ(r.trap.kind, TrapKind::UnknownHelper);
    EXPECT_EQ(r.trap.pc, 1u);
    EXPECT_EQ(r.trap.addr, 77u);
}

/// r2 = &callback; r1 = 4; call loop; exit; callback(i) = 10 * i + 1.
Code loop_program(const Code& callback) {
    return cat({lddw(2, 4, static_cast<uint8_t>(LddwKind::Func)), mov64(1, 4), call_helper(100), exit_(), callback});
}

TEST(InterpCall, CallbackThroughCallFunction) {
    const Code cb = cat({st(kDW, 10, -8, 1), ldx(kDW, 0, 10, -8), alu64r(kMov, 2, 1), alu64(kMul, 2, 10),
                         alu64r(kAdd, 0, 2), exit_()});
    const RunResult r = run_all(loop_program(cb), with_helpers());
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.r0, 1u + 11 + 21 + 31);
    EXPECT_EQ(r.insns, 4u + 4 * 6);  // main, then four callbacks of six instructions
}

TEST(InterpCall, FunctionReferenceEvaluatesToInstructionIndex) {
    // lddw occupies slots 0-1; the function at slot 3 is instruction index 2.
    expect_r0(cat({lddw(0, 2, static_cast<uint8_t>(LddwKind::Func)), exit_(), exit_()}), 2);
}

TEST(InterpCall, TrapInsideCallbackIsReported) {
    // Below the callback's own frame: out of bounds (its callers' frames above r10 are allowed).
    const RunResult r = run_all(loop_program(cat({ldx(kDW, 0, 10, -520), exit_()})), with_helpers(true));
    EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(r.trap.pc, 5u);  // slot of the callback's load
}

/// f recurses n times, then calls the loop helper once; the callback runs one frame below.
Code callback_at_depth(int32_t n) {
    return cat({mov64(0, 0), mov64(1, n), call_local(1), exit_(),
                jmp(kJeq, 1, 0, 3), alu64(kSub, 1, 1), call_local(-3), exit_(),  // 4..7: f
                lddw(2, 4, static_cast<uint8_t>(LddwKind::Func)), mov64(1, 1), call_helper(100), exit_(),  // 8..12
                mov64(0, 42), exit_()});  // 13: callback
}

TEST(InterpCall, CallbackRespectsDepthLimit) {
    // n = 5: the deepest f runs in frame 6, its callback in frame 7 (the last allowed).
    expect_r0(callback_at_depth(5), 42, with_helpers());
    // n = 6: the callback would need a ninth frame; the trap names the helper call.
    const RunResult r = run_all(callback_at_depth(6), with_helpers());
    EXPECT_EQ(r.trap.kind, TrapKind::CallDepth);
    EXPECT_EQ(r.trap.pc, 11u);
}

Status prepare_status(const Code& code, const HelperTable& table = HelperTable{}) {
    auto prog = decode_program(std::span<const RawInsn>(code));
    if (!prog) return prog.error();
    auto exe = interp::prepare(*prog, table, EngineOptions{});
    if (!exe) return exe.error();
    return {};
}

TEST(InterpPrepare, UnknownHelper) {
    const Status s = prepare_status(cat({mov64(0, 0), mov64(0, 0), mov64(0, 0), call_helper(999), exit_()}));
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().to_string(), "insn 3: call to unknown helper 999");
    const Status named = prepare_status(cat({call_helper(1), exit_()}));
    ASSERT_FALSE(named.has_value());
    EXPECT_EQ(named.error().to_string(), "insn 0: call to unknown helper 1 (map_lookup_elem)");
}

TEST(InterpPrepare, UnresolvedLddw) {
    const Status s = prepare_status(cat({mov64(0, 0), lddw(1, 3, static_cast<uint8_t>(LddwKind::MapFd)), exit_()}));
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().to_string(),
              "insn 1: unresolved lddw pseudo source 1 (map fd): the loader must resolve it before running");
}

TEST(InterpPrepare, KfuncUnsupported) {
    const Status s = prepare_status(cat({insn(kJmp | kCall, 0, 2, 0, 7), exit_()}));
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().to_string(), "insn 0: kfunc call (btf id 7) is not supported by the interpreter");
}

TEST(InterpPrepare, HandBuiltProgramsAreValidated) {
    Program empty;
    EXPECT_FALSE(interp::prepare(empty, HelperTable{}, EngineOptions{}).has_value());
    Program bad = decode_or_die(cat({mov64(0, 0), exit_()}));
    bad.insns[0].dst = 12;
    auto r = interp::prepare(bad, HelperTable{}, EngineOptions{});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().to_string(), "insn 0: invalid register r12 in mov (opcode 0xb7)");
}

struct Packet {
    const uint8_t bytes[5] = {0x12, 0x34, 0x56, 0x78, 0x9a};
    RunContext ctx;
    RunSpec spec;
    Packet() {
        ctx.pkt = bytes;
        ctx.pkt_len = sizeof bytes;
        spec.ctx = &ctx;
    }
};

TEST(InterpLdAbs, BigEndianLoads) {
    Packet p;
    expect_r0(cat({ld_abs(kH, 0), exit_()}), 0x1234, p.spec);
    expect_r0(cat({ld_abs(kW, 1), exit_()}), 0x3456789a, p.spec);
    expect_r0(cat({ld_abs(kB, 4), exit_()}), 0x9a, p.spec);
    expect_r0(cat({mov64(1, 1), ld_ind(kW, 1, 0), exit_()}), 0x3456789a, p.spec);
    expect_r0(cat({mov64(1, -1), ld_ind(kH, 1, 2), exit_()}), 0x3456, p.spec);
}

TEST(InterpLdAbs, OutOfRangeEndsProgramWithZero) {
    Packet p;
    expect_r0(cat({mov64(0, 5), ld_abs(kW, 2), mov64(0, 9), exit_()}), 0, p.spec);
    expect_r0(cat({mov64(0, 5), mov64(1, -5), ld_ind(kB, 1, 0), mov64(0, 9), exit_()}), 0, p.spec);
    expect_r0(cat({mov64(0, 5), ld_abs(kB, -1), mov64(0, 9), exit_()}), 0, p.spec);
}

TEST(InterpLdAbs, NoPacketTrapsUnsupported) {
    const RunResult r = run_all(cat({mov64(0, 5), ld_abs(kB, 0), exit_()}));
    EXPECT_EQ(r.trap.kind, TrapKind::Unsupported);
    EXPECT_EQ(r.trap.pc, 1u);
}

TEST(InterpConcurrency, RunsAreIndependentAndAtomicsAtomic) {
    // r6 = counter; loop 2000 times: lock add [r6], 1; also sum 1..2000 in r0.
    const Code code = cat({mov64r(6, 1), mov64(0, 0), mov64(2, 2000), mov64(3, 1),
                           atomic(kDW, 6, 3, 0, kAdd), alu64r(kAdd, 0, 2), alu64(kSub, 2, 1), jmp(kJne, 2, 0, -4),
                           exit_()});
    const Program prog = decode_or_die(code);
    for (bool checked : {true, false}) {
        EngineOptions options;
        options.checked = checked;
        auto exe = interp::prepare(prog, HelperTable{}, options);
        ASSERT_TRUE(exe.has_value());
        alignas(8) uint64_t counter = 0;
        std::atomic<int> good{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                RunContext ctx;
                const auto p = reinterpret_cast<uint64_t>(&counter);
                ctx.regions.push_back({p, p + 8, true});
                const RunResult r = (*exe)->run(ctx, p);
                if (r.ok() && r.r0 == 2000u * 2001 / 2) ++good;
            });
        }
        for (auto& t : threads) t.join();
        EXPECT_EQ(good.load(), 4);
        EXPECT_EQ(counter, 8000u);
    }
}

}  // namespace
}  // namespace bpfvm::itest
