// Text forms of eBPF: the assembler for the conformance-suite syntax (`mov %r0, 1`), the
// disassembler printing LLVM/kernel syntax (`r0 = *(u32 *)(r1 + 4)`), and a printer of the
// assembler's syntax for the round trip bytecode -> text -> bytecode.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/isa.hpp"

namespace bpfvm {

/// Assembles conformance-suite assembly (one instruction per line, `label:` lines, `#` comments).
/// Errors name the 1-based line: "line 3: unknown mnemonic 'foo'".
Result<std::vector<RawInsn>> assemble(std::string_view text);

/// Disassembles one instruction in LLVM/kernel syntax. Jumps print as `goto +N` (relative slots).
std::string disassemble_insn(const Insn& insn);

/// Disassembles a whole program, one line per instruction, prefixed by its slot index ("   3: ").
std::string disassemble(const Program& program);

/// One instruction in the assembler's own syntax (`add32 %r1, -3`, `jeq %r1, 2, +5`), which
/// assemble() reads back into the same bytes. kUnsupported for lddw map and function references.
Result<std::string> assembly_insn(const Insn& insn);

/// A whole program in assembler syntax, one instruction per line (no slot prefixes).
Result<std::string> to_assembly(const Program& program);

}  // namespace bpfvm
