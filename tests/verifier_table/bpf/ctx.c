/* Context accesses per program type: which fields a type may read or write, access sizes and
 * narrow loads, alignment, the end of the structure, pointer fields (packet pointers, sockets),
 * and the rule that the context pointer is dereferenced only at its original value. */
#include "table.h"

/* struct pt_regs as x86-64 lays it out (168 bytes); arm64's user_pt_regs is larger (272), so
 * the offsets here are valid and invalid on both. */
#define PT_REGS_DI 112
#define PT_REGS_FAR 512

/* __sk_buff: socket filters */

CASE(skb_read_len, ACCEPT, ACCEPT)
SEC("socket") __naked void skb_read_len(void)
{
    asm volatile("r0 = *(u32 *)(r1 + %[len]);"
                 "exit;" :: CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(skb_narrow_reads, ACCEPT, ACCEPT)
SEC("socket") __naked void skb_narrow_reads(void)
{
    /* Byte and half-word loads of a u32 field are allowed at any aligned part of it. */
    asm volatile("r2 = *(u8 *)(r1 + %[len]);"
                 "r3 = *(u8 *)(r1 + %[len3]);"
                 "r4 = *(u16 *)(r1 + %[len2]);"
                 "r0 = r2;"
                 "r0 += r3;"
                 "r0 += r4;"
                 "exit;" :: CTX(len, struct __sk_buff, len), IMM(len3, offsetof(struct __sk_buff, len) + 3),
                 IMM(len2, offsetof(struct __sk_buff, len) + 2) : CLOBBERS);
}

CASE(skb_wide_read_of_u32_field, REJECT("invalid bpf_context access off=0 size=8"),
     REJECT("invalid bpf_context access off=0 size=8"))
SEC("socket") __naked void skb_wide_read_of_u32_field(void)
{
    asm volatile("r0 = *(u64 *)(r1 + %[len]);"
                 "exit;" :: CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(skb_misaligned_read, REJECT("invalid bpf_context access off=1 size=2"),
     REJECT("invalid bpf_context access off=1 size=2"))
SEC("socket") __naked void skb_misaligned_read(void)
{
    asm volatile("r0 = *(u16 *)(r1 + 1);"
                 "exit;" ::: CLOBBERS);
}

CASE(skb_read_past_end, REJECT("invalid bpf_context access"), REJECT("invalid bpf_context access"))
SEC("socket") __naked void skb_read_past_end(void)
{
    asm volatile("r0 = *(u32 *)(r1 + %[end]);"
                 "exit;" :: IMM(end, sizeof(struct __sk_buff)) : CLOBBERS);
}

CASE(skb_negative_offset, REJECT("invalid bpf_context access off=-4 size=4"),
     REJECT("invalid bpf_context access off=-4 size=4"))
SEC("socket") __naked void skb_negative_offset(void)
{
    asm volatile("r0 = *(u32 *)(r1 - 4);"
                 "exit;" ::: CLOBBERS);
}

CASE(socket_writes_cb, ACCEPT, ACCEPT)
SEC("socket") __naked void socket_writes_cb(void)
{
    asm volatile("r0 = 0;"
                 "*(u32 *)(r1 + %[cb1]) = r0;"
                 "exit;" :: CTX(cb1, struct __sk_buff, cb[1]) : CLOBBERS);
}

CASE(socket_writes_mark, REJECT("invalid bpf_context access off=8 size=4"),
     REJECT("invalid bpf_context access off=8 size=4"))
SEC("socket") __naked void socket_writes_mark(void)
{
    /* Socket filters may write cb[] only. */
    asm volatile("r0 = 0;"
                 "*(u32 *)(r1 + %[mark]) = r0;"
                 "exit;" :: CTX(mark, struct __sk_buff, mark) : CLOBBERS);
}

CASE(socket_reads_data, REJECT("invalid bpf_context access off=76 size=4"),
     REJECT("invalid bpf_context access off=76 size=4"))
SEC("socket") __naked void socket_reads_data(void)
{
    /* No direct packet access for socket filters. */
    asm volatile("r0 = *(u32 *)(r1 + %[data]);"
                 "exit;" :: CTX(data, struct __sk_buff, data) : CLOBBERS);
}

CASE(socket_stores_pointer_in_cb, ACCEPT, REJECT("R10 leaks addr into ctx"))
SEC("socket") __naked void socket_stores_pointer_in_cb(void)
{
    asm volatile("*(u32 *)(r1 + %[cb0]) = r10;"
                 "r0 = 0;"
                 "exit;" :: CTX(cb0, struct __sk_buff, cb[0]) : CLOBBERS);
}

CASE(modified_ctx_pointer, REJECT("dereference of modified ctx ptr R1 off=4 disallowed"),
     REJECT("dereference of modified ctx ptr R1 off=4 disallowed"))
SEC("socket") __naked void modified_ctx_pointer(void)
{
    /* The field at offset 4 is fine, but only as r1 + 4 with r1 unmodified. */
    asm volatile("r1 += 4;"
                 "r0 = *(u32 *)(r1 + 0);"
                 "exit;" ::: CLOBBERS);
}

CASE(modified_and_restored_ctx_pointer, ACCEPT, ACCEPT)
SEC("socket") __naked void modified_and_restored_ctx_pointer(void)
{
    asm volatile("r1 += 4;"
                 "r1 += -4;"
                 "r0 = *(u32 *)(r1 + 4);"
                 "exit;" ::: CLOBBERS);
}

CASE(variable_ctx_offset, REJECT("variable ctx access var_off="), NONE)
SEC("socket") __naked void variable_ctx_offset(void)
{
    asm volatile("r6 = r1;"
                 RANDOM_R7
                 "r7 &= 4;"
                 "r6 += r7;"
                 "r0 = *(u32 *)(r6 + 0);"
                 "exit;" :: HELPER(get_prandom_u32) : CLOBBERS);
}

/* xdp_md */

CASE(xdp_reads_fields, ACCEPT, NONE)
SEC("xdp") __naked void xdp_reads_fields(void)
{
    asm volatile("r2 = *(u32 *)(r1 + %[ifindex]);"
                 "r3 = *(u32 *)(r1 + %[queue]);"
                 "r0 = 2;"
                 "exit;" :: CTX(ifindex, struct xdp_md, ingress_ifindex),
                 CTX(queue, struct xdp_md, rx_queue_index) : CLOBBERS);
}

CASE(xdp_narrow_read, REJECT("invalid bpf_context access off=12 size=2"), NONE)
SEC("xdp") __naked void xdp_narrow_read(void)
{
    /* xdp_md fields are read whole. */
    asm volatile("r0 = *(u16 *)(r1 + %[ifindex]);"
                 "exit;" :: CTX(ifindex, struct xdp_md, ingress_ifindex) : CLOBBERS);
}

CASE(xdp_writes_ctx, REJECT("invalid bpf_context access off=12 size=4"), NONE)
SEC("xdp") __naked void xdp_writes_ctx(void)
{
    asm volatile("r0 = 0;"
                 "*(u32 *)(r1 + %[ifindex]) = r0;"
                 "r0 = 2;"
                 "exit;" :: CTX(ifindex, struct xdp_md, ingress_ifindex) : CLOBBERS);
}

CASE(xdp_read_past_end, REJECT("invalid bpf_context access"), NONE)
SEC("xdp") __naked void xdp_read_past_end(void)
{
    asm volatile("r0 = *(u32 *)(r1 + %[end]);"
                 "exit;" :: IMM(end, sizeof(struct xdp_md) + 4) : CLOBBERS);
}

/* __sk_buff: tc classifiers */

CASE(tc_writes_mark_and_priority, ACCEPT, NONE)
SEC("tc") __naked void tc_writes_mark_and_priority(void)
{
    asm volatile("r0 = 1;"
                 "*(u32 *)(r1 + %[mark]) = r0;"
                 "*(u32 *)(r1 + %[priority]) = r0;"
                 "*(u32 *)(r1 + %[classid]) = r0;"
                 "r0 = 0;"
                 "exit;" :: CTX(mark, struct __sk_buff, mark), CTX(priority, struct __sk_buff, priority),
                 CTX(classid, struct __sk_buff, tc_classid) : CLOBBERS);
}

CASE(tc_writes_len, REJECT("invalid bpf_context access off=0 size=4"), NONE)
SEC("tc") __naked void tc_writes_len(void)
{
    asm volatile("r0 = 1;"
                 "*(u32 *)(r1 + %[len]) = r0;"
                 "r0 = 0;"
                 "exit;" :: CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(tc_narrow_write_of_mark, REJECT("invalid bpf_context access off=8 size=2"), NONE)
SEC("tc") __naked void tc_narrow_write_of_mark(void)
{
    /* Narrow loads are allowed, narrow stores are not. */
    asm volatile("r0 = 1;"
                 "*(u16 *)(r1 + %[mark]) = r0;"
                 "r0 = 0;"
                 "exit;" :: CTX(mark, struct __sk_buff, mark) : CLOBBERS);
}

CASE(tc_narrow_read_of_data, REJECT("invalid bpf_context access off=76 size=2"), NONE)
SEC("tc") __naked void tc_narrow_read_of_data(void)
{
    asm volatile("r0 = *(u16 *)(r1 + %[data]);"
                 "r0 = 0;"
                 "exit;" :: CTX(data, struct __sk_buff, data) : CLOBBERS);
}

CASE(tc_socket_pointer_needs_null_check, REJECT("R2 invalid mem access 'sock_common_or_null'"), NONE)
SEC("tc") __naked void tc_socket_pointer_needs_null_check(void)
{
    asm volatile("r2 = *(u64 *)(r1 + %[sk]);"
                 "r0 = *(u32 *)(r2 + %[family]);"
                 "r0 = 0;"
                 "exit;" :: CTX(sk, struct __sk_buff, sk), CTX(family, struct bpf_sock, family) : CLOBBERS);
}

CASE(tc_socket_pointer_checked, ACCEPT, NONE)
SEC("tc") __naked void tc_socket_pointer_checked(void)
{
    asm volatile("r2 = *(u64 *)(r1 + %[sk]);"
                 "r0 = 0;"
                 "if r2 == 0 goto 1f;"
                 "r0 = *(u32 *)(r2 + %[family]);"
                 "1:"
                 "r0 = 0;"
                 "exit;" :: CTX(sk, struct __sk_buff, sk), CTX(family, struct bpf_sock, family) : CLOBBERS);
}

CASE(tc_socket_field_write, REJECT("cannot write into sock"), NONE)
SEC("tc") __naked void tc_socket_field_write(void)
{
    asm volatile("r2 = *(u64 *)(r1 + %[sk]);"
                 "r0 = 0;"
                 "if r2 == 0 goto 1f;"
                 "*(u32 *)(r2 + %[family]) = r0;"
                 "1:"
                 "exit;" :: CTX(sk, struct __sk_buff, sk), CTX(family, struct bpf_sock, family) : CLOBBERS);
}

/* __sk_buff: cgroup skb programs (allowed to unprivileged loaders) */

CASE(cgroup_skb_reads_len, ACCEPT, ACCEPT)
SEC("cgroup_skb/ingress") __naked void cgroup_skb_reads_len(void)
{
    asm volatile("r0 = *(u32 *)(r1 + %[len]);"
                 "r0 = 1;"
                 "exit;" :: CTX(len, struct __sk_buff, len) : CLOBBERS);
}

CASE(cgroup_skb_reads_data, ACCEPT, REJECT("invalid bpf_context access off=76 size=4"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_reads_data(void)
{
    /* Direct packet access needs CAP_BPF. */
    asm volatile("r2 = *(u32 *)(r1 + %[data]);"
                 "r0 = 1;"
                 "exit;" :: CTX(data, struct __sk_buff, data) : CLOBBERS);
}

CASE(cgroup_skb_writes_tc_index, REJECT("invalid bpf_context access"), REJECT("invalid bpf_context access"))
SEC("cgroup_skb/ingress") __naked void cgroup_skb_writes_tc_index(void)
{
    asm volatile("r0 = 1;"
                 "*(u32 *)(r1 + %[tc_index]) = r0;"
                 "exit;" :: CTX(tc_index, struct __sk_buff, tc_index) : CLOBBERS);
}

/* pt_regs: kprobes read it, never write it */

CASE(kprobe_reads_register, ACCEPT, NONE)
SEC("kprobe/do_nanosleep") __naked void kprobe_reads_register(void)
{
    asm volatile("r0 = *(u64 *)(r1 + %[di]);"
                 "r0 = 0;"
                 "exit;" :: IMM(di, PT_REGS_DI) : CLOBBERS);
}

CASE(kprobe_writes_register, REJECT("invalid bpf_context access off=112 size=8"), NONE)
SEC("kprobe/do_nanosleep") __naked void kprobe_writes_register(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r1 + %[di]) = r0;"
                 "exit;" :: IMM(di, PT_REGS_DI) : CLOBBERS);
}

CASE(kprobe_reads_past_regs, REJECT("invalid bpf_context access off=512 size=8"), NONE)
SEC("kprobe/do_nanosleep") __naked void kprobe_reads_past_regs(void)
{
    asm volatile("r0 = *(u64 *)(r1 + %[far]);"
                 "r0 = 0;"
                 "exit;" :: IMM(far, PT_REGS_FAR) : CLOBBERS);
}

/* Tracepoint records: read-only, and the first 8 bytes (common fields) are off limits. */

CASE(tracepoint_reads_args, ACCEPT, NONE)
SEC("tracepoint/syscalls/sys_enter_nanosleep") __naked void tracepoint_reads_args(void)
{
    asm volatile("r0 = *(u64 *)(r1 + 16);"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(tracepoint_reads_common_fields, REJECT("invalid bpf_context access off=0 size=8"), NONE)
SEC("tracepoint/syscalls/sys_enter_nanosleep") __naked void tracepoint_reads_common_fields(void)
{
    asm volatile("r0 = *(u64 *)(r1 + 0);"
                 "r0 = 0;"
                 "exit;" ::: CLOBBERS);
}

CASE(tracepoint_writes_record, REJECT("invalid bpf_context access off=16 size=8"), NONE)
SEC("tracepoint/syscalls/sys_enter_nanosleep") __naked void tracepoint_writes_record(void)
{
    asm volatile("r0 = 0;"
                 "*(u64 *)(r1 + 16) = r0;"
                 "exit;" ::: CLOBBERS);
}

/* bpf_sock_ops */

CASE(sockops_reads_family_writes_reply, ACCEPT, NONE)
SEC("sockops") __naked void sockops_reads_family_writes_reply(void)
{
    asm volatile("r2 = *(u32 *)(r1 + %[family]);"
                 "*(u32 *)(r1 + %[reply]) = r2;"
                 "r0 = 1;"
                 "exit;" :: CTX(family, struct bpf_sock_ops, family), CTX(reply, struct bpf_sock_ops, reply)
                 : CLOBBERS);
}

CASE(sockops_writes_family, REJECT("invalid bpf_context access"), NONE)
SEC("sockops") __naked void sockops_writes_family(void)
{
    asm volatile("r2 = 0;"
                 "*(u32 *)(r1 + %[family]) = r2;"
                 "r0 = 1;"
                 "exit;" :: CTX(family, struct bpf_sock_ops, family) : CLOBBERS);
}

/* bpf_sock: socket creation hooks may set a few fields */

CASE(sock_create_writes_mark, ACCEPT, NONE)
SEC("cgroup/sock_create") __naked void sock_create_writes_mark(void)
{
    asm volatile("r2 = *(u32 *)(r1 + %[family]);"
                 "*(u32 *)(r1 + %[mark]) = r2;"
                 "r0 = 1;"
                 "exit;" :: CTX(family, struct bpf_sock, family), CTX(mark, struct bpf_sock, mark) : CLOBBERS);
}

CASE(sock_create_writes_family, REJECT("invalid bpf_context access"), NONE)
SEC("cgroup/sock_create") __naked void sock_create_writes_family(void)
{
    asm volatile("r2 = 0;"
                 "*(u32 *)(r1 + %[family]) = r2;"
                 "r0 = 1;"
                 "exit;" :: CTX(family, struct bpf_sock, family) : CLOBBERS);
}

/* bpf_sock_addr: connect hooks may rewrite the destination */

CASE(connect4_rewrites_port, ACCEPT, NONE)
SEC("cgroup/connect4") __naked void connect4_rewrites_port(void)
{
    asm volatile("r2 = 0x5000;"
                 "*(u32 *)(r1 + %[port]) = r2;"
                 "r0 = 1;"
                 "exit;" :: CTX(port, struct bpf_sock_addr, user_port) : CLOBBERS);
}

CASE(connect4_writes_family, REJECT("invalid bpf_context access"), NONE)
SEC("cgroup/connect4") __naked void connect4_writes_family(void)
{
    asm volatile("r2 = 0;"
                 "*(u32 *)(r1 + %[family]) = r2;"
                 "r0 = 1;"
                 "exit;" :: CTX(family, struct bpf_sock_addr, family) : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
