/* Non-packet program types for test_vm: a raw tracepoint reading u64 arguments. */
#include "vm_common.h"

SEC("raw_tp/sys_enter")
int raw_args(__u64 *args)
{
    return args[0] + args[1];
}

char LICENSE[] SEC("license") = "GPL";
