// `bpfvm test --coverage`: line and branch counts of examples/xdp_firewall over its six spec cases,
// against counts worked out by hand from the program's paths; the lcov tracefile genhtml accepts.
//
// Hand count (bpfvm disasm build/examples/xdp_firewall.bpf.o shows the line info). The cases:
// UDP (1), TCP SYN (2), SYN+FIN+URG with payload (3) and without (4), with IP options (5), the
// planted bug (6). Every run executes lines 41, 42 (ctx loads), 45 and 48 (both checks start),
// one inlined copy of verdict() (lines 32, 33) and the exit (62): 6 each. Line 51 (TCP header
// bound) runs for the TCP cases 2, 3, 4, 6: 4; so do 54 and 55 (flags). Line 59 (payload check)
// runs for 3, 4, 6: 3. Line 34 (the increment) has its own line entry only in the copy after the
// drop path (cases 3 and 4): 2; the copy shared by the other paths is attributed to line 33.
// Branches: 15 conditional jumps, 30 outcomes, 18 taken at least once (listed in kBranches).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "bpfvm/io.hpp"
#include "bpfvm/runners/coverage.hpp"
#include "bpfvm/runners/spec.hpp"

namespace bpfvm {
namespace {

const std::string kSpec = std::string(BPFVM_BINARY_DIR) + "/examples/xdp_firewall.test.json";
const std::string kSource = std::string(BPFVM_SOURCE_DIR) + "/examples/xdp_firewall.bpf.c";

Result<SpecReport> run_with_coverage() {
    SpecOptions options;
    options.coverage = true;
    return run_spec_file(kSpec, options);
}

TEST(Coverage, XdpFirewallLinesAndBranchesAsCountedByHand) {
    auto report = run_with_coverage();
    ASSERT_TRUE(report) << report.error().to_string();
    EXPECT_EQ(report->failed(), 0u);
    ASSERT_TRUE(report->coverage);
    const CoverageReport& c = *report->coverage;
    ASSERT_EQ(c.files.size(), 1u);
    ASSERT_TRUE(c.files.count(kSource)) << c.files.begin()->first;
    const FileCoverage& f = c.files.at(kSource);
    const std::map<uint32_t, uint64_t> lines = {{32, 6}, {33, 6}, {34, 2}, {41, 6}, {42, 6}, {45, 6},
                                                {48, 6}, {51, 4}, {54, 4}, {55, 4}, {59, 3}, {62, 6}};
    EXPECT_EQ(f.lines, lines);
    // line -> (fell through, jumped) per conditional jump, "-" (never reached) as {-1, -1}.
    const std::map<uint32_t, std::vector<std::pair<int64_t, int64_t>>> kBranches = {
        {33, {{-1, -1}, {2, 0}, {-1, -1}, {1, 0}, {1, 0}, {2, 0}}},  // if (count), one per inlined copy
        {45, {{6, 0}, {0, 6}}},                                     // eth bound, h_proto
        {48, {{6, 0}, {5, 1}, {1, 4}}},                             // ip bound, ihl, protocol
        {51, {{0, 4}}},                                             // tcp bound (compiled as data_end >= end)
        {55, {{1, 3}}},                                             // flags == SYN|FIN|URG
        {59, {{2, 1}, {1, 1}}},                                     // payload bound, magic value
    };
    ASSERT_EQ(f.branches.size(), kBranches.size());
    for (const auto& [line, want] : kBranches) {
        ASSERT_TRUE(f.branches.count(line)) << line;
        const auto& got = f.branches.at(line);
        ASSERT_EQ(got.size(), want.size()) << line;
        for (size_t i = 0; i < want.size(); ++i) {
            EXPECT_EQ(got[i].reached, want[i].first >= 0) << "line " << line << " jump " << i;
            if (want[i].first < 0) continue;
            EXPECT_EQ(got[i].fell_through, static_cast<uint64_t>(want[i].first)) << "line " << line << " jump " << i;
            EXPECT_EQ(got[i].jumped, static_cast<uint64_t>(want[i].second)) << "line " << line << " jump " << i;
        }
    }
    EXPECT_EQ(c.lines_found(), 12u);
    EXPECT_EQ(c.lines_hit(), 12u);
    EXPECT_EQ(c.branches_found(), 30u);
    EXPECT_EQ(c.branches_hit(), 18u);
    EXPECT_EQ(c.summary(), "lines: 100.0% (12/12), branches: 60.0% (18/30)");
}

TEST(Coverage, TracefileInLcovFormat) {
    auto report = run_with_coverage();
    ASSERT_TRUE(report && report->coverage);
    const std::string info = to_lcov(*report->coverage, "bpfvm");
    EXPECT_EQ(info.rfind("TN:bpfvm\nSF:" + kSource + "\nBRDA:33,0,0,-\nBRDA:33,0,1,-\nBRDA:33,1,0,2\n", 0), 0u) << info;
    EXPECT_NE(info.find("\nDA:59,3\n"), std::string::npos);
    EXPECT_NE(info.find("\nLF:12\nLH:12\nBRF:30\nBRH:18\nend_of_record\n"), std::string::npos) << info;
}

// genhtml (Debian package lcov; bpfvm.sh installs it) reads the tracefile like any C project's.
TEST(Coverage, GenhtmlAcceptsTheTracefile) {
    if (std::system("command -v genhtml >/dev/null 2>&1") != 0) GTEST_SKIP() << "genhtml not installed (apt-get install lcov)";
    auto report = run_with_coverage();
    ASSERT_TRUE(report && report->coverage);
    const auto dir = std::filesystem::temp_directory_path() / ("bpfvm-coverage-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string info = (dir / "xdp.info").string();
    ASSERT_TRUE(write_output_file(info, to_lcov(*report->coverage, "bpfvm")));
    const std::string cmd = "genhtml --branch-coverage -q -o " + (dir / "html").string() + " " + info + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_TRUE(std::filesystem::exists(dir / "html" / "index.html"));
    std::filesystem::remove_all(dir);
}

// Counts of single instructions from block entries: a stop inside a block (trap, tail call)
// keeps the rest of the block from counting.
TEST(Coverage, InstructionCountsFromEntriesAndStops) {
    Program p;
    for (Op op : {Op::Mov64Imm, Op::Mov64Imm, Op::Jeq64Imm, Op::Mov64Imm, Op::Exit}) {
        Insn insn;
        insn.op = op;
        insn.pc = static_cast<uint32_t>(p.insns.size());
        p.insns.push_back(insn);
    }
    CoverageCounters c;
    c.ensure(p.insns.size());
    c.entries[0] = 5;  // five runs
    c.stops = {1};     // one stopped at instruction 1 (a trap), so the jump at 2 ran four times:
    c.entries[3] = 3;  // it fell through three times...
    c.entries[4] = 1;  // ...and jumped to the exit once
    EXPECT_EQ(instruction_counts(p, c), (std::vector<uint64_t>{5, 5, 4, 3, 4}));
}

}  // namespace
}  // namespace bpfvm
