// The input format of the verifier fuzz targets (fuzz_verify, fuzz_soundness): a short header that
// picks the program type, the loader's privileges and flags, and up to seven maps, then raw
// bytecode. Map references are lddw src 5 / 6 with the map's index, as the loader links them, so
// a program stored from a real object (seed_from_program) verifies exactly as it does there.
//
//   byte 0     program type: id modulo kNumProgramTypes (prog_types.def)
//   byte 1     bit 0 unprivileged, bit 1 strict alignment, bit 2 any alignment, bit 3 not GPL
//   byte 2     expected attach type: 0 none, else (byte - 1) modulo kNumAttachTypes
//   byte 3     number of maps (low 3 bits), then 12 bytes per map (little-endian):
//                type u8 (modulo kNumMapTypes), kind u8 (0 map, 1 .data, 2 .rodata, 3 .bss),
//                key_size u16, value_size u16, max_entries u32 (at most 4096), flags u16
//   the rest   instructions, 8 bytes each (a trailing partial one is dropped)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bpfvm/bpfvm.hpp"

namespace bpfvm::fuzzing {

/// A decoded fuzz input: an object with one program ("prog") and the verifier options.
struct VerifyInput {
    ObjectFile file;
    VerifyOptions options;
};

/// Decodes `bytes`; nullopt when the header is short or the bytecode does not decode (the
/// decoder's own rejections are fuzz_asm's business, not the verifier's).
std::optional<VerifyInput> decode_verify_input(std::span<const uint8_t> bytes);

/// The input that decodes to `spec` of `file` verified with `options`; nullopt when the object
/// has more maps than the format holds or the program cannot be loaded. For seed corpora.
std::optional<std::vector<uint8_t>> encode_verify_input(const ObjectFile& file, const ProgramSpec& spec,
                                                        const VerifyOptions& options);

/// Verifier instruction limit of the fuzz targets: bounds the time one input takes (the kernel's
/// 1,000,000 would allow seconds per input).
inline constexpr uint64_t kFuzzVerifyInsnLimit = 10'000;

}  // namespace bpfvm::fuzzing
