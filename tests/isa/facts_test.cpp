// The fact tables (prog_types.def, attach_types.def, map_types.def, helpers.def, sections.def)
// checked against this machine's linux/bpf.h (the Linux 6.1 uapi). Rows newer than that header are
// checked against the running kernel's BTF in tests/loader/facts_btf_test.cpp.
#include <linux/bpf.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "bpfvm/facts.hpp"
#include "bpfvm/helper_protos.hpp"
#include "bpfvm/isa.hpp"

namespace bpfvm {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

#define UAPI(e) std::pair<long, std::string>{e, #e}

TEST(Facts, ProgramTypesMatchUapi) {
    const std::vector<std::pair<long, std::string>> uapi = {
        UAPI(BPF_PROG_TYPE_UNSPEC), UAPI(BPF_PROG_TYPE_SOCKET_FILTER), UAPI(BPF_PROG_TYPE_KPROBE),
        UAPI(BPF_PROG_TYPE_SCHED_CLS), UAPI(BPF_PROG_TYPE_SCHED_ACT), UAPI(BPF_PROG_TYPE_TRACEPOINT),
        UAPI(BPF_PROG_TYPE_XDP), UAPI(BPF_PROG_TYPE_PERF_EVENT), UAPI(BPF_PROG_TYPE_CGROUP_SKB),
        UAPI(BPF_PROG_TYPE_CGROUP_SOCK), UAPI(BPF_PROG_TYPE_LWT_IN), UAPI(BPF_PROG_TYPE_LWT_OUT),
        UAPI(BPF_PROG_TYPE_LWT_XMIT), UAPI(BPF_PROG_TYPE_SOCK_OPS), UAPI(BPF_PROG_TYPE_SK_SKB),
        UAPI(BPF_PROG_TYPE_CGROUP_DEVICE), UAPI(BPF_PROG_TYPE_SK_MSG), UAPI(BPF_PROG_TYPE_RAW_TRACEPOINT),
        UAPI(BPF_PROG_TYPE_CGROUP_SOCK_ADDR), UAPI(BPF_PROG_TYPE_LWT_SEG6LOCAL), UAPI(BPF_PROG_TYPE_LIRC_MODE2),
        UAPI(BPF_PROG_TYPE_SK_REUSEPORT), UAPI(BPF_PROG_TYPE_FLOW_DISSECTOR), UAPI(BPF_PROG_TYPE_CGROUP_SYSCTL),
        UAPI(BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE), UAPI(BPF_PROG_TYPE_CGROUP_SOCKOPT),
        UAPI(BPF_PROG_TYPE_TRACING), UAPI(BPF_PROG_TYPE_STRUCT_OPS), UAPI(BPF_PROG_TYPE_EXT),
        UAPI(BPF_PROG_TYPE_LSM), UAPI(BPF_PROG_TYPE_SK_LOOKUP), UAPI(BPF_PROG_TYPE_SYSCALL)};
    ASSERT_GE(kNumProgramTypes, uapi.size());
    for (const auto& [value, name] : uapi)
        EXPECT_EQ("BPF_PROG_TYPE_" + upper(program_type_name(static_cast<ProgramType>(value))), name) << value;
    EXPECT_EQ(program_type_name(static_cast<ProgramType>(99)), "unknown(99)");
    EXPECT_EQ(program_type_by_name("sched_cls"), ProgramType::SchedCls);
    EXPECT_FALSE(program_type_by_name("nope"));
}

TEST(Facts, AttachTypesMatchUapi) {
    const std::vector<std::pair<long, std::string>> uapi = {
        UAPI(BPF_CGROUP_INET_INGRESS), UAPI(BPF_CGROUP_INET_EGRESS), UAPI(BPF_CGROUP_INET_SOCK_CREATE),
        UAPI(BPF_CGROUP_SOCK_OPS), UAPI(BPF_SK_SKB_STREAM_PARSER), UAPI(BPF_SK_SKB_STREAM_VERDICT),
        UAPI(BPF_CGROUP_DEVICE), UAPI(BPF_SK_MSG_VERDICT), UAPI(BPF_CGROUP_INET4_BIND), UAPI(BPF_CGROUP_INET6_BIND),
        UAPI(BPF_CGROUP_INET4_CONNECT), UAPI(BPF_CGROUP_INET6_CONNECT), UAPI(BPF_CGROUP_INET4_POST_BIND),
        UAPI(BPF_CGROUP_INET6_POST_BIND), UAPI(BPF_CGROUP_UDP4_SENDMSG), UAPI(BPF_CGROUP_UDP6_SENDMSG),
        UAPI(BPF_LIRC_MODE2), UAPI(BPF_FLOW_DISSECTOR), UAPI(BPF_CGROUP_SYSCTL), UAPI(BPF_CGROUP_UDP4_RECVMSG),
        UAPI(BPF_CGROUP_UDP6_RECVMSG), UAPI(BPF_CGROUP_GETSOCKOPT), UAPI(BPF_CGROUP_SETSOCKOPT),
        UAPI(BPF_TRACE_RAW_TP), UAPI(BPF_TRACE_FENTRY), UAPI(BPF_TRACE_FEXIT), UAPI(BPF_MODIFY_RETURN),
        UAPI(BPF_LSM_MAC), UAPI(BPF_TRACE_ITER), UAPI(BPF_CGROUP_INET4_GETPEERNAME),
        UAPI(BPF_CGROUP_INET6_GETPEERNAME), UAPI(BPF_CGROUP_INET4_GETSOCKNAME), UAPI(BPF_CGROUP_INET6_GETSOCKNAME),
        UAPI(BPF_XDP_DEVMAP), UAPI(BPF_CGROUP_INET_SOCK_RELEASE), UAPI(BPF_XDP_CPUMAP), UAPI(BPF_SK_LOOKUP),
        UAPI(BPF_XDP), UAPI(BPF_SK_SKB_VERDICT), UAPI(BPF_SK_REUSEPORT_SELECT),
        UAPI(BPF_SK_REUSEPORT_SELECT_OR_MIGRATE), UAPI(BPF_PERF_EVENT), UAPI(BPF_TRACE_KPROBE_MULTI),
        UAPI(BPF_LSM_CGROUP)};
    ASSERT_EQ(uapi.size(), static_cast<size_t>(__MAX_BPF_ATTACH_TYPE));
    ASSERT_GE(kNumAttachTypes, uapi.size());
    for (const auto& [value, name] : uapi)
        EXPECT_EQ("BPF_" + upper(attach_type_name(static_cast<AttachType>(value))), name) << value;
    EXPECT_EQ(attach_type_by_name("tcx_ingress"), AttachType::TcxIngress);
}

TEST(Facts, MapTypesMatchUapi) {
    const std::vector<std::pair<long, std::string>> uapi = {
        UAPI(BPF_MAP_TYPE_UNSPEC), UAPI(BPF_MAP_TYPE_HASH), UAPI(BPF_MAP_TYPE_ARRAY), UAPI(BPF_MAP_TYPE_PROG_ARRAY),
        UAPI(BPF_MAP_TYPE_PERF_EVENT_ARRAY), UAPI(BPF_MAP_TYPE_PERCPU_HASH), UAPI(BPF_MAP_TYPE_PERCPU_ARRAY),
        UAPI(BPF_MAP_TYPE_STACK_TRACE), UAPI(BPF_MAP_TYPE_CGROUP_ARRAY), UAPI(BPF_MAP_TYPE_LRU_HASH),
        UAPI(BPF_MAP_TYPE_LRU_PERCPU_HASH), UAPI(BPF_MAP_TYPE_LPM_TRIE), UAPI(BPF_MAP_TYPE_ARRAY_OF_MAPS),
        UAPI(BPF_MAP_TYPE_HASH_OF_MAPS), UAPI(BPF_MAP_TYPE_DEVMAP), UAPI(BPF_MAP_TYPE_SOCKMAP),
        UAPI(BPF_MAP_TYPE_CPUMAP), UAPI(BPF_MAP_TYPE_XSKMAP), UAPI(BPF_MAP_TYPE_SOCKHASH),
        UAPI(BPF_MAP_TYPE_CGROUP_STORAGE), UAPI(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY),
        UAPI(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE), UAPI(BPF_MAP_TYPE_QUEUE), UAPI(BPF_MAP_TYPE_STACK),
        UAPI(BPF_MAP_TYPE_SK_STORAGE), UAPI(BPF_MAP_TYPE_DEVMAP_HASH), UAPI(BPF_MAP_TYPE_STRUCT_OPS),
        UAPI(BPF_MAP_TYPE_RINGBUF), UAPI(BPF_MAP_TYPE_INODE_STORAGE), UAPI(BPF_MAP_TYPE_TASK_STORAGE),
        UAPI(BPF_MAP_TYPE_BLOOM_FILTER), UAPI(BPF_MAP_TYPE_USER_RINGBUF)};
    ASSERT_GE(kNumMapTypes, uapi.size());
    for (const auto& [value, name] : uapi)
        EXPECT_EQ("BPF_MAP_TYPE_" + upper(map_type_name(static_cast<MapType>(value))), name) << value;
    EXPECT_EQ(map_type_name(MapType::CgrpStorage), "cgrp_storage");
    EXPECT_EQ(map_type_by_name("arena"), MapType::Arena);
}

TEST(Facts, HelperIdsAndNamesMatchUapi) {
    // __BPF_FUNC_MAPPER expands to FN(unspec), FN(map_lookup_elem), ... (comma separated).
#define BPFVM_UAPI_FN(x) std::pair<long, std::string>{BPF_FUNC_##x, #x}
    const std::vector<std::pair<long, std::string>> uapi = {__BPF_FUNC_MAPPER(BPFVM_UAPI_FN)};
#undef BPFVM_UAPI_FN
    ASSERT_EQ(uapi.size(), static_cast<size_t>(__BPF_FUNC_MAX_ID));
    ASSERT_GE(static_cast<size_t>(kNumHelperIds), uapi.size());
    for (const auto& [id, name] : uapi) {
        const HelperProto* p = helper_proto(static_cast<int32_t>(id));
        ASSERT_NE(p, nullptr) << name;
        EXPECT_EQ(p->name, name) << id;
        if (id > 0) {
            EXPECT_EQ(helper_id_by_name(name), id);
            EXPECT_EQ(helper_id_by_name("bpf_" + name), id);
        }
    }
    EXPECT_EQ(helper_index(HelperId::map_lookup_elem), BPF_FUNC_map_lookup_elem);
    EXPECT_EQ(helper_index(HelperId::user_ringbuf_drain), BPF_FUNC_user_ringbuf_drain);
    EXPECT_EQ(helper_id_by_name("no_such_helper"), -1);
    EXPECT_EQ(helper_name(0), "");
    EXPECT_EQ(helper_name(kNumHelperIds), "");
}

TEST(Facts, HelperPrototypes) {
    // A few rows spelled out: what the kernel's bpf_func_protos declare.
    const HelperProto* lookup = helper_proto(BPF_FUNC_map_lookup_elem);
    EXPECT_EQ(lookup->ret, HelperRet::MapValueOrNull);
    EXPECT_EQ(lookup->args[0], HelperArg::ConstMapPtr);
    EXPECT_EQ(lookup->args[1], HelperArg::MapKey);
    EXPECT_EQ(lookup->num_args(), 2);
    EXPECT_TRUE(helper_allowed(BPF_FUNC_map_lookup_elem, ProgramType::SocketFilter, false));

    const HelperProto* reserve = helper_proto(BPF_FUNC_ringbuf_reserve);
    EXPECT_EQ(reserve->ret, HelperRet::AllocMemOrNull);
    EXPECT_EQ(reserve->args[1], HelperArg::ConstAllocSizeOrZero);
    EXPECT_TRUE(reserve->has(kHelperAcquire));
    EXPECT_TRUE(helper_proto(BPF_FUNC_ringbuf_submit)->has(kHelperRelease));
    EXPECT_TRUE(helper_arg_info(helper_proto(BPF_FUNC_ringbuf_submit)->args[0]).release);

    EXPECT_TRUE(helper_proto(BPF_FUNC_trace_printk)->has(kHelperGpl));
    EXPECT_TRUE(helper_proto(BPF_FUNC_xdp_adjust_head)->has(kHelperChangesPkt));
    EXPECT_TRUE(helper_proto(BPF_FUNC_skb_store_bytes)->has(kHelperChangesPkt));
    EXPECT_FALSE(helper_proto(BPF_FUNC_skb_load_bytes)->has(kHelperChangesPkt));
    EXPECT_EQ(helper_proto(BPF_FUNC_sk_lookup_tcp)->ret, HelperRet::SocketOrNull);
    EXPECT_EQ(helper_proto(BPF_FUNC_get_current_task_btf)->ret_btf, "task_struct");

    // Program types: xdp programs may adjust their head, socket filters may not.
    EXPECT_TRUE(helper_allowed(BPF_FUNC_xdp_adjust_head, ProgramType::Xdp, true));
    EXPECT_FALSE(helper_allowed(BPF_FUNC_xdp_adjust_head, ProgramType::SocketFilter, true));
    EXPECT_TRUE(helper_allowed(BPF_FUNC_skb_load_bytes, ProgramType::SchedCls, false));
    EXPECT_FALSE(helper_allowed(BPF_FUNC_skb_load_bytes, ProgramType::Xdp, true));
    EXPECT_TRUE(helper_allowed(BPF_FUNC_probe_read_kernel, ProgramType::Kprobe, true));

    // Privilege: bpf_base_func_proto gives bpf_loop and bpf_spin_lock only with CAP_BPF,
    // trace_printk only with CAP_PERFMON.
    EXPECT_FALSE(helper_allowed(BPF_FUNC_loop, ProgramType::SocketFilter, false));
    EXPECT_TRUE(helper_allowed(BPF_FUNC_loop, ProgramType::SocketFilter, true));
    EXPECT_FALSE(helper_allowed(BPF_FUNC_trace_printk, ProgramType::CgroupSkb, false));
    EXPECT_TRUE(helper_allowed(BPF_FUNC_trace_printk, ProgramType::CgroupSkb, true));

    // Per-type prototypes: perf_event_output takes a BTF sk_buff in tracing, the ctx elsewhere;
    // get_stackid is GPL-only except for perf_event programs.
    EXPECT_EQ(helper_proto(BPF_FUNC_perf_event_output, ProgramType::Kprobe)->args[0], HelperArg::Ctx);
    EXPECT_TRUE(helper_proto(BPF_FUNC_get_stackid, ProgramType::Kprobe)->has(kHelperGpl));
    EXPECT_FALSE(helper_proto(BPF_FUNC_get_stackid, ProgramType::PerfEvent)->has(kHelperGpl));
    EXPECT_EQ(helper_proto(BPF_FUNC_get_stackid, ProgramType::Xdp), nullptr);

    // Callbacks.
    const HelperCallback* loop = helper_callback(BPF_FUNC_loop);
    ASSERT_NE(loop, nullptr);
    EXPECT_EQ(loop->args[0], CallbackArg::Scalar);
    EXPECT_EQ(loop->args[1], CallbackArg::HelperArg3);
    EXPECT_EQ(loop->ret_max, 1);
    const HelperCallback* each = helper_callback(BPF_FUNC_for_each_map_elem);
    ASSERT_NE(each, nullptr);
    EXPECT_EQ(each->args[2], CallbackArg::MapValue);
    EXPECT_EQ(helper_callback(BPF_FUNC_map_lookup_elem), nullptr);
    // Every helper with a Func argument has a callback row, and no other.
    for (const HelperProto& p : helper_protos()) {
        bool func = false;
        for (HelperArg a : p.args) func = func || a == HelperArg::Func;
        EXPECT_EQ(func, helper_callback(p.id) != nullptr) << p.name;
    }
}

TEST(Facts, HelperRowsAreConsistent) {
    for (const HelperProto& p : helper_protos()) {
        if (p.id == 0) continue;
        EXPECT_NE(p.progs, 0u) << p.name << ": no program type may call it";
        EXPECT_EQ(p.progs & program_type_bit(ProgramType::Unspec), 0u) << p.name;
        // A memory argument whose size comes from the next argument is followed by a size.
        for (int i = 0; i < 5; ++i) {
            const HelperArgInfo info = helper_arg_info(p.args[i]);
            const bool sized_mem = info.cls == HelperArgClass::Mem && info.fixed_size == 0 &&
                                   p.args[i] != HelperArg::RingbufMemRelease;
            if (!sized_mem) continue;
            ASSERT_LT(i, 4) << p.name;
            EXPECT_EQ(helper_arg_info(p.args[i + 1]).cls, HelperArgClass::Size) << p.name << " arg" << i + 1;
        }
        const bool btf_arg = std::any_of(std::begin(p.args), std::end(p.args), [](HelperArg a) {
            return a == HelperArg::BtfId || a == HelperArg::BtfIdOrNull;
        });
        EXPECT_EQ(btf_arg, !p.arg_btf.empty()) << p.name;
        EXPECT_EQ(p.ret == HelperRet::BtfId || p.ret == HelperRet::BtfIdOrNull,
                  !p.ret_btf.empty() || p.id == BPF_FUNC_kptr_xchg)
            << p.name;
    }
    for (const HelperProto& v : helper_proto_variants()) EXPECT_EQ(helper_proto(v.id)->name, v.name);
    for (int a = 0; a <= static_cast<int>(HelperArg::DynptrRingbufRelease); ++a)
        EXPECT_FALSE(helper_arg_name(static_cast<HelperArg>(a)).empty());
}

TEST(Facts, SectionNames) {
    struct Case {
        const char* name;
        ProgramType type;
        std::optional<AttachType> attach;
        const char* target;
    };
    const Case cases[] = {
        {"xdp", ProgramType::Xdp, AttachType::Xdp, ""},
        {"xdp.frags", ProgramType::Xdp, AttachType::Xdp, ""},
        {"xdp_redirect_prog", ProgramType::Xdp, AttachType::Xdp, "_redirect_prog"},
        {"tp/syscalls/sys_enter_write", ProgramType::Tracepoint, std::nullopt, "syscalls/sys_enter_write"},
        {"tracepoint", ProgramType::Tracepoint, std::nullopt, ""},
        {"raw_tp", ProgramType::RawTracepoint, std::nullopt, ""},
        {"raw_tracepoint.w", ProgramType::RawTracepointWritable, std::nullopt, ""},
        {"kprobe", ProgramType::Kprobe, std::nullopt, ""},
        {"kprobe/do_nanosleep", ProgramType::Kprobe, std::nullopt, "do_nanosleep"},
        {"kprobe.multi/foo*", ProgramType::Kprobe, AttachType::TraceKprobeMulti, "foo*"},
        {"uprobe.multi.s/x", ProgramType::Kprobe, AttachType::TraceUprobeMulti, "x"},
        {"fentry/bpf_fentry_test1", ProgramType::Tracing, AttachType::TraceFentry, "bpf_fentry_test1"},
        {"tc", ProgramType::SchedCls, std::nullopt, ""},
        {"tc/ingress", ProgramType::SchedCls, AttachType::TcxIngress, ""},
        {"tcx/egress", ProgramType::SchedCls, AttachType::TcxEgress, ""},
        {"netkit/peer", ProgramType::SchedCls, AttachType::NetkitPeer, ""},
        {"classifier", ProgramType::SchedCls, std::nullopt, ""},
        {"action", ProgramType::SchedAct, std::nullopt, ""},
        {"socket", ProgramType::SocketFilter, std::nullopt, ""},
        {"socket1", ProgramType::SocketFilter, std::nullopt, "1"},
        {"cgroup/connect_unix", ProgramType::CgroupSockAddr, AttachType::CgroupUnixConnect, ""},
        {"cgroup/recv_accept4", ProgramType::CgroupSockAddr, std::nullopt, "recv_accept4"},
        {"cgroup/skb", ProgramType::CgroupSkb, std::nullopt, ""},
        {"sk_skb/verdict", ProgramType::SkSkb, AttachType::SkSkbVerdict, ""},
        {"lsm.s/bprm_committed_creds", ProgramType::Lsm, AttachType::LsmMac, "bprm_committed_creds"},
        {"syscall", ProgramType::Syscall, std::nullopt, ""},
        {"netfilter", ProgramType::Netfilter, AttachType::Netfilter, ""},
        {".text", ProgramType::Unspec, std::nullopt, ""},
        {"2/1", ProgramType::Unspec, std::nullopt, ""},
        {"kprobex", ProgramType::Unspec, std::nullopt, ""},
    };
    for (const Case& c : cases) {
        const SectionInfo info = program_type_for_section(c.name);
        EXPECT_EQ(program_type_name(info.type), program_type_name(c.type)) << c.name;
        EXPECT_EQ(info.attach, c.attach) << c.name;
        EXPECT_EQ(info.target, c.target) << c.name;
        EXPECT_TRUE(info.autoload) << c.name;
    }
    const SectionInfo q = program_type_for_section("?tc");
    EXPECT_EQ(q.type, ProgramType::SchedCls);
    EXPECT_FALSE(q.autoload);
    EXPECT_TRUE(program_type_for_section("fentry.s/x").sleepable());
    EXPECT_TRUE(program_type_for_section("syscall").sleepable());
    EXPECT_FALSE(program_type_for_section("fentry/x").sleepable());
    EXPECT_TRUE(program_type_for_section("xdp.frags").flags & kSecXdpFrags);
    EXPECT_TRUE(program_type_for_section("usdt/x").flags & kSecUsdt);
    EXPECT_TRUE(program_type_for_section("classifier/foo").flags & kSecLegacy);
    EXPECT_FALSE(program_type_for_section("tc").flags & kSecLegacy);
    EXPECT_GT(section_defs().size(), 100u);
}

}  // namespace
}  // namespace bpfvm
