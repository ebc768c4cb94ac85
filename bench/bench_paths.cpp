// The paths users take to the same code, on the bench programs (programs/*.c, one XDP object
// each, the 1500-byte bench packet): native C (as clang -O2 emits it, and scalar: no vectorisation
// or library calls); Executable::run and the direct-call API
// (DirectCall) on the object's runnable program; Object::test_run with `repeat`, as
// `bpfvm run OBJ --repeat N` does (RunMode::Auto: verified first, so accepted programs run
// unchecked), next to the same test-run forced checked (RunMode::Checked); and the kernel's own
// BPF_PROG_TEST_RUN on the same object and packet (through the project's bpf() bridge, when this
// process may use bpf()). Also the cost of one call of a `return 0` program through each entry path.
//
// Every row reports `ns/run`: thread CPU time per program run (for the test-run rows the CPU time
// of the whole call divided by `repeat`, so per-call setup counts, amortised). Test-run rows also
// report `dur_ns`, the duration the test-run itself reports (the kernel's measure). Every path's
// result is checked against the native result before anything is timed. bench/ratios.py turns a
// JSON run into the ratio tables of bench/README.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "bpfvm/bpfvm.hpp"
#include "bpfvm/kernel.hpp"
#include "testrun/testrun_internal.hpp"

extern "C" {
typedef unsigned long long u64;
typedef unsigned char u8;
// The native forms of each program (programs/bench_prog.h).
#define BENCH_ANCHOR(name)                  \
    u64 anchor_native_##name(u8*, u8*);     \
    u64 anchor_scalar_##name(u8*, u8*);
BENCH_ANCHOR(adler32)
BENCH_ANCHOR(arith)
BENCH_ANCHOR(checksum)
BENCH_ANCHOR(crc32)
BENCH_ANCHOR(parse)
BENCH_ANCHOR(sieve)
#undef BENCH_ANCHOR
u64 bench_native_return0(u8* data, u8* end);
}

namespace bpfvm::bench {
namespace {

using NativeFn = u64 (*)(u8*, u8*);
constexpr uint32_t kRepeat = 1000;  // test-run rows: program runs per call

[[noreturn]] void die(const std::string& message) { bench::die("bench_paths", message); }

/// Runs `body` once per iteration (`runs` program runs each) and reports ns/run.
template <class F>
void timed(benchmark::State& state, uint64_t runs, F&& body) {
    state.counters["ns/run"] = time_runs(state, runs, body);
}

const HelperTable& no_helpers() {
    static const HelperTable table;
    return table;
}

/// One anchor: its object, the program as prepared code runs it, and the buffers of the
/// Executable::run / DirectCall rows (an XDP context as the test-run builds it, over a copy of
/// the packet).
struct Anchor {
    std::string name;
    NativeFn native = nullptr;
    NativeFn scalar = nullptr;  // the same C without vectorisation or library calls
    std::vector<uint8_t> packet;
    std::unique_ptr<Object> object;
    Program runnable;
    uint64_t expected = 0;  // native result, low 32 bits (the XDP program returns an int)
    std::vector<uint8_t> buffer;
    testrun::XdpKernCtx xdp{};

