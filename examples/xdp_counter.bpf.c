/* xdp_counter: counts IPv4 packets per IP protocol in a hash map and drops one configured protocol.
 *
 * Maps:
 *   counts  hash   key: __u32 IP protocol number, value: __u64 packet count
 *   config  array  one entry, value: __u32 protocol to drop (0: drop nothing)
 * Returns XDP_PASS, XDP_DROP for the configured protocol, XDP_ABORTED for a truncated IPv4 header.
 * Frames that are not IPv4 pass uncounted.
 */
#include <linux/if_ether.h>
#include <linux/ip.h>

#include "bpf_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} config SEC(".maps");

static __always_inline void count_protocol(__u32 proto)
{
    __u64 *count = bpf_map_lookup_elem(&counts, &proto);
    if (count) {
        __sync_fetch_and_add(count, 1);
        return;
    }
    __u64 one = 1;
    bpf_map_update_elem(&counts, &proto, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_ABORTED;

    __u32 proto = ip->protocol;
    count_protocol(proto);

    __u32 zero = 0;
    __u32 *drop = bpf_map_lookup_elem(&config, &zero);
    if (drop && *drop != 0 && *drop == proto)
        return XDP_DROP;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
