// The walk's pruning and path bookkeeping (walk.cpp), used by the driver (verifier.cpp).
#pragma once

#include "env.hpp"

namespace bpfvm::verifier {

/// is_state_visited at prune point `insn`: 1 when the current path is covered by a verified state
/// (prune it), 0 to go on (a checkpoint may have been kept), -1 after failing (infinite loop).
int is_state_visited(Env& env, uint32_t insn);
/// The current instruction's history entry (push_jmp_history): created on first use, so that an
/// instruction has one entry holding its arrival, its stack access and its linked registers.
HistEntry& current_hist_entry(Env& env);
/// The current path ended (exit or pruned): its checkpoints lose one pending branch.
void finish_path(Env& env);

}  // namespace bpfvm::verifier
