// Small input/output utilities shared by the CLI and the runners: bounded file reads and hex bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/result.hpp"

namespace bpfvm {

/// Reads a whole file of at most `max_bytes` bytes (the CLI reads bytecode and memory with it).
/// Errors: "FILE: No such file or directory", "FILE: file too large (N bytes, limit M)".
Result<std::string> read_input_file(const std::string& path, uint64_t max_bytes = 16u << 20);

/// Parses whitespace-separated hex bytes ("aa bb 0c", optional 0x prefix per byte; a token of more
/// than two digits is split into bytes left to right when its length is even: "aabb" = aa bb).
/// Error names the offending token.
Result<std::vector<uint8_t>> parse_hex_bytes(std::string_view text);

/// Lower-case hex without separators.
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace bpfvm
