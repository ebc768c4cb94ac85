// Fuzzes the decoder and the text forms: any byte string either decodes into a program whose
// encoding decodes back to the same instructions, or is rejected with an error; never a crash.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "bpfvm/asm.hpp"
#include "bpfvm/isa.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto program = bpfvm::decode_program(std::span<const uint8_t>(data, size));
    if (!program) return 0;
    (void)bpfvm::disassemble(*program);
    const auto again = bpfvm::decode_program(std::span<const bpfvm::RawInsn>(bpfvm::encode_program(*program)));
    if (!again || again->insns.size() != program->insns.size()) std::abort();
    for (size_t i = 0; i < program->insns.size(); ++i) {
        const auto& a = program->insns[i];
        const auto& b = again->insns[i];
        if (a.op != b.op || a.dst != b.dst || a.src != b.src || a.imm != b.imm || a.target != b.target) std::abort();
    }
    return 0;
}
