/* Test fixture for tests/kernel: one program per attach path the tools do not cover. Every
 * program counts its runs in `hits` (slot per program) so the tests can see it ran.
 *   kprobe/do_unlinkat   (this test machine has no kprobes: the attach error is what is tested)
 *   fentry/do_unlinkat   (BPF trampoline on the same function)
 *   perf_event           (cpu-clock sampling)
 *   tracepoint getppid   (sends one perf event array record per call: the perf buffer path)
 */
#include "tools_common.h"

enum { HIT_KPROBE, HIT_FENTRY, HIT_PERF_EVENT, HIT_GETPPID, HIT_SLOTS };

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, HIT_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

struct sample {
    __u32 pid;
    __u32 seq;
};

/* The last record sent, kept in .bss: it also puts struct sample into the object's BTF, which is
 * how `bpfvm trace` finds the layout of the perf event array's records. */
struct sample last_sample;

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) =
    (void *)BPF_FUNC_perf_event_output;

const volatile __u32 targ_tgid = 0;

static __always_inline __u64 hit(__u32 slot)
{
    __u64 *v = bpf_map_lookup_elem(&hits, &slot);
    return v ? __sync_fetch_and_add(v, 1) : 0;
}

SEC("kprobe/do_unlinkat")
int on_unlink_kprobe(void *ctx)
{
    hit(HIT_KPROBE);
    return 0;
}

SEC("fentry/do_unlinkat")
int on_unlink_fentry(unsigned long long *ctx)
{
    hit(HIT_FENTRY);
    return 0;
}

SEC("perf_event")
int on_sample(void *ctx)
{
    hit(HIT_PERF_EVENT);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (targ_tgid && tgid != targ_tgid)
        return 0;
    struct sample s = {.pid = tgid, .seq = (__u32)hit(HIT_GETPPID)};
    last_sample = s;
    bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &s, sizeof(s));
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
