/* Ethernet (optional 802.1Q tag) / IPv4 / TCP header parser: IPv4 header checksum verification,
 * a walk over the TCP options (MSS, window scale) and a flow hash. Bounds are checked against the
 * end of the packet the way the kernel's verifier can follow. Returns a small code for rejected
 * packets, else the hash. */
#include "bench_prog.h"

BENCH_INLINE u32 be16(const u8* p) { return ((u32)p[0] << 8) | p[1]; }
BENCH_INLINE u32 be32(const u8* p) { return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]; }

BENCH_PROGRAM(parse) {
    if (data + 14 > end) return 1;
    u32 eth_type = be16(data + 12);
    u8* l3 = data + 14;
    if (eth_type == 0x8100) {
        if (l3 + 4 > end) return 1;
        eth_type = be16(l3 + 2);
        l3 += 4;
    }
    if (eth_type != 0x0800) return 2;
    if (l3 + 60 > end) return 1;
    if ((l3[0] >> 4) != 4) return 3;
    u32 ihl = (u32)(l3[0] & 0xf) * 4;
    if (ihl < 20) return 3;
    u32 sum = 0;
    for (u32 i = 0; i < 60 && i < ihl; i += 2) sum += be16(l3 + i);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    if (sum != 0xffff) return 4;
    if (l3[9] != 6) return 5;
    u32 saddr = be32(l3 + 12);
    u32 daddr = be32(l3 + 16);
    u8* l4 = l3 + ihl;
    if (l4 + 20 > end) return 1;
    u32 sport = be16(l4);
    u32 dport = be16(l4 + 2);
    u32 doff = (u32)(l4[12] >> 4) * 4;
    u32 flags = l4[13];
    if (doff < 20) return 6;
    u32 mss = 0;
    u32 wscale = 0;
    /* Options: a pointer at a variable offset, so every read is checked against the end of the
     * packet right before it (the verifier forgets the range of a pointer moved by a variable). */
    u8* opt = l4 + 20;
    u8* opt_end = l4 + doff;
    for (int i = 0; i < 8 && opt < opt_end; i++) {
        if (opt + 1 > end) break;
        u32 kind = opt[0];
        if (kind == 0) break;
        if (kind == 1) {
            opt++;
            continue;
        }
        if (opt + 2 > opt_end || opt + 4 > end) break;
        u32 olen = opt[1];
        if (olen < 2 || opt + olen > opt_end) break;
        if (kind == 2 && olen == 4) mss = be16(opt + 2);
        if (kind == 3 && olen == 3) wscale = opt[2];
        opt += olen;
    }
    u64 h = (u64)saddr * 0x9e3779b97f4a7c15ull;
    h ^= ((u64)daddr << 32 | (sport << 16) | dport) * 0xc2b2ae3d27d4eb4full;
    h ^= h >> 31;
    return (h ^ ((u64)mss << 8) ^ ((u64)wscale << 40) ^ flags) | 0x100;
}
