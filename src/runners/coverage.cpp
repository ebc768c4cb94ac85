// Source coverage (include/bpfvm/runners/coverage.hpp). The interpreter counts only block entries
// and jump outcomes; execution counts of every instruction follow from them: control reaches an
// instruction either by an entry recorded there or by falling through from the previous one
// (which passes on its own count minus the runs that stopped at it).
#include "bpfvm/runners/coverage.hpp"

#include <algorithm>
#include <cstdio>

namespace bpfvm {
namespace {

/// True when control continues from `insn` to the next instruction by itself (not counted as an
/// entry): everything but jumps, exits and local calls (whose return is counted by the callee's exit).
bool falls_through(const Insn& insn) {
    switch (op_info(insn.op).form) {
        case Form::Ja:
        case Form::Gotol:
        case Form::JmpImm:
        case Form::JmpReg:
        case Form::MayGoto:
        case Form::Exit:
        case Form::CallLocal:
            return false;
        default:
            return true;
    }
}

std::string percent(uint64_t hit, uint64_t found) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", found == 0 ? 100.0 : 100.0 * double(hit) / double(found));
    return buf;
}

}  // namespace

std::vector<uint64_t> instruction_counts(const Program& program, const CoverageCounters& counters) {
    const size_t n = program.insns.size();
    std::vector<uint64_t> stops(n, 0);
    for (uint32_t s : counters.stops)
        if (s < n) ++stops[s];
    std::vector<uint64_t> count(n, 0);
    for (size_t i = 0; i < n; ++i) {
        count[i] = i < counters.entries.size() ? counters.entries[i] : 0;
        if (i > 0 && falls_through(program.insns[i - 1])) {
            const uint64_t through = count[i - 1] >= stops[i - 1] ? count[i - 1] - stops[i - 1] : 0;
            count[i] += through;
        }
    }
    return count;
}

CoverageReport coverage_report(const Object& object, const std::map<std::string, CoverageCounters>& counts) {
    CoverageReport report;
    static const CoverageCounters kNone;
    for (const ProgramSpec& spec : object.file().programs) {
        if (spec.error || spec.lines.empty()) continue;
        const auto it = counts.find(spec.name);
        const CoverageCounters& c = it == counts.end() ? kNone : it->second;
        const std::vector<uint64_t> hits = instruction_counts(spec.program, c);
        // Lines: line info marks where a source line's code starts (one entry per line and column).
        // A run of consecutive entries of one line is one visit, counted as the most any of its
        // entry points ran (columns of one statement run equally often, a loop re-enters mid-line);
        // visits add up, so a function inlined at several call sites counts each call.
        std::map<std::pair<std::string, uint32_t>, uint64_t> line_hits;
        std::pair<std::string, uint32_t> visit_key{"", 0};
        uint64_t visit = 0;
        auto close_visit = [&] {
            if (visit_key.second != 0) line_hits[visit_key] += visit;
            visit = 0;
        };
        for (const LineEntry& entry : spec.lines) {
            if (entry.line_index >= spec.line_table.size() || entry.pc >= spec.program.slot_to_index.size()) continue;
            const SourceLine& line = spec.line_table[entry.line_index];
            const std::pair<std::string, uint32_t> key{line.file, line.line};  // line 0: code the compiler made up
            if (key != visit_key) {
                close_visit();
                visit_key = key;
            }
            visit = std::max(visit, hits[spec.program.index_of(entry.pc)]);
        }
        close_visit();
        // Branches: each program's conditional jumps per line, in order.
        std::map<std::pair<std::string, uint32_t>, std::vector<BranchCount>> line_branches;
        for (size_t i = 0; i < spec.program.insns.size(); ++i) {
            const Insn& insn = spec.program.insns[i];
            const auto line = spec.line_for(insn.pc);
            if (!line || line->line == 0) continue;
            const auto key = std::make_pair(line->file, line->line);
            if (is_conditional_jump(insn.op)) {
                auto& list = line_branches[key];
                BranchCount b;
                b.block = static_cast<uint32_t>(list.size());
                b.reached = hits[i] > 0;
                if (2 * i + 1 < c.branches.size()) {
                    b.fell_through = c.branches[2 * i];
                    b.jumped = c.branches[2 * i + 1];
                }
                list.push_back(b);
            }
        }
        for (const auto& [key, h] : line_hits) report.files[key.first].lines[key.second] += h;
        for (const auto& [key, list] : line_branches) {
            auto& into = report.files[key.first].branches[key.second];
            for (const BranchCount& b : list) {
                if (b.block < into.size()) {
                    into[b.block].fell_through += b.fell_through;
                    into[b.block].jumped += b.jumped;
                    into[b.block].reached = into[b.block].reached || b.reached;
                } else {
                    into.push_back(b);
                }
            }
        }
    }
    return report;
}

uint64_t CoverageReport::lines_found() const {
    uint64_t n = 0;
    for (const auto& [file, f] : files) n += f.lines.size();
    return n;
}

uint64_t CoverageReport::lines_hit() const {
    uint64_t n = 0;
    for (const auto& [file, f] : files)
        for (const auto& [line, hits] : f.lines) n += hits > 0 ? 1 : 0;
    return n;
}

uint64_t CoverageReport::branches_found() const {
    uint64_t n = 0;
    for (const auto& [file, f] : files)
        for (const auto& [line, list] : f.branches) n += 2 * list.size();
    return n;
}

uint64_t CoverageReport::branches_hit() const {
    uint64_t n = 0;
    for (const auto& [file, f] : files)
        for (const auto& [line, list] : f.branches)
            for (const auto& b : list) n += (b.fell_through > 0 ? 1 : 0) + (b.jumped > 0 ? 1 : 0);
    return n;
}

std::string CoverageReport::summary() const {
    return "lines: " + percent(lines_hit(), lines_found()) + " (" + std::to_string(lines_hit()) + "/" +
           std::to_string(lines_found()) + "), branches: " + percent(branches_hit(), branches_found()) + " (" +
           std::to_string(branches_hit()) + "/" + std::to_string(branches_found()) + ")";
}

std::string to_lcov(const CoverageReport& report, const std::string& test_name) {
    std::string out;
    for (const auto& [file, f] : report.files) {
        out += "TN:" + test_name + "\n";
        out += "SF:" + file + "\n";
        uint64_t brf = 0, brh = 0, lh = 0;
        for (const auto& [line, list] : f.branches) {
            for (const BranchCount& b : list) {
                // lcov: "-" when the jump never ran, else the count of each way.
                const std::string prefix = "BRDA:" + std::to_string(line) + "," + std::to_string(b.block) + ",";
                out += prefix + "0," + (b.reached ? std::to_string(b.fell_through) : "-") + "\n";
                out += prefix + "1," + (b.reached ? std::to_string(b.jumped) : "-") + "\n";
                brf += 2;
                brh += (b.fell_through > 0 ? 1 : 0) + (b.jumped > 0 ? 1 : 0);
            }
        }
        for (const auto& [line, hits] : f.lines) {
            out += "DA:" + std::to_string(line) + "," + std::to_string(hits) + "\n";
            lh += hits > 0 ? 1 : 0;
        }
        out += "LF:" + std::to_string(f.lines.size()) + "\nLH:" + std::to_string(lh) + "\n";
        out += "BRF:" + std::to_string(brf) + "\nBRH:" + std::to_string(brh) + "\n";
        out += "end_of_record\n";
    }
    return out;
}

}  // namespace bpfvm
