// Shared pieces of the corpus harnesses (kernel selftests, ebpf-samples): the list of known
// differences from tests/verifier/KNOWN_DIFFERENCES.md, the sample size for slow builds, message
// fragment matching and the mismatch files written into the build folder.
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

}  // namespace bpfvm::corpus
