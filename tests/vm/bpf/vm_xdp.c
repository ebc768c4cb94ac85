/* XDP programs for test_vm: counting with a map and a .rodata setting, context pointers,
 * xdp_adjust_head / xdp_adjust_tail, tail calls through a prog_array, trace output. */
#include "vm_common.h"

/* Read-only configuration (.rodata): the action returned for counted packets. */
const volatile __u32 pass_action = XDP_PASS;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

static __attribute__((always_inline)) inline void put(__u32 index, __u64 value)
{
    __u64 *slot = bpf_map_lookup_elem(&counts, &index);
    if (slot)
        *slot += value;
}

/* counts[0] += 1, counts[1] += packet length; returns pass_action. */
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    if (data + 14 > data_end)
        return XDP_ABORTED;
    put(0, 1);
    put(1, data_end - data);
    return pass_action;
}

/* Drops the first 4 bytes; returns the new length (or 1000 + the helper's error). */
SEC("xdp")
int xdp_pop4(struct xdp_md *ctx)
{
    long err = bpf_xdp_adjust_head(ctx, 4);
    if (err)
        return 1000 - err;
    return ctx->data_end - ctx->data;
}

/* Prepends 2 bytes 0xab 0xcd; returns the new length. */
SEC("xdp")
int xdp_push2(struct xdp_md *ctx)
{
    if (bpf_xdp_adjust_head(ctx, -2))
        return XDP_ABORTED;
    __u8 *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    if ((void *)(data + 2) > data_end)
        return XDP_ABORTED;
    data[0] = 0xab;
    data[1] = 0xcd;
    return (void *)data_end - (void *)data;
}

/* Grows (delta from the first payload byte, signed) the tail; returns the new length or 1000 + error. */
SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
    __s8 *data = (void *)(long)ctx->data;
    if ((void *)(data + 15) > (void *)(long)ctx->data_end)
        return XDP_ABORTED;
    long err = bpf_xdp_adjust_tail(ctx, data[14]);
    if (err)
        return 1000 - err;
    return ctx->data_end - ctx->data;
}

int stage_a(struct xdp_md *ctx);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __uint(key_size, sizeof(__u32));
    __array(values, int(void *));
} jumps SEC(".maps") = {
    .values = {[0] = (void *)&stage_a},
};

/* Tail-calls jumps[payload byte 0]; falls through to XDP_DROP. */
SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
    __u8 *data = (void *)(long)ctx->data;
    if ((void *)(data + 15) > (void *)(long)ctx->data_end)
        return XDP_ABORTED;
    bpf_tail_call(ctx, &jumps, data[14]);
    return XDP_DROP;
}

SEC("xdp")
int stage_a(struct xdp_md *ctx)
{
    put(2, 1);
    bpf_printk("stage a");
    return XDP_TX;
}

SEC("xdp")
int stage_b(struct xdp_md *ctx)
{
    put(3, 1);
    return XDP_REDIRECT;
}

char LICENSE[] SEC("license") = "GPL";

/* Reads past the 4096-byte frame without a bounds check: traps in checked mode. */
SEC("xdp")
int xdp_oob(struct xdp_md *ctx)
{
    __u8 *data = (void *)(long)ctx->data;
    return data[5000];
}
