// The conformance-suite runner: parses the suite's `.data` files (`-- asm`, `-- raw`, `-- mem`,
// `-- result`, `-- error`) and runs them on an engine through the facade (vm.hpp). No printing: callers
// (the CLI, the GoogleTest suite) format the reports.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/io.hpp"
#include "bpfvm/isa.hpp"
#include "bpfvm/vm.hpp"

namespace bpfvm {

/// One parsed `.data` file. The program comes from `-- raw` when present (both forms of the suite:
/// byte tokens `b7 00 ...` and 64-bit slot words `0x...0000b7`), else from the assembled `-- asm`.
struct ConformanceTest {
    std::string name;                     // file name without directory and `.data`
    std::vector<RawInsn> program;         // empty when the file has no program
    std::vector<uint8_t> memory;          // `-- mem` bytes (r1 points at a writable copy, r2 = size)
    std::optional<uint64_t> result;       // `-- result`
    std::optional<std::string> error;     // `-- error` text; present but empty when the section is empty
    bool has_asm = false;
    bool has_raw = false;
};

/// Parses the text of a `.data` file. Errors (naming the 1-based file line): unknown directives,
/// assembly errors, malformed hex in `-- mem`/`-- raw`, a malformed or repeated `-- result` value,
/// `-- asm` and `-- raw` that disagree. `-- c` and `-- no register offset` sections are ignored.
Result<ConformanceTest> parse_conformance_test(std::string_view text, std::string name);

/// Reads and parses a `.data` file (at most 16 MiB). Errors name the file.
Result<ConformanceTest> load_conformance_test(const std::string& path);

/// The `.data` files of a directory, sorted by name. Error if the directory cannot be read.
Result<std::vector<std::string>> list_conformance_files(const std::string& dir);

/// The helper table of the suite: helper 5 returns its first argument; every other id is unknown.
const HelperTable& conformance_helpers();

/// Decodes `program` and runs it once with r1 = a writable copy of `memory` (0 when empty) and
/// r2 = its size, registered as a RunContext region. Returns r0, or the decode, prepare or trap error
/// ("insn 3: out-of-bounds load ...").
Result<uint64_t> run_conformance_program(std::span<const RawInsn> program, std::span<const uint8_t> memory,
                                         EngineKind engine, const EngineOptions& options = {});

enum class ConformanceOutcome { Pass, Fail, Skip };

/// The verdict on one test and why (empty reason for a pass).
struct ConformanceReport {
    std::string name;
    ConformanceOutcome outcome = ConformanceOutcome::Fail;
    std::string reason;
};

/// Runs a parsed test. Pass: r0 equals `-- result` (all 64 bits), or `-- error` is expected and the
/// decoder, the engine or the run reports an error. Skip: an empty `-- error` and no `-- result` (the
/// suite's unused-field files). Fail otherwise, including a file without program or expectation.
ConformanceReport run_conformance_test(const ConformanceTest& test, EngineKind engine);

/// Loads and runs one file; a file that does not parse (unknown directive, assembly error) fails
/// with the parse error as the reason.
ConformanceReport run_conformance_file(const std::string& path, EngineKind engine);

}  // namespace bpfvm
