/* Direct packet access: a load or store through a packet pointer needs a comparison with
 * data_end that proves the range, in whichever direction the comparison is written; the proof
 * extends to every pointer derived from the same base (same id); helpers that can move the packet
 * invalidate all packet pointers; data_meta is proven against data. */
#include "table.h"

/* r2 = data, r3 = data_end (xdp_md or __sk_buff, by the program's type) */
#define XDP_PKT "r2 = *(u32 *)(r1 + %[xdp_data]); r3 = *(u32 *)(r1 + %[xdp_end]);"
#define XDP_OPS CTX(xdp_data, struct xdp_md, data), CTX(xdp_end, struct xdp_md, data_end)
#define SKB_PKT "r2 = *(u32 *)(r1 + %[skb_data]); r3 = *(u32 *)(r1 + %[skb_end]);"
#define SKB_OPS CTX(skb_data, struct __sk_buff, data), CTX(skb_end, struct __sk_buff, data_end)

CASE(no_range_check, REJECT("invalid access to packet, off=0 size=1"), NONE)
SEC("xdp") __naked void no_range_check(void)
{
    asm volatile(XDP_PKT
                 "r0 = *(u8 *)(r2 + 0);"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

/* data + 14 against data_end, all eight ways of writing it; each reads the 14th byte. */

CASE(range_gt_fallthrough, ACCEPT, NONE)
SEC("xdp") __naked void range_gt_fallthrough(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 13);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_ge_fallthrough, ACCEPT, NONE)
SEC("xdp") __naked void range_ge_fallthrough(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 >= r3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 13);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_lt_taken, ACCEPT, NONE)
SEC("xdp") __naked void range_lt_taken(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 < r3 goto 1f;"
                 "r0 = 2;"
                 "exit;"
                 "1: r0 = *(u8 *)(r2 + 13);"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_le_taken, ACCEPT, NONE)
SEC("xdp") __naked void range_le_taken(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 <= r3 goto 1f;"
                 "r0 = 2;"
                 "exit;"
                 "1: r0 = *(u8 *)(r2 + 13);"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_end_lt_fallthrough, ACCEPT, NONE)
