// Bounded file reads, hex bytes and range-checked integers (include/bpfvm/io.hpp).
//
// Files are read with open/read, not iostreams: libstdc++'s filebuf throws std::ios_base::failure
// when read(2) fails (EIO, or EISDIR for a directory), and every user-named file passes through
// here, so a read error must come back as an Error naming the file and the reason.
#include "bpfvm/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace bpfvm {
namespace {

bool parse_hex_digits(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 16) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return ec == std::errc() && end == s.data() + s.size();
}

Error file_error(ErrorCode code, const std::string& path, std::string message) {
    Error e = make_error(code, std::move(message));
    e.where = path;
    return e;
}

/// Closes the descriptor on every return path.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

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
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0)
        return file_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, path,
                          std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) return file_error(ErrorCode::kIo, path, std::string("cannot stat: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return file_error(ErrorCode::kInvalidArgument, path, "is a directory");
    const auto too_large = [&] {
        return file_error(ErrorCode::kInvalidArgument, path,
                          "file too large (more than " + std::to_string(max_bytes) + " bytes)");
    };
    // A regular file's size is known up front; devices, pipes and /proc files are read until the limit.
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) return too_large();
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(file.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return file_error(ErrorCode::kIo, path, std::string("read error: ") + std::strerror(errno));
        }
        if (n == 0) break;
        if (text.size() + static_cast<size_t>(n) > max_bytes) return too_large();
        text.append(buf, static_cast<size_t>(n));
    }
    return text;
}

Status write_output_file(const std::string& path, std::string_view bytes) {
    Fd file{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (file.fd < 0) return file_error(ErrorCode::kIo, path, std::string("cannot create: ") + std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(file.fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return file_error(ErrorCode::kIo, path, std::string("write error: ") + std::strerror(n < 0 ? errno : EIO));
        done += static_cast<size_t>(n);
    }
    const int fd = file.fd;
    file.fd = -1;
    if (::close(fd) != 0) return file_error(ErrorCode::kIo, path, std::string("write error: ") + std::strerror(errno));
    return {};
}

Result<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max) {
    const auto fail = [&] {
        return make_error(ErrorCode::kInvalidArgument, "expected an integer in [" + std::to_string(min) + ", " +
                                                           std::to_string(max) + "], got '" + std::string(text) + "'");
    };
    std::string_view digits = text;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        digits.remove_prefix(2);
        base = 16;
    }
    // from_chars accepts no sign, spaces or suffix: "-5", " 5" and "5k" are all refused.
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < min || value > max)
        return fail();
    return value;
}

std::string nearest_name(std::string_view name, std::span<const std::string> candidates) {
    // Levenshtein distance, one row at a time.
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<size_t> row(b.size() + 1);
        for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (size_t i = 1; i <= a.size(); ++i) {
            size_t diagonal = row[0];
            row[0] = i;
            for (size_t j = 1; j <= b.size(); ++j) {
                const size_t above = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
                diagonal = above;
            }
        }
        return row[b.size()];
    };
    const size_t limit = std::max<size_t>(2, name.size() / 3);
    std::string best;
    size_t best_distance = limit + 1;
    for (const auto& c : candidates) {
        const size_t d = distance(name, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view name, std::span<const std::string> candidates) {
    const std::string near = nearest_name(name, candidates);
    return near.empty() ? "" : " (did you mean '" + near + "'?)";
}

std::string join(std::span<const std::string> items, std::string_view separator, std::string_view empty) {
    if (items.empty()) return std::string(empty);
    std::string out = items[0];
    for (size_t i = 1; i < items.size(); ++i) {
        out += separator;
        out += items[i];
    }
    return out;
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
