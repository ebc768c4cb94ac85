/* Sieve of Eratosthenes over the (writable) buffer: counts the primes below ctx->len. */
#include "bench_prog.h"

BENCH_PROGRAM(sieve) {
    u8* flag = ctx->data;
    u64 n = ctx->len;
    for (u64 i = 0; i < n; i++) flag[i] = 1;
    u64 count = 0;
    for (u64 i = 2; i < n; i++) {
        if (!flag[i]) continue;
        count++;
        for (u64 j = i * i; j < n; j += i) flag[j] = 0;
    }
    return count;
}
