/* Sieve of Eratosthenes over the packet bytes (XDP packets are writable): counts the primes below
 * BENCH_LEN. Every run rewrites the whole packet first, so repeated runs on the same buffer (as
 * the kernel's test-run does) all compute the same count. */
#include "bench_prog.h"

BENCH_PROGRAM(sieve) {
    if (data + BENCH_LEN > end) return 0;
    for (u32 i = 0; i < BENCH_LEN; i++) data[i] = 1;
    u32 count = 0;
    for (u32 i = 2; i < BENCH_LEN; i++) {
        if (!data[i]) continue;
        count++;
        for (u32 j = i * i; j < BENCH_LEN; j += i) data[j] = 0;
    }
    return count;
}
