/* Helper calls against their prototypes: each argument kind (context, map pointer, key, memory
 * plus size, constant string, anything), memory and size pairs with provable bounds, which
 * program types may call which helper, map types a helper accepts, and the type of r0 after. */
#include "table.h"

DEFINE_HASH_48(helpers_hash);
DEFINE_ARRAY_48(helpers_array);

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} helpers_ringbuf SEC(".maps");

static const char helpers_needle[4] = "abc";

/* bpf_skb_load_bytes(skb, offset, to, len): `to` is memory the helper fills, `len` its size. */
#define LOAD_BYTES_PROLOGUE "r6 = r1;"
#define LOAD_BYTES_CALL "r1 = r6; r2 = 0; call %[skb_load_bytes];"

CASE(load_bytes_to_stack, ACCEPT, ACCEPT)
SEC("socket") __naked void load_bytes_to_stack(void)
{
    asm volatile(LOAD_BYTES_PROLOGUE
                 "r3 = r10;"
                 "r3 += -16;"
                 "r4 = 16;"
                 LOAD_BYTES_CALL
                 "r0 = *(u64 *)(r10 - 16);"
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes) : CLOBBERS);
}

CASE(load_bytes_longer_than_buffer, REJECT("stack R3 off=-16 size=17"), REJECT("stack R3 off=-16 size=17"))
SEC("socket") __naked void load_bytes_longer_than_buffer(void)
{
    asm volatile(LOAD_BYTES_PROLOGUE
                 "r3 = r10;"
                 "r3 += -16;"
                 "r4 = 17;"
                 LOAD_BYTES_CALL
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes) : CLOBBERS);
}

