// Scalar tests: exact results the kernel prints (from the verifier logs of the kernel selftests in
// ../shared/corpus/kernel-selftests, each rebuilt here from the instructions that produced it),
// the log format, and the helpers the verifier core uses.
#include <gtest/gtest.h>

#include "verifier/scalar.hpp"

namespace {

using namespace bpfvm::verifier;

Scalar u32_load() { return extend_loaded(Scalar::unknown(), 4, false); }
Scalar k(int64_t v) { return Scalar::known(static_cast<uint64_t>(v)); }

// Refines `a op K` for the given side and returns a.
Scalar after(JmpOp op, bool is32, Scalar a, int64_t imm, bool taken) {
    Scalar b = k(imm);
    EXPECT_TRUE(refine(op, is32, taken, a, b));
    return a;
}

TEST(ScalarKernelLogs, StatesFromTheSelftestLogs) {
    // verifier_cgroup_inv_retcode.c: r0 = *(u32 *)(r1 +0); r2 = *(u32 *)(r1 +4); r0 *= r2
    EXPECT_EQ(u32_load().to_string(), "scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))");
    EXPECT_EQ(alu(AluOp::Mul, true, u32_load(), u32_load()).to_string(), "scalar(umax=0xfffffffe00000001)");
    // verifier_raw_stack.c: two u32 loads added
    EXPECT_EQ(alu(AluOp::Add, true, u32_load(), u32_load()).to_string(),
              "scalar(smin=0,smax=umax=0x1fffffffe,var_off=(0x0; 0x1ffffffff))");
    // verifier_helper_value_access.c: if r3 <= 0x20 goto (fall-through)
    EXPECT_EQ(after(JmpOp::Le, false, u32_load(), 0x20, false).to_string(),
              "scalar(smin=umin=umin32=33,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))");
    // verifier_var_off.c: r2 = x & 4; r2 -= 8 and r2 -= 516
    const Scalar bit2 = alu(AluOp::And, true, Scalar::unknown(), k(4));
    EXPECT_EQ(alu(AluOp::Sub, true, bit2, k(8)).to_string(),
              "scalar(smin=smin32=-8,smax=smax32=-4,umin=0xfffffffffffffff8,umax=0xfffffffffffffffc,umin32=0xfffffff8,"
              "umax32=0xfffffffc,var_off=(0xfffffffffffffff8; 0x4))");
    EXPECT_EQ(alu(AluOp::Sub, true, bit2, k(516)).to_string(),
              "scalar(smin=smin32=-516,smax=smax32=-512,umin=0xfffffffffffffdfc,umax=0xfffffffffffffe00,"
              "umin32=0xfffffdfc,umax32=0xfffffe00,var_off=(0xfffffffffffffc00; 0x3fc))");
    // verifier_var_off.c: a non-negative r4, then r4 -= 16
    EXPECT_EQ(alu(AluOp::Sub, true, after(JmpOp::Slt, false, Scalar::unknown(), 0, false), k(16)).to_string(),
              "scalar(smin=-16,smax=0x7fffffffffffffef)");
    // verifier_value_or_null.c: a u32 of at least 10, then r1 <<= 2
    EXPECT_EQ(alu(AluOp::Lsh, true, after(JmpOp::Lt, false, u32_load(), 10, false), k(2)).to_string(),
              "scalar(smin=umin=40,smax=umax=0x3fffffffc,smax32=0x7ffffffc,umax32=0xfffffffc,var_off=(0x0; 0x3fffffffc))");
    // verifier_helper_access_var_len.c: r2 &= 65; r4 = 0; if r4 >= r2 goto (fall-through)
    Scalar r2 = alu(AluOp::And, true, Scalar::unknown(), k(65)), r4 = k(0);
    ASSERT_TRUE(refine(JmpOp::Ge, false, false, r4, r2));
    EXPECT_EQ(r2.to_string(), "scalar(smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=65,var_off=(0x0; 0x41))");
    // verifier_ldsx.c: an s8 load of an unknown byte
    EXPECT_EQ(extend_loaded(Scalar::unknown(), 1, true).to_string(), "scalar(smin=smin32=-128,smax=smax32=127)");
    // the msg every byte mask prints, e.g. verifier_bounds.c
    EXPECT_EQ(alu(AluOp::And, true, Scalar::unknown(), k(0xff)).to_string(),
              "scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))");
    // verifier_scalar_ids.c: if w0 > 8 goto (fall-through) on an unknown r0... and r0 > 7
    EXPECT_EQ(after(JmpOp::Gt, true, Scalar::unknown(), 8, false).to_string(),
              "scalar(smax=0x7fffffff00000008,umax=0xffffffff00000008,smin32=0,smax32=umax32=8,"
              "var_off=(0x0; 0xffffffff0000000f))");
    EXPECT_EQ(after(JmpOp::Gt, false, alu(AluOp::And, true, Scalar::unknown(), k(0xf)), 7, false).to_string(),
              "scalar(smin=smin32=0,smax=umax=smax32=umax32=7,var_off=(0x0; 0x7))");
}

TEST(ScalarKernelLogs, ConstantsPrintAsNumbers) {
    EXPECT_EQ(k(0).to_string(), "0");
    EXPECT_EQ(k(-1).to_string(), "-1");
    EXPECT_EQ(k(32767).to_string(), "32767");
    EXPECT_EQ(k(32768).to_string(), "0x8000");
    EXPECT_EQ(k(-32768).to_string(), "-32768");
    EXPECT_EQ(k(-32769).to_string(), "0xffffffffffff7fff");
    EXPECT_EQ(k(0x80000010).to_string(), "0x80000010");
    EXPECT_EQ(Scalar::unknown().to_string(), "scalar()");
    EXPECT_EQ(Scalar::unknown().fields_string(), "");
    EXPECT_EQ(format_unsigned(65535), "65535");
    EXPECT_EQ(format_unsigned(65536), "0x10000");
    EXPECT_EQ(format_signed(INT64_MIN), "0x8000000000000000");
}

TEST(ScalarKernelLogs, FieldsMergeWithoutMixingSigns) {
    // [-1, 0] as s64 and s32: smin equals smin32 (both -1), smax equals smax32.
    EXPECT_EQ(alu(AluOp::Sub, true, alu(AluOp::And, true, Scalar::unknown(), k(1)), k(1)).to_string(),
              "scalar(smin=smin32=-1,smax=smax32=0)");
    // A 32-bit signed bound outside the decimal range prints as its 32-bit pattern.
    EXPECT_EQ(alu(AluOp::Or, true, Scalar::unknown(), k(8)).to_string(),
              "scalar(smin=0x8000000000000008,umin=umin32=8,smin32=0x80000008,var_off=(0x8; 0xfffffffffffffff7))");
    // Mins pair with mins only: smin32=0 and smax32=umax32=0 stay apart.
    Scalar s = after(JmpOp::Slt, true, Scalar::unknown(), -5, false);
    s = after(JmpOp::Sgt, true, s, 5, false);
    EXPECT_EQ(alu(AluOp::Lsh, true, alu(AluOp::Mov, false, Scalar::unknown(), s), k(32)).to_string(),
              "scalar(smin=0xfffffffb00000000,smax=0x500000000,umax=0xffffffff00000000,smin32=0,smax32=umax32=0,"
              "var_off=(0x0; 0xffffffff00000000))");
}

TEST(Scalar, SyncDeducesAcrossRepresentations) {
    Scalar s;
    s.u32_min = 5;
    s.u32_max = 10;
    s.umax = 0xffffffff;
    s.sync();
    EXPECT_EQ(s.to_string(), "scalar(smin=umin=smin32=umin32=5,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))");
    // The tnum and the range share one value: the register is that constant.
    Scalar one = Scalar::from_tnum(Tnum{0xe00, 0x100});
    one.umin = 0xe01;
    one.sync();
    EXPECT_EQ(one, Scalar::known(0xf00));
    EXPECT_EQ(Scalar::from_srange(-3, -1).to_string(),
              "scalar(smin=smin32=-3,smax=smax32=-1,umin=0xfffffffffffffffd,umin32=0xfffffffd,"
              "var_off=(0xfffffffffffffffc; 0x3))");
}

TEST(Scalar, InvariantChecksNameTheKernelReasons) {
    EXPECT_EQ(Scalar::unknown().invariant_violation(), nullptr);
    Scalar crossed = Scalar::from_urange(3, 5);
    crossed.umin = 6;
    EXPECT_STREQ(crossed.invariant_violation(), "range bounds violation");
    EXPECT_FALSE(crossed.is_consistent());
    Scalar stale = Scalar::known(7);
    stale.umax = 8;
    EXPECT_STREQ(stale.invariant_violation(), "const tnum out of sync with range bounds");
    Scalar sub = Scalar::known(7);
    sub.var_off.mask = 0xff00000000;
    sub.u32_max = 9;
    EXPECT_STREQ(sub.invariant_violation(), "const subreg tnum out of sync with range bounds");
}

TEST(Scalar, ContainsChecksEveryRepresentation) {
    const Scalar s = Scalar::from_urange(10, 20);
    EXPECT_TRUE(s.contains(10));
    EXPECT_TRUE(s.contains(20));
    EXPECT_FALSE(s.contains(9));
    EXPECT_FALSE(s.contains(21));
    EXPECT_EQ(s.width(), 5u);
    EXPECT_EQ(Scalar::known(0).width(), 0u);
}

TEST(Scalar, CoversIsRangeWithinAndTnumIn) {
    const Scalar wide = Scalar::from_urange(0, 255), narrow = Scalar::from_urange(10, 20);
    EXPECT_TRUE(covers(wide, narrow));
    EXPECT_FALSE(covers(narrow, wide));
    EXPECT_TRUE(covers(Scalar::unknown(), narrow));
    // Same bounds, but the old tnum lacks a bit the current one may have.
    Scalar old_even = Scalar::from_tnum(Tnum{0, 0xfe}), cur = Scalar::from_urange(0, 254);
    EXPECT_FALSE(covers(old_even, cur));
}

TEST(Scalar, ShiftsAndDivisionsFollowTheKernel) {
    const Scalar byte = alu(AluOp::And, true, Scalar::unknown(), k(0xff));
    // Division and modulo results are not tracked by 6.18: even an ALU32 result is unknown.
    EXPECT_EQ(alu(AluOp::Div, true, byte, k(3)), Scalar::unknown());
    EXPECT_EQ(alu(AluOp::SMod, false, byte, k(7)), Scalar::unknown());
    // An unknown shift amount, or one past the width, gives an unknown result.
    EXPECT_EQ(alu(AluOp::Lsh, true, byte, byte), Scalar::unknown());
    EXPECT_EQ(alu(AluOp::Rsh, false, byte, k(32)), Scalar::unknown());
    // A 32-bit shift by a register whose low half is 3 but whose upper half is unknown: unknown.
    const Scalar low3 = alu(AluOp::Or, true, alu(AluOp::And, true, Scalar::unknown(), k(0)), Scalar::from_tnum(Tnum{3, ~0xffffffffull}));
    EXPECT_EQ(alu(AluOp::Lsh, false, byte, low3), Scalar::unknown());
    EXPECT_EQ(alu(AluOp::Lsh, true, byte, k(4)).to_string(),
              "scalar(smin=smin32=0,smax=umax=smax32=umax32=4080,var_off=(0x0; 0xff0))");
    EXPECT_EQ(alu(AluOp::Arsh, true, Scalar::from_srange(-1000, 1000), k(3)).to_string(),
              "scalar(smin=smin32=-125,smax=smax32=125)");
}

TEST(Scalar, Alu32ResultsAreZeroExtended) {
    // w0 = w1 + 1 with w1 in [0x7ffffffe, 0x7fffffff]: the signed 32-bit sum overflows.
    const Scalar w1 = Scalar::from_urange(0x7ffffffe, 0x7fffffff);
    EXPECT_EQ(alu(AluOp::Add, false, w1, k(1)).to_string(),
              "scalar(smin=umin=umin32=0x7fffffff,smax=umax=umax32=0x80000000,var_off=(0x0; 0xffffffff))");
    // 32-bit wrap of every sum: [0xfffffff0, 0xffffffff] + 0x20 is [0x10, 0x1f].
    EXPECT_EQ(alu(AluOp::Add, false, Scalar::from_urange(0xfffffff0, 0xffffffff), k(0x20)).to_string(),
              "scalar(smin=umin=smin32=umin32=16,smax=umax=smax32=umax32=31,var_off=(0x10; 0xf))");
    EXPECT_EQ(alu(AluOp::Mov, false, Scalar::unknown(), k(-1)), Scalar::known(0xffffffff));
}

TEST(Scalar, ByteSwapsTrackTheBytes) {
    const Scalar x = alu(AluOp::And, true, Scalar::unknown(), k(0x3f00));
    EXPECT_EQ(byte_swap(ByteOrder::Swap, 16, x).to_string(),
              "scalar(smin=smin32=0,smax=umax=smax32=umax32=63,var_off=(0x0; 0x3f))");
    EXPECT_EQ(byte_swap(ByteOrder::ToBe, 16, x), byte_swap(ByteOrder::Swap, 16, x));
    EXPECT_EQ(byte_swap(ByteOrder::ToLe, 16, x), x);  // a little-endian host only truncates
    EXPECT_EQ(byte_swap(ByteOrder::ToLe, 32, Scalar::known(0x1234567890)), Scalar::known(0x34567890));
}

TEST(Scalar, SignExtension) {
    const Scalar byte = alu(AluOp::And, true, Scalar::unknown(), k(0x7f));
    EXPECT_EQ(move_sign_extended(true, 8, byte), byte);  // non-negative stays
    EXPECT_EQ(move_sign_extended(true, 8, Scalar::known(0xff)), Scalar::known(~0ull));
    EXPECT_EQ(move_sign_extended(false, 8, Scalar::known(0xff)), Scalar::known(0xffffffff));
    EXPECT_EQ(move_sign_extended(true, 16, Scalar::from_srange(-100, -3)).to_string(),
              "scalar(smin=smin32=-100,smax=smax32=-3,umin=0xffffffffffffff9c,umax=0xfffffffffffffffd,"
              "umin32=0xffffff9c,umax32=0xfffffffd,var_off=(0xffffffffffffff80; 0x7f))");
    EXPECT_EQ(move_sign_extended(false, 16, Scalar::unknown()).to_string(),
              "scalar(smin=0,smax=umax=0xffffffff,smin32=-32768,smax32=32767,var_off=(0x0; 0xffffffff))");
}

TEST(Scalar, MinusOneOrZeroSplitsForAndOrWithAConstant) {
    const Scalar m = Scalar::from_srange(-1, 0);
    const auto f = split_minus_one_or_zero(AluOp::And, m, k(12));
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->minus_one, Scalar::known(~0ull));
    EXPECT_EQ(f->zero, Scalar::known(0));
    EXPECT_FALSE(split_minus_one_or_zero(AluOp::Xor, m, k(12)).has_value());
    EXPECT_FALSE(split_minus_one_or_zero(AluOp::And, m, Scalar::from_urange(0, 3)).has_value());
    EXPECT_FALSE(split_minus_one_or_zero(AluOp::Or, Scalar::from_srange(-1, 1), k(1)).has_value());
    // 32-bit [-1, 0] with unknown upper bits splits the subregister only.
    Scalar w = Scalar::unknown();
    w.s32_min = -1;
    w.s32_max = 0;
    w.sync();
    const auto g = split_minus_one_or_zero(AluOp::Or, w, k(0x10));
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->zero.const_value32(), 0u);
    EXPECT_TRUE(g->zero.is_const32());
    EXPECT_FALSE(g->zero.is_const());
}

