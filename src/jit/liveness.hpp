// Register liveness on demand, for the JITs' peepholes: "is BPF register r dead after instruction
// i?", answered by a short forward walk over the paths leaving i. No control-flow graph and no
// per-program pass: a peephole asks only after its pattern has matched, so programs without the
// pattern pay nothing, and each question costs at most kLivenessBudget instruction visits.
#pragma once

#include <cstdint>

#include "bpfvm/isa.hpp"

namespace bpfvm::jit {

/// How many distinct instructions one query may visit before it gives up (and answers "live").
inline constexpr uint32_t kLivenessBudget = 48;

/// True when no path from the instruction after `index` (its successors: fall-through and jump
/// target) reads BPF register `reg` before writing all of it. Reads: operands, addresses, stored
/// values, `exit` (r0, and in a program with subprograms every register: the caller's view of a
/// callee's r1-r5 is not ours to judge), helper calls (r1-r5). Writes: every instruction that
/// defines a register (a 32-bit result zero-extends, so it writes the whole register) and helper
/// calls (r0-r5). Anything this does not model (local and indirect calls, kfuncs, legacy packet
/// loads, atomics' fetch results, address-space casts), a walk past kLivenessBudget
/// instructions, or `reg` >= r10 answers false ("live"), so a false answer is always safe.
/// `program` must satisfy validate_program.
bool is_dead_after(const Program& program, uint32_t index, uint8_t reg);

/// The same question on entry to instruction `index` (the paths start at `index` itself): true
/// when `reg`'s value there is never read.
bool is_dead_at(const Program& program, uint32_t index, uint8_t reg);

}  // namespace bpfvm::jit
