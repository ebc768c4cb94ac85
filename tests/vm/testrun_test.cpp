// Test-run semantics against the kernel's BPF_PROG_TEST_RUN: XDP and __sk_buff context
// conversion (data/data_end, len, protocol), xdp_adjust_head/tail, ctx in/out, and refusals.
// Every test runs on each available engine.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstring>

#include "bpfvm/bpfvm.hpp"

namespace {

using bpfvm::EngineKind;
using bpfvm::Object;
using bpfvm::TestRunInput;

const char* const kXdpObject = BPFVM_VM_BPF_DIR "/vm_xdp.o";
const char* const kSkbObject = BPFVM_VM_BPF_DIR "/vm_skb.o";

/// An Ethernet frame of `size` bytes to `dst0`:..., IPv4 ethertype, bytes 14.. counting up.
std::vector<uint8_t> frame(size_t size, uint8_t dst0 = 0xff) {
    std::vector<uint8_t> p(size, 0);
    for (size_t i = 0; i < 6 && i < size; ++i) p[i] = dst0;
    if (size > 13) p[12] = 0x08;
    for (size_t i = 14; i < size; ++i) p[i] = static_cast<uint8_t>(i);
    return p;
}

class TestRun : public ::testing::TestWithParam<EngineKind> {
protected:
    bpfvm::Result<bpfvm::TestRunResult> run(Object& obj, const char* prog, std::vector<uint8_t> data,
                                            std::vector<uint8_t> ctx = {}) {
        TestRunInput in;
        in.data = std::move(data);
        in.ctx = std::move(ctx);
        in.engine = GetParam();
        return obj.test_run(prog, in);
    }
    uint64_t field(Object& obj, const char* map, uint32_t key) {
        return obj.map(map)->value<uint64_t>(uint32_t{key}).value_or(~0ull);
    }
};

TEST_P(TestRun, XdpDataPointersSeeThePacket) {
    auto obj = Object::open(kXdpObject).value();
    auto r = run(obj, "xdp_count", frame(77));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(field(obj, "counts", 1), 77u);
    EXPECT_EQ(r->data_out, frame(77));
    EXPECT_TRUE(r->ctx_out.empty());  // no ctx in, no ctx out (as the kernel)
}

TEST_P(TestRun, XdpAdjustHeadPopsAndPushes) {
    auto obj = Object::open(kXdpObject).value();
    const auto pkt = frame(64);
    auto r = run(obj, "xdp_pop4", pkt);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 60u);
    EXPECT_EQ(r->data_out, std::vector<uint8_t>(pkt.begin() + 4, pkt.end()));

    r = run(obj, "xdp_push2", pkt);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 66u);
    std::vector<uint8_t> want{0xab, 0xcd};
    want.insert(want.end(), pkt.begin(), pkt.end());
    EXPECT_EQ(r->data_out, want);

    // Fewer than ETH_HLEN bytes would remain: -EINVAL, packet untouched.
    r = run(obj, "xdp_pop4", frame(16));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 1000u + 22);
    EXPECT_EQ(r->data_out, frame(16));
}

TEST_P(TestRun, XdpAdjustTailGrowsAndShrinks) {
    auto obj = Object::open(kXdpObject).value();
    auto pkt = frame(64);
    pkt[14] = 6;
    auto r = run(obj, "xdp_tail", pkt);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 70u);
    auto grown = pkt;
    grown.resize(70, 0);
    EXPECT_EQ(r->data_out, grown);

    pkt[14] = static_cast<uint8_t>(-4);
    r = run(obj, "xdp_tail", pkt);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 60u);
    EXPECT_EQ(r->data_out, std::vector<uint8_t>(pkt.begin(), pkt.begin() + 60));

    // 3500 + 100 bytes passes the tailroom limit (4096 - 256 headroom - 320 tailroom = 3520).
    auto big = frame(3500);
    big[14] = 100;
    r = run(obj, "xdp_tail", big);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 1000u + 22);
}

