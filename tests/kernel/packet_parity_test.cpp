// Test-run parity over a generated packet set: every skb and XDP program of the examples runs on
// every packet both in bpfvm and through the kernel's BPF_PROG_TEST_RUN, and the two must agree on
// which inputs are refused (and with which errno), and otherwise on retval, data_out, ctx_out,
// ring buffer records and, at the end, every map. The set: every length from 0 to 128 bytes of a
// UDP frame, and each protocol's frame (IPv4 UDP/TCP/ICMP, IPv4 with options, VLAN and QinQ tags,
// IPv6 with extension headers, ARP) cut at every byte; skb programs run with and without a
// __sk_buff context, XDP programs with and without an xdp_md.
#include <linux/bpf.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/io.hpp"
#include "bpfvm/kernel.hpp"
#include "bpfvm/kernel_events.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm::ktest {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes eth(uint16_t type) {
    return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, uint8_t(type >> 8), uint8_t(type)};
}
Bytes vlan(uint16_t tci, uint16_t inner) {
    return {uint8_t(tci >> 8), uint8_t(tci), uint8_t(inner >> 8), uint8_t(inner)};
}

Bytes ipv4(uint8_t proto, uint16_t payload, uint8_t option_words = 0) {
    const uint16_t len = static_cast<uint16_t>(20 + option_words * 4 + payload);
    Bytes h = {uint8_t(0x40 | (5 + option_words)), 0, uint8_t(len >> 8), uint8_t(len), 0, 1, 0, 0, 64, proto, 0, 0,
               10, 0, 0, 1, 10, 0, 0, 2};
    for (int i = 0; i < option_words * 4; ++i) h.push_back(i == option_words * 4 - 1 ? 0 : 1);  // NOPs, then EOL
    return h;
}

Bytes ipv6(uint8_t next, uint16_t payload) {
    Bytes h = {0x60, 0, 0, 0, uint8_t(payload >> 8), uint8_t(payload), next, 64};
    for (int i = 0; i < 16; ++i) h.push_back(i == 15 ? 1 : 0);
    for (int i = 0; i < 16; ++i) h.push_back(i == 15 ? 2 : 0);
    return h;
}

Bytes udp(uint16_t dport, uint16_t payload) {
    const uint16_t len = static_cast<uint16_t>(8 + payload);
    Bytes h = {0x30, 0x39, uint8_t(dport >> 8), uint8_t(dport), uint8_t(len >> 8), uint8_t(len), 0, 0};
    h.resize(h.size() + payload, 0xab);
    return h;
}

