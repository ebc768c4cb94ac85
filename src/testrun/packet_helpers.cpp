// Packet helpers with the kernel's semantics (net/core/filter.c): XDP head/tail/meta adjustment,
// skb byte loads and stores, checksum updates, and redirects (recorded, not performed). They find
// the packet through HelperEnv::packet (a PacketState set up by the test-run layer) and insist that
// r1 is the very context pointer of the run, as the verifier would guarantee.
#include <cstdio>
#include <cstring>
#include <string>

#include "bpfvm/detail/helpers.hpp"
#include "testrun_internal.hpp"

namespace bpfvm::testrun {
namespace {

constexpr uint64_t kXdpFrameSize = 40;  // sizeof(struct xdp_frame): kept free at the buffer start
constexpr uint64_t kEthHlen = 14;
constexpr uint64_t kXdpAborted = 0, kXdpRedirect = 4;
constexpr uint64_t kTcActShot = 2, kTcActRedirect = 7;
constexpr uint64_t kFRecomputeCsum = 1, kFInvalidateHash = 2;
constexpr uint64_t kFHdrFieldMask = 0xf, kFPseudoHdr = 1 << 4, kFMarkMangled0 = 1 << 5, kFMarkEnforce = 1 << 6;
constexpr uint64_t kFIngress = 1;
constexpr uint64_t kFBroadcast = 1 << 3, kFExcludeIngress = 1 << 4;

uint64_t err(int e) { return static_cast<uint64_t>(-static_cast<int64_t>(e)); }

PacketState* packet_of(RunContext* ctx) {
    auto* env = maps::env_of(ctx);
    return env ? static_cast<PacketState*>(env->packet) : nullptr;
}

/// The packet state when r1 is this run's context of the wanted kind; else faults and returns null.
PacketState* expect_ctx(RunContext* ctx, uint64_t r1, PacketKind kind, const char* helper) {
    PacketState* p = packet_of(ctx);
    if (p == nullptr || p->kind != kind) {
        ctx->fault(std::string("bpf_") + helper + " is not available for " +
                   (p ? program_type_name(p->type) : std::string("this")) + " programs");
        return nullptr;
    }
    if (r1 != p->ctx_addr()) {
        ctx->fault(std::string("bpf_") + helper + ": r1 is not the program's context pointer");
        return nullptr;
    }
    return p;
}

/// Checked mode: [p, p + size) must be readable (or writable) program memory.
bool mem_ok(RunContext* ctx, uint64_t p, uint64_t size, bool write, const char* helper) {
    if (!ctx->checked || size == 0) return true;
    if (ctx->region_allows(p, size, write)) return true;
    if (ctx->stack_end == 0) return true;  // the engine declared no stack: trusted
    if (p >= ctx->stack_begin && p + size <= ctx->stack_end && p + size >= p) return true;
    char where[32];
    std::snprintf(where, sizeof where, "0x%llx", static_cast<unsigned long long>(p));
    ctx->fault(std::string("bpf_") + helper + ": " + std::to_string(size) + " bytes at " + where + " are not " +
               (write ? "writable" : "readable") + " program memory");
    return false;
}

void sync_xdp_views(XdpKernCtx* x) {
    x->md.data = static_cast<uint32_t>(x->data);
    x->md.data_end = static_cast<uint32_t>(x->data_end);
    x->md.data_meta = static_cast<uint32_t>(x->data_meta);
}

// ---- XDP

uint64_t xdp_adjust_head(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    PacketState* p = expect_ctx(ctx, r1, PacketKind::Xdp, "xdp_adjust_head");
    if (!p) return 0;
    XdpKernCtx* x = p->xdp;
    const int64_t offset = static_cast<int32_t>(r2);
    const uint64_t metalen = x->data - x->data_meta;
    const uint64_t data_start = x->hard_start + kXdpFrameSize + metalen;
    const uint64_t data = x->data + static_cast<uint64_t>(offset);
    if (data < data_start || data > x->data_end - kEthHlen) return err(kEINVAL);
    if (metalen)
        std::memmove(reinterpret_cast<void*>(x->data_meta + static_cast<uint64_t>(offset)),
                     reinterpret_cast<void*>(x->data_meta), metalen);
    x->data_meta += static_cast<uint64_t>(offset);
    x->data = data;
    sync_xdp_views(x);
    return 0;
}

uint64_t xdp_adjust_meta(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    PacketState* p = expect_ctx(ctx, r1, PacketKind::Xdp, "xdp_adjust_meta");
    if (!p) return 0;
    XdpKernCtx* x = p->xdp;
    const uint64_t meta = x->data_meta + static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(r2)));
    if (meta < x->hard_start + kXdpFrameSize || meta > x->data) return err(kEINVAL);
    const uint64_t metalen = x->data - meta;
    if ((metalen & 3) || metalen > 32) return err(kEACCES);
    x->data_meta = meta;
    sync_xdp_views(x);
    return 0;
}

