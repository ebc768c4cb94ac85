// Differential test: random valid programs (program_gen.hpp) run in the interpreter (the oracle)
// and in the JIT, checked and unchecked; r0, the trap (kind and pc) and the input buffer after the
// run must be identical. BPFVM_DIFF_PROGRAMS sets the number of programs (default 10000),
// BPFVM_DIFF_SEED the first seed (default 1).
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdlib>
#include <string>

#include "bpfvm/asm.hpp"
#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/detail/jit.hpp"
#include "interpreter/internal.hpp"
#include "program_gen.hpp"
#if defined(__x86_64__)
#include "jit/x86_64/features.hpp"
#endif

namespace bpfvm::testing {
namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

/// Forces the portable (non-BMI2) shift code while alive, where the host would use BMI2.
class ScopedNoBmi2 {
public:
    explicit ScopedNoBmi2(bool active) {
#if defined(__x86_64__)
        saved_ = jit::x86::host_features().bmi2;
        if (active) jit::x86::host_features().bmi2 = false;
#else
        (void)active;
#endif
    }
    ~ScopedNoBmi2() {
#if defined(__x86_64__)
        jit::x86::host_features().bmi2 = saved_;
#endif
    }

private:
    bool saved_ = false;
};

TEST(JitDifferential, RandomProgramsMatchInterpreter) {
    const uint64_t count = env_or("BPFVM_DIFF_PROGRAMS", 10000);
    const uint64_t first_seed = env_or("BPFVM_DIFF_SEED", 1);
    GenOptions options;
    options.oob_rate = 0.03;
    options.fault_rate = 0.03;
    int failures = 0;
    uint64_t traps = 0, insns = 0, zero = 0;
    for (uint64_t seed = first_seed; seed < first_seed + count && failures < 5; ++seed) {
        std::mt19937_64 rng(seed);
        const GenProgram gp = generate_program(rng, options);
        auto program = decode_program(std::span<const RawInsn>(gp.code));
        ASSERT_TRUE(program.has_value()) << "seed " << seed << ": " << program.error().to_string();
        insns += program->insns.size();
        EngineOptions checked;
        checked.checked = true;
        EngineOptions unchecked;
        unchecked.checked = false;
        auto interp = interp::prepare(*program, test_helpers(), checked);
        ASSERT_TRUE(interp.has_value()) << "seed " << seed << ": " << interp.error().to_string();
        const GenOutcome expected = run_generated(**interp, gp);
        if (expected.trap.kind != TrapKind::None) ++traps;
        else if (expected.r0 == 0) ++zero;  // mostly ld_abs out of range, which ends the program

        // The unchecked interpreter (with its superinstructions), in both dispatches, must agree too.
        if (!gp.may_oob) {
            for (const interp::Dispatch* d : {&interp::default_dispatch(), &interp::switch_dispatch()}) {
                auto fast = interp::prepare_with(*program, test_helpers(), unchecked, *d);
                ASSERT_TRUE(fast.has_value()) << "seed " << seed << ": " << fast.error().to_string();
                const GenOutcome got = run_generated(**fast, gp);
                if (!same_outcome(expected, got)) {
                    ++failures;
                    ADD_FAILURE() << "seed " << seed << " (interpreter unchecked, " << d->name
                                  << " dispatch)\n  checked:   " << describe_outcome(expected)
                                  << "\n  unchecked: " << describe_outcome(got) << "\n" << disassemble(*program);
                }
            }
        }

        const ScopedNoBmi2 no_bmi2(seed % 4 == 3);
        for (const EngineOptions* opts : {&checked, &unchecked}) {
            if (!opts->checked && gp.may_oob) continue;  // only checked mode survives a wild access
            auto jit = jit::compile(*program, test_helpers(), *opts);
            ASSERT_TRUE(jit.has_value()) << "seed " << seed << ": " << jit.error().to_string();
            const GenOutcome got = run_generated(**jit, gp);
            if (!same_outcome(expected, got)) {
                ++failures;
                ADD_FAILURE() << "seed " << seed << (opts->checked ? " (checked)" : " (unchecked)")
                              << (seed % 4 == 3 ? " without BMI2" : "") << "\n  interp: " << describe_outcome(expected)
                              << "\n  jit:    " << describe_outcome(got) << "\n" << disassemble(*program);
            }
        }
    }
    std::printf("differential: %" PRIu64 " programs from seed %" PRIu64 ", %" PRIu64 " instructions, %" PRIu64
                " trapped, %" PRIu64 " returned 0\n",
                count, first_seed, insns, traps, zero);
}

}  // namespace
}  // namespace bpfvm::testing
