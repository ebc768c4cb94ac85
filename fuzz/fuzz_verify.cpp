// fuzz_verify: arbitrary bytecode through the verifier, under the program type, privileges,
// alignment flags, license, attach type and maps the input's header chooses (verify_input.hpp),
// so every row of the program type table and both privilege levels are reached. Whatever the
// bytes, the verifier gives a verdict: never a crash, a hang (the instruction limit is lowered to
// bound each input's time), an exception or a sanitizer report. A verdict must also be
// well-formed: a rejection names an instruction of the program, an acceptance has no error and
// one fact per instruction.
#include <cstdio>
#include <cstdlib>

#include "verify_input.hpp"

namespace {

[[noreturn]] void fail(const char* what, const bpfvm::Verification& v) {
    std::fprintf(stderr, "fuzz_verify: %s (verdict %d, error: %s)\n", what, static_cast<int>(v.verdict),
                 v.error ? v.error->to_string().c_str() : "none");
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto input = bpfvm::fuzzing::decode_verify_input({data, size});
    if (!input) return 0;
    const bpfvm::ProgramSpec& spec = input->file.programs[0];
    const bpfvm::Verification v = bpfvm::verify_program(input->file, spec, input->options);
    const size_t slots = spec.program.slot_to_index.size();
    switch (v.verdict) {
        case bpfvm::Verdict::Accept:
            if (v.error) fail("an accepted program has an error", v);
            if (v.facts.size() != spec.program.insns.size()) fail("facts do not cover every instruction", v);
            break;
        case bpfvm::Verdict::Reject:
            if (!v.error) fail("a rejection without an error", v);
            // "too complex" and whole-program errors may have no pc; any pc must be in the program.
            if (v.error->pc && *v.error->pc >= slots) fail("a rejection names an instruction past the end", v);
            break;
        case bpfvm::Verdict::NotVerified:
            // Only the unspec program type leaves a program unverified.
            if (spec.type != bpfvm::ProgramType::Unspec) fail("a typed program was not verified", v);
            break;
    }
    return 0;
}
