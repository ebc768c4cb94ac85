// Private helpers of the scalar domain: limits and a view of one width's four bounds, so that a
// rule the kernel writes twice (once for 64 bits, once for 32) is written once here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "scalar.hpp"

namespace bpfvm::verifier::detail {

inline constexpr int64_t kS64Min = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kS64Max = std::numeric_limits<int64_t>::max();
inline constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
inline constexpr int32_t kS32Min = std::numeric_limits<int32_t>::min();
inline constexpr int32_t kS32Max = std::numeric_limits<int32_t>::max();
inline constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();

/// References to the signed and unsigned bounds of one width of a Scalar. Two views of the same
/// register alias, which the branch rules rely on (the kernel refines `r op r` through aliases).
template <class S, class U>
struct Bounds {
    S& smin;
    S& smax;
    U& umin;
    U& umax;
};
using Bounds64 = Bounds<int64_t, uint64_t>;
using Bounds32 = Bounds<int32_t, uint32_t>;

inline Bounds64 bounds64(Scalar& r) { return {r.smin, r.smax, r.umin, r.umax}; }
inline Bounds32 bounds32(Scalar& r) { return {r.s32_min, r.s32_max, r.u32_min, r.u32_max}; }

/// Signed <-> unsigned deduction within one width (the tail of __reg32_deduce_bounds and all of
/// __reg64_deduce_bounds). An unsigned range inside one sign half is also a signed range and
/// vice versa. When the signed range wraps from negative to non-negative and the unsigned range
/// meets only one of its two parts, both tighten to that part.
template <class S, class U>
void deduce_sign(Bounds<S, U> b) {
    if (static_cast<S>(b.umin) <= static_cast<S>(b.umax)) {
        b.smin = std::max(b.smin, static_cast<S>(b.umin));
        b.smax = std::min(b.smax, static_cast<S>(b.umax));
    }
    if (static_cast<U>(b.smin) <= static_cast<U>(b.smax)) {
        b.umin = std::max(b.umin, static_cast<U>(b.smin));
        b.umax = std::min(b.umax, static_cast<U>(b.smax));
    } else if (b.umax < static_cast<U>(b.smin)) {
        b.smin = static_cast<S>(b.umin);  // only [0, smax] is reachable
        b.umax = std::min(b.umax, static_cast<U>(b.smax));
    } else if (static_cast<U>(b.smax) < b.umin) {
        b.smax = static_cast<S>(b.umax);  // only [smin, -1] is reachable
        b.umin = std::max(b.umin, static_cast<U>(b.smin));
    }
}

/// After a bitwise op has set the unsigned bounds: the signed ones equal them when the unsigned
/// range stays within one sign half, else they are unknown.
template <class S, class U>
void signed_from_unsigned(Bounds<S, U> b) {
    if (static_cast<S>(b.umin) <= static_cast<S>(b.umax)) {
        b.smin = static_cast<S>(b.umin);
        b.smax = static_cast<S>(b.umax);
    } else {
        b.smin = std::numeric_limits<S>::min();
        b.smax = std::numeric_limits<S>::max();
    }
}

}  // namespace bpfvm::verifier::detail
