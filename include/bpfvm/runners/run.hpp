// `bpfvm run` as a library call: raw bytecode or one program of an ELF object, with the settings
// real objects need (program type, map sizes, map entries and prog_array slots), run once or
// `repeat` times, with the maps the run changed. The CLI only parses flags and prints; tests call
// this directly. One JSON schema serves raw programs and objects, and errors have one JSON form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"

namespace bpfvm {

/// What to run and how (the flags of `bpfvm run`).
struct RunRequest {
    std::string file;                        // ELF object, or raw bytecode when `raw`
    bool raw = false;                        // raw programs: r1 = a copy of `data`, r2 = its size
    std::string program;                     // objects: function or section name ("" = the only one)
    std::string type;                        // objects: run as this program type ("xdp", ...)
    std::vector<uint8_t> data{};             // packet, or a raw program's memory
    std::vector<uint8_t> ctx{};              // objects: context bytes
    std::vector<std::string> map_entries{};  // "NAME=KEY:VALUE" (hex), prog_array "NAME=INDEX:PROGRAM"
    std::vector<std::string> map_sizes{};    // "NAME=N": max_entries for maps sized at load time
    std::string btf;                         // objects: target BTF for CO-RE
    std::optional<EngineKind> engine{};
    uint32_t repeat = 1;
    RunMode mode = RunMode::Auto;            // raw programs are not verified: Auto runs them checked
    uint64_t insn_budget = kDefaultInsnBudget;
    uint64_t max_map_memory = kDefaultMapMemory;
    uint32_t max_program_insns = kDefaultMaxProgramInsns;
    bool show_maps = false;                  // report the map entries the run changed
    bool kernel = false;                     // objects: run in the running kernel's BPF_PROG_TEST_RUN (root)
};

/// One map entry the run added, changed or deleted (hex of raw key and values).
struct MapChange {
    std::string map;
    std::vector<uint8_t> key;
    std::optional<std::vector<uint8_t>> before;  // nullopt: the run added the entry
    std::optional<std::vector<uint8_t>> after;   // nullopt: the run deleted it
};

/// The outcome of a run. Raw programs fill retval, data_out (the memory after the run), repeat,
/// duration_ns and engine of `result`.
struct RunReport {
    TestRunResult result;
    std::vector<MapChange> map_changes;    // with show_maps, in map order then key order
    std::vector<std::string> map_notes;    // maps show_maps could not compare, and why
};

/// Runs as `bpfvm run` does. Errors name the file, program, instruction (with its disassembly
/// on a second line for traps) and source line; their code gives the exit code (exit_code_of).
Result<RunReport> run_request(const RunRequest& request);

/// One `--map` setting: "NAME=KEY:VALUE" with hex key and value of the map's sizes, or
/// "NAME=INDEX:PROGRAM" for a prog_array (the program goes into the slot).
struct MapSetting {
    std::string text;  // as given, for messages
    std::string map;
    std::vector<uint8_t> key, value;  // plain maps
    std::optional<uint32_t> slot;     // prog_array: the slot, and `program` goes into it
    std::string program;
};

/// Parses a `--map` setting against the object's maps (name, type, slot range).
Result<MapSetting> parse_map_setting(const Object& object, const std::string& setting);
/// Applies a parsed setting to the object's maps.
Status apply_map_setting(Object& object, const MapSetting& setting);
/// Parses and applies one `--map` setting.
Status apply_map_setting(Object& object, const std::string& setting);

/// Applies `--map-size` settings and, when `type` is not empty, `--type TYPE` to `program`:
/// what must happen before the maps are created and the program is prepared.
Status apply_load_settings(Object& object, const std::string& program, const std::string& type,
                           const std::vector<std::string>& map_sizes);

/// Applies one `--map-size` setting: "NAME=N" with N in [1, 2^32-1].
Status apply_map_size(Object& object, const std::string& setting);

/// Process exit code for an error: 1 when the program trapped (kRuntime), 2 for everything else
/// (bad input, unsupported helper, unusable object). 3 is kept for internal errors.
int exit_code_of(const Error& error);

/// `run --json`: {"program", "type", "retval", "retval_hex", "data_out", "ctx_out", "trace",
/// "events", "redirects", "tail_calls", "engine", "repeat", "duration_ns", "maps"}; raw programs
/// have "program": null and "type": "raw".
std::string run_report_json(const RunReport& report, const RunRequest& request);

/// The error object every `--json` command prints on stdout instead of a result:
/// {"error": {"message", "code", "where", "pc", "source"}, "exit_code": N}.
std::string error_json(const Error& error);

/// ErrorCode as a word for JSON and logs: "invalid_argument", "runtime", "unsupported", ...
const char* error_code_name(ErrorCode code);

}  // namespace bpfvm
