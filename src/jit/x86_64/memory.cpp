// x86-64 backend: loads, stores, atomics, legacy packet loads and the checked-mode access check.
#include <cstring>

#include "emitter.hpp"

namespace bpfvm::jit::x86 {
namespace {

using CC = ax::CondCode;

/// Result of a legacy packet load, returned in rax:rdx (SysV returns 16-byte structs in registers).
struct PacketLoad {
    uint64_t value;
    uint64_t end;  // non-zero: the program ends now (r0 = 0, or a trap recorded in the runtime)
};

// ld_abs / ld_ind: a big-endian load from the socket buffer at a 32-bit signed offset. Out of
// range ends the program with r0 = 0 (as in the kernel); without a packet the run traps.
// `site` is the instruction's pc in the low 32 bits and its Op above (the trap reports both).
PacketLoad load_packet(JitRuntime* rt, uint64_t offset, uint64_t size, uint64_t site) {
    const RunContext& ctx = *rt->ctx;
    if (ctx.pkt == nullptr) {
        rt->trap.kind = TrapKind::Unsupported;
        rt->trap.pc = static_cast<uint32_t>(site);
        rt->trap.addr = site >> 32;
        return {0, 1};
    }
    const auto off = static_cast<int64_t>(static_cast<int32_t>(offset));
    if (off < 0 || static_cast<uint64_t>(off) + size > ctx.pkt_len) return {0, 1};
    uint64_t value = 0;
    for (uint64_t i = 0; i < size; ++i) value = (value << 8) | ctx.pkt[off + static_cast<int64_t>(i)];
    return {value, 0};
}

// Caller-saved BPF registers (r0-r5) plus the address register, pushed around C calls made from
// inside an instruction. Eight pushes keep rsp 16-byte aligned.
const ax::Gp kVolatile[] = {ax::rax, ax::rdi, ax::rsi, ax::rdx, ax::rcx, ax::r8, kTmp0, kTmp0};

}  // namespace

ax::Mem Emitter::access(uint8_t base, int16_t off, unsigned bytes, bool write, uint32_t pc) {
    // Unchecked mode trusts the verifier. Checked mode: a constant r10-relative access inside the
    // frame needs no code; anything else computes the address into kTmp0 and tests it against the
    // current frame [r10 - 512, r10) inline, calling the region check out of line otherwise.
    if (!checked_ || static_frame_access(base, off, bytes)) return mem(q(base), off, bytes);
    const auto size = static_cast<uint8_t>(bytes);
    check_range(base, off, bytes, write, CheckStub{as_.newLabel(), as_.newLabel(), pc, size, write});
    return mem(kTmp0, 0, bytes);
}

ax::Mem Emitter::member_access(const Insn& insn, uint8_t base, unsigned bytes, bool write) {
    const auto index = static_cast<uint32_t>(&insn - prog_.insns.data());
    BPFVM_ASSERT(index < prog_.insns.size());  // marks are per instruction of the program, not of a copy
    uint32_t group = 0;
    switch (checked_ ? groups_.role(index, marks_.at[index], &group) : CheckGroupCursor::Role::kAlone) {
        case CheckGroupCursor::Role::kAlone: return access(base, insn.off, bytes, write, insn.pc);
        case CheckGroupCursor::Role::kCovered: return mem(q(base), insn.off, bytes);
        case CheckGroupCursor::Role::kLead: break;
    }
    const CheckGroup& g = groups_.groups()[group];
    // One group at a time: a group's code is placed before the next lead (peepholes take an access
    // only as their first instruction, fuse.cpp).
    BPFVM_ASSERT(open_group_stub_ == kNoStub);
    CheckStub stub{as_.newLabel(), as_.newLabel(), insn.pc, g.span, g.write};
    stub.group = group;
    stub.after = as_.newLabel();
    check_range(base, static_cast<int16_t>(g.lo), g.span, g.write, stub);
    open_group_stub_ = static_cast<uint32_t>(checks_.size() - 1);
    return mem(q(base), insn.off, bytes);
}

void Emitter::check_range(uint8_t base, int16_t off, unsigned bytes, bool write, const CheckStub& stub) {
    // Two inline tests: the current frame, and the region that last allowed an access of this kind
    // (JitRuntime::read_* / write_*). r10-based pointers test the frame first, others the region.
    as_.lea(kTmp0, ax::qword_ptr(q(base), off));
    auto frame_test = [&] {
        as_.lea(kTmp1, ax::qword_ptr(kTmp0, static_cast<int32_t>(kStackSize)));
        as_.sub(kTmp1, q(kFrameReg));  // addr - (r10 - 512): in [0, 512 - bytes] when inside the frame
        as_.cmp(kTmp1, static_cast<int32_t>(kStackSize - bytes));
    };
    auto region_test = [&] {
        as_.mov(kTmp1, kTmp0);
        as_.sub(kTmp1, write ? BPFVM_RT_FIELD(write_lo, 8) : BPFVM_RT_FIELD(read_lo, 8));
        as_.cmp(kTmp1, write ? BPFVM_RT_FIELD(write_starts, 8) : BPFVM_RT_FIELD(read_starts, 8));
    };
    if (base == kFrameReg) {
        frame_test();
        as_.j(CC::kUnsignedLE, stub.resume);
        region_test();
        as_.j(CC::kUnsignedGE, stub.label);
    } else {
        region_test();
        as_.j(CC::kUnsignedLT, stub.resume);
        frame_test();
        as_.j(CC::kUnsignedGT, stub.label);
    }
    as_.bind(stub.resume);
    checks_.push_back(stub);
}

// The out-of-line part of a checked access. Each site has a three-instruction stub that loads a
// packed descriptor (pc << 8 | size << 1 | write) into kTmp1 and calls one shared routine, which
// asks bpfvm_jit_check_access and returns on success, or records the trap and unwinds. A group's
// stub is the group's code again, each access with its own check.
void Emitter::emit_check_stubs() {
    emit_exit_stub();
    if (checks_.empty()) return;
    const a::Label shared = as_.newLabel();
    // By index: a group's second copy adds the stubs of its own checks, emitted in this loop too.
    for (size_t c = 0; c < checks_.size(); ++c) {
        const CheckStub s = checks_[c];
        as_.bind(s.label);
        if (s.group == CheckStub::kNoGroup) {
            as_.mov(kTmp1.r32(), (s.pc << 8) | (uint32_t{s.size} << 1) | (s.write ? 1u : 0u));
            as_.call(shared);
            as_.jmp(s.resume);
            continue;
        }
        // The group's span failed the inline tests: its code again, every access checked on its
        // own (no peepholes, which are only ever a choice of code for the same result), then back
        // after the group's code.
        const CheckGroup& g = groups_.groups()[s.group];
        BPFVM_ASSERT(s.last >= g.last);
        groups_.each_access = true;
        for (uint32_t k = g.lead; k <= s.last; ++k)
            if (!emit_insn(k)) BPFVM_ASSERT(!"check group: an instruction compiled once fails the second time");
        groups_.each_access = false;
        as_.jmp(s.after);
    }
    // Entered by `call` from BPF code (rsp 8 mod 16): nine slots restore the alignment.
    as_.bind(shared);
    for (const ax::Gp& r : kVolatile) as_.push(r);
    as_.push(kTmp1);
    as_.mov(BPFVM_RT_FIELD(frame, 8), q(kFrameReg));  // callers' frames are allowed too
    as_.mov(ax::rdi, kRt);
    as_.mov(ax::rsi, kTmp0);
    as_.mov(ax::edx, kTmp1.r32());
    as_.shr(ax::edx, 1);
    as_.and_(ax::edx, 0x7f);
    as_.mov(ax::ecx, kTmp1.r32());
    as_.and_(ax::ecx, 1);
    call_abs(reinterpret_cast<const void*>(&bpfvm_jit_check_access));
    as_.mov(kTmp2, ax::rax);
    as_.pop(kTmp1);
    for (size_t i = std::size(kVolatile); i-- > 0;) as_.pop(kVolatile[i]);
    as_.test(kTmp2, kTmp2);
    const a::Label fail = as_.newLabel();
    as_.j(CC::kZero, fail);
    as_.ret();
    as_.bind(fail);
    as_.mov(BPFVM_RT_TRAP(addr, 8), kTmp0);
    as_.mov(kTmp2.r32(), kTmp1.r32());
    as_.shr(kTmp2.r32(), 1);
    as_.and_(kTmp2.r32(), 0x7f);
    as_.mov(BPFVM_RT_TRAP(size, 4), kTmp2.r32());
    as_.mov(kTmp2.r32(), kTmp1.r32());
    as_.and_(kTmp2.r32(), 1);
    as_.mov(BPFVM_RT_TRAP(write, 1), kTmp2.r8());
    as_.shr(kTmp1.r32(), 8);
    as_.mov(BPFVM_RT_TRAP(pc, 4), kTmp1.r32());
    as_.mov(BPFVM_RT_TRAP(kind, 1), static_cast<uint8_t>(TrapKind::OutOfBounds));
    as_.jmp(unwind_);
}

// The `ret` that the exits moved out of the body (fuse.cpp: a conditional jump over an exit)
// share; the jumps to it are fix-ups to kExitStubId, which patch_branches fills in.
void Emitter::emit_exit_stub() {
    if (!exit_moved_) return;
    exit_stub_offset_ = static_cast<uint32_t>(as_.offset());
    as_.ret();
}

void Emitter::emit_load(const Insn& insn, unsigned bytes, bool sign) {
    emit_load_from(insn, bytes, sign, member_access(insn, insn.src, bytes, false));
}

void Emitter::emit_load_from(const Insn& insn, unsigned bytes, bool sign, const ax::Mem& m) {
    if (sign) {
        if (bytes == 4)
            as_.movsxd(q(insn.dst), m);
        else
            as_.movsx(q(insn.dst), m);
        return;
    }
    switch (bytes) {
        case 8: as_.mov(q(insn.dst), m); break;
        case 4: as_.mov(d(insn.dst), m); break;
        default: as_.movzx(d(insn.dst), m); break;
    }
}

void Emitter::emit_store(const Insn& insn, unsigned bytes) {
    emit_store_to(insn, bytes, member_access(insn, insn.dst, bytes, true));
}

void Emitter::emit_store_to(const Insn& insn, unsigned bytes, const ax::Mem& m) {
    if (op_info(insn.op).form != Form::St) {
        as_.mov(m, sized(q(insn.src), bytes * 8));
        return;
    }
    switch (bytes) {
        case 1: as_.mov(m, static_cast<int8_t>(insn.imm)); break;
        case 2: as_.mov(m, static_cast<int16_t>(insn.imm)); break;
        default: as_.mov(m, static_cast<int32_t>(insn.imm)); break;  // 8 bytes: sign-extended imm32
    }
}

// Atomics. Every lock-prefixed instruction (and xchg with memory) is a full barrier on x86, which
// is at least as strong as the ISA requires. fetch-or/and/xor have no x86 instruction returning the
// old value: they run a cmpxchg loop with rax as the comparand (r0 parked in kTmp2).
void Emitter::emit_atomic(const Insn& insn, unsigned bytes) {
    const unsigned bits = bytes * 8;
    ax::Mem m = access(insn.dst, insn.off, bytes, true, insn.pc);
    const ax::Gp src = sized(q(insn.src), bits);
    auto fetch_loop = [&](a::InstId id) {
        if (m.baseId() != kTmp0.id()) {
            as_.lea(kTmp0, m);
            m = mem(kTmp0, 0, bytes);
        }
        const bool src_rax = kHostReg[insn.src] == ax::Gp::kIdAx;
        as_.mov(kTmp2, ax::rax);  // the operand when src is r0, else r0 itself
        const ax::Gp operand = src_rax ? sized(kTmp2, bits) : src;
        const ax::Gp acc = sized(ax::rax, bits);
        const ax::Gp next = sized(kTmp1, bits);
        as_.mov(acc, m);
        const a::Label retry = as_.newLabel();
        as_.bind(retry);
        as_.mov(next, acc);
        as_.emit(id, next, operand);
        as_.lock().cmpxchg(m, next, acc);
        as_.j(CC::kNotZero, retry);
        as_.mov(src, acc);  // old value (zero-extended when 32-bit)
        if (!src_rax) as_.mov(ax::rax, kTmp2);
    };
    // The operation is the imm field of the opcodes.def row (RFC 9669 section 5.3).
    switch (op_info(insn.op).match_value) {
        case 0x00: as_.lock().add(m, src); break;
        case 0x40: as_.lock().or_(m, src); break;
        case 0x50: as_.lock().and_(m, src); break;
        case 0xa0: as_.lock().xor_(m, src); break;
        case 0x01: as_.lock().xadd(m, src); break;
        case 0x41: fetch_loop(ax::Inst::kIdOr); break;
        case 0x51: fetch_loop(ax::Inst::kIdAnd); break;
        case 0xa1: fetch_loop(ax::Inst::kIdXor); break;
        case 0xe1: as_.xchg(m, src); break;
        case 0xf1:
            as_.lock().cmpxchg(m, src, sized(ax::rax, bits));
            // On success a 32-bit cmpxchg leaves rax unwritten; r0 must be the zero-extended old value.
            if (bits == 32) as_.mov(ax::eax, ax::eax);
            break;
        default: BPFVM_ASSERT(!"emit_atomic: unknown atomic operation in opcodes.def");
    }
}

void Emitter::emit_packet_load(const Insn& insn, unsigned bytes, bool indirect) {
    // Like a helper call in the kernel, but r1-r5 are kept (the interpreter keeps them too).
    if (indirect) as_.mov(kTmp0, q(insn.src));
    for (const ax::Gp& r : kVolatile) {
        if (r.id() != ax::Gp::kIdAx) as_.push(r);
    }
    as_.push(kTmp0);  // alignment: seven pushes above, eight in total
    as_.mov(ax::rdi, kRt);
    if (indirect)
        as_.lea(ax::rsi, ax::qword_ptr(kTmp0, static_cast<int32_t>(insn.imm)));
    else
        as_.mov(ax::rsi, a::Imm(insn.imm));
    as_.mov(ax::edx, bytes);
    as_.mov(ax::rcx, a::Imm((uint64_t{static_cast<uint8_t>(insn.op)} << 32) | insn.pc));
    call_abs(reinterpret_cast<const void*>(&load_packet));
    as_.mov(kTmp1, ax::rdx);
    as_.pop(kTmp0);
    for (size_t i = std::size(kVolatile); i-- > 0;) {
        if (kVolatile[i].id() != ax::Gp::kIdAx) as_.pop(kVolatile[i]);
    }
    as_.test(kTmp1, kTmp1);
    const a::Label ok = as_.newLabel();
    as_.j(CC::kZero, ok);
    as_.xor_(ax::eax, ax::eax);
    as_.jmp(unwind_);
    as_.bind(ok);
}

}  // namespace bpfvm::jit::x86
