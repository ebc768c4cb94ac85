/* uprobe_count: counts the calls of one function in user space, per process, with a uprobe. The
 * section is a bare "uprobe": the target is given when attaching, e.g.
 *   bpfvm trace uprobe_count.bpf.o --uprobe build/examples/tools/uprobe_target:bpfvm_traced_call
 * (uprobe_target is a small program built with the project that calls that function N times).
 *
 * Maps:
 *   calls_total  hash: tgid (u32) -> calls   (metric, label pid: uint)
 */
#include "tools_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} calls_total SEC(".maps");

SEC("uprobe")
int count_calls(void *regs)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    map_add(&calls_total, &tgid, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
