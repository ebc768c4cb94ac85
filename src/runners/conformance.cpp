// The conformance-suite runner (conformance.hpp): `.data` parsing and one run per test through the
// facade. Section semantics follow the suite's own files: `-- c` and `-- no register offset` carry
// notes for other tools and are ignored; any other unknown directive makes the file a test error.
#include "bpfvm/runners/conformance.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "bpfvm/asm.hpp"

namespace bpfvm {
namespace {

constexpr uintmax_t kMaxFileBytes = 16u << 20;

enum class Section { None, Asm, Raw, Mem, Result, Error, Ignored };

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

Error file_error(uint32_t line, const std::string& message) {
    return make_error(ErrorCode::kMalformed, "line " + std::to_string(line) + ": " + message);
}

std::optional<Section> section_of(std::string_view directive) {
    if (directive == "asm") return Section::Asm;
    if (directive == "raw") return Section::Raw;
    if (directive == "mem") return Section::Mem;
    if (directive == "result") return Section::Result;
    if (directive == "error") return Section::Error;
    if (directive == "c" || directive == "no register offset") return Section::Ignored;
    return std::nullopt;
}

bool parse_hex_digits(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 16) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return ec == std::errc() && end == s.data() + s.size();
}

/// One `-- raw` line: "0x5566778800000018" is a slot (a little-endian 64-bit word); two-digit tokens are bytes.
Status parse_raw_line(std::string_view text, uint32_t line, std::vector<uint8_t>& bytes) {
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ' || text[i] == '\t') {
            ++i;
            continue;
        }
        const size_t end = std::min(text.find_first_of(" \t", i), text.size());
        const std::string_view token = text.substr(i, end - i);
        i = end;
        uint64_t value = 0;
        if (token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X')) {
            if (!parse_hex_digits(token.substr(2), value))
                return file_error(line, "-- raw: invalid 64-bit instruction word '" + std::string(token) + "'");
            for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<uint8_t>(value >> (8 * b)));
        } else if (token.size() <= 2 && parse_hex_digits(token, value)) {
            bytes.push_back(static_cast<uint8_t>(value));
        } else {
            return file_error(line, "-- raw: invalid token '" + std::string(token) +
                                        "' (expected hex bytes like 'b7' or slot words like '0x00000001000000b7')");
        }
    }
    return {};
}

Result<uint64_t> parse_result_value(std::string_view text, uint32_t line) {
    uint64_t value = 0;
    const char* b = text.data();
    const char* e = b + text.size();
    std::from_chars_result r{};
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        r = std::from_chars(b + 2, e, value, 16);
    } else {
        r = std::from_chars(b, e, value, 10);
    }
    if (r.ec != std::errc() || r.ptr != e || text.empty())
        return file_error(line, "-- result: invalid value '" + std::string(text) + "' (expected 0x... or a decimal number)");
    return value;
}

/// Maps a slot index of the program to a printable description for mismatch messages.
std::string slot_hex(const RawInsn& raw) {
    char buf[40];
    uint8_t bytes[8];
    std::memcpy(bytes, &raw, 8);
    std::snprintf(buf, sizeof buf, "%02x %02x %02x %02x %02x %02x %02x %02x", bytes[0], bytes[1], bytes[2], bytes[3],
                  bytes[4], bytes[5], bytes[6], bytes[7]);
    return buf;
}

uint64_t conformance_helper_5(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return r1; }

}  // namespace

Result<ConformanceTest> parse_conformance_test(std::string_view text, std::string name) {
    ConformanceTest test;
    test.name = std::move(name);
    Section section = Section::None;
    std::string asm_text;
    std::vector<uint8_t> raw_bytes;
    uint32_t raw_line = 0;
    std::vector<std::string> error_lines;
    uint32_t line = 0;
    while (!text.empty()) {
        ++line;
        const size_t eol = text.find('\n');
        std::string_view src = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (const size_t hash = src.find('#'); hash != std::string_view::npos) src = src.substr(0, hash);
        src = trim(src);
        // The assembler sees every file line from the top (blank outside `-- asm`), so its errors
        // name file lines.
        const bool directive = src.substr(0, 2) == "--";
        asm_text += (section == Section::Asm && !directive) ? std::string(src) + "\n" : std::string("\n");
        if (directive) {
            const auto next = section_of(trim(src.substr(2)));
            if (!next) return file_error(line, "unknown directive '" + std::string(src) + "'");
            section = *next;
            if (section == Section::Asm) test.has_asm = true;
            if (section == Section::Raw) test.has_raw = true, raw_line = line;
            if (section == Section::Error) test.error.emplace();
            continue;
        }
        if (src.empty()) continue;
        switch (section) {
            case Section::Raw: BPFVM_TRY(parse_raw_line(src, line, raw_bytes)); break;
            case Section::Mem: {
                auto bytes = parse_hex_bytes(src);
                if (!bytes) return file_error(line, "-- mem: " + bytes.error().message);
                test.memory.insert(test.memory.end(), bytes->begin(), bytes->end());
                break;
            }
            case Section::Result: {
                if (test.result) return file_error(line, "-- result: more than one value");
                auto value = parse_result_value(src, line);
                if (!value) return value.error();
                test.result = *value;
                break;
            }
            case Section::Error: error_lines.emplace_back(src); break;
            case Section::None: return file_error(line, "text outside any section: '" + std::string(src) + "'");
            case Section::Asm:
            case Section::Ignored: break;
        }
    }
    if (test.error) {
        for (size_t i = 0; i < error_lines.size(); ++i) *test.error += (i ? "\n" : "") + error_lines[i];
    }
    std::vector<RawInsn> assembled;
    if (test.has_asm) {
        auto program = assemble(asm_text);
        if (!program) return program.error();
        assembled = std::move(*program);
    }
    if (test.has_raw) {
        if (raw_bytes.size() % sizeof(RawInsn) != 0)
            return file_error(raw_line, "-- raw: " + std::to_string(raw_bytes.size()) +
                                            " bytes is not a whole number of 8-byte instructions");
        test.program.resize(raw_bytes.size() / sizeof(RawInsn));
        if (!raw_bytes.empty()) std::memcpy(test.program.data(), raw_bytes.data(), raw_bytes.size());
        if (test.has_asm) {
            if (assembled.size() != test.program.size())
                return file_error(raw_line, "-- asm assembles to " + std::to_string(assembled.size()) +
                                                " instructions but -- raw has " + std::to_string(test.program.size()));
            for (size_t i = 0; i < assembled.size(); ++i)
                if (std::memcmp(&assembled[i], &test.program[i], sizeof(RawInsn)) != 0)
                    return file_error(raw_line, "-- asm and -- raw differ at slot " + std::to_string(i) + ": " +
                                                    slot_hex(assembled[i]) + " vs " + slot_hex(test.program[i]));
        }
    } else {
        test.program = std::move(assembled);
    }
    return test;
}

