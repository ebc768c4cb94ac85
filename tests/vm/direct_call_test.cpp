// The bound run state behind Executable::run and DirectCall (vm.hpp), on every engine in checked
// and unchecked mode: repeated calls agree with fresh runs, traps and helper faults are reported
// and cleared for the next call, contexts bound to destroyed executables, moved contexts, nested
// runs from helpers, and binding a context that a running program uses.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "bpfvm/asm.hpp"
#include "bpfvm/vm.hpp"
#include "program_util.hpp"

namespace bpfvm {
namespace {

struct Variant {
    EngineKind engine;
    bool checked;
};

std::vector<Variant> variants() {
    std::vector<Variant> v = {{EngineKind::Interp, true}, {EngineKind::Interp, false}};
    if (parse_engine("jit")) {
        v.push_back({EngineKind::Jit, true});
        v.push_back({EngineKind::Jit, false});
    }
    return v;
}

std::string variant_name(const testing::TestParamInfo<Variant>& info) {
    return std::string(info.param.engine == EngineKind::Jit ? "jit" : "interp") +
           (info.param.checked ? "_checked" : "_unchecked");
}


// Helpers for the tests below (ids 1..4). The nested-run helper runs `g_inner` with the caller's
// context; the bind helper tries to bind `g_inner` to it; the context helper returns its address.
const Executable* g_inner = nullptr;
std::string g_bind_error;

uint64_t helper_fault(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->fault("test fault");
    return 0;
}
uint64_t helper_nested_run(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    const RunResult r = g_inner->run(*ctx, r1);
    return r.ok() ? r.r0 : ~uint64_t{0};
}
uint64_t helper_try_bind(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    auto bound = DirectCall::bind(*g_inner, *ctx);
    g_bind_error = bound ? "bound" : bound.error().message;
    return 0;
}
uint64_t helper_context(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    return reinterpret_cast<uint64_t>(ctx);
}

const HelperTable& helpers() {
    static const HelperTable table = [] {
        HelperTable t;
        t.set(1, &helper_fault);
        t.set(2, &helper_nested_run);
        t.set(3, &helper_try_bind);
        t.set(4, &helper_context);
        return t;
    }();
    return table;
}

class BoundRuns : public testing::TestWithParam<Variant> {
protected:
    std::unique_ptr<Executable> make(std::string_view text) const {
        EngineOptions o;
        o.checked = GetParam().checked;
        auto exe = prepare(assemble_program(text), GetParam().engine, helpers(), o);
        EXPECT_TRUE(exe.has_value()) << exe.error().to_string();
        return exe ? std::move(*exe) : nullptr;
    }
};

TEST_P(BoundRuns, RepeatedCallsAgreeWithFreshRuns) {
    auto exe = make("mov %r0, %r1\nadd %r0, %r2\nmul %r0, 3\nexit");
    RunContext ctx;
    auto call = DirectCall::bind(*exe, ctx);
    ASSERT_TRUE(call.has_value()) << call.error().to_string();
    for (uint64_t i = 0; i < 100; ++i) {
        EXPECT_EQ((*call)(i, 7), (i + 7) * 3);
        EXPECT_TRUE(call->ok());
        RunContext fresh;
        EXPECT_EQ(exe->run(fresh, i, 7).r0, (i + 7) * 3);
    }
    // run() with the bound context rebinds nothing and agrees.
    EXPECT_EQ(exe->run(ctx, 1, 2).r0, 9u);
    EXPECT_EQ((*call)(2, 2), 12u);
}

TEST_P(BoundRuns, TrapsAreReportedAndClearedForTheNextCall) {
    // r1 != 0: load through r1; else divide (no trap) and return 5.
    auto exe = make("jeq %r1, 0, zero\nldxdw %r0, [%r1]\nexit\nzero:\nmov %r0, 5\nexit");
    uint64_t word = 42;
    RunContext ctx;
    const auto addr = reinterpret_cast<uint64_t>(&word);
    ctx.regions.push_back({addr, addr + 8, false});
    auto call = DirectCall::bind(*exe, ctx);
    ASSERT_TRUE(call.has_value());
    EXPECT_EQ((*call)(addr), 42u);
    EXPECT_TRUE(call->ok());
    if (GetParam().checked) {
        const uint64_t r0 = (*call)(addr + 4096);
        EXPECT_FALSE(call->ok());
        const RunResult r = call->result(r0);
        EXPECT_EQ(r.trap.kind, TrapKind::OutOfBounds);
        EXPECT_EQ(r.trap.pc, 1u);
        EXPECT_EQ(r.trap.addr, addr + 4096);
        const RunResult again = exe->run(ctx, addr + 8);
        EXPECT_EQ(again.trap.kind, TrapKind::OutOfBounds);
    }
    EXPECT_EQ((*call)(0), 5u);
    EXPECT_TRUE(call->ok());
    EXPECT_EQ(call->result(5).trap.kind, TrapKind::None);
    const RunResult ok = exe->run(ctx, addr);
    EXPECT_TRUE(ok.ok());
    EXPECT_EQ(ok.r0, 42u);
}

TEST_P(BoundRuns, HelperFaultsStopOneCallOnly) {
    auto exe = make("jeq %r1, 0, skip\ncall 1\nskip:\nmov %r0, 9\nexit");
    RunContext ctx;
    auto call = DirectCall::bind(*exe, ctx);
    ASSERT_TRUE(call.has_value());
    const uint64_t r0 = (*call)(1);
    EXPECT_FALSE(call->ok());
    const RunResult r = call->result(r0);
    EXPECT_EQ(r.trap.kind, TrapKind::HelperFault);
    EXPECT_EQ(r.trap.pc, 1u);
    EXPECT_EQ(ctx.fault_message, "test fault");
    EXPECT_EQ((*call)(0), 9u);
    EXPECT_TRUE(call->ok());
    const RunResult via_run = exe->run(ctx, 1);
    EXPECT_EQ(via_run.trap.kind, TrapKind::HelperFault);
    EXPECT_EQ(exe->run(ctx, 0).r0, 9u);
}

TEST_P(BoundRuns, ContextsOutliveTheirExecutables) {
    // A context bound to a destroyed executable must not be taken for bound to the next one, even
    // when the allocator puts the new executable at the same address.
    RunContext ctx;
    for (int i = 0; i < 50; ++i) {
        auto exe = make("mov %r0, " + std::to_string(i) + "\nexit");
        EXPECT_EQ(exe->run(ctx, 0).r0, static_cast<uint64_t>(i));
        EXPECT_EQ(exe->run(ctx, 0).r0, static_cast<uint64_t>(i));
    }
}

TEST_P(BoundRuns, AMovedContextIsBoundAgain) {
    auto exe = make("call 4\nexit");
    RunContext first;
    EXPECT_EQ(exe->run(first, 0).r0, reinterpret_cast<uint64_t>(&first));
    RunContext second = std::move(first);
    EXPECT_EQ(exe->run(second, 0).r0, reinterpret_cast<uint64_t>(&second));
    EXPECT_EQ(exe->run(second, 0).r0, reinterpret_cast<uint64_t>(&second));
}

TEST_P(BoundRuns, TwoExecutablesTakeTurnsOnOneContext) {
    auto a = make("mov %r0, %r1\nadd %r0, 1\nexit");
    auto b = make("mov %r0, %r1\nadd %r0, 2\nexit");
    RunContext ctx;
    for (uint64_t i = 0; i < 10; ++i) {
        EXPECT_EQ(a->run(ctx, i).r0, i + 1);
        EXPECT_EQ(b->run(ctx, i).r0, i + 2);
    }
}

TEST_P(BoundRuns, NestedRunsUseTheirOwnState) {
    auto inner = make("mov %r0, %r1\nmul %r0, 10\nexit");
    auto outer = make("mov %r6, %r1\nmov %r1, 4\ncall 2\nadd %r0, %r6\nexit");
    g_inner = inner.get();
    RunContext ctx;
    for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(outer->run(ctx, i).r0, 40 + i);
    // The inner program is also bound to the context now and then: both keep working.
    EXPECT_EQ(inner->run(ctx, 3).r0, 30u);
    EXPECT_EQ(outer->run(ctx, 1).r0, 41u);
    g_inner = nullptr;
}

TEST_P(BoundRuns, BindingAContextInUseIsRefused) {
    auto inner = make("mov %r0, 1\nexit");
    auto outer = make("call 3\nmov %r0, 2\nexit");
    g_inner = inner.get();
    g_bind_error.clear();
    RunContext ctx;
    EXPECT_EQ(outer->run(ctx, 0).r0, 2u);
    EXPECT_EQ(g_bind_error, std::string(inner->engine_name()) + ": the run context is in use by a running program");
    g_inner = nullptr;
}

TEST_P(BoundRuns, MayGotoBudgetIsFullOnEveryRun) {
    auto exe = make("mov %r0, 0\ntop:\nmay_goto out\nadd %r0, 1\nja top\nout:\nexit");
    RunContext ctx;
    EXPECT_EQ(exe->run(ctx, 0).r0, kMayGotoBudget);
    EXPECT_EQ(exe->run(ctx, 0).r0, kMayGotoBudget);
    auto call = DirectCall::bind(*exe, ctx);
    ASSERT_TRUE(call.has_value());
    EXPECT_EQ((*call)(0), kMayGotoBudget);
}

INSTANTIATE_TEST_SUITE_P(Engines, BoundRuns, testing::ValuesIn(variants()), variant_name);

TEST(BoundRunsInterp, CheckedRunsCountInstructionsEveryTime) {
    EngineOptions o;
    auto exe = prepare(assemble_program("mov %r0, 0\nadd %r0, 1\nadd %r0, 1\nexit"), EngineKind::Interp, helpers(), o);
    ASSERT_TRUE(exe.has_value());
    RunContext ctx;
    for (int i = 0; i < 3; ++i) {
        const RunResult r = (*exe)->run(ctx, 0);
        EXPECT_EQ(r.r0, 2u);
        EXPECT_EQ(r.insns, 4u);
    }
}

}  // namespace
}  // namespace bpfvm
