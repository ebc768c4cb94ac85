// Shared pieces of the corpus harnesses (kernel selftests, ebpf-samples), also used by the table's
// kernel oracle and bench/bench_verify: the list of known differences from
// tests/verifier/KNOWN_DIFFERENCES.md, the sample size for slow builds, message fragment matching,
// the mismatch files written into the build folder, and the two corpora as rows (the selftests
// manifest with its load flags; PREVAIL's ebpf-samples table with the program types that
// corpus_types.txt gives sections naming none).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::corpus {

/// The two loaders the kernel distinguishes.
enum class Mode : uint8_t { Privileged, Unprivileged };

/// "privileged" / "unprivileged".
std::string mode_name(Mode mode);

/// One entry of KNOWN_DIFFERENCES.md: a heading `### <kind> <key> (<mode>: <verdict>, ...)`.
/// kind is `selftest` (key `file.c/program`), `corpus` (key `project/object:section`) or `table`
/// (key `file.c/case`); the verdicts are the kernel's, which the harnesses expect instead of the
/// other source's (the selftest annotation, PREVAIL's expectation or the table's).
struct KnownDifference {
    std::string kind;
    std::string key;
    std::map<Mode, Verdict> kernel;  // the modes the entry covers, with the kernel's verdict
};

/// Every entry of `path`, keyed by "kind key". Errors name the line that does not parse.
Result<std::map<std::string, KnownDifference>> read_known_differences(const std::string& path);

/// The project's KNOWN_DIFFERENCES.md (tests/verifier/).
std::string known_differences_path();

/// BPFVM_VERIFY_SAMPLE=N: verify only about N programs, evenly spread (ASan and arm64 builds);
/// nullopt when unset or 0 (everything is verified and the thresholds are asserted).
std::optional<size_t> sample_size();

/// Whether index `i` of `total` belongs to the sample (always true without one).
bool in_sample(size_t i, size_t total, std::optional<size_t> sample);

/// Whether `text` matches one of the kernel's message fragments `fragments` (the manifest's
/// ` | `-joined list; `{{...}}` parts are regular expressions; `NOT:` entries are ignored).
bool matches_fragment(const std::string& text, const std::string& fragments);

/// The instruction the kernel's verifier log fails at: the index of its last `N: (..)` line.
std::optional<uint32_t> kernel_failing_insn(const std::string& log_tail);

/// The kernel's error text in a verifier log tail: the lines after the failing instruction's line,
/// without the closing "processed N insns" statistics.
std::string kernel_error_text(const std::string& log_tail);

/// Writes `lines` (a header line first) to `name` in the build folder; returns the full path.
std::string write_build_file(const std::string& name, const std::vector<std::string>& lines);

/// "accept" / "reject" / "not_verified".
std::string verdict_name(Verdict v);

/// A rate line for the test output: "label: n/d = p%".
std::string rate(const std::string& label, size_t n, size_t d);

/// n/d as a fraction in [0, 1] (1 when d is 0).
double ratio(size_t n, size_t d);

// ---------------------------------------------------------------------------------------------
// ebpf-samples

/// ../shared/corpus/ebpf-samples
std::string samples_root();

/// One row of EXPECTED_VERDICTS_prevail_c80c76ff.csv.
struct SampleRow {
    std::string project, object, section, program, expected;
    std::string object_key() const { return project + "/" + object; }  // "build/exposeptr.o"
    std::string key() const { return object_key() + ":" + section; }    // "build/exposeptr.o:.text"
    std::string path() const { return samples_root() + "/" + object_key(); }
};

/// Every row, in file order (empty when the corpus is missing).
std::vector<SampleRow> read_sample_rows();

/// corpus_types.txt: "project/object:section type", "project/object:* type",
/// "project/object:license LICENSE".
class SampleTypes {
public:
    /// Reads tests/verifier_corpus/corpus_types.txt.
    static SampleTypes load();
    /// The entries, by key (for checking them).
    const std::map<std::string, std::string>& entries() const { return entries_; }
    /// The verify options for `row`: the type its section gets (a section entry before the
    /// object's `*` entry) and the license the loader passes, if listed.
    VerifyOptions options_for(const SampleRow& row) const;
    /// The type a program of `row`'s object in section `section` is verified as: a section entry
    /// replaces even the loader's type (corrections), an object's `*` entry only names the type
    /// of sections that name none. nullopt: the loader's type stands.
    std::optional<ProgramType> type_for(const SampleRow& row, const ProgramSpec& program) const;

private:
    std::map<std::string, std::string> entries_;
};

// ---------------------------------------------------------------------------------------------
// Kernel selftests

/// ../shared/corpus/kernel-selftests
std::string selftests_root();

/// One program of the manifest (the fields the harnesses use; absent or null fields are "").
struct SelftestRow {
    std::string file, program, object, flags, kernel_priv, expect_unpriv, msg, msg_unpriv, log_tail;
    std::string key() const { return file + "/" + program; }
    /// Whether `flag` is set (flags are ';'- or ','-separated; a leading '!' clears one).
    bool has_flag(std::string_view flag) const;
    /// The btf_path= object (CO-RE target) of the row, "" when none.
    std::string btf_path() const;
};

/// Every row of manifest.jsonl, in file order (empty when the corpus is missing).
std::vector<SelftestRow> read_selftest_rows();

/// The verify options of a row in `mode`: its alignment and state-frequency flags, and
/// BPF_F_TEST_REG_INVARIANTS, which every selftest load sets.
VerifyOptions selftest_options(const SelftestRow& row, Mode mode);

/// Objects loaded once per (object, CO-RE target).
class SelftestObjects {
public:
    /// The object of `row`, or nullptr with `error` set.
    const ObjectFile* get(const SelftestRow& row, std::string& error);

private:
    std::map<std::string, Result<ObjectFile>> cache_;
};

}  // namespace bpfvm::corpus
