// Source coverage of BPF programs: the interpreter's counts (CoverageCounters, per program) mapped
// onto the C source through BTF line info, with branch coverage from conditional-jump outcomes,
// written as an lcov tracefile (genhtml, Codecov and CI tools read it like any C project's).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"

namespace bpfvm {

/// One conditional jump on a source line: how often each way was taken.
struct BranchCount {
    uint32_t block = 0;   // the jump's number on its line (0, 1, ...), stable across programs
    uint64_t fell_through = 0, jumped = 0;
    bool reached = false;  // the jump itself ran at least once
};

/// Coverage of one source file: hits per line and the branches on each line.
struct FileCoverage {
    std::map<uint32_t, uint64_t> lines;                       // line -> times it ran
    std::map<uint32_t, std::vector<BranchCount>> branches;    // line -> its conditional jumps
};

/// Coverage of an object's programs, summed over programs (a subprogram linked into several
/// programs counts once per line).
struct CoverageReport {
    std::map<std::string, FileCoverage> files;  // by source path as recorded in line info

    uint64_t lines_found() const;
    uint64_t lines_hit() const;
    uint64_t branches_found() const;  // two per conditional jump
    uint64_t branches_hit() const;
    /// "lines: 87.5% (35/40), branches: 70.0% (14/20)".
    std::string summary() const;
};

/// Maps `counts` (program name -> counters of runs of that program) onto the source lines of every
/// loadable program of `object` (programs that never ran count as not covered). Programs without
/// line info contribute nothing. A line's count adds up its visits: a run of consecutive line-info
/// entries of that line counts as often as the most-run of its entry points, so columns of one
/// statement count once and each inlined copy of a function counts on its own. Instructions that
/// BTF line info gives no entry of their own belong to the entry before them only for branches.
CoverageReport coverage_report(const Object& object, const std::map<std::string, CoverageCounters>& counts);

/// Per-instruction execution counts of `program` from its counters (see CoverageCounters).
std::vector<uint64_t> instruction_counts(const Program& program, const CoverageCounters& counters);

/// The report as an lcov tracefile (TN, SF, FN-less DA/BRDA records, LF/LH, BRF/BRH, end_of_record).
std::string to_lcov(const CoverageReport& report, const std::string& test_name);

}  // namespace bpfvm
