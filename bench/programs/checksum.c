/* Internet checksum (RFC 1071 ones'-complement sum of big-endian 16-bit words) over the packet. */
#include "bench_prog.h"

BENCH_PROGRAM(checksum) {
    if (data + BENCH_LEN > end) return 0;
    u64 sum = 0;
    for (u32 i = 0; i < BENCH_LEN; i += 2) sum += ((u32)data[i] << 8) | data[i + 1];
    /* Three folds bring any sum of 750 words below 0x10000 (a loop would leave the verifier
     * without a bound on its trip count). */
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}
