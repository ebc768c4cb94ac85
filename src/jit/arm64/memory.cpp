// AArch64 backend: loads, stores, atomics and legacy packet loads (RFC 9669 sections 5.1-5.4).
//
// Unchecked mode addresses memory as [base, #off] (LDR/LDUR pick the encoding for negative or
// unaligned offsets) or [base, x16] when the offset does not fit. Checked mode computes the address
// into x9 and tests it inline against the current frame [r10 - kStackSize, r10) and against the
// region that last allowed an access of its kind (JitRuntime::read_* / write_*, emptied after every
// helper call: control.cpp); anything else goes through bpfvm_jit_check_access in an out-of-line
// slow path that saves the BPF argument registers, r0 and x30, so the fast path keeps every
// register live. Loads and stores through one base register in straight-line code share one check
// (check_groups.hpp): the first checks the span of all, the others none, and a span that fails
// runs a second copy of the group's code with every access checked on its own.
//
// Atomics are sequentially consistent read-modify-writes, like the kernel's: either ARMv8.1 LSE
// instructions with acquire+release semantics (when the CPU has them) or LDXR/STLXR loops
// followed by DMB ISH. Memory operands of atomics must be naturally aligned, as in the kernel.
#include <sys/auxv.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "emitter.hpp"

#if defined(__aarch64__)
#include <asm/hwcap.h>
#endif

