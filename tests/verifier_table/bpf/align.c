/* Alignment: by default only stack accesses (and atomics) must be aligned; BPF_F_STRICT_ALIGNMENT
 * extends the rule to packet, map value and context pointers; BPF_F_ANY_ALIGNMENT does not relax
 * it for the stack, whose spill tracking relies on it. */
#include "table.h"

DEFINE_ARRAY_48(align_array);

#define XDP_PKT_CHECKED(n) "r2 = *(u32 *)(r1 + %[data]); r3 = *(u32 *)(r1 + %[data_end]); " \
                           "r4 = r2; r4 += " #n "; if r4 > r3 goto 1f;"
#define XDP_OPS CTX(data, struct xdp_md, data), CTX(data_end, struct xdp_md, data_end)

CASE(packet_misaligned_by_default, ACCEPT, NONE)
SEC("xdp") __naked void packet_misaligned_by_default(void)
{
    asm volatile(XDP_PKT_CHECKED(8)
                 "r0 = *(u32 *)(r2 + 1);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE_FLAGS(packet_misaligned_strict, "strict_alignment", REJECT("misaligned packet access"), NONE)
SEC("xdp") __naked void packet_misaligned_strict(void)
{
    asm volatile(XDP_PKT_CHECKED(8)
                 "r0 = *(u32 *)(r2 + 1);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE_FLAGS(packet_aligned_strict, "strict_alignment", ACCEPT, NONE)
SEC("xdp") __naked void packet_aligned_strict(void)
{
    /* The kernel assumes packet data starts 2 bytes past an aligned address (NET_IP_ALIGN), so
     * that the IP header after 14 bytes of Ethernet is aligned: +2 is the aligned offset. */
    asm volatile(XDP_PKT_CHECKED(8)
                 "r0 = *(u32 *)(r2 + 2);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE_FLAGS(value_misaligned_strict, "strict_alignment", REJECT("misaligned value access"), NONE)
SEC("socket") __naked void value_misaligned_strict(void)
{
    asm volatile(VALUE_R6(align_array)
                 "r0 = *(u32 *)(r6 + 2);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(align_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(value_misaligned_by_default, ACCEPT, ACCEPT)
SEC("socket") __naked void value_misaligned_by_default(void)
{
    asm volatile(VALUE_R6(align_array)
                 "r0 = *(u32 *)(r6 + 2);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(align_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE_FLAGS(stack_misaligned_any_alignment, "any_alignment", REJECT("misaligned stack access"), NONE)
SEC("socket") __naked void stack_misaligned_any_alignment(void)
{
    asm volatile("r0 = 0;"
                 "*(u32 *)(r10 - 6) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE_FLAGS(stack_byte_any_offset_strict, "strict_alignment", ACCEPT, NONE)
SEC("socket") __naked void stack_byte_any_offset_strict(void)
{
    /* Single bytes are always aligned. */
    asm volatile("r0 = 0;"
                 "*(u8 *)(r10 - 7) = r0;"
                 "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
