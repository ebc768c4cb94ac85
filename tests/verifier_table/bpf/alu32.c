/* Bounds through 32-bit arithmetic, JMP32 comparisons and sign extension. Every case computes an
 * index r7 and probes a 48-byte map value at r6 + r7 (PROBE_R7): accepted exactly when the
 * verifier proves r7 in [0, 47]. 32-bit operations zero the upper half; JMP32 comparisons refine
 * the lower half, and the 64-bit bounds only follow when the upper half is known. */
#include "table.h"

DEFINE_ARRAY_48(alu32_array);

#define OPS MAP(alu32_array), HELPER(map_lookup_elem), HELPER(get_prandom_u32)
/* Sign-extending moves and loads (cpu v4), as raw slots: r7 = (s8)r7, w7 = (s8)w7, and
 * r7 = *(s8 *)(r6 + 0). */
#define MOVSX64_8 RAW(movsx64_8, 0xbf, 7, 7, 8, 0)
#define MOVSX32_8 RAW(movsx32_8, 0xbc, 7, 7, 8, 0)
#define LDSX8 RAW(ldsx8, 0x91, 7, 6, 0, 0)
/* if w7 & imm goto +1 (JMP32 | JSET | K), w7 %= 40 (ALU | MOD | K) */
#define JSET32(name, imm) RAW(name, 0x46, 7, 0, 1, imm)
#define MOD32_40 RAW(mod32_40, 0x94, 7, 0, 0, 40)

