/* socket_filter: a classic socket filter written with legacy packet loads (BPF_LD_ABS/BPF_LD_IND).
 *
 * Keeps whole IPv4 UDP datagrams addressed to port 53 (returns skb->len), truncates other UDP to
 * its first 28 bytes (IP + UDP headers) and drops everything else (returns 0). Counters live in
 * mutable global variables (.bss and .data), which the loader turns into one-entry array maps.
 *
 * A socket filter sees the packet from the network header on: the Ethernet header is already
 * consumed (the kernel's test-run pulls it with eth_type_trans), so offset 0 is the IP version/IHL.
 */
#include <linux/if_ether.h>
#include <linux/in.h>

#include "bpf_common.h"

__u64 kept;     /* .bss */
__u64 trimmed;  /* .bss */
__u64 dropped;  /* .bss */
__u32 last_len = 0xffffffff;  /* .data: skb->len of the last packet seen */

SEC("socket")
int dns_filter(struct __sk_buff *skb)
{
    last_len = skb->len;
    if (skb->protocol != bpf_htons(ETH_P_IP)) {
        dropped++;
        return 0;
    }
    if (load_byte(skb, 9) != IPPROTO_UDP) {
        dropped++;
        return 0;
    }
    /* IHL in 32-bit words; the UDP destination port follows the options. */
    __u32 ihl = load_byte(skb, 0) & 0x0f;
    __u32 dport = load_half(skb, ihl * 4 + 2);
    if (dport == 53) {
        kept++;
        return skb->len;
    }
    trimmed++;
    return 28;
}

char LICENSE[] SEC("license") = "GPL";
