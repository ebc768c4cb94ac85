// Conditional jumps on scalars (the kernel's is_scalar_branch_taken and regs_refine_cond_op) and
// the scalar-side checks of pointer arithmetic (check_reg_sane_offset_*, the bounds arithmetic of
// adjust_ptr_min_max_vals).
#include <algorithm>
#include <type_traits>

#include "scalar.hpp"
#include "scalar_internal.hpp"

namespace bpfvm::verifier {

namespace {

using namespace detail;

// One view (32- or 64-bit) of an operand, widened to 64 bits as the kernel compares them.
struct View {
    Tnum t;
    uint64_t umin, umax;
    int64_t smin, smax;
};

View view_of(const Scalar& r, bool is32) {
    if (is32) return {r.var_off.subreg(), r.u32_min, r.u32_max, r.s32_min, r.s32_max};
    return {r.var_off, r.umin, r.umax, r.smin, r.smax};
}

// True when the two operands cannot be equal: their known bits or one of their ranges disagree.
bool cannot_be_equal(const Scalar& a, const Scalar& b, const View& x, const View& y, bool is32) {
    if (!x.t.overlaps(y.t)) return true;
    if (x.umin > y.umax || x.umax < y.umin) return true;
    if (x.smin > y.smax || x.smax < y.smin) return true;
    if (!is32) {
        // The 64-bit ranges may overlap while the 32-bit ones do not.
        if (a.u32_min > b.u32_max || a.u32_max < b.u32_min) return true;
        if (a.s32_min > b.s32_max || a.s32_max < b.s32_min) return true;
    }
    return false;
}

Branch decided(bool taken) { return taken ? Branch::Always : Branch::Never; }

// Opcodes for the refinement, including the negation of Set, which has no instruction.
enum class Cond : uint8_t { Eq, Ne, Gt, Ge, Lt, Le, Sgt, Sge, Slt, Sle, Set, NotSet };

Cond cond_of(JmpOp op) { return static_cast<Cond>(op); }

Cond negate(Cond c) {
    switch (c) {
        case Cond::Eq: return Cond::Ne;
        case Cond::Ne: return Cond::Eq;
        case Cond::Gt: return Cond::Le;
        case Cond::Ge: return Cond::Lt;
        case Cond::Lt: return Cond::Ge;
        case Cond::Le: return Cond::Gt;
        case Cond::Sgt: return Cond::Sle;
        case Cond::Sge: return Cond::Slt;
        case Cond::Slt: return Cond::Sge;
        case Cond::Sle: return Cond::Sgt;
        case Cond::Set: return Cond::NotSet;
        case Cond::NotSet: return Cond::Set;
    }
    return c;
}

template <class T>
T wrapping_add(T v, int delta) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(v) + static_cast<U>(delta)));
}

// a <= b (a < b when strict) on one kind of bounds: a's maximum is at most b's, b's minimum at
// least a's. The references may alias (same register): the second update then sees the first.
template <class T>
void order(T& a_min, T& a_max, T& b_min, T& b_max, bool strict) {
    a_max = std::min(a_max, strict ? wrapping_add(b_max, -1) : b_max);
    b_min = std::max(strict ? wrapping_add(a_min, 1) : a_min, b_min);
}

// The bounds half of regs_refine_cond_op on one width, for Eq and the "less" conditions. The
// strict ones subtract or add one without a wrap check, as the kernel: a wrap only happens on a
// side that cannot be taken, and leaves a state that is empty anyway.
template <class S, class U>
void refine_bounds(Cond c, Bounds<S, U> a, Bounds<S, U> b) {
    switch (c) {
        case Cond::Eq:  // both hold the same value: each gets the intersection
            a.umin = std::max(a.umin, b.umin);
            a.umax = std::min(a.umax, b.umax);
            a.smin = std::max(a.smin, b.smin);
            a.smax = std::min(a.smax, b.smax);
            b.umin = a.umin;
            b.umax = a.umax;
            b.smin = a.smin;
            b.smax = a.smax;
            break;
        case Cond::Le: order(a.umin, a.umax, b.umin, b.umax, false); break;
        case Cond::Lt: order(a.umin, a.umax, b.umin, b.umax, true); break;
        case Cond::Sle: order(a.smin, a.smax, b.smin, b.smax, false); break;
        case Cond::Slt: order(a.smin, a.smax, b.smin, b.smax, true); break;
        default:
            break;
    }
}

// a != K: an end of a's range equal to K moves in by one.
template <class S, class U>
void trim_edges(Bounds<S, U> a, U v) {
    if (a.umin == v) a.umin = wrapping_add(a.umin, 1);
    if (a.umax == v) a.umax = wrapping_add(a.umax, -1);
    if (a.smin == static_cast<S>(v)) a.smin = wrapping_add(a.smin, 1);
    if (a.smax == static_cast<S>(v)) a.smax = wrapping_add(a.smax, -1);
}

