// Small instruction builders and a runner that executes a program on every interpreter variant
// (computed goto and switch dispatch, checked and unchecked) and checks that they agree. The
// builders construct RawInsn directly so that these tests do not depend on the assembler.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "bpfvm/detail/interpreter.hpp"
#include "interpreter/internal.hpp"

namespace bpfvm::itest {

using Code = std::vector<RawInsn>;

// Opcode parts (RFC 9669 section 3).
inline constexpr uint8_t kLd = 0x00, kLdx = 0x01, kSt = 0x02, kStx = 0x03, kAlu = 0x04, kJmp = 0x05, kJmp32 = 0x06,
                         kAlu64 = 0x07;
inline constexpr uint8_t kK = 0x00, kX = 0x08;
inline constexpr uint8_t kAdd = 0x00, kSub = 0x10, kMul = 0x20, kDiv = 0x30, kOr = 0x40, kAnd = 0x50, kLsh = 0x60,
                         kRsh = 0x70, kNeg = 0x80, kMod = 0x90, kXor = 0xa0, kMov = 0xb0, kArsh = 0xc0, kEnd = 0xd0;
inline constexpr uint8_t kJa = 0x00, kJeq = 0x10, kJgt = 0x20, kJge = 0x30, kJset = 0x40, kJne = 0x50, kJsgt = 0x60,
                         kJsge = 0x70, kCall = 0x80, kExit = 0x90, kJlt = 0xa0, kJle = 0xb0, kJslt = 0xc0, kJsle = 0xd0;
inline constexpr uint8_t kW = 0x00, kH = 0x08, kB = 0x10, kDW = 0x18;
inline constexpr uint8_t kImm = 0x00, kAbs = 0x20, kInd = 0x40, kMem = 0x60, kMemSx = 0x80, kAtomic = 0xc0;
inline constexpr int32_t kFetch = 0x01, kXchg = 0xe0 | kFetch, kCmpxchg = 0xf0 | kFetch;

inline Code insn(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return {RawInsn::make(opcode, dst, src, off, imm)};
}
inline Code alu64(uint8_t op, uint8_t dst, int32_t imm, int16_t off = 0) { return insn(kAlu64 | op | kK, dst, 0, off, imm); }
inline Code alu64r(uint8_t op, uint8_t dst, uint8_t src, int16_t off = 0) { return insn(kAlu64 | op | kX, dst, src, off, 0); }
inline Code alu32(uint8_t op, uint8_t dst, int32_t imm, int16_t off = 0) { return insn(kAlu | op | kK, dst, 0, off, imm); }
inline Code alu32r(uint8_t op, uint8_t dst, uint8_t src, int16_t off = 0) { return insn(kAlu | op | kX, dst, src, off, 0); }
inline Code mov64(uint8_t dst, int32_t imm) { return alu64(kMov, dst, imm); }
inline Code mov64r(uint8_t dst, uint8_t src) { return alu64r(kMov, dst, src); }
inline Code exit_() { return insn(kJmp | kExit, 0, 0, 0, 0); }
inline Code ja(int16_t off) { return insn(kJmp | kJa, 0, 0, off, 0); }
inline Code jmp(uint8_t op, uint8_t dst, int32_t imm, int16_t off) { return insn(kJmp | op | kK, dst, 0, off, imm); }
inline Code jmpr(uint8_t op, uint8_t dst, uint8_t src, int16_t off) { return insn(kJmp | op | kX, dst, src, off, 0); }
inline Code jmp32(uint8_t op, uint8_t dst, int32_t imm, int16_t off) { return insn(kJmp32 | op | kK, dst, 0, off, imm); }
inline Code jmp32r(uint8_t op, uint8_t dst, uint8_t src, int16_t off) { return insn(kJmp32 | op | kX, dst, src, off, 0); }
inline Code lddw(uint8_t dst, uint64_t value, uint8_t src = 0) {
    Code c = insn(kLd | kImm | kDW, dst, src, 0, static_cast<int32_t>(static_cast<uint32_t>(value)));
    c.push_back(insn(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(value >> 32)))[0]);
    return c;
}
inline Code ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return insn(kLdx | kMem | size, dst, src, off, 0); }
inline Code ldxs(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return insn(kLdx | kMemSx | size, dst, src, off, 0); }
inline Code st(uint8_t size, uint8_t dst, int16_t off, int32_t imm) { return insn(kSt | kMem | size, dst, 0, off, imm); }
inline Code stx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return insn(kStx | kMem | size, dst, src, off, 0); }
inline Code atomic(uint8_t size, uint8_t dst, uint8_t src, int16_t off, int32_t op) {
    return insn(kStx | kAtomic | size, dst, src, off, op);
}
inline Code call_helper(int32_t id) { return insn(kJmp | kCall, 0, 0, 0, id); }
inline Code call_local(int32_t rel) { return insn(kJmp | kCall, 0, 1, 0, rel); }
inline Code callx(uint8_t reg) { return insn(kJmp | kCall | kX, reg, 0, 0, 0); }
inline Code ld_abs(uint8_t size, int32_t imm) { return insn(kLd | kAbs | size, 0, 0, 0, imm); }
inline Code ld_ind(uint8_t size, uint8_t src, int32_t imm) { return insn(kLd | kInd | size, 0, src, 0, imm); }

