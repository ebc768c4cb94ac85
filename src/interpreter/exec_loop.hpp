// The interpreter loop. Included by exactly one translation unit per dispatch strategy:
// dispatch_goto.cpp (computed goto where GNU C allows it) and dispatch_switch.cpp (which defines
// BPFVM_INTERP_FORCE_SWITCH first). Both strategies share every instruction body below; only the
// BPFVM_CASE / BPFVM_DISPATCH macro pair differs.
//
// Exactness: every ALU result comes from semantics.hpp or from plain modular uint64_t arithmetic;
// 32-bit ALU results are zero-extended into the destination (RFC 9669 section 4.1).
#pragma once

#include <cstddef>
#include <cstring>

#include "bpfvm/semantics.hpp"
#include "exec_support.hpp"
#include "internal.hpp"

namespace bpfvm::interp {
namespace {

// ---- dispatch macro pair -------------------------------------------------------------------
// Checked mode counts every instruction as it is dispatched; the budget traps at the instruction
// that would exceed it, so RunResult::insns never exceeds the budget.
#if BPFVM_INTERP_THREADED
#define BPFVM_CASE(name) L_##name:
#define BPFVM_DISPATCH()                                                  \
    do {                                                                  \
        if constexpr (kChecked) {                                         \
            if (__builtin_expect(n >= budget, 0)) goto budget_exhausted; \
            ++n;                                                          \
        }                                                                 \
        goto* ip->label;                                                  \
    } while (0)
#else
#define BPFVM_CASE(name) case Op::name:
#define BPFVM_DISPATCH() goto dispatch
#endif
#define BPFVM_NEXT() \
    do {             \
        ++ip;        \
        BPFVM_DISPATCH(); \
    } while (0)

// Instruction bodies. `d` is the destination register, `s` the source register value and `k` the
// sign-extended immediate; unused ones cost nothing (plain loads of a local array).
#define BPFVM_ALU_ONLY(name, stmt)                       \
    BPFVM_CASE(name) {                                   \
        const auto f = read_fields<kWordFields && reads_two_registers(Op::name)>(ip); \
        uint64_t& d = reg[f.dst()];                      \
        [[maybe_unused]] const uint64_t s = reg[f.src()]; \
        [[maybe_unused]] const uint64_t k = static_cast<uint64_t>(ip->imm); \
        stmt;                                            \
        BPFVM_NEXT();                                    \
    }
#if BPFVM_INTERP_THREADED
// Register chains (internal.hpp, ChainStep): the same body on `acc`, the chain's register held in
// a host register. The head loads it, the tail stores it back; no step of a chain reads its own
// register through `s` after the head (install_chains sees to that). Unchecked mode only: the
// checked loop's copies are never installed and compile to nothing.
#define BPFVM_CHAIN_STEP(where, load, stmt, store)                        \
    where : {                                                             \
        if constexpr (kChecked) {                                         \
            __builtin_unreachable();                                      \
        } else {                                                          \
            load;                                                         \
            uint64_t& d = acc;                                            \
            [[maybe_unused]] const uint64_t s = reg[ip->src];             \
            [[maybe_unused]] const uint64_t k = static_cast<uint64_t>(ip->imm); \
            stmt;                                                         \
            store;                                                        \
            ++ip;                                                         \
            goto* ip->label;                                              \
        }                                                                 \
    }
#define BPFVM_ALU(name, stmt)                                                           \
    BPFVM_ALU_ONLY(name, stmt)                                                          \
    BPFVM_CHAIN_STEP(L_ChainHead_##name, acc = reg[ip->dst], stmt, (void)0)             \
    BPFVM_CHAIN_STEP(L_ChainMid_##name, (void)0, stmt, (void)0)                         \
    BPFVM_CHAIN_STEP(L_ChainTail_##name, (void)0, stmt, reg[ip->dst] = acc)
#else
#define BPFVM_ALU(name, stmt) BPFVM_ALU_ONLY(name, stmt)
#endif
#define BPFVM_JMP(name, cond)                            \
    BPFVM_CASE(name) {                                   \
        const uint64_t d = reg[ip->dst];                 \
        [[maybe_unused]] const uint64_t s = reg[ip->src]; \
        [[maybe_unused]] const uint64_t k = static_cast<uint64_t>(ip->imm); \
        const bool taken = (cond);                       \
        BPFVM_COVER_BRANCH(taken);                       \
        ip = taken ? ip->target : ip + 1;                \
        BPFVM_DISPATCH();                                \
    }
// Coverage hooks (checked mode, only when RunContext::coverage is set): block entries and
// conditional-jump outcomes, indexed by instruction. One predictable test per jump otherwise.
#define BPFVM_COVER_ENTRY(slot)                                                   \
    if constexpr (kChecked) {                                                     \
        if (__builtin_expect(cov != nullptr, 0)) ++cov->entries[(slot)-st.slots]; \
    }
#define BPFVM_COVER_BRANCH(taken)                                                          \
    if constexpr (kChecked) {                                                              \
        if (__builtin_expect(cov != nullptr, 0)) {                                         \
            const size_t at = static_cast<size_t>(ip - st.slots);                          \
            ++cov->branches[2 * at + ((taken) ? 1 : 0)];                                   \
            ++cov->entries[(taken) ? static_cast<size_t>(ip->target - st.slots) : at + 1]; \
        }                                                                                  \
    }
#define BPFVM_CHECK(addr, size, write)                                                         \
    if constexpr (kChecked) {                                                                  \
        if (__builtin_expect(!access_ok(ctx, reg[kFrameReg], addr, size, write), 0)) {         \
            st.set_trap(TrapKind::OutOfBounds, ip, addr, size, write);                         \
            goto done;                                                                         \
        }                                                                                      \
    }
// Loads and stores, plain (load_mem, store_mem) or ordered (load_acquire, store_release).
#define BPFVM_LOAD(name, T, load)                                            \
    BPFVM_CASE(name) {                                                       \
        const uint64_t a = reg[ip->src] + static_cast<uint64_t>(int64_t{ip->off}); \
        BPFVM_CHECK(a, sizeof(T), false);                                    \
        reg[ip->dst] = static_cast<uint64_t>(load<T>(a));                    \
        BPFVM_NEXT();                                                        \
    }
#define BPFVM_STORE(name, T, value, store)                                   \
    BPFVM_CASE(name) {                                                       \
        const uint64_t a = reg[ip->dst] + static_cast<uint64_t>(int64_t{ip->off}); \
        BPFVM_CHECK(a, sizeof(T), true);                                     \
        store<T>(a, static_cast<T>(value));                                  \
        BPFVM_NEXT();                                                        \
    }
#define BPFVM_LDX(name, T) BPFVM_LOAD(name, T, load_mem)
#define BPFVM_ST(name, T, value) BPFVM_STORE(name, T, value, store_mem)
#define BPFVM_LDACQ(name, T) BPFVM_LOAD(name, T, load_acquire)
#define BPFVM_STREL(name, T) BPFVM_STORE(name, T, reg[ip->src], store_release)
#define BPFVM_ATOMIC(name, T, aop, fetch)                                    \
    BPFVM_CASE(name) {                                                       \
        const uint64_t a = reg[ip->dst] + static_cast<uint64_t>(int64_t{ip->off}); \
        BPFVM_CHECK(a, sizeof(T), true);                                     \
        const T old = atomic_fetch<AtomicOp::aop, T>(a, static_cast<T>(reg[ip->src])); \
        if (fetch) reg[ip->src] = old;                                       \
        BPFVM_NEXT();                                                        \
    }
#define BPFVM_CMPXCHG(name, T)                                               \
    BPFVM_CASE(name) {                                                       \
        const uint64_t a = reg[ip->dst] + static_cast<uint64_t>(int64_t{ip->off}); \
        BPFVM_CHECK(a, sizeof(T), true);                                     \
        reg[0] = atomic_cmpxchg<T>(a, static_cast<T>(reg[0]), static_cast<T>(reg[ip->src])); \
        BPFVM_NEXT();                                                        \
    }
// Legacy packet loads: an offset outside the packet ends the program with r0 = 0 (kernel rule).
#define BPFVM_LDPKT(name, T, offset)                                         \
    BPFVM_CASE(name) {                                                       \
        if (ctx.pkt == nullptr) {                                            \
            st.set_trap(TrapKind::Unsupported, ip, ip->op);                  \
            goto done;                                                       \
        }                                                                    \
        const int64_t o = (offset);                                          \
        if (o < 0 || static_cast<uint64_t>(o) + sizeof(T) > ctx.pkt_len) {   \
            reg[0] = 0;                                                      \
            goto done;                                                       \
        }                                                                    \
        reg[0] = load_be<T>(ctx.pkt + o);                                    \
        BPFVM_NEXT();                                                        \
    }

/// Runs one BPF function invocation; see ExecFn in internal.hpp.
template <bool kChecked>
BPFVM_INTERP_NOINLINE uint64_t exec(RunState& st, const Slot* entry, const uint64_t* args, uint32_t depth) {
#if BPFVM_INTERP_THREADED
    // Indexed by Op: every opcodes.def row needs a label below, so a new row breaks the build. The
    // trap slot's label comes last (kTrapSlotOp).
    static const void* const kLabels[] = {
#define BPFVM_OP(name, opcode, match, value, form, width, mnemonic) &&L_##name,
#include "bpfvm/opcodes.def"
#undef BPFVM_OP
        &&L_TrapSlot,
#define BPFVM_SUPEROP(name, chain) &&L_Super##name,
#include "superops.def"
#undef BPFVM_SUPEROP
    };
    static_assert(std::size(kLabels) == kNumSlotOps);
    // Indexed by ChainStep * kNumSlotOps + Slot::op: the chain steps of the ALU forms and of the
    // superinstructions that have them (internal.hpp), null for the rest.
#define BPFVM_CHAIN_AluImm(step, name) &&L_Chain##step##_##name
#define BPFVM_CHAIN_AluReg(step, name) &&L_Chain##step##_##name
#define BPFVM_CHAIN_Neg(step, name) &&L_Chain##step##_##name
#define BPFVM_CHAIN_Movsx(step, name) &&L_Chain##step##_##name
#define BPFVM_CHAIN_End(step, name) &&L_Chain##step##_##name
#define BPFVM_CHAIN_NONE(step, name) nullptr
#define BPFVM_CHAIN_AddrSpaceCast BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Ja BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Gotol BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_JmpImm BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_JmpReg BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_MayGoto BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Call BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_CallLocal BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_CallKfunc BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Callx BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Exit BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Lddw BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_LdAbs BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_LdInd BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Ldx BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Ldxs BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_St BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Stx BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_Atomic BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_LoadAcquire BPFVM_CHAIN_NONE
#define BPFVM_CHAIN_StoreRelease BPFVM_CHAIN_NONE
    // The superinstructions' steps, as superops.def's chain column says: S every step, T only
    // the tail (a latch ends a chain), N none.
#define BPFVM_SUPER_STEP_S(step, name) &&L_Chain##step##_Super##name,
#define BPFVM_SUPER_STEP_N(step, name) nullptr,
#define BPFVM_SUPER_STEP_T(step, name) BPFVM_SUPER_TAIL_##step(name)
#define BPFVM_SUPER_TAIL_Head(name) nullptr,
#define BPFVM_SUPER_TAIL_Mid(name) nullptr,
#define BPFVM_SUPER_TAIL_Tail(name) &&L_ChainTail_Super##name,
    static const void* const kChainLabels[] = {
#define BPFVM_OP(name, opcode, match, value, form, width, mnemonic) BPFVM_CHAIN_##form(Head, name),
#include "bpfvm/opcodes.def"
        nullptr,  // the trap slot
#define BPFVM_SUPEROP(name, chain) BPFVM_SUPER_STEP_##chain(Head, name)
#include "superops.def"
#undef BPFVM_SUPEROP
#undef BPFVM_OP
#define BPFVM_OP(name, opcode, match, value, form, width, mnemonic) BPFVM_CHAIN_##form(Mid, name),
#include "bpfvm/opcodes.def"
        nullptr,  // the trap slot
#define BPFVM_SUPEROP(name, chain) BPFVM_SUPER_STEP_##chain(Mid, name)
#include "superops.def"
#undef BPFVM_SUPEROP
#undef BPFVM_OP
#define BPFVM_OP(name, opcode, match, value, form, width, mnemonic) BPFVM_CHAIN_##form(Tail, name),
#include "bpfvm/opcodes.def"
        nullptr,  // the trap slot
#define BPFVM_SUPEROP(name, chain) BPFVM_SUPER_STEP_##chain(Tail, name)
#include "superops.def"
#undef BPFVM_SUPEROP
#undef BPFVM_OP
    };
    static_assert(std::size(kChainLabels) == 3 * kNumSlotOps);
#undef BPFVM_SUPER_TAIL_Tail
#undef BPFVM_SUPER_TAIL_Mid
#undef BPFVM_SUPER_TAIL_Head
#undef BPFVM_SUPER_STEP_T
#undef BPFVM_SUPER_STEP_N
#undef BPFVM_SUPER_STEP_S
    if (entry == nullptr) {
        st.labels = kLabels;
        st.chain_labels = kChainLabels;
        return 0;
    }
#else
    if (entry == nullptr) {
        st.labels = nullptr;
        st.chain_labels = nullptr;
        return 0;
    }
#endif
    // Saved state of the callers of this invocation's local calls; only [base_depth, depth) is live.
    struct Frame {
        const Slot* ret;
        uint64_t callee_saved[4];  // r6..r9
    };
    Frame frames[kMaxCallDepth];
    // may_goto's budget per frame (the kernel keeps it in a hidden stack slot of each subprogram's
    // frame, set on entry): index depth, reset on every call.
    uint64_t may_goto[kMaxCallDepth];
    may_goto[depth] = kMayGotoBudget;
    const uint32_t base_depth = depth;
    RunContext& ctx = *st.ctx;
    uint64_t reg[kNumRegs] = {};
    [[maybe_unused]] uint64_t acc = 0;  // a register chain's register (threaded dispatch, unchecked)
    for (int i = 0; i < 5; ++i) reg[1 + i] = args[i];
    reg[kFrameReg] = st.frame_top(depth);
    [[maybe_unused]] uint64_t n = st.insns;
    [[maybe_unused]] const uint64_t budget = st.budget;
    [[maybe_unused]] CoverageCounters* const cov = kChecked ? ctx.coverage : nullptr;
    if constexpr (kChecked) {
        // Sized here, not when the run is set up: a bound context may get its counters later.
        if (cov != nullptr) [[unlikely]] cov->ensure(st.num_slots);
    }
    const Slot* ip = entry;
    BPFVM_COVER_ENTRY(ip);

    BPFVM_DISPATCH();
#if !BPFVM_INTERP_THREADED
dispatch:
    if constexpr (kChecked) {
        if (__builtin_expect(n >= budget, 0)) goto budget_exhausted;
        ++n;
    }
    if (ip->op >= kTrapSlotOp) {
        switch (ip->op) {
            case kTrapSlotOp: goto L_TrapSlot;
#define BPFVM_SUPEROP(name, chain) \
    case kSuper##name:             \
        goto L_Super##name;
#include "superops.def"
#undef BPFVM_SUPEROP
            default: BPFVM_ASSERT(!"interpreter: slot holds an invalid op");
        }
    }
    switch (static_cast<Op>(ip->op)) {
#endif
    BPFVM_ALU(Add32Imm, d = lo32(d + k))
    BPFVM_ALU(Add32Reg, d = lo32(d + s))
    BPFVM_ALU(Add64Imm, d += k)
    BPFVM_ALU(Add64Reg, d += s)
    BPFVM_ALU(Sub32Imm, d = lo32(d - k))
    BPFVM_ALU(Sub32Reg, d = lo32(d - s))
    BPFVM_ALU(Sub64Imm, d -= k)
    BPFVM_ALU(Sub64Reg, d -= s)
    BPFVM_ALU(Mul32Imm, d = lo32(d * k))
    BPFVM_ALU(Mul32Reg, d = lo32(d * s))
    BPFVM_ALU(Mul64Imm, d *= k)
    BPFVM_ALU(Mul64Reg, d *= s)
    BPFVM_ALU(Div32Imm, d = sem::udiv32(u32(d), u32(k)))
    BPFVM_ALU(Div32Reg, d = sem::udiv32(u32(d), u32(s)))
    BPFVM_ALU(Div64Imm, d = sem::udiv64(d, k))
    BPFVM_ALU(Div64Reg, d = sem::udiv64(d, s))
    BPFVM_ALU(Sdiv32Imm, d = u32(sem::sdiv32(i32(d), i32(k))))
    BPFVM_ALU(Sdiv32Reg, d = u32(sem::sdiv32(i32(d), i32(s))))
    BPFVM_ALU(Sdiv64Imm, d = static_cast<uint64_t>(sem::sdiv64(i64(d), i64(k))))
    BPFVM_ALU(Sdiv64Reg, d = static_cast<uint64_t>(sem::sdiv64(i64(d), i64(s))))
    BPFVM_ALU(Mod32Imm, d = sem::umod32(u32(d), u32(k)))
    BPFVM_ALU(Mod32Reg, d = sem::umod32(u32(d), u32(s)))
    BPFVM_ALU(Mod64Imm, d = sem::umod64(d, k))
    BPFVM_ALU(Mod64Reg, d = sem::umod64(d, s))
    BPFVM_ALU(Smod32Imm, d = u32(sem::smod32(i32(d), i32(k))))
    BPFVM_ALU(Smod32Reg, d = u32(sem::smod32(i32(d), i32(s))))
    BPFVM_ALU(Smod64Imm, d = static_cast<uint64_t>(sem::smod64(i64(d), i64(k))))
    BPFVM_ALU(Smod64Reg, d = static_cast<uint64_t>(sem::smod64(i64(d), i64(s))))
    BPFVM_ALU(Or32Imm, d = lo32(d | k))
    BPFVM_ALU(Or32Reg, d = lo32(d | s))
    BPFVM_ALU(Or64Imm, d |= k)
    BPFVM_ALU(Or64Reg, d |= s)
    BPFVM_ALU(And32Imm, d = lo32(d & k))
    BPFVM_ALU(And32Reg, d = lo32(d & s))
    BPFVM_ALU(And64Imm, d &= k)
    BPFVM_ALU(And64Reg, d &= s)
    BPFVM_ALU(Xor32Imm, d = lo32(d ^ k))
    BPFVM_ALU(Xor32Reg, d = lo32(d ^ s))
    BPFVM_ALU(Xor64Imm, d ^= k)
    BPFVM_ALU(Xor64Reg, d ^= s)
    BPFVM_ALU(Lsh32Imm, d = sem::lsh32(u32(d), k))
    BPFVM_ALU(Lsh32Reg, d = sem::lsh32(u32(d), s))
    BPFVM_ALU(Lsh64Imm, d = sem::lsh64(d, k))
    BPFVM_ALU(Lsh64Reg, d = sem::lsh64(d, s))
    BPFVM_ALU(Rsh32Imm, d = sem::rsh32(u32(d), k))
    BPFVM_ALU(Rsh32Reg, d = sem::rsh32(u32(d), s))
    BPFVM_ALU(Rsh64Imm, d = sem::rsh64(d, k))
    BPFVM_ALU(Rsh64Reg, d = sem::rsh64(d, s))
    BPFVM_ALU(Arsh32Imm, d = sem::arsh32(u32(d), k))
    BPFVM_ALU(Arsh32Reg, d = sem::arsh32(u32(d), s))
    BPFVM_ALU(Arsh64Imm, d = sem::arsh64(d, k))
    BPFVM_ALU(Arsh64Reg, d = sem::arsh64(d, s))
    BPFVM_ALU(Neg32, d = lo32(0 - d))
    BPFVM_ALU(Neg64, d = 0 - d)
    BPFVM_ALU(Mov32Imm, d = lo32(k))
    BPFVM_ALU(Mov32Reg, d = lo32(s))
    BPFVM_ALU(Mov64Imm, d = k)
    BPFVM_ALU(Mov64Reg, d = s)
    BPFVM_ALU(Movsx32_8, d = lo32(static_cast<uint64_t>(sem::sext(s, 8))))
    BPFVM_ALU(Movsx32_16, d = lo32(static_cast<uint64_t>(sem::sext(s, 16))))
    BPFVM_ALU(Movsx64_8, d = static_cast<uint64_t>(sem::sext(s, 8)))
    BPFVM_ALU(Movsx64_16, d = static_cast<uint64_t>(sem::sext(s, 16)))
    BPFVM_ALU(Movsx64_32, d = static_cast<uint64_t>(sem::sext(s, 32)))
    BPFVM_ALU(Le16, d = to_little(d, 16))
    BPFVM_ALU(Le32, d = to_little(d, 32))
    BPFVM_ALU(Le64, d = to_little(d, 64))
    BPFVM_ALU(Be16, d = to_big(d, 16))
    BPFVM_ALU(Be32, d = to_big(d, 32))
    BPFVM_ALU(Be64, d = to_big(d, 64))
    BPFVM_ALU(Bswap16, d = sem::byte_swap(d, 16))
    BPFVM_ALU(Bswap32, d = sem::byte_swap(d, 32))
    BPFVM_ALU(Bswap64, d = sem::byte_swap(d, 64))
    // lddw: prepare stored the constant, or the target instruction index of a function reference.
    BPFVM_ALU_ONLY(Lddw, d = k)

    BPFVM_CASE(Ja) {
        ip = ip->target;
        BPFVM_COVER_ENTRY(ip);
        BPFVM_DISPATCH();
    }
    BPFVM_CASE(Gotol) {
        ip = ip->target;
        BPFVM_COVER_ENTRY(ip);
        BPFVM_DISPATCH();
    }
    // may_goto: falls through while the frame's budget lasts (taking one unit), then jumps.
    BPFVM_CASE(MayGoto) {
        uint64_t& left = may_goto[depth];
        BPFVM_COVER_BRANCH(left == 0);
        if (left == 0) {
            ip = ip->target;
        } else {
            --left;
            ++ip;
        }
        BPFVM_DISPATCH();
    }
    BPFVM_JMP(Jeq64Imm, d == k)
    BPFVM_JMP(Jeq64Reg, d == s)
    BPFVM_JMP(Jeq32Imm, u32(d) == u32(k))
    BPFVM_JMP(Jeq32Reg, u32(d) == u32(s))
    BPFVM_JMP(Jne64Imm, d != k)
    BPFVM_JMP(Jne64Reg, d != s)
    BPFVM_JMP(Jne32Imm, u32(d) != u32(k))
    BPFVM_JMP(Jne32Reg, u32(d) != u32(s))
    BPFVM_JMP(Jgt64Imm, d > k)
    BPFVM_JMP(Jgt64Reg, d > s)
    BPFVM_JMP(Jgt32Imm, u32(d) > u32(k))
    BPFVM_JMP(Jgt32Reg, u32(d) > u32(s))
    BPFVM_JMP(Jge64Imm, d >= k)
    BPFVM_JMP(Jge64Reg, d >= s)
    BPFVM_JMP(Jge32Imm, u32(d) >= u32(k))
    BPFVM_JMP(Jge32Reg, u32(d) >= u32(s))
    BPFVM_JMP(Jlt64Imm, d < k)
    BPFVM_JMP(Jlt64Reg, d < s)
    BPFVM_JMP(Jlt32Imm, u32(d) < u32(k))
    BPFVM_JMP(Jlt32Reg, u32(d) < u32(s))
    BPFVM_JMP(Jle64Imm, d <= k)
    BPFVM_JMP(Jle64Reg, d <= s)
    BPFVM_JMP(Jle32Imm, u32(d) <= u32(k))
    BPFVM_JMP(Jle32Reg, u32(d) <= u32(s))
    BPFVM_JMP(Jset64Imm, (d & k) != 0)
    BPFVM_JMP(Jset64Reg, (d & s) != 0)
    BPFVM_JMP(Jset32Imm, u32(d & k) != 0)
    BPFVM_JMP(Jset32Reg, u32(d & s) != 0)
    BPFVM_JMP(Jsgt64Imm, i64(d) > i64(k))
    BPFVM_JMP(Jsgt64Reg, i64(d) > i64(s))
    BPFVM_JMP(Jsgt32Imm, i32(d) > i32(k))
    BPFVM_JMP(Jsgt32Reg, i32(d) > i32(s))
    BPFVM_JMP(Jsge64Imm, i64(d) >= i64(k))
    BPFVM_JMP(Jsge64Reg, i64(d) >= i64(s))
    BPFVM_JMP(Jsge32Imm, i32(d) >= i32(k))
    BPFVM_JMP(Jsge32Reg, i32(d) >= i32(s))
    BPFVM_JMP(Jslt64Imm, i64(d) < i64(k))
    BPFVM_JMP(Jslt64Reg, i64(d) < i64(s))
    BPFVM_JMP(Jslt32Imm, i32(d) < i32(k))
    BPFVM_JMP(Jslt32Reg, i32(d) < i32(s))
    BPFVM_JMP(Jsle64Imm, i64(d) <= i64(k))
    BPFVM_JMP(Jsle64Reg, i64(d) <= i64(s))
    BPFVM_JMP(Jsle32Imm, i32(d) <= i32(k))
    BPFVM_JMP(Jsle32Reg, i32(d) <= i32(s))

    BPFVM_LDX(Ldx8, uint8_t)
    BPFVM_LDX(Ldx16, uint16_t)
    BPFVM_LDX(Ldx32, uint32_t)
    BPFVM_LDX(Ldx64, uint64_t)
    BPFVM_LDX(Ldxs8, int8_t)
    BPFVM_LDX(Ldxs16, int16_t)
    BPFVM_LDX(Ldxs32, int32_t)
    BPFVM_ST(St8, uint8_t, ip->imm)
    BPFVM_ST(St16, uint16_t, ip->imm)
    BPFVM_ST(St32, uint32_t, ip->imm)
    BPFVM_ST(St64, uint64_t, ip->imm)
    BPFVM_ST(Stx8, uint8_t, reg[ip->src])
    BPFVM_ST(Stx16, uint16_t, reg[ip->src])
    BPFVM_ST(Stx32, uint32_t, reg[ip->src])
    BPFVM_ST(Stx64, uint64_t, reg[ip->src])

    BPFVM_ATOMIC(AtomicAdd32, uint32_t, Add, false)
    BPFVM_ATOMIC(AtomicOr32, uint32_t, Or, false)
    BPFVM_ATOMIC(AtomicAnd32, uint32_t, And, false)
    BPFVM_ATOMIC(AtomicXor32, uint32_t, Xor, false)
    BPFVM_ATOMIC(AtomicFetchAdd32, uint32_t, Add, true)
    BPFVM_ATOMIC(AtomicFetchOr32, uint32_t, Or, true)
    BPFVM_ATOMIC(AtomicFetchAnd32, uint32_t, And, true)
    BPFVM_ATOMIC(AtomicFetchXor32, uint32_t, Xor, true)
    BPFVM_ATOMIC(AtomicXchg32, uint32_t, Xchg, true)
    BPFVM_CMPXCHG(AtomicCmpxchg32, uint32_t)
    BPFVM_ATOMIC(AtomicAdd64, uint64_t, Add, false)
    BPFVM_ATOMIC(AtomicOr64, uint64_t, Or, false)
    BPFVM_ATOMIC(AtomicAnd64, uint64_t, And, false)
    BPFVM_ATOMIC(AtomicXor64, uint64_t, Xor, false)
    BPFVM_ATOMIC(AtomicFetchAdd64, uint64_t, Add, true)
    BPFVM_ATOMIC(AtomicFetchOr64, uint64_t, Or, true)
    BPFVM_ATOMIC(AtomicFetchAnd64, uint64_t, And, true)
    BPFVM_ATOMIC(AtomicFetchXor64, uint64_t, Xor, true)
    BPFVM_ATOMIC(AtomicXchg64, uint64_t, Xchg, true)
    BPFVM_CMPXCHG(AtomicCmpxchg64, uint64_t)
    BPFVM_LDACQ(LoadAcquire8, uint8_t)
    BPFVM_LDACQ(LoadAcquire16, uint16_t)
    BPFVM_LDACQ(LoadAcquire32, uint32_t)
    BPFVM_LDACQ(LoadAcquire64, uint64_t)
    BPFVM_STREL(StoreRelease8, uint8_t)
    BPFVM_STREL(StoreRelease16, uint16_t)
    BPFVM_STREL(StoreRelease32, uint32_t)
    BPFVM_STREL(StoreRelease64, uint64_t)

    BPFVM_LDPKT(LdAbsB, uint8_t, int64_t{static_cast<int32_t>(ip->imm)})
    BPFVM_LDPKT(LdAbsH, uint16_t, int64_t{static_cast<int32_t>(ip->imm)})
    BPFVM_LDPKT(LdAbsW, uint32_t, int64_t{static_cast<int32_t>(ip->imm)})
    // ld_ind adds the register in 32-bit signed arithmetic, as the kernel's int offset does.
    BPFVM_LDPKT(LdIndB, uint8_t, int64_t{i32(reg[ip->src] + static_cast<uint64_t>(ip->imm))})
    BPFVM_LDPKT(LdIndH, uint16_t, int64_t{i32(reg[ip->src] + static_cast<uint64_t>(ip->imm))})
    BPFVM_LDPKT(LdIndW, uint32_t, int64_t{i32(reg[ip->src] + static_cast<uint64_t>(ip->imm))})

    BPFVM_CASE(CallHelper) {
        // Helpers may re-enter through call_function: publish the frame and the count first.
        st.depth = depth;
        st.call_site = ip;
        if constexpr (kChecked) st.insns = n;
        reg[0] = ip->helper(reg[1], reg[2], reg[3], reg[4], reg[5], &ctx);
        if constexpr (kChecked) n = st.insns;
        if (__builtin_expect(ctx.stop != 0, 0)) goto helper_stopped;
        BPFVM_NEXT();
    }
    BPFVM_CASE(Callx) {
        // The register holds a helper id, resolved now because it is only known at run time.
        const uint64_t id = reg[ip->dst];
        const HelperFn fn = st.helpers->get(id);
        if (fn == nullptr) {
            st.set_trap(TrapKind::UnknownHelper, ip, id);
            goto done;
        }
        st.depth = depth;
        st.call_site = ip;
        if constexpr (kChecked) st.insns = n;
        reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5], &ctx);
        if constexpr (kChecked) n = st.insns;
        if (__builtin_expect(ctx.stop != 0, 0)) goto helper_stopped;
        BPFVM_NEXT();
    }
    BPFVM_CASE(CallKfunc) {
        // prepare rejects kfunc calls; kept so the loop covers every Op.
        st.set_trap(TrapKind::Unsupported, ip, ip->op);
        goto done;
    }
    BPFVM_CASE(AddrSpaceCast) {
        // Arena pointers need an arena map, which bpfvm does not have.
        st.set_trap(TrapKind::Unsupported, ip, ip->op);
        goto done;
    }
    BPFVM_CASE(CallLocal) {
        if (__builtin_expect(depth + 1 >= kMaxCallDepth, 0)) {
            st.set_trap(TrapKind::CallDepth, ip);
            goto done;
        }
        frames[depth] = Frame{ip + 1, {reg[6], reg[7], reg[8], reg[9]}};
        ++depth;
        may_goto[depth] = kMayGotoBudget;
        reg[kFrameReg] -= kStackSize;
        ip = ip->target;
        BPFVM_COVER_ENTRY(ip);
        BPFVM_DISPATCH();
    }
    BPFVM_CASE(Exit) {
        if (depth == base_depth) goto done;
        --depth;
        const Frame& f = frames[depth];
        reg[6] = f.callee_saved[0];
        reg[7] = f.callee_saved[1];
        reg[8] = f.callee_saved[2];
        reg[9] = f.callee_saved[3];
        reg[kFrameReg] += kStackSize;
        ip = f.ret;
        BPFVM_COVER_ENTRY(ip);
        BPFVM_DISPATCH();
    }
#if !BPFVM_INTERP_THREADED
    }
    BPFVM_ASSERT(!"interpreter: slot holds an invalid Op");
#endif
L_TrapSlot:
    st.set_trap(static_cast<TrapKind>(ip->imm), ip);
    goto done;

    // Superinstructions (internal.hpp): the pair's two bodies in one handler, then the slot after
    // the pair. prepare only installs them in unchecked mode, where neither half can trap.
    // BPFVM_SUPER_AT is one handler of a pair or a copy-prefixed pair: `d` is `dref` (the
    // destination register, or `acc` in a chain step, internal.hpp ChainStep) after `load`, `k`
    // the immediate as `kval` gives it, and `store` runs after the body. Chain steps exist only
    // in the unchecked loop of the threaded dispatch (`chained`).
#define BPFVM_SUPER_AT(where, chained, covers, dref, load, kval, stmt, store)             \
    where : {                                                                            \
        if constexpr (kChecked && (chained)) {                                           \
            __builtin_unreachable();                                                     \
        } else {                                                                         \
            const auto f = read_fields<kWordFields>(ip);                                 \
            load;                                                                        \
            uint64_t& d = dref;                                                          \
            [[maybe_unused]] const uint64_t s = reg[f.src()];                            \
            [[maybe_unused]] const uint64_t k = (kval);                                  \
            stmt;                                                                        \
            store;                                                                       \
            ip += (covers);                                                              \
            BPFVM_DISPATCH();                                                            \
        }                                                                                \
    }
#define BPFVM_IMM64 static_cast<uint64_t>(ip->imm)
#define BPFVM_IMM32 static_cast<uint64_t>(int64_t{static_cast<int32_t>(ip->imm)})
#if BPFVM_INTERP_THREADED
#define BPFVM_SUPER_STEPS(name, covers, kval, stmt, store)                                          \
    BPFVM_SUPER_AT(L_ChainHead_##name, true, covers, acc, acc = reg[f.dst()], kval, stmt, store)    \
    BPFVM_SUPER_AT(L_ChainMid_##name, true, covers, acc, (void)0, kval, stmt, store)                \
    BPFVM_SUPER_AT(L_ChainTail_##name, true, covers, acc, (void)0, kval, stmt, reg[f.dst()] = acc; store)
#else
#define BPFVM_SUPER_STEPS(name, covers, kval, stmt, store)
#endif
#define BPFVM_SUPER(name, stmt)                                                            \
    BPFVM_SUPER_AT(L_##name, false, 2, reg[f.dst()], (void)0, BPFVM_IMM64, stmt, (void)0) \
    BPFVM_SUPER_STEPS(name, 2, BPFVM_IMM64, stmt, (void)0)
    // The copy-prefixed pairs: the copied value is read with the other operands, and the copy is
    // written after the pair's result (the pass keeps X and C apart, so the order is free).
#define BPFVM_COPY_SUPER(name, stmt)                                                         \
    BPFVM_SUPER_AT(L_##name, false, 3, reg[f.dst()], const uint64_t v = reg[imm_byte(*ip, 5)], \
                   BPFVM_IMM32, stmt, reg[imm_byte(*ip, 4)] = v)                             \
    BPFVM_SUPER_STEPS(name, 3, BPFVM_IMM32, const uint64_t v = reg[imm_byte(*ip, 5)]; stmt,  \
                      reg[imm_byte(*ip, 4)] = v)
#define BPFVM_SUPER_JMP(name, cond)                                            \
    L_##name : {                                                               \
        const auto f = read_fields<kWordFields>(ip);                                  \
        uint64_t& d = reg[f.dst()];                                            \
        d += static_cast<uint64_t>(ip->imm);                                   \
        [[maybe_unused]] const uint64_t c = static_cast<uint64_t>(static_cast<int64_t>(f.off())); \
        ip = (cond) ? ip->target : ip + 2;                                     \
        BPFVM_DISPATCH();                                                      \
    }
    BPFVM_SUPER(SuperMov64AddImm, d = s + k)
    BPFVM_SUPER(SuperMov64AddReg, d = s + reg[f.pad()])
    BPFVM_SUPER(SuperMov64RshImm, d = sem::rsh64(s, k))
    BPFVM_SUPER(SuperMov64LshImm, d = sem::lsh64(s, k))
    BPFVM_SUPER(SuperMov64AndImm, d = s & k)
    BPFVM_SUPER(SuperMov32RshImm, d = sem::rsh32(u32(s), k))
    BPFVM_SUPER(SuperMov32LshImm, d = sem::lsh32(u32(s), k))
    BPFVM_SUPER(SuperMov32AndImm, d = lo32(s & k))
    BPFVM_SUPER(SuperMov32AddReg, d = lo32(s + reg[f.pad()]))
    BPFVM_SUPER(SuperLdx8Lsh64, d = sem::lsh64(load_mem<uint8_t>(s + static_cast<uint64_t>(int64_t{f.off()})), k))
    BPFVM_SUPER(SuperLdx8Lsh32, d = sem::lsh32(load_mem<uint8_t>(s + static_cast<uint64_t>(int64_t{f.off()})), k))
    BPFVM_SUPER_JMP(SuperAdd64ImmJeq, d == c)
    BPFVM_SUPER_JMP(SuperAdd64ImmJne, d != c)
    BPFVM_SUPER_JMP(SuperAdd64ImmJlt, d < c)
    BPFVM_SUPER_JMP(SuperAdd64ImmJgt, d > c)
    BPFVM_SUPER_JMP(SuperAdd64ImmJgtReg, d > reg[f.src()])
    BPFVM_SUPER(SuperLsh64OrReg, d = sem::lsh64(d, k) | s)
    BPFVM_COPY_SUPER(SuperCopyMov64AddImm, d = s + k)
    BPFVM_COPY_SUPER(SuperCopyMov64AddReg, d = s + reg[f.pad()])
    BPFVM_COPY_SUPER(SuperCopyMov64RshImm, d = sem::rsh64(s, k))
    BPFVM_COPY_SUPER(SuperCopyMov64LshImm, d = sem::lsh64(s, k))
    BPFVM_COPY_SUPER(SuperCopyMov64AndImm, d = s & k)
    L_SuperMovAddJgtReg : {
        const auto f = read_fields<kWordFields>(ip);
        uint64_t& d = reg[f.dst()];
        d = reg[f.src()] + static_cast<uint64_t>(ip->imm);
        ip = d > reg[f.pad()] ? ip->target : ip + 3;
        BPFVM_DISPATCH();
    }
    // The byte-load pairs and triples: the load's address is src + off in every one of them.
#define BPFVM_SUPER_LDX8_JMP(name, cond)                                                       \
    L_##name : {                                                                               \
        const auto f = read_fields<kWordFields>(ip);                                                  \
        uint64_t& d = reg[f.dst()];                                                            \
        d = load_mem<uint8_t>(reg[f.src()] + static_cast<uint64_t>(int64_t{f.off()}));        \
        const uint64_t c = static_cast<uint64_t>(ip->imm);                                     \
        ip = (cond) ? ip->target : ip + 2;                                                     \
        BPFVM_DISPATCH();                                                                      \
    }
#define BPFVM_SUPER_LDX8_ALU(name, stmt)                                                       \
    L_##name : {                                                                               \
        const uint64_t v = load_mem<uint8_t>(reg[ip->src] + static_cast<uint64_t>(int64_t{ip->off})); \
        reg[ip->dst] = v;                                                                      \
        uint64_t& d = reg[ip->pad];                                                            \
        stmt;                                                                                  \
        ip += 2;                                                                               \
        BPFVM_DISPATCH();                                                                      \
    }
    BPFVM_SUPER_LDX8_JMP(SuperLdx8Jeq, d == c)
    BPFVM_SUPER_LDX8_JMP(SuperLdx8Jne, d != c)
    BPFVM_SUPER_LDX8_JMP(SuperLdx8Jlt, d < c)
    BPFVM_SUPER_LDX8_JMP(SuperLdx8Jgt, d > c)
    BPFVM_SUPER_LDX8_ALU(SuperLdx8Add32Reg, d = lo32(d + v))
    BPFVM_SUPER_LDX8_ALU(SuperLdx8Add64Reg, d += v)
    BPFVM_SUPER_LDX8_ALU(SuperLdx8Or32Reg, d = lo32(d | v))
    BPFVM_SUPER_LDX8_ALU(SuperLdx8Or64Reg, d |= v)
    L_SuperLdx8LshOr64 : {
        const auto f = read_fields<kWordFields>(ip);
        const uint64_t v = load_mem<uint8_t>(reg[f.src()] + static_cast<uint64_t>(int64_t{f.off()}));
        reg[f.dst()] = sem::lsh64(v, static_cast<uint64_t>(ip->imm)) | reg[f.pad()];
        ip += 3;
        BPFVM_DISPATCH();
    }
    L_SuperLdx8LshOr32 : {
        const auto f = read_fields<kWordFields>(ip);
        const uint64_t v = load_mem<uint8_t>(reg[f.src()] + static_cast<uint64_t>(int64_t{f.off()}));
        reg[f.dst()] = lo32(sem::lsh32(u32(v), static_cast<uint64_t>(ip->imm)) | reg[f.pad()]);
        ip += 3;
        BPFVM_DISPATCH();
    }
    // The folded register may be the loaded one: it is written first, as the triple does.
#define BPFVM_SUPER_LDX8_LSH_TO(name, shifted, stmt)                                           \
    L_##name : {                                                                               \
        const auto f = read_fields<kWordFields>(ip);                                                  \
        const uint64_t b = load_mem<uint8_t>(reg[f.src()] + static_cast<uint64_t>(int64_t{f.off()})); \
        const uint64_t v = (shifted);                                                          \
        reg[f.dst()] = v;                                                                      \
        uint64_t& d = reg[f.pad()];                                                            \
        stmt;                                                                                  \
        ip += 3;                                                                               \
        BPFVM_DISPATCH();                                                                      \
    }
    BPFVM_SUPER_LDX8_LSH_TO(SuperLdx8LshAdd32To, sem::lsh32(u32(b), static_cast<uint64_t>(ip->imm)), d = lo32(d + v))
    BPFVM_SUPER_LDX8_LSH_TO(SuperLdx8LshAdd64To, sem::lsh64(b, static_cast<uint64_t>(ip->imm)), d += v)
    BPFVM_SUPER_LDX8_LSH_TO(SuperLdx8LshOr32To, sem::lsh32(u32(b), static_cast<uint64_t>(ip->imm)), d = lo32(d | v))
    BPFVM_SUPER_LDX8_LSH_TO(SuperLdx8LshOr64To, sem::lsh64(b, static_cast<uint64_t>(ip->imm)), d |= v)
    L_SuperMovAddRegJgtReg : {
        const auto f = read_fields<kWordFields>(ip);
        uint64_t& d = reg[f.dst()];
        d = reg[f.src()] + reg[f.pad()];
        ip = d > reg[f.off()] ? ip->target : ip + 3;
        BPFVM_DISPATCH();
    }
    // The compared registers are read after the copy, which may have written one of them.
#define BPFVM_SUPER_MOV_JMP(name, cond)                                   \
    L_##name : {                                                          \
        const auto f = read_fields<kWordFields>(ip);                             \
        reg[f.dst()] = reg[f.src()];                                      \
        const uint64_t a = reg[f.pad()];                                  \
        const uint64_t b = reg[f.off()];                                  \
        ip = (cond) ? ip->target : ip + 2;                                \
        BPFVM_DISPATCH();                                                 \
    }
    BPFVM_SUPER_MOV_JMP(SuperMov64JltReg, a < b)
    BPFVM_SUPER_MOV_JMP(SuperMov64JgtReg, a > b)
    L_SuperMov64JltImm : {
        const auto f = read_fields<kWordFields>(ip);
        reg[f.dst()] = reg[f.src()];
        ip = reg[f.pad()] < static_cast<uint64_t>(ip->imm) ? ip->target : ip + 2;
        BPFVM_DISPATCH();
    }
#undef BPFVM_SUPER_MOV_JMP
    // Both bytes are read before any register is written: the second load may overwrite the base.
    // A chain's middle and last steps take the base from `acc` (the pass chains the pair through
    // its base only), and every step but the last leaves the field in `acc` alone.
#define BPFVM_BE16(base)                                                                       \
    const uint64_t addr = (base) + static_cast<uint64_t>(int64_t{f.off()});                   \
    const uint64_t hi = load_mem<uint8_t>(addr), lo = load_mem<uint8_t>(addr + 1);             \
    reg[f.pad()] = lo;                                                                         \
    d = hi << 8 | lo
    BPFVM_SUPER_AT(L_SuperBe16Load, false, 4, reg[f.dst()], (void)0, 0, BPFVM_BE16(s), (void)0)
#if BPFVM_INTERP_THREADED
    BPFVM_SUPER_AT(L_ChainHead_SuperBe16Load, true, 4, acc, (void)0, 0, BPFVM_BE16(s), (void)0)
    BPFVM_SUPER_AT(L_ChainMid_SuperBe16Load, true, 4, acc, (void)0, 0, BPFVM_BE16(acc), (void)0)
    BPFVM_SUPER_AT(L_ChainTail_SuperBe16Load, true, 4, acc, (void)0, 0, BPFVM_BE16(acc), reg[f.dst()] = acc)
#endif
#undef BPFVM_BE16
    // The latches with a copy, each with the four compares of a family; `covers` slots fall
    // through. The body (the variadic arguments) runs first; the compare reads rJ after it. K is
    // imm's sign-extended low half.
#define BPFVM_LATCH(name, cond, covers, ...)                                                   \
    L_##name : {                                                                               \
        const auto f = read_fields<kWordFields>(ip);                                                  \
        __VA_ARGS__                                                                            \
        const uint64_t d = reg[f.src()];                                                       \
        const uint64_t c = static_cast<uint64_t>(static_cast<int64_t>(f.off()));               \
        ip = (cond) ? ip->target : ip + (covers);                                              \
        BPFVM_DISPATCH();                                                                      \
    }
#define BPFVM_LATCHES(family, covers, ...)                                                     \
    BPFVM_LATCH(family##Jeq, d == c, covers, __VA_ARGS__)                                      \
    BPFVM_LATCH(family##Jne, d != c, covers, __VA_ARGS__)                                      \
    BPFVM_LATCH(family##Jlt, d < c, covers, __VA_ARGS__)                                       \
    BPFVM_LATCH(family##Jgt, d > c, covers, __VA_ARGS__)
#define BPFVM_LATCH_K static_cast<uint64_t>(int64_t{static_cast<int32_t>(ip->imm)})
    // rI += K; rX = rY.
#define BPFVM_ADD_MOV                                                                          \
    reg[f.dst()] += BPFVM_LATCH_K;                                                             \
    reg[f.pad()] = reg[imm_byte(*ip, 4)];
    // After the add into the copied register, with I != Y: the sum is still rY's value when it
    // is copied. The register numbers are read before any register is written.
#define BPFVM_ADD_ADD_MOV(rY)                                                                  \
    const uint8_t y = imm_byte(*ip, 4), s = imm_byte(*ip, 5), i = f.dst(), x = f.pad();        \
    const uint64_t sum = (rY) + reg[s];                                                        \
    reg[y] = sum;                                                                              \
    reg[i] += BPFVM_LATCH_K;                                                                   \
    reg[x] = sum;
    // With I = Y: rY += rS + K, then the copy.
#define BPFVM_ADD_REG_IMM_MOV(rY)                                                              \
    const uint8_t y = f.dst(), s = imm_byte(*ip, 5), x = f.pad();                              \
    const uint64_t v = (rY) + reg[s] + BPFVM_LATCH_K;                                          \
    reg[y] = v;                                                                                \
    reg[x] = v;
    BPFVM_LATCHES(SuperAddMov, 3, BPFVM_ADD_MOV)
    BPFVM_LATCHES(SuperAddAddMov, 4, BPFVM_ADD_ADD_MOV(reg[y]))
    BPFVM_LATCHES(SuperAddRegImmMov, 4, BPFVM_ADD_REG_IMM_MOV(reg[y]))
#if BPFVM_INTERP_THREADED
    // The same latches as the last step of a chain on rY: its value comes from `acc`.
#define BPFVM_CHAINED if constexpr (kChecked) __builtin_unreachable();
    BPFVM_LATCHES(ChainTail_SuperAddAddMov, 4, BPFVM_CHAINED BPFVM_ADD_ADD_MOV(acc))
    BPFVM_LATCHES(ChainTail_SuperAddRegImmMov, 4, BPFVM_CHAINED BPFVM_ADD_REG_IMM_MOV(acc))
#undef BPFVM_CHAINED
#endif
#undef BPFVM_ADD_REG_IMM_MOV
#undef BPFVM_ADD_ADD_MOV
#undef BPFVM_ADD_MOV
#undef BPFVM_LATCH_K
#undef BPFVM_LATCHES
#undef BPFVM_LATCH
#define BPFVM_SUPER_FILL(name, value)                                                          \
    L_##name : {                                                                               \
        const uint64_t base = reg[ip->src], index = reg[ip->pad];                              \
        const uint64_t end = static_cast<uint64_t>(ip->imm);                                   \
        if (index < end) {                                                                     \
            std::memset(reinterpret_cast<void*>(base + index + static_cast<uint64_t>(int64_t{ip->off})), \
                        static_cast<uint8_t>(value), end - index);                             \
            reg[ip->pad] = end;                                                                \
            reg[ip->dst] = base + end - 1;                                                     \
            ip += 5;                                                                           \
        } else {                                                                               \
            reg[ip->dst] = base;                                                               \
            ++ip;                                                                              \
        }                                                                                      \
        BPFVM_DISPATCH();                                                                      \
    }
    BPFVM_SUPER_FILL(SuperFillReg, reg[ip[2].src])
    BPFVM_SUPER_FILL(SuperFillImm, ip[2].imm)
#undef BPFVM_SUPER_FILL
#undef BPFVM_SUPER
#undef BPFVM_COPY_SUPER
#undef BPFVM_SUPER_STEPS
#undef BPFVM_SUPER_AT
#undef BPFVM_IMM64
#undef BPFVM_IMM32
#undef BPFVM_SUPER_JMP
#undef BPFVM_SUPER_LDX8_JMP
#undef BPFVM_SUPER_LDX8_ALU
#undef BPFVM_SUPER_LDX8_LSH_TO

helper_stopped:
    if (ctx.stop == RunContext::kStopTailCall) {
        st.tail_call = true;
    } else if (st.trap.kind == TrapKind::None) {
        // A trap inside a callback (call_function) is already recorded and is more precise.
        st.set_trap(TrapKind::HelperFault, ip);
    }
    goto done;
budget_exhausted: __attribute__((unused));
    st.set_trap(TrapKind::InsnBudget, ip);
done:
    if constexpr (kChecked) {
        st.insns = n;
        // A run that stopped inside a block (trap, tail call, budget) did not run the block's rest.
        if (cov != nullptr && (st.trap.kind != TrapKind::None || st.tail_call))
            cov->stops.push_back(static_cast<uint32_t>(ip - st.slots));
    }
    return reg[0];
}

#undef BPFVM_CASE
#undef BPFVM_DISPATCH
#undef BPFVM_NEXT
#undef BPFVM_ALU
#undef BPFVM_JMP
#undef BPFVM_CHECK
#undef BPFVM_LOAD
#undef BPFVM_STORE
#undef BPFVM_LDX
#undef BPFVM_ST
#undef BPFVM_ATOMIC
#undef BPFVM_CMPXCHG
#undef BPFVM_LDACQ
#undef BPFVM_STREL
#undef BPFVM_LDPKT
#undef BPFVM_COVER_ENTRY
#undef BPFVM_COVER_BRANCH

}  // namespace
}  // namespace bpfvm::interp
