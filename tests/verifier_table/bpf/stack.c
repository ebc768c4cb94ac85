/* The stack: bounds of the frame, spills and fills (pointer types and scalar bounds survive a
 * full-width round trip; narrower fills of pointers do not), partial overwrites, uninitialised
 * reads (privileged loaders may read them, unprivileged ones may not), variable offsets, and the
 * caller's frame seen from a subprogram. */
#include "table.h"

DEFINE_ARRAY_48(stack_array);

CASE(write_at_frame_bottom, ACCEPT, ACCEPT)
SEC("socket") __naked void write_at_frame_bottom(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 512) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(write_below_frame, REJECT("invalid write to stack R10 off=-520 size=8"),
     REJECT("invalid write to stack R10 off=-520 size=8"))
SEC("socket") __naked void write_below_frame(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 520) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(read_above_frame, REJECT("invalid read from stack R10 off=0 size=8"),
     REJECT("invalid read from stack R10 off=0 size=8"))
SEC("socket") __naked void read_above_frame(void)
{
    asm volatile("r0 = *(u64 *)(r10 + 0);"
                 "exit;" ::: CLOBBERS);
}

CASE(write_above_frame, REJECT("invalid write to stack R10 off=0 size=4"),
     REJECT("invalid write to stack R10 off=0 size=4"))
