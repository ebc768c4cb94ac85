/* syslat: system call latency and counts, on the raw tracepoints sys_enter and sys_exit (which
 * the kernel can also test-run, so `bpfvm test --also-kernel` compares bpfvm and the kernel on
 * them). sys_enter counts the call by number and notes when it started; sys_exit counts errors by
 * errno and adds the call's duration to a log2 histogram of microseconds. The raw sys_exit
 * tracepoint does not carry the syscall number: it comes from the start record.
 *
 * Maps:
 *   start                      hash: thread id -> struct start (time, syscall number)
 *   syscalls_total             hash: syscall number (u64) -> calls   (label: uint, syscall)
 *   syscall_errors_total       hash: errno (u64) -> failed calls     (label: uint, errno)
 *   syscall_latency_hist_usecs array: log2 slot -> calls (histogram syscall_latency_seconds)
 * Global: targ_tgid (0: every process), set by `bpfvm trace -p PID`.
 */
#include "tools_common.h"

struct start {
    __u64 ts;
    __u64 nr;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, struct start);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, __u64);
} syscalls_total SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u64);
    __type(value, __u64);
} syscall_errors_total SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} syscall_latency_hist_usecs SEC(".maps");

const volatile __u32 targ_tgid = 0;

/* raw_tp/sys_enter: ctx[0] = struct pt_regs *, ctx[1] = syscall number. */
SEC("raw_tp/sys_enter")
int sys_enter(unsigned long long *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (targ_tgid && targ_tgid != (__u32)(id >> 32))
        return 0;
    __u32 tid = (__u32)id;
    struct start s = {.ts = bpf_ktime_get_ns(), .nr = ctx[1]};
    bpf_map_update_elem(&start, &tid, &s, BPF_ANY);
    map_add(&syscalls_total, &s.nr, 1);
    return 0;
}

/* raw_tp/sys_exit: ctx[0] = struct pt_regs *, ctx[1] = return value. */
SEC("raw_tp/sys_exit")
int sys_exit(unsigned long long *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (targ_tgid && targ_tgid != (__u32)(id >> 32))
        return 0;
    __s64 ret = (__s64)ctx[1];
    if (ret < 0 && ret >= -4095) {
        __u64 err = (__u64)negate(ret);
        map_add(&syscall_errors_total, &err, 1);
    }
    __u32 tid = (__u32)id;
    struct start *s = bpf_map_lookup_elem(&start, &tid);
    if (!s)
        return 0; /* started before we attached, or filtered out */
    __s64 delta = (__s64)(bpf_ktime_get_ns() - s->ts);
    if (delta >= 0) {
        __u32 slot = log2_u64((__u64)delta / 1000);
        if (slot >= MAX_SLOTS)
            slot = MAX_SLOTS - 1;
        __u64 *count = bpf_map_lookup_elem(&syscall_latency_hist_usecs, &slot);
        if (count)
            __sync_fetch_and_add(count, 1);
    }
    bpf_map_delete_elem(&start, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
