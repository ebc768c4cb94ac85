/* Registers: reads of uninitialised registers, r10 read-only, what a helper call scratches, the
 * register types as operands of loads (each type: which ones may be dereferenced), and what
 * an unprivileged loader may do with pointers in registers. */
#include "table.h"

DEFINE_HASH_48(regs_hash);

CASE(uninit_src_read, REJECT("R2 !read_ok"), REJECT("R2 !read_ok"))
SEC("socket") __naked void uninit_src_read(void)
{
    asm volatile("r0 = r2;"
                 "exit;" ::: CLOBBERS);
}

CASE(init_src_read, ACCEPT, ACCEPT)
SEC("socket") __naked void init_src_read(void)
{
    asm volatile("r2 = 7;"
                 "r0 = r2;"
                 "exit;" ::: CLOBBERS);
}

CASE(uninit_r0_at_exit, REJECT("R0 !read_ok"), REJECT("R0 !read_ok"))
SEC("socket") __naked void uninit_r0_at_exit(void)
{
    asm volatile("exit;" ::: CLOBBERS);
}

CASE(uninit_dst_of_add, REJECT("R3 !read_ok"), REJECT("R3 !read_ok"))
SEC("socket") __naked void uninit_dst_of_add(void)
{
    /* r3 += 1 reads r3 first. */
    asm volatile("r3 += 1;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(uninit_dst_of_mov_is_fine, ACCEPT, ACCEPT)
SEC("socket") __naked void uninit_dst_of_mov_is_fine(void)
{
    /* A move only writes its destination. */
    asm volatile("r3 = 1;"
                 "r0 = r3;"
                 "exit;" ::: CLOBBERS);
}

CASE(uninit_in_one_branch, REJECT("R4 !read_ok"), REJECT("R4 !read_ok"))
SEC("socket") __naked void uninit_in_one_branch(void)
{
    /* r4 is set on one path only; the join reads it. */
    asm volatile("call %[get_prandom_u32];"
                 "if r0 > 10 goto 1f;"
                 "r4 = 1;"
                 "1:"
                 "r0 = r4;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(init_on_both_branches, ACCEPT, ACCEPT)
SEC("socket") __naked void init_on_both_branches(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "r4 = 2;"
                 "if r0 > 10 goto 1f;"
                 "r4 = 1;"
                 "1:"
                 "r0 = r4;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(write_r10, REJECT("frame pointer is read only"), REJECT("frame pointer is read only"))
SEC("socket") __naked void write_r10(void)
{
    asm volatile("r10 = 0;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(add_to_r10, REJECT("frame pointer is read only"), REJECT("frame pointer is read only"))
SEC("socket") __naked void add_to_r10(void)
{
    asm volatile("r10 += -8;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(write_r10_on_dead_path, ACCEPT, ACCEPT)
SEC("socket") __naked void write_r10_on_dead_path(void)
{
    /* The kernel checks the write when its walk reaches it; r0 == 0 always, so it never does. */
    asm volatile("r0 = 0;"
                 "if r0 == 0 goto 1f;"
                 "r10 = 0;"
                 "1:"
                 "exit;" ::: CLOBBERS);
}

CASE(copy_r10_is_fine, ACCEPT, ACCEPT)
SEC("socket") __naked void copy_r10_is_fine(void)
{
    asm volatile("r1 = r10;"
                 "r1 += -8;"
                 "r0 = 0;"
                 "*(u64 *)(r1 + 0) = r0;"
                 "exit;" ::: CLOBBERS);
}

CASE(call_scratches_r1_to_r5, REJECT("R3 !read_ok"), REJECT("R3 !read_ok"))
SEC("socket") __naked void call_scratches_r1_to_r5(void)
{
    asm volatile("r3 = 1;"
                 "call %[get_prandom_u32];"
                 "r0 = r3;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(call_keeps_r6_to_r9, ACCEPT, ACCEPT)
SEC("socket") __naked void call_keeps_r6_to_r9(void)
{
    asm volatile("r6 = 1; r7 = 2; r8 = 3; r9 = 4;"
                 "call %[get_prandom_u32];"
                 "r0 = r6;"
                 "r0 += r7;"
                 "r0 += r8;"
                 "r0 += r9;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(ctx_survives_in_r6, ACCEPT, ACCEPT)
SEC("socket") __naked void ctx_survives_in_r6(void)
{
    asm volatile("r6 = r1;"
                 "call %[get_prandom_u32];"
                 "r0 = *(u32 *)(r6 + %[len]);"
                 "exit;" :: HELPER(get_prandom_u32), CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(ctx_gone_after_call, REJECT("R1 !read_ok"), REJECT("R1 !read_ok"))
SEC("socket") __naked void ctx_gone_after_call(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "r0 = *(u32 *)(r1 + %[len]);"
                 "exit;" :: HELPER(get_prandom_u32), CTX(len, struct __sk_buff, len) : CLOBBERS);
}

/* Loads through each register type. */

CASE(deref_scalar, REJECT("R1 invalid mem access 'scalar'"), REJECT("R1 invalid mem access 'scalar'"))
SEC("socket") __naked void deref_scalar(void)
{
    asm volatile("r1 = 4096;"
                 "r0 = *(u64 *)(r1 + 0);"
                 "exit;" ::: CLOBBERS);
}

CASE(deref_scalar_from_ctx, REJECT("R1 invalid mem access 'scalar'"), REJECT("R1 invalid mem access 'scalar'"))
SEC("socket") __naked void deref_scalar_from_ctx(void)
{
    /* skb->len is a number, not a pointer. */
    asm volatile("r1 = *(u32 *)(r1 + %[len]);"
                 "r0 = *(u8 *)(r1 + 0);"
                 "exit;" :: CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(deref_ctx, ACCEPT, ACCEPT)
SEC("socket") __naked void deref_ctx(void)
{
    asm volatile("r0 = *(u32 *)(r1 + %[mark]);"
                 "exit;" :: CTX(mark, struct __sk_buff, mark) : CLOBBERS);
}

CASE(deref_fp_initialised, ACCEPT, ACCEPT)
SEC("socket") __naked void deref_fp_initialised(void)
{
    asm volatile("r2 = 5;"
                 "*(u64 *)(r10 - 8) = r2;"
                 "r0 = *(u64 *)(r10 - 8);"
                 "exit;" ::: CLOBBERS);
}

CASE(deref_map_value, ACCEPT, ACCEPT)
SEC("socket") __naked void deref_map_value(void)
{
    asm volatile("r1 = 0;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r1 = %[regs_hash] ll;"
                 "call %[map_lookup_elem];"
                 "if r0 == 0 goto 1f;"
                 "r0 = *(u64 *)(r0 + 40);"
                 "1:"
                 "exit;" :: MAP(regs_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(deref_map_value_or_null, REJECT("R0 invalid mem access 'map_value_or_null'"),
     REJECT("R0 invalid mem access 'map_value_or_null'"))
SEC("socket") __naked void deref_map_value_or_null(void)
{
    asm volatile("r1 = 0;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r2 = r10;"
                 "r2 += -8;"
                 "r1 = %[regs_hash] ll;"
                 "call %[map_lookup_elem];"
                 "r0 = *(u64 *)(r0 + 0);"
                 "exit;" :: MAP(regs_hash), HELPER(map_lookup_elem) : CLOBBERS);
}

CASE(store_through_map_ptr, REJECT("only read from bpf_htab is supported"), NONE)
SEC("socket") __naked void store_through_map_ptr(void)
{
    /* A map pointer is not memory the program may write. */
    asm volatile("r1 = %[regs_hash] ll;"
                 "r0 = 0;"
                 "*(u64 *)(r1 + 0) = r0;"
                 "exit;" :: MAP(regs_hash) : CLOBBERS);
}

static __naked __noinline __attribute__((used)) void regs_callback(void)
{
    asm volatile("r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(deref_function_pointer, REJECT("R1 invalid mem access 'func'"), NONE)
SEC("socket") __naked void deref_function_pointer(void)
{
    /* A function's address (for bpf_loop and friends) is not memory. */
    asm volatile("r1 = regs_callback ll;"
                 "r0 = *(u64 *)(r1 + 0);"
                 "exit;" ::: CLOBBERS);
}

CASE(store_function_pointer_on_stack, ACCEPT, NONE)
SEC("socket") __naked void store_function_pointer_on_stack(void)
{
    asm volatile("r1 = regs_callback ll;"
                 "*(u64 *)(r10 - 8) = r1;"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

/* Unprivileged loaders may not turn pointers into numbers they can see. */

CASE(return_stack_pointer, ACCEPT, REJECT("R0 leaks addr as return value"))
SEC("socket") __naked void return_stack_pointer(void)
{
    asm volatile("r0 = r10;"
                 "exit;" ::: CLOBBERS);
}

CASE(return_ctx_pointer, ACCEPT, REJECT("R0 leaks addr as return value"))
SEC("socket") __naked void return_ctx_pointer(void)
{
    asm volatile("r0 = r1;"
                 "exit;" ::: CLOBBERS);
}

CASE(mov32_of_pointer, ACCEPT, REJECT("R10 partial copy of pointer"))
SEC("socket") __naked void mov32_of_pointer(void)
{
    /* Privileged: the low half of the address becomes an unknown scalar. */
    asm volatile("w0 = w10;"
                 "exit;" ::: CLOBBERS);
}

CASE(pointer_becomes_scalar_after_mov32, REJECT("R0 invalid mem access 'scalar'"), REJECT("partial copy of pointer"))
SEC("socket") __naked void pointer_becomes_scalar_after_mov32(void)
{
    asm volatile("w0 = w10;"
                 "r0 = *(u64 *)(r0 - 8);"
                 "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