uint64_t xdp_adjust_tail(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    PacketState* p = expect_ctx(ctx, r1, PacketKind::Xdp, "xdp_adjust_tail");
    if (!p) return 0;
    XdpKernCtx* x = p->xdp;
    const int64_t offset = static_cast<int32_t>(r2);
    const uint64_t data_end = x->data_end + static_cast<uint64_t>(offset);
    if (data_end > x->frame_end) return err(kEINVAL);
    if (data_end < x->data + kEthHlen) return err(kEINVAL);
    if (offset > 0) std::memset(reinterpret_cast<void*>(x->data_end), 0, static_cast<size_t>(offset));
    x->data_end = data_end;
    sync_xdp_views(x);
    return 0;
}

uint64_t xdp_copy_bytes(uint64_t r1, uint64_t offset, uint64_t buf, uint64_t len, RunContext* ctx, bool store) {
    const char* name = store ? "xdp_store_bytes" : "xdp_load_bytes";
    PacketState* p = expect_ctx(ctx, r1, PacketKind::Xdp, name);
    if (!p) return 0;
    offset = static_cast<uint32_t>(offset);
    len = static_cast<uint32_t>(len);
    if (offset > 0xffff || len > 0xffff) return err(kEFAULT);
    if (offset + len > p->xdp->data_end - p->xdp->data) return err(kEINVAL);
    if (!mem_ok(ctx, buf, len, !store, name)) return 0;
    auto* pkt = reinterpret_cast<uint8_t*>(p->xdp->data) + offset;
    if (store)
        std::memmove(pkt, reinterpret_cast<const void*>(buf), len);
    else
        std::memmove(reinterpret_cast<void*>(buf), pkt, len);
    return 0;
}

uint64_t xdp_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
    return xdp_copy_bytes(r1, r2, r3, r4, ctx, false);
}
uint64_t xdp_store_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
    return xdp_copy_bytes(r1, r2, r3, r4, ctx, true);
}

// ---- skb

/// skb helpers that write the packet are not offered to socket filters and cgroup skb programs.
PacketState* expect_skb(RunContext* ctx, uint64_t r1, const char* helper, bool writes) {
    PacketState* p = expect_ctx(ctx, r1, PacketKind::Skb, helper);
    if (p && writes && (p->type == ProgramType::SocketFilter || p->type == ProgramType::CgroupSkb)) {
        ctx->fault(std::string("bpf_") + helper + " is not available for " + program_type_name(p->type) + " programs");
        return nullptr;
    }
    return p;
}

uint64_t skb_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
    PacketState* p = expect_skb(ctx, r1, "skb_load_bytes", false);
    if (!p) return 0;
    const uint64_t offset = static_cast<uint32_t>(r2), len = static_cast<uint32_t>(r4);
    if (!mem_ok(ctx, r3, len, true, "skb_load_bytes")) return 0;
    auto* to = reinterpret_cast<uint8_t*>(r3);
    if (offset > 0x7fffffff || offset + len > p->skb_len()) {
        std::memset(to, 0, len);
        return err(kEFAULT);
    }
    std::memmove(to, p->skb_data() + offset, len);
    return 0;
}

uint64_t skb_store_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* ctx) {
    PacketState* p = expect_skb(ctx, r1, "skb_store_bytes", true);
    if (!p) return 0;
    const uint64_t offset = static_cast<uint32_t>(r2), len = static_cast<uint32_t>(r4);
    if (r5 & ~(kFRecomputeCsum | kFInvalidateHash)) return err(kEINVAL);
    if (offset > 0x7fffffff) return err(kEFAULT);
    if (offset + len > p->skb_len()) return err(kEFAULT);
    if (!mem_ok(ctx, r3, len, false, "skb_store_bytes")) return 0;
    // BPF_F_RECOMPUTE_CSUM only updates skb->csum for CHECKSUM_COMPLETE; test-run skbs are CHECKSUM_NONE.
    std::memmove(p->skb_data() + offset, reinterpret_cast<const void*>(r3), len);
    if (r5 & kFInvalidateHash) p->skb->md.hash = 0;
    return 0;
}

