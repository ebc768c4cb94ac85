// Scalar: construction, the kernel's bound synchronisation (reg_bounds_sync and its parts), the
// size coercions, pruning coverage and log printing. The deduction rules are the kernel's, one for
// one, so that bpfvm derives the same bounds; each comment says why the rule keeps every member.
#include "scalar.hpp"

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>

#include "bpfvm/result.hpp"
#include "scalar_internal.hpp"

namespace bpfvm::verifier {

namespace {

using namespace detail;
constexpr uint64_t kHigh32 = ~0xffffffffull;

int32_t low_s32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

}  // namespace

Scalar Scalar::known(uint64_t v) {
    Scalar s;
    s.var_off = Tnum::constant(v);
    s.smin = s.smax = static_cast<int64_t>(v);
    s.umin = s.umax = v;
    s.s32_min = s.s32_max = low_s32(v);
    s.u32_min = s.u32_max = static_cast<uint32_t>(v);
    return s;
}

Scalar Scalar::from_urange(uint64_t min, uint64_t max) {
    Scalar s;
    s.umin = min;
    s.umax = max;
    s.sync();
    return s;
}

Scalar Scalar::from_srange(int64_t min, int64_t max) {
    Scalar s;
    s.smin = min;
    s.smax = max;
    s.sync();
    return s;
}

Scalar Scalar::from_tnum(Tnum t) {
    Scalar s;
    s.var_off = t;
    s.sync();
    return s;
}

unsigned Scalar::width() const { return 64 - static_cast<unsigned>(std::countl_zero(umax)); }

bool Scalar::contains(uint64_t x) const {
    const auto sx = static_cast<int64_t>(x);
    const auto x32 = static_cast<uint32_t>(x);
    const auto sx32 = static_cast<int32_t>(x32);
    return var_off.contains(x) && umin <= x && x <= umax && smin <= sx && sx <= smax && u32_min <= x32 &&
           x32 <= u32_max && s32_min <= sx32 && sx32 <= s32_max;
}

const char* Scalar::invariant_violation() const {
    if (umin > umax || smin > smax || u32_min > u32_max || s32_min > s32_max) return "range bounds violation";
    if (var_off.is_const()) {
        const uint64_t v = var_off.value;
        if (umin != v || umax != v || smin != static_cast<int64_t>(v) || smax != static_cast<int64_t>(v))
            return "const tnum out of sync with range bounds";
    }
    if (var_off.subreg_is_const()) {
        const auto v = static_cast<uint32_t>(var_off.value);
        if (u32_min != v || u32_max != v || s32_min != static_cast<int32_t>(v) || s32_max != static_cast<int32_t>(v))
            return "const subreg tnum out of sync with range bounds";
    }
    return nullptr;
}

bool Scalar::is_consistent() const { return invariant_violation() == nullptr; }

void Scalar::update_bounds() {
    update_bounds32();
    update_bounds64();
}

void Scalar::update_bounds32() {
    // The smallest signed member has the sign bit set if it may be, every other unknown
    // bit clear; the largest the opposite. Unsigned extremes are all unknown bits 0 or 1.
    const Tnum t32 = var_off.subreg();
    s32_min = std::max(s32_min, low_s32(t32.value | (t32.mask & 0x80000000u)));
    s32_max = std::min(s32_max, low_s32(t32.value | (t32.mask & 0x7fffffffu)));
    u32_min = std::max(u32_min, static_cast<uint32_t>(t32.value));
    u32_max = std::min(u32_max, static_cast<uint32_t>(t32.value | t32.mask));
}

void Scalar::update_bounds64() {
    // Same reasoning as update_bounds32().
    smin = std::max(smin, static_cast<int64_t>(var_off.value | (var_off.mask & (1ull << 63))));
    smax = std::min(smax, static_cast<int64_t>(var_off.value | (var_off.mask & ~(1ull << 63))));
    umin = std::max(umin, var_off.value);
    umax = std::min(umax, var_off.value | var_off.mask);

    // When the unsigned range and the tnum share a single value, that value is the register:
    // umin alone, the tnum's maximum alone, or one member strictly inside the range. (An empty
    // intersection may also collapse here; any value is sound for an empty set.)
    const uint64_t next = var_off.next_after(umin);
    const bool umin_is_member = var_off.contains(umin);
    const uint64_t tmax = var_off.max();
    if (umin_is_member && next > umax) {
        *this = known(umin);
    } else if (!umin_is_member && next == tmax) {
        *this = known(tmax);
    } else if (!umin_is_member && next <= umax && var_off.next_after(next) > umax) {
        *this = known(next);
    }
}

namespace {

// The low halves of a 64-bit range [lo, hi] whose ends share their upper half form a 32-bit range
// (as u32 and as s32, each when its ends stay ordered).
void narrow_same_upper(Scalar& r, uint64_t lo, uint64_t hi) {
    if ((lo >> 32) != (hi >> 32)) return;
    if (static_cast<uint32_t>(lo) <= static_cast<uint32_t>(hi)) {
        r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(lo));
        r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(hi));
    }
    if (low_s32(lo) <= low_s32(hi)) {
        r.s32_min = std::max(r.s32_min, low_s32(lo));
        r.s32_max = std::min(r.s32_max, low_s32(hi));
    }
}

