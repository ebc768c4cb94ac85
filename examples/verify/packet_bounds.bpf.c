/* packet_bounds: the mistake the kernel's verifier catches most often, for `bpfvm verify` to explain.
 *
 * xdp_udp_drop_buggy reads the IPv4 header after proving only that the Ethernet header is in the
 * packet; the kernel refuses to load it ("invalid access to packet"), and so does bpfvm, naming the
 * instruction, the source line and the branch decisions that led there. xdp_udp_drop is the same
 * program with the missing check; both modes of the verifier accept it.
 */
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

#include "bpf_common.h"

SEC("xdp")
int xdp_udp_drop_buggy(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    /* Missing: if ((void *)(ip + 1) > data_end) return XDP_PASS; */
    if (ip->protocol == IPPROTO_UDP)
        return XDP_DROP;
    return XDP_PASS;
}

SEC("xdp")
int xdp_udp_drop(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;
    if (ip->protocol == IPPROTO_UDP)
        return XDP_DROP;
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
