// What both backends need to know about each instruction before emitting it, from one linear pass
// over the program (no control-flow graph: building one cost a fifth of a checked compile).
#pragma once

#include <cstdint>
#include <vector>

#include "bpfvm/isa.hpp"

namespace bpfvm::jit {

/// Bits of ProgramMarks::at.
enum InsnMark : uint8_t {
    kMarkEntered = 1,     // a jump, local-call or function-reference target: paths join here
    kMarkLoopHead = 2,    // the target of a backward jump
    kMarkBackJump = 4,    // a jump to itself or an earlier instruction: checked mode pays budget there
    kMarkFrameWrite = 8,  // writes r10: decodes, but traps when it runs
    // Checked mode only (check_groups.hpp): an access whose check covers the accesses after it
    // that share its base, and one of those accesses, which needs no check of its own.
    kMarkCheckLead = 16,
    kMarkCheckCovered = 32,
};

/// Per-instruction marks of a validated program (targets in range).
///
/// Checked mode bounds every loop by paying one unit of budget at each backward jump (and at each
/// call; x86-64 pays whenever the jump runs, arm64 only when it is taken). That is enough: a
/// fall-through goes to i + 1, a forward jump to a later instruction and a return to the
/// instruction after its call, so a run that makes finitely many calls can only execute forever
/// by taking backward jumps forever. A loop entered in its middle pays on its backward jump as
/// well, wherever the entry is.
struct ProgramMarks {
    std::vector<uint8_t> at;  // InsnMark bits per Program::insns index
    bool may_goto = false;    // the program has may_goto
};

/// Marks `program`'s instructions (validate_program must hold).
ProgramMarks mark_program(const Program& program);

/// Which field of an instruction names the register it writes (bpfvm::defined_register), per Op:
/// the passes over every compiled instruction read this table instead of the opcode table.
enum WrittenField : uint8_t { kWritesNone, kWritesDst, kWritesSrc, kWritesR0 };
const WrittenField* written_fields();

/// The register `insn` writes, kNumRegs when none: defined_register from the table.
inline uint8_t written_register(const Insn& insn, const WrittenField* fields) {
    const WrittenField f = fields[static_cast<size_t>(insn.op)];
    // Selects rather than branches: which field follows no pattern on branch-dense code.
    const uint8_t r = f == kWritesDst ? insn.dst : f == kWritesSrc ? insn.src : 0;
    return f == kWritesNone ? static_cast<uint8_t>(kNumRegs) : r;
}

}  // namespace bpfvm::jit
