// `bpfvm fuzz` finds the planted bug of examples/xdp_firewall (XDP_ABORTED only for a TCP segment
// with SYN+FIN+URG and 0x1badf00d at payload offset 4) from an all-zero frame, with a fixed seed
// and an execution budget (never a time limit), and the spec it writes replays the bug through
// `bpfvm test`. Also: determinism, and the other finding kinds (fault, budget).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "bpfvm/io.hpp"
#include "bpfvm/runners/fuzz.hpp"
#include "bpfvm/runners/spec.hpp"
#include "hostile/elf_builder.hpp"
#include "hostile/run_cli.hpp"

namespace bpfvm {
namespace {

const std::string kFirewall = std::string(BPFVM_BINARY_DIR) + "/examples/xdp_firewall.bpf.o";
// Executions with room to spare: seed 1 finds the bug at execution 20311 (seeds 1-12: 2474 to 350512).
constexpr uint64_t kBudget = 200'000;

FuzzOptions firewall_options() {
    FuzzOptions o;
    o.program = "xdp_firewall";
    o.seed = 1;
    o.max_execs = kBudget;
    o.fail_retval = 0;
    o.fail_retval_name = "XDP_ABORTED";
    return o;
}

TEST(FuzzCommand, FindsThePlantedBugAndTheSpecReplaysIt) {
    auto obj = Object::open(kFirewall);
    ASSERT_TRUE(obj) << obj.error().to_string();
    const FuzzOptions o = firewall_options();
    auto r = fuzz_program(*obj, o);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->findings.size(), 1u) << r->stats.execs << " executions";
    const FuzzFinding& f = r->findings[0];
    EXPECT_EQ(f.kind, FindingKind::Retval);
    EXPECT_EQ(f.message, "retval 0 (XDP_ABORTED)");
    std::printf("planted bug found at execution %llu of %llu (corpus %zu, edges %llu/%llu)\n",
                static_cast<unsigned long long>(f.exec), static_cast<unsigned long long>(r->stats.execs),
                r->stats.corpus, static_cast<unsigned long long>(r->stats.edges),
                static_cast<unsigned long long>(r->stats.edges_total));
    // The packet the fuzzer built is exactly the rare one.
    const auto& p = f.input.data;
    ASSERT_GE(p.size(), 62u);
    EXPECT_EQ(p[12], 0x08);
    EXPECT_EQ(p[13], 0x00);
    EXPECT_EQ(p[14] & 0x0f, 5);
    EXPECT_EQ(p[23], 6);
    EXPECT_EQ(p[47] & 0x3f, 0x23);
    EXPECT_EQ(to_hex(std::span<const uint8_t>(p.data() + 58, 4)), "1badf00d");

    // The same seed and budget give the same run.
    auto again = Object::open(kFirewall);
    ASSERT_TRUE(again);
    auto r2 = fuzz_program(*again, o);
    ASSERT_TRUE(r2);
    ASSERT_EQ(r2->findings.size(), 1u);
    EXPECT_EQ(r2->findings[0].exec, f.exec);
    EXPECT_EQ(r2->findings[0].input.data, f.input.data);

