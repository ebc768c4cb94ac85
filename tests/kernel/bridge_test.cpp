// Tests of the bpf() bridge itself: BTF re-encoding (no kernel needed), the privilege probe, map
// commands and the verifier-log capture. Only fixed, hand-written programs reach the kernel.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <string>

#include "bpfvm/kernel.hpp"
#include "bpfvm/object.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm::kernel {
namespace {

#define REQUIRE_BPF() BPFVM_REQUIRE_KERNEL()

std::string example(const char* name) { return std::string(BPFVM_EXAMPLES_BUILD_DIR) + "/" + name + ".bpf.o"; }

TEST(KernelBtf, ReencodedBtfParsesToTheSameTypes) {
    auto file = load_object(example("loops_subprog"));
    ASSERT_TRUE(file.has_value()) << file.error().to_string();
    ASSERT_NE(file->btf, nullptr);
    const std::vector<uint8_t> raw = encode_btf(*file->btf);
    auto again = Btf::parse(raw);
    ASSERT_TRUE(again.has_value()) << again.error().to_string();
    ASSERT_EQ(again->types.size(), file->btf->types.size());
    for (size_t id = 1; id < again->types.size(); ++id) {
        const BtfType& a = file->btf->types[id];
        const BtfType& b = again->types[id];
        SCOPED_TRACE("type id " + std::to_string(id));
        if (a.kind == BtfKind::Datasec && !datasec_is_laid_out(*file->btf, a)) {  // an anonymous void pointer
            EXPECT_EQ(b.kind, BtfKind::Ptr);
            continue;
        }
        EXPECT_EQ(a.kind, b.kind);
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.type, b.type);
        EXPECT_EQ(a.members.size(), b.members.size());
    }
}

TEST(KernelProbe, ReportsUsabilityWithAReason) {
    const Probe p = probe();
    if (p.usable) {
        EXPECT_EQ(p.error_number, 0);
        EXPECT_TRUE(p.reason.empty());
    } else {
        EXPECT_NE(p.error_number, 0);
        EXPECT_NE(p.reason.find("BPF_MAP_CREATE"), std::string::npos) << p.reason;
        GTEST_SKIP() << "bpf() not usable: " << p.reason;
    }
}

TEST(KernelMaps, HashUpdateLookupIterate) {
    REQUIRE_BPF();
    MapSpec spec;
    spec.name = "oracle_hash";
    spec.kind = MapKind::BtfMap;
    spec.type = MapType::Hash;
    spec.key_size = 4;
    spec.value_size = 8;
    spec.max_entries = 4;
    auto fd = create_map(spec);
    ASSERT_TRUE(fd.has_value()) << fd.error().to_string();
    for (uint32_t k = 1; k <= 3; ++k) {
        uint64_t v = k * 100;
        ASSERT_TRUE(update_elem(fd->get(), {reinterpret_cast<uint8_t*>(&k), 4}, {reinterpret_cast<uint8_t*>(&v), 8}));
    }
    uint32_t k = 2;
    auto v = lookup_elem(fd->get(), {reinterpret_cast<uint8_t*>(&k), 4}, 8);
    ASSERT_TRUE(v.has_value());
    ASSERT_TRUE(v->has_value());
    uint64_t got = 0;
    std::memcpy(&got, (*v)->data(), 8);
    EXPECT_EQ(got, 200u);
    k = 9;
    auto none = lookup_elem(fd->get(), {reinterpret_cast<uint8_t*>(&k), 4}, 8);
    ASSERT_TRUE(none.has_value());
    EXPECT_FALSE(none->has_value());

    int count = 0;
    std::vector<uint8_t> key;
    while (true) {
        auto next = next_key(fd->get(), key, 4);
        ASSERT_TRUE(next.has_value());
        if (!next->has_value()) break;
        key = **next;
        ++count;
    }
    EXPECT_EQ(count, 3);

    // BPF_NOEXIST on an existing key: EEXIST, reported as kExists with the command name.
    k = 1;
    uint64_t value = 0;
    auto st = update_elem(fd->get(), {reinterpret_cast<uint8_t*>(&k), 4}, {reinterpret_cast<uint8_t*>(&value), 8},
                          BPF_NOEXIST);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code, ErrorCode::kExists);
    EXPECT_EQ(st.error().message, "BPF_MAP_UPDATE_ELEM: File exists (EEXIST)");
}

