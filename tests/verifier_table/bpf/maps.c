/* Map values: accesses within value_size at constant and variable offsets, the null check of
 * lookups (one check covers every copy, and only copies), keys (initialised, big enough, on the
 * stack or in a map value), constant keys of arrays, read-only maps, and unprivileged leaks. */
#include "table.h"

DEFINE_HASH_48(maps_hash);
DEFINE_ARRAY_48(maps_array);

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_RDONLY_PROG);
    __type(key, int);
    __type(value, struct val48);
} maps_rdonly SEC(".maps");

CASE(value_last_word, ACCEPT, ACCEPT)
SEC("socket") __naked void value_last_word(void)
{
    asm volatile(VALUE_R6(maps_hash)
                 "r0 = *(u64 *)(r6 + 40);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(value_word_over_end, REJECT("invalid access to map value, value_size=48 off=44 size=8"),
     REJECT("invalid access to map value, value_size=48 off=44 size=8"))
SEC("socket") __naked void value_word_over_end(void)
{
    asm volatile(VALUE_R6(maps_hash)
                 "r0 = *(u64 *)(r6 + 44);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(value_byte_past_end, REJECT("invalid access to map value, value_size=48 off=48 size=1"),
     REJECT("invalid access to map value, value_size=48 off=48 size=1"))
SEC("socket") __naked void value_byte_past_end(void)
{
    /* One byte past the value: what an off-by-one bounds check would let through
     * (scripts/soundness-mutant.sh builds such a verifier). */
    asm volatile(VALUE_R6(maps_hash)
                 "r0 = *(u8 *)(r6 + 48);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(value_negative_offset, REJECT("invalid access to map value, value_size=48 off=-8 size=8"),
     REJECT("invalid access to map value, value_size=48 off=-8 size=8"))
SEC("socket") __naked void value_negative_offset(void)
{
    asm volatile(VALUE_R6(maps_hash)
                 "r0 = *(u64 *)(r6 - 8);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(value_write_in_bounds, ACCEPT, ACCEPT)
SEC("socket") __naked void value_write_in_bounds(void)
{
    asm volatile(VALUE_R6(maps_array)
                 "r1 = 1;"
                 "*(u32 *)(r6 + 44) = r1;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(value_bounded_index, ACCEPT, ACCEPT)
SEC("socket") __naked void value_bounded_index(void)
{
    asm volatile(RANDOM_R7
                 "r7 &= 47;"
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(value_index_too_large, REJECT("R6 max value is outside of the allowed memory range"), NONE)
SEC("socket") __naked void value_index_too_large(void)
{
    asm volatile(RANDOM_R7
                 "r7 &= 63;"
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(value_index_checked_below, ACCEPT, NONE)
SEC("socket") __naked void value_index_checked_below(void)
{
    asm volatile(RANDOM_R7
                 "if r7 >= 48 goto 9f;"
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(value_index_checked_off_by_one, REJECT("R6 max value is outside of the allowed memory range"), NONE)
SEC("socket") __naked void value_index_checked_off_by_one(void)
{
    asm volatile(RANDOM_R7
                 "if r7 > 48 goto 9f;"
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(value_index_signed_check_only,
     REJECT("math between map_value pointer and register with unbounded min value is not allowed"), NONE)
SEC("socket") __naked void value_index_signed_check_only(void)
{
    asm volatile(RANDOM_R7
                 "if r7 s> 40 goto 9f;"
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(value_index_may_be_negative, REJECT("R6 min value is negative"), NONE)
SEC("socket") __naked void value_index_may_be_negative(void)
{
    /* r7 in [-8, 40]: a bounded, but possibly negative, offset. */
    asm volatile(RANDOM_R7
                 "if r7 s> 40 goto 9f;"
                 "if r7 s< -8 goto 9f;"
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(value_index_non_negative_only, REJECT("R6 unbounded memory access"), NONE)
SEC("socket") __naked void value_index_non_negative_only(void)
{
    asm volatile(RANDOM_R7
                 "if r7 s< 0 goto 9f;"
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(value_index_unbounded,
     REJECT("math between map_value pointer and register with unbounded min value is not allowed"),
     REJECT("math between map_value pointer and register with unbounded min value is not allowed"))
SEC("socket") __naked void value_index_unbounded(void)
{
    asm volatile(RANDOM_R7
                 VALUE_R6(maps_hash)
                 PROBE_R7 :: MAP(maps_hash), HELPER(map_lookup_elem), HELPER(get_prandom_u32) : CLOBBERS);
}

/* Null checks and the ids that link copies of one lookup result. */

CASE(null_check_covers_earlier_copy, ACCEPT, ACCEPT)
SEC("socket") __naked void null_check_covers_earlier_copy(void)
{
    asm volatile(LOOKUP(maps_hash)
                 "r6 = r0;"
                 "if r0 == 0 goto 1f;"
                 "r0 = *(u64 *)(r6 + 0);"
                 "1: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(null_check_with_jne, ACCEPT, ACCEPT)
SEC("socket") __naked void null_check_with_jne(void)
{
    asm volatile(LOOKUP(maps_hash)
                 "if r0 != 0 goto 1f;"
                 "exit;"
                 "1: r0 = *(u64 *)(r0 + 0);"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(use_on_null_branch, REJECT("R0 invalid mem access 'scalar'"), REJECT("R0 invalid mem access 'scalar'"))
SEC("socket") __naked void use_on_null_branch(void)
{
    asm volatile(LOOKUP(maps_hash)
                 "if r0 != 0 goto 1f;"
                 "r0 = *(u64 *)(r0 + 0);"
                 "1: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(check_of_other_lookup, REJECT("R7 invalid mem access 'map_value_or_null'"),
     REJECT("R7 invalid mem access 'map_value_or_null'"))
SEC("socket") __naked void check_of_other_lookup(void)
{
    /* Two lookups, two ids: checking the second does not clear the first. */
    asm volatile(LOOKUP(maps_hash)
                 "r7 = r0;"
                 LOOKUP(maps_hash)
                 "if r0 == 0 goto 1f;"
                 "r0 = *(u64 *)(r7 + 0);"
                 "1: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(arithmetic_before_null_check,
     REJECT("R0 pointer arithmetic on map_value_or_null prohibited, null-check it first"),
     REJECT("R0 pointer arithmetic on map_value_or_null prohibited, null-check it first"))
SEC("socket") __naked void arithmetic_before_null_check(void)
{
    asm volatile(LOOKUP(maps_hash)
                 "r0 += 8;"
                 "if r0 == 0 goto 1f;"
                 "r0 = *(u64 *)(r0 + 0);"
                 "1: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(null_checked_copy_through_stack, ACCEPT, ACCEPT)
SEC("socket") __naked void null_checked_copy_through_stack(void)
{
    /* A spilled copy keeps the id: the check after the fill covers the register kept aside. */
    asm volatile(LOOKUP(maps_hash)
                 "*(u64 *)(r10 - 16) = r0;"
                 "r6 = *(u64 *)(r10 - 16);"
                 "if r6 == 0 goto 1f;"
                 "r0 = *(u64 *)(r0 + 8);"
                 "1: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

/* Keys */

CASE(key_uninitialised, ACCEPT, REJECT("read from stack R2 off -8+0 size 8"))
SEC("socket") __naked void key_uninitialised(void)
{
    asm volatile("r2 = r10;"
                 "r2 += -8;"
                 "r1 = %[maps_hash] ll;"
                 "call %[map_lookup_elem];"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(key_is_a_number, REJECT("R2 type=scalar expected=fp"), REJECT("R2 type=scalar expected=fp"))
SEC("socket") __naked void key_is_a_number(void)
{
    asm volatile("r2 = 0;"
                 "r1 = %[maps_hash] ll;"
                 "call %[map_lookup_elem];"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(key_overruns_frame, REJECT("stack R2 off=-4 size=8"), REJECT("stack R2 off=-4 size=8"))
SEC("socket") __naked void key_overruns_frame(void)
{
    /* An 8-byte key at fp-4 ends 4 bytes above the frame. */
    asm volatile("r1 = 0;"
                 "*(u32 *)(r10 - 4) = r1;"
                 "r2 = r10;"
                 "r2 += -4;"
                 "r1 = %[maps_hash] ll;"
                 "call %[map_lookup_elem];"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(key_in_map_value, ACCEPT, ACCEPT)
SEC("socket") __naked void key_in_map_value(void)
{
    /* The first 8 bytes of an array value serve as the hash key. */
    asm volatile(VALUE_R6(maps_array)
                 "r2 = r6;"
                 "r1 = %[maps_hash] ll;"
                 "call %[map_lookup_elem];"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_array), MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(key_in_map_value_too_close_to_end, REJECT("invalid access to map value, value_size=48 off=44 size=8"), NONE)
SEC("socket") __naked void key_in_map_value_too_close_to_end(void)
{
    asm volatile(VALUE_R6(maps_array)
                 "r2 = r6;"
                 "r2 += 44;"
                 "r1 = %[maps_hash] ll;"
                 "call %[map_lookup_elem];"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_array), MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(array_constant_key_still_needs_check, REJECT("R0 invalid mem access 'map_value_or_null'"), NONE)
SEC("socket") __naked void array_constant_key_still_needs_check(void)
{
    /* Even a known key below max_entries: this kernel (6.18) wants the null check. */
    asm volatile("r1 = 3;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r1 = %[maps_array] ll;"
                 "call %[map_lookup_elem];"
                 "r0 = *(u64 *)(r0 + 0);"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(array_constant_key_out_of_range, REJECT("R0 invalid mem access 'map_value_or_null'"), NONE)
SEC("socket") __naked void array_constant_key_out_of_range(void)
{
    asm volatile("r1 = 4;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r1 = %[maps_array] ll;"
                 "call %[map_lookup_elem];"
                 "r0 = *(u64 *)(r0 + 0);"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(hash_constant_key_needs_check, REJECT("R0 invalid mem access 'map_value_or_null'"), NONE)
SEC("socket") __naked void hash_constant_key_needs_check(void)
{
    asm volatile(LOOKUP(maps_hash)
                 "r0 = *(u64 *)(r0 + 0);"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

/* Read-only maps and pointer leaks */

CASE(rdonly_map_read, ACCEPT, NONE)
SEC("socket") __naked void rdonly_map_read(void)
{
    asm volatile(VALUE_R6(maps_rdonly)
                 "r0 = *(u64 *)(r6 + 0);"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_rdonly), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(rdonly_map_write, REJECT("write into map forbidden, value_size=48 off=0 size=8"), NONE)
SEC("socket") __naked void rdonly_map_write(void)
{
    asm volatile(VALUE_R6(maps_rdonly)
                 "r1 = 0;"
                 "*(u64 *)(r6 + 0) = r1;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_rdonly), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(store_pointer_in_value, ACCEPT, REJECT("R10 leaks addr into map"))
SEC("socket") __naked void store_pointer_in_value(void)
{
    asm volatile(VALUE_R6(maps_hash)
                 "*(u64 *)(r6 + 0) = r10;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(update_from_map_value, ACCEPT, ACCEPT)
SEC("socket") __naked void update_from_map_value(void)
{
    /* Key on the stack, value straight from another map's value. */
    asm volatile(VALUE_R6(maps_array)
                 "r1 = 0;"
                 "*(u64 *)(r10 - 16) = r1;"
                 "r2 = r10;"
                 "r2 += -16;"
                 "r3 = r6;"
                 "r4 = 0;"
                 "r1 = %[maps_hash] ll;"
                 "call %[map_update_elem];"
                 "9: r0 = 0;"
                 "exit;" :: MAP(maps_array), MAP(maps_hash), HELPER(map_lookup_elem), HELPER(map_update_elem)
                 : CLOBBERS);
}

CASE(update_value_too_small, REJECT("stack R3 off=-16 size=48"), REJECT("stack R3 off=-16 size=48"))
SEC("socket") __naked void update_value_too_small(void)
{
    /* The value is 48 bytes; fp-16 has only 16 above it. */
    asm volatile("r1 = 0;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "*(u64 *)(r10 - 16) = r1;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r3 = r10;"
                 "r3 += -16;"
                 "r4 = 0;"
                 "r1 = %[maps_hash] ll;"
                 "call %[map_update_elem];"
                 "r0 = 0;"
                 "exit;" :: MAP(maps_hash), HELPER(map_update_elem) : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