CASE(load_bytes_bounded_variable_length, ACCEPT, REJECT("read from stack R3 off -16+0 size 16"))
SEC("socket") __naked void load_bytes_bounded_variable_length(void)
{
    /* len in [1, 16]. With a variable size the helper may fill only part of the buffer, so the
     * whole buffer must be initialised first: unprivileged loaders may not leave it so. */
    asm volatile(LOAD_BYTES_PROLOGUE
                 RANDOM_R7
                 "r7 &= 15;"
                 "r7 += 1;"
                 "r3 = r10;"
                 "r3 += -16;"
                 "r4 = r7;"
                 LOAD_BYTES_CALL
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(load_bytes_length_may_be_zero, REJECT("invalid zero-sized read"), REJECT("invalid zero-sized read"))
SEC("socket") __naked void load_bytes_length_may_be_zero(void)
{
    /* len in [0, 15]: bpf_skb_load_bytes takes no zero size. */
    asm volatile(LOAD_BYTES_PROLOGUE
                 RANDOM_R7
                 "r7 &= 15;"
                 "r3 = r10;"
                 "r3 += -16;"
                 "r4 = r7;"
                 LOAD_BYTES_CALL
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(load_bytes_length_maybe_negative, REJECT("R4 min value is negative, either use unsigned or 'var &= const'"),
     REJECT("R4 min value is negative, either use unsigned or 'var &= const'"))
SEC("socket") __naked void load_bytes_length_maybe_negative(void)
{
    asm volatile(LOAD_BYTES_PROLOGUE
                 RANDOM_R7
                 "r3 = r10;"
                 "r3 += -16;"
                 "r4 = r7;"
                 LOAD_BYTES_CALL
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(load_bytes_length_unbounded, REJECT("R4 unbounded memory access, use 'var &= const' or 'if (var < const)'"),
     REJECT("R4 unbounded memory access, use 'var &= const' or 'if (var < const)'"))
SEC("socket") __naked void load_bytes_length_unbounded(void)
{
    asm volatile(LOAD_BYTES_PROLOGUE
                 RANDOM_R7
                 "if r7 s< 1 goto 1f;"
                 "r3 = r10;"
                 "r3 += -16;"
                 "r4 = r7;"
                 LOAD_BYTES_CALL
                 "1: r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes), HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(load_bytes_into_map_value, ACCEPT, ACCEPT)
SEC("socket") __naked void load_bytes_into_map_value(void)
{
    asm volatile("r8 = r1;"
                 VALUE_R6(helpers_array)
                 "r1 = r8;"
                 "r2 = 0;"
                 "r3 = r6;"
                 "r4 = 48;"
                 "call %[skb_load_bytes];"
                 "9: r0 = 0;"
                 "exit;" :: MAP(helpers_array), HELPER(map_lookup_elem), HELPER(skb_load_bytes) : CLOBBERS);
}

CASE(load_bytes_past_map_value, REJECT("invalid access to map value, value_size=48 off=0 size=49"), NONE)
SEC("socket") __naked void load_bytes_past_map_value(void)
{
    asm volatile("r8 = r1;"
                 VALUE_R6(helpers_array)
                 "r1 = r8;"
                 "r2 = 0;"
                 "r3 = r6;"
                 "r4 = 49;"
                 "call %[skb_load_bytes];"
                 "9: r0 = 0;"
                 "exit;" :: MAP(helpers_array), HELPER(map_lookup_elem), HELPER(skb_load_bytes) : CLOBBERS);
}

CASE(load_bytes_into_context, REJECT("R3 type=ctx expected=fp"), REJECT("R3 type=ctx expected=fp"))
SEC("socket") __naked void load_bytes_into_context(void)
{
    asm volatile(LOAD_BYTES_PROLOGUE
                 "r3 = r6;"
                 "r4 = 4;"
                 LOAD_BYTES_CALL
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes) : CLOBBERS);
}

CASE(load_bytes_without_context, REJECT("R1 type=fp expected=ctx"), REJECT("R1 type=fp expected=ctx"))
SEC("socket") __naked void load_bytes_without_context(void)
{
    asm volatile("r1 = r10;"
                 "r2 = 0;"
                 "r3 = r10;"
                 "r3 += -8;"
                 "r4 = 8;"
                 "call %[skb_load_bytes];"
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes) : CLOBBERS);
}

CASE(uninitialised_argument, REJECT("R3 !read_ok"), REJECT("R3 !read_ok"))
SEC("socket") __naked void uninitialised_argument(void)
{
    asm volatile("r2 = 0;"
                 "r4 = 8;"
                 "call %[skb_load_bytes];"
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_load_bytes) : CLOBBERS);
}

/* Map arguments */

CASE(lookup_without_map, REJECT("R1 type=ctx expected=map_ptr"), REJECT("R1 type=ctx expected=map_ptr"))
SEC("socket") __naked void lookup_without_map(void)
{
    asm volatile("r6 = r1;"
                 KEY0
                 "r1 = r6;"
                 "call %[map_lookup_elem];"
                 "r0 = 0;"
                 "exit;" :: HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(lookup_in_ringbuf, REJECT("invalid zero-sized read"), NONE)
SEC("socket") __naked void lookup_in_ringbuf(void)
{
    /* A ring buffer has no keys: its key size is 0. */
    asm volatile(LOOKUP(helpers_ringbuf)
                 "r0 = 0;"
                 "exit;" :: MAP(helpers_ringbuf), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(tail_call_through_hash, REJECT("expected prog array map for tail call"),
     REJECT("expected prog array map for tail call"))
SEC("socket") __naked void tail_call_through_hash(void)
{
    asm volatile("r2 = %[helpers_hash] ll;"
                 "r3 = 0;"
                 "call %[tail_call];"
                 "r0 = 0;"
                 "exit;" :: MAP(helpers_hash), HELPER(tail_call) : CLOBBERS);
}

CASE(ringbuf_output_from_stack, ACCEPT, ACCEPT)
SEC("socket") __naked void ringbuf_output_from_stack(void)
{
    asm volatile("r1 = 1;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = %[helpers_ringbuf] ll;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r3 = 8;"
                 "r4 = 0;"
                 "call %[ringbuf_output];"
                 "r0 = 0;"
                 "exit;" :: MAP(helpers_ringbuf), HELPER(ringbuf_output) : CLOBBERS);
}

CASE(ringbuf_output_zero_size, ACCEPT, ACCEPT)
SEC("socket") __naked void ringbuf_output_zero_size(void)
{
    /* Its size argument may be zero. */
    asm volatile("r1 = %[helpers_ringbuf] ll;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r3 = 0;"
                 "r4 = 0;"
                 "call %[ringbuf_output];"
                 "r0 = 0;"
                 "exit;" :: MAP(helpers_ringbuf), HELPER(ringbuf_output) : CLOBBERS);
}

/* Which program types may call what */

CASE(store_bytes_in_socket_filter, REJECT("program of this type cannot use helper bpf_skb_store_bytes#9"),
     REJECT("program of this type cannot use helper bpf_skb_store_bytes#9"))
SEC("socket") __naked void store_bytes_in_socket_filter(void)
{
    asm volatile("r2 = 0;"
                 "r3 = r10;"
                 "r3 += -8;"
                 "*(u64 *)(r10 - 8) = r2;"
                 "r4 = 8;"
                 "r5 = 0;"
                 "call %[skb_store_bytes];"
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_store_bytes) : CLOBBERS);
}

CASE(store_bytes_in_tc, ACCEPT, NONE)
SEC("tc") __naked void store_bytes_in_tc(void)
{
    asm volatile("r2 = 0;"
                 "r3 = r10;"
                 "r3 += -8;"
                 "*(u64 *)(r10 - 8) = r2;"
                 "r4 = 8;"
                 "r5 = 0;"
                 "call %[skb_store_bytes];"
                 "r0 = 0;"
                 "exit;" :: HELPER(skb_store_bytes) : CLOBBERS);
}

CASE(xdp_helper_in_tc, REJECT("program of this type cannot use helper bpf_xdp_adjust_head#44"), NONE)
SEC("tc") __naked void xdp_helper_in_tc(void)
{
    asm volatile("r2 = 0;"
                 "call %[xdp_adjust_head];"
                 "r0 = 0;"
                 "exit;" :: HELPER(xdp_adjust_head) : CLOBBERS);
}

CASE(redirect_in_xdp, ACCEPT, NONE)
SEC("xdp") __naked void redirect_in_xdp(void)
{
    asm volatile("r1 = 1;"
                 "r2 = 0;"
                 "call %[redirect];"
                 "exit;" :: HELPER(redirect) : CLOBBERS);
}

CASE(pid_tgid_in_kprobe, ACCEPT, NONE)
SEC("kprobe/do_nanosleep") __naked void pid_tgid_in_kprobe(void)
{
    asm volatile("call %[get_current_pid_tgid];"
                 "r0 = 0;"
                 "exit;" :: HELPER(get_current_pid_tgid) : CLOBBERS);
}

CASE(unknown_helper, REJECT("invalid func unknown#10000"), REJECT("invalid func unknown#10000"))
SEC("socket") __naked void unknown_helper(void)
{
    asm volatile("call 10000;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

/* Results and special arguments */

CASE(result_is_a_number, REJECT("R0 invalid mem access 'scalar'"), REJECT("R0 invalid mem access 'scalar'"))
SEC("socket") __naked void result_is_a_number(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "r0 = *(u8 *)(r0 + 0);"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(probe_read_kernel_in_kprobe, ACCEPT, NONE)
SEC("kprobe/do_nanosleep") __naked void probe_read_kernel_in_kprobe(void)
{
    asm volatile("r3 = *(u64 *)(r1 + 112);"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r2 = 8;"
                 "call %[probe_read_kernel];"
                 "r0 = 0;"
                 "exit;" :: HELPER(probe_read_kernel) : CLOBBERS);
}

CASE(probe_read_kernel_too_long, REJECT("stack R1 off=-8 size=16"), NONE)
SEC("kprobe/do_nanosleep") __naked void probe_read_kernel_too_long(void)
{
    asm volatile("r3 = *(u64 *)(r1 + 112);"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r2 = 16;"
                 "call %[probe_read_kernel];"
                 "r0 = 0;"
                 "exit;" :: HELPER(probe_read_kernel) : CLOBBERS);
}

CASE(strncmp_with_constant_string, ACCEPT, NONE)
SEC("socket") __naked void strncmp_with_constant_string(void)
{
    asm volatile("r1 = 0x636261;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r2 = 8;"
                 "r3 = %[helpers_needle] ll;"
                 "call %[strncmp];"
                 "r0 = 0;"
                 "exit;" :: IMM(helpers_needle, &helpers_needle), HELPER(strncmp) : CLOBBERS);
}

CASE(strncmp_with_stack_string, REJECT("R3 type=fp expected=map_value"), NONE)
SEC("socket") __naked void strncmp_with_stack_string(void)
{
    /* The compared string must be a constant the verifier can read: .rodata, not the stack. */
    asm volatile("r1 = 0x636261;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "r1 += -8;"
                 "r2 = 8;"
                 "r3 = r10;"
                 "r3 += -8;"
                 "call %[strncmp];"
                 "r0 = 0;"
                 "exit;" :: HELPER(strncmp) : CLOBBERS);
}

CASE(pointer_as_plain_argument, ACCEPT, REJECT("R4 leaks addr into helper function"))
SEC("socket") __naked void pointer_as_plain_argument(void)
{
    /* The flags argument takes anything, but an unprivileged loader may not pass an address. */
    asm volatile("r1 = 1;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = %[helpers_ringbuf] ll;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r3 = 8;"
                 "r4 = r10;"
                 "call %[ringbuf_output];"
                 "r0 = 0;"
                 "exit;" :: MAP(helpers_ringbuf), HELPER(ringbuf_output) : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
