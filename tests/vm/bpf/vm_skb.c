/* tc and socket filter programs for test_vm: __sk_buff fields, packet pointers, byte loads and
 * stores, checksum helpers. */
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include "vm_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 6);
    __type(key, __u32);
    __type(value, __u64);
} fields SEC(".maps");

static __attribute__((always_inline)) inline void set(__u32 index, __u64 value)
{
    __u64 *slot = bpf_map_lookup_elem(&fields, &index);
    if (slot)
        *slot = value;
}

/* Records len, protocol, data_end - data, pkt_type, ifindex, cb[0]; sets mark and cb[1]. */
SEC("tc")
int tc_fields(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    set(0, skb->len);
    set(1, skb->protocol);
    set(2, data_end - data);
    set(3, skb->pkt_type);
    set(4, skb->ifindex);
    set(5, skb->cb[0]);
    skb->mark = 0x1234;
    skb->cb[1] = 7;
    return TC_ACT_OK;
}

/* Rewrites the IPv4 destination to 10.0.0.99, fixing the IP and UDP checksums with the helpers. */
SEC("tc")
int tc_rewrite_daddr(struct __sk_buff *skb)
{
    __u32 old = 0;
    __u32 new = bpf_htonl(0x0a000063);
    if (bpf_skb_load_bytes(skb, ETH_HLEN + 16, &old, 4))
        return TC_ACT_SHOT;
    if (bpf_l4_csum_replace(skb, ETH_HLEN + 20 + 6, old, new, BPF_F_PSEUDO_HDR | 4))
        return TC_ACT_SHOT;
    if (bpf_l3_csum_replace(skb, ETH_HLEN + 10, old, new, 4))
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, ETH_HLEN + 16, &new, 4, 0))
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

/* bpf_csum_diff of bytes 01 02 03 04 -> 05 06 07 08 with seed 0. */
SEC("tc")
int tc_csum_diff(struct __sk_buff *skb)
{
    __u8 from[4] = {1, 2, 3, 4};
    __u8 to[4] = {5, 6, 7, 8};
    return bpf_csum_diff((__be32 *)from, 4, (__be32 *)to, 4, 0);
}

/* Out-of-range skb_load_bytes returns -EFAULT (as retval 1000 + 14). */
SEC("tc")
int tc_load_past_end(struct __sk_buff *skb)
{
    __u32 word = 0;
    long err = bpf_skb_load_bytes(skb, skb->len - 2, &word, 4);
    return 1000 - err;
}

SEC("tc")
int tc_redirect(struct __sk_buff *skb)
{
    return bpf_redirect(7, 0);
}

/* A socket filter sees the packet from the network header on. */
SEC("socket")
int sock_len(struct __sk_buff *skb)
{
    return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