TEST_P(TestRun, XdpContextInAndOut) {
    auto obj = Object::open(kXdpObject).value();
    std::vector<uint8_t> ctx(24, 0);  // struct xdp_md: data 0, data_end 64
    ctx[4] = 64;
    auto r = run(obj, "xdp_pop4", frame(64), ctx);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->ctx_out.size(), 24u);
    uint32_t md[6];
    std::memcpy(md, r->ctx_out.data(), sizeof md);
    EXPECT_EQ(md[0], 0u);   // data (offset from data_meta)
    EXPECT_EQ(md[1], 60u);  // data_end

    ctx[4] = 63;  // data_end must equal the data size
    r = run(obj, "xdp_pop4", frame(64), ctx);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("EINVAL"), std::string::npos) << r.error().message;
}

TEST_P(TestRun, ShortPacketsAreRefusedLikeTheKernel) {
    auto xdp = Object::open(kXdpObject).value();
    auto r = run(xdp, "xdp_count", frame(13));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, bpfvm::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("(EINVAL): packet of 13 bytes is shorter than ETH_HLEN (14)"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(xdp.map("counts")->value<uint64_t>(uint32_t{0}), 0u);  // never ran

    auto skb = Object::open(kSkbObject).value();
    r = run(skb, "tc_fields", frame(10));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("shorter than ETH_HLEN"), std::string::npos) << r.error().message;
}

TEST_P(TestRun, SkbFieldsAreFilledLikeTheKernel) {
    auto obj = Object::open(kSkbObject).value();
    std::vector<uint8_t> ctx(192, 0);
    ctx[48] = 5;  // cb[0]
    auto r = run(obj, "tc_fields", frame(60), ctx);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, uint64_t{TC_ACT_OK});
    EXPECT_EQ(field(obj, "fields", 0), 60u);      // len
    EXPECT_EQ(field(obj, "fields", 1), 0x0008u);  // protocol: htons(ETH_P_IP)
    EXPECT_EQ(field(obj, "fields", 2), 60u);      // data_end - data
    EXPECT_EQ(field(obj, "fields", 3), 1u);       // PACKET_BROADCAST
    EXPECT_EQ(field(obj, "fields", 4), 1u);       // ifindex: lo
    EXPECT_EQ(field(obj, "fields", 5), 5u);       // cb[0] from ctx in
    ASSERT_EQ(r->ctx_out.size(), 192u);
    uint32_t mark, cb1, wire_len;
    std::memcpy(&mark, &r->ctx_out[8], 4);
    std::memcpy(&cb1, &r->ctx_out[52], 4);
    std::memcpy(&wire_len, &r->ctx_out[160], 4);
    EXPECT_EQ(mark, 0x1234u);
    EXPECT_EQ(cb1, 7u);
    EXPECT_EQ(wire_len, 60u);

    // Unicast to another host, no ctx: PACKET_OTHERHOST.
    r = run(obj, "tc_fields", frame(60, 0x02));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(field(obj, "fields", 3), 3u);
}

TEST_P(TestRun, SkbContextFieldsTheKernelRejects) {
    auto obj = Object::open(kSkbObject).value();
    std::vector<uint8_t> ctx(192, 0);
    ctx[0] = 1;  // len may not be set
    auto r = run(obj, "tc_fields", frame(60), ctx);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("(EINVAL)"), std::string::npos) << r.error().message;
    ctx[0] = 0;
    ctx[40] = 9;  // ifindex 9 does not exist
    r = run(obj, "tc_fields", frame(60), ctx);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("(ENODEV)"), std::string::npos) << r.error().message;
}

TEST_P(TestRun, SocketFilterStartsAtTheNetworkHeader) {
    auto obj = Object::open(kSkbObject).value();
    const auto pkt = frame(60);
    auto r = run(obj, "sock_len", pkt);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 46u);
    // The kernel pushes back a zeroed Ethernet header before copying data_out.
    auto want = pkt;
    std::fill(want.begin(), want.begin() + 14, 0);
    EXPECT_EQ(r->data_out, want);
}