TEST(Scalar, BranchRefinementsAndDecisions) {
    const Scalar byte = alu(AluOp::And, true, Scalar::unknown(), k(0xf0));
    EXPECT_EQ(is_branch_taken(JmpOp::Eq, false, byte, k(5)), Branch::Never);  // known bits disagree
    EXPECT_EQ(is_branch_taken(JmpOp::Ne, false, byte, k(5)), Branch::Always);
    EXPECT_EQ(is_branch_taken(JmpOp::Gt, false, byte, k(0xf0)), Branch::Never);
    EXPECT_EQ(is_branch_taken(JmpOp::Set, false, byte, k(0xf)), Branch::Never);
    EXPECT_EQ(is_branch_taken(JmpOp::Set, false, alu(AluOp::Or, true, byte, k(1)), k(1)), Branch::Always);
    EXPECT_EQ(is_branch_taken(JmpOp::Lt, false, byte, k(0x80)), Branch::Unknown);
    // jset with one bit: the bit becomes known; its negation clears the tested bits.
    EXPECT_EQ(after(JmpOp::Set, false, byte, 0x10, true).var_off, (Tnum{0x10, 0xe0}));
    EXPECT_EQ(after(JmpOp::Set, false, byte, 0x30, false).var_off, (Tnum{0, 0xc0}));
    // jne against a range end trims it.
    EXPECT_EQ(after(JmpOp::Ne, false, Scalar::from_urange(0, 10), 0, true).umin, 1u);
    // jeq between registers: both become the intersection.
    Scalar a = byte, b = alu(AluOp::And, true, Scalar::unknown(), k(0x3c));
    ASSERT_TRUE(refine(JmpOp::Eq, false, true, a, b));
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.var_off, (Tnum{0, 0x30}));
    // A side whose bounds cross is reported...
    Scalar c = Scalar::from_srange(-10, 10), d = k(20);
    EXPECT_FALSE(refine(JmpOp::Sgt, false, true, c, d));
    // ...but, as in the kernel, the single-member collapse may turn an impossible side into a
    // constant: [0, 240] step 16 > 241 leaves the tnum's largest member.
    Scalar e = byte, f = k(0xf1);
    EXPECT_TRUE(refine(JmpOp::Gt, false, true, e, f));
    EXPECT_EQ(e, Scalar::known(0xf0));
    // `if r < r` is undecided in 6.18 and its taken side trims both ends by one.
    Scalar r = Scalar::unknown();
    EXPECT_EQ(is_branch_taken(JmpOp::Lt, false, r, r), Branch::Unknown);
    refine_same_register(JmpOp::Lt, false, true, r);
    EXPECT_EQ(r.to_string(), "scalar(umin=1,umax=0xfffffffffffffffe)");
    EXPECT_EQ(swap_operands(JmpOp::Sge), JmpOp::Sle);
}

