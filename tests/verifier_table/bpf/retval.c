/* r0 at exit: the range each program type may return (cgroup hooks 0 or 1, some 1 only, cgroup
 * skb egress up to 3, sk_lookup and netfilter verdicts), checked on every path, and types that
 * take any number. */
#include "table.h"

#define RANDOM_R0_AND(mask) "call %[get_prandom_u32]; r0 &= " #mask ";"

CASE(cgroup_skb_returns_one, ACCEPT, ACCEPT)
SEC("cgroup_skb/ingress") __naked void cgroup_skb_returns_one(void)
{
    asm volatile("r0 = 1;"
                 "exit;" ::: CLOBBERS);
}

CASE(cgroup_skb_returns_two, REJECT("should have been in [0, 1]"), REJECT("should have been in [0, 1]"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_returns_two(void)
{
    asm volatile("r0 = 2;"
                 "exit;" ::: CLOBBERS);
}

CASE(cgroup_skb_returns_bit, ACCEPT, ACCEPT)
SEC("cgroup_skb/ingress") __naked void cgroup_skb_returns_bit(void)
{
    asm volatile(RANDOM_R0_AND(1)
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(cgroup_skb_returns_two_bits, REJECT("should have been in [0, 1]"), REJECT("should have been in [0, 1]"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_returns_two_bits(void)
{
    asm volatile(RANDOM_R0_AND(3)
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(cgroup_skb_bad_value_on_one_path, REJECT("should have been in [0, 1]"), REJECT("should have been in [0, 1]"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_bad_value_on_one_path(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "if r0 > 7 goto 1f;"
                 "r0 = 1;"
                 "exit;"
                 "1: r0 = 5;"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(cgroup_skb_returns_pointer, REJECT("At program exit the register R0 is not a known value"),
     REJECT("R0 leaks addr as return value"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_returns_pointer(void)
{
    asm volatile("r0 = r1;"
                 "exit;" ::: CLOBBERS);
}

CASE(cgroup_skb_egress_returns_three, ACCEPT, ACCEPT)
SEC("cgroup_skb/egress") __naked void cgroup_skb_egress_returns_three(void)
{
    /* Egress may also ask for congestion notification (bit 1). */
    asm volatile("r0 = 3;"
                 "exit;" ::: CLOBBERS);
}

CASE(cgroup_skb_egress_returns_four, REJECT("should have been in [0, 3]"), REJECT("should have been in [0, 3]"))
SEC("cgroup_skb/egress") __naked void cgroup_skb_egress_returns_four(void)
{
    asm volatile("r0 = 4;"
                 "exit;" ::: CLOBBERS);
}

CASE(sock_create_returns_two, REJECT("should have been in [0, 1]"), NONE)
SEC("cgroup/sock_create") __naked void sock_create_returns_two(void)
{
    asm volatile("r0 = 2;"
                 "exit;" ::: CLOBBERS);
}

CASE(connect4_returns_zero, ACCEPT, NONE)
SEC("cgroup/connect4") __naked void connect4_returns_zero(void)
{
    asm volatile("r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(recvmsg4_returns_zero, REJECT("should have been in [1, 1]"), NONE)
SEC("cgroup/recvmsg4") __naked void recvmsg4_returns_zero(void)
{
    /* recvmsg hooks cannot refuse: 1 is the only answer. */
    asm volatile("r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(recvmsg4_returns_one, ACCEPT, NONE)
SEC("cgroup/recvmsg4") __naked void recvmsg4_returns_one(void)
{
    asm volatile("r0 = 1;"
                 "exit;" ::: CLOBBERS);
}

CASE(sysctl_returns_unknown, REJECT("should have been in [0, 1]"), NONE)
SEC("cgroup/sysctl") __naked void sysctl_returns_unknown(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

CASE(sk_lookup_returns_pass, ACCEPT, NONE)
SEC("sk_lookup") __naked void sk_lookup_returns_pass(void)
{
    asm volatile("r0 = 1;"
                 "exit;" ::: CLOBBERS);
}

CASE(sk_lookup_returns_two, REJECT("should have been in [0, 1]"), NONE)
SEC("sk_lookup") __naked void sk_lookup_returns_two(void)
{
    asm volatile("r0 = 2;"
                 "exit;" ::: CLOBBERS);
}

CASE(netfilter_returns_accept, ACCEPT, NONE)
SEC("netfilter") __naked void netfilter_returns_accept(void)
{
    asm volatile("r0 = 1;"
                 "exit;" ::: CLOBBERS);
}

CASE(netfilter_returns_queue, REJECT("should have been in [0, 1]"), NONE)
SEC("netfilter") __naked void netfilter_returns_queue(void)
{
    /* NF_QUEUE (3) is not a verdict a BPF hook may give. */
    asm volatile("r0 = 3;"
                 "exit;" ::: CLOBBERS);
}

CASE(xdp_returns_any_number, ACCEPT, NONE)
SEC("xdp") __naked void xdp_returns_any_number(void)
{
    /* Unknown XDP actions are handled at run time (as aborted). */
    asm volatile("r0 = 100;"
                 "exit;" ::: CLOBBERS);
}

CASE(kprobe_returns_negative, ACCEPT, NONE)
SEC("kprobe/do_nanosleep") __naked void kprobe_returns_negative(void)
{
    asm volatile("r0 = -1;"
                 "exit;" ::: CLOBBERS);
}

CASE(socket_returns_unknown, ACCEPT, ACCEPT)
SEC("socket") __naked void socket_returns_unknown(void)
{
    asm volatile("call %[get_prandom_u32];"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
