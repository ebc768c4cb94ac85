// The control-flow graph of a decoded Program: basic blocks with their successors and predecessors,
// subprograms (as the kernel's add_subprog finds them) and the call graph between them, back edges
// (from a depth-first search per subprogram, like the kernel's check_cfg), reachability, a weak
// topological order per subprogram (Bourdoncle: where an abstract interpreter widens), and the
// structural findings the kernel rejects at load (a jump out of its subprogram, a subprogram that
// falls into the next one, unreachable code). Findings are data: the verifier decides what is an
// error; the engines run a validated Program whatever the findings say.
//
// Indices: instructions are Program::insns indices; blocks, subprograms and WTO entries index the
// vectors of Cfg. Messages name slots (Insn::pc), as the kernel's log does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/isa.hpp"

namespace bpfvm {

/// How control reaches a successor.
enum class EdgeKind : uint8_t {
    FallThrough,  // to the next instruction: a plain instruction, or a conditional jump not taken
    Jump,         // a jump taken: ja, gotol, a conditional jump, may_goto
    AfterCall,    // from a local call to the instruction after it (the callee has returned)
};

/// One edge seen from a block: `block` is the successor (in succs) or the predecessor (in preds).
struct CfgEdge {
    uint32_t block = 0;
    EdgeKind kind = EdgeKind::FallThrough;
};

/// A maximal straight-line run of instructions [first, last]. A block ends at a jump, an exit or a
/// local call, or before a jump target or a subprogram entry.
struct BasicBlock {
    uint32_t first = 0;    // instruction index of its first instruction
    uint32_t last = 0;     // instruction index of its last instruction
    uint32_t subprog = 0;  // the subprogram whose range holds it
    bool reachable = false;  // reachable from instruction 0 through jumps, calls and function references
};

/// A back edge of the depth-first search: control goes from instruction `from` back to `to`, an
/// instruction still on the search path. Every cycle of the graph contains at least one.
struct BackEdge {
    uint32_t from = 0;  // instruction index (the last of its block)
    uint32_t to = 0;    // instruction index (the first of its block: a loop head)
    EdgeKind kind = EdgeKind::Jump;
};

/// One element of a weak topological order, flattened: a head opens a component that spans the
/// entries [its index, end); a plain vertex has end = its index + 1. Components nest.
struct WtoEntry {
    uint32_t block = 0;
    uint32_t end = 0;
    bool head = false;  // a component head (a loop head: where an abstract interpreter widens)
};

/// A subprogram: the instructions [entry, end), up to the next entry.
struct Subprogram {
    uint32_t entry = 0;                // instruction index of its first instruction
    uint32_t end = 0;                  // one past its last instruction
    uint32_t first_block = 0;          // its blocks are [first_block, end_block)
    uint32_t end_block = 0;
    bool called = false;               // target of a static call (call pc+N)
    bool referenced = false;           // target of an lddw function reference (a callback: bpf_loop, ...)
    std::vector<uint32_t> callees;     // subprograms it calls statically (sorted, unique)
    std::vector<uint32_t> references;  // subprograms whose address it loads (sorted, unique)
    std::vector<WtoEntry> wto;         // weak topological order of the blocks reachable from its entry
};

/// A call site or function reference, caller and callee as subprogram indices.
struct CallSite {
    uint32_t insn = 0;
    uint32_t caller = 0;
    uint32_t callee = 0;
    bool reference = false;  // an lddw src=4 function reference rather than a call
};

/// A structural property the kernel rejects at load time (check_subprogs, check_cfg).
enum class FindingKind : uint8_t {
    JumpOutOfSubprogram,  // a jump whose target lies in another subprogram ("jump out of range")
    FallsIntoNext,        // a subprogram's last instruction is not exit or ja: it falls into the next one
    FallsOffEnd,          // the program's last instruction is not exit or ja (validate_program rejects it)
    Unreachable,          // instructions no path from instruction 0 reaches ("unreachable insn N")
};

/// One finding: where, and the other end for jumps.
struct Finding {
    FindingKind kind = FindingKind::Unreachable;
    uint32_t insn = 0;    // the jump, the last instruction, or the first of an unreachable run
    uint32_t target = 0;  // JumpOutOfSubprogram: the jump's target; Unreachable: one past the run
};

/// The control-flow graph of one program.
struct Cfg {
    std::vector<BasicBlock> blocks;        // in instruction order
    std::vector<uint32_t> block_of;        // instruction index -> its block
    std::vector<Subprogram> subprogs;      // in instruction order, entry 0 first
    std::vector<CallSite> calls;           // in instruction order
    std::vector<BackEdge> back_edges;      // sorted by (from, to)
    std::vector<Finding> findings;         // sorted by instruction

    /// Successors of block `b`: the fall-through (or after-call) edge first, then the jump edge. A
    /// conditional jump to the next instruction has both, to the same block.
    std::span<const CfgEdge> succs(uint32_t b) const {
        return {succ_edges.data() + succ_begin[b], succ_begin[b + 1] - succ_begin[b]};
    }
    /// Predecessors of block `b`, in instruction order of their last instruction.
    std::span<const CfgEdge> preds(uint32_t b) const {
        return {pred_edges.data() + pred_begin[b], pred_begin[b + 1] - pred_begin[b]};
    }
    /// The subprogram whose range holds instruction `insn`.
    uint32_t subprog_of(uint32_t insn) const { return blocks[block_of[insn]].subprog; }
    /// True when instruction `insn` is reachable from instruction 0.
    bool reachable(uint32_t insn) const { return blocks[block_of[insn]].reachable; }

    // Edge storage, read through succs() and preds(): block b's edges are [begin[b], begin[b + 1]).
    std::vector<CfgEdge> succ_edges, pred_edges;
    std::vector<uint32_t> succ_begin, pred_begin;
};

/// What build_cfg computes beyond blocks, edges, subprograms, calls, reachability and findings.
struct CfgOptions {
    bool back_edges = true;
    bool wto = true;  // weak topological orders
};

/// The successors of instruction `i` inside its subprogram (a local call continues after the
/// call; exit has none): the fall-through first, then the jump target. Returns how many (0..2).
size_t insn_successors(const Program& program, uint32_t i, uint32_t out[2]);

/// Builds the graph of a validated program (validate_program holds: targets in range, at least one
/// instruction). Linear in the program size; no recursion, so any program size is safe.
Cfg build_cfg(const Program& program, const CfgOptions& options = {});

/// The kernel's wording of a finding, naming slots: "jump out of range from insn 3 to 9",
/// "last insn is not an exit or jmp", "unreachable insn 4".
std::string describe_finding(const Program& program, const Finding& finding);

}  // namespace bpfvm