/// Concatenates instruction pieces.
inline Code cat(std::initializer_list<Code> pieces) {
    Code out;
    for (const Code& p : pieces) out.insert(out.end(), p.begin(), p.end());
    return out;
}

inline Program decode_or_die(const Code& code) {
    auto prog = decode_program(std::span<const RawInsn>(code));
    EXPECT_TRUE(prog.has_value()) << prog.error().to_string();
    return prog.has_value() ? std::move(prog.value()) : Program{};
}

/// How to run a program in the tests.
struct RunSpec {
    uint64_t r1 = 0;
    uint64_t r2 = 0;
    RunContext* ctx = nullptr;           // null: a fresh empty context per run
    const HelperTable* helpers = nullptr;
    uint64_t budget = 1'000'000;
    bool checked_only = false;           // programs that trap (unchecked mode has no checks to agree on)
};

inline const HelperTable& empty_helpers() {
    static const HelperTable table;
    return table;
}

inline RunResult run_one(const Program& prog, const interp::Dispatch& dispatch, bool checked, const RunSpec& spec) {
    EngineOptions options;
    options.checked = checked;
    options.insn_budget = spec.budget;
    auto exe = interp::prepare_with(prog, spec.helpers ? *spec.helpers : empty_helpers(), options, dispatch);
    EXPECT_TRUE(exe.has_value()) << exe.error().to_string();
    if (!exe.has_value()) return {};
    RunContext fresh;
    RunContext& ctx = spec.ctx ? *spec.ctx : fresh;
    return (*exe)->run(ctx, spec.r1, spec.r2);
}

/// Runs on every variant; checks that r0, the trap and the tail-call flag agree, and that the
/// checked runs agree on the instruction count. Returns the checked computed-goto result.
inline RunResult run_all(const Code& code, const RunSpec& spec = {}) {
    const Program prog = decode_or_die(code);
    if (prog.insns.empty()) return {};
    const RunResult ref = run_one(prog, interp::default_dispatch(), true, spec);
    const RunResult sw = run_one(prog, interp::switch_dispatch(), true, spec);
    EXPECT_EQ(sw.r0, ref.r0) << "switch dispatch disagrees";
    EXPECT_EQ(sw.trap.kind, ref.trap.kind);
    EXPECT_EQ(sw.trap.pc, ref.trap.pc);
    EXPECT_EQ(sw.insns, ref.insns);
    EXPECT_EQ(sw.tail_call, ref.tail_call);
    if (!spec.checked_only) {
        for (const interp::Dispatch* d : {&interp::default_dispatch(), &interp::switch_dispatch()}) {
            const RunResult un = run_one(prog, *d, false, spec);
            EXPECT_EQ(un.r0, ref.r0) << "unchecked " << d->name << " disagrees";
            EXPECT_EQ(un.trap.kind, ref.trap.kind);
            EXPECT_EQ(un.tail_call, ref.tail_call);
        }
    }
    return ref;
}

/// Slots as prepare fills them (op and fields; targets resolved; labels from `labels` when given),
/// then the superinstruction pass (and the register chains when `chain_labels` is given).
inline std::vector<interp::Slot> fused_slots(const Program& program, const void* const* labels = nullptr,
                                             const void* const* chain_labels = nullptr) {
    std::vector<interp::Slot> slots(program.insns.size());
    for (size_t i = 0; i < slots.size(); ++i) {
        const Insn& insn = program.insns[i];
        slots[i].op = static_cast<uint8_t>(insn.op);
        slots[i].dst = insn.dst;
        slots[i].src = insn.src;
        slots[i].off = insn.off;
        slots[i].imm = insn.imm;
        slots[i].label = labels != nullptr ? labels[slots[i].op] : nullptr;
        if (is_jump(insn.op)) slots[i].target = &slots[insn.target];
    }
    interp::install_superinstructions(program, slots.data(), labels, chain_labels);
    return slots;
}

/// Runs `code` and expects it to finish without a trap and return `expected`.
inline void expect_r0(const Code& code, uint64_t expected, const RunSpec& spec = {}) {
    const RunResult r = run_all(code, spec);
    EXPECT_EQ(r.trap.kind, TrapKind::None) << "trap at insn " << r.trap.pc;
    EXPECT_EQ(r.r0, expected);
}

/// Assembler text that folds r0 and r1..r`last` into r0, then exits: a program's end that makes
/// every register it leaves count in the result. It starts with a store and a load of r0, so that
/// no register chain or superinstruction on r0 runs into it.
inline std::string fold_registers(int last) {
    std::string text = "stxdw [%r10-16], %r0\nldxdw %r0, [%r10-16]\n";
    for (int r = 1; r <= last; ++r) text += "mul %r0, 1000003\nxor %r0, %r" + std::to_string(r) + "\n";
    return text + "exit";
}

}  // namespace bpfvm::itest
