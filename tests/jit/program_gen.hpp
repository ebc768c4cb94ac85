// Random valid eBPF programs for differential testing (interpreter vs JIT), reusable by fuzzers.
//
// Every generated program terminates, reads only memory it initialised, and touches only the input
// buffer (r9 keeps the pointer r1 had on entry), its own stack frame and the packet (ld_abs). Its
// result r0 folds every data register and the stack slots it used, so most wrong results show up
// in r0; stores show up in the buffer.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bpfvm/isa.hpp"
#include "bpfvm/detail/runtime.hpp"

namespace bpfvm::testing {

/// What the generator may emit. Defaults: everything.
struct GenOptions {
    uint32_t body_items = 40;      // random items per function body (an item is one to ~10 instructions)
    uint32_t max_subprograms = 3;  // local-call targets (each may call later ones only)
    uint32_t buffer_size = 64;     // input buffer bytes (r1 on entry, r2 = size)
    bool loops = true;             // bounded loops with a counter in r8
    bool calls = true;             // local calls, helper calls, callx, lddw function references
    bool atomics = true;
    bool packet = true;            // ld_abs / ld_ind (the harness must set RunContext::pkt)
    double oob_rate = 0.0;         // probability that a program contains one out-of-bounds access
    double fault_rate = 0.0;       // probability of a faulting helper call, an unknown callx id, a write
                                   // to r10 or an addr_space_cast (every engine traps on those)
};

/// A generated program with its inputs.
struct GenProgram {
    std::vector<RawInsn> code;
    std::vector<uint8_t> buffer;  // initial contents of the input buffer
    std::vector<uint8_t> packet;  // packet for ld_abs / ld_ind
    bool may_oob = false;         // contains a deliberate out-of-bounds access (run checked only)
};

/// Helper ids the generated programs call (see test_helpers()).
inline constexpr uint32_t kHelperMix = 1;    // r0 = a mix of r1..r5
inline constexpr uint32_t kHelperInc = 2;    // r0 = r1 + 1
inline constexpr uint32_t kHelperFault = 3;  // reports a fault (the run traps HelperFault)

/// The helper table matching the generated programs.
const HelperTable& test_helpers();

/// A uniform random bit generator that hands out a byte string (a fuzzer's input) one byte per
/// draw, then bytes of a generator seeded by its length: each choice of the generator reads its own
/// bytes, so a small change of the input makes a small change of the program.
class ByteEntropy {
public:
    using result_type = uint8_t;
    ByteEntropy(const uint8_t* data, size_t size) : data_(data), size_(size), state_(size) {}
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return 0xff; }
    result_type operator()();

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    uint64_t state_;
};

/// What one run of a generated program produced.
struct GenOutcome {
    uint64_t r0 = 0;
    Trap trap{};
    std::vector<uint8_t> buffer;  // the input buffer after the run
};

/// Runs `gp` on `exe`: r1 = a fresh copy of its buffer (the one allowed region), r2 = its size,
/// and its packet for ld_abs / ld_ind.
GenOutcome run_generated(const Executable& exe, const GenProgram& gp);
/// Same trap (kind, pc, and the access for out-of-bounds), same r0 when there is no trap, same buffer.
bool same_outcome(const GenOutcome& a, const GenOutcome& b);
/// "r0=0x2a trap(kind=0 pc=0 size=0 write=0) buffer=00ff..", for failure messages.
std::string describe_outcome(const GenOutcome& o);

/// Generates one program from `rng`.
GenProgram generate_program(std::mt19937_64& rng, const GenOptions& options = {});
/// Generates one program from the bytes of `bits` (fuzzers).
GenProgram generate_program(ByteEntropy& bits, const GenOptions& options = {});

}  // namespace bpfvm::testing