SEC("socket") __naked void write_above_frame(void)
{
    asm volatile("r0 = 0;"
                 "*(u32 *)(r10 + 0) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(misaligned_stack_write, REJECT("misaligned stack access"), REJECT("misaligned stack access"))
SEC("socket") __naked void misaligned_stack_write(void)
{
    /* Stack accesses are always checked for alignment (spill tracking relies on it). */
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 12) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(uninit_read, ACCEPT, REJECT("invalid read from stack R10 off=-8 size=8"))
SEC("socket") __naked void uninit_read(void)
{
    asm volatile("r0 = *(u64 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(half_init_read, ACCEPT, REJECT("invalid read from stack off -8+4 size 8"))
SEC("socket") __naked void half_init_read(void)
{
    /* Bytes -8..-5 written, -4..-1 not. */
    asm volatile("r0 = 0;"
                 "*(u32 *)(r10 - 8) = r0;"
                 "r0 = *(u64 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(two_halves_init_read, ACCEPT, ACCEPT)
SEC("socket") __naked void two_halves_init_read(void)
{
    asm volatile("r0 = 1;"
                 "*(u32 *)(r10 - 8) = r0;"
                 "*(u32 *)(r10 - 4) = r0;"
                 "r0 = *(u64 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(byte_stores_then_u16_read, ACCEPT, ACCEPT)
SEC("socket") __naked void byte_stores_then_u16_read(void)
{
    asm volatile("r1 = 1;"
                 "*(u8 *)(r10 - 2) = r1;"
                 "*(u8 *)(r10 - 1) = r1;"
                 "r0 = *(u16 *)(r10 - 2);"
                 "exit;" ::: CLOBBERS);
}

CASE(spill_fill_ctx, ACCEPT, ACCEPT)
SEC("socket") __naked void spill_fill_ctx(void)
{
    /* The fill gets the context pointer back, type and all. */
    asm volatile("*(u64 *)(r10 - 8) = r1;"
                 "r1 = 0;"
                 "r2 = *(u64 *)(r10 - 8);"
                 "r0 = *(u32 *)(r2 + %[len]);"
                 "exit;" :: CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(spill_fill_map_value, ACCEPT, ACCEPT)
SEC("socket") __naked void spill_fill_map_value(void)
{
    asm volatile(VALUE_R6(stack_array)
                 "*(u64 *)(r10 - 16) = r6;"
                 "r6 = 0;"
                 "r1 = *(u64 *)(r10 - 16);"
                 "r0 = *(u64 *)(r1 + 40);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(stack_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(narrow_fill_of_pointer, REJECT("invalid size of register fill"), REJECT("invalid size of register fill"))
SEC("socket") __naked void narrow_fill_of_pointer(void)
{
    asm volatile("*(u64 *)(r10 - 8) = r1;"
                 "r0 = *(u32 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(narrow_spill_of_pointer, REJECT("invalid size of register spill"), REJECT("invalid size of register spill"))
SEC("socket") __naked void narrow_spill_of_pointer(void)
{
    asm volatile("*(u32 *)(r10 - 8) = r1;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(overwrite_part_of_spilled_pointer, ACCEPT, REJECT("attempt to corrupt spilled pointer on stack"))
SEC("socket") __naked void overwrite_part_of_spilled_pointer(void)
{
    asm volatile("*(u64 *)(r10 - 8) = r1;"
                 "r0 = 0;"
                 "*(u32 *)(r10 - 8) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(fill_after_partial_overwrite_is_scalar, REJECT("R2 invalid mem access 'scalar'"),
     REJECT("attempt to corrupt spilled pointer on stack"))
SEC("socket") __naked void fill_after_partial_overwrite_is_scalar(void)
{
    /* The slot is no longer a spilled pointer: the fill yields a number. */
    asm volatile("*(u64 *)(r10 - 8) = r1;"
                 "r0 = 0;"
                 "*(u32 *)(r10 - 4) = r0;"
                 "r2 = *(u64 *)(r10 - 8);"
                 "r0 = *(u32 *)(r2 + 0);"
                 "exit;" ::: CLOBBERS);
}

CASE(overwrite_whole_spilled_pointer, ACCEPT, ACCEPT)
SEC("socket") __naked void overwrite_whole_spilled_pointer(void)
{
    asm volatile("*(u64 *)(r10 - 8) = r1;"
                 "r0 = 0;"
                 "*(u64 *)(r10 - 8) = r0;"
                 "r0 = *(u64 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(spilled_constant_keeps_value, ACCEPT,
     REJECT("math between map_value pointer and register with unbounded min value is not allowed"))
SEC("socket") __naked void spilled_constant_keeps_value(void)
{
    /* r7 = 40 goes through the stack and still bounds the access at r6 + r7. Only for loaders with
     * CAP_BPF: for others a spilled number is plain data and the fill is unknown. */
    asm volatile("r7 = 40;"
                 "*(u64 *)(r10 - 16) = r7;"
                 VALUE_R6(stack_array)
                 "r7 = *(u64 *)(r10 - 16);"
                 PROBE_R7 :: MAP(stack_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(spilled_bounds_survive_fill, ACCEPT, NONE)
SEC("socket") __naked void spilled_bounds_survive_fill(void)
{
    asm volatile(RANDOM_R7
                 "r7 &= 31;"
                 "*(u64 *)(r10 - 16) = r7;"
                 "r7 = 0;"
                 VALUE_R6(stack_array)
                 "r7 = *(u64 *)(r10 - 16);"
                 PROBE_R7 :: MAP(stack_array), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(bytes_written_separately_lose_bounds,
     REJECT("math between map_value pointer and register with unbounded min value is not allowed"), NONE)
SEC("socket") __naked void bytes_written_separately_lose_bounds(void)
{
    /* Stores of parts make initialised data, not a spilled number: the fill is unknown. */
    asm volatile("r1 = 0;"
                 "*(u8 *)(r10 - 16) = r1;"
                 "*(u8 *)(r10 - 15) = r1;"
                 "*(u16 *)(r10 - 14) = r1;"
                 "*(u32 *)(r10 - 12) = r1;"
                 VALUE_R6(stack_array)
                 "r7 = *(u64 *)(r10 - 16);"
                 PROBE_R7 :: MAP(stack_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(u32_spill_keeps_bounds, ACCEPT, NONE)
SEC("socket") __naked void u32_spill_keeps_bounds(void)
{
    /* A 32-bit spill of a number at an 8-aligned slot is tracked like a full one. */
    asm volatile(RANDOM_R7
                 "r7 &= 15;"
                 "*(u32 *)(r10 - 16) = r7;"
                 VALUE_R6(stack_array)
                 "r7 = *(u32 *)(r10 - 16);"
                 PROBE_R7 :: MAP(stack_array), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(var_offset_write, ACCEPT, REJECT("variable stack access prohibited for !root"))
SEC("socket") __naked void var_offset_write(void)
{
    /* r1 = fp-16 or fp-8. */
    asm volatile(RANDOM_R7
                 "r7 &= 8;"
                 "r1 = r10;"
                 "r1 += -16;"
                 "r1 += r7;"
                 "r0 = 0;"
                 "*(u64 *)(r1 + 0) = r0;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(var_offset_read_out_of_frame, REJECT("invalid variable-offset read from stack R1"),
     REJECT("variable stack access prohibited for !root"))
SEC("socket") __naked void var_offset_read_out_of_frame(void)
{
    /* fp-8 + {0, 8, ..., 248} reaches above the frame. */
    asm volatile(RANDOM_R7
                 "r7 &= 248;"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r1 += r7;"
                 "r0 = *(u64 *)(r1 + 0);"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(var_offset_read_initialised, ACCEPT, REJECT("variable stack access prohibited for !root"))
SEC("socket") __naked void var_offset_read_initialised(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 16) = r0;"
                 "*(u64 *)(r10 - 8) = r0;"
                 RANDOM_R7
                 "r7 &= 8;"
                 "r1 = r10;"
                 "r1 += -16;"
                 "r1 += r7;"
                 "r0 = *(u64 *)(r1 + 0);"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(unbounded_offset_on_fp, REJECT("math between fp pointer and register with unbounded min value is not allowed"),
     REJECT("math between fp pointer and register with unbounded min value is not allowed"))
SEC("socket") __naked void unbounded_offset_on_fp(void)
{
    asm volatile(RANDOM_R7
                 "r1 = r10;"
                 "r1 += r7;"
                 "r0 = 0;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

/* The caller's frame seen from a subprogram (privileged only: unprivileged loaders cannot call
 * subprograms at all). */

static __naked __noinline __attribute__((used)) void write_through_arg(void)
{
    asm volatile("r0 = 7;"
                 "*(u64 *)(r1 + 0) = r0;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void write_past_arg(void)
{
    asm volatile("r0 = 7;"
                 "*(u64 *)(r1 + 8) = r0;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void spill_own_fp_into_caller(void)
{
    asm volatile("r2 = r10;"
                 "*(u64 *)(r1 + 0) = r2;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void return_own_fp(void)
{
    asm volatile("r0 = r10;"
                 "r0 += -8;"
                 "exit;" ::: CLOBBERS);
}

CASE(callee_writes_caller_slot, ACCEPT, REJECT("allowed for CAP_BPF and CAP_SYS_ADMIN"))
SEC("socket") __naked void callee_writes_caller_slot(void)
{
    /* The callee fills fp-8 of the caller, which then reads it. */
    asm volatile("r1 = r10;"
                 "r1 += -8;"
                 "call write_through_arg;"
                 "r0 = *(u64 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(callee_writes_past_caller_frame, REJECT("invalid write to stack R1 off=0 size=8"), NONE)
SEC("socket") __naked void callee_writes_past_caller_frame(void)
{
    asm volatile("r1 = r10;"
                 "r1 += -8;"
                 "call write_past_arg;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(callee_spills_own_fp_into_caller, REJECT("cannot spill pointers to stack into stack frame of the caller"), NONE)
SEC("socket") __naked void callee_spills_own_fp_into_caller(void)
{
    asm volatile("r1 = r10;"
                 "r1 += -8;"
                 "call spill_own_fp_into_caller;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(callee_returns_own_fp, REJECT("cannot return stack pointer to the caller"), NONE)
SEC("socket") __naked void callee_returns_own_fp(void)
{
    asm volatile("call return_own_fp;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
