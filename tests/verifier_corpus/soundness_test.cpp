// Soundness of the verifier, tested: every program bpfvm accepts (from the kernel selftests, those
// the kernel rejects included, the ebpf-samples corpus and the verifier table) runs in the
// interpreter's checked mode on
// generated inputs — packets of many lengths and shapes, random context bytes, random map
// contents — and must never make an access the checked mode traps as out of bounds, jump to a
// bad call target or write r10. Such a trap in an accepted program is a verifier bug: the program
// would read or write memory it does not own if it ran unchecked (as accepted programs do).
//
// Other stops are not soundness failures and are counted: the instruction budget (a loop the
// verifier proved bounded can still be long), helpers userspace cannot perform, inputs the
// test-run refuses for the program type. BPFVM_VERIFY_SAMPLE=N checks about N programs per corpus.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/io.hpp"
#include "bpfvm/maps.hpp"
#include "harness.hpp"

namespace bpfvm::corpus {
namespace {

constexpr int kInputsPerProgram = 24;
constexpr uint64_t kBudget = 2'000'000;

/// One accepted program to run.
struct Target {
    std::string label;        // "selftest verifier_xxx.c/prog", "sample project/object:section [prog]"
    std::string path;         // the object
    std::string btf;          // CO-RE target BTF ("" for the default)
    std::string program;
    VerifyOptions options;
};

struct Counts {
    size_t programs = 0, accepted = 0, runnable = 0, runs = 0;
    size_t budget = 0, unsupported = 0, refused = 0, other = 0, kernel_memory = 0, other_type = 0;
    size_t violations = 0;
    size_t branches_taken = 0, branches_total = 0;
    std::vector<std::string> coverage_lines{"program\tbranch directions taken\tbranch directions"};
};

/// A frame that parses: Ethernet, then IPv4 or IPv6, then TCP, UDP or ICMP, with random fields;
/// or plain random bytes. Lengths span the sizes where bounds checks matter.
std::vector<uint8_t> make_packet(std::mt19937_64& rng, int i) {
    static const size_t kLengths[] = {14, 15, 20, 33, 34, 35, 42, 53, 54, 55, 60, 64, 74, 90, 128, 256, 512, 1514};
    const size_t len = kLengths[static_cast<size_t>(i) % std::size(kLengths)];
    std::vector<uint8_t> p(len);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    if (i % 3 == 2) return p;  // random bytes
    const bool v6 = i % 3 == 1;
    auto put = [&](size_t off, uint8_t v) {
        if (off < p.size()) p[off] = v;
    };
    put(12, v6 ? 0x86 : 0x08);
    put(13, v6 ? 0xdd : 0x00);
    static const uint8_t kProtos[] = {6, 17, 1, 58};
    const uint8_t proto = kProtos[rng() % std::size(kProtos)];
    if (v6) {
        put(14, 0x60);
        put(20, proto);
    } else {
        put(14, 0x45);
        put(20, 0);
        put(21, 0);  // not a fragment
        put(23, proto);
    }
    return p;
}

/// Random contents for every writable map a program may read: array entries and a few hash keys
/// (zero keys included, as programs often look up key 0).
void fill_maps(Object& object, std::mt19937_64& rng) {
    (void)object.reset_maps();
    for (const MapSpec& m : object.file().maps) {
        auto handle = object.map(m.name);
        if (!handle) continue;
        const MapType t = m.type;
        const bool array = t == MapType::Array || t == MapType::PercpuArray;
        const bool hash = t == MapType::Hash || t == MapType::LruHash || t == MapType::PercpuHash ||
                          t == MapType::LruPercpuHash;
        if (!array && !hash) continue;
        // Read-only global data (.rodata, .kconfig) is frozen before the verifier reads it as
        // constants: changing it after verification is not an input the program can meet.
        if (m.section.rfind(".rodata", 0) == 0 || m.section == ".kconfig" || (m.map_flags & maps::kFRdonlyProg)) continue;
        const uint32_t n = array ? std::min<uint32_t>(m.max_entries, 16) : 4;
        for (uint32_t k = 0; k < n; ++k) {
            std::vector<uint8_t> key(m.key_size, 0);
            if (array && key.size() >= 4) std::memcpy(key.data(), &k, 4);
            if (hash && k > 0)
                for (auto& b : key) b = static_cast<uint8_t>(rng());
            std::vector<uint8_t> value(handle->raw().sys_value_size());
            for (auto& b : value) b = static_cast<uint8_t>(rng());
            (void)handle->update_bytes(key, value);
        }
    }
}

/// The bytes as hex, "-" when there are none.
std::string hex(const std::vector<uint8_t>& bytes) { return bytes.empty() ? "-" : to_hex(bytes); }

/// Whether a run's error is a trap that an accepted program must never hit.
bool is_violation(const Error& e) {
    if (e.code != ErrorCode::kRuntime) return false;
    const std::string& m = e.message;
    return m.find("out-of-bounds") != std::string::npos || m.find("bad call target") != std::string::npos ||
           m.find("read-only frame pointer") != std::string::npos || m.find("call depth exceeds") != std::string::npos;
}

/// Branch coverage of one program over its runs: conditional jumps that went each way, out of
/// both ways of every conditional jump of the program (tail-call targets are not counted).
void report_coverage(const Target& t, const ProgramSpec& spec, const std::map<std::string, CoverageCounters>& coverage,
                     Counts& c) {
    size_t total = 0, taken = 0;
    const auto it = coverage.find(spec.name);
    for (size_t i = 0; i < spec.program.insns.size(); ++i) {
        if (!is_conditional_jump(spec.program.insns[i].op)) continue;
        total += 2;
        if (it == coverage.end() || it->second.branches.size() < 2 * i + 2) continue;
        taken += (it->second.branches[2 * i] != 0) + (it->second.branches[2 * i + 1] != 0);
    }
    c.coverage_lines.push_back(t.label + "\t" + std::to_string(taken) + "\t" + std::to_string(total));
    c.branches_taken += taken;
    c.branches_total += total;
}

/// Verifies `t` and, when accepted, runs it on generated inputs in checked mode.
void check(const Target& t, Counts& c, std::vector<std::string>& report) {
    ++c.programs;
    ObjectOptions oo;
    if (!t.btf.empty()) oo.load.target_btf_path = t.btf;
    oo.load.keep_going = true;
    auto object = Object::open(t.path, oo);
    if (!object) return;
    auto v = object->verify(t.program, t.options);
    if (!v || v->verdict != Verdict::Accept) return;
    // A test run uses the section's type: a program verified as another one is not run.
    const ProgramSpec* spec = *object->program(t.program);
    if (t.options.type && *t.options.type != spec->type) {
        ++c.other_type;
        return;
    }
    ++c.accepted;
    std::mt19937_64 rng(std::hash<std::string>{}(t.label));
    bool runnable = false;
    std::map<std::string, CoverageCounters> coverage;
    for (int i = 0; i < kInputsPerProgram; ++i) {
        fill_maps(*object, rng);
        TestRunInput in;
        in.mode = RunMode::Checked;
        in.engine = EngineKind::Interp;
        in.insn_budget = kBudget;
        in.data = make_packet(rng, i);
        in.coverage = &coverage;
        auto r = object->test_run(t.program, in);
        if (!r && r.error().code == ErrorCode::kInvalidArgument) {
            // Not a packet program: random context bytes instead (tracepoint records, pt_regs, args).
            in.data.clear();
            in.ctx.resize(8u << (i % 7));
            for (auto& b : in.ctx) b = static_cast<uint8_t>(rng());
            r = object->test_run(t.program, in);
        }
        if (!r && (r.error().code == ErrorCode::kInvalidArgument || r.error().code == ErrorCode::kUnsupported)) {
            ++(r.error().code == ErrorCode::kUnsupported ? c.unsupported : c.refused);
            continue;
        }
        runnable = true;
        ++c.runs;
        if (r) continue;
        const Error& e = r.error();
        // Loads the verifier marks as reading kernel memory (BTF objects, struct bpf_map, arena)
        // stay checked in verified programs too: userspace has no such memory to read.
        const Program& spec_program = spec->program;
        const bool probe = e.pc && *e.pc < spec_program.slot_to_index.size() &&
                           v->facts.size() > spec_program.index_of(*e.pc) && v->facts[spec_program.index_of(*e.pc)].probe;
        if (probe) {
            ++c.kernel_memory;
        } else if (is_violation(e)) {
            ++c.violations;
            report.push_back(t.label + ": input " + std::to_string(i) + " (packet " + hex(in.data) + ", ctx " +
                             hex(in.ctx) + "): " + e.to_string());
            break;  // one report per program
        }
        if (e.message.find("instruction budget") != std::string::npos) ++c.budget;
        else if (e.code == ErrorCode::kUnsupported || e.message.find("not supported") != std::string::npos) ++c.unsupported;
        else ++c.other;
    }
    c.runnable += runnable;
    if (runnable) report_coverage(t, *spec, coverage, c);
}

void print(const std::string& name, const Counts& c) {
    std::cout << name << ": " << c.programs << " programs, " << c.accepted << " accepted, " << c.runnable
              << " runnable in userspace, " << c.runs << " checked runs; stops: " << c.budget << " budget, "
              << c.unsupported << " unsupported, " << c.refused << " inputs refused, " << c.kernel_memory
              << " kernel-memory loads, " << c.other << " other; " << c.other_type
              << " programs verified as another type than their section's (not run); bounds violations: "
              << c.violations << "\n";
}

std::vector<Target> selftest_targets() {
    std::vector<Target> out;
    const std::vector<SelftestRow> rows = read_selftest_rows();
    const auto sample = sample_size();
    for (size_t i = 0; i < rows.size(); ++i) {
        const SelftestRow& r = rows[i];
        // Rows the kernel rejects too: if bpfvm accepts one, it must be safe all the same.
        if (r.has_flag("auxiliary") || !in_sample(i, rows.size(), sample)) continue;
        Target t;
        t.label = "selftest " + r.key();
        t.path = selftests_root() + "/" + r.object;
        if (!r.btf_path().empty()) t.btf = selftests_root() + "/objects/" + r.btf_path();
        t.program = r.program;
        t.options = selftest_options(r, Mode::Privileged);
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<Target> sample_targets() {
    std::vector<Target> out;
    const std::vector<SampleRow> rows = read_sample_rows();
    const SampleTypes types = SampleTypes::load();
    const auto sample = sample_size();
    std::set<std::string> seen;
    for (size_t i = 0; i < rows.size(); ++i) {
        const SampleRow& r = rows[i];
        if (r.expected == "load_error" || r.expected == "unmarshal_error" || !in_sample(i, rows.size(), sample)) continue;
        auto file = load_object(r.path(), [] {
            LoadOptions lo = object_load_defaults();
            lo.keep_going = true;
            return lo;
        }());
        if (!file) continue;
        for (const ProgramSpec& p : file->programs) {
            if (p.section != r.section || (!r.program.empty() && p.name != r.program)) continue;
            if (!seen.insert(r.object_key() + ":" + p.name).second) continue;
            Target t;
            t.label = "sample " + r.key() + " [" + p.name + "]";
            t.path = r.path();
            t.program = p.name;
            t.options = types.options_for(r);
            t.options.type = types.type_for(r, p);
            out.push_back(std::move(t));
        }
    }
    return out;
}

/// Every program of the verifier table's objects (its reject cases are the programs one byte
/// away from safe: a verifier that accepts one of them is caught here).
std::vector<Target> table_targets() {
    std::vector<Target> out;
    std::error_code ec;
    std::vector<std::string> paths;
    for (const auto& entry : std::filesystem::directory_iterator(BPFVM_TABLE_DIR, ec))
        if (entry.path().extension() == ".o") paths.push_back(entry.path().string());
    std::sort(paths.begin(), paths.end());
    for (const std::string& path : paths) {
        auto file = load_object(path);
        if (!file) continue;
        for (const ProgramSpec& p : file->programs) {
            out.emplace_back();
            Target& t = out.back();
            t.label = "table " + std::filesystem::path(path).filename().string() + "/" + p.name;
            t.path = path;
            t.program = p.name;
        }
    }
    // BPFVM_VERIFY_SAMPLE: about that many programs (sanitizer and qemu builds).
    std::vector<Target> sampled;
    for (size_t i = 0; i < out.size(); ++i)
        if (in_sample(i, out.size(), sample_size())) sampled.push_back(std::move(out[i]));
    return sampled;
}

/// Checks every target and fails the test on each bounds violation.
void check_all(const std::string& name, const std::string& file, const std::vector<Target>& targets) {
    Counts c;
    std::vector<std::string> report;
    for (const Target& t : targets) check(t, c, report);
    print(name, c);
    std::cout << "  branch coverage of the runnable programs: " << rate("directions taken", c.branches_taken, c.branches_total)
              << "; per program in " << write_build_file(file, c.coverage_lines) << "\n";
    for (const std::string& line : report) ADD_FAILURE() << line;
    EXPECT_GT(c.runs, 0u);
}

TEST(Soundness, AcceptedTableProgramsNeverFaultWhenChecked) {
    const auto targets = table_targets();
    ASSERT_FALSE(targets.empty()) << "no verifier table objects in " << BPFVM_TABLE_DIR;
    check_all("verifier table", "soundness_table.tsv", targets);
}

TEST(Soundness, AcceptedSelftestsNeverFaultWhenChecked) {
    const auto targets = selftest_targets();
    if (targets.empty()) GTEST_SKIP() << "kernel selftests not found under " << selftests_root();
    check_all("kernel selftests", "soundness_selftests.tsv", targets);
}

TEST(Soundness, AcceptedSamplesNeverFaultWhenChecked) {
    const auto targets = sample_targets();
    if (targets.empty()) GTEST_SKIP() << "ebpf-samples not found under " << samples_root();
    check_all("ebpf-samples", "soundness_samples.tsv", targets);
}

}  // namespace
}  // namespace bpfvm::corpus
