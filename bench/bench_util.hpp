// Shared by the bench executables: failing loudly, CPU-time loops, the bench packet and the
// programs' build outputs (programs/bench_prog.h describes them).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bpfvm/isa.hpp"

namespace bpfvm::bench {

/// Packet length of every program (BENCH_LEN in programs/bench_prog.h).
inline constexpr size_t kPacketLen = 1500;

/// Prints "TOOL: message" and exits with status 1.
[[noreturn]] inline void die(const char* tool, const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", tool, message.c_str());
    std::exit(1);
}

/// CPU time of this thread in ns (the machine is shared, so wall time would count other jobs).
inline double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

/// Runs `body` once per benchmark iteration, `runs` program runs each time; returns the thread CPU
/// time per run in ns (0 when nothing ran).
template <class F>
double time_runs(benchmark::State& state, uint64_t runs, F&& body) {
    const double start = thread_cpu_ns();
    for (auto _ : state) body();
    const double elapsed = thread_cpu_ns() - start;
    if (state.iterations() == 0 || runs == 0) return 0;
    return elapsed / (static_cast<double>(state.iterations()) * static_cast<double>(runs));
}

/// Ethernet + 802.1Q + IPv4 (valid header checksum) + TCP with options (MSS, SACK permitted,
/// timestamps, NOP, window scale), then a pseudo-random payload up to kPacketLen bytes.
inline std::vector<uint8_t> make_packet() {
    std::vector<uint8_t> p = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x81, 0x00,  // eth, 802.1Q
        0x00, 0x2a, 0x08, 0x00,                                                              // tag, IPv4
        0x45, 0x00, 0x05, 0xce, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,              // IPv4
        0xc0, 0xa8, 0x00, 0x68, 0xc0, 0xa8, 0x00, 0x01,                                      // addresses
        0xd4, 0x31, 0x01, 0xbb, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,              // TCP ports, seq, ack
        0xa0, 0x02, 0xfa, 0xf0, 0x00, 0x00, 0x00, 0x00,                                      // doff 10, SYN
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01,              // MSS, SACK ok, TS
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,                                      // TS, NOP, wscale
    };
    uint32_t x = 12345;
    while (p.size() < kPacketLen) p.push_back(static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16));
    uint32_t sum = 0;
    for (size_t i = 18; i < 38; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    p[28] = static_cast<uint8_t>(~sum >> 8);
    p[29] = static_cast<uint8_t>(~sum);
    return p;
}

/// benchmark::Initialize, then false (after a message) when arguments were left unrecognised.
inline bool init_benchmark(int* argc, char** argv) {
    benchmark::Initialize(argc, argv);
    return !benchmark::ReportUnrecognizedArguments(*argc, argv);
}

/// Path of a program's build output, e.g. program_path("parse", ".bpf.o").
inline std::string program_path(const std::string& name, const char* suffix) {
    return std::string(BPFVM_BENCH_PROGRAM_DIR) + "/" + name + suffix;
}

/// The raw bytecode of program `name` (its bench/<name> section); exits on failure.
inline std::vector<RawInsn> read_raw_program(const char* tool, const std::string& name) {
    const std::string path = program_path(name, ".bin");
    std::ifstream in(path, std::ios::binary);
    if (!in) die(tool, "cannot open " + path + " (built by the bench_programs target)");
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty() || bytes.size() % sizeof(RawInsn) != 0) die(tool, path + ": not a whole number of instructions");
    std::vector<RawInsn> raw(bytes.size() / sizeof(RawInsn));
    std::memcpy(raw.data(), bytes.data(), bytes.size());
    return raw;
}

}  // namespace bpfvm::bench
