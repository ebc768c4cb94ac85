// The verifier table: cases written as BPF C with inline assembly (bpf/*.c), each with what the
// verifier must answer in each mode, recorded by the CASE macros of bpf/table.h in the objects'
// .bpfvm.cases section.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::table {

/// What one mode must answer.
struct Expectation {
    bool checked = false;       // false: NONE, the case says nothing about this mode
    bool accept = false;
    std::string fragment;       // reject: text the first error's message must contain
};

/// One case: a program of a table object and its expectations.
struct Case {
    std::string file;      // source file name, e.g. "stack.c"
    std::string object;    // path of the compiled object
    std::string name;      // program (function) name
    std::string flags;     // comma-separated: strict_alignment, any_alignment
    Expectation priv, unpriv;

    std::string key() const { return file + "/" + name; }
};

/// For GoogleTest's messages: "file.c/name".
void PrintTo(const Case& c, std::ostream* os);

/// Parses one record "name|flags|priv|unpriv" (priv, unpriv: accept, reject:FRAGMENT or none).
Result<Case> parse_case(const std::string& record);

/// The records of the .bpfvm.cases section of the ELF object at `path` (errors name the file).
Result<std::vector<std::string>> read_case_records(const std::string& path);

/// Every case of every object in `dir` (sorted by file, then in source order). A file that
/// cannot be read or a record that does not parse yields an error naming it.
Result<std::vector<Case>> load_cases(const std::string& dir);

/// The verify options a case's flags ask for, in `privileged` or unprivileged mode.
VerifyOptions options_for(const Case& c, bool privileged);

/// Whether `program` contains a `neg` instruction (never loaded into the kernel).
bool has_neg(const Program& program);

}  // namespace bpfvm::table
