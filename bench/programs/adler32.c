/* Adler-32 (RFC 1950) over the packet, reduced modulo 65521 after every byte: a modulo by a
 * constant inside the loop, which optimising compilers turn into a multiply by the reciprocal. */
#include "bench_prog.h"

BENCH_PROGRAM(adler32) {
    if (data + BENCH_LEN > end) return 0;
    u32 a = 1;
    u32 b = 0;
    for (u32 i = 0; i < BENCH_LEN; i++) {
        a = (a + data[i]) % 65521;
        b = (b + a) % 65521;
    }
    return (b << 16) | a;
}
