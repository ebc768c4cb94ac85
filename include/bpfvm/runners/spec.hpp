// The test-spec runner behind `bpfvm test SPEC.json` (format: docs/test-spec.md): every case
// test-runs a program of the spec's object on fresh maps and compares the outcome with the case's
// expectations. No printing: the CLI and the tests format the report.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/result.hpp"
#include "bpfvm/runners/coverage.hpp"
#include "bpfvm/vm.hpp"

namespace bpfvm {

/// Options of a spec run.
struct SpecOptions {
    std::optional<EngineKind> engine;  // default: default_engine()
    std::string object_override;       // --object PATH: use this object instead of the spec's
    /// --also-kernel: run every case through the kernel's BPF_PROG_TEST_RUN too and fail the case
    /// on any difference (refusal and errno, retval, data_out, ctx_out, ring buffer records, maps).
    bool also_kernel = false;
    /// --no-verify: run every program with bounds checks instead of verifying it first.
    bool no_verify = false;
    bool coverage = false;             // --coverage: run on the checked interpreter and report source coverage
};

/// The outcome of one case.
struct SpecCaseResult {
    std::string name;
    bool passed = false;
    std::vector<std::string> failures;  // one message per mismatch ("expected retval 2, got 1", diffs)
    std::vector<std::string> warnings;  // the run's warnings (programs the verifier rejects)
    /// With also_kernel: "same as the kernel (retval, data, counts)" or why the case was not compared.
    std::string kernel;
    bool unsupported = false;           // the run reached a helper bpfvm cannot perform in userspace
};

/// The outcome of a spec file.
struct SpecReport {
    std::vector<SpecCaseResult> cases;
    /// Programs that ran with bounds checks because the verifier rejects them, once each.
    std::vector<std::string> warnings;
    std::optional<CoverageReport> coverage;  // with SpecOptions::coverage
    size_t passed() const;
    size_t failed() const;
};

/// Runs every case of the spec file. A malformed spec or an unloadable object is an error naming
/// the file and the JSON path (e.g. "spec.json: cases[2].expect.retval: expected an integer").
Result<SpecReport> run_spec_file(const std::string& path, const SpecOptions& options = {});

/// Same, from JSON text; `path` names the spec in messages and anchors relative object paths.
Result<SpecReport> run_spec_text(std::string_view text, const std::string& path, const SpecOptions& options = {});

}  // namespace bpfvm
