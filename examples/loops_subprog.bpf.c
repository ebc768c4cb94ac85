/* loops_subprog: bounded loops, bpf_loop with a callback, and a non-inlined subprogram.
 *
 * The XDP program copies up to 64 bytes of payload (everything after the 14-byte Ethernet header)
 * into a zeroed stack buffer with a constant-bound loop, then
 *   - computes the Internet checksum (RFC 1071) of those bytes in a noinline subprogram,
 *   - computes a position-weighted byte sum with bpf_loop (sum of buf[i] * (i + 1)),
 * and records the results. A payload whose checksum verifies (folds to 0) is echoed: the Ethernet
 * addresses are swapped with another constant-bound loop and the program returns XDP_TX.
 * Otherwise XDP_PASS; frames shorter than an Ethernet header also pass.
 *
 * Maps:
 *   results  array, 4 x __u64: [0] checksum, [1] weighted sum, [2] payload bytes used,
 *                              [3] iterations bpf_loop reported
 */
#include <linux/if_ether.h>

#include "bpf_common.h"

#define MAX_BYTES 64

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} results SEC(".maps");

struct weigh_ctx {
    __u64 sum;
    __u8 buf[MAX_BYTES];
};

/* Ones' complement sum of big-endian 16-bit words. The buffer is zero beyond `len`, so an odd
 * trailing byte is padded with zero as RFC 1071 requires, with no conditional select. */
static __noinline __u32 checksum(const __u8 *buf, __u32 len)
{
    __u32 sum = 0;
    for (__u32 i = 0; i < MAX_BYTES; i += 2) {
        if (i >= len)
            break;
        sum += ((__u32)buf[i] << 8) | buf[i + 1];
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (~sum) & 0xffff;
}

static long weigh_byte(__u32 index, void *data)
{
    struct weigh_ctx *w = data;
    if (index >= MAX_BYTES)
        return 1;
    w->sum += (__u64)w->buf[index] * (index + 1);
    return 0;
}

static __always_inline void record(__u32 index, __u64 value)
{
    __u64 *slot = bpf_map_lookup_elem(&results, &index);
    if (slot)
        *slot = value;
}

SEC("xdp")
int xdp_checksum(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;

    struct weigh_ctx w = {};
    __u8 *payload = (__u8 *)(eth + 1);
    __u32 len = 0;
    for (__u32 i = 0; i < MAX_BYTES; i++) {
        if ((void *)(payload + i + 1) > data_end)
            break;
        w.buf[i] = payload[i];
        len = i + 1;
    }

    __u32 csum = checksum(w.buf, len);
    long iterations = bpf_loop(len, weigh_byte, &w, 0);

    record(0, csum);
    record(1, w.sum);
    record(2, len);
    record(3, (__u64)iterations);

    if (len == 0 || csum != 0)
        return XDP_PASS;

    for (int i = 0; i < ETH_ALEN; i++) {
        __u8 tmp = eth->h_dest[i];
        eth->h_dest[i] = eth->h_source[i];
        eth->h_source[i] = tmp;
    }
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
