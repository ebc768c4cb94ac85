// The context of a test run, built as the kernel's net/bpf/test_run.c builds it for each program
// type (bpf_prog_test_run_xdp / _skb / _raw_tp / ...), with its input checks: what the kernel refuses
// is refused here with the same errno name.
#include <cstring>

#include "testrun_internal.hpp"
#include "bpfvm/ctx_layouts.hpp"
#include "bpfvm/facts.hpp"

namespace bpfvm::testrun {
namespace {

constexpr uint32_t kEthHlen = 14;
constexpr uint32_t kPageSize = 4096;
constexpr uint32_t kXdpHeadroom = 256;        // XDP_PACKET_HEADROOM
constexpr uint32_t kSkbTailroom = 320;        // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
constexpr uint32_t kSkbHeadroom = 64;         // NET_SKB_PAD + NET_IP_ALIGN (x86-64)
constexpr uint32_t kMaxRawTpArgs = 12;        // MAX_BPF_FUNC_ARGS

/// An input the kernel's test-run refuses: its errno name and the reason.
Error refused(const std::string& where, const char* errno_name, const std::string& reason) {
    Error err = make_error(ErrorCode::kInvalidArgument,
                           std::string("BPF_PROG_TEST_RUN refuses this input (") + errno_name + "): " + reason);
    err.where = where;
    return err;
}

bool all_zero(const std::vector<uint8_t>& v, size_t from, size_t to) {
    for (size_t i = from; i < to && i < v.size(); ++i)
        if (v[i] != 0) return false;
    return true;
}

/// bpf_ctx_init: the context buffer (max_size bytes, zero-filled), or E2BIG for non-zero extra bytes
/// or (bpf_check_uarg_tail_zero) a context larger than a page.
bool ctx_init(const std::vector<uint8_t>& in, size_t max_size, std::vector<uint8_t>& out) {
    if (in.size() > kPageSize) return false;
    if (in.size() > max_size && !all_zero(in, max_size, in.size())) return false;
    out.assign(max_size, 0);
    std::memcpy(out.data(), in.data(), std::min(in.size(), max_size));
    return true;
}

/// eth_type_trans on the loopback device: pkt_type and protocol (network byte order, as stored).
void eth_type_trans(const uint8_t* eth, SkBuffMd& md) {
    static const uint8_t zero[6] = {0, 0, 0, 0, 0, 0};
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    md.pkt_type = 0;  // PACKET_HOST: the loopback address is all zeros
    if (std::memcmp(eth, zero, 6) != 0) {
        if (eth[0] & 1)
            md.pkt_type = std::memcmp(eth, bcast, 6) == 0 ? 1 : 2;  // BROADCAST : MULTICAST
        else
            md.pkt_type = 3;  // OTHERHOST
    }
    const uint16_t proto_be = static_cast<uint16_t>(eth[12] | (eth[13] << 8));  // as loaded from memory
    const uint16_t proto = static_cast<uint16_t>((eth[12] << 8) | eth[13]);
    if (proto >= 0x0600) {
        md.protocol = proto_be;
    } else if (eth[14] == 0xff && eth[15] == 0xff) {
        md.protocol = 0x0100;  // htons(ETH_P_802_3)
    } else {
        md.protocol = 0x0400;  // htons(ETH_P_802_2)
    }
}

Status setup_xdp(const std::string& where, std::optional<AttachType> attach, const TestRunInput& in, RunSetup& s) {
    if (attach == AttachType::XdpDevmap || attach == AttachType::XdpCpumap)
        return refused(where, "EINVAL", "devmap and cpumap XDP programs cannot be test-run");
    uint32_t metalen = 0;
    XdpMd md{};
    const size_t size = in.data.size();
    if (!in.ctx.empty()) {
        if (!ctx_init(in.ctx, sizeof(XdpMd), s.user_ctx))
            return refused(where, "E2BIG",
                           "context bytes past struct xdp_md are not zero, or more than a page of them");
        std::memcpy(&md, s.user_ctx.data(), sizeof md);
        if (md.data_meta != 0 || md.data_end != size || md.data > md.data_end || (md.data & 3) || md.data > 32)
            return refused(where, "EINVAL",
                           "xdp_md must have data_meta 0, data_end equal to the data size (" + std::to_string(size) +
                               ") and data a metadata length that is a multiple of 4 up to 32");
        metalen = md.data;
    }
    const uint32_t headroom = kXdpHeadroom - metalen;
    const uint32_t max_data = kPageSize - headroom - kSkbTailroom;
    if (size < kEthHlen)
        return refused(where, "EINVAL", "packet of " + std::to_string(size) + " bytes is shorter than ETH_HLEN (14)");
    if (size > max_data)
        return make_error(ErrorCode::kUnsupported, where + ": packets over " + std::to_string(max_data) +
                                                       " bytes need XDP fragments, which bpfvm does not model");
    if (md.egress_ifindex != 0) return refused(where, "EINVAL", "xdp_md.egress_ifindex must be 0");
    if (md.ingress_ifindex == 0 && md.rx_queue_index != 0)
        return refused(where, "EINVAL", "xdp_md.rx_queue_index needs ingress_ifindex");
    if (md.ingress_ifindex > 1)
        return refused(where, "ENODEV", "no device with ifindex " + std::to_string(md.ingress_ifindex) +
                                              " (only lo, ifindex 1, exists here)");
    if (md.ingress_ifindex == 1 && md.rx_queue_index >= 1)
        return refused(where, "EINVAL", "lo has one rx queue; rx_queue_index must be 0");

    s.packet.kind = PacketKind::Xdp;
    s.packet.frame.assign(kPageSize, 0);
    uint8_t* hard = s.packet.frame.data();
    std::memcpy(hard + headroom, in.data.data(), size);
    auto& x = s.xdp;
    x.hard_start = reinterpret_cast<uint64_t>(hard);
    x.data_meta = x.hard_start + headroom;
    x.data = x.data_meta + metalen;
    x.data_end = x.data_meta + size;
    x.frame_end = x.hard_start + kPageSize - kSkbTailroom;
    x.md = md;
    x.md.data = static_cast<uint32_t>(x.data);
    x.md.data_end = static_cast<uint32_t>(x.data_end);
    x.md.data_meta = static_cast<uint32_t>(x.data_meta);
    s.packet.xdp = &x;
    s.r1 = reinterpret_cast<uint64_t>(&x);
    s.regions.push_back({x.hard_start, x.hard_start + kPageSize, true});
    s.regions.push_back({s.r1, s.r1 + sizeof x, false});
    return {};
}

Status setup_skb(const std::string& where, ProgramType type, const TestRunInput& in, RunSetup& s) {
    const size_t size = in.data.size();
    if (size < kEthHlen || size > kPageSize - kSkbHeadroom - kSkbTailroom)
        return refused(where, "EINVAL", "packet of " + std::to_string(size) + " bytes is " +
                                              (size < kEthHlen ? "shorter than ETH_HLEN (14)" : "larger than a page allows"));
    SkBuffMd user{};
    if (!in.ctx.empty()) {
        if (!ctx_init(in.ctx, sizeof(SkBuffMd), s.user_ctx))
            return refused(where, "E2BIG",
                           "context bytes past struct __sk_buff are not zero, or more than a page of them");
        std::memcpy(&user, s.user_ctx.data(), sizeof user);
        if (user.ifindex > 1)
            return refused(where, "ENODEV", "no device with ifindex " + std::to_string(user.ifindex) +
                                                  " (only lo, ifindex 1, exists here)");
    }
    s.l2 = type == ProgramType::SchedCls || type == ProgramType::SchedAct;
    s.packet.kind = PacketKind::Skb;
    s.packet.frame.assign(kSkbHeadroom + size + kSkbTailroom, 0);
    uint8_t* start = s.packet.frame.data() + kSkbHeadroom;
    std::memcpy(start, in.data.data(), size);
    auto& md = s.skb.md;
    eth_type_trans(start, md);
    // The kernel (6.18 here) refuses an IPv4 or IPv6 frame too short for its network header.
    if (md.protocol == 0x0008 && size < kEthHlen + 20)
        return refused(where, "EINVAL", "IPv4 frame of " + std::to_string(size) +
                                              " bytes has no room for an IPv4 header (34 bytes with Ethernet)");
    if (md.protocol == 0xdd86 && size < kEthHlen + 40)
        return refused(where, "EINVAL", "IPv6 frame of " + std::to_string(size) +
                                              " bytes has no room for an IPv6 header (54 bytes with Ethernet)");
    // eth_type_trans pulled the Ethernet header; only tc programs get it pushed back.
    uint8_t* data = s.l2 ? start : start + kEthHlen;
    const uint32_t len = static_cast<uint32_t>(s.l2 ? size : size - kEthHlen);
    const uint8_t* ip = start + kEthHlen;
    if (md.protocol == 0x0008) {  // ETH_P_IP: the socket takes the addresses
        md.family = 2;
        if (size >= kEthHlen + 20) {
            std::memcpy(&md.local_ip4, ip + 12, 4);
            std::memcpy(&md.remote_ip4, ip + 16, 4);
        }
    } else if (md.protocol == 0xdd86) {  // ETH_P_IPV6
        md.family = 10;
        if (size >= kEthHlen + 40) {
            std::memcpy(md.local_ip6, ip + 8, 16);
            std::memcpy(md.remote_ip6, ip + 24, 16);
        }
    }
    // convert___skb_to_skb: only these fields may be set by the caller.
    // A bare 14-byte frame leaves len 0 for socket filters; the kernel accepts it (tests/kernel).
    if (!in.ctx.empty()) {
        const auto& u = s.user_ctx;
        auto zero = [&](size_t a, size_t b) { return all_zero(u, a, b); };
        if (!zero(0, offsetof(SkBuffMd, mark)) ||
            !zero(offsetof(SkBuffMd, mark) + 4, offsetof(SkBuffMd, priority)) ||
            !zero(offsetof(SkBuffMd, ifindex) + 4, offsetof(SkBuffMd, cb)) ||
            !zero(offsetof(SkBuffMd, cb) + 20, offsetof(SkBuffMd, tstamp)) ||
            !zero(offsetof(SkBuffMd, gso_segs) + 4, offsetof(SkBuffMd, gso_size)) ||
            !zero(offsetof(SkBuffMd, gso_size) + 4, offsetof(SkBuffMd, hwtstamp)))
            return refused(where, "EINVAL",
                           "__sk_buff may only set mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, "
                           "gso_segs, gso_size and hwtstamp");
        if (user.wire_len != 0 && (user.wire_len < len || user.wire_len > 65536))
            return refused(where, "EINVAL", "__sk_buff.wire_len must be 0 or between the length and GSO_MAX_SIZE");
        if (user.gso_segs > 65535) return refused(where, "EINVAL", "__sk_buff.gso_segs exceeds GSO_MAX_SEGS");
    }
    md.len = len;
    md.mark = user.mark;
    md.priority = user.priority;
    md.ingress_ifindex = user.ingress_ifindex;
    md.ifindex = 1;  // lo
    std::memcpy(md.cb, user.cb, sizeof md.cb);
    md.tstamp = user.tstamp;
    md.wire_len = user.wire_len ? user.wire_len : len;
    md.gso_segs = user.gso_segs;
    md.gso_size = user.gso_size;
    md.hwtstamp = user.hwtstamp;
    s.skb.data = reinterpret_cast<uint64_t>(data);
    s.skb.data_end = s.skb.data + len;
    s.skb.data_meta = s.skb.data;
    md.data = static_cast<uint32_t>(s.skb.data);
    md.data_end = static_cast<uint32_t>(s.skb.data_end);
    md.data_meta = md.data;
    s.packet.skb = &s.skb;
    s.r1 = reinterpret_cast<uint64_t>(&s.skb);
    const auto frame = reinterpret_cast<uint64_t>(s.packet.frame.data());
    s.regions.push_back({frame, frame + s.packet.frame.size(), true});
    // The uapi part is writable (the conversion pass already rejected writes to read-only
    // fields); the real packet pointers behind it are not, so that no store can redirect the
    // packet helpers to other memory.
    s.regions.push_back({s.r1, s.r1 + sizeof(SkBuffMd), true});
    s.regions.push_back({s.r1 + sizeof(SkBuffMd), s.r1 + sizeof(SkbKernCtx), false});
    return {};
}

Status setup_bytes(const std::string& where, ProgramType type, CtxModel model, const TestRunInput& in,
                   uint32_t max_ctx_end, RunSetup& s) {
    const std::vector<uint8_t>& bytes = in.ctx.empty() ? in.data : in.ctx;
    // bpf_prog_test_run_raw_tp and _syscall: the context only; no data, no repeat count.
    const bool raw_tp = type == ProgramType::RawTracepoint || type == ProgramType::RawTracepointWritable;
    if (raw_tp || type == ProgramType::Syscall) {
        const char* what = raw_tp ? "raw tracepoint" : "syscall";
        if (!in.data.empty())
            return refused(where, "EINVAL", std::string(what) + " programs take no data, only ctx");
        if (in.repeat > 1)
            return refused(where, "EINVAL", std::string(what) + " programs run once: repeat must be 0 or 1");
    }
    if (type == ProgramType::Syscall) {
        if (in.ctx.size() > 65535) return refused(where, "EINVAL", "syscall program ctx exceeds 65535 bytes");
        if (in.ctx.size() < max_ctx_end)
            return refused(where, "EINVAL", "the program reads ctx up to byte " + std::to_string(max_ctx_end) +
                                                  " but ctx has " + std::to_string(in.ctx.size()));
    }
    if (model == CtxModel::Args) {
        if (!in.data.empty() && !in.ctx.empty())
            return refused(where, "EINVAL", "raw tracepoint and tracing programs take no data, only ctx (u64 arguments)");
        if (bytes.size() > kMaxRawTpArgs * 8)
            return refused(where, "EINVAL", "ctx holds at most 12 u64 arguments (96 bytes)");
    }
    // The verifier let the program read the context up to this byte (pt_regs, the trace record):
    // a shorter one would make a verified program read past it.
    if (bytes.size() < max_ctx_end)
        return refused(where, "EINVAL", "the program reads ctx up to byte " + std::to_string(max_ctx_end) +
                                              " but ctx has " + std::to_string(bytes.size()));
    s.ctx_words.assign((bytes.size() + 7) / 8 + 1, 0);
    std::memcpy(s.ctx_words.data(), bytes.data(), bytes.size());
    s.ctx_buf = bytes;
    s.r1 = bytes.empty() && model == CtxModel::Args ? 0 : reinterpret_cast<uint64_t>(s.ctx_words.data());
    if (!bytes.empty())
        s.regions.push_back({s.r1, s.r1 + bytes.size(), model == CtxModel::Bytes});
    return {};
}

void setup_memory(const TestRunInput& in, RunSetup& s) {
    s.memory = in.data;
    s.r1 = s.memory.empty() ? 0 : reinterpret_cast<uint64_t>(s.memory.data());
    s.r2 = s.memory.size();
    if (!s.memory.empty()) s.regions.push_back({s.r1, s.r1 + s.memory.size(), true});
}

}  // namespace

CtxModel ctx_model(ProgramType type) {
    switch (type) {
        case ProgramType::Xdp:
            return CtxModel::Xdp;
        case ProgramType::SchedCls:
        case ProgramType::SchedAct:
        case ProgramType::SocketFilter:
        case ProgramType::CgroupSkb:
        case ProgramType::LwtIn:
        case ProgramType::LwtOut:
        case ProgramType::LwtXmit:
            return CtxModel::Skb;
        case ProgramType::RawTracepoint:
        case ProgramType::RawTracepointWritable:
        case ProgramType::Tracing:
        case ProgramType::Lsm:
            return CtxModel::Args;
        case ProgramType::Tracepoint:
        case ProgramType::Kprobe:
        case ProgramType::PerfEvent:
        case ProgramType::Syscall:
            return CtxModel::Bytes;
        default:
            return CtxModel::Memory;
    }
}

const uint8_t* RunSetup::legacy_packet() const {
    return model == CtxModel::Skb ? reinterpret_cast<const uint8_t*>(skb.data) : nullptr;
}

uint32_t RunSetup::legacy_packet_len() const {
    return model == CtxModel::Skb ? static_cast<uint32_t>(skb.data_end - skb.data) : 0;
}

Result<std::unique_ptr<RunSetup>> setup_run(ProgramType type, std::optional<AttachType> attach,
                                            const TestRunInput& input, uint32_t max_ctx_end, const std::string& where) {
    auto s = std::make_unique<RunSetup>();
    s->model = ctx_model(type);
    s->packet.type = type;
    switch (s->model) {
        case CtxModel::Xdp:
            BPFVM_TRY(setup_xdp(where, attach, input, *s));
            break;
        case CtxModel::Skb:
            BPFVM_TRY(setup_skb(where, type, input, *s));
            break;
        case CtxModel::Args:
        case CtxModel::Bytes:
            BPFVM_TRY(setup_bytes(where, type, s->model, input, max_ctx_end, *s));
            break;
        case CtxModel::Memory:
            // Programs of a type with a context struct bpfvm does not build (sk_msg, sock_ops,
            // cgroup/sock, ...) would read that struct from the input bytes: the verifier's
            // checks would not hold. The kernel has no test run for most of them either.
            if (type != ProgramType::Unspec && !ctx_info(type).struct_name.empty())
                return make_error(ErrorCode::kUnsupported, where + ": BPF_PROG_TEST_RUN of " + program_type_name(type) +
                                                               " programs is not supported (no " +
                                                               std::string(ctx_info(type).struct_name) + " to run them on)");
            setup_memory(input, *s);
            break;
    }
    return s;
}

void collect_outputs(const RunSetup& s, TestRunResult& out) {
    const CtxModel model = s.model;
    if (model == CtxModel::Xdp) {
        const auto& x = s.xdp;
        out.data_out.assign(reinterpret_cast<const uint8_t*>(x.data_meta), reinterpret_cast<const uint8_t*>(x.data_end));
        if (!s.user_ctx.empty()) {
            XdpMd md{};
            std::memcpy(&md, s.user_ctx.data(), sizeof md);
            md.data = static_cast<uint32_t>(x.data - x.data_meta);  // xdp_convert_buff_to_md
            md.data_end = static_cast<uint32_t>(x.data_end - x.data_meta);
            out.ctx_out.resize(sizeof md);
            std::memcpy(out.ctx_out.data(), &md, sizeof md);
        }
    } else if (model == CtxModel::Skb) {
        const auto* data = reinterpret_cast<const uint8_t*>(s.skb.data);
        if (!s.l2) out.data_out.assign(kEthHlen, 0);  // the kernel pushes back a zeroed header
        out.data_out.insert(out.data_out.end(), data, data + (s.skb.data_end - s.skb.data));
        if (!s.user_ctx.empty()) {
            SkBuffMd u{};
            std::memcpy(&u, s.user_ctx.data(), sizeof u);
            const auto& md = s.skb.md;  // convert_skb_to___skb
            u.mark = md.mark;
            u.priority = md.priority;
            u.ingress_ifindex = md.ingress_ifindex;
            u.ifindex = md.ifindex;
            u.tstamp = md.tstamp;
            std::memcpy(u.cb, md.cb, sizeof u.cb);
            u.wire_len = md.wire_len;
            u.gso_segs = md.gso_segs;
            u.hwtstamp = md.hwtstamp;
            out.ctx_out.resize(sizeof u);
            std::memcpy(out.ctx_out.data(), &u, sizeof u);
        }
    } else if (model == CtxModel::Memory) {
        out.data_out = s.memory;
    } else if (!s.ctx_buf.empty()) {
        out.ctx_out.resize(s.ctx_buf.size());
        std::memcpy(out.ctx_out.data(), s.ctx_words.data(), s.ctx_buf.size());
    }
}

}  // namespace bpfvm::testrun
