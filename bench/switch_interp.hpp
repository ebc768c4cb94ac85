// The baseline for the interpreter benchmarks: a plain `switch` over the opcode byte of the raw
// instructions, decoding fields on every step (the classic uBPF-style loop). No checks, no calls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bpfvm/isa.hpp"

namespace bpfvm::bench {

/// Result of a baseline run: r0, or ok == false for an instruction the baseline does not handle.
struct SwitchResult {
    uint64_t r0 = 0;
    bool ok = true;
    uint32_t bad_pc = 0;
};

/// Runs `n` raw instructions with r1, r2 as given and a 512-byte stack. Handles ALU/ALU64, JMP/JMP32
/// (no calls), LDX/ST/STX memory, 64-bit immediate loads and exit.
SwitchResult switch_interp_run(const RawInsn* code, size_t n, uint64_t r1, uint64_t r2);

}  // namespace bpfvm::bench
