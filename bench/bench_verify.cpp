// Verification cost: a timing tool (its own main, not Google Benchmark: each verification is one
// measurement of a different program). Prints two tables:
//
//   1. per ebpf-samples object: programs, accepted, instructions processed, peak states, and the
//      verification time (thread CPU time, best of --repeat runs);
//   2. the kernel selftests this kernel accepts: total and median time, instructions processed,
//      and, for the programs whose manifest row carries the kernel's own statistics
//      (`processed N insns ... total_states T peak_states P`), bpfvm's numbers next to the kernel's.
//
//   bench_verify [--repeat N] [--objects]   (--objects: the per-object table only)
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "verifier_corpus/harness.hpp"

namespace {

using namespace bpfvm;
struct Measured {
    Verification v;
    double us = 0;  // best thread CPU time over the repeats (the machine is shared: not wall time)
};

double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

/// Verifies `spec` `repeat` times; the verdict of the last run, the best time.
Measured measure(const ObjectFile& file, const ProgramSpec& spec, const VerifyOptions& options, int repeat) {
    Measured m;
    m.us = 1e18;
    for (int i = 0; i < repeat; ++i) {
        const double t0 = thread_cpu_us();
        m.v = verify_program(file, spec, options);
        m.us = std::min(m.us, thread_cpu_us() - t0);
    }
    return m;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void corpus_table(int repeat) {
    const corpus::SampleTypes types = corpus::SampleTypes::load();
    // The programs of the rows (as the harness verifies them), grouped by object in row order.
    std::vector<std::string> order;
    std::map<std::string, std::vector<corpus::SampleRow>> by_object;
    for (const corpus::SampleRow& r : corpus::read_sample_rows()) {
        if (r.expected == "load_error" || r.expected == "unmarshal_error") continue;
        if (!by_object.count(r.object_key())) order.push_back(r.object_key());
        by_object[r.object_key()].push_back(r);
    }
    std::printf("ebpf-samples: per object, the programs of its rows (thread CPU time, best of %d)\n\n", repeat);
    std::printf("| object | programs | accepted | insns processed | peak states (max) | time (ms) |\n");
    std::printf("|---|---|---|---|---|---|\n");
    uint64_t all_insns = 0;
    double all_ms = 0;
    size_t all_programs = 0, all_accepted = 0;
    for (const std::string& key : order) {
        const auto& rows = by_object[key];
        auto file = load_object(rows.front().path(), object_load_defaults());
        if (!file) continue;
        std::set<std::string> done;
        size_t programs = 0, accepted = 0;
        uint64_t insns = 0, peak = 0;
        double us = 0;
        for (const corpus::SampleRow& r : rows) {
            for (const ProgramSpec& p : file->programs) {
                if (p.section != r.section || (!r.program.empty() && p.name != r.program)) continue;
                if (!done.insert(p.name).second) continue;
                VerifyOptions o = types.options_for(r);
                o.type = types.type_for(r, p);
                const Measured m = measure(*file, p, o, repeat);
                ++programs;
                accepted += m.v.verdict == Verdict::Accept;
                insns += m.v.stats.insns_processed;
                peak = std::max(peak, m.v.stats.peak_states);
                us += m.us;
            }
        }
        if (programs == 0) continue;
        std::printf("| %s | %zu | %zu | %llu | %llu | %.2f |\n", key.c_str(), programs, accepted,
                    static_cast<unsigned long long>(insns), static_cast<unsigned long long>(peak), us / 1000);
        all_insns += insns;
        all_ms += us / 1000;
        all_programs += programs;
        all_accepted += accepted;
    }
    std::printf("| **all** | %zu | %zu | %llu | | %.1f |\n\n", all_programs, all_accepted,
                static_cast<unsigned long long>(all_insns), all_ms);
}

struct KernelStats {
    uint64_t insns = 0, total_states = 0, peak_states = 0;
};

/// The number after `key` in `text` (searching from `from`), or nullopt.
std::optional<uint64_t> number_after(const std::string& text, const std::string& key, size_t from = 0) {
    const size_t at = text.find(key, from);
    if (at == std::string::npos) return std::nullopt;
    const char* p = text.c_str() + at + key.size();
    if (*p < '0' || *p > '9') return std::nullopt;
    return std::strtoull(p, nullptr, 10);
}

/// The kernel's "processed N insns ... total_states T peak_states P" statistics line.
std::optional<KernelStats> kernel_stats(const std::string& log) {
    const size_t at = log.find("processed ");
    if (at == std::string::npos) return std::nullopt;
    auto insns = number_after(log, "processed ", at);
    auto total = number_after(log, "total_states ", at);
    auto peak = number_after(log, "peak_states ", at);
    if (!insns || !total || !peak) return std::nullopt;
    return KernelStats{*insns, *total, *peak};
}

void selftests_table(int repeat) {
    corpus::SelftestObjects objects;
    std::vector<double> times;
    uint64_t insns = 0;
    size_t accepted = 0;
    struct Row {
        std::string name;
        KernelStats kernel;
        uint64_t insns, peak;
        double us;
    };
    std::vector<Row> compared;
    for (const corpus::SelftestRow& r : corpus::read_selftest_rows()) {
        if (r.kernel_priv != "accept" || r.has_flag("auxiliary")) continue;
        std::string error;
        const ObjectFile* file = objects.get(r, error);
        const ProgramSpec* spec = file ? file->find_program(r.program) : nullptr;
        if (spec == nullptr) continue;
        const Measured m = measure(*file, *spec, corpus::selftest_options(r, corpus::Mode::Privileged), repeat);
        times.push_back(m.us);
        insns += m.v.stats.insns_processed;
        accepted += m.v.verdict == Verdict::Accept;
        if (auto k = kernel_stats(r.log_tail))
            compared.push_back({r.key(), *k, m.v.stats.insns_processed, m.v.stats.peak_states, m.us});
    }
    double total = 0;
    for (double t : times) total += t;
    std::printf("kernel selftests this kernel accepts: %zu programs (bpfvm accepts %zu), thread CPU time, best of %d\n\n",
                times.size(), accepted, repeat);
    std::printf("| | total | median | max | insns processed |\n|---|---|---|---|---|\n");
    std::printf("| bpfvm | %.1f ms | %.0f us | %.2f ms | %llu |\n\n", total / 1000, median(times),
                times.empty() ? 0.0 : *std::max_element(times.begin(), times.end()) / 1000,
                static_cast<unsigned long long>(insns));
    std::printf("programs whose manifest row has the kernel's statistics (%zu):\n\n", compared.size());
    std::printf("| program | insns processed (bpfvm / kernel) | peak states (bpfvm / kernel) | bpfvm time (us) |\n");
    std::printf("|---|---|---|---|\n");
    KernelStats sum_k;
    uint64_t sum_i = 0, sum_p = 0;
    for (const Row& r : compared) {
        std::printf("| %s | %llu / %llu | %llu / %llu | %.0f |\n", r.name.c_str(),
                    static_cast<unsigned long long>(r.insns), static_cast<unsigned long long>(r.kernel.insns),
                    static_cast<unsigned long long>(r.peak), static_cast<unsigned long long>(r.kernel.peak_states),
                    r.us);
        sum_i += r.insns;
        sum_p += r.peak;
        sum_k.insns += r.kernel.insns;
        sum_k.peak_states += r.kernel.peak_states;
    }
    std::printf("| **sum** | %llu / %llu | %llu / %llu | |\n", static_cast<unsigned long long>(sum_i),
                static_cast<unsigned long long>(sum_k.insns), static_cast<unsigned long long>(sum_p),
                static_cast<unsigned long long>(sum_k.peak_states));
}

}  // namespace

int main(int argc, char** argv) {
    int repeat = 3;
    bool objects_only = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = std::max(1, std::atoi(argv[++i]));
        } else if (std::strcmp(argv[i], "--objects") == 0) {
            objects_only = true;
        } else {
            std::fprintf(stderr, "usage: %s [--repeat N] [--objects]\n", argv[0]);
            return 2;
        }
    }
    corpus_table(repeat);
    if (!objects_only) selftests_table(repeat);
    return 0;
}
