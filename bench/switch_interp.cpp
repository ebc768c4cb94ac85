// The baseline interpreter: decodes every field of the raw instruction on every step and switches
// on the opcode byte. Deliberately simple; it shows what pre-decoding and threaded dispatch buy.
#include "switch_interp.hpp"

#include <cstring>

#include "bpfvm/semantics.hpp"

namespace bpfvm::bench {
namespace {

template <class T>
T load(uint64_t addr) {
    T v;
    std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
    return v;
}
template <class T>
void store(uint64_t addr, T v) {
    std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof v);
}
uint64_t w(uint64_t v) { return v & 0xffffffffull; }
uint32_t u(uint64_t v) { return static_cast<uint32_t>(v); }
int32_t s32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }
int64_t s64(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

SwitchResult switch_interp_run(const RawInsn* code, size_t n, uint64_t r1, uint64_t r2) {
    alignas(16) uint8_t stack[kStackSize];
    uint64_t reg[16] = {};  // 16 so that any register nibble stays inside the array
    reg[1] = r1;
    reg[2] = r2;
    reg[10] = reinterpret_cast<uint64_t>(stack + kStackSize);
    size_t pc = 0;
    while (pc < n) {
        const RawInsn& in = code[pc++];
        uint64_t& d = reg[in.dst()];
        const uint64_t s = reg[in.src()];
        const uint64_t k = static_cast<uint64_t>(int64_t{in.imm()});
        const int64_t off = in.off();
        switch (in.opcode) {
            // ALU64
            case 0x07: d += k; break;
            case 0x0f: d += s; break;
            case 0x17: d -= k; break;
            case 0x1f: d -= s; break;
            case 0x27: d *= k; break;
            case 0x2f: d *= s; break;
            case 0x37: d = off ? static_cast<uint64_t>(sem::sdiv64(s64(d), s64(k))) : sem::udiv64(d, k); break;
            case 0x3f: d = off ? static_cast<uint64_t>(sem::sdiv64(s64(d), s64(s))) : sem::udiv64(d, s); break;
            case 0x47: d |= k; break;
            case 0x4f: d |= s; break;
            case 0x57: d &= k; break;
            case 0x5f: d &= s; break;
            case 0x67: d = sem::lsh64(d, k); break;
            case 0x6f: d = sem::lsh64(d, s); break;
            case 0x77: d = sem::rsh64(d, k); break;
            case 0x7f: d = sem::rsh64(d, s); break;
            case 0x87: d = 0 - d; break;
            case 0x97: d = off ? static_cast<uint64_t>(sem::smod64(s64(d), s64(k))) : sem::umod64(d, k); break;
            case 0x9f: d = off ? static_cast<uint64_t>(sem::smod64(s64(d), s64(s))) : sem::umod64(d, s); break;
            case 0xa7: d ^= k; break;
            case 0xaf: d ^= s; break;
            case 0xb7: d = k; break;
            case 0xbf: d = off ? static_cast<uint64_t>(sem::sext(s, static_cast<unsigned>(off))) : s; break;
            case 0xc7: d = sem::arsh64(d, k); break;
            case 0xcf: d = sem::arsh64(d, s); break;
            case 0xd7: d = sem::byte_swap(d, static_cast<unsigned>(k)); break;
            // ALU32
            case 0x04: d = w(d + k); break;
            case 0x0c: d = w(d + s); break;
            case 0x14: d = w(d - k); break;
            case 0x1c: d = w(d - s); break;
            case 0x24: d = w(d * k); break;
            case 0x2c: d = w(d * s); break;
            case 0x34: d = off ? u(sem::sdiv32(s32(d), s32(k))) : sem::udiv32(u(d), u(k)); break;
            case 0x3c: d = off ? u(sem::sdiv32(s32(d), s32(s))) : sem::udiv32(u(d), u(s)); break;
            case 0x44: d = w(d | k); break;
            case 0x4c: d = w(d | s); break;
            case 0x54: d = w(d & k); break;
            case 0x5c: d = w(d & s); break;
            case 0x64: d = sem::lsh32(u(d), k); break;
            case 0x6c: d = sem::lsh32(u(d), s); break;
            case 0x74: d = sem::rsh32(u(d), k); break;
            case 0x7c: d = sem::rsh32(u(d), s); break;
            case 0x84: d = w(0 - d); break;
            case 0x94: d = off ? u(sem::smod32(s32(d), s32(k))) : sem::umod32(u(d), u(k)); break;
            case 0x9c: d = off ? u(sem::smod32(s32(d), s32(s))) : sem::umod32(u(d), u(s)); break;
            case 0xa4: d = w(d ^ k); break;
            case 0xac: d = w(d ^ s); break;
            case 0xb4: d = w(k); break;
            case 0xbc: d = off ? w(static_cast<uint64_t>(sem::sext(s, static_cast<unsigned>(off)))) : w(s); break;
            case 0xc4: d = sem::arsh32(u(d), k); break;
            case 0xcc: d = sem::arsh32(u(d), s); break;
            case 0xd4: d = sem::to_le(d, static_cast<unsigned>(k)); break;
            case 0xdc: d = sem::byte_swap(d, static_cast<unsigned>(k)); break;
            // JMP
            case 0x05: pc += off; break;
            case 0x15: if (d == k) pc += off; break;
            case 0x1d: if (d == s) pc += off; break;
            case 0x25: if (d > k) pc += off; break;
            case 0x2d: if (d > s) pc += off; break;
            case 0x35: if (d >= k) pc += off; break;
            case 0x3d: if (d >= s) pc += off; break;
            case 0x45: if (d & k) pc += off; break;
            case 0x4d: if (d & s) pc += off; break;
            case 0x55: if (d != k) pc += off; break;
            case 0x5d: if (d != s) pc += off; break;
            case 0x65: if (s64(d) > s64(k)) pc += off; break;
            case 0x6d: if (s64(d) > s64(s)) pc += off; break;
            case 0x75: if (s64(d) >= s64(k)) pc += off; break;
            case 0x7d: if (s64(d) >= s64(s)) pc += off; break;
            case 0xa5: if (d < k) pc += off; break;
            case 0xad: if (d < s) pc += off; break;
            case 0xb5: if (d <= k) pc += off; break;
            case 0xbd: if (d <= s) pc += off; break;
            case 0xc5: if (s64(d) < s64(k)) pc += off; break;
            case 0xcd: if (s64(d) < s64(s)) pc += off; break;
            case 0xd5: if (s64(d) <= s64(k)) pc += off; break;
            case 0xdd: if (s64(d) <= s64(s)) pc += off; break;
            case 0x95: return {reg[0], true, 0};
            // JMP32
            case 0x06: pc += in.imm(); break;  // gotol
            case 0x16: if (u(d) == u(k)) pc += off; break;
            case 0x1e: if (u(d) == u(s)) pc += off; break;
            case 0x26: if (u(d) > u(k)) pc += off; break;
            case 0x2e: if (u(d) > u(s)) pc += off; break;
            case 0x36: if (u(d) >= u(k)) pc += off; break;
            case 0x3e: if (u(d) >= u(s)) pc += off; break;
            case 0x46: if (u(d & k)) pc += off; break;
            case 0x4e: if (u(d & s)) pc += off; break;
            case 0x56: if (u(d) != u(k)) pc += off; break;
            case 0x5e: if (u(d) != u(s)) pc += off; break;
            case 0x66: if (s32(d) > s32(k)) pc += off; break;
            case 0x6e: if (s32(d) > s32(s)) pc += off; break;
            case 0x76: if (s32(d) >= s32(k)) pc += off; break;
            case 0x7e: if (s32(d) >= s32(s)) pc += off; break;
            case 0xa6: if (u(d) < u(k)) pc += off; break;
            case 0xae: if (u(d) < u(s)) pc += off; break;
            case 0xb6: if (u(d) <= u(k)) pc += off; break;
            case 0xbe: if (u(d) <= u(s)) pc += off; break;
            case 0xc6: if (s32(d) < s32(k)) pc += off; break;
            case 0xce: if (s32(d) < s32(s)) pc += off; break;
            case 0xd6: if (s32(d) <= s32(k)) pc += off; break;
            case 0xde: if (s32(d) <= s32(s)) pc += off; break;
            // Memory
            case 0x18:
                if (pc >= n) return {0, false, static_cast<uint32_t>(pc - 1)};
                d = w(k) | (static_cast<uint64_t>(static_cast<uint32_t>(code[pc].imm())) << 32);
                ++pc;
                break;
            case 0x71: d = load<uint8_t>(s + off); break;
            case 0x69: d = load<uint16_t>(s + off); break;
            case 0x61: d = load<uint32_t>(s + off); break;
            case 0x79: d = load<uint64_t>(s + off); break;
            case 0x91: d = static_cast<uint64_t>(load<int8_t>(s + off)); break;
            case 0x89: d = static_cast<uint64_t>(load<int16_t>(s + off)); break;
            case 0x81: d = static_cast<uint64_t>(load<int32_t>(s + off)); break;
            case 0x72: store<uint8_t>(d + off, static_cast<uint8_t>(k)); break;
            case 0x6a: store<uint16_t>(d + off, static_cast<uint16_t>(k)); break;
            case 0x62: store<uint32_t>(d + off, static_cast<uint32_t>(k)); break;
            case 0x7a: store<uint64_t>(d + off, k); break;
            case 0x73: store<uint8_t>(d + off, static_cast<uint8_t>(s)); break;
            case 0x6b: store<uint16_t>(d + off, static_cast<uint16_t>(s)); break;
            case 0x63: store<uint32_t>(d + off, static_cast<uint32_t>(s)); break;
            case 0x7b: store<uint64_t>(d + off, s); break;
            default: return {0, false, static_cast<uint32_t>(pc - 1)};
        }
    }
    return {0, false, static_cast<uint32_t>(pc)};
}

}  // namespace bpfvm::bench
