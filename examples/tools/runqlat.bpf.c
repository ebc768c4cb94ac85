/* runqlat: run queue latency, like BCC's runqlat: how long runnable tasks wait for a cpu. A task
 * becomes runnable at sched_wakeup / sched_wakeup_new, or when it is switched out while still
 * running (preempted); the wait ends when sched_switch switches it in. The waits go into a log2
 * histogram of microseconds.
 *
 * Maps:
 *   start                hash: pid -> time it became runnable (ns)
 *   runqlat_hist_usecs   array: log2 slot -> count (printed as a BCC histogram by `bpfvm trace`;
 *                        the metric run_queue_latency_seconds in runqlat.yaml)
 *   runqlat_usecs_total  array[1]: sum of all waits in microseconds
 * Global: targ_tgid is not used: run queue waits are per thread and cheap to keep for all.
 */
#include "tools_common.h"

#define TASK_RUNNING 0

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, __u64);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} runqlat_hist_usecs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} runqlat_usecs_total SEC(".maps");

static __always_inline int enqueue(__s32 pid)
{
    if (pid == 0) /* the idle task */
        return 0;
    __u32 key = pid;
    __u64 ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&start, &key, &ts, BPF_ANY);
    return 0;
}

SEC("tracepoint/sched/sched_wakeup")
int handle_sched_wakeup(struct sched_wakeup_record *ctx)
{
    return enqueue(ctx->pid);
}

SEC("tracepoint/sched/sched_wakeup_new")
int handle_sched_wakeup_new(struct sched_wakeup_record *ctx)
{
    return enqueue(ctx->pid);
}

SEC("tracepoint/sched/sched_switch")
int handle_sched_switch(struct sched_switch_record *ctx)
{
    /* A task switched out while runnable waits in the queue from now on. */
    if (ctx->prev_state == TASK_RUNNING)
        enqueue(ctx->prev_pid);

    __u32 pid = ctx->next_pid;
    __u64 *tsp = bpf_map_lookup_elem(&start, &pid);
    if (!tsp)
        return 0;
    __s64 delta = (__s64)(bpf_ktime_get_ns() - *tsp);
    if (delta >= 0) {
        __u64 usecs = (__u64)delta / 1000;
        __u32 slot = log2_u64(usecs);
        if (slot >= MAX_SLOTS)
            slot = MAX_SLOTS - 1;
        __u64 *count = bpf_map_lookup_elem(&runqlat_hist_usecs, &slot);
        if (count)
            __sync_fetch_and_add(count, 1);
        __u32 zero = 0;
        __u64 *sum = bpf_map_lookup_elem(&runqlat_usecs_total, &zero);
        if (sum)
            __sync_fetch_and_add(sum, usecs);
    }
    bpf_map_delete_elem(&start, &pid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