uint64_t skb_pull_data(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    PacketState* p = expect_skb(ctx, r1, "skb_pull_data", true);
    if (!p) return 0;
    const uint32_t len = static_cast<uint32_t>(r2);
    return len <= p->skb_len() ? 0 : err(12);  // the whole packet is linear; -ENOMEM past its end
}

// ---- checksums

uint16_t load16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

uint16_t csum16_add(uint16_t csum, uint16_t addend) {
    uint16_t res = static_cast<uint16_t>(csum + addend);
    return static_cast<uint16_t>(res + (res < addend));
}

/// csum_replace4: *sum = csum_fold(csum_add(csum_sub(~csum_unfold(*sum), from), to)).
uint16_t replace4(uint16_t sum, uint32_t from, uint32_t to) {
    const uint32_t tmp = csum_add(~static_cast<uint32_t>(sum), ~from);
    return csum_fold(csum_add(tmp, to));
}
/// csum_replace2: *sum = ~csum16_add(csum16_sub(~(*sum), old), new).
uint16_t replace2(uint16_t sum, uint16_t from, uint16_t to) {
    return static_cast<uint16_t>(~csum16_add(csum16_add(static_cast<uint16_t>(~sum), static_cast<uint16_t>(~from)), to));
}
/// csum_replace_by_diff: *sum = csum_fold(csum_add(diff, ~csum_unfold(*sum))).
uint16_t replace_by_diff(uint16_t sum, uint32_t diff) { return csum_fold(csum_add(diff, ~static_cast<uint32_t>(sum))); }

/// Updates the 16-bit checksum at `ptr` for a field of `size` bytes changing from `from` to `to`
/// (size 0: `to` is a csum_diff result and `from` must be 0). L3 uses csum_replace2 for 2-byte
/// fields; L4 (inet_proto_csum_replace2) widens them and uses the 4-byte form. False: bad size or
/// a non-zero `from` with size 0 (EINVAL).
bool replace_field(uint8_t* ptr, uint64_t size, uint64_t from, uint64_t to, bool l4) {
    switch (size) {
        case 0:
            if (from != 0) return false;
            store16(ptr, replace_by_diff(load16(ptr), static_cast<uint32_t>(to)));
            return true;
        case 2:
            store16(ptr, l4 ? replace4(load16(ptr), static_cast<uint16_t>(from), static_cast<uint16_t>(to))
                            : replace2(load16(ptr), static_cast<uint16_t>(from), static_cast<uint16_t>(to)));
            return true;
        case 4:
            store16(ptr, replace4(load16(ptr), static_cast<uint32_t>(from), static_cast<uint32_t>(to)));
            return true;
        default:
            return false;
    }
}

uint64_t l3_csum_replace(uint64_t r1, uint64_t r2, uint64_t from, uint64_t to, uint64_t flags, RunContext* ctx) {
    PacketState* p = expect_skb(ctx, r1, "l3_csum_replace", true);
    if (!p) return 0;
    const uint64_t offset = static_cast<uint32_t>(r2);
    if (flags & ~kFHdrFieldMask) return err(kEINVAL);
    if (offset > 0xffff || (offset & 1)) return err(kEFAULT);
    if (offset + 2 > p->skb_len()) return err(kEFAULT);
    uint8_t* ptr = p->skb_data() + offset;
    if (!replace_field(ptr, flags & kFHdrFieldMask, from, to, false)) return err(kEINVAL);
    return 0;
}

uint64_t l4_csum_replace(uint64_t r1, uint64_t r2, uint64_t from, uint64_t to, uint64_t flags, RunContext* ctx) {
    PacketState* p = expect_skb(ctx, r1, "l4_csum_replace", true);
    if (!p) return 0;
    const uint64_t offset = static_cast<uint32_t>(r2);
    const bool mmzero = flags & kFMarkMangled0, mforce = flags & kFMarkEnforce;
    if (flags & ~(kFMarkMangled0 | kFMarkEnforce | kFPseudoHdr | kFHdrFieldMask)) return err(kEINVAL);
    if (offset > 0xffff || (offset & 1)) return err(kEFAULT);
    if (offset + 2 > p->skb_len()) return err(kEFAULT);
    uint8_t* ptr = p->skb_data() + offset;
    if (mmzero && !mforce && load16(ptr) == 0) return 0;
    // inet_proto_csum_replace*: test-run skbs are CHECKSUM_NONE, so the pseudo-header flag only
    // matters for skb->csum, which nothing here reads.
    if (!replace_field(ptr, flags & kFHdrFieldMask, from, to, true)) return err(kEINVAL);
    if (mmzero && load16(ptr) == 0) store16(ptr, 0xffff);  // CSUM_MANGLED_0
    return 0;
}

