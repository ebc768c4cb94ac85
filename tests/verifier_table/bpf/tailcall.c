/* Tail calls through a prog_array: the context goes in r1, nothing comes back in r0 (a failed
 * tail call falls through with r0 unset), no acquired reference may be held across one, and the
 * stack of the frames below a subprogram that tail-calls must stay under 256 bytes. */
#include "table.h"

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __uint(key_size, 4);
    __uint(value_size, 4);
} tail_jmp SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} tail_ringbuf SEC(".maps");

#define TAIL_CALL_0 "r2 = %[tail_jmp] ll; r3 = 0; call %[tail_call];"
#define TAIL_OPS MAP(tail_jmp), HELPER(tail_call)

CASE(tail_call_then_fall_through, ACCEPT, ACCEPT)
SEC("socket") __naked void tail_call_then_fall_through(void)
{
    asm volatile(TAIL_CALL_0
                 "r0 = 0;"
                 "exit;" :: TAIL_OPS : CLOBBERS);
}

CASE(result_of_tail_call, REJECT("R0 !read_ok"), REJECT("R0 !read_ok"))
SEC("socket") __naked void result_of_tail_call(void)
{
    asm volatile(TAIL_CALL_0
                 "exit;" :: TAIL_OPS : CLOBBERS);
}

CASE(tail_call_variable_index, ACCEPT, ACCEPT)
SEC("socket") __naked void tail_call_variable_index(void)
{
    asm volatile("r6 = r1;"
                 "call %[get_prandom_u32];"
                 "r3 = r0;"
                 "r1 = r6;"
                 "r2 = %[tail_jmp] ll;"
                 "call %[tail_call];"
                 "r0 = 0;"
                 "exit;" :: TAIL_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(tail_call_without_context, REJECT("R1 type=fp expected=ctx"), REJECT("R1 type=fp expected=ctx"))
SEC("socket") __naked void tail_call_without_context(void)
{
    asm volatile("r1 = r10;"
                 TAIL_CALL_0
                 "r0 = 0;"
                 "exit;" :: TAIL_OPS : CLOBBERS);
}

CASE(tail_call_holding_reference, REJECT("tail_call would lead to reference leak"),
     REJECT("tail_call would lead to reference leak"))
SEC("socket") __naked void tail_call_holding_reference(void)
{
    asm volatile("r6 = r1;"
                 "r1 = %[tail_ringbuf] ll;"
                 "r2 = 8;"
                 "r3 = 0;"
                 "call %[ringbuf_reserve];"
                 "if r0 == 0 goto 1f;"
                 "r7 = r0;"
                 "r1 = r6;"
                 TAIL_CALL_0
                 "r1 = r7;"
                 "r2 = 0;"
                 "call %[ringbuf_discard];"
                 "1: r0 = 0;"
                 "exit;" :: TAIL_OPS, MAP(tail_ringbuf), HELPER(ringbuf_reserve), HELPER(ringbuf_discard)
                 : CLOBBERS);
}

CASE(tail_call_after_release, ACCEPT, ACCEPT)
SEC("socket") __naked void tail_call_after_release(void)
{
    asm volatile("r6 = r1;"
                 "r1 = %[tail_ringbuf] ll;"
                 "r2 = 8;"
                 "r3 = 0;"
                 "call %[ringbuf_reserve];"
                 "if r0 == 0 goto 1f;"
                 "r1 = r0;"
                 "r2 = 0;"
                 "call %[ringbuf_discard];"
                 "1: r1 = r6;"
                 TAIL_CALL_0
                 "r0 = 0;"
                 "exit;" :: TAIL_OPS, MAP(tail_ringbuf), HELPER(ringbuf_reserve), HELPER(ringbuf_discard)
                 : CLOBBERS);
}

/* Tail calls from subprograms */

/* A subprogram that tail-calls must return int in BTF: the tail call's target returns for it. */
static __naked __noinline __attribute__((used)) int tail_from_subprog(void)
{
    asm volatile(TAIL_CALL_0
                 "r0 = 0;"
                 "exit;" :: TAIL_OPS : CLOBBERS);
}

static __naked __noinline __attribute__((used)) void tail_from_void_subprog(void)
{
    asm volatile(TAIL_CALL_0
                 "r0 = 0;"
                 "exit;" :: TAIL_OPS : CLOBBERS);
}

CASE(tail_call_from_subprog, ACCEPT, NONE)
SEC("socket") __naked void tail_call_from_subprog(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 64) = r0;"
                 "call tail_from_subprog;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(tail_call_from_subprog_deep_stack, REJECT("tail_calls are not allowed when call stack of previous frames is"),
     NONE)
SEC("socket") __naked void tail_call_from_subprog_deep_stack(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 288) = r0;"
                 "call tail_from_subprog;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(tail_call_from_void_subprog, REJECT("tail_call is only allowed in functions that return 'int'"), NONE)
SEC("socket") __naked void tail_call_from_void_subprog(void)
{
    asm volatile("call tail_from_void_subprog;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
