/* xdp_vlan: moves the packet start with bpf_xdp_adjust_head to remove or add an 802.1Q tag.
 *
 * A tagged frame (ethertype 0x8100) loses its 4-byte tag: the MAC addresses move 4 bytes forward
 * and the head is advanced. An untagged IPv4 frame gains a tag carrying `vlan_id` (in .rodata):
 * the head moves back 4 bytes into the headroom and the addresses are rewritten in front. Other
 * frames are dropped. The output packet is therefore 4 bytes shorter or longer than the input.
 *
 * Maps:
 *   vlan_stats  array, 2 x __u64: [0] tags removed, [1] tags added
 */
#include <linux/if_ether.h>

#include "bpf_common.h"

const volatile __u16 vlan_id = 100;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} vlan_stats SEC(".maps");

struct vlan_eth {
    __u8 dest[ETH_ALEN];
    __u8 source[ETH_ALEN];
    __be16 tpid;
    __be16 tci;
    __be16 proto;
};

static __always_inline void bump(__u32 index)
{
    __u64 *value = bpf_map_lookup_elem(&vlan_stats, &index);
    if (value)
        __sync_fetch_and_add(value, 1);
}

SEC("xdp")
int xdp_vlan_swap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;

    if (eth->h_proto == bpf_htons(ETH_P_8021Q)) {
        struct vlan_eth *v = data;
        if ((void *)(v + 1) > data_end)
            return XDP_DROP;
        /* Copy the addresses over the tag, back to front (the ranges overlap). */
        for (int i = ETH_ALEN * 2 - 1; i >= 0; i--)
            ((__u8 *)data)[i + 4] = ((__u8 *)data)[i];
        if (bpf_xdp_adjust_head(ctx, 4))
            return XDP_ABORTED;
        bump(0);
        return XDP_PASS;
    }
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_DROP;

    if (bpf_xdp_adjust_head(ctx, -4))
        return XDP_ABORTED;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    struct vlan_eth *v = data;
    if ((void *)(v + 1) > data_end)
        return XDP_ABORTED;
    for (int i = 0; i < ETH_ALEN * 2; i++)
        ((__u8 *)data)[i] = ((__u8 *)data)[i + 4];
    v->tpid = bpf_htons(ETH_P_8021Q);
    v->tci = bpf_htons(vlan_id & 0x0fff);
    /* v->proto still holds the original ethertype: it sat right after the addresses. */
    bump(1);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
