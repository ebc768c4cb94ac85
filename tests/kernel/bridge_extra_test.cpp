// The bridge beyond load and test-run: maps created with BTF (global data too), whole-map reads in
// batches and element by element, verifier rejections with the instruction, reason and source
// line, pinning, global variables, tracefs ids, uprobe targets, and how sections map to attach
// points (the last three partly without bpf()).
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "bpfvm/kernel.hpp"
#include "bpfvm/kernel_attach.hpp"
#include "bpfvm/session.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm::ktest {
namespace {

class Bridge : public KernelTest {};

TEST_F(Bridge, MapsAndGlobalDataCarryBtf) {
    BPFVM_REQUIRE_KERNEL();
    auto file = load_object(tool("opensnoop"));
    ASSERT_TRUE(file.has_value()) << file.error().to_string();
    kernel::KernelOptions options;
    options.name_prefix = prefix_;
    auto ko = kernel::KernelObject::open(*file, options);
    ASSERT_TRUE(ko.has_value()) << ko.error().to_string();
    EXPECT_TRUE(ko->map_has_btf("opens_total"));
    EXPECT_TRUE(ko->map_has_btf(".rodata")) << "the .rodata DATASEC should be laid out by the loader";
    EXPECT_FALSE(ko->map_has_btf("events")) << "ring buffers take no BTF types";
    auto info = kernel::map_info(*ko->map_fd("opens_total"));
    ASSERT_TRUE(info.has_value()) << info.error().to_string();
    EXPECT_NE(info->btf_id, 0u);
    EXPECT_EQ(info->name, ko->kernel_name("opens_total"));
    auto snap = observe::snapshot_map_fd(*ko->map_fd("opens_total"));
    ASSERT_TRUE(snap.has_value()) << snap.error().to_string();
    ASSERT_NE(snap->btf, nullptr) << "the BTF read back from the kernel";
    EXPECT_EQ(snap->btf->type_name(snap->key_type), "char[16]");
}

TEST_F(Bridge, VerifierRejectionNamesInstructionReasonAndSource) {
    BPFVM_REQUIRE_KERNEL();
    auto file = load_object(fixture("rejected"));
    ASSERT_TRUE(file.has_value()) << file.error().to_string();
    kernel::KernelOptions options;
    options.name_prefix = prefix_;
    auto ko = kernel::KernelObject::open(*file, options);
    ASSERT_TRUE(ko.has_value());
    auto fd = ko->load_program("reads_a_number_as_pointer");
    ASSERT_FALSE(fd.has_value());
    const Error& e = fd.error();
    EXPECT_EQ(e.code, ErrorCode::kRejected);
    EXPECT_EQ(e.pc, 1u);
    EXPECT_EQ(e.where, fixture("rejected") + ": reads_a_number_as_pointer");
    EXPECT_EQ(
        e.message.rfind("BPF_PROG_LOAD of socket_filter program: Permission denied (EACCES): R1 invalid mem access "
                        "'scalar'\nverifier log (last lines):\n",
                        0),
        0u)
        << e.message;
    EXPECT_NE(e.source.find("rejected.bpf.c:9:"), std::string::npos) << e.source;
    EXPECT_NE(e.source.find("return *p;"), std::string::npos) << e.source;
}

TEST_F(Bridge, VerifierLogSummary) {
    const auto v = kernel::summarize_verifier_log(
        "func#0 @0\n0: R1=ctx() R10=fp0\n; int *p = ...\n0: (61) r1 = *(u32 *)(r1 +0)  ; R1=scalar()\n"
        "1: (61) r0 = *(u32 *)(r1 +0)\nR1 invalid mem access 'scalar'\nprocessed 2 insns (limit 1000000)\n");
    EXPECT_EQ(v.pc, 1u);
    EXPECT_EQ(v.reason, "R1 invalid mem access 'scalar'");
    EXPECT_EQ(kernel::summarize_verifier_log("").pc, std::nullopt);
}

TEST_F(Bridge, WholeMapsAreReadInBatchesOrElementByElement) {
    BPFVM_REQUIRE_KERNEL();
    MapSpec hash;
    hash.name = "big_hash";
    hash.kind = MapKind::BtfMap;
    hash.type = MapType::Hash;
    hash.key_size = 4;
    hash.value_size = 8;
    hash.max_entries = 4096;
    auto fd = kernel::create_map(hash);
    ASSERT_TRUE(fd.has_value()) << fd.error().to_string();
    for (uint32_t k = 0; k < 3000; ++k) {
        const uint64_t v = uint64_t{k} * 3;
        ASSERT_TRUE(kernel::update_elem(fd->get(), {reinterpret_cast<const uint8_t*>(&k), 4},
                                        {reinterpret_cast<const uint8_t*>(&v), 8}).has_value());
    }
    auto all = kernel::read_map(fd->get(), {4, 8, 4096});
    ASSERT_TRUE(all.has_value()) << all.error().to_string();
    ASSERT_EQ(all->size(), 3000u);
    uint64_t sum = 0;
    for (const auto& [k, v] : *all) {
        uint32_t key;
        uint64_t value;
        std::memcpy(&key, k.data(), 4);
        std::memcpy(&value, v.data(), 8);
        EXPECT_EQ(value, uint64_t{key} * 3);
        sum += key;
    }
    EXPECT_EQ(sum, 2999u * 3000u / 2);
    const uint32_t gone = 7;
    ASSERT_TRUE(kernel::delete_elem(fd->get(), {reinterpret_cast<const uint8_t*>(&gone), 4}).has_value());
    auto missing = kernel::delete_elem(fd->get(), {reinterpret_cast<const uint8_t*>(&gone), 4});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().message, "BPF_MAP_DELETE_ELEM: No such file or directory (ENOENT)");