SEC("xdp") __naked void range_end_lt_fallthrough(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r3 < r4 goto 1f;"
                 "r0 = *(u8 *)(r2 + 13);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_end_le_fallthrough, ACCEPT, NONE)
SEC("xdp") __naked void range_end_le_fallthrough(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r3 <= r4 goto 1f;"
                 "r0 = *(u8 *)(r2 + 13);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_end_gt_taken, ACCEPT, NONE)
SEC("xdp") __naked void range_end_gt_taken(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r3 > r4 goto 1f;"
                 "r0 = 2;"
                 "exit;"
                 "1: r0 = *(u8 *)(r2 + 13);"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_end_ge_taken, ACCEPT, NONE)
SEC("xdp") __naked void range_end_ge_taken(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r3 >= r4 goto 1f;"
                 "r0 = 2;"
                 "exit;"
                 "1: r0 = *(u8 *)(r2 + 13);"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

/* One byte past the proven range, after a closed and after a strict comparison. */

CASE(past_range_after_gt, REJECT("invalid access to packet, off=14 size=1"), NONE)
SEC("xdp") __naked void past_range_after_gt(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 14);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(strict_comparison_proves_one_more, ACCEPT, NONE)
SEC("xdp") __naked void strict_comparison_proves_one_more(void)
{
    /* data + 14 < data_end: byte 14 exists too, 15 bytes are proven. */
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 >= r3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 14);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(past_range_after_strict_comparison, REJECT("invalid access to packet, off=15 size=1"), NONE)
SEC("xdp") __naked void past_range_after_strict_comparison(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r3 > r4 goto 1f;"
                 "r0 = 2;"
                 "exit;"
                 "1: r0 = *(u8 *)(r2 + 15);"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(wide_load_across_range_end, REJECT("invalid access to packet, off=12 size=4"), NONE)
SEC("xdp") __naked void wide_load_across_range_end(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u32 *)(r2 + 12);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(wide_load_ending_at_range_end, ACCEPT, NONE)
SEC("xdp") __naked void wide_load_ending_at_range_end(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u64 *)(r2 + 6);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_on_wrong_branch, REJECT("invalid access to packet"), NONE)
SEC("xdp") __naked void range_on_wrong_branch(void)
{
    /* The load sits on the branch where data + 14 > data_end. */
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 <= r3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(jmp32_comparison_proves_nothing, REJECT("invalid access to packet"), NONE)
SEC("xdp") __naked void jmp32_comparison_proves_nothing(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if w4 > w3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_shared_by_copies, ACCEPT, NONE)
SEC("xdp") __naked void range_shared_by_copies(void)
{
    /* r5 is a copy of data made before the check: the check covers it too. */
    asm volatile(XDP_PKT
                 "r5 = r2;"
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u16 *)(r5 + 12);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_through_offset_copy, ACCEPT, NONE)
SEC("xdp") __naked void range_through_offset_copy(void)
{
    /* r5 = data + 10 shares the id: the proven 14 bytes leave 4 at r5. */
    asm volatile(XDP_PKT
                 "r5 = r2;"
                 "r5 += 10;"
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u32 *)(r5 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(range_through_offset_copy_too_far, REJECT("invalid access to packet, off=10 size=8"), NONE)
SEC("xdp") __naked void range_through_offset_copy_too_far(void)
{
    asm volatile(XDP_PKT
                 "r5 = r2;"
                 "r5 += 10;"
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u64 *)(r5 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(variable_offset_checked, ACCEPT, NONE)
SEC("xdp") __naked void variable_offset_checked(void)
{
    /* data + [0, 255] + 8 <= data_end proves 8 bytes at data + [0, 255]. */
    asm volatile("r6 = r1;"
                 RANDOM_R7
                 "r7 &= 255;"
                 "r2 = *(u32 *)(r6 + %[xdp_data]);"
                 "r3 = *(u32 *)(r6 + %[xdp_end]);"
                 "r2 += r7;"
                 "r4 = r2;"
                 "r4 += 8;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u64 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(variable_offset_added_after_check, REJECT("invalid access to packet"), NONE)
SEC("xdp") __naked void variable_offset_added_after_check(void)
{
    /* The variable part is added after the check: a new pointer with no range. */
    asm volatile("r6 = r1;"
                 RANDOM_R7
                 "r7 &= 7;"
                 "r2 = *(u32 *)(r6 + %[xdp_data]);"
                 "r3 = *(u32 *)(r6 + %[xdp_end]);"
                 "r4 = r2;"
                 "r4 += 16;"
                 "if r4 > r3 goto 1f;"
                 "r2 += r7;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(unbounded_offset_on_packet,
     REJECT("math between pkt pointer and register with unbounded min value is not allowed"), NONE)
SEC("xdp") __naked void unbounded_offset_on_packet(void)
{
    asm volatile("r6 = r1;"
                 RANDOM_R7
                 "r2 = *(u32 *)(r6 + %[xdp_data]);"
                 "r2 += r7;"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(arithmetic_on_data_end, REJECT("R3 pointer arithmetic on pkt_end prohibited"), NONE)
SEC("xdp") __naked void arithmetic_on_data_end(void)
{
    asm volatile(XDP_PKT
                 "r3 += -1;"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(load_through_data_end, REJECT("R3 invalid mem access 'pkt_end'"), NONE)
SEC("xdp") __naked void load_through_data_end(void)
{
    asm volatile(XDP_PKT
                 "r0 = *(u8 *)(r3 + 0);"
                 "r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(xdp_writes_packet, ACCEPT, NONE)
SEC("xdp") __naked void xdp_writes_packet(void)
{
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 6;"
                 "if r4 > r3 goto 1f;"
                 "r0 = 0;"
                 "*(u32 *)(r2 + 0) = r0;"
                 "*(u16 *)(r2 + 4) = r0;"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(xdp_writes_pointer_into_packet, ACCEPT, NONE)
SEC("xdp") __naked void xdp_writes_pointer_into_packet(void)
{
    /* Privileged loaders may store addresses anywhere they may write. */
    asm volatile(XDP_PKT
                 "r4 = r2;"
                 "r4 += 8;"
                 "if r4 > r3 goto 1f;"
                 "*(u64 *)(r2 + 0) = r10;"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS : CLOBBERS);
}

CASE(adjust_head_invalidates_pointers, REJECT("R2 invalid mem access 'scalar'"), NONE)
SEC("xdp") __naked void adjust_head_invalidates_pointers(void)
{
    /* After bpf_xdp_adjust_head the old data pointer means nothing. */
    asm volatile("r6 = r1;"
                 "r2 = *(u32 *)(r6 + %[xdp_data]);"
                 "r3 = *(u32 *)(r6 + %[xdp_end]);"
                 "r4 = r2;"
                 "r4 += 8;"
                 "if r4 > r3 goto 1f;"
                 "r7 = r2;"
                 "r1 = r6;"
                 "r2 = 0;"
                 "call %[xdp_adjust_head];"
                 "r2 = r7;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS, HELPER(xdp_adjust_head) : CLOBBERS);
}

CASE(adjust_head_then_reload, ACCEPT, NONE)
SEC("xdp") __naked void adjust_head_then_reload(void)
{
    asm volatile("r6 = r1;"
                 "r1 = r6;"
                 "r2 = 0;"
                 "call %[xdp_adjust_head];"
                 "r2 = *(u32 *)(r6 + %[xdp_data]);"
                 "r3 = *(u32 *)(r6 + %[xdp_end]);"
                 "r4 = r2;"
                 "r4 += 8;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: XDP_OPS, HELPER(xdp_adjust_head) : CLOBBERS);
}

/* data_meta is proven against data. */

CASE(meta_checked_against_data, ACCEPT, NONE)
SEC("xdp") __naked void meta_checked_against_data(void)
{
    asm volatile("r2 = *(u32 *)(r1 + %[meta]);"
                 "r3 = *(u32 *)(r1 + %[xdp_data]);"
                 "r4 = r2;"
                 "r4 += 4;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u32 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: CTX(meta, struct xdp_md, data_meta), CTX(xdp_data, struct xdp_md, data) : CLOBBERS);
}

CASE(meta_unchecked, REJECT("invalid access to packet"), NONE)
SEC("xdp") __naked void meta_unchecked(void)
{
    asm volatile("r2 = *(u32 *)(r1 + %[meta]);"
                 "r0 = *(u32 *)(r2 + 0);"
                 "r0 = 2;"
                 "exit;" :: CTX(meta, struct xdp_md, data_meta) : CLOBBERS);
}

CASE(meta_checked_against_data_end, REJECT("invalid access to packet"), NONE)
SEC("xdp") __naked void meta_checked_against_data_end(void)
{
    /* data_meta + 4 <= data_end says nothing about data_meta + 4 <= data. */
    asm volatile("r2 = *(u32 *)(r1 + %[meta]);"
                 "r3 = *(u32 *)(r1 + %[xdp_end]);"
                 "r4 = r2;"
                 "r4 += 4;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u32 *)(r2 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: CTX(meta, struct xdp_md, data_meta), CTX(xdp_end, struct xdp_md, data_end) : CLOBBERS);
}

/* The same through __sk_buff. */

CASE(tc_checked_write, ACCEPT, NONE)
SEC("tc") __naked void tc_checked_write(void)
{
    asm volatile(SKB_PKT
                 "r4 = r2;"
                 "r4 += 14;"
                 "if r4 > r3 goto 1f;"
                 "r0 = 0;"
                 "*(u8 *)(r2 + 13) = r0;"
                 "1: r0 = 0;"
                 "exit;" :: SKB_OPS : CLOBBERS);
}

CASE(tc_meta_checked, ACCEPT, NONE)
SEC("tc") __naked void tc_meta_checked(void)
{
    asm volatile("r2 = *(u32 *)(r1 + %[meta]);"
                 "r3 = *(u32 *)(r1 + %[skb_data]);"
                 "r4 = r2;"
                 "r4 += 4;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u32 *)(r2 + 0);"
                 "1: r0 = 0;"
                 "exit;" :: CTX(meta, struct __sk_buff, data_meta), CTX(skb_data, struct __sk_buff, data) : CLOBBERS);
}

CASE(cgroup_skb_reads_packet, ACCEPT, NONE)
SEC("cgroup_skb/egress") __naked void cgroup_skb_reads_packet(void)
{
    asm volatile(SKB_PKT
                 "r4 = r2;"
                 "r4 += 1;"
                 "if r4 > r3 goto 1f;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "1: r0 = 1;"
                 "exit;" :: SKB_OPS : CLOBBERS);
}

CASE(cgroup_skb_writes_packet, REJECT("cannot write into packet"), NONE)
SEC("cgroup_skb/egress") __naked void cgroup_skb_writes_packet(void)
{
    /* cgroup skb programs see the packet read-only. */
    asm volatile(SKB_PKT
                 "r4 = r2;"
                 "r4 += 1;"
                 "if r4 > r3 goto 1f;"
                 "r0 = 0;"
                 "*(u8 *)(r2 + 0) = r0;"
                 "1: r0 = 1;"
                 "exit;" :: SKB_OPS : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
