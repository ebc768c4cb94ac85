// Small input/output utilities every module may use (library bpfvm_base): bounded file reads, hex
// bytes and range-checked integers, for everything a user names or types.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/result.hpp"

namespace bpfvm {

/// Reads a whole file of at most `max_bytes` bytes: regular files, devices, pipes; never throws.
/// Errors carry the file in `where`: "FILE: cannot open: No such file or directory" (kNotFound),
/// "FILE: cannot open: Permission denied", "FILE: read error: Input/output error" (kIo),
/// "FILE: is a directory", "FILE: file too large (more than M bytes)" (kInvalidArgument).
Result<std::string> read_input_file(const std::string& path, uint64_t max_bytes = 16u << 20);

/// Writes `bytes` to `path` (created or truncated). Errors carry the file in `where`:
/// "FILE: cannot create: Permission denied", "FILE: write error: No space left on device".
Status write_output_file(const std::string& path, std::string_view bytes);

/// Parses a decimal or 0x-hex integer in [min, max]; no sign, blanks or suffix. Error (the caller
/// prefixes the flag or field): "expected an integer in [1, 100], got '-5'".
Result<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max);

/// Parses whitespace-separated hex bytes ("aa bb 0c", optional 0x prefix per byte; a token of more
/// than two digits is split into bytes left to right when its length is even: "aabb" = aa bb).
/// Error names the offending token.
Result<std::vector<uint8_t>> parse_hex_bytes(std::string_view text);

/// The candidate closest to `name` by edit distance, if close enough to be a likely typo
/// (distance at most 2, or a third of the name's length for long names); "" otherwise.
std::string nearest_name(std::string_view name, std::span<const std::string> candidates);

/// " (did you mean 'prog'?)" when nearest_name finds a likely typo of `name`, else "".
std::string did_you_mean(std::string_view name, std::span<const std::string> candidates);

/// `items` joined with `separator` ("a, b, c"); `empty` when there are none.
std::string join(std::span<const std::string> items, std::string_view separator, std::string_view empty = "");

/// Orders byte strings by size, then bytes: for maps and sets keyed by bytes. (std::vector's own
/// operator< trips a false -Wstringop-overread in g++ 12 at -O3.)
struct BytesLess {
    bool operator()(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) const {
        if (a.size() != b.size()) return a.size() < b.size();
        for (size_t i = 0; i < a.size(); ++i)
            if (a[i] != b[i]) return a[i] < b[i];
        return false;
    }
};

/// Lower-case hex without separators.
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace bpfvm
