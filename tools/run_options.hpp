// Options of `bpfvm run` and `bpfvm disasm` shared between the raw-bytecode path (cmd_run.cpp,
// cmd_isa.cpp) and the object-file path (cmd_run_object.cpp, cmd_disasm_object.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpfvm::cli {

struct RunOptions {
    std::string file;                  // positional: object file, or raw bytecode with --raw
    bool raw = false;                  // FILE is raw bytecode (8-byte slots)
    std::string program;               // --program NAME (objects)
    std::string mem_hex, mem_file;     // --mem-hex / --mem: input memory for raw programs (r1 = ptr, r2 = len)
    std::string data_hex, data_file;   // --data-hex / --data: packet data for objects
    std::string ctx_file, ctx_hex;     // --ctx / --ctx-hex: context bytes for objects
    std::string engine;                // --engine interp|jit ("" = default)
    uint32_t repeat = 1;               // --repeat N
    std::vector<std::string> map_entries;  // --map NAME=KEY:VALUE (hex)
    std::string btf;                   // --btf FILE: target BTF for CO-RE (objects)
    bool json = false;                 // --json
    bool unchecked = false;            // --unchecked: skip bounds checks (verified programs only)
    bool no_verify = false;            // --no-verify: run with bounds checks without verifying
    uint64_t max_insns = 100'000'000;  // --max-insns: instruction budget in checked mode
    bool kernel = false;               // --kernel: BPF_PROG_TEST_RUN in the running kernel (objects)
};

/// Runs a program from an object file; prints results; returns the exit code.
int run_object_command(const RunOptions& options);

/// Disassembles programs of an object file with source lines interleaved; returns the exit code.
int disasm_object_command(const std::string& file, const std::string& program);

}  // namespace bpfvm::cli
