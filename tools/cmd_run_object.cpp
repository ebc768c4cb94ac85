// `bpfvm run OBJ`: placeholder until the object loader and test-run land.
#include <cstdio>

#include "run_options.hpp"

namespace bpfvm::cli {
int run_object_command(const RunOptions& options) {
    std::fprintf(stderr, "bpfvm run: %s: object files are not supported yet (use --raw for bytecode)\n",
                 options.file.c_str());
    return 2;
}
}  // namespace bpfvm::cli
