// The instructions beyond RFC 9669 that the kernel accepts (may_goto, load-acquire, store-release,
// addr_space_cast) and the run-time guard against writes to r10, on every engine of this host
// (interpreter and JIT, checked and unchecked), with the trap descriptions users read; and the
// kernel selftests that use them, run to the return value the kernel's tests expect.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bpfvm/asm.hpp"
#include "bpfvm/bpfvm.hpp"
#include "bpfvm/vm.hpp"
#include "loader/csv_util.hpp"

namespace bpfvm {
namespace {

struct Engine {
    EngineKind kind;
    bool checked;
    const char* name;
};

std::vector<Engine> engines() {
    std::vector<Engine> out = {{EngineKind::Interp, true, "interp checked"}, {EngineKind::Interp, false, "interp"}};
    if (default_engine() == EngineKind::Jit) {
        out.push_back({EngineKind::Jit, true, "jit checked"});
        out.push_back({EngineKind::Jit, false, "jit"});
    }
    return out;
}

struct Outcome {
    uint64_t r0 = 0;
    Trap trap{};
    std::string trap_text;
};

uint64_t helper_loop(uint64_t func, uint64_t times, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < times && ctx->stop == 0; ++i) sum += ctx->call_function(ctx, func, i, 0, 0, 0, 0);
    return sum;
}

const HelperTable& helpers() {
    static const HelperTable table = [] {
        HelperTable t;
        t.set(181, &helper_loop);  // bpf_loop's id: calls the callback r2 times
        return t;
    }();
    return table;
}

/// Runs `text` on every engine (r1 = a 16-byte writable buffer); they must agree. Returns the first
/// (the checked interpreter). `checked_only` for programs that loop forever or access out of bounds.
Outcome run(std::string_view text, uint64_t budget = 100'000'000, bool checked_only = false) {
    auto raw = assemble(text);
    EXPECT_TRUE(raw.has_value()) << raw.error().to_string();
    if (!raw) return {};
    auto program = decode_program(std::span<const RawInsn>(*raw));
    EXPECT_TRUE(program.has_value()) << program.error().to_string();
    if (!program) return {};
    std::optional<Outcome> first;
    for (const Engine& e : engines()) {
        if (checked_only && !e.checked) continue;
        EngineOptions options;
        options.checked = e.checked;
        options.insn_budget = budget;
        auto exe = prepare(*program, e.kind, helpers(), options);
        EXPECT_TRUE(exe.has_value()) << e.name << ": " << exe.error().to_string();
        if (!exe) continue;
        alignas(8) uint8_t buffer[16] = {};
        RunContext ctx;
        const auto begin = reinterpret_cast<uint64_t>(buffer);
        ctx.regions.push_back({begin, begin + sizeof buffer, true});
        const RunResult r = (*exe)->run(ctx, begin);
        Outcome got{r.r0, r.trap, r.ok() ? "" : describe_trap(r.trap, ctx)};
        if (!first) {
            first = got;
            continue;
        }
        EXPECT_EQ(static_cast<int>(got.trap.kind), static_cast<int>(first->trap.kind)) << e.name << "\n" << text;
        if (got.trap.kind == TrapKind::InsnBudget) continue;  // engines count different things
        EXPECT_EQ(got.trap_text, first->trap_text) << e.name << "\n" << text;
        if (got.trap.kind == TrapKind::None) {
            EXPECT_EQ(got.r0, first->r0) << e.name << "\n" << text;
        }
    }
    return first.value_or(Outcome{});
}

uint64_t r0_of(std::string_view text) {
    const Outcome out = run(text);
    EXPECT_EQ(out.trap_text, "") << text;
    return out.r0;
}

TEST(MayGoto, FallsThroughUntilTheFrameBudgetIsSpent) {
    // The kernel's selftest cond_break4: `for (;;) { cond_break; cnt++; }` returns BPF_MAX_LOOPS.
    EXPECT_EQ(r0_of("mov %r0, 0\ntop:\nmay_goto out\nadd %r0, 1\nja top\nout:\nexit"), kMayGotoBudget);
    EXPECT_EQ(kMayGotoBudget, 8u * 1024 * 1024);
    // Offset 0 and an untaken forward may_goto are no-ops.
    EXPECT_EQ(r0_of("may_goto +0\nmov %r0, 3\nmay_goto +1\nmov %r0, 4\nexit"), 4u);
}

TEST(MayGoto, EachFrameHasItsOwnBudget) {
    // f spends its whole budget; each call starts afresh, and main's own budget is untouched.
    EXPECT_EQ(r0_of("call local f\n"
                    "mov %r6, %r0\n"
                    "call local f\n"
                    "add %r6, %r0\n"
                    "may_goto skip\n"
                    "add %r6, 1000\n"
                    "skip:\n"
                    "mov %r0, %r6\n"
                    "exit\n"
                    "f:\n"
                    "mov %r0, 0\n"
                    "top:\n"
                    "may_goto out\n"
                    "add %r0, 1\n"
                    "ja top\n"
                    "out:\n"
                    "exit"),
              2 * kMayGotoBudget + 1000);
}

TEST(MayGoto, CallbacksStartWithAFullBudget) {
    // bpf_loop runs the callback twice; each invocation is a new frame with a full budget.
    auto raw = assemble("lddw %r1, 0\nmov %r2, 2\ncall 181\nexit\n"
                        "mov %r0, 0\ntop:\nmay_goto out\nadd %r0, 1\nja top\nout:\nexit");
    ASSERT_TRUE(raw.has_value());
    (*raw)[0].set_src(static_cast<uint8_t>(LddwKind::Func));
    (*raw)[0].set_imm(4);  // pc-relative: slot 0 + 1 + 4 = slot 5, the callback
    auto program = decode_program(std::span<const RawInsn>(*raw));
    ASSERT_TRUE(program.has_value()) << program.error().to_string();
    for (const Engine& e : engines()) {
        EngineOptions options;
        options.checked = e.checked;
        auto exe = prepare(*program, e.kind, helpers(), options);
        ASSERT_TRUE(exe.has_value()) << exe.error().to_string();
        RunContext ctx;
        const RunResult r = (*exe)->run(ctx, 0);
        EXPECT_TRUE(r.ok()) << e.name << ": " << describe_trap(r.trap, ctx);
        EXPECT_EQ(r.r0, 2 * kMayGotoBudget) << e.name;
    }
}

TEST(AcquireRelease, WidthsAndZeroExtension) {
    EXPECT_EQ(r0_of("stdw [%r10-8], -1\nldacqb %r0, [%r10-8]\nexit"), 0xffu);
    EXPECT_EQ(r0_of("stdw [%r10-8], -1\nldacqh %r0, [%r10-8]\nexit"), 0xffffu);
    EXPECT_EQ(r0_of("stdw [%r10-8], -1\nldacqw %r0, [%r10-8]\nexit"), 0xffffffffu);
    EXPECT_EQ(r0_of("stdw [%r10-8], -1\nldacqdw %r0, [%r10-8]\nexit"), ~uint64_t{0});
    const char* const store =
        "stdw [%r10-8], 0\nlddw %r1, 0x1122334455667788\n{op} [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit";
    auto with = [&](const char* op) {
        std::string text = store;
        text.replace(text.find("{op}"), 4, op);
        return r0_of(text);
    };
    EXPECT_EQ(with("strelb"), 0x88u);
    EXPECT_EQ(with("strelh"), 0x7788u);
    EXPECT_EQ(with("strelw"), 0x55667788u);
    EXPECT_EQ(with("streldw"), 0x1122334455667788u);
    // Through a pointer into the input buffer, and misaligned (the verifier rejects those; the
    // engines must still run them without a fault).
    EXPECT_EQ(r0_of("lddw %r2, 0x0102030405060708\nstreldw [%r1+8], %r2\nldacqdw %r0, [%r1+8]\nexit"),
              0x0102030405060708u);
    EXPECT_EQ(r0_of("mov %r2, 0x1234567\nstrelw [%r1+3], %r2\nldacqw %r0, [%r1+3]\nldacqh %r3, [%r1+5]\n"
                    "lsh %r3, 32\nor %r0, %r3\nexit"),
              0x0000012301234567u);
    // Out of bounds in checked mode, like any load or store.
    EXPECT_EQ(run("ldacqdw %r0, [%r1+16]\nexit", 1000, true).trap.kind, TrapKind::OutOfBounds);
    EXPECT_EQ(run("strelb [%r1-1], %r1\nexit", 1000, true).trap.kind, TrapKind::OutOfBounds);
}

TEST(FrameWrite, EveryEngineTrapsOnAWriteToR10) {
    const std::string message = "insn 0: write to the read-only frame pointer r10";
    EXPECT_EQ(run("mov %r10, %r1\nexit").trap_text, message);
    EXPECT_EQ(run("add %r10, 8\nexit").trap_text, message);
    EXPECT_EQ(run("ldxdw %r10, [%r10-8]\nexit").trap_text, message);
    EXPECT_EQ(run("lddw %r10, 5\nexit").trap_text, message);
    EXPECT_EQ(run("ldacqdw %r10, [%r1+0]\nexit").trap_text, message);
    EXPECT_EQ(run("movsx8 %r10, %r1\nexit").trap_text, message);
    EXPECT_EQ(run("be16 %r10\nexit").trap_text, message);
    // A fetching atomic writes its src; the plain one and cmpxchg only read r10.
    EXPECT_EQ(run("lock fetch add [%r1+0], %r10\nexit").trap_text, message);
    EXPECT_EQ(run("lock xchg32 [%r1+0], %r10\nexit").trap_text, message);
    EXPECT_EQ(run("mov %r0, 0\nlock add [%r1+0], %r10\nexit").trap_text, "");
    EXPECT_EQ(run("mov %r0, 0\nlock cmpxchg [%r1+0], %r10\nexit").trap_text, "");
    // Later in the program, and in a subprogram.
    EXPECT_EQ(run("mov %r0, 1\njeq %r0, 1, +0\nmov %r10, 0\nexit").trap_text,
              "insn 2: write to the read-only frame pointer r10");
    EXPECT_EQ(run("call local f\nexit\nf:\nmov %r10, 0\nexit").trap_text,
              "insn 2: write to the read-only frame pointer r10");
    // Inside shapes the engines fuse (the x86-64 JIT's rotate and accumulator, the interpreter's
    // register chains): it still traps where it stands.
    EXPECT_EQ(run("mov %r0, %r10\nrsh %r0, 32\nlsh %r10, 32\nor %r10, %r0\nexit").trap_text,
              "insn 2: write to the read-only frame pointer r10");
    EXPECT_EQ(run("mov %r1, 8\nadd %r1, %r10\nmov %r10, %r1\nexit").trap_text,
              "insn 2: write to the read-only frame pointer r10");
    EXPECT_EQ(run("mov %r0, 1\nxor %r0, 3\nadd %r10, 1\nadd %r10, 2\nexit").trap_text,
              "insn 2: write to the read-only frame pointer r10");
    // In code that never runs, as the kernel's selftests have it, nothing happens.
    EXPECT_EQ(r0_of("mov %r0, 7\nja +1\nmov %r10, %r0\nexit"), 7u);
}

TEST(AddrSpaceCast, TrapsUnsupported) {
    const Outcome out = run("mov %r0, 1\naddr_space_cast %r1, %r2, 1\nexit");
    EXPECT_EQ(out.trap.kind, TrapKind::Unsupported);
    EXPECT_EQ(out.trap.addr, static_cast<uint64_t>(Op::AddrSpaceCast));
    EXPECT_EQ(out.trap_text, "insn 1: addr_space_cast is not supported: bpfvm has no arena maps");
    EXPECT_EQ(run("ldabsb 0\nexit").trap_text, "insn 0: legacy packet load (ld_abs/ld_ind) without a socket buffer");
}

TEST(CheckedBudget, LoopEnteredInItsMiddleIsBounded) {
    // The loop is entered in its middle (at `test`): the JITs pay on its backward jump, wherever
    // the entry is, so it is bounded in every engine.
    const Outcome out = run("mov %r1, 0\nja test\nbody:\nadd %r1, 1\ntest:\njne %r1, -1, body\nexit", 1000, true);
    EXPECT_EQ(out.trap.kind, TrapKind::InsnBudget);
}

TEST(SelftestRetvals, ProgramsWithNewerInstructionsReturnWhatTheKernelTestsExpect) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(BPFVM_SHARED_DIR) / "corpus" / "kernel-selftests";
    if (!fs::exists(dir / "manifest.csv")) GTEST_SKIP() << "corpus not found at " << dir;
    std::ifstream in(dir / "manifest.csv");
    std::string line;
    std::getline(in, line);  // file,program,section,expect_priv,expect_unpriv,kernel_priv,msg,msg_unpriv,retval,...
    int checked = 0, missing_helper = 0;
    std::map<std::string, Object> objects;
    while (std::getline(in, line)) {
        const auto f = testing::split_csv(line);
        if (f.size() < 11 || f[5] != "accept" || f[8].empty() || f[8].find('=') != std::string::npos) continue;
        const std::string object = (dir / "objects" / (f[0].substr(0, f[0].size() - 2) + ".bpf.o")).string();
        auto it = objects.find(object);
        if (it == objects.end()) {
            auto opened = Object::open(object);
            ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
            it = objects.emplace(object, std::move(*opened)).first;
        }
        Object* obj = &it->second;
        auto spec = obj->program(f[1]);
        ASSERT_TRUE(spec.has_value()) << spec.error().to_string();
        const bool newer = std::any_of((*spec)->program.insns.begin(), (*spec)->program.insns.end(), [](const Insn& i) {
            const Form form = op_info(i.op).form;
            return form == Form::MayGoto || form == Form::LoadAcquire || form == Form::StoreRelease;
        });
        if (!newer) continue;
        SCOPED_TRACE(f[0] + "/" + f[1]);
        const uint64_t want = std::stoull(f[8], nullptr, 0);
        for (const Engine& e : engines()) {
            TestRunInput input;
            input.data.assign(64, 0);
            input.engine = e.kind;
            input.mode = e.checked ? RunMode::Checked : RunMode::Unchecked;
            auto r = obj->test_run(f[1], input);
            if (!r && (r.error().code == ErrorCode::kUnsupported ||
                       r.error().message.find("call to unknown helper") != std::string::npos)) {
                ++missing_helper;  // a helper bpfvm does not implement (jiffies64): not comparable
                break;
            }
            ASSERT_TRUE(r.has_value()) << e.name << ": " << r.error().to_string();
            EXPECT_EQ(r->retval & 0xffffffffu, want & 0xffffffffu) << e.name;  // the kernel reports 32 bits
        }
        ++checked;
    }
    // load_acquire_{8,16,32,64}, store_release_{8,...}, may_goto / cond_break programs.
    EXPECT_GE(checked - missing_helper, 15);
    std::printf("selftests with may_goto / load-acquire / store-release: %d programs return the expected value, "
                "%d call a helper bpfvm lacks\n",
                checked - missing_helper, missing_helper);
}

}  // namespace
}  // namespace bpfvm