// Upper halves that are consecutive (mod 2^32) while the low halves go from negative to
// non-negative: the low halves still form one signed 32-bit range across the carry.
void narrow_consecutive_upper(Scalar& r, uint64_t lo, uint64_t hi) {
    if (static_cast<uint32_t>(lo >> 32) + 1 == static_cast<uint32_t>(hi >> 32) && low_s32(lo) < 0 && low_s32(hi) >= 0) {
        r.s32_min = std::max(r.s32_min, low_s32(lo));
        r.s32_max = std::min(r.s32_max, low_s32(hi));
    }
}

// 32-bit bounds from the 64-bit ones, then signed <-> unsigned within 32 bits (__reg32_deduce_bounds).
void deduce32(Scalar& r) {
    const auto smin = static_cast<uint64_t>(r.smin), smax = static_cast<uint64_t>(r.smax);
    narrow_same_upper(r, r.umin, r.umax);
    narrow_same_upper(r, smin, smax);
    narrow_consecutive_upper(r, r.umin, r.umax);
    narrow_consecutive_upper(r, smin, smax);
    deduce_sign(bounds32(r));
}

// 64-bit bounds from the 32-bit ones (__reg_deduce_mixed_bounds).
void deduce_mixed(Scalar& r) {
    // Substituting the 32-bit bounds as the low halves of the 64-bit bounds keeps every member:
    // a member above umin with the same upper half has a low half >= u32_min.
    r.umin = std::max(r.umin, (r.umin & kHigh32) | r.u32_min);
    r.umax = std::min(r.umax, (r.umax & kHigh32) | r.u32_max);
    r.smin = std::max(r.smin, static_cast<int64_t>((static_cast<uint64_t>(r.smin) & kHigh32) | r.u32_min));
    r.smax = std::min(r.smax, static_cast<int64_t>((static_cast<uint64_t>(r.smax) & kHigh32) | r.u32_max));
    // Inside [S32_MIN, S32_MAX] the upper 32 bits are all 0 or all 1. All 1 with a non-negative
    // low half means a value in [-2^32, -2^31 - 1], below S32_MIN <= smin: impossible. So the
    // value is its non-negative 32-bit part (this is what sign-extending loads leave behind).
    if (r.s32_min >= 0 && r.smin >= kS32Min && r.smax <= kS32Max) {
        r.smin = r.s32_min;
        r.smax = r.s32_max;
        r.umin = static_cast<uint64_t>(r.s32_min);
        r.umax = static_cast<uint64_t>(r.s32_max);
        r.var_off = intersect(r.var_off, Tnum::range(static_cast<uint64_t>(r.smin), static_cast<uint64_t>(r.smax)));
    }
}

}  // namespace

void Scalar::deduce_bounds() {
    deduce32(*this);
    deduce_sign(bounds64(*this));  // __reg64_deduce_bounds
    deduce_mixed(*this);
}

void Scalar::bound_offset() {
    const Tnum t64 = intersect(var_off, Tnum::range(umin, umax));
    const Tnum t32 = intersect(t64.subreg(), Tnum::range(u32_min, u32_max));
    var_off = t64.clear_subreg() | t32;
}

void Scalar::sync() {
    update_bounds();
    // Three rounds, as the kernel: each may enable a deduction of the next.
    deduce_bounds();
    deduce_bounds();
    deduce_bounds();
    bound_offset();
    update_bounds();
}

