// Loop and load idioms that engines replace with a faster equivalent: the shape tests, shared so
// that the x86-64 JIT and the interpreter replace exactly the same instructions
// (src/isa/idioms.cpp).
#pragma once

#include <cstdint>
#include <optional>

#include "bpfvm/isa.hpp"

namespace bpfvm {

/// clang's byte fill loop `for (; i != N; i++) p[i] = v` starting at `head`:
///   H: rP = rB; rP += rI; *(u8 *)(rP + off) = rV (or an immediate); rI += 1; if rI != N goto H
/// with P, B, I distinct and V neither P nor I. What it leaves when it starts with rI < N
/// (unsigned): bytes [rB + rI + off, rB + N + off) hold V's low byte, rI = N, rP = rB + N - 1.
struct FillLoop {
    uint8_t ptr, base, index, value;  // P, B, I, V (value: only for the register form)
    bool imm;                         // the store is `*(u8 *)(...) = imm`
    int16_t off;
    int32_t end;  // N, in [1, INT32_MAX]
};
/// The fill loop at `head`, shape only: callers check that nothing but its back edge enters it.
std::optional<FillLoop> match_fill_loop(const Program& prog, uint32_t head);

/// A big-endian 16-bit load as clang spells `(p[k] << 8) | p[k + 1]`: two byte loads through one
/// base register, either first, then a shift by 8 and an or (32- or 64-bit: both operands are
/// below 2^16, so both widths give the same value):
///   rX = *(u8 *)(rA + o0); rY = *(u8 *)(rA + o1); rD <<= 8; rD |= rT
/// with {D, T} = {X, Y}, D's byte at `off` and T's at off + 1, and X distinct from A (the second
/// load reads A). Afterwards D = hi << 8 | lo and T = lo.
struct Be16Load {
    uint8_t base;  // A
    uint8_t dst;   // D: receives the value, zero-extended
    uint8_t tmp;   // T: keeps the low byte
    int32_t off;   // offset of the high byte from the base
};
/// The byte pair at `index`, shape only: callers check that no jump enters its last three.
std::optional<Be16Load> match_be16_load(const Program& prog, uint32_t index);

}  // namespace bpfvm
