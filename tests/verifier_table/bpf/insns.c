/* Instruction-level rules: unreachable code, falling off the end, division by a zero constant,
 * shift amounts, legacy packet loads (LD_ABS / LD_IND), and atomic operations, which are allowed
 * on the stack and map values but not on the context or the packet. */
#include "table.h"

DEFINE_ARRAY_48(insns_array);

CASE(unreachable_code, REJECT("unreachable insn 2"), REJECT("unreachable insn 2"))
SEC("socket") __naked void unreachable_code(void)
{
    asm volatile("r0 = 0;"
                 "exit;"
                 "r0 = 1;"
                 "exit;" ::: CLOBBERS);
}

CASE(jump_over_dead_code_is_fine, ACCEPT, ACCEPT)
SEC("socket") __naked void jump_over_dead_code_is_fine(void)
{
    /* Reachable in the control-flow graph, so not "unreachable", even if never taken. */
    asm volatile("r0 = 0;"
                 "if r0 == 0 goto 1f;"
                 "r0 = 1;"
                 "1: exit;" ::: CLOBBERS);
}

CASE(divide_by_zero_constant, REJECT("div by zero"), REJECT("div by zero"))
SEC("socket") __naked void divide_by_zero_constant(void)
{
    asm volatile("r0 = 1;"
                 "r0 /= 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(divide_by_zero_register, ACCEPT, ACCEPT)
SEC("socket") __naked void divide_by_zero_register(void)
{
    /* At run time x / 0 is 0; only a constant zero is refused. */
    asm volatile("r0 = 1;"
                 "r1 = 0;"
                 "r0 /= r1;"
                 "exit;" ::: CLOBBERS);
}

CASE(shift_by_63, ACCEPT, ACCEPT)
SEC("socket") __naked void shift_by_63(void)
{
    asm volatile("r0 = 1;"
                 "r0 <<= 63;"
                 "r0 >>= 63;"
                 "exit;" ::: CLOBBERS);
}

CASE(shift_by_64, REJECT("invalid shift 64"), REJECT("invalid shift 64"))
SEC("socket") __naked void shift_by_64(void)
{
    asm volatile("r0 = 1;"
                 "r0 <<= 64;"
                 "exit;" ::: CLOBBERS);
}

CASE(shift32_by_32, REJECT("invalid shift 32"), REJECT("invalid shift 32"))
SEC("socket") __naked void shift32_by_32(void)
{
    asm volatile("w0 = 1;"
                 "w0 <<= 32;"
                 "exit;" ::: CLOBBERS);
}

CASE(shift_by_register, ACCEPT, ACCEPT)
SEC("socket") __naked void shift_by_register(void)
{
    /* Shift amounts in registers are masked at run time. */
    asm volatile("call %[get_prandom_u32];"
                 "r1 = 1;"
                 "r1 <<= r0;"
                 "r0 = r1;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

/* LD_ABS / LD_IND: packet loads for socket filters and tc, through r6 = the skb. */

CASE(ld_abs_in_socket_filter, ACCEPT, ACCEPT)
SEC("socket") __naked void ld_abs_in_socket_filter(void)
{
    asm volatile("r6 = r1;"
                 "r0 = *(u16 *)skb[12];"
                 "exit;" ::: CLOBBERS);
}

CASE(ld_ind_in_socket_filter, ACCEPT, ACCEPT)
SEC("socket") __naked void ld_ind_in_socket_filter(void)
{
    /* r0 = *(u8 *)skb[r7 + 9] (LD | IND | B), as a raw slot: clang 14 has no syntax for it */
    asm volatile("r6 = r1;"
                 "r7 = 14;"
                 ".8byte %[ld_ind];"
                 "exit;" :: RAW(ld_ind, 0x50, 0, 7, 0, 9) : CLOBBERS);
}

CASE(ld_abs_without_skb_in_r6, REJECT("R6 != pointer to skb"), REJECT("R6 != pointer to skb"))
SEC("socket") __naked void ld_abs_without_skb_in_r6(void)
{
    asm volatile("r6 = r10;"
                 "r0 = *(u16 *)skb[12];"
                 "exit;" ::: CLOBBERS);
}

CASE(ld_abs_in_xdp, REJECT("instructions not allowed for this program type"), NONE)
SEC("xdp") __naked void ld_abs_in_xdp(void)
{
    asm volatile("r6 = r1;"
                 "r0 = *(u16 *)skb[12];"
                 "exit;" ::: CLOBBERS);
}

CASE(ld_abs_scratches_caller_saved, REJECT("R2 !read_ok"), REJECT("R2 !read_ok"))
SEC("socket") __naked void ld_abs_scratches_caller_saved(void)
{
    /* An LD_ABS is a call in disguise: r1-r5 are gone afterwards. */
    asm volatile("r6 = r1;"
                 "r2 = 1;"
                 "r0 = *(u16 *)skb[12];"
                 "r0 = r2;"
                 "exit;" ::: CLOBBERS);
}

/* Atomics */

CASE(atomic_add_on_stack, ACCEPT, ACCEPT)
SEC("socket") __naked void atomic_add_on_stack(void)
{
    asm volatile("r1 = 1;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "lock *(u64 *)(r10 - 8) += r1;"
                 "r0 = *(u64 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(atomic_add_on_uninit_stack, ACCEPT, REJECT("invalid read from stack"))
SEC("socket") __naked void atomic_add_on_uninit_stack(void)
{
    /* An atomic add reads before it writes. */
    asm volatile("r1 = 1;"
                 "lock *(u64 *)(r10 - 8) += r1;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(atomic_add_on_map_value, ACCEPT, ACCEPT)
SEC("socket") __naked void atomic_add_on_map_value(void)
{
    asm volatile(VALUE_R6(insns_array)
                 "r1 = 1;"
                 "lock *(u32 *)(r6 + 44) += w1;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(insns_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(atomic_add_past_map_value, REJECT("invalid access to map value, value_size=48 off=48 size=8"), NONE)
SEC("socket") __naked void atomic_add_past_map_value(void)
{
    asm volatile(VALUE_R6(insns_array)
                 "r1 = 1;"
                 "lock *(u64 *)(r6 + 48) += r1;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(insns_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(atomic_add_misaligned, REJECT("misaligned value access off"), NONE)
SEC("socket") __naked void atomic_add_misaligned(void)
{
    /* Atomics are always checked for alignment, even without BPF_F_STRICT_ALIGNMENT. */
    asm volatile(VALUE_R6(insns_array)
                 "r1 = 1;"
                 "lock *(u64 *)(r6 + 44) += r1;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(insns_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(atomic_add_on_context, REJECT("BPF_ATOMIC stores into R1 ctx is not allowed"),
     REJECT("BPF_ATOMIC stores into R1 ctx is not allowed"))
SEC("socket") __naked void atomic_add_on_context(void)
{
    asm volatile("r2 = 1;"
                 "lock *(u32 *)(r1 + %[cb0]) += w2;"
                 "r0 = 0;"
                 "exit;" :: CTX(cb0, struct __sk_buff, cb[0]) : CLOBBERS);
}

CASE(atomic_add_on_packet, REJECT("BPF_ATOMIC stores into R2 pkt is not allowed"), NONE)
SEC("xdp") __naked void atomic_add_on_packet(void)
{
    asm volatile("r2 = *(u32 *)(r1 + %[data]);"
                 "r3 = *(u32 *)(r1 + %[data_end]);"
                 "r4 = r2;"
                 "r4 += 8;"
                 "if r4 > r3 goto 1f;"
                 "r1 = 1;"
                 "lock *(u64 *)(r2 + 0) += r1;"
                 "1: r0 = 2;"
                 "exit;" :: CTX(data, struct xdp_md, data), CTX(data_end, struct xdp_md, data_end) : CLOBBERS);
}

CASE(atomic_add_of_pointer, ACCEPT, REJECT("R1 leaks addr into mem"))
SEC("socket") __naked void atomic_add_of_pointer(void)
{
    asm volatile("r1 = 0;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "lock *(u64 *)(r10 - 8) += r1;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
