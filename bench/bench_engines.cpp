// Engine comparison on the programs in bench/programs/ (raw bytecode, r1 = a bench_ctx over the
// 1500-byte bench packet): native C, the baseline switch interpreter over raw bytes, the
// interpreter (unchecked, checked, and its portable switch dispatch) and the JIT through the facade
// when available. Every BPF result is checked against the native result before anything is timed.
// Also times JIT compilation (and interpreter preparation): per instruction on the programs and on
// a generated straight-line program, and the fixed and marginal cost on branch-dense programs of
// 1k to 64k instructions.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/vm.hpp"
#include "interpreter/internal.hpp"
#include "switch_interp.hpp"

extern "C" {
#include "bench_prog.h"
u64 bench_native_adler32(struct bench_ctx* ctx);
u64 bench_native_arith(struct bench_ctx* ctx);
u64 bench_native_checksum(struct bench_ctx* ctx);
u64 bench_native_crc32(struct bench_ctx* ctx);
u64 bench_native_parse(struct bench_ctx* ctx);
u64 bench_native_sieve(struct bench_ctx* ctx);
}

namespace bpfvm::bench {
namespace {

using NativeFn = u64 (*)(bench_ctx*);

[[noreturn]] void die(const std::string& message) { bench::die("bench_engines", message); }

/// One benchmark program with its input and everything prepared once.
struct Workload {
    std::string name;
    NativeFn native = nullptr;
    std::vector<uint8_t> data;
    bench_ctx ctx{};
    std::vector<RawInsn> raw;
    Program program;
    uint64_t expected = 0;  // native result
    uint64_t insns = 0;     // BPF instructions executed per run (checked interpreter)

