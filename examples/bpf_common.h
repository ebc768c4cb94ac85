/* Shared definitions for the bpfvm examples: section and map-declaration macros plus the helper
 * prototypes the examples call. The examples follow the libbpf conventions (section names,
 * BTF-defined maps in ".maps", "license" section) without depending on libbpf's headers: only the
 * kernel's uapi headers (linux-libc-dev) are used.
 *
 * A helper is declared as a pointer whose value is the helper id from linux/bpf.h; clang turns a
 * call through such a constant pointer into `call <id>`.
 */
#ifndef BPFVM_EXAMPLES_BPF_COMMON_H
#define BPFVM_EXAMPLES_BPF_COMMON_H

#include <linux/bpf.h>
#include <linux/types.h>

/* Places a function or variable in an ELF section; the loader derives the program type from it. */
#define SEC(name) __attribute__((section(name), used))

/* BTF-defined map fields: the loader reads the member types from BTF, not the values.
 * __uint(type, N) becomes a pointer to an array of N ints; __type(key, T) a pointer to T. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))

/* Byte order helpers for constants (the examples only run on little-endian hosts). */
#define bpf_htons(x) ((__u16)__builtin_bswap16(x))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16(x))

/* Helpers, numbered as in linux/bpf.h (enum bpf_func_id). */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
                                   __u64 flags) = (void *)BPF_FUNC_map_update_elem;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)BPF_FUNC_trace_printk;
static long (*bpf_tail_call)(void *ctx, void *prog_array, __u32 index) = (void *)BPF_FUNC_tail_call;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)BPF_FUNC_get_current_comm;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)BPF_FUNC_ringbuf_reserve;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)BPF_FUNC_ringbuf_submit;
static long (*bpf_xdp_adjust_head)(struct xdp_md *ctx, int delta) = (void *)BPF_FUNC_xdp_adjust_head;
static void (*bpf_ringbuf_discard)(void *data, __u64 flags) = (void *)BPF_FUNC_ringbuf_discard;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)BPF_FUNC_ringbuf_output;
static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx,
                        __u64 flags) = (void *)BPF_FUNC_loop;

/* Legacy packet access (BPF_LD_ABS/BPF_LD_IND) for socket filters: the offset is relative to the
 * start of the socket buffer's data, the value comes back in host byte order. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

/* bpf_printk("fmt", args...): the format string lives on the stack, as trace_printk requires a
 * pointer to readable memory of known size. */
#define bpf_printk(fmt, ...)                                              \
    ({                                                                    \
        char printk_fmt_[] = fmt;                                         \
        bpf_trace_printk(printk_fmt_, sizeof(printk_fmt_), ##__VA_ARGS__); \
    })

#endif /* BPFVM_EXAMPLES_BPF_COMMON_H */
