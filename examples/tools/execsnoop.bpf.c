/* execsnoop: one event per execve(2), like BCC's execsnoop: the calling process, the program it
 * runs and its first arguments (read from the caller's memory at sys_enter_execve, before the
 * new program replaces it).
 *
 * Maps:
 *   events       ringbuf of struct event
 *   execs_total  hash: comm of the caller -> execs   (metric, label comm: string)
 * Global: targ_tgid (0: every process), set by `bpfvm trace -p PID`.
 */
#include "tools_common.h"

#define ARG_LEN 64
#define MAX_ARGS 3

struct event {
    __u32 pid;
    __u32 tid;
    __u32 uid;
    __u32 argc; /* arguments read (at most MAX_ARGS, argv[0] excluded) */
    char comm[TASK_COMM_LEN];
    char filename[128];
    char arg1[ARG_LEN];
    char arg2[ARG_LEN];
    char arg3[ARG_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
    __type(value, struct event);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, char[TASK_COMM_LEN]);
    __type(value, __u64);
} execs_total SEC(".maps");

const volatile __u32 targ_tgid = 0;

/* Reads argv[index] into dst; returns 1 when there was such an argument. */
static __always_inline int read_arg(char *dst, const char *const *argv, int index)
{
    const char *arg = 0;
    if (bpf_probe_read_user(&arg, sizeof(arg), &argv[index]) != 0 || !arg)
        return 0;
    return bpf_probe_read_user_str(dst, ARG_LEN, arg) > 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve(struct sys_enter_record *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;
    if (targ_tgid && targ_tgid != tgid)
        return 0;
    char comm[TASK_COMM_LEN] = {};
    bpf_get_current_comm(comm, sizeof(comm));
    map_add(&execs_total, comm, 1);

    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    __builtin_memset(e, 0, sizeof(*e)); /* ring buffer memory is not zeroed */
    e->pid = tgid;
    e->tid = (__u32)id;
    e->uid = (__u32)bpf_get_current_uid_gid();
    __builtin_memcpy(e->comm, comm, sizeof(comm));
    bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const void *)ctx->args[0]);
    const char *const *argv = (const char *const *)ctx->args[1];
    if (read_arg(e->arg1, argv, 1)) {
        e->argc = 1;
        if (read_arg(e->arg2, argv, 2)) {
            e->argc = 2;
            if (read_arg(e->arg3, argv, 3))
                e->argc = 3;
        }
    }
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
