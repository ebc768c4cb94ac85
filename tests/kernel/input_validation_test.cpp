// BPF_PROG_TEST_RUN input validation, kernel against bpfvm: inputs the kernel refuses (a packet
// shorter than an Ethernet header, a __sk_buff context with fields user space may not set) must be
// refused by bpfvm's test-run too, and accepted inputs accepted by both. Only example programs are
// loaded into the kernel.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/kernel.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm {
namespace {

std::string example(const char* name) { return std::string(BPFVM_EXAMPLES_BUILD_DIR) + "/" + name + ".bpf.o"; }

struct InputCase {
    const char* name;
    const char* object;
    const char* program;
    std::vector<uint8_t> data;
    std::vector<uint8_t> ctx;
};

/// Outcome of one engine: accepted (with retval) or refused (with the message).
struct Verdict {
    bool accepted = false;
    uint32_t retval = 0;
    std::string message;
};

Verdict run_kernel(const ObjectFile& file, const InputCase& c) {
    auto ko = kernel::KernelObject::open(file);
    if (!ko) return {false, 0, "open: " + ko.error().to_string()};
    kernel::TestRunInput in;
    in.data = c.data;
    in.ctx = c.ctx;
    auto out = ko->test_run(c.program, in);
    if (!out) return {false, 0, out.error().to_string()};
    return {true, out->retval, {}};
}

Verdict run_bpfvm(const InputCase& c, EngineKind engine) {
    auto obj = Object::open(example(c.object));
    if (!obj) return {false, 0, "open: " + obj.error().to_string()};
    TestRunInput in;
    in.data = c.data;
    in.ctx = c.ctx;
    in.engine = engine;
    auto out = obj->test_run(c.program, in);
    if (!out) return {false, 0, out.error().to_string()};
    return {true, static_cast<uint32_t>(out->retval), {}};
}

std::vector<uint8_t> skb_ctx_with(size_t offset, uint32_t value) {
    std::vector<uint8_t> ctx(sizeof(struct __sk_buff), 0);
    std::memcpy(ctx.data() + offset, &value, sizeof(value));
    return ctx;
}

std::vector<InputCase> cases() {
    std::vector<uint8_t> arp(42, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    return {
        {"xdp packet shorter than an Ethernet header", "xdp_counter", "xdp_count", std::vector<uint8_t>(10, 0xab), {}},
        {"xdp packet of exactly an Ethernet header", "xdp_counter", "xdp_count", std::vector<uint8_t>(14, 0), {}},
        {"tc without a packet", "tc_classifier", "tc_classify", {}, {}},
        {"tc with __sk_buff.len set by user space", "tc_classifier", "tc_classify", arp,
         skb_ctx_with(offsetof(struct __sk_buff, len), 42)},
        {"tc with __sk_buff.mark and priority set (allowed)", "tc_classifier", "tc_classify", arp,
         [] {
             auto ctx = skb_ctx_with(offsetof(struct __sk_buff, mark), 7);
             uint32_t priority = 3;
             std::memcpy(ctx.data() + offsetof(struct __sk_buff, priority), &priority, 4);
             return ctx;
         }()},
        {"socket filter with a 14-byte frame", "socket_filter", "dns_filter", std::vector<uint8_t>(14, 0), {}},
    };
}

TEST(KernelInputValidation, BpfvmRefusesWhatTheKernelRefuses) {
    BPFVM_REQUIRE_KERNEL();
    std::vector<EngineKind> engines = {EngineKind::Interp};
#ifdef BPFVM_TEST_HAVE_JIT
    engines.push_back(EngineKind::Jit);
#endif
    for (const InputCase& c : cases()) {
        SCOPED_TRACE(c.name);
        auto file = load_object(example(c.object));
        ASSERT_TRUE(file.has_value()) << file.error().to_string();
        const Verdict k = run_kernel(*file, c);
        std::string line = std::string("[input] ") + c.name + ": kernel " +
                           (k.accepted ? "retval=" + std::to_string(k.retval) : "refused (" + k.message + ")");
        for (EngineKind engine : engines) {
            const Verdict v = run_bpfvm(c, engine);
            const char* label = engine == EngineKind::Interp ? "interp" : "jit";
            EXPECT_EQ(v.accepted, k.accepted) << label << ": kernel " << (k.accepted ? "accepted" : "refused: " + k.message)
                                              << "; bpfvm " << (v.accepted ? "accepted" : "refused: " + v.message);
            if (v.accepted && k.accepted) {
                EXPECT_EQ(v.retval, k.retval) << label;
            }
            line += std::string(", bpfvm-") + label + " " +
                    (v.accepted ? "retval=" + std::to_string(v.retval) : "refused (" + v.message + ")");
        }
        std::cout << line << "\n";
    }
}

}  // namespace
}  // namespace bpfvm