void Scalar::mark_known32(uint32_t v) {
    var_off = var_off.with_const_subreg(v);
    s32_min = s32_max = static_cast<int32_t>(v);
    u32_min = u32_max = v;
}

void Scalar::mark_unbounded() {
    mark_unbounded64();
    mark_unbounded32();
}

void Scalar::mark_unbounded64() {
    smin = kS64Min;
    smax = kS64Max;
    umin = 0;
    umax = kU64Max;
}

void Scalar::mark_unbounded32() {
    s32_min = kS32Min;
    s32_max = kS32Max;
    u32_min = 0;
    u32_max = kU32Max;
}

void Scalar::zext32() {
    var_off = var_off.subreg();
    umin = u32_min;
    umax = u32_max;
    // Signed 32-bit bounds carry over only when both are non-negative; otherwise the zero-extended
    // value is somewhere in [0, U32_MAX] and sync() refines it from the tnum.
    if (s32_min >= 0 && s32_max >= 0) {
        smin = s32_min;
        smax = s32_max;
    } else {
        smin = 0;
        smax = kU32Max;
    }
}

void Scalar::coerce_to_size(unsigned bytes) {
    BPFVM_ASSERT(bytes == 1 || bytes == 2 || bytes == 4);
    var_off = var_off.cast(bytes);
    const uint64_t keep = (1ull << (bytes * 8)) - 1;
    // The truncated bounds stay a range only if the dropped high bits agree on both ends.
    if ((umin & ~keep) == (umax & ~keep)) {
        umin &= keep;
        umax &= keep;
    } else {
        umin = 0;
        umax = keep;
    }
    smin = static_cast<int64_t>(umin);
    smax = static_cast<int64_t>(umax);
    // Below 4 bytes the old 32-bit bounds describe bits that are gone.
    if (bytes < 4) mark_unbounded32();
    sync();
}

void Scalar::coerce_to_size_sx(unsigned bytes) {
    BPFVM_ASSERT(bytes == 1 || bytes == 2 || bytes == 4);
    const unsigned bits = bytes * 8;
    const auto extend = [bits](uint64_t v) {
        return bits == 8 ? int64_t{static_cast<int8_t>(v)}
               : bits == 16 ? int64_t{static_cast<int16_t>(v)} : int64_t{static_cast<int32_t>(v)};
    };
    if (var_off.is_const()) {
        *this = known(static_cast<uint64_t>(extend(var_off.value)));
        return;
    }
    // Sign extension of the low bits preserves order only if the signed bounds share the bits
    // above and the extended ends have the same sign.
    if ((static_cast<uint64_t>(smax) >> bits) == (static_cast<uint64_t>(smin) >> bits)) {
        const int64_t a = extend(static_cast<uint64_t>(smin));
        const int64_t b = extend(static_cast<uint64_t>(smax));
        const int64_t lo = std::min(a, b);
        const int64_t hi = std::max(a, b);
        if ((lo >= 0) == (hi >= 0)) {
            smin = lo;
            smax = hi;
            s32_min = static_cast<int32_t>(lo);
            s32_max = static_cast<int32_t>(hi);
            umin = static_cast<uint64_t>(lo);
            umax = static_cast<uint64_t>(hi);
            u32_min = static_cast<uint32_t>(umin);
            u32_max = static_cast<uint32_t>(umax);
            var_off = Tnum::range(umin, umax);
            return;
        }
    }
    // Otherwise: the full signed range of the narrow type, nothing known unsigned.
    const int64_t half = int64_t{1} << (bits - 1);
    smin = -half;
    smax = half - 1;
    s32_min = static_cast<int32_t>(smin);
    s32_max = static_cast<int32_t>(smax);
    umin = 0;
    u32_min = 0;
    umax = kU64Max;
    u32_max = kU32Max;
    var_off = Tnum::unknown();
}