    RunContext run_context() const {
        RunContext rc;
        const auto c = reinterpret_cast<uint64_t>(&ctx);
        const auto d = reinterpret_cast<uint64_t>(data.data());
        rc.regions.push_back({c, c + sizeof ctx, false});
        rc.regions.push_back({d, d + data.size(), true});
        return rc;
    }
};

std::vector<std::unique_ptr<Workload>> make_workloads() {
    const std::pair<const char*, NativeFn> specs[] = {
        {"parse", &bench_native_parse},       {"adler32", &bench_native_adler32}, {"sieve", &bench_native_sieve},
        {"crc32", &bench_native_crc32},       {"arith", &bench_native_arith},     {"checksum", &bench_native_checksum},
    };
    const std::vector<uint8_t> packet = make_packet();
    std::vector<std::unique_ptr<Workload>> out;
    for (const auto& [name, native] : specs) {
        auto w = std::make_unique<Workload>();
        w->name = name;
        w->native = native;
        w->data = packet;
        w->ctx = bench_ctx{w->data.data(), w->data.size()};
        w->raw = read_raw_program("bench_engines", name);
        auto prog = decode_program(std::span<const RawInsn>(w->raw));
        if (!prog) die(w->name + ": " + prog.error().to_string());
        w->program = std::move(*prog);
        w->expected = w->native(&w->ctx);
        out.push_back(std::move(w));
    }
    return out;
}

const HelperTable& no_helpers() {
    static const HelperTable table;
    return table;
}

/// Runs once and fails loudly unless the result equals the native one.
void verify(const Workload& w, const Executable& exe, const std::string& what, uint64_t* insns = nullptr) {
    RunContext rc = w.run_context();
    const RunResult r = exe.run(rc, reinterpret_cast<uint64_t>(&w.ctx));
    if (!r.ok()) die(w.name + "/" + what + ": " + describe_trap(r.trap, rc));
    if (r.r0 != w.expected)
        die(w.name + "/" + what + ": result " + std::to_string(r.r0) + " != native " + std::to_string(w.expected));
    if (insns != nullptr) *insns = r.insns;
}

/// Runs `body` once per benchmark iteration and reports `insns` (BPF instructions per run) and
/// ns/insn (thread CPU time per executed BPF instruction) as plain numbers.
template <class F>
void timed_loop(benchmark::State& state, uint64_t insns, F&& body) {
    const double per_run = time_runs(state, 1, body);
    state.counters["insns"] = static_cast<double>(insns);
    if (insns > 0) state.counters["ns/insn"] = per_run / static_cast<double>(insns);
}

void register_engine(Workload& w, const std::string& label, std::shared_ptr<Executable> exe) {
    verify(w, *exe, label);
    benchmark::RegisterBenchmark((w.name + "/" + label).c_str(), [&w, exe](benchmark::State& state) {
        RunContext rc = w.run_context();
        const auto r1 = reinterpret_cast<uint64_t>(&w.ctx);
        timed_loop(state, w.insns, [&] { benchmark::DoNotOptimize(exe->run(rc, r1).r0); });
    });
}

std::shared_ptr<Executable> must(Result<std::unique_ptr<Executable>> exe, const std::string& what) {
    if (!exe) die(what + ": " + exe.error().to_string());
    return std::shared_ptr<Executable>(std::move(*exe));
}

void register_workload(Workload& w, bool have_jit) {
    EngineOptions checked;
    EngineOptions unchecked;
    unchecked.checked = false;
    // Count executed instructions once, with the checked interpreter.
    auto counting = must(interp::prepare(w.program, no_helpers(), checked), w.name + "/interp_checked");
    verify(w, *counting, "interp_checked", &w.insns);

    benchmark::RegisterBenchmark((w.name + "/native").c_str(), [&w](benchmark::State& state) {
        timed_loop(state, w.insns, [&] {
            benchmark::DoNotOptimize(w.native(&w.ctx));
            benchmark::ClobberMemory();
        });
    });
    const SwitchResult sw = switch_interp_run(w.raw.data(), w.raw.size(), reinterpret_cast<uint64_t>(&w.ctx), 0);
    if (!sw.ok) die(w.name + "/switch: unsupported instruction at " + std::to_string(sw.bad_pc));
    if (sw.r0 != w.expected) die(w.name + "/switch: result " + std::to_string(sw.r0) + " != native");
    benchmark::RegisterBenchmark((w.name + "/switch_baseline").c_str(), [&w](benchmark::State& state) {
        const auto r1 = reinterpret_cast<uint64_t>(&w.ctx);
        timed_loop(state, w.insns,
                   [&] { benchmark::DoNotOptimize(switch_interp_run(w.raw.data(), w.raw.size(), r1, 0).r0); });
    });
    register_engine(w, "interp", must(interp::prepare(w.program, no_helpers(), unchecked), w.name + "/interp"));
    register_engine(w, "interp_checked", counting);
    register_engine(w, "interp_switch_dispatch",
                    must(interp::prepare_with(w.program, no_helpers(), unchecked, interp::switch_dispatch()),
                         w.name + "/interp_switch_dispatch"));
    if (!have_jit) return;
    register_engine(w, "jit", must(prepare(w.program, EngineKind::Jit, no_helpers(), unchecked), w.name + "/jit"));
    register_engine(w, "jit_checked",
                    must(prepare(w.program, EngineKind::Jit, no_helpers(), checked), w.name + "/jit_checked"));
}

/// Straight-line code with forward branches: 4 instructions per block, 2 + 4 * blocks + 1 in all.
Program generated_program(int blocks) {
    std::vector<RawInsn> raw;
    raw.push_back(RawInsn::make(0xb7, 0, 0, 0, 0));  // r0 = 0
    raw.push_back(RawInsn::make(0xb7, 1, 0, 0, 1));  // r1 = 1
    for (int i = 0; i < blocks; ++i) {
        raw.push_back(RawInsn::make(0x07, 0, 0, 0, i));                      // r0 += i
        raw.push_back(RawInsn::make(0xaf, 1, 0, 0, 0));                      // r1 ^= r0
        raw.push_back(RawInsn::make(0x25, 1, 0, 1, (i * 7919) & 0xffff));    // if r1 > c goto +1
        raw.push_back(RawInsn::make(0x17, 0, 0, 0, 1));                      // r0 -= 1
    }
    raw.push_back(RawInsn::make(0x95));
    auto prog = decode_program(std::span<const RawInsn>(raw));
    if (!prog) die("generated program: " + prog.error().to_string());
    return std::move(*prog);
}

/// Branch-dense code for compile-time rows: per 4 instructions an ALU immediate, an ALU register
/// op, a stack store or load, and a conditional jump to a pseudo-random target up to 64
/// instructions away in either direction (backward ones make loop heads). Only compiled, never run.
Program dense_branch_program(uint32_t blocks) {
    std::vector<RawInsn> raw;
    uint32_t x = 2463534242u;
    auto next = [&] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    const uint32_t n = 4 * blocks + 1;
    static const uint8_t kAluImm[] = {0x07, 0x17, 0x27, 0x47, 0x57, 0xa7, 0x04, 0x14, 0x44, 0x54, 0xa4, 0xb7};
    static const uint8_t kAluReg[] = {0x0f, 0x1f, 0x2f, 0x4f, 0x5f, 0xaf, 0x0c, 0x1c, 0x4c, 0x5c, 0xac, 0xbf};
    static const uint8_t kJmpImm[] = {0x15, 0x55, 0x25, 0x35, 0xa5, 0xb5, 0x65, 0x75, 0x16, 0x56, 0x26, 0xa6};
    for (uint32_t b = 0; b < blocks; ++b) {
        const auto r = static_cast<uint8_t>(next() % 10);
        const auto q = static_cast<uint8_t>(next() % 10);
        raw.push_back(RawInsn::make(kAluImm[next() % std::size(kAluImm)], r, 0, 0, static_cast<int32_t>(next() % 1000)));
        raw.push_back(RawInsn::make(kAluReg[next() % std::size(kAluReg)], q, r));
        const auto slot = static_cast<int16_t>(-8 * static_cast<int>(1 + next() % 8));
        if (next() % 2 == 0)
            raw.push_back(RawInsn::make(0x7b, 10, q, slot));  // *(u64 *)(r10 - k) = q
        else
            raw.push_back(RawInsn::make(0x79, r, 10, slot));  // r = *(u64 *)(r10 - k)
        // Target pc in [pc - 64, pc + 64] within the program; the jump is at pc, off = target - pc - 1.
        const auto pc = static_cast<int64_t>(raw.size());
        const int64_t target = std::clamp<int64_t>(pc + static_cast<int64_t>(next() % 129) - 64, 0, int64_t{n} - 1);
        raw.push_back(RawInsn::make(kJmpImm[next() % std::size(kJmpImm)], r, 0, static_cast<int16_t>(target - pc - 1),
                                    static_cast<int32_t>(next() % 100)));
    }
    raw.push_back(RawInsn::make(0x95));
    auto prog = decode_program(std::span<const RawInsn>(raw));
    if (!prog) die("dense branch program: " + prog.error().to_string());
    return std::move(*prog);
}

void register_compile(const std::string& name, std::shared_ptr<Program> program, bool have_jit) {
    const auto n = static_cast<double>(program->insns.size());
    auto prepare_bench = [program, n](EngineKind engine, bool checked) {
        return [program, n, engine, checked](benchmark::State& state) {
            EngineOptions options;
            options.checked = checked;
            auto first = prepare(*program, engine, no_helpers(), options);
            if (!first) {
                state.SkipWithError(first.error().to_string().c_str());
                return;
            }
            timed_loop(state, static_cast<uint64_t>(n), [&] {
                auto exe = prepare(*program, engine, no_helpers(), options);
                benchmark::DoNotOptimize(exe.has_value());
            });
        };
    };
    benchmark::RegisterBenchmark(("prepare/" + name + "/interp").c_str(), prepare_bench(EngineKind::Interp, true));
    if (!have_jit) return;
    benchmark::RegisterBenchmark(("prepare/" + name + "/jit").c_str(), prepare_bench(EngineKind::Jit, true));
    benchmark::RegisterBenchmark(("prepare/" + name + "/jit_unchecked").c_str(), prepare_bench(EngineKind::Jit, false));
}

}  // namespace
}  // namespace bpfvm::bench

int main(int argc, char** argv) {
    using namespace bpfvm::bench;
    if (!init_benchmark(&argc, argv)) return 1;
    const bool have_jit = bpfvm::parse_engine("jit").has_value();
    if (!have_jit) std::fprintf(stderr, "bench_engines: JIT not available, JIT rows skipped\n");
    static auto workloads = make_workloads();
    for (auto& w : workloads) register_workload(*w, have_jit);
    for (auto& w : workloads) register_compile(w->name, std::make_shared<bpfvm::Program>(w->program), have_jit);
    auto generated = std::make_shared<bpfvm::Program>(generated_program(2500));
    register_compile("generated_" + std::to_string(generated->insns.size()), generated, have_jit);
    // Fixed cost (a 3-instruction program) and marginal cost on branch-dense code of 1k to 64k
    // instructions (the slope between sizes; bench/README.md).
    register_compile("tiny_3", std::make_shared<bpfvm::Program>(generated_program(0)), have_jit);
    for (uint32_t blocks : {256u, 1024u, 4096u, 16384u}) {
        auto dense = std::make_shared<bpfvm::Program>(dense_branch_program(blocks));
        register_compile("dense_" + std::to_string(dense->insns.size()), dense, have_jit);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
