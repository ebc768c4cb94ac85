// fuzz_diff: programs generated from the input bytes (tests/jit/program_gen: valid, terminating,
// touching only their buffer, stack and packet, some with a deliberate out-of-bounds access or a
// faulting helper) run on the interpreter and on the JIT, each checked and unchecked. Checked
// runs must agree on r0, the trap (kind, pc, access) and the buffer after the run; unchecked runs
// (only for programs without a deliberate wild access) must agree with them on r0 and the buffer.
// The first input byte chooses the generator's options (and BMI2 or not), the rest drives its
// choices.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "bpfvm/asm.hpp"
#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/detail/jit.hpp"
#include "program_gen.hpp"
#if defined(__x86_64__)
#include "jit/x86_64/features.hpp"
#endif

namespace {

using namespace bpfvm;

void print(const char* engine, const testing::GenOutcome& o) {
    std::fprintf(stderr, "  %-16s %s\n", engine, testing::describe_outcome(o).c_str());
}

testing::GenOutcome run_engine(bool jit, bool checked, const Program& program, const testing::GenProgram& gp) {
    EngineOptions options;
    options.checked = checked;
    auto exe = jit ? jit::compile(program, testing::test_helpers(), options)
                   : interp::prepare(program, testing::test_helpers(), options);
    if (!exe) {
        std::fprintf(stderr, "fuzz_diff: %s cannot prepare a generated program: %s\n", jit ? "jit" : "interp",
                     exe.error().to_string().c_str());
        std::abort();
    }
    return testing::run_generated(**exe, gp);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    testing::GenOptions options;
    const uint8_t mode = data[0];
    options.body_items = 8 + (mode & 0x0f);
#if defined(__x86_64__)
    // Bit 4: the portable shift code instead of BMI2 (when the host has BMI2).
    static const bool host_bmi2 = jit::x86::host_features().bmi2;
    jit::x86::host_features().bmi2 = host_bmi2 && (mode & 0x10) == 0;
#endif
    options.oob_rate = (mode & 0x20) ? 0.5 : 0.0;
    options.fault_rate = (mode & 0x40) ? 0.5 : 0.0;
    options.loops = (mode & 0x80) == 0;
    testing::ByteEntropy bits(data + 1, size - 1);
    const testing::GenProgram gp = testing::generate_program(bits, options);
    auto program = decode_program(std::span<const RawInsn>(gp.code));
    if (!program) {
        std::fprintf(stderr, "fuzz_diff: a generated program does not decode: %s\n", program.error().to_string().c_str());
        std::abort();
    }
    const testing::GenOutcome oracle = run_engine(false, true, *program, gp);
    struct Variant {
        const char* name;
        bool jit, checked;
    };
    for (const Variant v : {Variant{"jit checked", true, true}, Variant{"interp unchecked", false, false},
                            Variant{"jit unchecked", true, false}}) {
        if (!jit::host_supported() && v.jit) continue;
        // Unchecked code would follow a deliberate wild access; checked runs cover those programs.
        if (!v.checked && gp.may_oob) continue;
        const testing::GenOutcome got = run_engine(v.jit, v.checked, *program, gp);
        if (!testing::same_outcome(oracle, got)) {
            std::fprintf(stderr, "fuzz_diff: %s disagrees with the checked interpreter\n", v.name);
            print("interp checked", oracle);
            print(v.name, got);
            std::fprintf(stderr, "%s", disassemble(*program).c_str());
            std::abort();
        }
    }
    return 0;
}
