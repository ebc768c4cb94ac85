/* CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320) over the packet, bit by bit: eight
 * shift/xor steps per byte. The conditional xor is a multiply by the low bit rather than the
 * usual `-(crc & 1)` mask, which would compile to a `neg` (see bench_prog.h). */
#include "bench_prog.h"

BENCH_PROGRAM(crc32) {
    if (data + BENCH_LEN > end) return 0;
    u32 crc = 0xffffffff;
    for (u32 i = 0; i < BENCH_LEN; i++) {
        crc ^= data[i];
        for (u32 k = 0; k < 8; k++) crc = (crc >> 1) ^ ((crc & 1) * 0xedb88320u);
    }
    return ~crc;
}