// The kernel's regs_refine_cond_op for the side where `a c b` holds; no sync. `a` and `b` may be
// the same register.
void refine_cond(Scalar* a, Scalar* b, Cond c, bool is32) {
    // a > b is b < a: reuse the "less" rules with the operands swapped.
    switch (c) {
        case Cond::Gt: c = Cond::Lt; std::swap(a, b); break;
        case Cond::Ge: c = Cond::Le; std::swap(a, b); break;
        case Cond::Sgt: c = Cond::Slt; std::swap(a, b); break;
        case Cond::Sge: c = Cond::Sle; std::swap(a, b); break;
        default: break;
    }
    switch (c) {
        case Cond::Eq:
        case Cond::Le:
        case Cond::Lt:
        case Cond::Sle:
        case Cond::Slt:
            if (is32) refine_bounds(c, bounds32(*a), bounds32(*b));
            else refine_bounds(c, bounds64(*a), bounds64(*b));
            if (c == Cond::Eq) {
                if (is32) {
                    const Tnum t = intersect(a->var_off.subreg(), b->var_off.subreg());
                    a->var_off = a->var_off.with_subreg(t);
                    b->var_off = b->var_off.with_subreg(t);
                } else {
                    a->var_off = intersect(a->var_off, b->var_off);
                    b->var_off = a->var_off;
                }
            }
            break;
        case Cond::Ne:
        case Cond::Set:
        case Cond::NotSet: {
            // These learn only against a constant, which may be on either side.
            if (!b->is_const_in(is32)) std::swap(a, b);
            if (!b->is_const_in(is32)) break;
            const uint64_t v = b->const_value_in(is32);
            if (c == Cond::Ne) {
                if (is32) trim_edges(bounds32(*a), static_cast<uint32_t>(v));
                else trim_edges(bounds64(*a), v);
            } else if (c == Cond::Set) {
                // (a & K) != 0 tells which bit is set only when K has a single bit.
                if (v == 0 || (v & (v - 1)) != 0) break;
                if (is32) a->var_off = a->var_off.with_subreg(a->var_off.subreg() | Tnum::constant(v));
                else a->var_off = a->var_off | Tnum::constant(v);
            } else {
                // (a & K) == 0: every bit of K is 0 in a. The old bounds are dropped first so that
                // a dead branch cannot leave bounds contradicting the new bits.
                a->mark_unbounded();
                if (is32) a->var_off = a->var_off.with_subreg(a->var_off.subreg() & Tnum::constant(~v));
                else a->var_off = a->var_off & Tnum::constant(~v);
            }
            break;
        }
        case Cond::Gt:
        case Cond::Ge:
        case Cond::Sgt:
        case Cond::Sge:
            break;  // rewritten above
    }
}

}  // namespace

JmpOp swap_operands(JmpOp op) {
    switch (op) {
        case JmpOp::Gt: return JmpOp::Lt;
        case JmpOp::Ge: return JmpOp::Le;
        case JmpOp::Lt: return JmpOp::Gt;
        case JmpOp::Le: return JmpOp::Ge;
        case JmpOp::Sgt: return JmpOp::Slt;
        case JmpOp::Sge: return JmpOp::Sle;
        case JmpOp::Slt: return JmpOp::Sgt;
        case JmpOp::Sle: return JmpOp::Sge;
        case JmpOp::Eq:
        case JmpOp::Ne:
        case JmpOp::Set:
            return op;
    }
    return op;
}

Branch is_branch_taken(JmpOp op, bool is32, const Scalar& a, const Scalar& b) {
    const View x = view_of(a, is32), y = view_of(b, is32);
    switch (op) {
        case JmpOp::Eq:
            if (x.t.is_const() && y.t.is_const()) return decided(x.t.value == y.t.value);
            if (cannot_be_equal(a, b, x, y, is32)) return Branch::Never;
            break;
        case JmpOp::Ne:
            if (x.t.is_const() && y.t.is_const()) return decided(x.t.value != y.t.value);
            if (cannot_be_equal(a, b, x, y, is32)) return Branch::Always;
            break;
        case JmpOp::Set: {
            // Needs a constant on one side; then a known 1 in common decides "set", no possible
            // 1 in common decides "clear".
            Tnum t = x.t, k = y.t;
            if (!b.is_const_in(is32)) std::swap(t, k);
            if (!(b.is_const_in(is32) || a.is_const_in(is32))) return Branch::Unknown;
            if ((t.value & ~t.mask) & k.value) return Branch::Always;
            if (((t.value | t.mask) & k.value) == 0) return Branch::Never;
            break;
        }
        case JmpOp::Gt:
            if (x.umin > y.umax) return Branch::Always;
            if (x.umax <= y.umin) return Branch::Never;
            break;
        case JmpOp::Sgt:
            if (x.smin > y.smax) return Branch::Always;
            if (x.smax <= y.smin) return Branch::Never;
            break;
        case JmpOp::Lt:
            if (x.umax < y.umin) return Branch::Always;
            if (x.umin >= y.umax) return Branch::Never;
            break;
        case JmpOp::Slt:
            if (x.smax < y.smin) return Branch::Always;
            if (x.smin >= y.smax) return Branch::Never;
            break;
        case JmpOp::Ge:
            if (x.umin >= y.umax) return Branch::Always;
            if (x.umax < y.umin) return Branch::Never;
            break;
        case JmpOp::Sge:
            if (x.smin >= y.smax) return Branch::Always;
            if (x.smax < y.smin) return Branch::Never;
            break;
        case JmpOp::Le:
            if (x.umax <= y.umin) return Branch::Always;
            if (x.umin > y.umax) return Branch::Never;
            break;
        case JmpOp::Sle:
            if (x.smax <= y.smin) return Branch::Always;
            if (x.smin > y.smax) return Branch::Never;
            break;
    }
    return Branch::Unknown;
}