    /// Fresh copy of the packet and a context pointing at it; r1 for the program.
    uint64_t reset_buffers() {
        buffer = packet;
        xdp = testrun::XdpKernCtx{};
        xdp.data = reinterpret_cast<uint64_t>(buffer.data());
        xdp.data_end = xdp.data + buffer.size();
        xdp.data_meta = xdp.data;
        return reinterpret_cast<uint64_t>(&xdp);
    }
    RunContext run_context() const {
        RunContext rc;
        const auto c = reinterpret_cast<uint64_t>(&xdp);
        rc.regions.push_back({c, c + sizeof xdp, false});
        rc.regions.push_back({xdp.data, xdp.data_end, true});
        return rc;
    }
};

bool has_neg(const Program& p) {
    for (const Insn& i : p.insns)
        if (i.op == Op::Neg32 || i.op == Op::Neg64) return true;
    return false;
}

std::unique_ptr<Anchor> load_anchor(const std::string& name, NativeFn native, NativeFn scalar,
                                    const std::vector<uint8_t>& packet) {
    auto a = std::make_unique<Anchor>();
    a->name = name;
    a->native = native;
    a->scalar = scalar;
    a->packet = packet;
    auto obj = Object::open(program_path(name, ".bpf.o"));
    if (!obj) die(obj.error().to_string());
    a->object = std::make_unique<Object>(std::move(*obj));
    auto prog = a->object->runnable_program(name);
    if (!prog) die(prog.error().to_string());
    a->runnable = std::move(*prog);
    std::vector<uint8_t> copy = packet;
    a->expected = native(copy.data(), copy.data() + copy.size()) & 0xffffffffu;
    return a;
}

std::shared_ptr<Executable> must_prepare(const Anchor& a, EngineKind engine, bool checked) {
    EngineOptions o;
    o.checked = checked;
    auto exe = prepare(a.runnable, engine, no_helpers(), o);
    if (!exe) die(a.name + ": " + exe.error().to_string());
    return std::shared_ptr<Executable>(std::move(*exe));
}

void check(const Anchor& a, const std::string& row, uint64_t got) {
    if ((got & 0xffffffffu) != a.expected)
        die(a.name + "/" + row + ": result " + std::to_string(got) + " != native " + std::to_string(a.expected));
}

void register_native(Anchor& a, const std::string& row, NativeFn fn) {
    std::vector<uint8_t> copy = a.packet;
    check(a, row, fn(copy.data(), copy.data() + copy.size()));
    benchmark::RegisterBenchmark((a.name + "/" + row).c_str(), [&a, fn](benchmark::State& state) {
        std::vector<uint8_t> buf = a.packet;
        timed(state, 1, [&] {
            benchmark::DoNotOptimize(fn(buf.data(), buf.data() + buf.size()));
            benchmark::ClobberMemory();
        });
    });
}

void register_engine_paths(Anchor& a, EngineKind engine, bool checked) {
    const std::string suffix = std::string(engine == EngineKind::Jit ? "jit" : "interp") + (checked ? "_checked" : "");
    auto exe = must_prepare(a, engine, checked);
    {
        const uint64_t r1 = a.reset_buffers();
        RunContext rc = a.run_context();
        const RunResult r = exe->run(rc, r1);
        if (!r.ok()) die(a.name + "/run_" + suffix + ": " + describe_trap(r.trap, rc));
        check(a, "run_" + suffix, r.r0);
    }
    benchmark::RegisterBenchmark((a.name + "/run_" + suffix).c_str(), [&a, exe](benchmark::State& state) {
        const uint64_t r1 = a.reset_buffers();
        RunContext rc = a.run_context();
        timed(state, 1, [&] { benchmark::DoNotOptimize(exe->run(rc, r1).r0); });
    });
    benchmark::RegisterBenchmark((a.name + "/direct_" + suffix).c_str(), [&a, exe, suffix](benchmark::State& state) {
        const uint64_t r1 = a.reset_buffers();
        RunContext rc = a.run_context();
        auto call = DirectCall::bind(*exe, rc);
        if (!call) die(call.error().to_string());
        check(a, "direct_" + suffix, (*call)(r1));
        timed(state, 1, [&] { benchmark::DoNotOptimize((*call)(r1)); });
    });
    TestRunInput in;
    in.data = a.packet;
    in.engine = engine;
    // The unchecked row is the path users take by default: verify, then run unchecked what the
    // verifier accepts (RunMode::Auto).
    in.mode = checked ? RunMode::Checked : RunMode::Auto;
    in.repeat = kRepeat;
    auto first = a.object->test_run(a.name, in);
    if (!first) die(a.name + "/testrun_" + suffix + ": " + first.error().to_string());
    check(a, "testrun_" + suffix, first->retval);
    // An Auto row that ran checked would compare checked with checked: say so, on stderr and in
    // the row (counter `checked`), rather than report it as the verified path.
    if (!checked && first->checked)
        std::fprintf(stderr, "bench_paths: %s/testrun_%s ran checked: %s\n", a.name.c_str(), suffix.c_str(),
                     first->warnings.empty() ? "?" : first->warnings[0].c_str());
    const bool ran_checked = first->checked;
    benchmark::RegisterBenchmark((a.name + "/testrun_" + suffix).c_str(), [&a, in, ran_checked](benchmark::State& state) {
        uint64_t dur = 0;
        timed(state, kRepeat, [&] {
            auto r = a.object->test_run(a.name, in);
            dur += r->duration_ns;
        });
        state.counters["dur_ns"] = static_cast<double>(dur) / static_cast<double>(state.iterations());
        state.counters["checked"] = ran_checked ? 1 : 0;
    });
}

/// The kernel's BPF_PROG_TEST_RUN on the same object; skipped (with a message) when bpf() is not
/// usable or the kernel rejects the program.
void register_kernel(Anchor& a) {
    if (has_neg(a.runnable)) {  // never load a neg into this machine's kernel (DEVELOPERS.md)
        std::fprintf(stderr, "bench_paths: %s has a neg instruction: no kernel row\n", a.name.c_str());
        return;
    }
    auto ko = kernel::KernelObject::open(a.object->file());
    if (!ko) {
        std::fprintf(stderr, "bench_paths: %s: kernel rows skipped: %s\n", a.name.c_str(), ko.error().to_string().c_str());
        return;
    }
    auto shared = std::make_shared<kernel::KernelObject>(std::move(*ko));
    kernel::TestRunInput in;
    in.data = a.packet;
    in.repeat = kRepeat;
    auto first = shared->test_run(a.name, in);
    if (!first) {
        std::fprintf(stderr, "bench_paths: %s: kernel rows skipped: %s\n", a.name.c_str(), first.error().to_string().c_str());
        return;
    }
    check(a, "kernel", first->retval);
    benchmark::RegisterBenchmark((a.name + "/kernel").c_str(), [&a, shared, in](benchmark::State& state) {
        uint64_t dur = 0;
        timed(state, kRepeat, [&] {
            auto r = shared->test_run(a.name, in);
            dur += r->duration_ns;
        });
        state.counters["dur_ns"] = static_cast<double>(dur) / static_cast<double>(state.iterations());
    });
}

/// Entry cost: `r0 = 0; exit` through each path, next to a call of a native function.
void register_call_overhead(bool have_jit) {
    static Program program = [] {
        std::vector<RawInsn> raw(2);
        raw[0].opcode = 0xb7;  // r0 = 0
        raw[1].opcode = 0x95;  // exit
        auto p = decode_program(std::span<const RawInsn>(raw));
        if (!p) die(p.error().to_string());
        return std::move(*p);
    }();
    benchmark::RegisterBenchmark("return0/native_call", [](benchmark::State& state) {
        NativeFn fn = &bench_native_return0;
        benchmark::DoNotOptimize(fn);
        timed(state, 1, [&] { benchmark::DoNotOptimize(fn(nullptr, nullptr)); });
    });
    for (EngineKind engine : {EngineKind::Jit, EngineKind::Interp}) {
        if (engine == EngineKind::Jit && !have_jit) continue;
        for (bool checked : {false, true}) {
            EngineOptions o;
            o.checked = checked;
            auto prepared = prepare(program, engine, no_helpers(), o);
            if (!prepared) die(prepared.error().to_string());
            std::shared_ptr<Executable> exe(std::move(*prepared));
            const std::string suffix =
                std::string(engine == EngineKind::Jit ? "jit" : "interp") + (checked ? "_checked" : "");
            benchmark::RegisterBenchmark(("return0/run_" + suffix).c_str(), [exe](benchmark::State& state) {
                RunContext rc;
                timed(state, 1, [&] { benchmark::DoNotOptimize(exe->run(rc, 0).r0); });
            });
            benchmark::RegisterBenchmark(("return0/direct_" + suffix).c_str(), [exe](benchmark::State& state) {
                RunContext rc;
                auto call = DirectCall::bind(*exe, rc);
                if (!call) die(call.error().to_string());
                timed(state, 1, [&] { benchmark::DoNotOptimize((*call)(0)); });
            });
        }
    }
}

}  // namespace
}  // namespace bpfvm::bench

