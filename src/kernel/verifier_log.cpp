// Reading the kernel verifier's log of a rejected program: where it stopped and why. With
// log_level 1 the verifier prints each instruction it walks as "N: (op) text", register states as
// "N: R1=..." or "from A to B: ...", and ends with the reason followed by a statistics line
// ("processed N insns ..."). The last instruction line is the one it refused.
#include <cctype>
#include <string>
#include <vector>

#include "bpfvm/kernel.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {
namespace {

std::vector<std::string> split_lines(const std::string& log) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < log.size()) {
        size_t nl = log.find('\n', pos);
        if (nl == std::string::npos) nl = log.size();
        if (nl > pos) lines.push_back(log.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

/// "12: (bf) r1 = r2" -> 12. Register-state lines ("12: R1=ctx()") have no "(op)" and do not count.
std::optional<uint32_t> instruction_index(const std::string& line) {
    size_t i = 0;
    uint64_t value = 0;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])) && i < 9)
        value = value * 10 + static_cast<uint64_t>(line[i++] - '0');
    if (i == 0 || line.compare(i, 3, ": (") != 0) return std::nullopt;
    if (i + 6 > line.size() || line[i + 5] != ')') return std::nullopt;
    return static_cast<uint32_t>(value);
}

bool is_bookkeeping(const std::string& line) {
    static const char* const kPrefixes[] = {"processed ", "; ", "from ", "verification time", "stack depth",
                                             "mark_precise", "last_idx", "regs=", "parent ", "func#", "Live regs",
                                             "Validating ", "Func#"};
    for (const char* p : kPrefixes)
        if (line.rfind(p, 0) == 0) return true;
    // "12: R1=..." state lines and "12: safe".
    size_t i = 0;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    return i > 0 && line.compare(i, 2, ": ") == 0;
}

}  // namespace

namespace detail {

std::string log_tail(const std::string& log, uint32_t lines) {
    const std::vector<std::string> kept = split_lines(log);
    const size_t first = kept.size() > lines ? kept.size() - lines : 0;
    std::string out;
    for (size_t i = first; i < kept.size(); ++i) out += (out.empty() ? "" : "\n") + kept[i];
    return out;
}

}  // namespace detail

VerifierVerdict summarize_verifier_log(const std::string& log) {
    VerifierVerdict verdict;
    const std::vector<std::string> lines = split_lines(log);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        if (!verdict.pc) {
            if (auto pc = instruction_index(*it)) {
                verdict.pc = pc;
                break;
            }
        }
        if (verdict.reason.empty() && !is_bookkeeping(*it) && !instruction_index(*it)) verdict.reason = *it;
    }
    return verdict;
}

}  // namespace bpfvm::kernel