TEST(KernelMaps, RodataIsWrittenThenFrozen) {
    REQUIRE_BPF();
    MapSpec spec;
    spec.name = ".rodata";
    spec.kind = MapKind::Rodata;
    spec.type = MapType::Array;
    spec.value_size = 6;
    spec.max_entries = 1;
    spec.readonly = true;
    spec.initial_data = {1, 2, 3, 4, 5, 6};
    auto fd = create_map(spec);
    ASSERT_TRUE(fd.has_value()) << fd.error().to_string();
    uint32_t zero = 0;
    auto v = lookup_elem(fd->get(), {reinterpret_cast<uint8_t*>(&zero), 4}, 6);
    ASSERT_TRUE(v.has_value() && v->has_value());
    EXPECT_EQ(**v, spec.initial_data);
    std::vector<uint8_t> other(6, 9);
    auto st = update_elem(fd->get(), {reinterpret_cast<uint8_t*>(&zero), 4}, other);
    ASSERT_FALSE(st.has_value()) << "a frozen map accepted a write";
    EXPECT_EQ(st.error().code, ErrorCode::kPermission);
}

TEST(KernelPrograms, VerifierRejectionCarriesTheLog) {
    REQUIRE_BPF();
    // r0 = r2; exit: reads r2, which a socket filter's entry state leaves uninitialized.
    const uint8_t bytes[] = {0xbf, 0x20, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
    auto program = decode_program(std::span<const uint8_t>(bytes));
    ASSERT_TRUE(program.has_value());
    ObjectFile file;
    file.path = "handwritten";
    file.license = "GPL";
    ProgramSpec spec;
    spec.name = "bad_read";
    spec.section = "socket";
    spec.type = ProgramType::SocketFilter;
    spec.program = *program;
    spec.main_slots = 2;
    file.programs.push_back(spec);
    auto ko = KernelObject::open(file);
    ASSERT_TRUE(ko.has_value()) << ko.error().to_string();
    auto fd = ko->load_program("bad_read");
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().code, ErrorCode::kRejected);
    EXPECT_EQ(fd.error().where, "handwritten: bad_read");
    const std::string& msg = fd.error().message;
    EXPECT_EQ(msg.rfind("BPF_PROG_LOAD of socket_filter program: Permission denied (EACCES)", 0), 0u) << msg;
    EXPECT_NE(msg.find("R2 !read_ok"), std::string::npos) << msg;
}

TEST(KernelPrograms, XdpExampleRunsAndCounts) {
    REQUIRE_BPF();
    auto file = load_object(example("xdp_counter"));
    ASSERT_TRUE(file.has_value()) << file.error().to_string();
    auto ko = KernelObject::open(*file);
    ASSERT_TRUE(ko.has_value()) << ko.error().to_string();
    TestRunInput in;
    // Ethernet + IPv4 header (protocol 17) without a UDP header: enough for the counter.
    in.data = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17,
               0,    0,    10,   0,    0,    1,    10, 0, 0, 2};
    in.repeat = 2;
    auto out = ko->test_run("xdp_count", in);
    ASSERT_TRUE(out.has_value()) << out.error().to_string();
    EXPECT_EQ(out->retval, static_cast<uint32_t>(XDP_PASS));
    EXPECT_EQ(out->data, in.data);
    auto dump = ko->dump_map("counts");
    ASSERT_TRUE(dump.has_value()) << dump.error().to_string();
    ASSERT_EQ(dump->size(), 1u);
    const std::vector<uint8_t> key = {17, 0, 0, 0};
    const std::vector<uint8_t> value = {2, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(dump->front().first, key);
    EXPECT_EQ(dump->front().second, value);
}

}  // namespace
}  // namespace bpfvm::kernel