TEST(Scalar, PointerArithmeticHelpers) {
    EXPECT_EQ(check_offset_operand(k(8)), OffsetProblem::None);
    EXPECT_EQ(check_offset_operand(k(kMaxVarOff)), OffsetProblem::ConstantOutOfRange);
    EXPECT_EQ(check_offset_operand(k(-kMaxVarOff)), OffsetProblem::ConstantOutOfRange);
    EXPECT_EQ(check_offset_operand(Scalar::unknown()), OffsetProblem::UnboundedMin);
    EXPECT_EQ(check_offset_operand(Scalar::from_srange(kMaxVarOff, kMaxVarOff + 5)), OffsetProblem::MinOutOfRange);
    EXPECT_EQ(check_offset_operand(Scalar::from_urange(0, 1ull << 40)), OffsetProblem::None);  // only smin counts
    EXPECT_EQ(check_pointer_offset(Scalar::from_urange(0, 100)), OffsetProblem::None);
    EXPECT_EQ(check_pointer_offset(Scalar::unknown()), OffsetProblem::MinOutOfRange);  // smin = S64_MIN
    EXPECT_EQ(check_pointer_offset(k(1ll << 30)), OffsetProblem::ConstantOutOfRange);
    EXPECT_TRUE(has_mixed_signed_bounds(Scalar::from_srange(-1, 1)));
    EXPECT_FALSE(has_mixed_signed_bounds(Scalar::from_srange(1, 2)));
    EXPECT_FALSE(has_mixed_signed_bounds(k(-1)));
    Scalar dead = Scalar::from_urange(1, 2);
    dead.umin = 3;
    EXPECT_TRUE(has_impossible_bounds(dead));
    EXPECT_FALSE(has_impossible_bounds(Scalar::from_urange(1, 2)));
    // `r3 = r10; r3 += r6` with r6 in [8, 255]: the kernel prints R3=fp(<these fields>).
    const Scalar r6 = after(JmpOp::Lt, false, alu(AluOp::And, true, Scalar::unknown(), k(0xff)), 8, false);
    EXPECT_EQ(pointer_offset_add(k(0), r6).fields_string(),
              "smin=umin=smin32=umin32=8,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)");
    EXPECT_EQ(pointer_offset_sub(k(16), Scalar::from_urange(0, 4)).to_string(),
              "scalar(smin=umin=smin32=umin32=12,smax=umax=smax32=umax32=16,var_off=(0x0; 0x1f))");
    EXPECT_EQ(pointer_offset_sub(k(0), Scalar::from_urange(0, 4)).umin, 0u);  // may wrap: unbounded
}

}  // namespace
