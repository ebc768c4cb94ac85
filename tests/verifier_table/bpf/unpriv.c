/* What separates an unprivileged loader (socket filters, cgroup skb) from one with CAP_BPF +
 * CAP_PERFMON: no addresses may reach anything the program or user space can read (maps,
 * helpers, r0), no comparisons of pointers, no uninitialised stack, no loops, no helpers beyond
 * the basic set. The privileged verdict is checked against the kernel; the unprivileged one
 * follows the kernel's rules (this host forbids unprivileged bpf()). */
#include "table.h"

DEFINE_HASH_48(unpriv_hash);

CASE(compare_two_pointers, ACCEPT, REJECT("R10 pointer comparison prohibited"))
SEC("socket") __naked void compare_two_pointers(void)
{
    asm volatile("r0 = 0;"
                 "if r1 == r10 goto 1f;"
                 "r0 = 1;"
                 "1: exit;" ::: CLOBBERS);
}

CASE(compare_pointer_with_constant, ACCEPT, REJECT("R1 pointer comparison prohibited"))
SEC("socket") __naked void compare_pointer_with_constant(void)
{
    asm volatile("r0 = 0;"
                 "if r1 > 4096 goto 1f;"
                 "r0 = 1;"
                 "1: exit;" ::: CLOBBERS);
}

CASE(compare_number_with_pointer, ACCEPT, REJECT("R10 pointer comparison prohibited"))
SEC("socket") __naked void compare_number_with_pointer(void)
{
    asm volatile("r0 = 0;"
                 "r2 = 5;"
                 "if r2 > r10 goto 1f;"
                 "r0 = 1;"
                 "1: exit;" ::: CLOBBERS);
}

CASE(compare_pointer_32bit, ACCEPT, REJECT("R1 pointer comparison prohibited"))
SEC("socket") __naked void compare_pointer_32bit(void)
{
    asm volatile("r0 = 0;"
                 "if w1 == 0 goto 1f;"
                 "r0 = 1;"
                 "1: exit;" ::: CLOBBERS);
}

CASE(null_check_is_not_a_pointer_comparison, ACCEPT, ACCEPT)
SEC("socket") __naked void null_check_is_not_a_pointer_comparison(void)
{
    asm volatile(LOOKUP(unpriv_hash)
                 "if r0 != 0 goto 1f;"
                 "exit;"
                 "1: r0 = 0;"
                 "exit;" :: MAP(unpriv_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(return_map_pointer, ACCEPT, REJECT("R0 leaks addr as return value"))
SEC("socket") __naked void return_map_pointer(void)
{
    asm volatile("r0 = %[unpriv_hash] ll;"
                 "exit;" :: MAP(unpriv_hash) : CLOBBERS);
}

CASE(return_map_value_pointer, ACCEPT, REJECT("R0 leaks addr as return value"))
SEC("socket") __naked void return_map_value_pointer(void)
{
    asm volatile(LOOKUP(unpriv_hash)
                 "exit;" :: MAP(unpriv_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(pointer_difference_returned, ACCEPT, REJECT("R1 pointer -= pointer prohibited"))
SEC("socket") __naked void pointer_difference_returned(void)
{
    asm volatile("r1 = r10;"
                 "r1 -= r1;"
                 "r0 = r1;"
                 "exit;" ::: CLOBBERS);
}

CASE(spilled_pointer_passed_to_helper, ACCEPT, REJECT("R3 off -48+40 size 48"))
SEC("socket") __naked void spilled_pointer_passed_to_helper(void)
{
    /* The value handed to map_update_elem holds the context pointer in its last 8 bytes. */
    asm volatile("r2 = 0;"
                 "*(u64 *)(r10 - 48) = r2;"
                 "*(u64 *)(r10 - 40) = r2;"
                 "*(u64 *)(r10 - 32) = r2;"
                 "*(u64 *)(r10 - 24) = r2;"
                 "*(u64 *)(r10 - 16) = r2;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "*(u64 *)(r10 - 56) = r2;"
                 "r2 = r10;"
                 "r2 += -56;"
                 "r3 = r10;"
                 "r3 += -48;"
                 "r4 = 0;"
                 "r1 = %[unpriv_hash] ll;"
                 "call %[map_update_elem];"
                 "r0 = 0;"
                 "exit;" :: MAP(unpriv_hash), HELPER(map_update_elem) : CLOBBERS);
}

CASE(spilled_pointer_refilled, ACCEPT, ACCEPT)
SEC("socket") __naked void spilled_pointer_refilled(void)
{
    /* Spilling and filling a pointer whole is fine for anyone. */
    asm volatile("*(u64 *)(r10 - 8) = r1;"
                 "r1 = *(u64 *)(r10 - 8);"
                 "r0 = *(u32 *)(r1 + %[len]);"
                 "exit;" :: CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(helper_beyond_basic_set, ACCEPT, REJECT("cannot use helper"))
SEC("socket") __naked void helper_beyond_basic_set(void)
{
    /* bpf_jiffies64 needs CAP_BPF. */
    asm volatile("call %[jiffies64];"
                 "r0 = 0;"
                 "exit;" :: HELPER(jiffies64) : CLOBBERS);
}

CASE(tracing_helper_in_socket_filter, ACCEPT, REJECT("cannot use helper"))
SEC("socket") __naked void tracing_helper_in_socket_filter(void)
{
    /* bpf_trace_printk needs CAP_PERFMON. */
    asm volatile("r1 = 0x0a6968;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r2 = 4;"
                 "call %[trace_printk];"
                 "r0 = 0;"
                 "exit;" :: HELPER(trace_printk) : CLOBBERS);
}

CASE(basic_helpers_for_everyone, ACCEPT, ACCEPT)
SEC("socket") __naked void basic_helpers_for_everyone(void)
{
    asm volatile("call %[ktime_get_ns];"
                 "call %[get_smp_processor_id];"
                 "call %[get_prandom_u32];"
                 "r0 = 0;"
                 "exit;" :: HELPER(ktime_get_ns), HELPER(get_smp_processor_id), HELPER(get_prandom_u32)
                 : CLOBBERS);
}

CASE(pointer_into_map_via_helper, ACCEPT, REJECT("read from stack R2 off -8+0 size 8"))
SEC("socket") __naked void pointer_into_map_via_helper(void)
{
    /* The key is a spilled stack pointer: an address would become a map key. */
    asm volatile("r2 = r10;"
                 "*(u64 *)(r10 - 8) = r2;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r1 = %[unpriv_hash] ll;"
                 "call %[map_delete_elem];"
                 "r0 = 0;"
                 "exit;" :: MAP(unpriv_hash), HELPER(map_delete_elem) : CLOBBERS);
}

CASE(cgroup_skb_uninit_stack, ACCEPT, REJECT("invalid read from stack"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_uninit_stack(void)
{
    asm volatile("r0 = *(u32 *)(r10 - 4);"
                 "r0 &= 1;"
                 "exit;" ::: CLOBBERS);
}

CASE(cgroup_skb_loop, ACCEPT, REJECT("back-edge from insn"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_loop(void)
{
    asm volatile("r1 = 0;"
                 "1: r1 += 1;"
                 "if r1 < 4 goto 1b;"
                 "r0 = 1;"
                 "exit;" ::: CLOBBERS);
}

CASE(division_by_pointer, REJECT("R0 pointer arithmetic with /= operator prohibited"),
     REJECT("R0 pointer arithmetic with /= operator prohibited"))
SEC("socket") __naked void division_by_pointer(void)
{
    asm volatile("r0 = 8;"
                 "r0 /= r10;"
                 "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
