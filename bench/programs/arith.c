/* Arithmetic loop: 1000 steps of a 64-bit LCG mixed into an accumulator, seeded from the first
 * packet byte (registers only: no memory traffic in the loop). */
#include "bench_prog.h"

BENCH_PROGRAM(arith) {
    if (data + BENCH_LEN > end) return 0;
    u64 x = 0x12345678 + data[0];
    u64 y = 1;
    for (u64 i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        y ^= x >> 29;
        y += (x & 0xff) * 3 + i;
        y = (y << 7) | (y >> 57);
    }
    return (x ^ y) ^ ((x ^ y) >> 32);
}
