// Packet helpers: checksum arithmetic checked against checksums computed by hand and by a plain
// RFC 1071 reference, the csum helpers run from a tc program, and the spec runner end to end.
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/runners/spec.hpp"
#include "bpfvm/io.hpp"
#include "testrun/testrun_internal.hpp"

namespace {

using bpfvm::EngineKind;

const char* const kSkbObject = BPFVM_VM_BPF_DIR "/vm_skb.o";
const char* const kXdpObject = BPFVM_VM_BPF_DIR "/vm_xdp.o";

/// RFC 1071: one's complement of the one's complement sum of big-endian 16-bit words.
uint16_t inet_checksum(const std::vector<uint8_t>& bytes, size_t from, size_t len, uint32_t initial = 0) {
    uint32_t sum = initial;
    for (size_t i = 0; i < len; i += 2) {
        const uint32_t hi = bytes[from + i];
        const uint32_t lo = i + 1 < len ? bytes[from + i + 1] : 0;
        sum += (hi << 8) | lo;
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

uint16_t be16(const std::vector<uint8_t>& p, size_t at) { return static_cast<uint16_t>(p[at] << 8 | p[at + 1]); }

/// Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2) + UDP 12345 -> 53 + "abcd", checksums filled in.
std::vector<uint8_t> udp_packet() {
    std::vector<uint8_t> p = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
                              0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                              0x30, 0x39, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd'};
    const uint16_t ip = inet_checksum(p, 14, 20);
    p[24] = static_cast<uint8_t>(ip >> 8);
    p[25] = static_cast<uint8_t>(ip);
    // Pseudo header: saddr, daddr, zero, protocol, UDP length.
    uint32_t pseudo = be16(p, 26) + be16(p, 28) + be16(p, 30) + be16(p, 32) + 17 + 12;
    const uint16_t udp = inet_checksum(p, 34, 12, pseudo);
    p[40] = static_cast<uint8_t>(udp >> 8);
    p[41] = static_cast<uint8_t>(udp);
    return p;
}

TEST(Checksum, ReferenceMatchesAKnownHeader) {
    // The IPv4 header of examples/tc_classifier.test.json carries checksum 0x66cf.
    std::vector<uint8_t> h = {0x45, 0, 0, 0x1c, 0, 0, 0, 0, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    EXPECT_EQ(inet_checksum(h, 0, 20), 0x66cf);
}

TEST(Checksum, KernelArithmetic) {
    using namespace bpfvm::testrun;
    EXPECT_EQ(csum_add(0xffffffffu, 1), 1u);  // end-around carry
    EXPECT_EQ(csum_fold(0x0001fffe), 0x0000);  // 0xfffe + 1 = 0xffff -> ~ = 0
    EXPECT_EQ(csum_fold(0x12345678), static_cast<uint16_t>(~(0x1234 + 0x5678)));
    // By hand: ~0x04030201 + 0x08070605 = 0xfbfcfdfe + 0x08070605 = 0x1_04040403 -> 0x04040404.
    const uint8_t diff[8] = {0xfe, 0xfd, 0xfc, 0xfb, 5, 6, 7, 8};
    EXPECT_EQ(csum_partial(diff, 8, 0), 0x04040404u);
    EXPECT_EQ(csum_partial(diff, 0, 0x1234), 0x1234u);
}

class PacketHelpers : public ::testing::TestWithParam<EngineKind> {};

TEST_P(PacketHelpers, CsumDiff) {
    auto obj = bpfvm::Object::open(kSkbObject).value();
    auto r = obj.test_run("tc_csum_diff", {.data = udp_packet(), .engine = GetParam()});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval & 0xffffffffu, 0x04040404u);
}

TEST_P(PacketHelpers, L3AndL4CsumReplaceKeepChecksumsValid) {
    auto obj = bpfvm::Object::open(kSkbObject).value();
    const auto pkt = udp_packet();
    auto r = obj.test_run("tc_rewrite_daddr", {.data = pkt, .engine = GetParam()});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, uint64_t{TC_ACT_OK});
    const auto& out = r->data_out;
    ASSERT_EQ(out.size(), pkt.size());
    EXPECT_EQ(out[33], 99);  // daddr 10.0.0.99
    // IP checksum by hand: ~0x66cf... for this header the old sum is ~checksum; daddr's low
    // word grows by 0x61, so the new checksum is the old one minus 0x61.
    EXPECT_EQ(be16(out, 24), static_cast<uint16_t>(be16(pkt, 24) - 0x61));
    // And both checksums verify from scratch.
    auto check = out;
    check[24] = check[25] = 0;
    EXPECT_EQ(be16(out, 24), inet_checksum(check, 14, 20));
    uint32_t pseudo = be16(out, 26) + be16(out, 28) + be16(out, 30) + be16(out, 32) + 17 + 12;
    check[40] = check[41] = 0;
    EXPECT_EQ(be16(out, 40), inet_checksum(check, 34, 12, pseudo));
}

std::vector<EngineKind> engines() {
    std::vector<EngineKind> out{EngineKind::Interp};
    if (bpfvm::parse_engine("jit")) out.push_back(EngineKind::Jit);
    return out;
}

INSTANTIATE_TEST_SUITE_P(Engines, PacketHelpers, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return std::string(info.param == EngineKind::Jit ? "jit" : "interp"); });

// ---- The spec runner, end to end on a spec written to a temporary folder.

std::string write_spec(const std::string& name, const std::string& text) {
    const auto dir = std::filesystem::temp_directory_path() / "bpfvm_test_vm";
    std::filesystem::create_directories(dir);
    const auto path = dir / name;
    std::ofstream(path) << text;
    return path.string();
}

TEST(Spec, PassesAndFailsWithMessages) {
    const std::string spec = std::string(R"({ "object": ")") + kXdpObject + R"(",
      "cases": [
        { "name": "counts", "program": "xdp_count",
          "data": "ffffffffffff 000000000000 0800 0102",
          "expect": { "retval": 2, "maps": { "counts": [ {"key": 0, "value": 1}, {"key": 1, "value": 16} ] } } },
        { "name": "preset entries", "program": "xdp_count",
          "data": "ffffffffffff000000000000 0800 0102",
          "maps": { "counts": [ {"key": 0, "value": "0900000000000000"} ] },
          "expect": { "maps": { "counts": [ {"key": 0, "value": 10} ] } } },
        { "name": "wrong retval", "program": "xdp_pop4", "data": "ffffffffffff000000000000 0800 010203040506",
          "expect": { "retval": 1, "data": "ffff000000000000 0800 0102" } },
        { "name": "refused", "program": "xdp_count", "data": "ffff", "expect": { "error": "ETH_HLEN" } }
      ] })";
    auto report = bpfvm::run_spec_file(write_spec("ok.json", spec));
    ASSERT_TRUE(report) << report.error().to_string();
    ASSERT_EQ(report->cases.size(), 4u);
    EXPECT_TRUE(report->cases[0].passed) << report->cases[0].failures[0];
    EXPECT_TRUE(report->cases[1].passed) << report->cases[1].failures[0];
    EXPECT_FALSE(report->cases[2].passed);
    ASSERT_GE(report->cases[2].failures.size(), 1u);
    EXPECT_EQ(report->cases[2].failures[0], "expected retval 1, got 16");
    EXPECT_TRUE(report->cases[3].passed);
    EXPECT_EQ(report->passed(), 3u);
    EXPECT_EQ(report->failed(), 1u);
}

TEST(Spec, MalformedSpecsNameTheJsonPath) {
    const std::string head = std::string(R"({ "object": ")") + kXdpObject + R"(", "cases": [ )";
    auto report = bpfvm::run_spec_file(write_spec("bad1.json", head + R"({"program": "xdp_count", "expect": {"retval": "x"}} ]})"));
    ASSERT_FALSE(report);
    EXPECT_NE(report.error().message.find("bad1.json: cases[0].expect.retval: expected an integer"), std::string::npos)
        << report.error().message;
    report = bpfvm::run_spec_file(write_spec("bad2.json", head + R"({"program": "xdp_count", "data": "zz"} ]})"));
    ASSERT_FALSE(report);
    EXPECT_NE(report.error().message.find("cases[0].data"), std::string::npos) << report.error().message;
    report = bpfvm::run_spec_file(write_spec("bad3.json", "{ not json"));
    ASSERT_FALSE(report);
    EXPECT_NE(report.error().message.find("bad3.json: invalid JSON"), std::string::npos) << report.error().message;
}

}  // namespace
