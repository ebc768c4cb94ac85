/* Acquired references: ring buffer records and socket lookups must be released on every path
 * (submit or discard, sk_release), only once, and used only after their null check and within
 * their size; spin locks must be unlocked on every path, with no helper calls in between. */
#include "table.h"

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} refs_ringbuf SEC(".maps");

struct lock_val {
    struct bpf_spin_lock lock;
    int data;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, int);
    __type(value, struct lock_val);
} refs_locks SEC(".maps");

/* r6 = bpf_ringbuf_reserve(&refs_ringbuf, 16, 0); exit when null (label 9) */
#define RESERVE16 "r1 = %[refs_ringbuf] ll; r2 = 16; r3 = 0; call %[ringbuf_reserve]; r6 = r0;"
#define RESERVE16_CHECKED RESERVE16 "if r6 == 0 goto 9f;"
#define SUBMIT_R6 "r1 = r6; r2 = 0; call %[ringbuf_submit];"
#define DISCARD_R6 "r1 = r6; r2 = 0; call %[ringbuf_discard];"
#define RB_OPS MAP(refs_ringbuf), HELPER(ringbuf_reserve), HELPER(ringbuf_submit), HELPER(ringbuf_discard)

CASE(reserve_and_submit, ACCEPT, ACCEPT)
SEC("socket") __naked void reserve_and_submit(void)
{
    asm volatile(RESERVE16_CHECKED
                 "r1 = 7;"
                 "*(u64 *)(r6 + 8) = r1;"
                 SUBMIT_R6
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(reserve_without_null_check, REJECT("R1 type=ringbuf_mem_or_null expected=ringbuf_mem"),
     REJECT("R1 type=ringbuf_mem_or_null expected=ringbuf_mem"))
SEC("socket") __naked void reserve_without_null_check(void)
{
    asm volatile(RESERVE16
                 SUBMIT_R6
                 "r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(write_without_null_check, REJECT("R6 invalid mem access 'ringbuf_mem_or_null'"),
     REJECT("R6 invalid mem access 'ringbuf_mem_or_null'"))
SEC("socket") __naked void write_without_null_check(void)
{
    asm volatile(RESERVE16
                 "r1 = 7;"
                 "*(u64 *)(r6 + 0) = r1;"
                 "r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(reserve_never_released, REJECT("Unreleased reference"), REJECT("Unreleased reference"))
SEC("socket") __naked void reserve_never_released(void)
{
    asm volatile(RESERVE16_CHECKED
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(released_on_one_path_only, REJECT("Unreleased reference"), REJECT("Unreleased reference"))
SEC("socket") __naked void released_on_one_path_only(void)
{
    asm volatile(RESERVE16_CHECKED
                 "call %[get_prandom_u32];"
                 "if r0 > 5 goto 9f;"
                 SUBMIT_R6
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(submit_or_discard_by_branch, ACCEPT, ACCEPT)
SEC("socket") __naked void submit_or_discard_by_branch(void)
{
    asm volatile(RESERVE16_CHECKED
                 "call %[get_prandom_u32];"
                 "if r0 > 5 goto 1f;"
                 SUBMIT_R6
                 "goto 9f;"
                 "1:"
                 DISCARD_R6
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(submit_twice, REJECT("expected=ringbuf_mem"), NONE)
SEC("socket") __naked void submit_twice(void)
{
    /* After the submit every copy of the record pointer is invalid. */
    asm volatile(RESERVE16_CHECKED
                 SUBMIT_R6
                 SUBMIT_R6
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(write_after_submit, REJECT("R6 invalid mem access 'scalar'"), NONE)
SEC("socket") __naked void write_after_submit(void)
{
    asm volatile(RESERVE16_CHECKED
                 SUBMIT_R6
                 "r1 = 0;"
                 "*(u64 *)(r6 + 0) = r1;"
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(write_past_record, REJECT("invalid access to memory, mem_size=16 off=16 size=8"),
     REJECT("invalid access to memory, mem_size=16 off=16 size=8"))
SEC("socket") __naked void write_past_record(void)
{
    asm volatile(RESERVE16_CHECKED
                 "r1 = 0;"
                 "*(u64 *)(r6 + 16) = r1;"
                 SUBMIT_R6
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(reserve_variable_size, REJECT("R2 is not a known constant"), REJECT("R2 is not a known constant"))
SEC("socket") __naked void reserve_variable_size(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "r2 = r0;"
                 "r2 &= 15;"
                 "r1 = %[refs_ringbuf] ll;"
                 "r3 = 0;"
                 "call %[ringbuf_reserve];"
                 "r6 = r0;"
                 "if r6 == 0 goto 9f;"
                 SUBMIT_R6
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(record_kept_in_stack, ACCEPT, ACCEPT)
SEC("socket") __naked void record_kept_in_stack(void)
{
    /* The reference follows its pointer through a spill and fill. */
    asm volatile(RESERVE16_CHECKED
                 "*(u64 *)(r10 - 8) = r6;"
                 "r6 = 0;"
                 "r6 = *(u64 *)(r10 - 8);"
                 SUBMIT_R6
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

CASE(submit_pointer_into_record, REJECT("R1 must have zero offset when passed to release func"), NONE)
SEC("socket") __naked void submit_pointer_into_record(void)
{
    asm volatile(RESERVE16_CHECKED
                 "r1 = r6;"
                 "r1 += 8;"
                 "r2 = 0;"
                 "call %[ringbuf_submit];"
                 "9: r0 = 0;"
                 "exit;" :: RB_OPS : CLOBBERS);
}

/* Socket lookups (tc) */

#define SK_LOOKUP "r6 = r1; r2 = r10; r2 += -16; r1 = 0; *(u64 *)(r10 - 16) = r1; *(u64 *)(r10 - 8) = r1; " \
                  "r1 = r6; r3 = 12; r4 = -1; r5 = 0; call %[sk_lookup_tcp];"
#define SK_OPS HELPER(sk_lookup_tcp), HELPER(sk_release)

CASE(sk_lookup_and_release, ACCEPT, NONE)
SEC("tc") __naked void sk_lookup_and_release(void)
{
    asm volatile(SK_LOOKUP
                 "if r0 == 0 goto 1f;"
                 "r1 = r0;"
                 "call %[sk_release];"
                 "1: r0 = 0;"
                 "exit;" :: SK_OPS : CLOBBERS);
}

CASE(sk_lookup_leaked, REJECT("Unreleased reference"), NONE)
SEC("tc") __naked void sk_lookup_leaked(void)
{
    asm volatile(SK_LOOKUP
                 "r0 = 0;"
                 "exit;" :: SK_OPS : CLOBBERS);
}

CASE(sk_lookup_leaked_when_not_null, REJECT("Unreleased reference"), NONE)
SEC("tc") __naked void sk_lookup_leaked_when_not_null(void)
{
    /* Null needs no release; the socket does. */
    asm volatile(SK_LOOKUP
                 "if r0 != 0 goto 1f;"
                 "exit;"
                 "1: r0 = *(u32 *)(r0 + %[family]);"
                 "r0 = 0;"
                 "exit;" :: SK_OPS, CTX(family, struct bpf_sock, family) : CLOBBERS);
}

CASE(sk_release_unchecked, REJECT("type=sock_or_null expected=sock"), NONE)
SEC("tc") __naked void sk_release_unchecked(void)
{
    asm volatile(SK_LOOKUP
                 "r1 = r0;"
                 "call %[sk_release];"
                 "r0 = 0;"
                 "exit;" :: SK_OPS : CLOBBERS);
}

CASE(sk_field_read_unchecked, REJECT("R0 invalid mem access 'sock_or_null'"), NONE)
SEC("tc") __naked void sk_field_read_unchecked(void)
{
    asm volatile(SK_LOOKUP
                 "r7 = r0;"
                 "r0 = *(u32 *)(r0 + %[family]);"
                 "r1 = r7;"
                 "call %[sk_release];"
                 "r0 = 0;"
                 "exit;" :: SK_OPS, CTX(family, struct bpf_sock, family) : CLOBBERS);
}

CASE(sk_release_of_ctx_socket, REJECT("R1 must be referenced when passed to release function"), NONE)
SEC("tc") __naked void sk_release_of_ctx_socket(void)
{
    /* skb->sk was not acquired by this program: it may not release it. */
    asm volatile("r1 = *(u64 *)(r1 + %[sk]);"
                 "if r1 == 0 goto 1f;"
                 "call %[sk_release];"
                 "1: r0 = 0;"
                 "exit;" :: SK_OPS, CTX(sk, struct __sk_buff, sk) : CLOBBERS);
}

/* Spin locks (the map value's struct bpf_spin_lock at offset 0) */

#define LOCK_R6 "r1 = r6; call %[spin_lock];"
#define UNLOCK_R6 "r1 = r6; call %[spin_unlock];"
#define LOCK_OPS MAP(refs_locks), HELPER(map_lookup_elem), HELPER(spin_lock), HELPER(spin_unlock)

CASE(lock_and_unlock, ACCEPT, NONE)
SEC("tc") __naked void lock_and_unlock(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 LOCK_R6
                 "r1 = *(u32 *)(r6 + 4);"
                 "r1 += 1;"
                 "*(u32 *)(r6 + 4) = r1;"
                 UNLOCK_R6
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS : CLOBBERS);
}

CASE(lock_held_at_exit, REJECT("bpf_spin_lock-ed region"), NONE)
SEC("tc") __naked void lock_held_at_exit(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 LOCK_R6
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS : CLOBBERS);
}

CASE(unlock_on_one_path_only, REJECT("bpf_spin_lock-ed region"), NONE)
SEC("tc") __naked void unlock_on_one_path_only(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 LOCK_R6
                 "r1 = *(u32 *)(r6 + 4);"
                 "if r1 > 5 goto 9f;"
                 UNLOCK_R6
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS : CLOBBERS);
}

CASE(helper_call_under_lock, REJECT("function calls are not allowed while holding a lock"), NONE)
SEC("tc") __naked void helper_call_under_lock(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 LOCK_R6
                 "call %[get_prandom_u32];"
                 UNLOCK_R6
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS, HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(unlock_without_lock, REJECT("bpf_spin_unlock without taking a lock"), NONE)
SEC("tc") __naked void unlock_without_lock(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 UNLOCK_R6
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS : CLOBBERS);
}

CASE(lock_twice, REJECT("function calls are not allowed while holding a lock"), NONE)
SEC("tc") __naked void lock_twice(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 LOCK_R6
                 LOCK_R6
                 UNLOCK_R6
                 UNLOCK_R6
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS : CLOBBERS);
}

CASE(lock_word_read_directly, REJECT("bpf_spin_lock cannot be accessed directly by load/store"), NONE)
SEC("tc") __naked void lock_word_read_directly(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 "r0 = *(u32 *)(r6 + 0);"
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS : CLOBBERS);
}

CASE(lock_at_wrong_offset, REJECT("doesn't point to 'struct bpf_spin_lock'"), NONE)
SEC("tc") __naked void lock_at_wrong_offset(void)
{
    asm volatile(VALUE_R6(refs_locks)
                 "r1 = r6;"
                 "r1 += 4;"
                 "call %[spin_lock];"
                 "9: r0 = 0;"
                 "exit;" :: LOCK_OPS : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