    MapSpec lpm;  // LPM tries have no batch lookup: read element by element
    lpm.name = "lpm";
    lpm.kind = MapKind::BtfMap;
    lpm.type = MapType::LpmTrie;
    lpm.key_size = 8;
    lpm.value_size = 4;
    lpm.max_entries = 16;
    lpm.map_flags = BPF_F_NO_PREALLOC;
    auto lfd = kernel::create_map(lpm);
    ASSERT_TRUE(lfd.has_value()) << lfd.error().to_string();
    for (uint8_t i = 1; i <= 3; ++i) {
        const uint8_t key[8] = {24, 0, 0, 0, 10, i, 0, 0};
        const uint32_t value = i;
        ASSERT_TRUE(kernel::update_elem(lfd->get(), key, {reinterpret_cast<const uint8_t*>(&value), 4}).has_value());
    }
    auto entries = kernel::read_map(lfd->get(), {8, 4, 16});
    ASSERT_TRUE(entries.has_value()) << entries.error().to_string();
    EXPECT_EQ(entries->size(), 3u);
}

TEST_F(Bridge, PinnedObjectsCanBeOpenedAgain) {
    BPFVM_REQUIRE_KERNEL();
    auto root = kernel::bpffs_root();
    ASSERT_TRUE(root.has_value()) << root.error().to_string();
    auto file = load_object(tool("execsnoop"));
    ASSERT_TRUE(file.has_value());
    kernel::KernelOptions options;
    options.name_prefix = prefix_;
    const std::string dir = *root + "/" + prefix_ + "bridge";
    {
        auto ko = kernel::KernelObject::open(*file, options);
        ASSERT_TRUE(ko.has_value()) << ko.error().to_string();
        ASSERT_TRUE(ko->load_all().has_value());
        auto st = ko->pin(dir);
        ASSERT_TRUE(st.has_value()) << st.error().to_string();
    }
    EXPECT_TRUE(kernel::is_on_bpffs(dir));
    auto map = kernel::open_pinned(dir + "/maps/execs_total");
    ASSERT_TRUE(map.has_value()) << map.error().to_string();
    EXPECT_EQ(kernel::object_kind(map->get()), kernel::ObjectKind::Map);
    auto prog = kernel::open_pinned(dir + "/programs/trace_execve");
    ASSERT_TRUE(prog.has_value());
    EXPECT_EQ(kernel::object_kind(prog->get()), kernel::ObjectKind::Program);
    EXPECT_TRUE(std::filesystem::exists(dir + "/maps/_rodata")) << "'.rodata' is pinned as '_rodata'";
    auto bad = kernel::pin_object(map->get(), "/tmp/bpfvm-not-bpffs-" + std::to_string(::getpid()));
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().message.find("(not on a bpffs mount)"), std::string::npos) << bad.error().message;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    EXPECT_FALSE(ec) << ec.message();
}

