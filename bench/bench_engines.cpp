// Engine comparison on the programs in bench/programs/: native C, the baseline switch interpreter
// over raw bytes, the interpreter (unchecked, checked, and its portable switch dispatch) and the
// JIT through the facade when available. Every BPF result is checked against the native result
// before anything is timed. Also times JIT compilation (and interpreter preparation) per
// instruction, on the benchmark programs and on a generated 10,000-instruction program.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/vm.hpp"
#include "interpreter/internal.hpp"
#include "switch_interp.hpp"

extern "C" {
#include "bench_prog.h"
u64 bench_native_arith(struct bench_ctx* ctx);
u64 bench_native_checksum(struct bench_ctx* ctx);
u64 bench_native_parse(struct bench_ctx* ctx);
u64 bench_native_sieve(struct bench_ctx* ctx);
}

namespace bpfvm::bench {
namespace {

using NativeFn = u64 (*)(bench_ctx*);

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "bench_engines: %s\n", message.c_str());
    std::exit(1);
}

/// An Ethernet + 802.1Q + IPv4 (valid header checksum) + TCP (MSS, NOP, window scale options)
/// packet with a small payload.
std::vector<uint8_t> make_packet() {
    std::vector<uint8_t> p = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x81, 0x00,  // eth, 802.1Q
        0x00, 0x2a, 0x08, 0x00,                                                              // tag, IPv4
        0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,              // IPv4
        0xc0, 0xa8, 0x00, 0x68, 0xc0, 0xa8, 0x00, 0x01,                                      // addresses
        0xd4, 0x31, 0x01, 0xbb, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,              // TCP ports, seq, ack
        0xa0, 0x02, 0xfa, 0xf0, 0x00, 0x00, 0x00, 0x00,                                      // doff 10, SYN
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01,              // MSS, SACK ok, TS
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,                                      // TS, NOP, wscale
    };
    for (int i = 0; i < 16; ++i) p.push_back(static_cast<uint8_t>(i));
    // IPv4 header checksum over the 20 bytes at offset 18.
    uint32_t sum = 0;
    for (size_t i = 18; i < 38; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    p[28] = static_cast<uint8_t>(~sum >> 8);
    p[29] = static_cast<uint8_t>(~sum);
    return p;
}

/// One benchmark program with its input and everything prepared once.
struct Workload {
    std::string name;
    NativeFn native = nullptr;
    std::vector<uint8_t> data;
    uint64_t len = 0;  // bench_ctx::len: buffer length, or the iteration count for arith
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

std::vector<RawInsn> read_program(const std::string& name) {
    const std::string path = std::string(BPFVM_BENCH_PROGRAM_DIR) + "/" + name + ".bin";
    std::ifstream in(path, std::ios::binary);
    if (!in) die("cannot open " + path + " (built by the bench_programs target)");
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty() || bytes.size() % sizeof(RawInsn) != 0) die(path + ": not a whole number of instructions");
    std::vector<RawInsn> raw(bytes.size() / sizeof(RawInsn));
    std::memcpy(raw.data(), bytes.data(), bytes.size());
    return raw;
}

std::vector<std::unique_ptr<Workload>> make_workloads() {
    struct Spec {
        const char* name;
        NativeFn native;
        std::vector<uint8_t> data;
        uint64_t len;
    };
    std::vector<uint8_t> noise(1500);
    uint32_t x = 12345;
    for (auto& b : noise) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
    const std::vector<uint8_t> packet = make_packet();
    const Spec specs[] = {
        {"arith", &bench_native_arith, std::vector<uint8_t>(8), 1000},
        {"checksum", &bench_native_checksum, noise, noise.size()},
        {"parse", &bench_native_parse, packet, packet.size()},
        {"sieve", &bench_native_sieve, std::vector<uint8_t>(4096), 4096},
    };
    std::vector<std::unique_ptr<Workload>> out;
    for (const Spec& s : specs) {
        auto w = std::make_unique<Workload>();
        w->name = s.name;
        w->native = s.native;
        w->data = s.data;
        w->len = s.len;
        w->ctx = bench_ctx{w->data.data(), w->len};
        w->raw = read_program(s.name);
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

/// CPU time of this thread in ns (the machine is shared, so wall time would count other jobs).
double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

/// Runs `body` once per benchmark iteration and reports `insns` (BPF instructions per run) and
/// ns/insn (thread CPU time per executed BPF instruction) as plain numbers.
template <class F>
void timed_loop(benchmark::State& state, uint64_t insns, F&& body) {
    const double start = thread_cpu_ns();
    for (auto _ : state) body();
    const double elapsed = thread_cpu_ns() - start;
    state.counters["insns"] = static_cast<double>(insns);
    if (state.iterations() > 0 && insns > 0)
        state.counters["ns/insn"] = elapsed / (static_cast<double>(state.iterations()) * static_cast<double>(insns));
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
    auto add = [&](uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
        RawInsn r;
        r.opcode = opcode;
        r.set_dst(dst);
        r.set_src(src);
        r.set_off(off);
        r.set_imm(imm);
        raw.push_back(r);
    };
    add(0xb7, 0, 0, 0, 0);  // r0 = 0
    add(0xb7, 1, 0, 0, 1);  // r1 = 1
    for (int i = 0; i < blocks; ++i) {
        add(0x07, 0, 0, 0, i);                   // r0 += i
        add(0xaf, 1, 0, 0, 0);                   // r1 ^= r0
        add(0x25, 1, 0, 1, (i * 7919) & 0xffff); // if r1 > c goto +1
        add(0x17, 0, 0, 0, 1);                   // r0 -= 1
    }
    add(0x95, 0, 0, 0, 0);
    auto prog = decode_program(std::span<const RawInsn>(raw));
    if (!prog) die("generated program: " + prog.error().to_string());
    return std::move(*prog);
}

void register_compile(const std::string& name, std::shared_ptr<Program> program, bool have_jit) {
    const auto n = static_cast<double>(program->insns.size());
    auto prepare_bench = [program, n](EngineKind engine) {
        return [program, n, engine](benchmark::State& state) {
            const EngineOptions options;
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
    benchmark::RegisterBenchmark(("prepare/" + name + "/interp").c_str(), prepare_bench(EngineKind::Interp));
    if (have_jit) benchmark::RegisterBenchmark(("prepare/" + name + "/jit").c_str(), prepare_bench(EngineKind::Jit));
}

}  // namespace
}  // namespace bpfvm::bench

int main(int argc, char** argv) {
    using namespace bpfvm::bench;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    const bool have_jit = bpfvm::parse_engine("jit").has_value();
    if (!have_jit) std::fprintf(stderr, "bench_engines: JIT not available, JIT rows skipped\n");
    static auto workloads = make_workloads();
    for (auto& w : workloads) register_workload(*w, have_jit);
    for (auto& w : workloads) register_compile(w->name, std::make_shared<bpfvm::Program>(w->program), have_jit);
    auto generated = std::make_shared<bpfvm::Program>(generated_program(2500));
    register_compile("generated_" + std::to_string(generated->insns.size()), generated, have_jit);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
