// CO-RE relocations against the running kernel's BTF: a field that exists in task_struct, one
// that does not (flavored local definitions), and a field-exists check.
#include "mini.h"

char _license[] SEC("license") = "GPL";

struct task_struct___local {
    int pid;
    int tgid;
} __attribute__((preserve_access_index));

struct task_struct___missing {
    int no_such_field_in_any_kernel;
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int read_pid(struct task_struct___local *task) {
    return task->pid + task->tgid;
}

SEC("kprobe/do_nanosleep")
int probe_missing(struct task_struct___missing *task) {
    if (__builtin_preserve_field_info(task->no_such_field_in_any_kernel, 2 /* FIELD_EXISTS */))
        return task->no_such_field_in_any_kernel;
    return -1;
}
