// Options of `bpfvm run` and `bpfvm disasm` shared between the raw-bytecode path (cmd_run.cpp,
// cmd_isa.cpp) and the object-file path (cmd_run_object.cpp, cmd_disasm_object.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpfvm/limits.hpp"
#include "bpfvm/runners/run.hpp"

namespace bpfvm::cli {

struct RunOptions {
    std::string file;                  // positional: object file, or raw bytecode with --raw
    bool raw = false;                  // FILE is raw bytecode (8-byte slots)
    std::string program;               // --program NAME (objects)
    std::string type;                  // --type TYPE: program type for sections libbpf does not name
    std::string mem_hex, mem_file;     // --mem-hex / --mem: input memory for raw programs (r1 = ptr, r2 = len)
    std::string data_hex, data_file;   // --data-hex / --data: packet data for objects
    std::string ctx_file, ctx_hex;     // --ctx / --ctx-hex: context bytes for objects
    std::string engine;                // --engine interp|jit ("" = default)
    uint32_t repeat = 1;               // --repeat N
    std::vector<std::string> map_entries;  // --map NAME=KEY:VALUE (hex) or NAME=INDEX:PROGRAM
    std::vector<std::string> map_sizes;    // --map-size NAME=N
    std::string btf;                   // --btf FILE: target BTF for CO-RE (objects)
    bool json = false;                 // --json
    bool show_maps = false;            // --show-maps
    bool unchecked = false;            // --unchecked: skip bounds checks (verified programs only)
    bool no_verify = false;            // --no-verify: run with bounds checks without verifying
    uint64_t max_insns = kDefaultInsnBudget;  // --max-insns: instruction budget in checked mode
    uint64_t max_map_memory = kDefaultMapMemory;            // --max-map-memory
    uint32_t max_program_insns = kDefaultMaxProgramInsns;  // --max-program-insns
    bool kernel = false;               // --kernel: BPF_PROG_TEST_RUN in the running kernel (objects)
};

/// Prints a run's outcome as text (JSON is run_report_json's).
void print_run_report(const RunReport& report, const RunRequest& request);

/// Disassembles programs of an object file with source lines interleaved; returns the exit code.
int disasm_object_command(const std::string& file, const std::string& program);

}  // namespace bpfvm::cli