bool refine(JmpOp op, bool is32, bool taken, Scalar& a, Scalar& b) {
    const Cond c = taken ? cond_of(op) : negate(cond_of(op));
    refine_cond(&a, &b, c, is32);
    a.sync();
    b.sync();
    return a.is_consistent() && b.is_consistent();
}

bool refine_same_register(JmpOp op, bool is32, bool taken, Scalar& a) {
    // The kernel runs the two-operand rules with both operands aliasing one register, so each
    // update sees the previous one (`r < r` moves umax down and umin up by one), then syncs the
    // register once per operand.
    const Cond c = taken ? cond_of(op) : negate(cond_of(op));
    refine_cond(&a, &a, c, is32);
    a.sync();
    a.sync();
    return a.is_consistent();
}

OffsetProblem check_offset_operand(const Scalar& off) {
    const auto v = static_cast<int64_t>(off.var_off.value);
    if (off.is_const() && (v >= kMaxVarOff || v <= -kMaxVarOff)) return OffsetProblem::ConstantOutOfRange;
    if (off.smin == kS64Min) return OffsetProblem::UnboundedMin;
    if (off.smin >= kMaxVarOff || off.smin <= -kMaxVarOff) return OffsetProblem::MinOutOfRange;
    return OffsetProblem::None;
}

OffsetProblem check_pointer_offset(const Scalar& ptr_off) {
    const auto v = static_cast<int64_t>(ptr_off.var_off.value);
    if (ptr_off.is_const() && (v >= kMaxVarOff || v <= -kMaxVarOff)) return OffsetProblem::ConstantOutOfRange;
    if (ptr_off.smin >= kMaxVarOff || ptr_off.smin <= -kMaxVarOff) return OffsetProblem::MinOutOfRange;
    return OffsetProblem::None;
}

bool has_impossible_bounds(const Scalar& off) {
    return (off.is_const() && (off.smin != off.smax || off.umin != off.umax)) || off.smin > off.smax ||
           off.umin > off.umax;
}

bool has_mixed_signed_bounds(const Scalar& off) { return !off.is_const() && (off.smin < 0) != (off.smax < 0); }

Scalar pointer_offset_add(const Scalar& ptr_off, const Scalar& off) {
    // Unlike scalar addition, any wrap of either bound forgets that bound pair.
    Scalar d;
    if (__builtin_add_overflow(ptr_off.smin, off.smin, &d.smin) ||
        __builtin_add_overflow(ptr_off.smax, off.smax, &d.smax)) {
        d.smin = kS64Min;
        d.smax = kS64Max;
    }
    if (__builtin_add_overflow(ptr_off.umin, off.umin, &d.umin) ||
        __builtin_add_overflow(ptr_off.umax, off.umax, &d.umax)) {
        d.umin = 0;
        d.umax = kU64Max;
    }
    d.var_off = ptr_off.var_off + off.var_off;
    d.mark_unbounded32();  // pointers carry no 32-bit bounds
    d.sync();
    return d;
}

Scalar pointer_offset_sub(const Scalar& ptr_off, const Scalar& off) {
    Scalar d;
    if (__builtin_sub_overflow(ptr_off.smin, off.smax, &d.smin) ||
        __builtin_sub_overflow(ptr_off.smax, off.smin, &d.smax)) {
        d.smin = kS64Min;
        d.smax = kS64Max;
    }
    if (ptr_off.umin < off.umax) {
        d.umin = 0;
        d.umax = kU64Max;
    } else {
        d.umin = ptr_off.umin - off.umax;
        d.umax = ptr_off.umax - off.umin;
    }
    d.var_off = ptr_off.var_off - off.var_off;
    d.mark_unbounded32();
    d.sync();
    return d;
}

}  // namespace bpfvm::verifier
