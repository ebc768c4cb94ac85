/* Bounds learned from 64-bit conditional jumps, on both branches, signed and unsigned, against
 * constants and registers; and paths a known value rules out, which are never checked. Same
 * probe as alu32.c: r6 + r7 within a 48-byte map value. */
#include "table.h"

DEFINE_ARRAY_48(jmp_array);

#define OPS MAP(jmp_array), HELPER(map_lookup_elem), HELPER(get_prandom_u32)
/* if r7 & imm goto +1 (JMP | JSET | K) */
#define JSET64(name, imm) RAW(name, 0x45, 7, 0, 1, imm)

CASE(jgt_exits, ACCEPT, ACCEPT)
SEC("socket") __naked void jgt_exits(void)
{
    asm volatile(RANDOM_R7
                 "if r7 > 47 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jge_off_by_one, REJECT("R6 max value is outside of the allowed memory range"), NONE)
SEC("socket") __naked void jge_off_by_one(void)
{
    asm volatile(RANDOM_R7
                 "if r7 >= 49 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jlt_taken_branch, ACCEPT, ACCEPT)
SEC("socket") __naked void jlt_taken_branch(void)
{
    asm volatile(RANDOM_R7
                 "if r7 < 48 goto 1f;"
                 "r0 = 0;"
                 "exit;"
                 "1:"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jle_fallthrough_is_the_large_side, REJECT("R6 min value is outside of the allowed memory range"), NONE)
SEC("socket") __naked void jle_fallthrough_is_the_large_side(void)
{
    /* Falling through `if r7 <= 47` means r7 >= 48. */
    asm volatile(RANDOM_R7
                 "if r7 <= 47 goto 9f;"
                 "if r7 > 100 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jeq_constant, ACCEPT, ACCEPT)
SEC("socket") __naked void jeq_constant(void)
{
    asm volatile(RANDOM_R7
                 "if r7 == 30 goto 1f;"
                 "r0 = 0;"
                 "exit;"
                 "1:"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jne_fallthrough_is_constant, ACCEPT, ACCEPT)
SEC("socket") __naked void jne_fallthrough_is_constant(void)
{
    asm volatile(RANDOM_R7
                 "if r7 != 47 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jset_clear_bits, ACCEPT, NONE)
SEC("socket") __naked void jset_clear_bits(void)
{
    /* Not taken: every bit of ~31 is clear, so r7 <= 31. */
    asm volatile(RANDOM_R7
                 JSET_EXIT(jset_hi)
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS, JSET64(jset_hi, -32) : CLOBBERS);
}

CASE(jset_taken_proves_little, REJECT("makes map_value pointer be out of bounds"), NONE)
SEC("socket") __naked void jset_taken_proves_little(void)
{
    /* Taken: bit 0 is set, nothing else is known. */
    asm volatile(RANDOM_R7
                 JSET_EXIT(jset_lo)
                 "r0 = 0;"
                 "exit;"
                 "9:"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS, JSET64(jset_lo, 1) : CLOBBERS);
}

CASE(signed_both_bounds, ACCEPT, ACCEPT)
SEC("socket") __naked void signed_both_bounds(void)
{
    asm volatile(RANDOM_R7
                 "if r7 s< 0 goto 9f;"
                 "if r7 s> 47 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(signed_and_unsigned_mixed, ACCEPT, NONE)
SEC("socket") __naked void signed_and_unsigned_mixed(void)
{
    /* s>= 0 makes the unsigned and signed ranges the same: s<= 47 then bounds both. */
    asm volatile(RANDOM_R7
                 "if r7 s< 0 goto 9f;"
                 "if r7 s> 47 goto 9f;"
                 "if r7 > 47 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(against_constant_register, ACCEPT, ACCEPT)
SEC("socket") __naked void against_constant_register(void)
{
    asm volatile(RANDOM_R7
                 "r8 = 47;"
                 "if r7 > r8 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(against_bounded_register, ACCEPT, NONE)
SEC("socket") __naked void against_bounded_register(void)
{
    /* r7 <= r8 <= 40 */
    asm volatile("call %[get_prandom_u32];"
                 "r8 = r0;"
                 "r8 &= 40;"
                 RANDOM_R7
                 "if r7 > r8 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(against_unbounded_register, REJECT("with unbounded min value is not allowed"), NONE)
SEC("socket") __naked void against_unbounded_register(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "r8 = r0;"
                 RANDOM_R7
                 "if r7 > r8 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(lower_bound_from_register, ACCEPT, NONE)
SEC("socket") __naked void lower_bound_from_register(void)
{
    /* 8 <= r8 <= r7 (signed) and r7 <= 47: both ends from comparisons. */
    asm volatile(RANDOM_R7
                 "r8 = 8;"
                 "if r7 s< r8 goto 9f;"
                 "if r7 > 47 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(impossible_branch_never_checked, ACCEPT, ACCEPT)
SEC("socket") __naked void impossible_branch_never_checked(void)
{
    /* r7 is 5: the load through a number is on a path the verifier knows is never taken. */
    asm volatile("r7 = 5;"
                 "if r7 > 10 goto 1f;"
                 "r0 = 0;"
                 "exit;"
                 "1: r0 = *(u64 *)(r7 + 0);"
                 "exit;" ::: CLOBBERS);
}

CASE(possible_branch_checked, REJECT("R7 invalid mem access 'scalar'"), REJECT("R7 invalid mem access 'scalar'"))
SEC("socket") __naked void possible_branch_checked(void)
{
    asm volatile(RANDOM_R7
                 "if r7 > 10 goto 1f;"
                 "r0 = 0;"
                 "exit;"
                 "1: r0 = *(u64 *)(r7 + 0);"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(range_rules_out_branch, ACCEPT, NONE)
SEC("socket") __naked void range_rules_out_branch(void)
{
    /* r7 in [0, 15] is never above 20. */
    asm volatile(RANDOM_R7
                 "r7 &= 15;"
                 "if r7 > 20 goto 1f;"
                 "r0 = 0;"
                 "exit;"
                 "1: r0 = *(u64 *)(r7 + 0);"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(equal_registers_share_bounds, ACCEPT, NONE)
SEC("socket") __naked void equal_registers_share_bounds(void)
{
    /* r8 is a copy of r7 (same id): the check on r8 bounds r7. */
    asm volatile(RANDOM_R7
                 "r8 = r7;"
                 "if r8 > 47 goto 9f;"
                 VALUE_R6(jmp_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