    // The findings spec fails while the bug is there.
    const std::string spec = findings_spec(*r, *obj, kFirewall, o);
    auto report = run_spec_text(spec, "findings.json");
    ASSERT_TRUE(report) << report.error().to_string();
    ASSERT_EQ(report->cases.size(), 1u);
    EXPECT_FALSE(report->cases[0].passed);
    ASSERT_EQ(report->cases[0].failures.size(), 1u);
    EXPECT_EQ(report->cases[0].failures[0], "expected any retval but 0, got 0");
}

TEST(FuzzCommand, CliWritesASpecThatBpfvmTestReplays) {
    hostile::TempDir dir;
    const std::string out = dir.path() + "/found.test.json";
    auto fuzz = hostile::run_bpfvm({"fuzz", kFirewall, "--program", "xdp_firewall", "--seed", "1", "--runs",
                                    std::to_string(kBudget), "--fail-on-retval", "XDP_ABORTED", "--output", out});
    ASSERT_EQ(fuzz.signal, 0) << fuzz.err;
    ASSERT_EQ(fuzz.exit_code, 1) << fuzz.out << fuzz.err;
    EXPECT_NE(fuzz.out.find("finding at execution"), std::string::npos) << fuzz.out;
    auto replay = hostile::run_bpfvm({"test", out});
    EXPECT_EQ(replay.exit_code, 1) << replay.out << replay.err;
    EXPECT_EQ(replay.out,
              "FAIL finding 1: retval 0 (XDP_ABORTED): expected any retval but 0, got 0\n0 passed, 1 failed\n");
}

TEST(FuzzCommand, NoFailureValueMeansNoFinding) {
    auto obj = Object::open(kFirewall);
    ASSERT_TRUE(obj);
    FuzzOptions o = firewall_options();
    o.fail_retval.reset();
    o.max_execs = 2000;
    auto r = fuzz_program(*obj, o);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->findings.empty());
    EXPECT_EQ(r->stats.execs, 2000u);
}

// A program in a section libbpf does not name (so r1 is the input memory) that loops forever when
// the first byte is 0x42 and reads far past its input when it is 0x43: both are findings, of their kind.
TEST(FuzzCommand, FaultsAndExhaustedBudgetsAreFindings) {
    hostile::ElfBuilder b;
    std::vector<uint8_t> code;
    for (uint64_t insn : {0x0000000000001071ull,    // r0 = *(u8 *)(r1 + 0)
                          0x0000004200020015ull,    // if r0 == 0x42 goto +2
                          0x0000004300030015ull,    // if r0 == 0x43 goto +3
                          0x0000000000000095ull,    // exit
                          0x00000000ffff0005ull,    // ja -1 (forever)
                          0x0000000000000095ull,    // exit
                          0x0000000010001079ull,    // r0 = *(u64 *)(r1 + 4096)
                          0x0000000000000095ull})   // exit
        hostile::put(code, insn, 8);
    const uint32_t sec = b.add_section("mystery", 1, 6, code);
    b.add_section("license", 1, 3, {'G', 'P', 'L', 0});
    b.add_symbol({"probe", 0, code.size(), 2, 1, sec});
    auto file = load_object_from_memory(b.build(), "mystery.o");
    ASSERT_TRUE(file) << file.error().to_string();
    auto obj = Object::from_file(std::move(*file));
    ASSERT_TRUE(obj);
    FuzzOptions o;
    o.program = "probe";
    o.max_execs = 20000;
    o.insn_budget = 1000;
    o.keep_going = true;
    auto r = fuzz_program(*obj, o);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->findings.size(), 2u);
    std::map<FindingKind, const FuzzFinding*> by_kind;
    for (const auto& f : r->findings) by_kind[f.kind] = &f;
    ASSERT_TRUE(by_kind.count(FindingKind::Budget));
    ASSERT_TRUE(by_kind.count(FindingKind::Fault));
    EXPECT_EQ(by_kind[FindingKind::Budget]->input.data.at(0), 0x42);
    EXPECT_EQ(by_kind[FindingKind::Budget]->message, "mystery.o: probe: insn 4: instruction budget exhausted (runaway loop?)");
    EXPECT_EQ(by_kind[FindingKind::Fault]->input.data.at(0), 0x43);
    EXPECT_EQ(by_kind[FindingKind::Fault]->message.rfind("mystery.o: probe: insn 6: out-of-bounds load of 8 bytes at 0x", 0), 0u)
        << by_kind[FindingKind::Fault]->message;
}

TEST(FuzzCommand, RetvalNames) {
    EXPECT_EQ(parse_retval("XDP_ABORTED").value(), 0u);
    EXPECT_EQ(parse_retval("TC_ACT_SHOT").value(), 2u);
    EXPECT_EQ(parse_retval("-1").value(), ~uint64_t{0});
    EXPECT_EQ(parse_retval("0x10").value(), 16u);
    EXPECT_FALSE(parse_retval("XDP_ABORT"));
}

}  // namespace
}  // namespace bpfvm
