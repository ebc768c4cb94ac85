// Kernel function calls (extern ... __ksym): resolved by name to BTF ids of the target BTF.
#include "mini.h"

char _license[] SEC("license") = "GPL";

struct task_struct;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) SEC(".ksyms");
extern void bpf_task_release(struct task_struct *p) SEC(".ksyms");

SEC("tp_btf/task_newtask")
int acquire_release(unsigned long long *ctx) {
    struct task_struct *t = bpf_task_acquire((struct task_struct *)ctx[0]);
    if (t)
        bpf_task_release(t);
    return 0;
}
