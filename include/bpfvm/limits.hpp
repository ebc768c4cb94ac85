// Resource limits: what a program, an object or an input may make bpfvm spend, with the defaults
// and the bounds the CLI flags and spec fields accept (docs/limits.md lists them with their flags).
// Exceeding a limit is a clear error naming it, never a hang or an allocation failure.
#pragma once

#include <cstdint>

namespace bpfvm {

/// Instructions one checked run may execute (interpreter: every instruction; JIT: back-edges and
/// calls) before it stops with "instruction budget exhausted". `--max-insns`, spec `max_insns`.
inline constexpr uint64_t kDefaultInsnBudget = 100'000'000;
/// Largest budget accepted: 10^15 (days of running), well inside the JIT's signed 64-bit counter.
inline constexpr uint64_t kMaxInsnBudget = 1'000'000'000'000'000;

/// Instruction slots of one program, subprograms included: the kernel's BPF_COMPLEXITY_LIMIT_INSNS
/// (privileged programs). `--max-program-insns`; LoadOptions / DecodeOptions::max_slots.
inline constexpr uint32_t kDefaultMaxProgramInsns = 1'000'000;
/// Largest program-size limit accepted (16M slots, 128 MiB of bytecode).
inline constexpr uint32_t kMaxProgramInsns = 1u << 24;

/// Bytes the maps of one object may reserve at their fullest (the kernel's memory accounting:
/// preallocated arrays, and hash maps counted at max_entries). `--max-map-memory`, spec
/// `max_map_memory`; ObjectOptions::max_map_memory.
inline constexpr uint64_t kDefaultMapMemory = uint64_t{1} << 30;
/// Largest map-memory limit accepted (64 GiB).
inline constexpr uint64_t kMaxMapMemory = uint64_t{64} << 30;

/// Largest ELF object read from a file, and largest BTF file (vmlinux BTF is about 6 MiB).
inline constexpr uint64_t kMaxObjectFileBytes = uint64_t{1} << 30;
inline constexpr uint64_t kMaxBtfFileBytes = uint64_t{256} << 20;
/// Largest raw bytecode, memory, packet, context or spec file read by the CLI.
inline constexpr uint64_t kMaxInputFileBytes = uint64_t{16} << 20;

// Verifier states and time: added with the static verifier (issue 8), as LoadOptions/verify
// options beside these, with the same pattern: a default, a bound, a flag and a clear error.

}  // namespace bpfvm
