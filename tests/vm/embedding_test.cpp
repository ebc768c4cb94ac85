// The embedding API as a user would write it: open an object, test-run a program, read its maps.
// Also global data (.rodata configuration) and tail calls through a prog_array.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "bpfvm/bpfvm.hpp"

namespace {

const char* const kXdpObject = BPFVM_VM_BPF_DIR "/vm_xdp.o";

std::vector<uint8_t> frame(size_t size, uint8_t payload0 = 0) {
    std::vector<uint8_t> p(size, 0);
    for (size_t i = 0; i < 6; ++i) p[i] = 0xff;
    p[12] = 0x08;
    if (size > 14) p[14] = payload0;
    return p;
}

// The ten-line example of include/bpfvm/bpfvm.hpp.
TEST(Embedding, CountsOnePacket) {
    auto obj = bpfvm::Object::open(kXdpObject).value();
    std::vector<uint8_t> pkt = frame(64);
    auto r = obj.test_run("xdp_count", {.data = pkt});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, XDP_PASS);
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{0}), 1u);
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{1}), 64u);
}

TEST(Embedding, MapsPersistAcrossRunsAndReset) {
    auto obj = bpfvm::Object::open(kXdpObject).value();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(obj.test_run("xdp_count", {.data = frame(20)}));
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{0}), 3u);
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{1}), 60u);
    ASSERT_TRUE(obj.reset_maps());
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{0}), 0u);
    auto r = obj.test_run("xdp_count", {.data = frame(20), .repeat = 5});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->repeat, 5u);
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{0}), 5u);
}

TEST(Embedding, RodataConfigurationIsRead) {
    auto obj = bpfvm::Object::open(kXdpObject).value();
    auto rodata = obj.map(".rodata");
    ASSERT_TRUE(rodata) << rodata.error().to_string();
    EXPECT_EQ((rodata->lookup<uint32_t, uint32_t>(0)), uint32_t{XDP_PASS});
    ASSERT_TRUE((rodata->update<uint32_t, uint32_t>(0, XDP_TX)));
    auto r = obj.test_run("xdp_count", {.data = frame(20)});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, XDP_TX);
}

TEST(Embedding, UnknownNamesListTheAlternatives) {
    auto obj = bpfvm::Object::open(kXdpObject).value();
    auto r = obj.test_run("nope", {.data = frame(20)});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("programs: xdp_count"), std::string::npos) << r.error().message;
    auto m = obj.map("nope");
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("counts"), std::string::npos) << m.error().message;
    auto missing = bpfvm::Object::open("/nonexistent.o");
    EXPECT_FALSE(missing);
}

class TailCalls : public ::testing::TestWithParam<bpfvm::EngineKind> {};

TEST_P(TailCalls, StaticSlotAndUserSetSlot) {
    auto obj = bpfvm::Object::open(kXdpObject).value();
    // Slot 0 holds stage_a from the static initializer.
    auto r = obj.test_run("xdp_dispatch", {.data = frame(20, 0), .engine = GetParam()});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, XDP_TX);
    EXPECT_EQ(r->tail_calls, 1u);
    EXPECT_EQ(r->trace, std::vector<std::string>{"stage a"});
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{2}), 1u);
    // Slot 1 is empty: the tail call fails and the program falls through.
    r = obj.test_run("xdp_dispatch", {.data = frame(20, 1), .engine = GetParam()});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, XDP_DROP);
    EXPECT_EQ(r->tail_calls, 0u);
    // Filled from C++.
    ASSERT_TRUE(obj.set_prog_array_slot("jumps", 1, "stage_b"));
    r = obj.test_run("xdp_dispatch", {.data = frame(20, 1), .engine = GetParam()});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, XDP_REDIRECT);
    EXPECT_EQ(obj.map("counts")->value<uint64_t>(uint32_t{3}), 1u);
    EXPECT_FALSE(obj.set_prog_array_slot("jumps", 9, "stage_b"));
    EXPECT_FALSE(obj.set_prog_array_slot("counts", 0, "stage_b"));
}

std::vector<bpfvm::EngineKind> engines() {
    std::vector<bpfvm::EngineKind> out{bpfvm::EngineKind::Interp};
    if (bpfvm::parse_engine("jit")) out.push_back(bpfvm::EngineKind::Jit);
    return out;
}

std::string engine_name(const ::testing::TestParamInfo<bpfvm::EngineKind>& info) {
    return info.param == bpfvm::EngineKind::Jit ? "jit" : "interp";
}

INSTANTIATE_TEST_SUITE_P(Engines, TailCalls, ::testing::ValuesIn(engines()), engine_name);

}  // namespace
