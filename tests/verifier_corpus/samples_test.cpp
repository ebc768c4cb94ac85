// The ebpf-samples corpus (../shared/corpus/ebpf-samples) through bpfvm's verifier: every row of
// PREVAIL's expected-verdict table, with the kernel's verdict winning where the two differ (those
// rows are listed, with the kernel's log, in tests/verifier/KNOWN_DIFFERENCES.md).
//
// Asserted for the projects linux, prototype-kernel, suricata, ovs, cilium-examples and build:
// `accept` and `accept_expected_prevail_rejects` rows are accepted, `reject` rows are rejected (in
// the mode the kernel rejects them). `load_error` / `unmarshal_error` rows of every project must
// fail to load cleanly (an error, never a crash or an accepted program). The other projects are
// counted and printed, not asserted. Sections that name no program type get the type from
// corpus_types.txt (next to this file; each entry says why). Mismatches go to
// <build>/verifier_samples.tsv.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "harness.hpp"

namespace bpfvm::corpus {
namespace {

const std::set<std::string> kAsserted = {"linux", "prototype-kernel", "suricata", "ovs", "cilium-examples", "build"};

/// One object opened once; each (program, mode) verified once.
struct Opened {
    std::optional<Result<Object>> object;
    std::map<std::string, Verification> verdicts;  // by "program mode"
};

struct ProjectCounts {
    size_t total = 0, ok = 0;
};

TEST(EbpfSamples, Verdicts) {
    const auto known = read_known_differences(known_differences_path());
    ASSERT_TRUE(known) << known.error().to_string();
    const std::vector<SampleRow> rows = read_sample_rows();
    ASSERT_GT(rows.size(), 400u) << "expected-verdict table not found under " << samples_root();
    const SampleTypes types = SampleTypes::load();
    const auto sample = sample_size();
    std::map<std::string, Opened> objects;
    std::map<std::string, ProjectCounts> counts;
    std::vector<std::string> mismatches{"project\tobject\tsection\tprogram\texpected\tmode\twant\tgot\terror"};
    size_t listed = 0;

    for (size_t i = 0; i < rows.size(); ++i) {
        const SampleRow& r = rows[i];
        const bool load_error_row = r.expected == "load_error" || r.expected == "unmarshal_error";
        if (!load_error_row && !in_sample(i, rows.size(), sample)) continue;
        const bool asserted = kAsserted.count(r.project) != 0 || load_error_row;
        Opened& o = objects[r.object_key()];
        if (!o.object) o.object.emplace(Object::open(r.path()));
        const Result<Object>& object = *o.object;

        // What each mode must answer: PREVAIL's expectation, unless the kernel says otherwise.
        std::map<Mode, Verdict> want;
        if (!load_error_row) want[Mode::Privileged] = r.expected == "reject" ? Verdict::Reject : Verdict::Accept;
        if (auto it = known->find("corpus " + r.key()); it != known->end()) {
            want = it->second.kernel;
            ++listed;
        }
        ProjectCounts& pc = counts[r.project];
        ++pc.total;
        auto fail = [&](const std::string& mode, const std::string& w, const std::string& got, const std::string& err) {
            mismatches.push_back(r.project + "\t" + r.object + "\t" + r.section + "\t" + r.program + "\t" + r.expected +
                                 "\t" + mode + "\t" + w + "\t" + got + "\t" + err.substr(0, 300));
            if (asserted) ADD_FAILURE() << r.key() << " [" << r.program << "] " << mode << ": want " << w << ", got "
                                        << got << (err.empty() ? "" : ": " + err);
        };

        if (!object) {
            if (load_error_row) ++pc.ok;
            else fail("open", "load", "load_error", object.error().to_string());
            continue;
        }
        std::vector<const ProgramSpec*> specs;
        for (const ProgramSpec& p : object->file().programs)
            if (p.section == r.section && (r.program.empty() || p.name == r.program)) specs.push_back(&p);
        if (load_error_row) {
            // Loads cleanly as an object, but the row's programs must not: missing, or a load error.
            bool clean = specs.empty();
            for (const ProgramSpec* p : specs) clean = clean || p->error.has_value();
            if (clean) ++pc.ok;
            else fail("open", "load_error", "loaded", "");
            continue;
        }
        if (specs.empty()) {
            fail("open", "program", "missing", "no program in section " + r.section);
            continue;
        }
        const VerifyOptions base = types.options_for(r);

        bool row_ok = true;
        for (const auto& [mode, w] : want) {
            VerifyOptions vo = base;
            vo.privileged = mode == Mode::Privileged;
            Verdict got = Verdict::Accept;
            std::string err;
            for (const ProgramSpec* p : specs) {
                VerifyOptions po = vo;
                po.type = types.type_for(r, *p);
                const std::string id = p->name + " " + mode_name(mode);
                auto it = o.verdicts.find(id);
                if (it == o.verdicts.end()) it = o.verdicts.emplace(id, verify_program(object->file(), *p, po)).first;
                const Verification& v = it->second;
                if (v.verdict != Verdict::Accept && got == Verdict::Accept) {
                    got = v.verdict;
                    if (v.error) err = p->name + ": " + (v.error->pc ? "insn " + std::to_string(*v.error->pc) + ": " : "") +
                                       v.error->message;
                }
            }
            if (got != w) {
                row_ok = false;
                fail(mode_name(mode), verdict_name(w), verdict_name(got), err);
            }
        }
        pc.ok += row_ok;
    }
    const std::string path = write_build_file("verifier_samples.tsv", mismatches);
    std::cout << "ebpf-samples" << (sample ? " (sample of " + std::to_string(*sample) + ")" : "")
              << ": rows as expected per project (* asserted):\n";
    size_t ok = 0, total = 0;
    for (const auto& [project, pc] : counts) {
        std::cout << "  " << (kAsserted.count(project) ? "* " : "  ") << rate(project, pc.ok, pc.total) << "\n";
        ok += pc.ok;
        total += pc.total;
    }
    std::cout << "  " << rate("all", ok, total) << "; rows following KNOWN_DIFFERENCES.md: " << listed
              << "\n  mismatches: " << mismatches.size() - 1 << " in " << path << "\n";
}

/// Every untyped-section entry of corpus_types.txt names a program type bpfvm knows.
TEST(EbpfSamples, TypeTableNamesKnownTypes) {
    const SampleTypes types = SampleTypes::load();
    ASSERT_FALSE(types.entries().empty());
    for (const auto& [key, value] : types.entries()) {
        if (key.ends_with(":license")) continue;
        EXPECT_TRUE(program_type_by_name(value).has_value()) << key << ": unknown program type " << value;
    }
}

}  // namespace
}  // namespace bpfvm::corpus
