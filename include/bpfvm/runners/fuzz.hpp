// `bpfvm fuzz`: coverage-guided fuzzing of one program of an object, driven by the program's own
// branches (the checked interpreter's jump-outcome and block-entry counts). Inputs are packets or
// context bytes plus map entries; mutations use the constants the program compares against. A
// finding is an input that makes the program return the value the user calls a failure, fault in
// checked mode, or exhaust the instruction budget; findings are written as a test spec that
// `bpfvm test` replays (and that fails while the bug is there).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"

namespace bpfvm {

/// One generated input.
struct FuzzInput {
    std::vector<uint8_t> data;  // packet, or memory for types that take none
    std::vector<uint8_t> ctx;   // context bytes (tracepoint record, raw tracepoint arguments, ...)
    struct MapEntry {
        uint32_t map = 0;  // index into ObjectFile::maps
        std::vector<uint8_t> key, value;
    };
    std::vector<MapEntry> maps;  // set before the run, on fresh maps
};

/// Why an input is a finding.
enum class FindingKind { Retval, Fault, Budget };

struct FuzzFinding {
    FindingKind kind = FindingKind::Retval;
    FuzzInput input;
    std::string message;  // "retval 0 (XDP_ABORTED)", or the fault's error text
    uint64_t exec = 0;    // the execution that found it (1-based)
};

/// Counters reported while fuzzing and at the end.
struct FuzzStats {
    uint64_t execs = 0;
    uint64_t invalid = 0;        // inputs the test-run refused (e.g. a packet shorter than ETH_HLEN)
    uint64_t edges = 0;          // jump outcomes and block entries seen so far
    uint64_t edges_total = 0;    // of the programs that ran
    size_t corpus = 0;
    size_t findings = 0;
    double seconds = 0;
};

struct FuzzOptions {
    std::string program;                  // function or section name
    std::string type;                     // run it as this program type (sections libbpf does not name)
    std::vector<std::string> map_sizes;   // "NAME=N" for maps sized at load time
    uint64_t seed = 1;                    // the same seed and max_execs give the same run
    uint64_t max_execs = 0;               // stop after this many executions (0: no limit)
    double duration_s = 0;                // stop after this much wall time (0: no limit)
    std::optional<uint64_t> fail_retval;  // a finding when the program returns this (low 32 bits match too)
    std::string fail_retval_name;         // for messages ("XDP_ABORTED")
    uint64_t insn_budget = 1'000'000;     // per execution; exhausting it is a finding
    bool keep_going = false;              // continue after the first finding
    size_t max_findings = 16;
    std::vector<FuzzInput> seeds;         // starting inputs (default: one all-zero input)
    std::function<void(const FuzzStats&)> progress;  // called about every 1024 executions
};

struct FuzzResult {
    FuzzStats stats;
    std::vector<FuzzFinding> findings;
    std::vector<std::string> notes;  // e.g. helpers the program reached that userspace cannot run
};

/// Fuzzes `options.program` of `object` (maps are reset before every execution), after applying
/// options.type and options.map_sizes to the object.
Result<FuzzResult> fuzz_program(Object& object, const FuzzOptions& options);

/// A return value by name (XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT, TC_ACT_OK,
/// TC_ACT_SHOT, TC_ACT_UNSPEC, ..., SK_DROP, SK_PASS) or number (decimal, 0x hex, negative).
Result<uint64_t> parse_retval(std::string_view text);

/// Seeds from the cases of a test spec (their "data" and "ctx") for `program`.
Result<std::vector<FuzzInput>> seeds_from_spec(const std::string& spec_path, const Object& object,
                                               const std::string& program);

/// The findings as a test spec (docs/test-spec.md) for `object_path`: one case per finding, each
/// expecting what the program should have done ("not_retval"), so the spec fails until fixed.
std::string findings_spec(const FuzzResult& result, const Object& object, const std::string& object_path,
                          const FuzzOptions& options);

}  // namespace bpfvm