Bytes tcp(uint16_t dport) {
    return {0x30, 0x39, uint8_t(dport >> 8), uint8_t(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0,
            0,    0};
}

/// Every frame of the set: truncations at every byte included. Deduplicated as strings (g++ 12
/// warns falsely on std::less over byte vectors).
std::vector<Bytes> packet_set() {
    std::set<std::string> set;
    auto add = [&](const Bytes& frame, size_t n) {
        set.insert(std::string(frame.begin(), frame.begin() + static_cast<long>(n)));
    };
    const Bytes long_udp = cat({eth(0x0800), ipv4(17, 8 + 86), udp(53, 86)});  // 128 bytes
    for (size_t n = 0; n <= 128; ++n) add(long_udp, n);
    // IPv6 extension headers: hop-by-hop (0) -> routing (43) -> fragment (44) -> destination options (60) -> TCP.
    const Bytes ext = {43, 0, 1, 4, 0, 0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0,
                       60, 0, 0, 0, 0, 0, 0, 1, 6,  0, 1, 4, 0, 0, 0, 0};
    const std::vector<Bytes> frames = {
        cat({eth(0x0800), ipv4(17, 12), udp(53, 4)}),
        cat({eth(0x0800), ipv4(17, 12), udp(23, 4)}),
        cat({eth(0x0800), ipv4(6, 20), tcp(80)}),
        cat({eth(0x0800), ipv4(6, 20), tcp(23)}),
        cat({eth(0x0800), ipv4(1, 8), Bytes{8, 0, 0xf7, 0xff, 0, 0, 0, 0}}),
        cat({eth(0x0800), ipv4(17, 12, 1), udp(53, 4)}),
        cat({eth(0x0800), ipv4(17, 12, 10), udp(4000, 4)}),
        cat({eth(0x8100), vlan(100, 0x0800), ipv4(17, 12), udp(53, 4)}),
        cat({eth(0x88a8), vlan(200, 0x8100), vlan(100, 0x0800), ipv4(17, 12), udp(53, 4)}),
        cat({eth(0x86dd), ipv6(17, 12), udp(53, 4)}),
        cat({eth(0x86dd), ipv6(0, 52), ext, tcp(443)}),
        cat({eth(0x0806), Bytes{0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2}}),
    };
    for (const Bytes& f : frames)
        for (size_t n = 0; n <= f.size(); ++n) add(f, n);
    std::vector<Bytes> out;
    for (const auto& s : set) out.emplace_back(s.begin(), s.end());
    return out;
}

struct ProgramRef {
    std::string object;
    std::string program;
    ProgramType type;
};

void PrintTo(const ProgramRef& r, std::ostream* os) { *os << r.object << ": " << r.program; }

std::vector<ProgramRef> skb_and_xdp_programs() {
    std::vector<ProgramRef> out;
    std::error_code ec;
    std::vector<std::string> objects;
    for (const auto& e : std::filesystem::directory_iterator(BPFVM_EXAMPLES_BUILD_DIR, ec))
        if (e.path().string().ends_with(".bpf.o")) objects.push_back(e.path().string());
    std::sort(objects.begin(), objects.end());
    for (const auto& path : objects) {
        auto file = load_object(path);
        if (!file) continue;
        for (const auto& p : file->programs)
            if (p.type == ProgramType::Xdp || p.type == ProgramType::SchedCls || p.type == ProgramType::SchedAct ||
                p.type == ProgramType::SocketFilter || p.type == ProgramType::CgroupSkb)
                out.push_back({path, p.name, p.type});
    }
    if (out.empty()) out.push_back({"missing", "missing", ProgramType::Unspec});  // fails visibly
    return out;
}

std::string label(const ProgramRef& r) {
    std::string name = std::filesystem::path(r.object).stem().stem().string() + "_" + r.program;
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return name;
}

std::string errno_in(const std::string& text) {
    const size_t open = text.find("(E");
    const size_t close = open == std::string::npos ? open : text.find(')', open);
    return open == std::string::npos || close == std::string::npos ? "" : text.substr(open + 1, close - open - 1);
}

class TestRunParity : public ::testing::TestWithParam<ProgramRef> {};

TEST_P(TestRunParity, GeneratedPacketsAgreeWithTheKernel) {
    BPFVM_REQUIRE_KERNEL();
    const ProgramRef& ref = GetParam();
    auto file = load_object(ref.object);
    ASSERT_TRUE(file.has_value()) << file.error().to_string();
    ASSERT_FALSE(kernel::find_neg(*file).has_value()) << "examples must not contain neg";
    auto ko = kernel::KernelObject::open(*file);
    ASSERT_TRUE(ko.has_value()) << ko.error().to_string();
    ASSERT_TRUE(ko->load_all().has_value());
    auto vm = Object::open(ref.object);
    ASSERT_TRUE(vm.has_value()) << vm.error().to_string();

    // Ring buffers are read after every run on both sides, so neither ever fills up.
    std::map<std::string, kernel::RingBuffer> rings;
    for (const MapSpec& m : file->maps)
        if (m.type == MapType::Ringbuf) {
            auto rb = kernel::RingBuffer::open(*ko->map_fd(m.name), m.max_entries);
            ASSERT_TRUE(rb.has_value()) << rb.error().to_string();
            rings.emplace(m.name, std::move(*rb));
        }

    const bool xdp = ref.type == ProgramType::Xdp;
    size_t runs = 0, refused = 0, differences = 0;
    std::map<std::string, size_t> refusals;
    for (const Bytes& packet : packet_set()) {
        for (int with_ctx = 0; with_ctx < 2; ++with_ctx) {
            Bytes ctx;
            if (with_ctx && xdp) {
                ctx.assign(sizeof(struct xdp_md), 0);
                const uint32_t end = static_cast<uint32_t>(packet.size());
                std::memcpy(ctx.data() + offsetof(struct xdp_md, data_end), &end, 4);
            } else if (with_ctx) {
                ctx.assign(sizeof(struct __sk_buff), 0);
            }
            kernel::TestRunInput kin;
            kin.data = packet;
            kin.ctx = ctx;
            auto k = ko->test_run(ref.program, kin);
            TestRunInput vin;
            vin.data = packet;
            vin.ctx = ctx;
            auto v = vm->test_run(ref.program, vin);
            ++runs;
            std::string diff;
            if (!k || !v) {
                const std::string ke = k ? "ran" : errno_in(k.error().message);
                const std::string ve = v ? "ran" : errno_in(v.error().to_string());
                if (ke != ve) diff = "kernel " + ke + (k ? "" : " (" + k.error().message + ")") + ", bpfvm " + ve +
                                     (v ? "" : " (" + v.error().to_string() + ")");
                else {
                    ++refused;
                    ++refusals[ke];
                }
            } else {
                if (k->retval != static_cast<uint32_t>(v->retval))
                    diff += "retval kernel " + std::to_string(k->retval) + " bpfvm " + std::to_string(v->retval) + "; ";
                if (k->data != v->data_out)
                    diff += "data_out kernel " + to_hex(k->data) + " bpfvm " + to_hex(v->data_out) + "; ";
                if (k->ctx != v->ctx_out)
                    diff += "ctx_out kernel " + to_hex(k->ctx) + " bpfvm " + to_hex(v->ctx_out) + "; ";
            }
            for (auto& [name, rb] : rings) {
                std::vector<std::string> krec, vrec;
                rb.consume([&](std::span<const uint8_t> r) { krec.push_back(to_hex(r)); });
                if (v)
                    for (const auto& e : v->events)
                        if (e.map == name) vrec.push_back(to_hex(e.data));
                if (krec != vrec)
                    diff += "ringbuf " + name + ": kernel " + std::to_string(krec.size()) + " records, bpfvm " +
                            std::to_string(vrec.size()) + "; ";
            }
            if (!diff.empty()) {
                if (++differences <= 20)
                    ADD_FAILURE() << "packet " << to_hex(packet) << (ctx.empty() ? "" : " with ctx") << ": " << diff;
            }
        }
    }
    // Both sides ran the same sequence: every map must hold the same.
    for (const MapSpec& m : file->maps) {
        if (!kernel::map_contents_readable(m)) continue;
        auto dump = ko->dump_map(m.name);
        ASSERT_TRUE(dump.has_value()) << dump.error().to_string();
        std::map<std::string, std::string> kernel_map, vm_map;
        for (auto& [key, value] : *dump) kernel_map[to_hex(key)] = to_hex(value);
        auto handle = vm->map(m.name);
        ASSERT_TRUE(handle.has_value());
        for (const auto& key : handle->keys())
            if (auto value = handle->lookup_bytes(key)) vm_map[to_hex(key)] = to_hex(*value);
        EXPECT_EQ(kernel_map, vm_map) << "map " << m.name << " after the whole set";
    }
    std::string why;
    for (const auto& [e, n] : refusals) why += " " + e + ":" + std::to_string(n);
    std::cout << "[parity] " << label(ref) << ": " << runs << " runs, " << refused << " refused by both (" << why
              << " ), " << differences << " differences\n";
    EXPECT_EQ(differences, 0u);
}

INSTANTIATE_TEST_SUITE_P(Examples, TestRunParity, ::testing::ValuesIn(skb_and_xdp_programs()),
                         [](const ::testing::TestParamInfo<ProgramRef>& info) { return label(info.param); });

}  // namespace
}  // namespace bpfvm::ktest
