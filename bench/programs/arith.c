/* Arithmetic loop: a 64-bit LCG mixed into an accumulator; ctx->len is the iteration count. */
#include "bench_prog.h"

BENCH_PROGRAM(arith) {
    u64 n = ctx->len;
    u64 x = 0x12345678;
    u64 y = 1;
    for (u64 i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        y ^= x >> 29;
        y += (x & 0xff) * 3 + i;
        y = (y << 7) | (y >> 57);
    }
    return x ^ y;
}
