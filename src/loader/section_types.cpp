// Section name -> program type, expected attach type and attach target, following the libbpf
// section naming conventions (including the older names used by samples/bpf and iproute2).
#include "section_types.hpp"

#include <array>

namespace bpfvm {
namespace loader {
namespace {

using PT = ProgramType;
using AT = AttachType;

struct SectionRule {
    std::string_view prefix;
    ProgramType type;
    std::optional<AttachType> attach;
    bool exact;  // the whole name must match (otherwise prefix; "x/" rules take a target after the slash)
};

// Order matters: longer prefixes before shorter ones that they extend.
constexpr std::array kRules = {
    SectionRule{"socket", PT::SocketFilter, std::nullopt, false},
    SectionRule{"sk_reuseport/migrate", PT::SkReuseport, AT::SkReuseportSelectOrMigrate, true},
    SectionRule{"sk_reuseport", PT::SkReuseport, AT::SkReuseportSelect, true},
    SectionRule{"kprobe.multi/", PT::Kprobe, AT::TraceKprobeMulti, false},
    SectionRule{"kretprobe.multi/", PT::Kprobe, AT::TraceKprobeMulti, false},
    SectionRule{"kprobe/", PT::Kprobe, std::nullopt, false},
    SectionRule{"uprobe", PT::Kprobe, std::nullopt, false},
    SectionRule{"kretprobe/", PT::Kprobe, std::nullopt, false},
    SectionRule{"uretprobe", PT::Kprobe, std::nullopt, false},
    SectionRule{"usdt", PT::Kprobe, std::nullopt, false},
    SectionRule{"ksyscall/", PT::Kprobe, std::nullopt, false},
    SectionRule{"kretsyscall/", PT::Kprobe, std::nullopt, false},
    SectionRule{"tc/ingress", PT::SchedCls, std::nullopt, true},
    SectionRule{"tc/egress", PT::SchedCls, std::nullopt, true},
    SectionRule{"tcx/", PT::SchedCls, std::nullopt, false},
    SectionRule{"tc", PT::SchedCls, std::nullopt, false},
    SectionRule{"classifier", PT::SchedCls, std::nullopt, false},
    SectionRule{"action", PT::SchedAct, std::nullopt, false},
    SectionRule{"tracepoint/", PT::Tracepoint, std::nullopt, false},
    SectionRule{"tp/", PT::Tracepoint, std::nullopt, false},
    SectionRule{"raw_tracepoint.w/", PT::RawTracepointWritable, std::nullopt, false},
    SectionRule{"raw_tp.w/", PT::RawTracepointWritable, std::nullopt, false},
    SectionRule{"raw_tracepoint/", PT::RawTracepoint, std::nullopt, false},
    SectionRule{"raw_tp/", PT::RawTracepoint, std::nullopt, false},
    SectionRule{"tp_btf/", PT::Tracing, AT::TraceRawTp, false},
    SectionRule{"fentry.s/", PT::Tracing, AT::TraceFentry, false},
    SectionRule{"fmod_ret.s/", PT::Tracing, AT::ModifyReturn, false},
    SectionRule{"fexit.s/", PT::Tracing, AT::TraceFexit, false},
    SectionRule{"fentry/", PT::Tracing, AT::TraceFentry, false},
    SectionRule{"fmod_ret/", PT::Tracing, AT::ModifyReturn, false},
    SectionRule{"fexit/", PT::Tracing, AT::TraceFexit, false},
    SectionRule{"iter.s/", PT::Tracing, AT::TraceIter, false},
    SectionRule{"iter/", PT::Tracing, AT::TraceIter, false},
    SectionRule{"freplace/", PT::Ext, std::nullopt, false},
    SectionRule{"lsm.s/", PT::Lsm, AT::LsmMac, false},
    SectionRule{"lsm_cgroup/", PT::Lsm, AT::LsmCgroup, false},
    SectionRule{"lsm/", PT::Lsm, AT::LsmMac, false},
    SectionRule{"xdp.frags/devmap", PT::Xdp, AT::XdpDevmap, true},
    SectionRule{"xdp/devmap", PT::Xdp, AT::XdpDevmap, true},
    SectionRule{"xdp.frags/cpumap", PT::Xdp, AT::XdpCpumap, true},
    SectionRule{"xdp/cpumap", PT::Xdp, AT::XdpCpumap, true},
    SectionRule{"xdp.frags", PT::Xdp, AT::Xdp, true},
    SectionRule{"xdp", PT::Xdp, AT::Xdp, false},
    SectionRule{"perf_event", PT::PerfEvent, std::nullopt, false},
    SectionRule{"lwt_in", PT::LwtIn, std::nullopt, false},
    SectionRule{"lwt_out", PT::LwtOut, std::nullopt, false},
    SectionRule{"lwt_xmit", PT::LwtXmit, std::nullopt, false},
    SectionRule{"lwt_seg6local", PT::LwtSeg6local, std::nullopt, false},
    SectionRule{"sockops", PT::SockOps, AT::CgroupSockOps, false},
    SectionRule{"sk_skb/stream_parser", PT::SkSkb, AT::SkSkbStreamParser, false},
    SectionRule{"sk_skb/stream_verdict", PT::SkSkb, AT::SkSkbStreamVerdict, false},
    SectionRule{"sk_skb", PT::SkSkb, std::nullopt, false},
    SectionRule{"sk_msg", PT::SkMsg, AT::SkMsgVerdict, false},
    SectionRule{"lirc_mode2", PT::LircMode2, AT::LircMode2, false},
    SectionRule{"flow_dissector", PT::FlowDissector, AT::FlowDissector, false},
    SectionRule{"cgroup_skb/ingress", PT::CgroupSkb, AT::CgroupInetIngress, true},
    SectionRule{"cgroup_skb/egress", PT::CgroupSkb, AT::CgroupInetEgress, true},
    SectionRule{"cgroup/skb", PT::CgroupSkb, std::nullopt, true},
    SectionRule{"cgroup/sock_create", PT::CgroupSock, AT::CgroupInetSockCreate, true},
    SectionRule{"cgroup/sock_release", PT::CgroupSock, AT::CgroupInetSockRelease, true},
    SectionRule{"cgroup/sock", PT::CgroupSock, AT::CgroupInetSockCreate, true},
    SectionRule{"cgroup/post_bind4", PT::CgroupSock, AT::CgroupInet4PostBind, true},
    SectionRule{"cgroup/post_bind6", PT::CgroupSock, AT::CgroupInet6PostBind, true},
    SectionRule{"cgroup/dev", PT::CgroupDevice, AT::CgroupDevice, true},
    SectionRule{"cgroup/bind4", PT::CgroupSockAddr, AT::CgroupInet4Bind, true},
    SectionRule{"cgroup/bind6", PT::CgroupSockAddr, AT::CgroupInet6Bind, true},
    SectionRule{"cgroup/connect4", PT::CgroupSockAddr, AT::CgroupInet4Connect, true},
    SectionRule{"cgroup/connect6", PT::CgroupSockAddr, AT::CgroupInet6Connect, true},
    SectionRule{"cgroup/sendmsg4", PT::CgroupSockAddr, AT::CgroupUdp4Sendmsg, true},
    SectionRule{"cgroup/sendmsg6", PT::CgroupSockAddr, AT::CgroupUdp6Sendmsg, true},
    SectionRule{"cgroup/recvmsg4", PT::CgroupSockAddr, AT::CgroupUdp4Recvmsg, true},
    SectionRule{"cgroup/recvmsg6", PT::CgroupSockAddr, AT::CgroupUdp6Recvmsg, true},
    SectionRule{"cgroup/getpeername4", PT::CgroupSockAddr, AT::CgroupInet4Getpeername, true},
    SectionRule{"cgroup/getpeername6", PT::CgroupSockAddr, AT::CgroupInet6Getpeername, true},
    SectionRule{"cgroup/getsockname4", PT::CgroupSockAddr, AT::CgroupInet4Getsockname, true},
    SectionRule{"cgroup/getsockname6", PT::CgroupSockAddr, AT::CgroupInet6Getsockname, true},
    SectionRule{"cgroup/sysctl", PT::CgroupSysctl, AT::CgroupSysctl, true},
    SectionRule{"cgroup/getsockopt", PT::CgroupSockopt, AT::CgroupGetsockopt, true},
    SectionRule{"cgroup/setsockopt", PT::CgroupSockopt, AT::CgroupSetsockopt, true},
    SectionRule{"cgroup/", PT::CgroupSockAddr, std::nullopt, false},  // cilium's cgroup/recv_accept4 etc.
    SectionRule{"struct_ops.s/", PT::StructOps, std::nullopt, false},
    SectionRule{"struct_ops/", PT::StructOps, std::nullopt, false},
    SectionRule{"struct_ops", PT::StructOps, std::nullopt, false},
    SectionRule{"sk_lookup", PT::SkLookup, AT::SkLookup, false},
    SectionRule{"syscall", PT::Syscall, std::nullopt, true},
    SectionRule{"netfilter", PT::Netfilter, AT::Netfilter, true},
};

}  // namespace

SectionKind classify_section(std::string_view name) {
    SectionKind out;
    for (const auto& rule : kRules) {
        const bool match = rule.exact ? name == rule.prefix : name.substr(0, rule.prefix.size()) == rule.prefix;
        if (!match) continue;
        out.type = rule.type;
        out.attach = rule.attach;
        out.sleepable = rule.prefix.find(".s/") != std::string_view::npos;
        std::string_view rest = name.substr(rule.prefix.size());
        if (!rule.prefix.empty() && rule.prefix.back() != '/' && !rest.empty() && rest.front() == '/') rest.remove_prefix(1);
        out.target = std::string(rest);
        return out;
    }
    return out;  // Unspec: unknown names (e.g. ".text", "test", "2/1") keep no type
}

}  // namespace loader

std::string program_type_name(ProgramType type) {
    static constexpr std::array<std::string_view, 33> kNames = {
        "unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp", "perf_event",
        "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb", "cgroup_device",
        "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport",
        "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops",
        "ext", "lsm", "sk_lookup", "syscall", "netfilter"};
    const auto v = static_cast<uint32_t>(type);
    return v < kNames.size() ? std::string(kNames[v]) : "unknown(" + std::to_string(v) + ")";
}

std::string map_type_name(MapType type) {
    static constexpr std::array<std::string_view, 33> kNames = {
        "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array", "stack_trace",
        "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps", "hash_of_maps", "devmap",
        "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage", "reuseport_sockarray",
        "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash", "struct_ops", "ringbuf",
        "inode_storage", "task_storage", "bloom_filter", "user_ringbuf", "cgrp_storage"};
    const auto v = static_cast<uint32_t>(type);
    return v < kNames.size() ? std::string(kNames[v]) : "unknown(" + std::to_string(v) + ")";
}

std::string attach_type_name(AttachType type) {
    static constexpr std::array<std::string_view, 46> kNames = {
        "cgroup_inet_ingress", "cgroup_inet_egress", "cgroup_inet_sock_create", "cgroup_sock_ops",
        "sk_skb_stream_parser", "sk_skb_stream_verdict", "cgroup_device", "sk_msg_verdict", "cgroup_inet4_bind",
        "cgroup_inet6_bind", "cgroup_inet4_connect", "cgroup_inet6_connect", "cgroup_inet4_post_bind",
        "cgroup_inet6_post_bind", "cgroup_udp4_sendmsg", "cgroup_udp6_sendmsg", "lirc_mode2", "flow_dissector",
        "cgroup_sysctl", "cgroup_udp4_recvmsg", "cgroup_udp6_recvmsg", "cgroup_getsockopt", "cgroup_setsockopt",
        "trace_raw_tp", "trace_fentry", "trace_fexit", "modify_return", "lsm_mac", "trace_iter",
        "cgroup_inet4_getpeername", "cgroup_inet6_getpeername", "cgroup_inet4_getsockname",
        "cgroup_inet6_getsockname", "xdp_devmap", "cgroup_inet_sock_release", "xdp_cpumap", "sk_lookup", "xdp",
        "sk_skb_verdict", "sk_reuseport_select", "sk_reuseport_select_or_migrate", "perf_event",
        "trace_kprobe_multi", "lsm_cgroup", "struct_ops", "netfilter"};
    const auto v = static_cast<uint32_t>(type);
    return v < kNames.size() ? std::string(kNames[v]) : "unknown(" + std::to_string(v) + ")";
}

}  // namespace bpfvm
