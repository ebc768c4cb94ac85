// Pure instruction semantics (RFC 9669 section 4), constexpr, shared by the interpreter, the JITs'
// constant folding, the verifier and the test oracles. Every function here is total: no input traps.
#pragma once

#include <cstdint>
#include <limits>

namespace bpfvm::sem {

constexpr uint64_t zext32(uint64_t v) { return v & 0xffffffffull; }
constexpr int64_t sext(uint64_t v, unsigned bits) {
    const unsigned shift = 64 - bits;
    return static_cast<int64_t>(v << shift) >> shift;
}

// Unsigned division and modulo: x / 0 = 0, x % 0 = x (RFC 9669 4.1).
constexpr uint64_t udiv64(uint64_t a, uint64_t b) { return b ? a / b : 0; }
constexpr uint64_t umod64(uint64_t a, uint64_t b) { return b ? a % b : a; }
constexpr uint32_t udiv32(uint32_t a, uint32_t b) { return b ? a / b : 0; }
constexpr uint32_t umod32(uint32_t a, uint32_t b) { return b ? a % b : a; }

// Signed division and modulo: x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0.
// Modulo truncates toward zero, so the result has the sign of the dividend.
constexpr int64_t sdiv64(int64_t a, int64_t b) {
    if (b == 0) return 0;
    if (b == -1) return static_cast<int64_t>(0 - static_cast<uint64_t>(a));
    return a / b;
}
constexpr int64_t smod64(int64_t a, int64_t b) {
    if (b == 0) return a;
    if (b == -1) return 0;
    return a % b;
}
constexpr int32_t sdiv32(int32_t a, int32_t b) {
    if (b == 0) return 0;
    if (b == -1) return static_cast<int32_t>(0u - static_cast<uint32_t>(a));
    return a / b;
}
constexpr int32_t smod32(int32_t a, int32_t b) {
    if (b == 0) return a;
    if (b == -1) return 0;
    return a % b;
}

// Shifts use only the low 6 (64-bit) or 5 (32-bit) bits of the shift amount.
constexpr uint64_t lsh64(uint64_t a, uint64_t s) { return a << (s & 63); }
constexpr uint64_t rsh64(uint64_t a, uint64_t s) { return a >> (s & 63); }
constexpr uint64_t arsh64(uint64_t a, uint64_t s) { return static_cast<uint64_t>(static_cast<int64_t>(a) >> (s & 63)); }
constexpr uint32_t lsh32(uint32_t a, uint64_t s) { return a << (s & 31); }
constexpr uint32_t rsh32(uint32_t a, uint64_t s) { return a >> (s & 31); }
constexpr uint32_t arsh32(uint32_t a, uint64_t s) { return static_cast<uint32_t>(static_cast<int32_t>(a) >> (s & 31)); }

constexpr uint16_t bswap16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }
constexpr uint32_t bswap32(uint32_t v) {
    return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >> 8) & 0xff00) | (v >> 24);
}
constexpr uint64_t bswap64(uint64_t v) {
    return (static_cast<uint64_t>(bswap32(static_cast<uint32_t>(v))) << 32) | bswap32(static_cast<uint32_t>(v >> 32));
}

/// Byte-order conversion: `to_be` true for BE (swap on little-endian hosts), false for LE
/// (identity on little-endian hosts); both truncate to `width` bits. bswap always swaps.
constexpr uint64_t to_le(uint64_t v, unsigned width) {
    return width == 16 ? (v & 0xffff) : width == 32 ? (v & 0xffffffff) : v;
}
constexpr uint64_t byte_swap(uint64_t v, unsigned width) {
    return width == 16 ? bswap16(static_cast<uint16_t>(v)) : width == 32 ? bswap32(static_cast<uint32_t>(v)) : bswap64(v);
}

// Conditions of conditional jumps, on 64-bit operands (32-bit jumps pass truncated/sign-extended values).
constexpr bool jeq(uint64_t a, uint64_t b) { return a == b; }
constexpr bool jne(uint64_t a, uint64_t b) { return a != b; }
constexpr bool jgt(uint64_t a, uint64_t b) { return a > b; }
constexpr bool jge(uint64_t a, uint64_t b) { return a >= b; }
constexpr bool jlt(uint64_t a, uint64_t b) { return a < b; }
constexpr bool jle(uint64_t a, uint64_t b) { return a <= b; }
constexpr bool jset(uint64_t a, uint64_t b) { return (a & b) != 0; }
constexpr bool jsgt(int64_t a, int64_t b) { return a > b; }
constexpr bool jsge(int64_t a, int64_t b) { return a >= b; }
constexpr bool jslt(int64_t a, int64_t b) { return a < b; }
constexpr bool jsle(int64_t a, int64_t b) { return a <= b; }

static_assert(sdiv64(std::numeric_limits<int64_t>::min(), -1) == std::numeric_limits<int64_t>::min());
static_assert(smod64(-7, 2) == -1 && smod64(7, -2) == 1);
static_assert(bswap64(0x0102030405060708ull) == 0x0807060504030201ull);

}  // namespace bpfvm::sem
