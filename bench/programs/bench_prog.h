/* Shared by the benchmark programs. Each body is written once over a packet [data, end) of
 * BENCH_LEN bytes and compiled three ways from the same source:
 *
 *   - for BPF (clang -O2 -target bpf) as an XDP program `<name>` in its own object
 *     (build/bench/programs/<name>.bpf.o, with BTF): bench_paths runs it through Object::test_run,
 *     through Executable::run and the direct-call API on Object::runnable_program, and through the
 *     kernel's BPF_PROG_TEST_RUN;
 *   - for BPF with -DBENCH_RAW as a function of a `struct bench_ctx *` in section bench/<name>,
 *     extracted as raw bytecode (<name>.bin) for bench_engines, which runs it on every engine
 *     without the loader (so no maps, globals or real calls);
 *   - natively (clang -O2) as `anchor_native_<name>(data, end)` and `bench_native_<name>(ctx)`, the
 *     rows the engines are held to, and once more with -DBENCH_SCALAR as `anchor_scalar_<name>`
 *     (no vectorisation, no memset/memcpy calls) for bench_paths' native_scalar rows.
 *
 * The bodies are written so that the kernel's verifier accepts them (one bounds check against the
 * end up front, loops with constant trip counts or checks right before variable-offset reads) and
 * contain no `neg` instruction (the kernel of the bench machine crashes on some neg-then-and
 * patterns; the build refuses an object with one). The XDP programs return the low 32 bits of the
 * result (the kernel reports a 32-bit retval). Helper functions must be always_inline: a
 * BPF-to-BPF call would need a relocation the raw section lacks. */
#ifndef BPFVM_BENCH_PROG_H
#define BPFVM_BENCH_PROG_H

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* Packet length every program expects (the bench packet is exactly this long). */
#define BENCH_LEN 1500

#define BENCH_INLINE static inline __attribute__((always_inline))

/* r1 of the raw programs and the argument of bench_native_<name>. */
struct bench_ctx {
    u8* data;
    u64 len;
};

#if defined(__bpf__) && defined(BENCH_RAW)
#define BENCH_PROGRAM(name)                                                                       \
    BENCH_INLINE u64 name##_body(u8* data, u8* end);                                              \
    __attribute__((section("bench/" #name), used)) u64 name(struct bench_ctx* ctx) {            \
        return name##_body(ctx->data, ctx->data + ctx->len);                                     \
    }                                                                                             \
    BENCH_INLINE u64 name##_body(u8* data, u8* end)
#elif defined(__bpf__)
struct xdp_md {
    u32 data;
    u32 data_end;
    u32 data_meta;
    u32 ingress_ifindex;
    u32 rx_queue_index;
    u32 egress_ifindex;
};
#define BENCH_PROGRAM(name)                                                                       \
    BENCH_INLINE u64 name##_body(u8* data, u8* end);                                              \
    __attribute__((section("xdp"), used)) int name(struct xdp_md* ctx) {                        \
        return (u32)name##_body((u8*)(long)ctx->data, (u8*)(long)ctx->data_end);                \
    }                                                                                             \
    char _license[] __attribute__((section("license"), used)) = "GPL";                            \
    BENCH_INLINE u64 name##_body(u8* data, u8* end)
#elif defined(BENCH_SCALAR)
/* Native again, compiled without vectorisation or library calls (-fno-vectorize
 * -fno-slp-vectorize -fno-builtin): scalar code a compiler emits when it may use neither, the
 * fairest native reference for a JIT that emits one scalar instruction per BPF instruction. */
#define BENCH_PROGRAM(name)                                                                       \
    BENCH_INLINE u64 name##_body(u8* data, u8* end);                                              \
    u64 anchor_scalar_##name(u8* data, u8* end) { return name##_body(data, end); }                \
    BENCH_INLINE u64 name##_body(u8* data, u8* end)
#else
#define BENCH_PROGRAM(name)                                                                       \
    BENCH_INLINE u64 name##_body(u8* data, u8* end);                                              \
    u64 anchor_native_##name(u8* data, u8* end) { return name##_body(data, end); }                \
    u64 bench_native_##name(struct bench_ctx* ctx) {                                              \
        return name##_body(ctx->data, ctx->data + ctx->len);                                     \
    }                                                                                             \
    BENCH_INLINE u64 name##_body(u8* data, u8* end)
#endif

#endif
