/* Subprograms: arguments and results in registers (r1-r5 scratched, r6-r9 kept), call depth (at
 * most 8 frames), the combined stack of a call chain (at most 512 bytes), and global functions,
 * which the kernel verifies on their own from their BTF prototype and whose results callers know
 * nothing about. Unprivileged loaders may not call subprograms. */
#include "table.h"

DEFINE_ARRAY_48(subprog_array);

static __naked __noinline __attribute__((used)) void add_one(void)
{
    asm volatile("r0 = r1;"
                 "r0 += 1;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void read_r2(void)
{
    asm volatile("r0 = r2;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void no_result(void)
{
    asm volatile("r1 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void clobber_r6(void)
{
    /* The callee's r6 is its own (it cannot read the caller's): setting it changes nothing for
     * the caller. */
    asm volatile("r6 = 99;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void read_r6(void)
{
    asm volatile("r0 = r6;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void return_forty(void)
{
    asm volatile("r0 = 40;"
                 "exit;" ::: CLOBBERS);
}

CASE(call_with_argument, ACCEPT, REJECT("allowed for CAP_BPF and CAP_SYS_ADMIN"))
SEC("socket") __naked void call_with_argument(void)
{
    asm volatile("r1 = 41;"
                 "call add_one;"
                 "exit;" ::: CLOBBERS);
}

CASE(callee_reads_unset_argument, REJECT("R2 !read_ok"), NONE)
SEC("socket") __naked void callee_reads_unset_argument(void)
{
    asm volatile("r1 = 1;"
                 "call read_r2;"
                 "exit;" ::: CLOBBERS);
}

CASE(callee_sets_no_result, REJECT("R0 !read_ok"), NONE)
SEC("socket") __naked void callee_sets_no_result(void)
{
    asm volatile("call no_result;"
                 "exit;" ::: CLOBBERS);
}

CASE(caller_reads_scratched_register, REJECT("R3 !read_ok"), NONE)
SEC("socket") __naked void caller_reads_scratched_register(void)
{
    asm volatile("r3 = 1;"
                 "r1 = 1;"
                 "call add_one;"
                 "r0 = r3;"
                 "exit;" ::: CLOBBERS);
}

CASE(caller_keeps_r6, ACCEPT, NONE)
SEC("socket") __naked void caller_keeps_r6(void)
{
    asm volatile("r6 = 5;"
                 "call clobber_r6;"
                 "r0 = r6;"
                 "exit;" ::: CLOBBERS);
}

CASE(callee_reads_callers_r6, REJECT("R6 !read_ok"), NONE)
SEC("socket") __naked void callee_reads_callers_r6(void)
{
    asm volatile("r6 = 5;"
                 "call read_r6;"
                 "exit;" ::: CLOBBERS);
}

CASE(known_result_bounds_access, ACCEPT, NONE)
SEC("socket") __naked void known_result_bounds_access(void)
{
    /* A static subprogram is verified in its caller's context: its result is known to be 40. */
    asm volatile("call return_forty;"
                 "r7 = r0;"
                 VALUE_R6(subprog_array)
                 PROBE_R7 :: MAP(subprog_array), HELPER(map_lookup_elem) : CLOBBERS);
}

/* Call depth: f1 -> f2 -> ... each adds a frame. */

#define CHAIN(name, next)                                                                         \
    static __naked __noinline __attribute__((used)) void name(void)                               \
    {                                                                                             \
        asm volatile("call " #next ";"                                                            \
                     "exit;" ::: CLOBBERS);                                                       \
    }
CHAIN(depth8, return_forty)
CHAIN(depth7, depth8)
CHAIN(depth6, depth7)
CHAIN(depth5, depth6)
CHAIN(depth4, depth5)
CHAIN(depth3, depth4)
CHAIN(depth2, depth3)

CASE(eight_frames, ACCEPT, NONE)
SEC("socket") __naked void eight_frames(void)
{
    /* main, depth3..depth8 and return_forty: 8 frames. */
    asm volatile("call depth3;"
                 "exit;" ::: CLOBBERS);
}

CASE(nine_frames, REJECT("frames is too deep"), NONE)
SEC("socket") __naked void nine_frames(void)
{
    asm volatile("call depth2;"
                 "exit;" ::: CLOBBERS);
}

/* Combined stack */

static __naked __noinline __attribute__((used)) void uses_256_bytes(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 256) = r0;"
                 "exit;" ::: CLOBBERS);
}

static __naked __noinline __attribute__((used)) void uses_264_bytes(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 264) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(stack_512_along_chain, ACCEPT, NONE)
SEC("socket") __naked void stack_512_along_chain(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 256) = r0;"
                 "call uses_256_bytes;"
                 "exit;" ::: CLOBBERS);
}

CASE(stack_over_512_along_chain, REJECT("combined stack size of 2 calls is"), NONE)
SEC("socket") __naked void stack_over_512_along_chain(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 256) = r0;"
                 "call uses_264_bytes;"
                 "exit;" ::: CLOBBERS);
}

CASE(big_frames_on_separate_chains, ACCEPT, NONE)
SEC("socket") __naked void big_frames_on_separate_chains(void)
{
    /* Two callees of 256 bytes each, called one after the other: never both on the stack. */
    asm volatile("r0 = 0;"
                 "*(u64 *)(r10 - 256) = r0;"
                 "call uses_256_bytes;"
                 "call uses_256_bytes;"
                 "exit;" ::: CLOBBERS);
}

/* Global functions: verified once, on their own, from their BTF prototype. */

__noinline int global_plus_one(int x)
{
    return x + 1;
}

__noinline int global_deref_checked(int *p)
{
    return p ? *p : 0;
}

__noinline int global_ctx_len(struct __sk_buff *skb)
{
    return skb->len;
}

/* (Global functions with parameters are plain C: clang gives __naked ones nameless parameters in
 * BTF, which the kernel refuses.) */
__noinline int global_deref_unchecked(int *p)
{
    return *p;
}

__naked __noinline int global_returns_pointer(void)
{
    asm volatile("r0 = %[subprog_array] ll;"
                 "exit;" :: MAP(subprog_array) : CLOBBERS);
}

CASE(global_scalar_argument, ACCEPT, NONE)
SEC("socket") __naked void global_scalar_argument(void)
{
    asm volatile("r1 = 1;"
                 "call global_plus_one;"
                 "exit;" ::: CLOBBERS);
}

CASE(global_result_is_unknown, REJECT("R6 unbounded memory access"), NONE)
SEC("socket") __naked void global_result_is_unknown(void)
{
    /* Unlike a static subprogram's, a global function's result is only "some int". */
    asm volatile("r1 = 1;"
                 "call global_plus_one;"
                 "r7 = r0;"
                 "if r7 s< 0 goto 9f;"
                 VALUE_R6(subprog_array)
                 PROBE_R7 :: MAP(subprog_array), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(global_pointer_argument, ACCEPT, NONE)
SEC("socket") __naked void global_pointer_argument(void)
{
    asm volatile("r1 = 7;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "r1 += -8;"
                 "call global_deref_checked;"
                 "exit;" ::: CLOBBERS);
}

CASE(global_pointer_argument_null, ACCEPT, NONE)
SEC("socket") __naked void global_pointer_argument_null(void)
{
    asm volatile("r1 = 0;"
                 "call global_deref_checked;"
                 "exit;" ::: CLOBBERS);
}

CASE(global_pointer_argument_too_small, REJECT("stack R1 off=-2 size=4"), NONE)
SEC("socket") __naked void global_pointer_argument_too_small(void)
{
    /* An int needs 4 bytes; fp-2 has 2 above it. */
    asm volatile("r1 = 7;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "r1 += -2;"
                 "call global_deref_checked;"
                 "exit;" ::: CLOBBERS);
}

CASE(global_dereference_without_null_check, REJECT("R1 invalid mem access 'mem_or_null'"), NONE)
SEC("socket") __naked void global_dereference_without_null_check(void)
{
    asm volatile("r1 = 7;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r1 = r10;"
                 "r1 += -8;"
                 "call global_deref_unchecked;"
                 "exit;" ::: CLOBBERS);
}

CASE(global_context_argument, ACCEPT, NONE)
SEC("socket") __naked void global_context_argument(void)
{
    asm volatile("call global_ctx_len;"
                 "exit;" ::: CLOBBERS);
}

CASE(global_context_argument_wrong, REJECT("Caller passes invalid args into func#"), NONE)
SEC("socket") __naked void global_context_argument_wrong(void)
{
    asm volatile("r1 = r10;"
                 "r1 += -8;"
                 "call global_ctx_len;"
                 "exit;" ::: CLOBBERS);
}

CASE(global_returns_non_scalar, REJECT("At subprogram exit the register R0 is not a scalar value"), NONE)
SEC("socket") __naked void global_returns_non_scalar(void)
{
    asm volatile("call global_returns_pointer;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
