/* opensnoop: one event per openat(2), like BCC's opensnoop: who opened what, with which flags,
 * and what the call returned. sys_enter_openat remembers the filename pointer and flags per
 * thread; sys_exit_openat reads the filename (now that the call has run), sends the event
 * through a ring buffer and counts the call.
 *
 * Maps:
 *   events             ringbuf of struct event (the value type tells `bpfvm trace` how to decode)
 *   start              hash: thread id -> struct args (calls in flight)
 *   opens_total        hash: comm -> calls             (metric, label comm: string)
 *   open_errors_total  hash: errno (u64) -> failures   (metric, label errno: uint, errno)
 * Global: targ_tgid (0: every process), set by `bpfvm trace -p PID`.
 */
#include "tools_common.h"

#define NAME_MAX 255

struct args {
    __u64 fname;
    __s32 flags;
    __u32 pad;
};

struct event {
    __u32 pid;
    __u32 tid;
    __u32 uid;
    __s32 ret;
    __s32 flags;
    char comm[TASK_COMM_LEN];
    char fname[NAME_MAX + 1];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
    __type(value, struct event);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, struct args);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, char[TASK_COMM_LEN]);
    __type(value, __u64);
} opens_total SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u64);
    __type(value, __u64);
} open_errors_total SEC(".maps");

const volatile __u32 targ_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_enter_openat(struct sys_enter_record *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;
    __u32 tid = (__u32)id;
    if (targ_tgid && targ_tgid != tgid)
        return 0;
    struct args args = {};
    args.fname = ctx->args[1];
    args.flags = (__s32)ctx->args[2];
    bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int trace_exit_openat(struct sys_exit_record *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    struct args *ap = bpf_map_lookup_elem(&start, &tid);
    if (!ap)
        return 0; /* missed the entry, or filtered out */

    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (e) {
        __builtin_memset(e, 0, sizeof(*e)); /* ring buffer memory is not zeroed */
        e->pid = id >> 32;
        e->tid = tid;
        e->uid = (__u32)bpf_get_current_uid_gid();
        e->ret = (__s32)ctx->ret;
        e->flags = ap->flags;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        bpf_probe_read_user_str(e->fname, sizeof(e->fname), (const void *)ap->fname);
        bpf_ringbuf_submit(e, 0);
    }

    char comm[TASK_COMM_LEN] = {};
    bpf_get_current_comm(comm, sizeof(comm));
    map_add(&opens_total, comm, 1);
    if (ctx->ret < 0) {
        __u64 err = (__u64)negate(ctx->ret);
        map_add(&open_errors_total, &err, 1);
    }
    bpf_map_delete_elem(&start, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