void Scalar::coerce_subreg_to_size_sx(unsigned bytes) {
    BPFVM_ASSERT(bytes == 1 || bytes == 2);
    const unsigned bits = bytes * 8;
    const auto extend = [bits](uint64_t v) {
        return bits == 8 ? int32_t{static_cast<int8_t>(v)} : int32_t{static_cast<int16_t>(v)};
    };
    if (var_off.is_const()) {
        // The kernel sign-extends the constant into all 64 bits of var_off here; the caller's
        // zero extension then keeps the low 32.
        const int32_t v = extend(var_off.value);
        var_off = Tnum::constant(static_cast<uint64_t>(int64_t{v}));
        s32_min = s32_max = v;
        u32_min = u32_max = static_cast<uint32_t>(v);
        return;
    }
    if ((static_cast<uint32_t>(s32_max) >> bits) == (static_cast<uint32_t>(s32_min) >> bits)) {
        const int32_t a = extend(static_cast<uint32_t>(s32_min));
        const int32_t b = extend(static_cast<uint32_t>(s32_max));
        const int32_t lo = std::min(a, b);
        const int32_t hi = std::max(a, b);
        if ((lo >= 0) == (hi >= 0)) {
            s32_min = lo;
            s32_max = hi;
            u32_min = static_cast<uint32_t>(lo);
            u32_max = static_cast<uint32_t>(hi);
            var_off = Tnum::range(static_cast<uint64_t>(int64_t{lo}), static_cast<uint64_t>(int64_t{hi})).subreg();
            return;
        }
    }
    const int32_t half = int32_t{1} << (bits - 1);
    s32_min = -half;
    s32_max = half - 1;
    u32_min = 0;
    u32_max = kU32Max;
    var_off = Tnum::unknown().subreg();
}

bool covers(const Scalar& old, const Scalar& cur) {
    return old.umin <= cur.umin && old.umax >= cur.umax && old.smin <= cur.smin && old.smax >= cur.smax &&
           old.u32_min <= cur.u32_min && old.u32_max >= cur.u32_max && old.s32_min <= cur.s32_min &&
           old.s32_max >= cur.s32_max && old.var_off.covers(cur.var_off);
}

std::string format_signed(int64_t v) {
    char buf[24];
    if (v >= -32768 && v <= 32767) std::snprintf(buf, sizeof buf, "%" PRId64, v);
    else std::snprintf(buf, sizeof buf, "0x%" PRIx64, static_cast<uint64_t>(v));
    return buf;
}

std::string format_unsigned(uint64_t v) {
    char buf[24];
    if (v <= 65535) std::snprintf(buf, sizeof buf, "%" PRIu64, v);
    else std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

std::string Scalar::fields_string() const {
    // The kernel's print_scalar_ranges: the eight bounds in this order, each omitted at its
    // default; a bound equal to a later one of the same kind (mins with mins, maxes with maxes)
    // absorbs it as "smax=umax=255" unless one is negative and the other not. A signed 32-bit
    // bound outside the small decimal range is shown as its unsigned 32-bit pattern.
    struct Field {
        const char* name;
        uint64_t val;
        bool omit;
    };
    const auto s32_shown = [](int32_t v) {
        return v >= -32768 && v <= 32767 ? static_cast<uint64_t>(int64_t{v}) : uint64_t{static_cast<uint32_t>(v)};
    };
    Field fields[] = {
        {"smin", static_cast<uint64_t>(smin), smin == kS64Min},
        {"smax", static_cast<uint64_t>(smax), smax == kS64Max},
        {"umin", umin, umin == 0},
        {"umax", umax, umax == kU64Max},
        {"smin32", s32_shown(s32_min), s32_min == kS32Min},
        {"smax32", s32_shown(s32_max), s32_max == kS32Max},
        {"umin32", u32_min, u32_min == 0},
        {"umax32", u32_max, u32_max == kU32Max},
    };
    constexpr int kCount = sizeof fields / sizeof fields[0];
    const auto negative = [](const Field& f) { return f.name[0] == 's' && static_cast<int64_t>(f.val) < 0; };
    std::string out;
    for (int i = 0; i < kCount; ++i) {
        Field& f = fields[i];
        if (f.omit) continue;
        if (!out.empty()) out += ',';
        out += f.name;
        out += '=';
        for (int j = i + 2; j < kCount; j += 2) {
            Field& g = fields[j];
            if (g.omit || g.val != f.val || negative(g) != negative(f)) continue;
            g.omit = true;
            out += g.name;
            out += '=';
        }
        out += f.name[0] == 's' ? format_signed(static_cast<int64_t>(f.val)) : format_unsigned(f.val);
    }
    if (!var_off.is_unknown()) {
        if (!out.empty()) out += ',';
        out += "var_off=" + var_off.to_string();
    }
    return out;
}

std::string Scalar::to_string() const {
    if (var_off.is_const()) return format_signed(static_cast<int64_t>(var_off.value));
    return "scalar(" + fields_string() + ")";
}

}  // namespace bpfvm::verifier