CASE(w_and_bounds, ACCEPT, NONE)
SEC("socket") __naked void w_and_bounds(void)
{
    asm volatile(RANDOM_R7
                 "w7 &= 47;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(mov32_clears_upper_half, ACCEPT, NONE)
SEC("socket") __naked void mov32_clears_upper_half(void)
{
    /* Upper half unknown, lower half 5: w7 = w7 leaves exactly 5. */
    asm volatile(RANDOM_R7
                 "r7 <<= 32;"
                 "r7 |= 5;"
                 "w7 = w7;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(upper_half_unknown, REJECT("makes map_value pointer be out of bounds"), NONE)
SEC("socket") __naked void upper_half_unknown(void)
{
    asm volatile(RANDOM_R7
                 "r7 <<= 32;"
                 "r7 |= 5;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jmp32_bounds_lower_half_only,
     REJECT("math between map_value pointer and register with unbounded min value is not allowed"), NONE)
SEC("socket") __naked void jmp32_bounds_lower_half_only(void)
{
    asm volatile(RANDOM_R7
                 "if w7 > 40 goto 9f;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jmp32_after_zero_extension, ACCEPT, NONE)
SEC("socket") __naked void jmp32_after_zero_extension(void)
{
    asm volatile(RANDOM_R7
                 "w7 = w7;"
                 "if w7 > 40 goto 9f;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jmp32_and_jmp64_combined, ACCEPT, NONE)
SEC("socket") __naked void jmp32_and_jmp64_combined(void)
{
    /* Lower half <= 47 (JMP32), whole value <= 0xffffffff (JMP): together, <= 47. */
    asm volatile(RANDOM_R7
                 "if w7 > 47 goto 9f;"
                 "r1 = 0xffffffff ll;"
                 "if r7 > r1 goto 9f;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jmp32_signed_both_sides, ACCEPT, NONE)
SEC("socket") __naked void jmp32_signed_both_sides(void)
{
    asm volatile(RANDOM_R7
                 "w7 = w7;"
                 "if w7 s< 0 goto 9f;"
                 "if w7 s> 40 goto 9f;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jmp32_signed_upper_only, REJECT("R6 unbounded memory access"), NONE)
SEC("socket") __naked void jmp32_signed_upper_only(void)
{
    /* w7 s<= 40 includes 0x80000000..0xffffffff. */
    asm volatile(RANDOM_R7
                 "w7 = w7;"
                 "if w7 s> 40 goto 9f;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jmp32_equal, ACCEPT, NONE)
SEC("socket") __naked void jmp32_equal(void)
{
    asm volatile(RANDOM_R7
                 "w7 = w7;"
                 "if w7 != 46 goto 9f;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(jmp32_jset_clears_high_bits, ACCEPT, NONE)
SEC("socket") __naked void jmp32_jset_clears_high_bits(void)
{
    asm volatile(RANDOM_R7
                 "w7 = w7;"
                 JSET_EXIT(jset_32)
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS, JSET32(jset_32, -32) : CLOBBERS);
}

CASE(jmp32_jset_leaves_63, REJECT("R6 max value is outside of the allowed memory range"), NONE)
SEC("socket") __naked void jmp32_jset_leaves_63(void)
{
    asm volatile(RANDOM_R7
                 "w7 = w7;"
                 JSET_EXIT(jset_64)
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS, JSET32(jset_64, -64) : CLOBBERS);
}

CASE(alu32_add_wraps, REJECT("value 4294967288 makes map_value pointer be out of bounds"), NONE)
SEC("socket") __naked void alu32_add_wraps(void)
{
    /* [0, 7] + 0xfffffff8 in 32 bits: [0xfffffff8, 0xffffffff]. */
    asm volatile(RANDOM_R7
                 "w7 &= 7;"
                 "w7 += -8;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_add_wraps_then_masked, ACCEPT, NONE)
SEC("socket") __naked void alu32_add_wraps_then_masked(void)
{
    /* Known bits survive the wrap: & 31 leaves [24, 31]. */
    asm volatile(RANDOM_R7
                 "w7 &= 7;"
                 "w7 += -8;"
                 "w7 &= 31;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_sub_underflows, REJECT("R6 unbounded memory access"), NONE)
SEC("socket") __naked void alu32_sub_underflows(void)
{
    asm volatile(RANDOM_R7
                 "w7 &= 7;"
                 "w7 -= 1;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_shift_in_range, ACCEPT, NONE)
SEC("socket") __naked void alu32_shift_in_range(void)
{
    asm volatile(RANDOM_R7
                 "w7 &= 3;"
                 "w7 <<= 3;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_shift_out_of_range, REJECT("R6 max value is outside of the allowed memory range"), NONE)
SEC("socket") __naked void alu32_shift_out_of_range(void)
{
    asm volatile(RANDOM_R7
                 "w7 &= 7;"
                 "w7 <<= 3;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_right_shift, ACCEPT, NONE)
SEC("socket") __naked void alu32_right_shift(void)
{
    asm volatile(RANDOM_R7
                 "w7 >>= 27;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_multiply, ACCEPT, NONE)
SEC("socket") __naked void alu32_multiply(void)
{
    asm volatile(RANDOM_R7
                 "w7 &= 7;"
                 "w7 *= 6;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_multiply_too_far, REJECT("R6 max value is outside of the allowed memory range"), NONE)
SEC("socket") __naked void alu32_multiply_too_far(void)
{
    asm volatile(RANDOM_R7
                 "w7 &= 7;"
                 "w7 *= 7;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS : CLOBBERS);
}

CASE(alu32_modulo_untracked, REJECT("with unbounded min value is not allowed"), NONE)
SEC("socket") __naked void alu32_modulo_untracked(void)
{
    /* This kernel (6.18) does not bound the result of a modulo: r7 is unknown afterwards. */
    asm volatile(RANDOM_R7
                 ".8byte %[mod32_40];"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS, MOD32_40 : CLOBBERS);
}

/* Sign extension */

CASE(movsx_of_small_value, ACCEPT, NONE)
SEC("socket") __naked void movsx_of_small_value(void)
{
    asm volatile(RANDOM_R7
                 "r7 &= 47;"
                 ".8byte %[movsx64_8];"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS, MOVSX64_8 : CLOBBERS);
}

CASE(movsx_of_byte, REJECT("R6 min value is negative"), NONE)
SEC("socket") __naked void movsx_of_byte(void)
{
    /* (s8) of [0, 255] is [-128, 127]. */
    asm volatile(RANDOM_R7
                 "r7 &= 255;"
                 ".8byte %[movsx64_8];"
                 "if r7 s> 47 goto 9f;"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS, MOVSX64_8 : CLOBBERS);
}

CASE(movsx32_of_byte_is_unsigned_large, REJECT("R6 unbounded memory access"), NONE)
SEC("socket") __naked void movsx32_of_byte_is_unsigned_large(void)
{
    /* w7 = (s8)w7 sign-extends to 32 bits only: negative bytes become 0xffffff80..0xffffffff. */
    asm volatile(RANDOM_R7
                 "r7 &= 255;"
                 ".8byte %[movsx32_8];"
                 VALUE_R6(alu32_array)
                 PROBE_R7 :: OPS, MOVSX32_8 : CLOBBERS);
}

CASE(ldsx_then_checked, ACCEPT, NONE)
SEC("socket") __naked void ldsx_then_checked(void)
{
    /* r7 = *(s8 *)value, then 0 <= r7 <= 47 */
    asm volatile(VALUE_R6(alu32_array)
                 ".8byte %[ldsx8];"
                 "if r7 s< 0 goto 9f;"
                 "if r7 s> 47 goto 9f;"
                 PROBE_R7 :: OPS, LDSX8 : CLOBBERS);
}

CASE(ldsx_may_be_negative, REJECT("R6 min value is negative"), NONE)
SEC("socket") __naked void ldsx_may_be_negative(void)
{
    asm volatile(VALUE_R6(alu32_array)
                 ".8byte %[ldsx8];"
                 "if r7 s> 47 goto 9f;"
                 PROBE_R7 :: OPS, LDSX8 : CLOBBERS);
}

CASE(ldx_byte_is_unsigned, ACCEPT, NONE)
SEC("socket") __naked void ldx_byte_is_unsigned(void)
{
    /* The same without sign extension: [0, 255], one check is enough. */
    asm volatile(VALUE_R6(alu32_array)
                 "r7 = *(u8 *)(r6 + 0);"
                 "if r7 > 47 goto 9f;"
                 PROBE_R7 :: OPS : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
