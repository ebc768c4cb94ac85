/* A program whose license is not GPL-compatible: helpers marked GPL-only are refused, the others
 * are not. */
#include "table.h"

CASE(gpl_helper_from_proprietary_code,
     REJECT("cannot call GPL-restricted function from non-GPL compatible program"), NONE)
SEC("kprobe/do_nanosleep") __naked void gpl_helper_from_proprietary_code(void)
{
    asm volatile("r3 = *(u64 *)(r1 + 112);"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r2 = 8;"
                 "call %[probe_read_kernel];"
                 "r0 = 0;"
                 "exit;" :: HELPER(probe_read_kernel) : CLOBBERS);
}

CASE(trace_printk_from_proprietary_code,
     REJECT("cannot call GPL-restricted function from non-GPL compatible program"), NONE)
SEC("kprobe/do_nanosleep") __naked void trace_printk_from_proprietary_code(void)
{
    asm volatile("r1 = 0x0a6968;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r2 = 4;"
                 "call %[trace_printk];"
                 "r0 = 0;"
                 "exit;" :: HELPER(trace_printk) : CLOBBERS);
}

CASE(plain_helper_from_proprietary_code, ACCEPT, NONE)
SEC("kprobe/do_nanosleep") __naked void plain_helper_from_proprietary_code(void)
{
    asm volatile("call %[ktime_get_ns];"
                 "r0 = 0;"
                 "exit;" :: HELPER(ktime_get_ns) : CLOBBERS);
}

CASE(map_helpers_from_proprietary_code, ACCEPT, ACCEPT)
SEC("socket") __naked void map_helpers_from_proprietary_code(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "r0 = 0;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

char _license[] SEC("license") = "Proprietary";
