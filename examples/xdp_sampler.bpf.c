/* xdp_sampler: sends packet samples to user space through a ring buffer from an XDP program, so
 * that ring buffer records can be compared between the kernel's test-run and bpfvm.
 *
 * Every frame produces a sample (reserve + submit) with its length, ethertype and first 16 bytes
 * (zeros when the frame is shorter). IPv6 samples are reserved and then discarded instead, so they
 * never reach the consumer. Every 4th frame (by a .bss sequence number) also emits an 8-byte
 * summary record with bpf_ringbuf_output. Always returns XDP_PASS.
 *
 * Maps:
 *   samples  ringbuf, 4 KiB
 *   .bss     seq (__u64): frames seen
 */
#include <linux/if_ether.h>

#include "bpf_common.h"

#define HEAD_BYTES 16

struct sample {
    __u32 len;
    __u32 ethertype; /* host byte order */
    __u8 head[HEAD_BYTES];
};

struct summary {
    __u32 seq;
    __u32 kind;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} samples SEC(".maps");

__u64 seq;

SEC("xdp")
int xdp_sample(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 n = ++seq;

    struct ethhdr *eth = data;
    __u32 ethertype = 0;
    if ((void *)(eth + 1) <= data_end)
        ethertype = bpf_ntohs(eth->h_proto);

    struct sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
    if (!s)
        return XDP_PASS;
    s->len = (__u32)(data_end - data);
    s->ethertype = ethertype;
    if (data + HEAD_BYTES <= data_end)
        __builtin_memcpy(s->head, data, HEAD_BYTES);
    else
        __builtin_memset(s->head, 0, HEAD_BYTES);
    if (ethertype == ETH_P_IPV6)
        bpf_ringbuf_discard(s, 0);
    else
        bpf_ringbuf_submit(s, 0);

    if (n % 4 == 0) {
        struct summary sum = {.seq = (__u32)n, .kind = 0x5a};
        bpf_ringbuf_output(&samples, &sum, sizeof(sum), 0);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
