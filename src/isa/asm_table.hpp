// The assembler's spellings, shared by the assembler (asm.cpp) and the printer of assembler
// syntax (asm_print.cpp) so that what one prints the other reads.
#pragma once

#include <string>
#include <vector>

#include "bpfvm/isa.hpp"

namespace bpfvm {

/// Every mnemonic the assembler accepts for `op`, the canonical one first: Add32Imm -> "add32",
/// Add64Imm -> "add", "add64"; AtomicFetchAdd32 -> "lock fetch add32"; Bswap16 -> "bswap16", "swap16".
std::vector<std::string> op_spellings(Op op);

/// A jump offset or other signed number with its sign always written: "+3", "-2", "+0".
inline std::string signed_rel(int64_t v) {
    std::string out = v >= 0 ? "+" : "";
    out += std::to_string(v);
    return out;
}

}  // namespace bpfvm
