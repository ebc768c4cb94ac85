/* Shared by the observability tools in examples/tools: the extra helper prototypes they call, the
 * tracepoint record layouts they read (from /sys/kernel/tracing/events/.../format), and two
 * arithmetic helpers written so that no program contains a `neg` instruction (the kernel this
 * project is tested on crashes in its verifier on some neg patterns; the build checks every tool
 * object with llvm-objdump).
 */
#ifndef BPFVM_EXAMPLES_TOOLS_COMMON_H
#define BPFVM_EXAMPLES_TOOLS_COMMON_H

#include "bpf_common.h"

static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_delete_elem;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;
static __u64 (*bpf_get_current_uid_gid)(void) = (void *)BPF_FUNC_get_current_uid_gid;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user_str;

#define TASK_COMM_LEN 16
#define MAX_SLOTS 27 /* log2 slots 0..26: up to 2^27 - 1 us (134 s); slower events land in slot 26 */

/* Syscall tracepoints: 8 bytes of common fields, the syscall number, then 8-byte slots. */
struct sys_enter_record {
    __u64 common;
    __s32 syscall_nr;
    __u32 pad;
    __u64 args[6];
};

struct sys_exit_record {
    __u64 common;
    __s32 syscall_nr;
    __u32 pad;
    __s64 ret;
};

/* sched:sched_wakeup and sched:sched_wakeup_new. */
struct sched_wakeup_record {
    __u64 common;
    char comm[TASK_COMM_LEN];
    __s32 pid;
    __s32 prio;
    __s32 target_cpu;
};

/* sched:sched_switch. */
struct sched_switch_record {
    __u64 common;
    char prev_comm[TASK_COMM_LEN];
    __s32 prev_pid;
    __s32 prev_prio;
    __s64 prev_state;
    char next_comm[TASK_COMM_LEN];
    __s32 next_pid;
    __s32 next_prio;
};

/* 0 - x, computed from a zero the compiler cannot see through, so it stays a subtraction. */
static __always_inline __s64 negate(__s64 x)
{
    __s64 zero = 0;
    asm volatile("" : "+r"(zero));
    return zero - x;
}

/* floor(log2(v)) for v > 0, 0 for v == 0, without loops (the BCC tools' bit trick). */
static __always_inline __u64 log2_u32(__u32 v)
{
    __u32 shift, r;
    r = (v > 0xFFFF) << 4;
    v >>= r;
    shift = (v > 0xFF) << 3;
    v >>= shift;
    r |= shift;
    shift = (v > 0xF) << 2;
    v >>= shift;
    r |= shift;
    shift = (v > 0x3) << 1;
    v >>= shift;
    r |= shift;
    r |= (v >> 1);
    return r;
}

static __always_inline __u64 log2_u64(__u64 v)
{
    __u32 hi = v >> 32;
    return hi ? log2_u32(hi) + 32 : log2_u32((__u32)v);
}

/* Adds `by` to the u64 under `key` in a hash map, creating it if needed. */
static __always_inline void map_add(void *map, const void *key, __u64 by)
{
    __u64 *value = bpf_map_lookup_elem(map, key);
    if (value) {
        __sync_fetch_and_add(value, by);
        return;
    }
    if (bpf_map_update_elem(map, key, &by, BPF_NOEXIST) == 0)
        return;
    /* Another cpu created the entry meanwhile: add to it. */
    value = bpf_map_lookup_elem(map, key);
    if (value)
        __sync_fetch_and_add(value, by);
}

#endif /* BPFVM_EXAMPLES_TOOLS_COMMON_H */
