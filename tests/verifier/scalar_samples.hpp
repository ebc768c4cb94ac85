// Test support: abstract scalar values covering the edges that matter (constants, small ranges,
// ranges crossing 0 and the 32-bit sign boundary, INT/UINT limits, values with few unknown bits,
// 32-bit states with unknown upper halves, states reached by ALU ops and branches), and concrete
// members of each, enumerated where small and sampled at the edges otherwise.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <random>
#include <vector>

#include "verifier/scalar.hpp"

namespace bpfvm::verifier::testing {

/// Concrete values of `s`: every member when the tnum or the unsigned range is small, otherwise
/// the edges of each representation and random tnum members, keeping only true members.
inline std::vector<uint64_t> members(const Scalar& s, std::mt19937_64& rng, size_t limit = 24) {
    std::vector<uint64_t> out;
    const auto add = [&](uint64_t v) {
        if (s.contains(v) && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    };
    const uint64_t mask = s.var_off.mask;
    if (std::popcount(mask) <= 8) {
        // Every member of the tnum: walk the submasks of mask.
        uint64_t sub = 0;
        do {
            add(s.var_off.value | sub);
            sub = (sub - mask) & mask;
        } while (sub != 0 && out.size() < 4 * limit);
    } else if (s.umax - s.umin < 4 * limit) {
        for (uint64_t v = s.umin;; ++v) {
            add(v);
            if (v == s.umax) break;
        }
    }
    const uint64_t edges[] = {s.umin, s.umax, static_cast<uint64_t>(s.smin), static_cast<uint64_t>(s.smax),
                              s.var_off.min(), s.var_off.max()};
    for (uint64_t e : edges) {
        add(e);
        add(s.var_off.next_after(e));
        // The 32-bit bounds as low halves under the upper halves of the 64-bit edges.
        for (uint32_t low : {s.u32_min, s.u32_max, static_cast<uint32_t>(s.s32_min), static_cast<uint32_t>(s.s32_max)})
            add((e & ~0xffffffffull) | low);
    }
    for (int i = 0; i < 200 && out.size() < limit; ++i) add(s.var_off.value | (rng() & mask));
    for (int i = 0; i < 200 && out.size() < limit; ++i) {
        const uint64_t span = s.umax - s.umin;
        add(s.umin + (span == ~0ull ? rng() : rng() % (span + 1)));
    }
    if (out.size() > limit) out.resize(limit);
    return out;
}

/// A varied set of consistent, non-empty abstract values, reproducible from `seed`.
inline std::vector<Scalar> sample_scalars(uint64_t seed, size_t random_count = 60) {
    std::mt19937_64 rng(seed);
    std::vector<Scalar> out;
    const auto keep = [&](Scalar s) {
        s.sync();
        if (!s.is_consistent()) return;
        std::mt19937_64 probe(1);
        if (members(s, probe, 1).empty()) return;
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    };
    const uint64_t edges[] = {0, 1, 2, 7, 0xff, 0x7fff, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
                              0x7fffffffffffffff, 0x8000000000000000, ~0ull, ~0ull - 1, ~0ull << 31, 0xfffffffe00000000};
    for (uint64_t e : edges) keep(Scalar::known(e));
    keep(Scalar::unknown());
    for (uint64_t e : edges) {
        keep(Scalar::from_urange(e, e + 3 < e ? ~0ull : e + 3));
        keep(Scalar::from_urange(e < 5 ? 0 : e - 5, e));
    }
    const int64_t sedges[][2] = {{-1, 0}, {-1, 1}, {-10, 10}, {-100, -5}, {INT32_MIN, INT32_MAX}, {INT32_MIN, 5},
                                 {-5, INT32_MAX}, {INT64_MIN, INT64_MIN + 3}, {INT64_MAX - 3, INT64_MAX}, {0, INT64_MAX},
                                 {INT64_MIN, -1}, {-0x80000010ll, 0x7ffffff0ll}, {-(1ll << 40), 1ll << 40}};
    for (const auto& r : sedges) keep(Scalar::from_srange(r[0], r[1]));
    // Few unknown bits in the places where carries and signs change.
    for (unsigned pos : {0u, 4u, 29u, 31u, 32u, 60u, 61u}) {
        for (uint64_t base : {0ull, ~0ull, 0x5555555555555555ull}) {
            const uint64_t m = 0x7ull << pos;
            keep(Scalar::from_tnum(Tnum{base & ~m, m}));
        }
    }
    keep(Scalar::from_tnum(Tnum{0, 0xffffffff}));
    keep(Scalar::from_tnum(Tnum{0, 0xffffffff00000000}));
    keep(Scalar::from_tnum(Tnum{0x100, 0xff}));
    // 32-bit knowledge only (upper half unknown), as after JMP32 refinements.
    for (const auto& r : {std::pair<int32_t, int32_t>{-10, 10}, {0, 255}, {INT32_MIN, -1}, {5, 0x7fffffff}}) {
        Scalar s;
        s.s32_min = r.first;
        s.s32_max = r.second;
        keep(s);
    }
    {
        Scalar s;
        s.u32_min = 0x7ffffff0;
        s.u32_max = 0x80000010;
        keep(s);
    }
    // Random shapes: a random range, a random tnum, or both together.
    for (size_t i = 0; i < random_count; ++i) {
        const uint64_t a = rng(), b = rng() >> (rng() % 64);
        const uint64_t mask = rng() & rng() & (~0ull >> (rng() % 64));
        switch (i % 3) {
            case 0: keep(Scalar::from_urange(std::min(a, b), std::max(a, b))); break;
            case 1: keep(Scalar::from_tnum(Tnum{a & ~mask, mask})); break;
            default: {
                Scalar s = Scalar::from_tnum(Tnum{a & ~mask, mask});
                s.smin = std::min<int64_t>(static_cast<int64_t>(a), static_cast<int64_t>(b));
                keep(s);
            }
        }
    }
    // States reached by operations on the above, as a verifier meets them.
    const size_t base_count = out.size();
    for (size_t i = 0; i + 1 < base_count; i += 3) {
        keep(alu(AluOp::Add, i % 2, out[i], out[i + 1]));
        keep(alu(AluOp::And, true, out[i], Scalar::known(0xff0)));
        keep(alu(AluOp::Lsh, true, out[i], Scalar::known(32)));
        keep(move_sign_extended(true, 32, out[i]));
        Scalar a = out[i], b = Scalar::known(0x80000000);
        if (refine(JmpOp::Slt, true, true, a, b)) keep(a);
    }
    return out;
}

}  // namespace bpfvm::verifier::testing
