/* Pointer arithmetic: which pointer types take which operators, 32-bit operations on pointers,
 * pointer minus pointer, offsets too large to track, and what unprivileged loaders may not do
 * (leave a map value or the stack even without dereferencing). */
#include "table.h"

DEFINE_HASH_48(arith_hash);

CASE(fp_plus_constant, ACCEPT, ACCEPT)
SEC("socket") __naked void fp_plus_constant(void)
{
    asm volatile("r1 = r10;"
                 "r1 += -16;"
                 "r1 += 8;"
                 "r0 = 0;"
                 "*(u64 *)(r1 + 0) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(fp_minus_constant, REJECT("R1 subtraction from stack pointer prohibited"),
     REJECT("R1 subtraction from stack pointer prohibited"))
SEC("socket") __naked void fp_minus_constant(void)
{
    asm volatile("r1 = r10;"
                 "r1 -= 8;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(map_value_minus_constant, ACCEPT, ACCEPT)
SEC("socket") __naked void map_value_minus_constant(void)
{
    asm volatile(VALUE_R6(arith_hash)
                 "r6 += 16;"
                 "r6 -= 8;"
                 "r0 = *(u64 *)(r6 + 0);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(arith_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(scalar_plus_pointer, ACCEPT, ACCEPT)
SEC("socket") __naked void scalar_plus_pointer(void)
{
    /* 8 + fp-16 is a stack pointer too. */
    asm volatile("r1 = 8;"
                 "r2 = r10;"
                 "r2 += -16;"
                 "r1 += r2;"
                 "r0 = 0;"
                 "*(u64 *)(r1 + 0) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(scalar_minus_pointer, REJECT("R1 tried to subtract pointer from scalar"),
     REJECT("R1 tried to subtract pointer from scalar"))
SEC("socket") __naked void scalar_minus_pointer(void)
{
    asm volatile("r1 = 8;"
                 "r1 -= r10;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_plus_pointer, REJECT("R1 pointer += pointer prohibited"), REJECT("R1 pointer += pointer prohibited"))
SEC("socket") __naked void pointer_plus_pointer(void)
{
    asm volatile("r1 = r10;"
                 "r1 += r10;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_minus_pointer, ACCEPT, REJECT("R1 pointer -= pointer prohibited"))
SEC("socket") __naked void pointer_minus_pointer(void)
{
    /* Privileged: the difference of two pointers is a plain number. */
    asm volatile("r1 = r10;"
                 "r1 += -8;"
                 "r1 -= r10;"
                 "r0 = r1;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_and_mask, REJECT("R1 bitwise operator &= on pointer prohibited"),
     REJECT("R1 bitwise operator &= on pointer prohibited"))
SEC("socket") __naked void pointer_and_mask(void)
{
    asm volatile("r1 = r10;"
                 "r1 &= -8;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

/* (A fragment cannot hold the '|' of '|='.) */
CASE(pointer_or, REJECT("R1 bitwise operator"), REJECT("R1 bitwise operator"))
SEC("socket") __naked void pointer_or(void)
{
    asm volatile("r1 |= 1;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_times_two, REJECT("R1 pointer arithmetic with *= operator prohibited"),
     REJECT("R1 pointer arithmetic with *= operator prohibited"))
SEC("socket") __naked void pointer_times_two(void)
{
    asm volatile("r1 *= 2;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_shifted, REJECT("R1 pointer arithmetic with <<= operator prohibited"),
     REJECT("R1 pointer arithmetic with <<= operator prohibited"))
SEC("socket") __naked void pointer_shifted(void)
{
    asm volatile("r1 <<= 1;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_32bit_add, REJECT("R1 32-bit pointer arithmetic prohibited"),
     REJECT("R1 32-bit pointer arithmetic prohibited"))
SEC("socket") __naked void pointer_32bit_add(void)
{
    asm volatile("w1 += 8;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_byte_swapped, ACCEPT, REJECT("R1 pointer arithmetic prohibited"))
SEC("socket") __naked void pointer_byte_swapped(void)
{
    /* Privileged: the swapped address is a number. */
    asm volatile("r1 = r10;"
                 "r1 = be64 r1;"
                 "r0 = r1;"
                 "exit;" ::: CLOBBERS);
}

CASE(map_pointer_plus_zero, ACCEPT, ACCEPT)
SEC("socket") __naked void map_pointer_plus_zero(void)
{
    asm volatile(KEY0
                 "r1 = %[arith_hash] ll;"
                 "r1 += 0;"
                 "call %[map_lookup_elem];"
                 "r0 = 0;"
                 "exit;" :: MAP(arith_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(map_pointer_plus_eight, REJECT("R1 pointer arithmetic on map_ptr prohibited"),
     REJECT("R1 pointer arithmetic on map_ptr prohibited"))
SEC("socket") __naked void map_pointer_plus_eight(void)
{
    asm volatile("r1 = %[arith_hash] ll;"
                 "r1 += 8;"
                 "r0 = 0;"
                 "exit;" :: MAP(arith_hash) : CLOBBERS);
}

CASE(socket_pointer_arithmetic, REJECT("pointer arithmetic on sock"), NONE)
SEC("tc") __naked void socket_pointer_arithmetic(void)
{
    asm volatile("r2 = *(u64 *)(r1 + %[sk]);"
                 "if r2 == 0 goto 1f;"
                 "r2 += 4;"
                 "1: r0 = 0;"
                 "exit;" :: CTX(sk, struct __sk_buff, sk) : CLOBBERS);
}

CASE(offset_too_large_to_track, REJECT("math between fp pointer and 536870912 is not allowed"),
     REJECT("math between fp pointer and 536870912 is not allowed"))
SEC("socket") __naked void offset_too_large_to_track(void)
{
    asm volatile("r1 = r10;"
                 "r2 = 0x20000000;"
                 "r1 += r2;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(fp_far_below_frame_unused, ACCEPT, REJECT("R1 stack pointer arithmetic goes out of range, prohibited for !root"))
SEC("socket") __naked void fp_far_below_frame_unused(void)
{
    /* Never dereferenced: harmless for privileged loaders, refused for others (Spectre v1). */
    asm volatile("r1 = r10;"
                 "r1 += -1000;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(fp_far_below_frame_used, REJECT("invalid write to stack R1 off=-1000 size=8"),
     REJECT("R1 stack pointer arithmetic goes out of range, prohibited for !root"))
SEC("socket") __naked void fp_far_below_frame_used(void)
{
    asm volatile("r1 = r10;"
                 "r1 += -1000;"
                 "r0 = 0;"
                 "*(u64 *)(r1 + 0) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(map_value_past_end_unused, ACCEPT, REJECT("R6 pointer arithmetic of map value goes out of range, prohibited for !root"))
SEC("socket") __naked void map_value_past_end_unused(void)
{
    asm volatile(VALUE_R6(arith_hash)
                 "r6 += 100;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(arith_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(map_value_back_into_range, ACCEPT, REJECT("R6 pointer arithmetic of map value goes out of range, prohibited for !root"))
SEC("socket") __naked void map_value_back_into_range(void)
{
    /* Out and back: fine once the final offset is inside, for privileged loaders. */
    asm volatile(VALUE_R6(arith_hash)
                 "r6 += 100;"
                 "r6 += -96;"
                 "r0 = *(u32 *)(r6 + 0);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(arith_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
