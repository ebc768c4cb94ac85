// The static verifier: the kernel's rules in userspace. Given a linked program (map references
// still as map indices, LDDW src 5/6), the maps it uses and the program type, it walks every path
// the way the kernel's verifier does (types, memory safety, bounded loops, references) and gives
// the kernel's verdict with the first error: instruction, message, registers involved and the
// branch decisions that led there. Depends on isa only: it reads Programs and the fact tables.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/facts.hpp"
#include "bpfvm/isa.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::verifier {

/// A map as the verifier sees it (the loader's MapSpec, by index).
struct MapInfo {
    std::string name;
    MapType type = MapType::Unspec;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;                   // BPF_F_* map flags (BPF_F_RDONLY_PROG = 1 << 7, ...)
    std::optional<uint32_t> inner_map;    // map-in-map: index of the inner map template
    /// Frozen read-only data (.rodata, .kconfig as libbpf loads them): loads of constant offsets
    /// read these bytes as known values, as the kernel does for frozen BPF_F_RDONLY_PROG maps.
    bool frozen = false;
    std::vector<uint8_t> contents;        // value of key 0 when frozen
    /// Offsets of special fields in the value, from BTF (-1: none): struct bpf_spin_lock,
    /// struct bpf_timer, struct bpf_wq.
    int32_t spin_lock_off = -1;
    int32_t timer_off = -1;
    int32_t wq_off = -1;
};

/// What a global function's argument is, from its BTF prototype (the kernel verifies global
/// functions on their own, with arguments of these types).
enum class GlobalArg : uint8_t {
    Scalar,   // an integer or enum
    Ctx,      // a pointer to the program's context type
    Mem,      // a pointer to a sized type (size in GlobalFunc::arg_size), maybe null unless tagged
    MemNonNull,
    Unsupported,  // a type the kernel does not accept for a global function argument
};

/// A subprogram's signature for global (non-static) functions: verified once, on their own.
struct GlobalFunc {
    uint32_t insn = 0;       // index into Program::insns of the entry
    std::string name;
    bool global = false;     // BTF FUNC linkage global: verified separately, calls do not inline
    bool returns_scalar = true;  // returns an integer or enum (not void, a pointer or a struct)
    std::vector<GlobalArg> args;
    std::vector<uint32_t> arg_size;  // Mem: the pointee size
};

/// Options that change the verdict (the kernel's load flags and the loader's capabilities).
struct Options {
    ProgramType type = ProgramType::Unspec;
    std::optional<AttachType> attach;
    /// A loader with CAP_BPF + CAP_PERFMON (allows pointer leaks, uninitialised stack reads,
    /// bounded loops, ...); false: an unprivileged loader.
    bool privileged = true;
    bool strict_alignment = false;   // BPF_F_STRICT_ALIGNMENT
    bool any_alignment = false;      // BPF_F_ANY_ALIGNMENT
    bool test_state_freq = false;    // BPF_F_TEST_STATE_FREQ: keep a state at every jump
    bool reg_invariants = false;     // BPF_F_TEST_REG_INVARIANTS: an impossible refinement is an error
    bool gpl = true;                 // license is GPL-compatible (GPL-only helpers allowed)
    bool sleepable = false;          // BPF_F_SLEEPABLE
    uint64_t insn_limit = 1'000'000; // BPF_COMPLEXITY_LIMIT_INSNS: instructions processed
    bool log = false;                // keep the per-instruction state trace in Result::log
    /// Kernel functions the program calls: BTF id (the call's imm) and name.
    std::vector<std::pair<int32_t, std::string>> kfuncs;
};

/// Counters of one verification.
struct Stats {
    uint64_t insns_processed = 0;  // instructions walked, all paths (the kernel's "processed N insns")
    uint64_t states = 0;           // states kept for pruning
    uint64_t peak_states = 0;
    uint64_t pruned = 0;           // paths cut by an equivalent verified state
    uint64_t time_us = 0;
};

/// What the verifier learned about one instruction, for the stages after it.
struct InsnFacts {
    bool visited = false;          // some path reached it (dead code otherwise)
    bool ctx_access = false;       // a load or store through the context pointer
    int32_t ctx_off = 0;           // its offset into the context (fixed offset + insn offset)
    /// A load through a kernel object or arena pointer: the kernel guards these with exception
    /// tables at run time, so userspace must keep checking them even in a verified program.
    bool probe = false;
};

/// The verdict.
struct Result {
    bool accepted = false;
    /// Reject: the first error. pc is the slot of the instruction; message says what was violated.
    std::optional<Error> error;
    /// Reject: the registers and stack slots involved with their abstract values, then the branch
    /// decisions that led to the error (one line each).
    std::vector<std::string> detail;
    Stats stats;
    std::string log;               // Options::log: the state trace
    std::vector<InsnFacts> facts;  // per instruction (indexed like Program::insns)
};

/// Verifies `program` (linked, map references as indices into `maps`). `funcs` describes the
/// subprograms known from BTF (may be empty: every subprogram is then static). Never fails for
/// bad input: malformed programs are rejected with an error like any other.
Result verify(const Program& program, std::span<const MapInfo> maps, std::span<const GlobalFunc> funcs,
              const Options& options);

}  // namespace bpfvm::verifier
