// Static liveness (liveness.cpp): registers and stack slots that may still be read.
#pragma once

#include "env.hpp"

namespace bpfvm::verifier {

/// The successors of instruction `i` within its subprogram (insn_successors of isa, as a vector).
void successors(const Program& p, uint32_t i, std::vector<uint32_t>& out);

/// The registers helper call `insn` reads: r1..rN for the N arguments of its prototype, r1-r5
/// when the helper is unknown.
uint16_t helper_arg_regs(const Env& env, const Insn& insn);

/// Fills InsnAux::stack_live: the slots of the running frame (bit k: [fp-8(k+1), fp-8k)) that some
/// path from the instruction may read before overwriting them whole.
void compute_stack_liveness(Env& env);

}  // namespace bpfvm::verifier
