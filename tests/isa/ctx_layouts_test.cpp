// ctx_layouts.def against this machine's linux/bpf.h: every field's offset and size via offsetof
// and sizeof, every struct's size; then the access rules on a few cases the kernel decides.
#include <linux/bpf.h>

#include <cstddef>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "bpfvm/ctx_layouts.hpp"

namespace bpfvm {
namespace {

// The C struct of each table key with a uapi struct.
#define CTX_TYPE_XdpMd struct xdp_md
#define CTX_TYPE_SkBuff struct __sk_buff
#define CTX_TYPE_Sock struct bpf_sock
#define CTX_TYPE_SockAddr struct bpf_sock_addr
#define CTX_TYPE_SockOps struct bpf_sock_ops
#define CTX_TYPE_SkMsgMd struct sk_msg_md
#define CTX_TYPE_SkReuseportMd struct sk_reuseport_md
#define CTX_TYPE_Sysctl struct bpf_sysctl
#define CTX_TYPE_Sockopt struct bpf_sockopt
#define CTX_TYPE_SkLookup struct bpf_sk_lookup
#define CTX_TYPE_CgroupDevCtx struct bpf_cgroup_dev_ctx

TEST(CtxLayouts, FieldsMatchUapi) {
    int checked = 0;
#define BPFVM_CTX_STRUCT(...)
#define BPFVM_CTX_FIELD(Key, name, offset, size, loads, yields)                                        \
    EXPECT_EQ(offsetof(CTX_TYPE_##Key, name), size_t{offset}) << #Key "." #name;                    \
    EXPECT_EQ(sizeof(static_cast<CTX_TYPE_##Key*>(nullptr)->name), size_t{size}) << #Key "." #name; \
    ++checked;
#define BPFVM_CTX_PROG(...)
#define BPFVM_CTX_RULE(...)
#include "bpfvm/ctx_layouts.def"
#undef BPFVM_CTX_STRUCT
#undef BPFVM_CTX_FIELD
#undef BPFVM_CTX_PROG
#undef BPFVM_CTX_RULE
    EXPECT_GT(checked, 140);
}

TEST(CtxLayouts, StructSizesMatchUapi) {
    const std::map<std::string, size_t> uapi = {
        {"struct xdp_md", sizeof(xdp_md)}, {"struct __sk_buff", sizeof(__sk_buff)}, {"struct bpf_sock", sizeof(bpf_sock)},
        {"struct bpf_sock_addr", sizeof(bpf_sock_addr)}, {"struct bpf_sock_ops", sizeof(bpf_sock_ops)},
        {"struct sk_msg_md", sizeof(sk_msg_md)}, {"struct sk_reuseport_md", sizeof(sk_reuseport_md)},
        {"struct bpf_sysctl", sizeof(bpf_sysctl)}, {"struct bpf_sockopt", sizeof(bpf_sockopt)},
        {"struct bpf_sk_lookup", sizeof(bpf_sk_lookup)}, {"struct bpf_cgroup_dev_ctx", sizeof(bpf_cgroup_dev_ctx)}};
    for (const auto type : {ProgramType::Xdp, ProgramType::SchedCls, ProgramType::CgroupSock, ProgramType::CgroupSockAddr,
                            ProgramType::SockOps, ProgramType::SkMsg, ProgramType::SkReuseport, ProgramType::CgroupSysctl,
                            ProgramType::CgroupSockopt, ProgramType::SkLookup, ProgramType::CgroupDevice}) {
        const CtxInfo info = ctx_info(type);
        ASSERT_EQ(uapi.count(std::string(info.struct_name)), 1u) << program_type_name(type);
        EXPECT_EQ(info.size, uapi.at(std::string(info.struct_name))) << info.struct_name;
    }
    EXPECT_EQ(ctx_size(ProgramType::Xdp), 24u);
    EXPECT_EQ(ctx_size(ProgramType::RawTracepoint), 0u);  // the tracepoint's arguments decide
    EXPECT_TRUE(ctx_info(ProgramType::StructOps).struct_name.empty());
}

TEST(CtxLayouts, AccessRules) {
    // xdp: packet pointers from 4-byte loads only; no writes.
    auto a = ctx_access(ProgramType::Xdp, offsetof(xdp_md, data), 4, false, true);
    EXPECT_TRUE(a.ok);
    EXPECT_EQ(a.yields, CtxYield::PktStart);
    EXPECT_EQ(ctx_access(ProgramType::Xdp, offsetof(xdp_md, data_end), 4, false, true).yields, CtxYield::PktEnd);
    EXPECT_FALSE(ctx_access(ProgramType::Xdp, offsetof(xdp_md, data), 8, false, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::Xdp, offsetof(xdp_md, ingress_ifindex), 2, false, true).ok);
    EXPECT_EQ(ctx_access(ProgramType::Xdp, offsetof(xdp_md, data), 4, true, true).why, "read-only field");
    EXPECT_FALSE(ctx_access(ProgramType::Xdp, 24, 4, false, true).ok);

    // __sk_buff: narrow loads of scalars, per-type packet access and writes.
    EXPECT_TRUE(ctx_access(ProgramType::SchedCls, offsetof(__sk_buff, len), 1, false, true).ok);
    EXPECT_TRUE(ctx_access(ProgramType::SchedCls, offsetof(__sk_buff, mark), 4, true, true).ok);
    EXPECT_TRUE(ctx_access(ProgramType::SchedCls, offsetof(__sk_buff, tc_classid), 4, true, true).ok);
    EXPECT_EQ(ctx_access(ProgramType::SchedCls, offsetof(__sk_buff, data_meta), 4, false, true).yields, CtxYield::PktMeta);
    EXPECT_FALSE(ctx_access(ProgramType::SocketFilter, offsetof(__sk_buff, data), 4, false, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::SocketFilter, offsetof(__sk_buff, mark), 4, true, true).ok);
    EXPECT_TRUE(ctx_access(ProgramType::SocketFilter, offsetof(__sk_buff, cb) + 4, 4, true, false).ok);
    EXPECT_FALSE(ctx_access(ProgramType::CgroupSkb, offsetof(__sk_buff, data), 4, false, false).ok);
    EXPECT_TRUE(ctx_access(ProgramType::CgroupSkb, offsetof(__sk_buff, data), 4, false, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::CgroupSkb, offsetof(__sk_buff, tstamp), 8, true, false).ok);
    EXPECT_TRUE(ctx_access(ProgramType::CgroupSkb, offsetof(__sk_buff, tstamp), 8, true, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::SchedCls, offsetof(__sk_buff, flow_keys), 8, false, true).ok);
    EXPECT_EQ(ctx_access(ProgramType::FlowDissector, offsetof(__sk_buff, flow_keys), 8, false, true).yields,
              CtxYield::FlowKeys);
    EXPECT_EQ(ctx_access(ProgramType::SchedCls, offsetof(__sk_buff, sk), 8, false, true).yields,
              CtxYield::SockCommonOrNull);
    EXPECT_FALSE(ctx_access(ProgramType::SchedCls, offsetof(__sk_buff, sk), 4, false, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::SkSkb, offsetof(__sk_buff, mark), 4, false, true).ok);

    // Other contexts.
    EXPECT_TRUE(ctx_access(ProgramType::CgroupSockAddr, offsetof(bpf_sock_addr, user_port), 4, true, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::CgroupSockAddr, offsetof(bpf_sock_addr, family), 4, true, true).ok);
    EXPECT_EQ(ctx_access(ProgramType::CgroupSockopt, offsetof(bpf_sockopt, optval), 8, false, true).yields,
              CtxYield::PktStart);
    EXPECT_EQ(ctx_field(ProgramType::SkMsg, "data_end")->yields, CtxYield::PktEnd);

    // Tracing contexts: read-only scalars.
    EXPECT_TRUE(ctx_access(ProgramType::RawTracepoint, 8, 8, false, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::RawTracepoint, 8, 4, false, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::Kprobe, 0, 8, true, true).ok);
    EXPECT_FALSE(ctx_access(ProgramType::Kprobe, 168, 8, false, true).ok);
}

}  // namespace
}  // namespace bpfvm
