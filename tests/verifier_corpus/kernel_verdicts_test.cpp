// A manual tool, not run by CI (the test is DISABLED_): loads ebpf-samples rows into the running
// kernel through the project's bpf() bridge and prints the kernel's verdict with the end of its
// log, to check PREVAIL's expectations against this kernel (tests/verifier/KNOWN_DIFFERENCES.md).
//
//   BPFVM_KERNEL_ROWS=KEY[,KEY...] build/tests/test_verifier_corpus
//       --gtest_also_run_disabled_tests --gtest_filter='KernelVerdicts.*'
//
// KEY is project/object:section (as in KNOWN_DIFFERENCES.md), or `mismatches` (the rows of the
// last <build>/verifier_samples.tsv), or a project name (its rows). Untyped sections get their
// type from corpus_types.txt, as in the harness. Programs containing a `neg` are never loaded
// (this kernel's verifier crashes on some); they are reported as skipped. Results also go to
// <build>/kernel_verdicts.tsv.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bpfvm/kernel.hpp"
#include "harness.hpp"

namespace bpfvm::corpus {
namespace {

std::set<std::string> wanted_keys(const std::string& spec, const std::vector<SampleRow>& rows) {
    std::set<std::string> keys;
    std::istringstream in(spec);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item == "mismatches") {
            std::ifstream tsv(std::string(BPFVM_BINARY_DIR) + "/verifier_samples.tsv");
            std::string line;
            std::getline(tsv, line);  // header
            while (std::getline(tsv, line)) {
                std::istringstream f(line);
                std::string project, object, section;
                std::getline(f, project, '\t');
                std::getline(f, object, '\t');
                std::getline(f, section, '\t');
                keys.insert(project + "/" + object + ":" + section);
            }
        } else if (item.find('/') == std::string::npos) {
            for (const SampleRow& r : rows)
                if (r.project == item) keys.insert(r.key());
        } else {
            keys.insert(item);
        }
    }
    return keys;
}

bool has_neg(const Program& p) {
    return std::any_of(p.insns.begin(), p.insns.end(),
                       [](const Insn& i) { return i.op == Op::Neg32 || i.op == Op::Neg64; });
}

/// The last `n` lines of `text`, joined with " | ".
std::string last_lines(const std::string& text, size_t n) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) lines.push_back(line);
    std::string out;
    for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : " | ") + lines[i];
    return out;
}

TEST(KernelVerdicts, DISABLED_Corpus) {
    const char* env = std::getenv("BPFVM_KERNEL_ROWS");
    if (env == nullptr || *env == '\0') GTEST_SKIP() << "set BPFVM_KERNEL_ROWS (see the top of this file)";
    const kernel::Probe probe = kernel::probe();
    if (!probe.usable) GTEST_SKIP() << "bpf() not usable here: " << probe.reason;
    const std::vector<SampleRow> rows = read_sample_rows();
    const std::set<std::string> keys = wanted_keys(env, rows);
    const SampleTypes types = SampleTypes::load();
    std::vector<std::string> out{"project\tobject\tsection\tprogram\tprevail\tkernel\tlog"};

    // Objects are loaded per (object, type table entry): untyped programs get the row's type.
    std::map<std::string, std::unique_ptr<ObjectFile>> files;
    std::map<std::string, std::optional<Result<kernel::KernelObject>>> kernels;
    for (const SampleRow& r : rows) {
        if (!keys.count(r.key())) continue;
        const VerifyOptions vo = types.options_for(r);
        const std::string& id = r.object_key();
        auto& file = files[id];
        if (!file) {
            auto loaded = load_object(r.path(), object_load_defaults());
            if (!loaded) {
                out.push_back(r.project + "\t" + r.object + "\t" + r.section + "\t\t" + r.expected + "\tload_error\t" +
                              last_lines(loaded.error().to_string(), 1));
                continue;
            }
            file = std::make_unique<ObjectFile>(std::move(*loaded));
            for (ProgramSpec& p : file->programs) {
                const auto type = types.type_for(r, p);
                if (!type || *type == p.type) continue;
                // A corrected type: let the kernel choose the attach type, as for a bare section.
                if (p.type != ProgramType::Unspec) p.expected_attach_type.reset();
                p.type = *type;
            }
            if (vo.license && file->license.empty()) file->license = *vo.license;
            // Some loaders size maps at load time (falco: one scratch slot per CPU); the kernel
            // refuses max_entries 0, so do what they do.
            for (MapSpec& m : file->maps)
                if (m.max_entries == 0 && m.type != MapType::PerfEventArray)
                    m.max_entries = std::max(1u, std::thread::hardware_concurrency());
        }
        auto& ko = kernels[id];
        if (!ko) ko.emplace(kernel::KernelObject::open(*file));
        for (const ProgramSpec& p : file->programs) {
            if (p.section != r.section || (!r.program.empty() && p.name != r.program)) continue;
            std::string verdict, log;
            if (has_neg(p.program)) {
                verdict = "skipped";
                log = "contains a neg: never loaded into this kernel";
            } else if (!*ko) {
                verdict = "maps_failed";
                log = last_lines(ko->error().to_string(), 2);
            } else if (p.type == ProgramType::Unspec) {
                verdict = "skipped";
                log = "section names no program type and corpus_types.txt gives none";
            } else {
                auto fd = (**ko).load_program(p.name);
                // Objects whose BTF.ext func_info does not cover their subprograms (falco's probe):
                // load without BTF, as older loaders did.
                if (!fd && fd.error().message.find("func_info") != std::string::npos) {
                    auto& plain = kernels[id + "|nobtf"];
                    if (!plain) {
                        kernel::KernelOptions options;
                        options.load_btf = false;
                        plain.emplace(kernel::KernelObject::open(*file, options));
                    }
                    if (*plain) fd = (**plain).load_program(p.name);
                }
                verdict = fd ? "accept" : fd.error().code == ErrorCode::kRejected ? "reject" : "error";
                if (!fd) log = last_lines(fd.error().message, 4);
            }
            out.push_back(r.project + "\t" + r.object + "\t" + r.section + "\t" + p.name + "\t" + r.expected + "\t" +
                          verdict + "\t" + log);
            std::cout << r.key() << " [" << p.name << "] PREVAIL " << r.expected << ", kernel " << verdict
                      << (log.empty() ? "" : ": " + log) << "\n";
        }
    }
    std::cout << "written to " << write_build_file("kernel_verdicts.tsv", out) << "\n";
}

}  // namespace
}  // namespace bpfvm::corpus
