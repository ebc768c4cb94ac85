/* tail_calls: an XDP entry program that dispatches through a program array.
 *
 * The first payload byte (right after the Ethernet header) selects the slot the entry program
 * tail-calls. Slot 1 holds stage_one, which stamps 0xaa into the second payload byte and
 * tail-calls slot 2; slot 2 holds stage_two, which returns XDP_TX. Slots 0 and 3 are empty: a tail
 * call into them (or past the end) falls through and the entry program returns XDP_DROP.
 *
 * Maps:
 *   jmp_table  prog_array, 4 slots, statically initialized (libbpf's `.values` convention)
 *   progress   array, 4 x __u64: [0] entry runs, [1] stage_one runs, [2] stage_two runs,
 *                                [3] failed tail calls
 * Frames with fewer than 16 bytes pass (XDP_PASS) after counting the entry run.
 */
#include <linux/if_ether.h>

#include "bpf_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} progress SEC(".maps");

static __always_inline void bump(__u32 index)
{
    __u64 *value = bpf_map_lookup_elem(&progress, &index);
    if (value)
        __sync_fetch_and_add(value, 1);
}

int stage_one(struct xdp_md *ctx);
int stage_two(struct xdp_md *ctx);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __uint(key_size, sizeof(__u32));
    __array(values, int(void *));
} jmp_table SEC(".maps") = {
    .values = {
        [1] = (void *)&stage_one,
        [2] = (void *)&stage_two,
    },
};

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    bump(0);
    __u8 *payload = data + sizeof(struct ethhdr);
    if ((void *)(payload + 2) > data_end)
        return XDP_PASS;

    bpf_tail_call(ctx, &jmp_table, payload[0]);
    bump(3);
    return XDP_DROP;
}

SEC("xdp")
int stage_one(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    bump(1);
    __u8 *payload = data + sizeof(struct ethhdr);
    if ((void *)(payload + 2) > data_end)
        return XDP_ABORTED;
    payload[1] = 0xaa;

    bpf_tail_call(ctx, &jmp_table, 2);
    bump(3);
    return XDP_ABORTED;
}

SEC("xdp")
int stage_two(struct xdp_md *ctx)
{
    (void)ctx;
    bump(2);
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
