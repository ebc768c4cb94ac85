/* Loops: bounded loops are walked until their exit is proven (constants, bounds checked against
 * a map value, masks); a loop that can run forever is refused at its back edge; too many walked
 * instructions make a program too complex; bpf_loop and bpf_for_each_map_elem callbacks are
 * verified as subprograms with the arguments the helper passes. Unprivileged loaders may not
 * have back edges at all, nor call subprograms (callbacks included). */
#include "table.h"

DEFINE_ARRAY_48(loops_array);

CASE(constant_bound, ACCEPT, REJECT("back-edge from insn"))
SEC("socket") __naked void constant_bound(void)
{
    asm volatile("r0 = 0;"
                 "r1 = 0;"
                 "1: r0 += r1;"
                 "r1 += 1;"
                 "if r1 < 10 goto 1b;"
                 "exit;" ::: CLOBBERS);
}

CASE(count_down_to_zero, ACCEPT, REJECT("back-edge from insn"))
SEC("socket") __naked void count_down_to_zero(void)
{
    asm volatile("r0 = 0;"
                 "r1 = 20;"
                 "1: r0 += 1;"
                 "r1 -= 1;"
                 "if r1 != 0 goto 1b;"
                 "exit;" ::: CLOBBERS);
}

CASE(masked_bound, ACCEPT, NONE)
SEC("socket") __naked void masked_bound(void)
{
    /* n in [0, 31]: at most 32 trips. */
    asm volatile(RANDOM_R7
                 "r7 &= 31;"
                 "r1 = 0;"
                 "1: if r1 >= r7 goto 2f;"
                 "r1 += 1;"
                 "goto 1b;"
                 "2: r0 = 0;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(bound_from_map_value, ACCEPT, NONE)
SEC("socket") __naked void bound_from_map_value(void)
{
    /* The bound is read from a map and checked before the loop. */
    asm volatile(VALUE_R6(loops_array)
                 "r7 = *(u64 *)(r6 + 0);"
                 "if r7 > 64 goto 9f;"
                 "r1 = 0;"
                 "1: if r1 >= r7 goto 9f;"
                 "r1 += 1;"
                 "goto 1b;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(loops_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(bounded_loop_indexes_value, ACCEPT, NONE)
SEC("socket") __naked void bounded_loop_indexes_value(void)
{
    /* i in [0, 40): every access at value + i stays inside. */
    asm volatile(VALUE_R6(loops_array)
                 "r1 = 0;"
                 "1: r2 = r6;"
                 "r2 += r1;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "r1 += 1;"
                 "if r1 < 40 goto 1b;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(loops_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(loop_runs_past_value, REJECT("invalid access to map value, value_size=48 off=48 size=1"), NONE)
SEC("socket") __naked void loop_runs_past_value(void)
{
    /* One trip too many: i reaches 48. */
    asm volatile(VALUE_R6(loops_array)
                 "r1 = 0;"
                 "1: r2 = r6;"
                 "r2 += r1;"
                 "r0 = *(u8 *)(r2 + 0);"
                 "r1 += 1;"
                 "if r1 <= 48 goto 1b;"
                 "9: r0 = 0;"
                 "exit;" :: MAP(loops_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(unconditional_self_loop, REJECT("infinite loop detected"), REJECT("back-edge from insn"))
SEC("socket") __naked void unconditional_self_loop(void)
{
    /* (No exit after it: unreachable code is an error of its own.) */
    asm volatile("r0 = 0;"
                 "1: goto 1b;" ::: CLOBBERS);
}

CASE(loop_without_progress, REJECT("infinite loop detected"), REJECT("back-edge from insn"))
SEC("socket") __naked void loop_without_progress(void)
{
    /* The exit test never changes: the state repeats. */
    asm volatile(RANDOM_R7
                 "r0 = 0;"
                 "1: if r7 == 0 goto 2f;"
                 "r0 = 1;"
                 "goto 1b;"
                 "2: exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(counter_reset_in_body, REJECT("infinite loop detected"), NONE)
SEC("socket") __naked void counter_reset_in_body(void)
{
    asm volatile("r1 = 0;"
                 "1: r1 = 0;"
                 "r1 += 1;"
                 "if r1 < 10 goto 1b;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(too_many_trips, REJECT("BPF program is too large"), NONE)
SEC("socket") __naked void too_many_trips(void)
{
    /* Bounded, but walking it takes more than 1,000,000 instructions. */
    asm volatile("r1 = 0;"
                 "r0 = 0;"
                 "1: r1 += 1;"
                 "if r1 < 600000 goto 1b;"
                 "exit;" ::: CLOBBERS);
}

/* bpf_loop(nr, callback, ctx, flags): callback(index, ctx) returns 0 (continue) or 1 (stop). */

static __naked __noinline __attribute__((used)) void loop_cb_ok(void)
{
    asm volatile("r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void loop_cb_returns_two(void)
{
    asm volatile("r0 = 2;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void loop_cb_uses_ctx(void)
{
    /* r2 is the caller's fp-8: read it, write it back. */
    asm volatile("r0 = *(u64 *)(r2 + 0);"
                 "r0 += r1;"
                 "*(u64 *)(r2 + 0) = r0;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void loop_cb_ctx_past_end(void)
{
    asm volatile("r0 = *(u64 *)(r2 + 8);"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void loop_cb_index_bounds(void)
{
    /* The index is a u32 the callback cannot trust to be small. */
    asm volatile("r6 = r1;"
                 "r1 = 0;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r1 = %[loops_array] ll;"
                 "call %[map_lookup_elem];"
                 "if r0 == 0 goto 1f;"
                 "r0 += r6;"
                 "r0 = *(u8 *)(r0 + 0);"
                 "1: r0 = 0;"
                 "exit;" :: MAP(loops_array), HELPER(map_lookup_elem) : CLOBBERS);
}

#define BPF_LOOP(cb) "r1 = 10; r2 = " #cb " ll; r3 = 0; r4 = 0; call %[loop];"

CASE(bpf_loop_callback, ACCEPT, REJECT("allowed for CAP_BPF and CAP_SYS_ADMIN"))
SEC("socket") __naked void bpf_loop_callback(void)
{
    asm volatile(BPF_LOOP(loop_cb_ok)
                 "r0 = 0;"
                 "exit;" :: HELPER(loop) : CLOBBERS);
}

CASE(bpf_loop_callback_bad_return, REJECT("should have been in [0, 1]"), NONE)
SEC("socket") __naked void bpf_loop_callback_bad_return(void)
{
    asm volatile(BPF_LOOP(loop_cb_returns_two)
                 "r0 = 0;"
                 "exit;" :: HELPER(loop) : CLOBBERS);
}

CASE(bpf_loop_callback_ctx, ACCEPT, NONE)
SEC("socket") __naked void bpf_loop_callback_ctx(void)
{
    asm volatile("r1 = 0;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = 10;"
                 "r2 = loop_cb_uses_ctx ll;"
                 "r3 = r10;"
                 "r3 += -8;"
                 "r4 = 0;"
                 "call %[loop];"
                 "r0 = *(u64 *)(r10 - 8);"
                 "exit;" :: HELPER(loop) : CLOBBERS);
}

CASE(bpf_loop_callback_ctx_past_end, REJECT("invalid read from stack"), NONE)
SEC("socket") __naked void bpf_loop_callback_ctx_past_end(void)
{
    asm volatile("r1 = 0;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = 10;"
                 "r2 = loop_cb_ctx_past_end ll;"
                 "r3 = r10;"
                 "r3 += -8;"
                 "r4 = 0;"
                 "call %[loop];"
                 "r0 = 0;"
                 "exit;" :: HELPER(loop) : CLOBBERS);
}

CASE(bpf_loop_callback_index_unbounded, REJECT("with unbounded min value is not allowed"), NONE)
SEC("socket") __naked void bpf_loop_callback_index_unbounded(void)
{
    asm volatile(BPF_LOOP(loop_cb_index_bounds)
                 "r0 = 0;"
                 "exit;" :: HELPER(loop) : CLOBBERS);
}

CASE(bpf_loop_without_callback, REJECT("R2 type=scalar expected=func"), NONE)
SEC("socket") __naked void bpf_loop_without_callback(void)
{
    asm volatile("r1 = 10;"
                 "r2 = 0;"
                 "r3 = 0;"
                 "r4 = 0;"
                 "call %[loop];"
                 "r0 = 0;"
                 "exit;" :: HELPER(loop) : CLOBBERS);
}

/* bpf_for_each_map_elem(map, callback, ctx, flags): callback(map, key, value, ctx) */

static __naked __noinline __attribute__((used)) void each_cb_reads_value(void)
{
    asm volatile("r0 = *(u64 *)(r3 + 40);"
                 "r0 = *(u32 *)(r2 + 0);"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void each_cb_value_past_end(void)
{
    asm volatile("r0 = *(u64 *)(r3 + 48);"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void each_cb_writes_key(void)
{
    asm volatile("r0 = 0;"
                 "*(u32 *)(r2 + 0) = r0;"
                 "exit;" ::: CLOBBERS);
}

#define FOR_EACH(cb) "r1 = %[loops_array] ll; r2 = " #cb " ll; r3 = 0; r4 = 0; call %[for_each_map_elem];"

CASE(for_each_reads_value_and_key, ACCEPT, NONE)
SEC("socket") __naked void for_each_reads_value_and_key(void)
{
    asm volatile(FOR_EACH(each_cb_reads_value)
                 "r0 = 0;"
                 "exit;" :: MAP(loops_array), HELPER(for_each_map_elem) : CLOBBERS);
}

CASE(for_each_value_past_end, REJECT("invalid access to map value, value_size=48 off=48 size=8"), NONE)
SEC("socket") __naked void for_each_value_past_end(void)
{
    asm volatile(FOR_EACH(each_cb_value_past_end)
                 "r0 = 0;"
                 "exit;" :: MAP(loops_array), HELPER(for_each_map_elem) : CLOBBERS);
}

CASE(for_each_writes_key, REJECT("write to change key R2 not allowed"), NONE)
SEC("socket") __naked void for_each_writes_key(void)
{
    asm volatile(FOR_EACH(each_cb_writes_key)
                 "r0 = 0;"
                 "exit;" :: MAP(loops_array), HELPER(for_each_map_elem) : CLOBBERS);
}

/* may_goto (cpu v4 JCOND, opcode 0xe5): the kernel bounds the loop at run time. As a raw slot
 * that jumps over the next instruction (the back edge) once the budget runs out. */
#define MAY_GOTO_SKIP1 RAW(may_goto, 0xe5, 0, 0, 1, 0)

CASE(may_goto_bounds_endless_loop, ACCEPT, NONE)
SEC("socket") __naked void may_goto_bounds_endless_loop(void)
{
    asm volatile("r0 = 0;"
                 "1: r0 += 1;"
                 ".8byte %[may_goto];"
                 "goto 1b;"
                 "r0 = 0;"
                 "exit;" :: MAY_GOTO_SKIP1 : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