namespace bpfvm::jit::arm64 {

namespace {

std::atomic<int> g_lse_override{-1};

/// Result of a legacy packet load, returned in x0/x1 by AAPCS64 (a 16-byte aggregate).
struct PacketLoad {
    uint64_t value;
    uint64_t status;  // 0: loaded, 1: outside the packet (program ends with r0 = 0), 2: no packet
};

/// Reads `size` bytes big-endian at `offset` of the socket buffer (ld_abs / ld_ind).
extern "C" PacketLoad bpfvm_arm64_load_packet(const RunContext* ctx, uint64_t offset, uint64_t size) {
    if (ctx->pkt == nullptr) return {0, 2};
    if (offset > ctx->pkt_len || size > ctx->pkt_len - offset) return {0, 1};
    uint64_t v = 0;
    for (uint64_t i = 0; i < size; ++i) v = (v << 8) | ctx->pkt[offset + i];
    return {v, 0};
}

}  // namespace

void set_lse_override(int mode) { g_lse_override.store(mode); }

bool lse_available() {
    const int mode = g_lse_override.load();
    if (mode >= 0) return mode == 1;
    const char* env = std::getenv("BPFVM_ARM64_NO_LSE");
    if (env != nullptr && std::strcmp(env, "1") == 0) return false;
#if defined(__aarch64__) && defined(HWCAP_ATOMICS)
    return (getauxval(AT_HWCAP) & HWCAP_ATOMICS) != 0;
#else
    return false;
#endif
}

void Emitter::add_offset(const GpX& dst, const GpX& base, int64_t off) {
    const uint64_t magnitude = off < 0 ? uint64_t{0} - static_cast<uint64_t>(off) : static_cast<uint64_t>(off);
    if (off == 0) {
        as_->mov(dst, base);
    } else if (magnitude < (uint64_t{1} << 24)) {
        // ADD/SUB take 12 bits, optionally shifted by 12: at most two instructions.
        const uint64_t lo = magnitude & 0xfff, hi = magnitude & ~uint64_t{0xfff};
        const GpX* from = &base;
        for (const uint64_t part : {hi, lo}) {
            if (part == 0) continue;
            if (off > 0)
                as_->add(dst, *from, part);
            else
                as_->sub(dst, *from, part);
            from = &dst;
        }
    } else {
        mov_imm(xr(kImm), static_cast<uint64_t>(off));
        as_->add(dst, base, xr(kImm));
    }
}

void Emitter::check_inline(uint8_t base, uint32_t size, bool write, const Label& slow, const Label& resume) {
    // Two tests, each a flag-setting compare: the current frame (in it iff r10 - addr lies in
    // [size, kStackSize]: (r10 - addr - size) <= kStackSize - size, unsigned, which also rejects
    // addresses above r10 as the subtraction wraps), and the region that last allowed an access of
    // this kind (inside iff addr - lo < starts, unsigned; starts = 0 when the cache is empty). A
    // pointer based on r10 tests the frame first, any other the region first.
    static_assert(offsetof(JitRuntime, read_starts) == offsetof(JitRuntime, read_lo) + 8);
    static_assert(offsetof(JitRuntime, write_starts) == offsetof(JitRuntime, write_lo) + 8);
    BPFVM_ASSERT(size <= kMaxCheckSpan);  // the region cache admits accesses of at most 8 bytes
    const GpX addr = xr(kAddr);
    const GpX t = xr(kTmp1);
    auto frame_test = [&] {
        as_->sub(t, bx(kFrameReg), addr);
        as_->sub(t, t, size);
        as_->cmp(t, kStackSize - size);
    };
    auto region_test = [&] {
        const GpX starts = xr(kTmp2);
        const size_t lo = write ? offsetof(JitRuntime, write_lo) : offsetof(JitRuntime, read_lo);
        as_->ldp(t, starts, a64::ptr(xr(kRegRuntime), static_cast<int32_t>(lo)));
        as_->sub(t, addr, t);
        as_->cmp(t, starts);
    };
    if (base == kFrameReg) {
        frame_test();
        as_->b(CondCode::kLS, resume);
        region_test();
        branch_if(CondCode::kHS, slow);
    } else {
        region_test();
        as_->b(CondCode::kLO, resume);
        frame_test();
        branch_if(CondCode::kHI, slow);
    }
    as_->bind(resume);
}

void Emitter::check_address(uint8_t base, uint32_t pc, uint32_t size, bool write) {
    Label slow = as_->newLabel();
    Label back = as_->newLabel();
    check_inline(base, size, write, slow, back);

    deferred_.push_back([this, slow, back, pc, size, write] {
        as_->bind(slow);
        // Save what the call clobbers and the instruction still needs: r0-r5, the address, x30.
        as_->stp(bx(1), bx(2), a64::ptr_pre(a64::sp, -64));
        as_->stp(bx(3), bx(4), a64::ptr(a64::sp, 16));
        as_->stp(bx(5), bx(0), a64::ptr(a64::sp, 32));
        as_->stp(xr(kAddr), a64::x30, a64::ptr(a64::sp, 48));
        // The slow path also accepts the callers' frames [r10 - 512, stack_end): it needs r10.
        as_->str(bx(kFrameReg), a64::ptr(xr(kRegRuntime), offsetof(JitRuntime, frame)));
        as_->mov(a64::x0, xr(kRegRuntime));
        as_->mov(a64::x1, xr(kAddr));
        mov_imm(a64::x2, size);
        mov_imm(a64::x3, write ? 1 : 0);
        mov_imm(xr(kImm), reinterpret_cast<uint64_t>(&bpfvm_jit_check_access));
        as_->blr(xr(kImm));
        as_->mov(xr(kTmp1), a64::x0);
        as_->ldp(xr(kAddr), a64::x30, a64::ptr(a64::sp, 48));
        as_->ldp(bx(5), bx(0), a64::ptr(a64::sp, 32));
        as_->ldp(bx(3), bx(4), a64::ptr(a64::sp, 16));
        as_->ldp(bx(1), bx(2), a64::ptr_post(a64::sp, 64));
        Label denied = as_->newLabel();
        as_->cbz(xr(kTmp1), denied);
        as_->b(back);
        as_->bind(denied);
        as_->mov(xr(kImm2), xr(kAddr));
        mov_imm32(wr(kTmp1), static_cast<uint32_t>(TrapKind::OutOfBounds));
        mov_imm32(wr(kTmp2), pc);
        mov_imm32(wr(kTmp3), size);
        mov_imm32(wr(kTmp4), write ? 1 : 0);
        as_->b(trap_common_);
    });
}

a64::Mem Emitter::base_address(uint8_t base, int16_t off, uint32_t size) {
    const GpX b = bx(base);
    const auto sz = static_cast<int32_t>(size);
    const bool scaled = off >= 0 && off % sz == 0 && off / sz < 4096;
    if ((off >= -256 && off <= 255) || scaled) return a64::ptr(b, off);
    mov_imm(xr(kImm), static_cast<uint64_t>(int64_t{off}));
    return a64::ptr(b, xr(kImm));
}

void Emitter::address_in_x9(uint8_t base, int16_t off, uint32_t size, uint32_t pc, bool write) {
    add_offset(xr(kAddr), bx(base), off);
    if (options_.checked && !static_frame_access(base, off, size)) check_address(base, pc, size, write);
}

a64::Mem Emitter::address(const Insn& insn, uint8_t base, int16_t off, uint32_t size, bool write) {
    if (!options_.checked || static_frame_access(base, off, size)) return base_address(base, off, size);
    add_offset(xr(kAddr), bx(base), off);
    check_address(base, insn.pc, size, write);
    return a64::ptr(xr(kAddr));
}

a64::Mem Emitter::member_access(const Insn& insn, uint8_t base, uint32_t size, bool write) {
    const auto index = static_cast<uint32_t>(&insn - program_.insns.data());
    uint32_t group = 0;
    switch (options_.checked ? groups_.role(index, marks_.at[index], &group) : CheckGroupCursor::Role::kAlone) {
        case CheckGroupCursor::Role::kAlone: return address(insn, base, insn.off, size, write);
        case CheckGroupCursor::Role::kCovered: return base_address(base, insn.off, size);
        case CheckGroupCursor::Role::kLead: break;
    }
    const CheckGroup& g = groups_.groups()[group];
    BPFVM_ASSERT(!group_open_);
    Label slow = as_->newLabel();
    Label resume = as_->newLabel();
    add_offset(xr(kAddr), bx(base), g.lo);
    check_inline(base, g.span, g.write, slow, resume);
    // The run loop binds group_after_ after the last member's code (emit_arm64.cpp).
    group_after_ = as_->newLabel();
    group_open_ = true;
    deferred_.push_back([this, slow, after = group_after_, lead = g.lead, last = g.last] {
        // The span failed both inline tests: the group's code again, every access checked on its
        // own, so that a trap names the access and leaves memory as separate checks would; then
        // on after the group's code. Nothing in between has run yet: the stub starts at the lead.
        as_->bind(slow);
        groups_.each_access = true;
        for (uint32_t k = lead; k <= last; ++k)
            if (!emit_insn(k)) BPFVM_ASSERT(!"check group: an instruction compiled once fails the second time");
        groups_.each_access = false;
        as_->b(after);
    });
    return base_address(base, insn.off, size);
}

void Emitter::load(const Insn& insn, unsigned size, bool sign) {
    const a64::Mem m = member_access(insn, insn.src, size, false);
    const GpX dx = bx(insn.dst);
    const GpW dw = bw(insn.dst);
    switch (size) {
        case 1: sign ? as_->ldrsb(dx, m) : as_->ldrb(dw, m); break;
        case 2: sign ? as_->ldrsh(dx, m) : as_->ldrh(dw, m); break;
        case 4: sign ? as_->ldrsw(dx, m) : as_->ldr(dw, m); break;
        default: as_->ldr(dx, m); break;
    }
}

void Emitter::store(const Insn& insn, unsigned size, bool imm) {
    const a64::Mem m = member_access(insn, insn.dst, size, true);
    uint32_t value = kHostReg[insn.src];
    if (imm) {
        // The immediate is sign-extended to 64 bits; narrower stores keep its low bytes.
        if (insn.imm == 0) {
            value = a64::Gp::kIdZr;
        } else {
            mov_imm(xr(kImm2), static_cast<uint64_t>(insn.imm));
            value = kImm2;
        }
    }
    switch (size) {
        case 1: as_->strb(wr(value), m); break;
        case 2: as_->strh(wr(value), m); break;
        case 4: as_->str(wr(value), m); break;
        default: as_->str(xr(value), m); break;
    }
}

void Emitter::stlxr(const GpW& status, const GpX& value, const GpX& base, unsigned width) {
    // STLXR Ws, <Wt|Xt>, [Xn] (this asmjit snapshot rejects the 64-bit form, so encode it here):
    // size(31:30) 001000 0 0 0 Rs 1 11111 Rn Rt.
    const uint32_t size_bits = width == 64 ? 0xC0000000u : 0x80000000u;
    raw(size_bits | 0x0800FC00u | (status.id() << 16) | (base.id() << 5) | value.id());
}

void Emitter::atomic(const Insn& insn, AtomicOp op, bool fetch, unsigned width) {
    // Exclusive and LSE instructions take a bare base register: the address goes to x9.
    const uint32_t size = width / 8;
    address_in_x9(insn.dst, insn.off, size, insn.pc, true);
    // Exclusive and LSE accesses fault when misaligned; the kernel verifier rejects such programs,
    // and the interpreter runs them as plain read-modify-writes, so do the same out of line.
    Label misaligned = as_->newLabel();
    Label done = as_->newLabel();
    as_->tst(xr(kAddr), size - 1);
    branch_if(CondCode::kNE, misaligned);
    if (use_lse_)
        atomic_lse(op, fetch, width, insn.src);
    else
        atomic_llsc(op, fetch, width, insn.src);
    as_->bind(done);
    const uint8_t src = insn.src;
    deferred_.push_back([this, misaligned, done, op, fetch, width, src] {
        as_->bind(misaligned);
        atomic_plain(op, fetch, width, src);
        as_->b(done);
    });
}

namespace {

/// LDAR{B,H} / LDAR (32 or 64) and STLR{B,H} / STLR Rt, [Xn]: size(31:30) 001000 1 L 0 11111 1 11111
/// Rn Rt, with L = 1 for the load (encoded by hand like stlxr: this asmjit snapshot lacks them).
uint32_t acquire_release_word(bool load, unsigned size, uint32_t rn, uint32_t rt) {
    const uint32_t size_bits = size == 1 ? 0u : size == 2 ? 1u : size == 4 ? 2u : 3u;
    return (size_bits << 30) | (load ? 0x08DFFC00u : 0x089FFC00u) | (rn << 5) | rt;
}

}  // namespace

void Emitter::acquire_release(const Insn& insn, unsigned size, bool load) {
    // Load-acquire: dst = *(src + off); store-release: *(dst + off) = src. LDAR/STLR take a bare
    // base register: the address goes to x9.
    const uint8_t base = load ? insn.src : insn.dst;
    const uint8_t value = load ? insn.dst : insn.src;
    address_in_x9(base, insn.off, size, insn.pc, !load);
    Label done = as_->newLabel();
    if (size > 1) {
        // LDAR/STLR fault when misaligned; the verifier rejects such programs, so run a plain access
        // with a barrier out of line instead (as the interpreter does).
        Label misaligned = as_->newLabel();
        as_->tst(xr(kAddr), size - 1);
        branch_if(CondCode::kNE, misaligned);
        deferred_.push_back([this, misaligned, done, value, size, load] {
            as_->bind(misaligned);
            if (!load) as_->dmb(0xb);  // ISH: earlier accesses complete before the store
            const a64::Mem m = a64::ptr(xr(kAddr));
            switch (size) {
                case 2: load ? as_->ldrh(bw(value), m) : as_->strh(bw(value), m); break;
                case 4: load ? as_->ldr(bw(value), m) : as_->str(bw(value), m); break;
                default: load ? as_->ldr(bx(value), m) : as_->str(bx(value), m); break;
            }
            if (load) as_->dmb(0x9);  // ISHLD: later accesses stay after the load
            as_->b(done);
        });
    }
    raw(acquire_release_word(load, size, kAddr, kHostReg[value]));
    as_->bind(done);
}

void Emitter::atomic_plain(AtomicOp op, bool fetch, unsigned width, uint8_t src) {
    auto reg = [width](uint32_t id) { return width == 64 ? a64::Gp(xr(id)) : a64::Gp(wr(id)); };
    const a64::Gp s = reg(kHostReg[src]);
    const a64::Gp old = reg(kTmp1);
    const a64::Gp next = reg(kTmp2);
    const a64::Mem m = a64::ptr(xr(kAddr));
    as_->ldr(old, m);
    switch (op) {
        case AtomicOp::Add: as_->add(next, old, s); break;
        case AtomicOp::Or: as_->orr(next, old, s); break;
        case AtomicOp::And: as_->and_(next, old, s); break;
        case AtomicOp::Xor: as_->eor(next, old, s); break;
        case AtomicOp::Xchg: as_->mov(next, s); break;
        case AtomicOp::Cmpxchg: {
            Label skip = as_->newLabel();
            as_->cmp(old, reg(kHostReg[0]));
            as_->b(CondCode::kNE, skip);
            as_->str(s, m);
            as_->bind(skip);
            as_->mov(reg(kHostReg[0]), old);
            return;
        }
    }
    as_->str(next, m);
    if (fetch) as_->mov(s, old);
}

void Emitter::atomic_llsc(AtomicOp op, bool fetch, unsigned width, uint8_t src) {
    auto reg = [width](uint32_t id) { return width == 64 ? a64::Gp(xr(id)) : a64::Gp(wr(id)); };
    const a64::Gp s = reg(kHostReg[src]);
    const a64::Gp old = reg(kTmp1);
    const a64::Gp next = reg(kTmp2);
    const GpX base = xr(kAddr);
    const GpW status = wr(kTmp3);
    Label loop = as_->newLabel();
    Label done = as_->newLabel();
    as_->bind(loop);
    as_->ldxr(old, a64::ptr(base));
    switch (op) {
        case AtomicOp::Add: as_->add(next, old, s); break;
        case AtomicOp::Or: as_->orr(next, old, s); break;
        case AtomicOp::And: as_->and_(next, old, s); break;
        case AtomicOp::Xor: as_->eor(next, old, s); break;
        case AtomicOp::Xchg: break;
        case AtomicOp::Cmpxchg:
            as_->cmp(old, reg(kHostReg[0]));
            as_->b(CondCode::kNE, done);
            break;
    }
    const bool stores_src = op == AtomicOp::Xchg || op == AtomicOp::Cmpxchg;
    stlxr(status, xr(stores_src ? kHostReg[src] : kTmp2), base, width);
    as_->cbnz(status, loop);
    as_->bind(done);
    as_->dmb(0xb);  // ISH: full barrier, as the kernel's LL/SC sequences
    if (op == AtomicOp::Cmpxchg)
        as_->mov(reg(kHostReg[0]), old);
    else if (fetch)
        as_->mov(s, old);
}

void Emitter::atomic_lse(AtomicOp op, bool fetch, unsigned width, uint8_t src) {
    auto reg = [width](uint32_t id) { return width == 64 ? a64::Gp(xr(id)) : a64::Gp(wr(id)); };
    const a64::Gp s = reg(kHostReg[src]);
    const a64::Gp old = reg(kTmp1);
    const a64::Mem m = a64::ptr(xr(kAddr));
    switch (op) {
        case AtomicOp::Add: as_->ldaddal(s, old, m); break;
        case AtomicOp::Or: as_->ldsetal(s, old, m); break;
        case AtomicOp::And:
            // LDCLR clears the bits set in its operand: and(x, s) == clear(x, ~s).
            as_->mvn(reg(kTmp2), s);
            as_->ldclral(reg(kTmp2), old, m);
            break;
        case AtomicOp::Xor: as_->ldeoral(s, old, m); break;
        case AtomicOp::Xchg: as_->swpal(s, old, m); break;
        case AtomicOp::Cmpxchg:
            as_->mov(old, reg(kHostReg[0]));
            as_->casal(old, s, m);
            as_->mov(reg(kHostReg[0]), old);
            return;
    }
    if (fetch) as_->mov(s, old);
}

void Emitter::ld_packet(const Insn& insn, unsigned size, bool indirect) {
    // r0 = big-endian load at imm (+ src for ld_ind). The C helper clobbers the caller-saved
    // registers; r1-r5 are restored so that the instruction only writes r0.
    // The offset is a signed 32-bit value (the kernel's int offset): ld_ind adds in 32 bits and
    // sign-extends; a negative offset is outside the packet.
    if (indirect) {
        mov_imm32(wr(kImm), static_cast<uint32_t>(insn.imm));
        as_->add(wr(kAddr), bw(insn.src), wr(kImm));
        as_->sxtw(xr(kAddr), wr(kAddr));
    } else {
        mov_imm(xr(kAddr), static_cast<uint64_t>(insn.imm));
    }
    as_->stp(bx(1), bx(2), a64::ptr_pre(a64::sp, -48));
    as_->stp(bx(3), bx(4), a64::ptr(a64::sp, 16));
    as_->stp(bx(5), a64::x30, a64::ptr(a64::sp, 32));
    as_->mov(a64::x0, xr(kRegCtx));
    as_->mov(a64::x1, xr(kAddr));
    as_->mov(a64::x2, size);
    mov_imm(xr(kImm), reinterpret_cast<uint64_t>(&bpfvm_arm64_load_packet));
    as_->blr(xr(kImm));
    as_->mov(bx(0), a64::x0);
    as_->mov(xr(kTmp1), a64::x1);
    as_->ldp(bx(5), a64::x30, a64::ptr(a64::sp, 32));
    as_->ldp(bx(3), bx(4), a64::ptr(a64::sp, 16));
    as_->ldp(bx(1), bx(2), a64::ptr_post(a64::sp, 48));
    Label failed = as_->newLabel();
    branch_if_nonzero(xr(kTmp1), failed);
    Label no_packet = trap_label(TrapKind::Unsupported, insn.pc, false, static_cast<uint64_t>(insn.op));
    deferred_.push_back([this, failed, no_packet] {
        // Outside the packet: the program ends normally with r0 = 0, from any call depth.
        as_->bind(failed);
        as_->cmp(xr(kTmp1), 1);
        as_->b(CondCode::kNE, no_packet);
        as_->mov(bx(0), a64::xzr);
        as_->mov(a64::sp, xr(kRegEntrySp));
        as_->b(epilogue_);
    });
}

}  // namespace bpfvm::jit::arm64
