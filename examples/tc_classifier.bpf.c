/* tc_classifier: a SCHED_CLS program (section "tc") configured through read-only globals.
 *
 * IPv4 TCP/UDP packets whose destination port equals `blocked_port` are dropped (TC_ACT_SHOT);
 * every other IPv4 TCP/UDP packet gets skb->mark = `mark_value`. Everything else passes untouched.
 * The configuration lives in .rodata (`const volatile`), so a loader may set it before loading and
 * the kernel verifier, once the map is frozen, treats it as constant.
 *
 * Maps:
 *   stats  array, 4 x __u64: [0] packets seen, [1] bytes seen (skb->len), [2] dropped, [3] not IPv4
 */
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include "bpf_common.h"

const volatile __u16 blocked_port = 23;   /* host byte order */
const volatile __u32 mark_value = 0x42;

enum { STAT_PACKETS, STAT_BYTES, STAT_DROPPED, STAT_NOT_IP, STAT_COUNT };

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, STAT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 index, __u64 amount)
{
    __u64 *value = bpf_map_lookup_elem(&stats, &index);
    if (value)
        __sync_fetch_and_add(value, amount);
}

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;

    stat_add(STAT_PACKETS, 1);
    stat_add(STAT_BYTES, skb->len);

    if (skb->protocol != bpf_htons(ETH_P_IP)) {
        stat_add(STAT_NOT_IP, 1);
        return TC_ACT_OK;
    }

    struct iphdr *ip = data + sizeof(struct ethhdr);
    if ((void *)(ip + 1) > data_end)
        return TC_ACT_OK;
    if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
        return TC_ACT_OK;

    /* The transport header follows the IP options; ihl counts 32-bit words (5..15). */
    __u32 ihl = ip->ihl;
    if (ihl < 5)
        return TC_ACT_OK;
    __u8 *l4 = (__u8 *)ip + ihl * 4;
    if ((void *)(l4 + 4) > data_end)
        return TC_ACT_OK;

    /* Both TCP and UDP start with source port, destination port (network byte order). */
    __u16 dport = (__u16)((l4[2] << 8) | l4[3]);
    if (dport == blocked_port) {
        stat_add(STAT_DROPPED, 1);
        return TC_ACT_SHOT;
    }
    skb->mark = mark_value;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
