/* tp_ringbuf: a tracepoint program on sys_enter_openat that sends one event per call through a
 * ring buffer: the calling task's pid, tgid and comm plus the syscall's dfd, flags and mode.
 *
 * Maps:
 *   events  ringbuf, 4 KiB
 *   stats   array, 2 x __u64: [0] events submitted, [1] reservations that failed (buffer full)
 * Always returns 0. The kernel cannot test-run tracepoint programs; bpfvm runs them with a
 * context given as bytes.
 */
#include "bpf_common.h"

#define O_CREAT_FLAG 0100 /* octal, as in the generic fcntl.h */

/* Layout of the tracepoint record (see .../events/syscalls/sys_enter_openat/format):
 * 8 bytes of common fields, the syscall number, then the arguments as 8-byte slots. */
struct sys_enter_openat_args {
    __u64 common;
    __s32 syscall_nr;
    __u32 pad;
    __s64 dfd;
    __u64 filename;
    __u64 flags;
    __u64 mode;
};

struct event {
    __u32 pid;
    __u32 tgid;
    __s64 dfd;
    __u64 flags;
    __u64 mode;
    char comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 index)
{
    __u64 *value = bpf_map_lookup_elem(&stats, &index);
    if (value)
        __sync_fetch_and_add(value, 1);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct sys_enter_openat_args *args)
{
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        stat_inc(1);
        return 0;
    }
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    e->pid = (__u32)pid_tgid;
    e->tgid = (__u32)(pid_tgid >> 32);
    e->dfd = args->dfd;
    e->flags = args->flags;
    e->mode = args->mode;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
    stat_inc(0);

    /* bpf_trace_printk knows %d %i %u %x %X (with l/ll), %p, %s and %c, but not %o. */
    if (args->flags & O_CREAT_FLAG)
        bpf_printk("openat O_CREAT mode %u", args->mode);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
