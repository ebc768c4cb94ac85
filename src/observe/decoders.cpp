// Label decoders, with ebpf_exporter's semantics: the first decoder of a label reads the raw key
// bytes, each later one reads the previous one's text. uint reads little-endian integers, string
// stops at the first NUL, hex spells bytes in order, syscall and errno turn decimal text into
// names ("unknown:N" otherwise), inet_ip reads 4 or 16 address bytes, static_map maps text to
// text, regexp drops label sets that match none of its patterns, ksym names kernel addresses
// (/proc/kallsyms), ifname names interface indexes, dname reads DNS wire-format names.
#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>

#include "bpfvm/metrics.hpp"

namespace bpfvm::observe {
namespace {

struct SyscallEntry {
    uint32_t nr;
    const char* name;
};

// Generated at configure time from <asm/unistd.h> of the target (see CMakeLists.txt).
constexpr SyscallEntry kSyscalls[] = {
#include "syscall_names.inc"
};

std::optional<uint64_t> parse_decimal(const std::string& text) {
    uint64_t v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return v;
}

Error decode_error(const std::string& decoder, const std::string& input, const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, "decoder " + decoder + ": " + why + " (input \"" + input + "\")");
}

/// Kernel symbols sorted by address, read once.
class Kallsyms {
public:
    static const Kallsyms& get() {
        static std::once_flag once;
        static Kallsyms instance;
        std::call_once(once, [] { instance.load(); });
        return instance;
    }
    std::string lookup(uint64_t address) const {
        auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                                   [](uint64_t a, const auto& s) { return a < s.first; });
        if (it == symbols_.begin()) return "";
        return std::prev(it)->second;
    }

private:
    void load() {
        std::ifstream in("/proc/kallsyms");
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string address, type, name;
            if (!(fields >> address >> type >> name)) continue;
            uint64_t a = 0;
            if (std::from_chars(address.data(), address.data() + address.size(), a, 16).ec != std::errc() || a == 0)
                continue;  // zero addresses: kptr_restrict hides them
            symbols_.emplace_back(a, name);
        }
        std::sort(symbols_.begin(), symbols_.end());
    }
    std::vector<std::pair<uint64_t, std::string>> symbols_;
};

/// Runs one decoder; nullopt drops the label set (regexp).
Result<std::optional<std::string>> run_decoder(const DecoderSpec& d, const std::string& in) {
    if (d.name == "uint") {
        if (in.empty() || in.size() > 8)
            return decode_error(d.name, "", std::to_string(in.size()) + " bytes do not make an integer");
        uint64_t v = 0;
        for (size_t i = 0; i < in.size(); ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
        return std::optional(std::to_string(v));
    }
    if (d.name == "string") return std::optional(std::string(in.c_str(), strnlen(in.c_str(), in.size())));
    if (d.name == "hex")
        return std::optional(hex_string(std::span(reinterpret_cast<const uint8_t*>(in.data()), in.size())));
    if (d.name == "syscall" || d.name == "errno") {
        auto v = parse_decimal(in);
        if (!v) return decode_error(d.name, in, "expected a decimal number (put a uint decoder first)");
        std::string name;
        if (d.name == "syscall") {
            name = syscall_name(*v);
        } else if (*v < 4096) {
            const char* n = strerrorname_np(static_cast<int>(*v));
            if (n != nullptr) name = n;
        }
        return std::optional(name.empty() ? "unknown:" + in : name);
    }
    if (d.name == "inet_ip") {
        char buf[INET6_ADDRSTRLEN] = {};
        if (in.size() == 4) inet_ntop(AF_INET, in.data(), buf, sizeof(buf));
        else if (in.size() == 16) inet_ntop(AF_INET6, in.data(), buf, sizeof(buf));
        else
            return decode_error(d.name, "",
                                std::to_string(in.size()) + " bytes are not an IPv4 (4) or IPv6 (16) address");
        return std::optional(std::string(buf));
    }
    if (d.name == "static_map") {
        auto it = d.static_map.find(in);
        if (it != d.static_map.end()) return std::optional(it->second);
        return std::optional(d.allow_unknown ? in : "unknown:" + in);
    }
    if (d.name == "regexp") {
        for (const auto& pattern : d.regexps) {
            // std::regex reports bad patterns by throwing: caught here, at the decoder boundary.
            try {
                if (std::regex_search(in, std::regex(pattern))) return std::optional(in);
            } catch (const std::regex_error& e) {
                return decode_error(d.name, in, "bad pattern '" + pattern + "': " + e.what());
            }
        }
        return std::optional<std::string>();
    }
    if (d.name == "ksym") {
        auto v = parse_decimal(in);
        if (!v) return decode_error(d.name, in, "expected a decimal address (put a uint decoder first)");
        const std::string name = Kallsyms::get().lookup(*v);
        char buf[32];
        std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(*v));
        return std::optional(name.empty() ? std::string(buf) : name);
    }
    if (d.name == "ifname") {
        auto v = parse_decimal(in);
        if (!v) return decode_error(d.name, in, "expected a decimal interface index (put a uint decoder first)");
        char buf[IF_NAMESIZE] = {};
        if (*v > UINT32_MAX || if_indextoname(static_cast<unsigned>(*v), buf) == nullptr)
            return std::optional("unknown:" + in);
        return std::optional(std::string(buf));
    }
    if (d.name == "dname") {
        std::string out;
        size_t i = 0;
        while (i < in.size() && in[i] != 0) {
            const size_t len = static_cast<uint8_t>(in[i]);
            if (len > 63 || i + 1 + len > in.size()) return decode_error(d.name, "", "malformed DNS name");
            if (!out.empty()) out += '.';
            out.append(in, i + 1, len);
            i += 1 + len;
        }
        return std::optional(out.empty() ? "." : out);
    }
    return decode_error(d.name, in, "unknown decoder");
}

}  // namespace

std::string syscall_name(uint64_t nr) {
    for (const auto& s : kSyscalls)
        if (s.nr == nr) return s.name;
    return "";
}

Result<std::optional<std::vector<std::string>>> decode_labels(std::span<const uint8_t> key,
                                                              const std::vector<LabelSpec>& labels) {
    uint64_t total = 0;
    for (const auto& l : labels) total += uint64_t{l.size} + l.padding;
    if (total != key.size())
        return make_error(ErrorCode::kInvalidArgument, "labels cover " + std::to_string(total) +
                                                           " bytes, the key has " + std::to_string(key.size()));
    std::vector<std::string> values;
    size_t offset = 0;
    for (const auto& label : labels) {
        std::string text(reinterpret_cast<const char*>(key.data() + offset), label.size);
        offset += label.size + label.padding;
        for (const auto& d : label.decoders) {
            auto out = run_decoder(d, text);
            if (!out) {
                out.error().message = "label " + label.name + ": " + out.error().message;
                return out.error();
            }
            if (!out->has_value()) return std::optional<std::vector<std::string>>();
            text = std::move(**out);
        }
        values.push_back(std::move(text));
    }
    return std::optional(std::move(values));
}

}  // namespace bpfvm::observe
