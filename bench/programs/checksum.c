/* Internet checksum (RFC 1071 ones'-complement sum of big-endian 16-bit words) over the buffer. */
#include "bench_prog.h"

BENCH_PROGRAM(checksum) {
    const u8* p = ctx->data;
    u64 len = ctx->len;
    u64 sum = 0;
    u64 i = 0;
    for (; i + 1 < len; i += 2) sum += ((u32)p[i] << 8) | p[i + 1];
    if (len & 1) sum += (u32)p[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}
