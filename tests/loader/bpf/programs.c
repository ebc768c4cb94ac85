// Several programs per section, subprograms (static and global, transitive), a bpf_loop callback.
#include "mini.h"

char _license[] SEC("license") = "GPL";

static __noinline int leaf(int x) {
    return x * 3 + 1;
}

static __noinline int middle(int x) {
    return leaf(x) + leaf(x + 1);
}

__noinline int global_helper(int x) {
    return x ^ 0x55;
}

static long loop_cb(__u32 index, void *ctx) {
    *(long *)ctx += index;
    return 0;
}

SEC("xdp")
int prog_a(void *ctx) {
    return middle(2);
}

SEC("xdp")
int prog_b(void *ctx) {
    return global_helper(leaf(5)) + 2;
}

SEC("tracepoint/syscalls/sys_enter_write")
int trace_write(void *ctx) {
    long sum = 0;
    bpf_loop(10, loop_cb, &sum, 0);
    return (int)sum + (int)bpf_ktime_get_ns();
}
