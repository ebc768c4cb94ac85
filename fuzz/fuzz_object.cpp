// Fuzzes the ELF/BTF loader: any byte string loads or fails with an error; never a crash, a hang
// or an unbounded allocation.
#include <cstdint>
#include <span>

#include "bpfvm/object.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bpfvm::LoadOptions options;
    options.keep_going = true;
    options.apply_core = false;  // no dependence on the host's vmlinux BTF
    (void)bpfvm::load_object_from_memory(std::span<const uint8_t>(data, size), "fuzz.o", options);
    return 0;
}
