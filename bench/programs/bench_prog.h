/* Shared by the benchmark programs, which are compiled twice: for BPF (clang -target bpf; the
 * program section is extracted as raw bytecode, so no maps, globals or real calls) and natively
 * into the benchmark executables. r1 / the only argument points at a bench_ctx. */
#ifndef BPFVM_BENCH_PROG_H
#define BPFVM_BENCH_PROG_H

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

struct bench_ctx {
    u8* data;
    u64 len;
};

#if defined(__bpf__)
/* One ELF section per program, named bench/<name>, extracted as raw bytecode. */
#define BENCH_PROGRAM(name) __attribute__((section("bench/" #name), used)) u64 name(struct bench_ctx* ctx)
#else
#define BENCH_PROGRAM(name) u64 bench_native_##name(struct bench_ctx* ctx)
#endif
/* Helper functions must be inlined: a BPF-to-BPF call would need a relocation the raw section lacks. */
#define BENCH_INLINE static inline __attribute__((always_inline))

#endif