uint64_t csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed, RunContext* ctx) {
    from_size = static_cast<uint32_t>(from_size);
    to_size = static_cast<uint32_t>(to_size);
    if (((from_size | to_size) & 3) || from_size + to_size > 512) return err(kEINVAL);
    if (!mem_ok(ctx, from, from_size, false, "csum_diff") || !mem_ok(ctx, to, to_size, false, "csum_diff")) return 0;
    uint8_t diff[512];
    size_t j = 0;
    for (uint64_t i = 0; i < from_size; i += 4, j += 4) {
        uint32_t w;
        std::memcpy(&w, reinterpret_cast<const uint8_t*>(from) + i, 4);
        w = ~w;
        std::memcpy(diff + j, &w, 4);
    }
    if (to_size) std::memcpy(diff + j, reinterpret_cast<const void*>(to), to_size);
    return csum_partial(diff, from_size + to_size, static_cast<uint32_t>(seed));
}

// ---- redirects

uint64_t redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    PacketState* p = packet_of(ctx);
    if (p == nullptr || p->kind == PacketKind::None) {
        ctx->fault("bpf_redirect is only available for xdp and tc programs");
        return 0;
    }
    if (p->kind == PacketKind::Xdp) {
        if (flags) return kXdpAborted;
        p->redirects.push_back({"redirect", static_cast<uint32_t>(ifindex), "", flags});
        return kXdpRedirect;
    }
    if (flags & ~kFIngress) return kTcActShot;
    p->redirects.push_back({"redirect", static_cast<uint32_t>(ifindex), "", flags});
    return kTcActRedirect;
}

uint64_t redirect_map(uint64_t map, uint64_t key, uint64_t flags, uint64_t, uint64_t, RunContext* ctx) {
    PacketState* p = packet_of(ctx);
    if (p == nullptr || p->kind != PacketKind::Xdp) {
        ctx->fault("bpf_redirect_map is only available for xdp programs");
        return 0;
    }
    auto* m = reinterpret_cast<maps::Map*>(map);
    if (ctx->checked && !maps::is_live_map(m)) {
        ctx->fault("bpf_redirect_map: r1 is not a map");
        return 0;
    }
    constexpr uint64_t action_mask = 3;  // XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX
    if (flags & ~(action_mask | kFBroadcast | kFExcludeIngress)) return kXdpAborted;
    const uint32_t k = static_cast<uint32_t>(key);
    if (m->key_size() == 4 && m->lookup_elem(&k) == nullptr && !(flags & kFBroadcast)) return flags & action_mask;
    p->redirects.push_back({"redirect_map", k, m->name(), flags});
    return kXdpRedirect;
}

}  // namespace

uint32_t csum_add(uint32_t a, uint32_t b) {
    const uint32_t res = a + b;
    return res + (res < b);
}

uint16_t csum_fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t seed) {
    // The 32-bit one's complement sum of little-endian words (x86-64's csum_partial result for
    // 4-byte aligned lengths, which is all csum_diff passes).
    uint64_t acc = seed;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t w;
        std::memcpy(&w, data + i, 4);
        acc += w;
    }
    if (i < len) {
        uint32_t w = 0;
        std::memcpy(&w, data + i, len - i);
        acc += w;
    }
    while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
    return static_cast<uint32_t>(acc);
}

void register_packet_helpers(HelperTable& table) {
    table.set(HelperId::skb_store_bytes, skb_store_bytes);
    table.set(HelperId::l3_csum_replace, l3_csum_replace);
    table.set(HelperId::l4_csum_replace, l4_csum_replace);
    table.set(HelperId::redirect, redirect);
    table.set(HelperId::skb_load_bytes, skb_load_bytes);
    table.set(HelperId::csum_diff, csum_diff);
    table.set(HelperId::skb_pull_data, skb_pull_data);
    table.set(HelperId::xdp_adjust_head, xdp_adjust_head);
    table.set(HelperId::redirect_map, redirect_map);
    table.set(HelperId::xdp_adjust_meta, xdp_adjust_meta);
    table.set(HelperId::xdp_adjust_tail, xdp_adjust_tail);
    table.set(HelperId::xdp_load_bytes, xdp_load_bytes);
    table.set(HelperId::xdp_store_bytes, xdp_store_bytes);
}

}  // namespace bpfvm::testrun