TEST_P(TestRun, SkbLoadPastTheEndFaults) {
    auto obj = Object::open(kSkbObject).value();
    auto r = run(obj, "tc_load_past_end", frame(60));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 1000u + 14);  // -EFAULT
}

TEST_P(TestRun, RedirectIsRecordedNotPerformed) {
    auto obj = Object::open(kSkbObject).value();
    auto r = run(obj, "tc_redirect", frame(60));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, uint64_t{TC_ACT_REDIRECT});
    ASSERT_EQ(r->redirects.size(), 1u);
    EXPECT_EQ(r->redirects[0].target, 7u);
}

TEST_P(TestRun, ContextLoadsAreConverted) {
    auto obj = Object::open(kXdpObject).value();
    auto prog = obj.runnable_program("xdp_count");
    ASSERT_TRUE(prog) << prog.error().to_string();
    // xdp_count starts with `r6 = *(u32 *)(r1 + 4)` (data_end) and `r7 = *(u32 *)(r1 + 0)` (data):
    // both must now be 64-bit loads of XdpKernCtx's pointers (offsets 32 and 24).
    ASSERT_GE(prog->insns.size(), 3u);
    EXPECT_EQ(prog->insns[1].op, bpfvm::Op::Ldx64);
    EXPECT_EQ(prog->insns[1].off, 32);
    EXPECT_EQ(prog->insns[2].op, bpfvm::Op::Ldx64);
    EXPECT_EQ(prog->insns[2].off, 24);
    for (const auto& insn : prog->insns)
        EXPECT_FALSE(insn.op == bpfvm::Op::Lddw && insn.src != 0) << "unresolved map reference at " << insn.pc;
}

std::vector<EngineKind> engines() {
    std::vector<EngineKind> out{EngineKind::Interp};
    if (bpfvm::parse_engine("jit")) out.push_back(EngineKind::Jit);
    return out;
}

INSTANTIATE_TEST_SUITE_P(Engines, TestRun, ::testing::ValuesIn(engines()),
                         [](const auto& info) { return std::string(info.param == EngineKind::Jit ? "jit" : "interp"); });

}  // namespace

namespace {

TEST(TestRunTraps, OutOfBoundsNamesInstructionAndSourceLine) {
    auto obj = bpfvm::Object::open(BPFVM_VM_BPF_DIR "/vm_xdp.o").value();
    std::vector<uint8_t> pkt(64, 0);
    auto r = obj.test_run("xdp_oob", {.data = pkt, .engine = bpfvm::EngineKind::Interp});
    ASSERT_FALSE(r);
    const bpfvm::Error& e = r.error();
    EXPECT_EQ(e.code, bpfvm::ErrorCode::kRuntime);
    ASSERT_TRUE(e.pc.has_value());
    EXPECT_NE(e.message.find("out-of-bounds load of 1 bytes"), std::string::npos) << e.message;
    EXPECT_NE(e.where.find("xdp_oob"), std::string::npos) << e.where;
    EXPECT_NE(e.source.find("vm_xdp.c:"), std::string::npos) << e.source;
    EXPECT_NE(e.source.find("return data[5000];"), std::string::npos) << e.source;
}

TEST(TestRunRawTp, ArgumentsComeFromCtx) {
    auto obj = bpfvm::Object::open(BPFVM_VM_BPF_DIR "/vm_misc.o").value();
    std::vector<uint8_t> args(16, 0);
    args[0] = 3;
    args[8] = 4;
    auto r = obj.test_run("raw_args", {.ctx = args});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 7u);
    // The program reads 16 bytes of arguments: a shorter ctx is refused, as by the kernel.
    r = obj.test_run("raw_args", {.ctx = std::vector<uint8_t>(8, 0)});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("(EINVAL)"), std::string::npos) << r.error().message;
}

}  // namespace