int main(int argc, char** argv) {
    using namespace bpfvm::bench;
    if (!init_benchmark(&argc, argv)) return 1;
    const bool have_jit = bpfvm::parse_engine("jit").has_value();
    const bpfvm::kernel::Probe probe = bpfvm::kernel::probe();
    if (!probe.usable) std::fprintf(stderr, "bench_paths: kernel rows skipped: %s\n", probe.reason.c_str());
    const std::vector<uint8_t> packet = make_packet();
    static std::vector<std::unique_ptr<Anchor>> anchors;
    const struct {
        const char* name;
        NativeFn native, scalar;
    } specs[] = {
        {"parse", &anchor_native_parse, &anchor_scalar_parse},
        {"adler32", &anchor_native_adler32, &anchor_scalar_adler32},
        {"sieve", &anchor_native_sieve, &anchor_scalar_sieve},
        {"crc32", &anchor_native_crc32, &anchor_scalar_crc32},
        {"arith", &anchor_native_arith, &anchor_scalar_arith},
        {"checksum", &anchor_native_checksum, &anchor_scalar_checksum},
    };
    for (const auto& s : specs) anchors.push_back(load_anchor(s.name, s.native, s.scalar, packet));
    for (auto& a : anchors) {
        register_native(*a, "native", a->native);
        register_native(*a, "native_scalar", a->scalar);
        if (have_jit) {
            register_engine_paths(*a, bpfvm::EngineKind::Jit, false);
            register_engine_paths(*a, bpfvm::EngineKind::Jit, true);
        }
        register_engine_paths(*a, bpfvm::EngineKind::Interp, false);
        register_engine_paths(*a, bpfvm::EngineKind::Interp, true);
        if (probe.usable) register_kernel(*a);
    }
    register_call_overhead(have_jit);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
