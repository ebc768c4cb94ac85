// `bpfvm disasm OBJ`: placeholder until the object loader lands.
#include <cstdio>

#include "run_options.hpp"

namespace bpfvm::cli {
int disasm_object_command(const std::string& file, const std::string&) {
    std::fprintf(stderr, "bpfvm disasm: %s: object files are not supported yet (use --raw for bytecode)\n", file.c_str());
    return 2;
}
}  // namespace bpfvm::cli
