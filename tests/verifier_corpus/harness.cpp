// Shared pieces of the corpus harnesses: KNOWN_DIFFERENCES.md, sampling, fragment matching.
#include "harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace bpfvm::corpus {
namespace {

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
    return std::string(s.substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, std::string_view sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        const size_t at = s.find(sep, start);
        out.push_back(std::string(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start)));
        if (at == std::string_view::npos) break;
        start = at + sep.size();
    }
    return out;
}

/// Escapes `s` for use as a literal inside an ECMAScript regular expression.
std::string regex_escape(std::string_view s) {
    static const std::string kSpecial = R"(\^$.|?*+()[]{}/-)";
    std::string out;
    for (char c : s) {
        if (kSpecial.find(c) != std::string::npos) out += '\\';
        out += c;
    }
    return out;
}

/// One fragment: literal text with `{{regex}}` parts, as the selftests' __msg writes them.
bool matches_one(const std::string& text, const std::string& fragment) {
    if (fragment.find("{{") == std::string::npos) return text.find(fragment) != std::string::npos;
    std::string pattern;
    size_t pos = 0;
    while (pos < fragment.size()) {
        const size_t open = fragment.find("{{", pos);
        if (open == std::string::npos) {
            pattern += regex_escape(std::string_view(fragment).substr(pos));
            break;
        }
        const size_t close = fragment.find("}}", open + 2);
        if (close == std::string::npos) return false;  // malformed: never matches
        pattern += regex_escape(std::string_view(fragment).substr(pos, open - pos));
        pattern += "(?:" + fragment.substr(open + 2, close - open - 2) + ")";
        pos = close + 2;
    }
    try {
        return std::regex_search(text, std::regex(pattern));
    } catch (const std::regex_error&) {
        return false;  // a POSIX-only construct ECMAScript rejects: count as no match
    }
}

}  // namespace

std::string mode_name(Mode mode) { return mode == Mode::Privileged ? "privileged" : "unprivileged"; }

std::string verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Accept: return "accept";
        case Verdict::Reject: return "reject";
        case Verdict::NotVerified: return "not_verified";
    }
    return "?";
}

std::string known_differences_path() { return std::string(BPFVM_SOURCE_DIR) + "/tests/verifier/KNOWN_DIFFERENCES.md"; }

Result<std::map<std::string, KnownDifference>> read_known_differences(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error(ErrorCode::kIo, path + ": cannot read");
    std::map<std::string, KnownDifference> out;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.starts_with("### ")) continue;
        auto bad = [&](const std::string& why) {
            return make_error(ErrorCode::kMalformed, path + ":" + std::to_string(number) + ": " + why + ": " + line);
        };
        // ### <kind> <key> (<mode>: <verdict>, ...)
        const std::string body = trim(std::string_view(line).substr(4));
        const size_t space = body.find(' ');
        const size_t open = body.rfind('(');
        if (space == std::string::npos || open == std::string::npos || open < space || body.back() != ')')
            return bad("expected '### <kind> <key> (<mode>: <verdict>, ...)'");
        KnownDifference d;
        d.kind = body.substr(0, space);
        d.key = trim(std::string_view(body).substr(space + 1, open - space - 1));
        if (d.kind != "selftest" && d.kind != "corpus" && d.kind != "table") return bad("unknown kind '" + d.kind + "'");
        for (const std::string& item : split(std::string_view(body).substr(open + 1, body.size() - open - 2), ",")) {
            const auto parts = split(item, ":");
            if (parts.size() != 2) return bad("expected '<mode>: <verdict>'");
            const std::string m = trim(parts[0]), v = trim(parts[1]);
            Mode mode;
            if (m == "privileged") mode = Mode::Privileged;
            else if (m == "unprivileged") mode = Mode::Unprivileged;
            else return bad("unknown mode '" + m + "'");
            if (v != "accept" && v != "reject") return bad("verdict must be accept or reject, not '" + v + "'");
            d.kernel[mode] = v == "accept" ? Verdict::Accept : Verdict::Reject;
        }
        const std::string id = d.kind + " " + d.key;
        if (out.count(id)) return bad("listed twice");
        out.emplace(id, std::move(d));
    }
    return out;
}

std::optional<size_t> sample_size() {
    const char* env = std::getenv("BPFVM_VERIFY_SAMPLE");
    if (env == nullptr || *env == '\0') return std::nullopt;
    const long n = std::strtol(env, nullptr, 10);
    if (n <= 0) return std::nullopt;
    return static_cast<size_t>(n);
}

bool in_sample(size_t i, size_t total, std::optional<size_t> sample) {
    if (!sample || *sample >= total) return true;
    // Evenly spread: index i is taken when it is the first of its stride.
    const size_t stride = (total + *sample - 1) / *sample;
    return i % stride == 0;
}

bool matches_fragment(const std::string& text, const std::string& fragments) {
    for (const std::string& raw : split(fragments, " | ")) {
        const std::string f = trim(raw);
        if (f.empty() || f.starts_with("NOT:")) continue;
        if (matches_one(text, f)) return true;
    }
    return false;
}

std::optional<uint32_t> kernel_failing_insn(const std::string& log_tail) {
    std::optional<uint32_t> last;
    std::istringstream in(log_tail);
    std::string line;
    static const std::regex kInsn(R"(^(\d+): \()");
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_search(line, m, kInsn)) last = static_cast<uint32_t>(std::stoul(m[1].str()));
    }
    return last;
}

std::string kernel_error_text(const std::string& log_tail) {
    std::string out;
    std::istringstream in(log_tail);
    std::string line;
    static const std::regex kInsn(R"(^\d+: \()");
    while (std::getline(in, line)) {
        if (std::regex_search(line, kInsn)) {
            out.clear();
        } else if (!line.starts_with("processed ")) {
            out += line + "\n";
        }
    }
    return out;
}

std::string write_build_file(const std::string& name, const std::vector<std::string>& lines) {
    const std::string path = std::string(BPFVM_BINARY_DIR) + "/" + name;
    std::ofstream out(path);
    for (const std::string& l : lines) out << l << '\n';
    return path;
}

double ratio(size_t n, size_t d) { return d == 0 ? 1.0 : static_cast<double>(n) / static_cast<double>(d); }

std::string rate(const std::string& label, size_t n, size_t d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%zu/%zu = %.1f%%", n, d, 100.0 * ratio(n, d));
    return label + ": " + buf;
}

}  // namespace bpfvm::corpus
