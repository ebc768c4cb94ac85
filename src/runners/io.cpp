// Bounded file reads and hex bytes (include/bpfvm/io.hpp).
#include "bpfvm/io.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace bpfvm {
namespace {

bool parse_hex_digits(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 16) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<std::vector<uint8_t>> parse_hex_bytes(std::string_view text) {
    std::vector<uint8_t> out;
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n' || text[i] == ',') {
            ++i;
            continue;
        }
        const size_t end = std::min(text.find_first_of(" \t\r\n,", i), text.size());
        std::string_view token = text.substr(i, end - i);
        const std::string original(token);
        i = end;
        if (token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X')) token.remove_prefix(2);
        if (token.size() > 2 && token.size() % 2 != 0)
            return make_error(ErrorCode::kInvalidArgument, "invalid hex byte '" + original + "' (odd number of digits)");
        for (size_t j = 0; j < token.size(); j += 2) {
            uint64_t value = 0;
            if (!parse_hex_digits(token.substr(j, 2), value))
                return make_error(ErrorCode::kInvalidArgument, "invalid hex byte '" + original + "'");
            out.push_back(static_cast<uint8_t>(value));
        }
    }
    return out;
}

Result<std::string> read_input_file(const std::string& path, uint64_t max_bytes) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return make_error(ErrorCode::kInvalidArgument, path + ": is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::kIo, path + ": " + std::strerror(errno));
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > max_bytes)
            return make_error(ErrorCode::kInvalidArgument,
                              path + ": file too large (more than " + std::to_string(max_bytes) + " bytes)");
    }
    if (in.bad()) return make_error(ErrorCode::kIo, path + ": read error");
    return text;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

}  // namespace bpfvm