TEST(Globals, SetByNameInTheirOwnSize) {
    auto file = load_object(tool("opensnoop"));
    ASSERT_TRUE(file.has_value());
    ASSERT_TRUE(kernel::set_global_integer(*file, "targ_tgid", 1234).has_value());
    const MapSpec* rodata = file->find_map(".rodata");
    ASSERT_NE(rodata, nullptr);
    ASSERT_GE(rodata->initial_data.size(), 4u);
    uint32_t v = 0;
    std::memcpy(&v, rodata->initial_data.data(), 4);
    EXPECT_EQ(v, 1234u);
    auto big = kernel::set_global_integer(*file, "targ_tgid", int64_t{1} << 32);
    ASSERT_FALSE(big.has_value());
    EXPECT_EQ(big.error().message, "4294967296 does not fit global variable 'targ_tgid' (4 bytes)");
    auto none = kernel::set_global_integer(*file, "nope", 1);
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().message, "no global variable 'nope' in " + tool("opensnoop"));
    const uint8_t two[2] = {1, 2};
    auto size = kernel::set_global_variable(*file, "targ_tgid", two);
    ASSERT_FALSE(size.has_value());
    EXPECT_EQ(size.error().message, "global variable 'targ_tgid' has 4 bytes, not 2");
}

TEST(AttachTargets, TracepointsAndUprobes) {
    const std::string target = std::string(BPFVM_TOOLS_BUILD_DIR) + "/uprobe_target";
    auto up = kernel::resolve_uprobe(target + ":bpfvm_traced_call+4");
    ASSERT_TRUE(up.has_value()) << up.error().to_string();
    EXPECT_EQ(up->symbol, "bpfvm_traced_call");
    EXPECT_EQ(up->offset, 4u);
    EXPECT_GT(up->file_offset, 4u);
    EXPECT_EQ(kernel::resolve_uprobe("nocolon").error().message,
              "uprobe target 'nocolon': expected BINARY:SYMBOL[+OFFSET], e.g. /bin/bash:readline");
    EXPECT_EQ(kernel::resolve_uprobe(target + ":").error().message,
              "uprobe target '" + target + ":': expected BINARY:SYMBOL[+OFFSET], e.g. /bin/bash:readline");
    EXPECT_EQ(kernel::resolve_uprobe("no-such-binary-bpfvm:f").error().message,
              "uprobe target 'no-such-binary-bpfvm:f': no file 'no-such-binary-bpfvm'");
    auto sh = kernel::resolve_uprobe("sh:main");  // through $PATH
    if (!sh) {  // a stripped sh has no main
        EXPECT_EQ(sh.error().code, ErrorCode::kNotFound) << sh.error().to_string();
    }

    BPFVM_REQUIRE_TRACING();
    auto id = kernel::tracepoint_id("syscalls/sys_enter_openat");
    ASSERT_TRUE(id.has_value()) << id.error().to_string();
    EXPECT_GT(*id, 0u);
    auto missing = kernel::tracepoint_id("nosuch/tracepoint");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(missing.error().message.rfind("no tracepoint 'nosuch/tracepoint' (", 0), 0u) << missing.error().message;
    EXPECT_EQ(kernel::tracepoint_id("../etc").error().message,
              "tracepoint '../etc': expected CATEGORY/NAME, e.g. syscalls/sys_enter_openat");
}

TEST(AttachPlans, SectionsMapToAttachPoints) {
    auto probes = load_object(fixture("probes"));
    ASSERT_TRUE(probes.has_value()) << probes.error().to_string();
    kernel::AttachOptions options;
    auto plan = [&](const char* program) {
        auto p = kernel::plan_attach(*probes->find_program(program), options);
        return p ? p->description : "error: " + p.error().to_string();
    };
    EXPECT_EQ(plan("on_unlink_kprobe"), "kprobe do_unlinkat");
    EXPECT_EQ(plan("on_unlink_fentry"), "fentry do_unlinkat");
    EXPECT_EQ(plan("on_sample"), "perf_event cpu-clock at 49 Hz");
    EXPECT_EQ(plan("on_getppid"), "tracepoint syscalls/sys_enter_getppid");
    auto up = load_object(tool("uprobe_count"));
    ASSERT_TRUE(up.has_value());
    auto bare = kernel::plan_attach(up->programs.front(), options);
    ASSERT_FALSE(bare.has_value());
    EXPECT_EQ(bare.error().to_string(),
              "count_calls (section 'uprobe'): needs a uprobe target: BINARY:SYMBOL in the section or --uprobe");
    options.uprobe = "/bin/true:main";
    EXPECT_EQ(kernel::plan_attach(up->programs.front(), options)->description, "uprobe /bin/true:main");
    auto tc = load_object(example("tc_classifier"));
    ASSERT_TRUE(tc.has_value());
    options.interface = "eth9";
    EXPECT_EQ(kernel::plan_attach(tc->programs.front(), options)->description, "tcx ingress on eth9");
    auto socket = load_object(example("socket_filter"));
    ASSERT_TRUE(socket.has_value());
    auto refused = kernel::plan_attach(socket->programs.front(), options);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().message, "bpfvm attach does not attach socket_filter programs");
}

}  // namespace
}  // namespace bpfvm::ktest
