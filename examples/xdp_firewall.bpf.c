/* xdp_firewall: drops TCP segments with an impossible flag combination (SYN together with FIN,
 * and URG) and counts verdicts per action. It carries a PLANTED BUG for `bpfvm fuzz` to find:
 * when such a segment also carries the 4-byte value 0x1badf00d at payload offset 4, the program
 * returns XDP_ABORTED (an error path left in by mistake) instead of XDP_DROP. Only one packet
 * shape in about 2^60 reaches it; tests/fuzzing finds it from an all-zero frame.
 *
 * Maps:
 *   verdicts  array  key: __u32 XDP action (0..4), value: __u64 packets
 * Returns XDP_PASS for everything else (not IPv4/TCP, IP options, short packets).
 */
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include "bpf_common.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_URG 0x20
#define TCP_FLAGS_MASK 0x3f

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 5);
    __type(key, __u32);
    __type(value, __u64);
} verdicts SEC(".maps");

static __always_inline int verdict(__u32 action)
{
    __u64 *count = bpf_map_lookup_elem(&verdicts, &action);
    if (count)
        __sync_fetch_and_add(count, 1);
    return action;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return verdict(XDP_PASS);
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
        return verdict(XDP_PASS);
    struct tcphdr *tcp = (void *)(ip + 1);
    if ((void *)(tcp + 1) > data_end)
        return verdict(XDP_PASS);

    __u8 flags = ((__u8 *)tcp)[13] & TCP_FLAGS_MASK;
    if (flags != (TCP_SYN | TCP_FIN | TCP_URG))
        return verdict(XDP_PASS);

    __u8 *payload = (void *)(tcp + 1);
    if ((void *)(payload + 8) <= data_end && *(__u32 *)(payload + 4) == __builtin_bswap32(0x1badf00d))
        return verdict(XDP_ABORTED); /* the planted bug: should be XDP_DROP like the rest */
    return verdict(XDP_DROP);
}

char LICENSE[] SEC("license") = "GPL";
