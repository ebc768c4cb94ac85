// Context and socket field accesses, checked against the layout table of isa (ctx_layouts.def):
// the kernel's *_is_valid_access for the program type, and for struct bpf_sock / bpf_tcp_sock /
// bpf_xdp_sock pointers.
#include "bpfvm/ctx_layouts.hpp"
#include "checks.hpp"

namespace bpfvm::verifier {
namespace {

constexpr uint32_t kTcpSockSize = 112;  // sizeof(struct bpf_tcp_sock)
constexpr uint32_t kXdpSockSize = 4;    // sizeof(struct bpf_xdp_sock)

/// The register a context load yields.
CtxResult result_of(CtxYield y) {
    CtxResult r;
    switch (y) {
        case CtxYield::Scalar: break;
        case CtxYield::PktStart: r.type = RegType::Packet; break;
        case CtxYield::PktEnd: r.type = RegType::PacketEnd; break;
        case CtxYield::PktMeta: r.type = RegType::PacketMeta; break;
        case CtxYield::FlowKeys: r.type = RegType::FlowKeys; break;
        case CtxYield::Sock: r.type = RegType::Socket; break;
        case CtxYield::SockOrNull:
            r.type = RegType::Socket;
            r.flags = kMaybeNull;
            break;
        case CtxYield::SockCommonOrNull:
            r.type = RegType::SockCommon;
            r.flags = kMaybeNull;
            break;
    }
    return r;
}

}  // namespace

uint32_t ctx_size(ProgramType type) { return bpfvm::ctx_size(type); }

bool check_ctx_access(Env& env, int regno, int32_t off, uint32_t size, Access access, CtxResult& out) {
    (void)regno;
    const bool write = access == Access::Write;
    if (off < 0) return env.fail("invalid bpf_context access off=%d size=%u", off, size);
    if (env.opt.type == ProgramType::Netfilter) {
        // struct bpf_nf_ctx { const struct nf_hook_state *state; struct sk_buff *skb; }: kernel objects.
        if (write || size != 8 || (off != 0 && off != 8))
            return env.fail("invalid bpf_context access off=%d size=%u", off, size);
        out.type = RegType::BtfId;
        return true;
    }
    const CtxAccess a = ctx_access(env.opt.type, static_cast<uint32_t>(off), size, write, env.opt.privileged);
    if (!a.ok) return env.fail("invalid bpf_context access off=%d size=%u", off, size);
    out = result_of(a.yields);
    return true;
}

bool check_sock_access(Env& env, int regno, int32_t off, uint32_t size, Access access) {
    const Reg& reg = env.cur->st.reg(regno);
    bool ok = off >= 0 && size > 0 && off % static_cast<int32_t>(size) == 0;
    if (ok) {
        switch (reg.type) {
            case RegType::TcpSock:
                ok = static_cast<uint32_t>(off) + size <= kTcpSockSize && (size == 4 || size == 8);
                break;
            case RegType::XdpSock:
                ok = static_cast<uint32_t>(off) + size <= kXdpSockSize && size == 4;
                break;
            default: {
                // struct bpf_sock, read as cgroup/sock programs see it.
                const CtxAccess a = ctx_access(ProgramType::CgroupSock, static_cast<uint32_t>(off), size,
                                               access == Access::Write, true);
                ok = a.ok;
                if (ok && reg.type == RegType::SockCommon && a.field) {
                    // Only the sock_common part exists before sk_fullsock(): type..priority are not.
                    const std::string_view n = a.field->name;
                    if (n == "type" || n == "protocol" || n == "mark" || n == "priority") ok = false;
                }
                break;
            }
        }
    }
    if (!ok)
        return env.fail("R%d invalid %s access off=%d size=%u", regno, reg_type_name(reg).c_str(), off, size);
    return true;
}

bool check_flow_keys_access(Env& env, int32_t off, uint32_t size) {
    constexpr uint32_t kFlowKeysSize = 56;  // sizeof(struct bpf_flow_keys)
    if (off < 0 || static_cast<uint32_t>(off) + size > kFlowKeysSize)
        return env.fail("invalid access to flow keys off=%d size=%u", off, size);
    return true;
}


}  // namespace bpfvm::verifier
