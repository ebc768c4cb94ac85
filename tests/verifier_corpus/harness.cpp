// Shared pieces of the corpus harnesses: KNOWN_DIFFERENCES.md, sampling, fragment matching, and
// reading the two corpora.
#include "harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "loader/csv_util.hpp"

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

/// One fragment: literal text with `{{regex}}` parts, as the selftests' __msg writes them. The
/// regex parts match anything here (no fragment of this manifest has one; std::regex trips g++ 12
/// warnings under the sanitizers): the literal parts must appear in order.
bool matches_one(const std::string& text, const std::string& fragment) {
    size_t at = 0, pos = 0;
    while (pos <= fragment.size()) {
        const size_t open = fragment.find("{{", pos);
        const std::string literal = fragment.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
        if (!literal.empty()) {
            at = text.find(literal, at);
            if (at == std::string::npos) return false;
            at += literal.size();
        }
        if (open == std::string::npos) break;
        const size_t close = fragment.find("}}", open + 2);
        if (close == std::string::npos) return false;  // malformed: never matches
        pos = close + 2;
    }
    return true;
}

/// The index N of a verifier log line "N: (op) ..." (an instruction), nullopt for other lines.
std::optional<uint32_t> insn_line(const std::string& line) {
    size_t i = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    if (i == 0 || i > 9 || line.compare(i, 3, ": (") != 0) return std::nullopt;
    return static_cast<uint32_t>(std::stoul(line.substr(0, i)));
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
    while (std::getline(in, line)) {
        if (auto n = insn_line(line)) last = n;
    }
    return last;
}

std::string kernel_error_text(const std::string& log_tail) {
    std::string out;
    std::istringstream in(log_tail);
    std::string line;
    while (std::getline(in, line)) {
        if (insn_line(line)) {
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

// ---------------------------------------------------------------------------------------------
// ebpf-samples

std::string samples_root() { return std::string(BPFVM_SHARED_DIR) + "/corpus/ebpf-samples"; }

std::vector<SampleRow> read_sample_rows() {
    std::vector<SampleRow> rows;
    std::ifstream in(samples_root() + "/EXPECTED_VERDICTS_prevail_c80c76ff.csv");
    std::string line;
    std::getline(in, line);  // header: project,object,section,program,programs_in_section,expected,...
    while (std::getline(in, line)) {
        const auto f = testing::split_csv(line);
        if (f.size() < 6) continue;
        rows.push_back({f[0], f[1], f[2], f[3], f[5]});
    }
    return rows;
}

SampleTypes SampleTypes::load() {
    SampleTypes t;
    std::ifstream in(std::string(BPFVM_SOURCE_DIR) + "/tests/verifier_corpus/corpus_types.txt");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string key, value;
        fields >> key >> value;
        if (!value.empty()) t.entries_[key] = value;
    }
    return t;
}

VerifyOptions SampleTypes::options_for(const SampleRow& row) const {
    VerifyOptions o;
    if (auto t = entries_.find(row.key()); t != entries_.end()) o.type = program_type_by_name(t->second);
    else if (auto a = entries_.find(row.object_key() + ":*"); a != entries_.end()) o.type = program_type_by_name(a->second);
    if (auto l = entries_.find(row.object_key() + ":license"); l != entries_.end()) o.license = l->second;
    return o;
}

std::optional<ProgramType> SampleTypes::type_for(const SampleRow& row, const ProgramSpec& program) const {
    if (auto t = entries_.find(row.object_key() + ":" + program.section); t != entries_.end())
        return program_type_by_name(t->second);
    if (program.type != ProgramType::Unspec) return std::nullopt;
    if (auto a = entries_.find(row.object_key() + ":*"); a != entries_.end()) return program_type_by_name(a->second);
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Kernel selftests

std::string selftests_root() { return std::string(BPFVM_SHARED_DIR) + "/corpus/kernel-selftests"; }

bool SelftestRow::has_flag(std::string_view flag) const {
    // Exact tokens: "!BPF_F_STRICT_ALIGNMENT" (cleared) is not BPF_F_STRICT_ALIGNMENT.
    size_t start = 0;
    while (start <= flags.size()) {
        size_t end = flags.find_first_of(";, ", start);
        if (end == std::string::npos) end = flags.size();
        if (std::string_view(flags).substr(start, end - start) == flag) return true;
        start = end + 1;
    }
    return false;
}

std::string SelftestRow::btf_path() const {
    const size_t at = flags.find("btf_path=");
    if (at == std::string::npos) return "";
    const size_t start = at + 9;
    return flags.substr(start, flags.find_first_of(";, ", start) - start);
}

std::vector<SelftestRow> read_selftest_rows() {
    std::vector<SelftestRow> rows;
    std::ifstream in(selftests_root() + "/manifest.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        auto text = [&](const char* key) {
            auto it = j.find(key);
            return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        rows.push_back({text("file"), text("program"), text("object"), text("flags"), text("kernel_priv"),
                        text("expect_unpriv"), text("msg"), text("msg_unpriv"), text("kernel_log_tail")});
    }
    return rows;
}

VerifyOptions selftest_options(const SelftestRow& row, Mode mode) {
    VerifyOptions o;
    o.privileged = mode == Mode::Privileged;
    o.reg_invariants = true;
    o.strict_alignment = row.has_flag("BPF_F_STRICT_ALIGNMENT");
    o.any_alignment = row.has_flag("BPF_F_ANY_ALIGNMENT");
    o.test_state_freq = row.has_flag("BPF_F_TEST_STATE_FREQ");
    return o;
}

const ObjectFile* SelftestObjects::get(const SelftestRow& row, std::string& error) {
    const std::string btf = row.btf_path();
    const std::string id = row.object + "|" + btf;
    auto it = cache_.find(id);
    if (it == cache_.end()) {
        LoadOptions lo = object_load_defaults();
        if (!btf.empty()) lo.target_btf_path = selftests_root() + "/objects/" + btf;
        it = cache_.emplace(id, load_object(selftests_root() + "/" + row.object, lo)).first;
    }
    if (!it->second) {
        error = it->second.error().to_string();
        return nullptr;
    }
    return &*it->second;
}

}  // namespace bpfvm::corpus