Result<ConformanceTest> load_conformance_test(const std::string& path) {
    auto text = read_input_file(path, kMaxFileBytes);
    if (!text) return text.error();
    auto test = parse_conformance_test(*text, std::filesystem::path(path).stem().string());
    if (!test) {
        Error e = test.error();
        e.where = path;
        return e;
    }
    return test;
}

Result<std::vector<std::string>> list_conformance_files(const std::string& dir) {
    std::error_code ec;
    std::vector<std::string> files;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) return make_error(ErrorCode::kIo, dir + ": " + ec.message());
    // Explicit increments with an error_code: the range-for form throws on a read error.
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (it->path().extension() == ".data" && it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    if (ec) return make_error(ErrorCode::kIo, dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

const HelperTable& conformance_helpers() {
    static const HelperTable table = [] {
        HelperTable t;
        t.set(5, conformance_helper_5);
        return t;
    }();
    return table;
}

Result<uint64_t> run_conformance_program(std::span<const RawInsn> program, std::span<const uint8_t> memory,
                                         EngineKind engine, const EngineOptions& options) {
    auto decoded = decode_program(program);
    if (!decoded) return decoded.error();
    auto exe = prepare(*decoded, engine, conformance_helpers(), options);
    if (!exe) return exe.error();
    std::vector<uint8_t> copy(memory.begin(), memory.end());
    RunContext ctx;
    const auto base = copy.empty() ? uint64_t{0} : reinterpret_cast<uint64_t>(copy.data());
    if (!copy.empty()) ctx.regions.push_back({base, base + copy.size(), true});
    const RunResult result = (*exe)->run(ctx, base, copy.size());
    if (!result.ok()) return make_error(ErrorCode::kRuntime, describe_trap(result.trap, ctx));
    return result.r0;
}

ConformanceReport run_conformance_test(const ConformanceTest& test, EngineKind engine) {
    ConformanceReport report{test.name, ConformanceOutcome::Fail, {}};
    const bool error_expected = test.error && !test.error->empty();
    if (test.error && test.error->empty() && !test.result) {
        report.outcome = ConformanceOutcome::Skip;
        report.reason = "empty -- error section and no -- result (nothing to check)";
        return report;
    }
    if (!test.result && !error_expected) {
        report.reason = "no -- result or -- error section";
        return report;
    }
    if (test.program.empty()) {
        report.reason = "no program (no instructions in -- asm or -- raw)";
        return report;
    }
    auto r0 = run_conformance_program(test.program, test.memory, engine);
    char buf[64];
    if (!r0) {
        if (error_expected) {
            report.outcome = ConformanceOutcome::Pass;
        } else {
            report.reason = r0.error().to_string();
        }
        return report;
    }
    if (error_expected) {
        std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(*r0));
        report.reason = "expected an error (" + *test.error + ") but the program returned " + buf;
        return report;
    }
    if (*r0 != *test.result) {
        std::snprintf(buf, sizeof buf, "r0 = 0x%llx, expected 0x%llx", static_cast<unsigned long long>(*r0),
                      static_cast<unsigned long long>(*test.result));
        report.reason = buf;
        return report;
    }
    report.outcome = ConformanceOutcome::Pass;
    return report;
}

ConformanceReport run_conformance_file(const std::string& path, EngineKind engine) {
    auto test = load_conformance_test(path);
    if (!test) {
        ConformanceReport report{std::filesystem::path(path).stem().string(), ConformanceOutcome::Fail, {}};
        report.reason = test.error().message;
        return report;
    }
    return run_conformance_test(*test, engine);
}

}  // namespace bpfvm
