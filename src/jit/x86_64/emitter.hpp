// x86-64 backend internals: the register table, operand helpers and the per-program emitter.
// Private to src/jit/x86_64 (the arm64 backend never includes it).
//
// Code layout and invariants (see emitter.cpp for the prologues):
//   JitEntry / JitCallEntry: save host callee-saved registers, store rsp in JitRuntime::host_sp, then
//   `call` the BPF entry. Every BPF function (the main program included) is entered with `call` and
//   leaves with `ret`, so `exit` is always one `ret`. Inside BPF code rsp is 16-byte aligned, which
//   makes helper calls legal without adjustment. A trap stores JitRuntime::trap and restores rsp from
//   host_sp (the nesting depth does not matter), then runs the common epilogue.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <vector>

#include "backend.hpp"
#include "check_groups.hpp"
#include "encoder.hpp"
#include "features.hpp"
#include "marks.hpp"

namespace bpfvm::jit::x86 {

/// BPF register -> host register. r1-r5 are the SysV argument registers (helper calls need no
/// moves), r6-r9 and r10 are host callee-saved (they survive helper calls), r0 is rax (return value).
inline constexpr uint32_t kHostReg[kNumRegs] = {
    ax::Gp::kIdAx,  ax::Gp::kIdDi,  ax::Gp::kIdSi,  ax::Gp::kIdDx,  ax::Gp::kIdCx, ax::Gp::kIdR8,
    ax::Gp::kIdBx,  ax::Gp::kIdR13, ax::Gp::kIdR14, ax::Gp::kIdR15, ax::Gp::kIdBp,
};
inline const ax::Gp kRt = ax::r12;    // JitRuntime*, callee-saved
inline const ax::Gp kTmp0 = ax::r11;  // scratch: effective addresses (checked accesses), misc
inline const ax::Gp kTmp1 = ax::r10;  // scratch: divisors, immediates, call targets
inline const ax::Gp kTmp2 = ax::r9;   // scratch: saved rax/rdx, RunContext* for helper calls

inline ax::Gp q(uint8_t bpf_reg) { return ax::gpq(kHostReg[bpf_reg]); }
inline ax::Gp d(uint8_t bpf_reg) { return ax::gpd(kHostReg[bpf_reg]); }
inline ax::Gp w(uint8_t bpf_reg) { return ax::gpw(kHostReg[bpf_reg]); }
inline ax::Gp b(uint8_t bpf_reg) { return ax::gpb(kHostReg[bpf_reg]); }

/// A register of the given width (bits: 8, 16, 32 or 64) with the same id. A table lookup rather
/// than a switch: on branch-dense code the width follows no pattern a predictor learns.
inline ax::Gp sized(const ax::Gp& r, unsigned bits) {
    static constexpr ax::Gp kBySize[4][16] = {
#define BPFVM_GP_ROW(make) \
    {make(0), make(1), make(2), make(3), make(4), make(5), make(6), make(7), \
     make(8), make(9), make(10), make(11), make(12), make(13), make(14), make(15)}
        BPFVM_GP_ROW(ax::gpb), BPFVM_GP_ROW(ax::gpw), BPFVM_GP_ROW(ax::gpd), BPFVM_GP_ROW(ax::gpq),
#undef BPFVM_GP_ROW
    };
    return kBySize[std::countr_zero(bits) - 3][r.id() & 15];
}

/// Memory operand of `bytes` size at [base + disp].
inline ax::Mem mem(const ax::Gp& base, int32_t disp, unsigned bytes) { return ax::ptr(base, disp, bytes); }

/// JitRuntime field operands.
#define BPFVM_RT_FIELD(field, bytes) ax::ptr(kRt, static_cast<int32_t>(offsetof(JitRuntime, field)), bytes)
#define BPFVM_RT_TRAP(field, bytes) \
    ax::ptr(kRt, static_cast<int32_t>(offsetof(JitRuntime, trap) + offsetof(Trap, field)), bytes)

/// Out-of-line code emitted after the program body, reached through a branch target id.
struct TrapStub {  // UnknownHelper stubs also store kTmp0 (the helper id) as the trap address
    TrapKind kind;
    uint32_t pc;
    uint32_t addr;  // other kinds: a constant trap address (Unsupported: the Op)
};
struct CheckStub {  // checked mode: address in kTmp0 (a group's: base + lo) not in the current frame
    static constexpr uint32_t kNoGroup = UINT32_MAX;
    a::Label label;
    a::Label resume;
    uint32_t pc;
    uint8_t size;
    bool write;
    // A group's span (check_groups.hpp): the index of the group, the label after the code the
    // group's lead started (its last member, or the end of a peephole that took it), and the
    // instruction index there: the stub runs instructions [lead, last] with every access checked.
    uint32_t group = kNoGroup;
    a::Label after{};
    uint32_t last = 0;
};

/// Emits one program. Methods are spread over emitter.cpp (driver, control flow, calls),
/// dispatch.cpp (the switch on Op), fuse.cpp (peepholes), alu.cpp, divconst.cpp and memory.cpp.
class Emitter {
public:
    Emitter(const Program& program, const HelperTable& helpers, const EngineOptions& options, Encoder& as)
        : prog_(program), helpers_(helpers), checked_(options.checked), as_(as) {}

    /// Emits the whole program, entry points and stubs; fills offsets in `out`.
    Status emit(EmittedCode& out);

private:
    // dispatch.cpp. Returns false after storing the error in error_: a Status per instruction would
    // cost a 120-byte zero fill on the hot path of compilation.
    bool emit_insn(uint32_t index);
    // dispatch.cpp: the families emit_insn switches on before the Op (add, sub, or, and, xor; the
    // conditional jumps; plain loads and stores), operands from a per-Op table.
    void emit_alu(const Insn& insn);
    void emit_cond_jump(const Insn& insn, uint32_t index);
    void emit_load_store(const Insn& insn);  // ldx and stx, all sizes
    // alu.cpp
    void emit_mul(const Insn& insn, unsigned width, bool is_imm);
    void emit_mov(const Insn& insn, unsigned width, bool is_imm);
    void emit_neg(const Insn& insn, unsigned width);
    void emit_divmod(const Insn& insn, unsigned width, bool is_imm, bool is_signed, bool is_mod);
    // divconst.cpp: constant divisors other than 0, -1 and unsigned powers of two
    void emit_divmod_const32(const Insn& insn, bool is_signed, bool is_mod);
    void emit_divmod_const64(const Insn& insn, bool is_signed, bool is_mod);
    void emit_shift(const Insn& insn, unsigned width, bool is_imm, a::InstId id);
    void emit_endian(const Insn& insn, bool swap, unsigned width);
    void emit_movsx(const Insn& insn, unsigned width, unsigned from);
    // fuse.cpp: peepholes over short instruction sequences; returns how many instructions it
    // emitted (0: none, emit `index` alone). track_upper_zero updates upper_zero_ after each
    // instruction the emitter consumed.
    uint32_t emit_fused(uint32_t index);
    uint32_t emit_fused_control(uint32_t index);
    uint32_t emit_fused_zero_extension(uint32_t index);
    uint32_t emit_fused_accumulate(uint32_t index);
    uint32_t emit_fused_address(uint32_t index);
    uint32_t emit_fused_rotate(uint32_t index);
    bool jumps_over_exit(uint32_t index) const;
    void move_exit_out(uint32_t exit);
    uint32_t emit_folded_access(uint32_t index, uint8_t base, const ax::Mem& sum);
    uint32_t emit_fused_be16(uint32_t index);
    void emit_be16_load(uint8_t dst, const ax::Mem& m);
    // loops.cpp: whole loops as one host idiom (unchecked mode); returns the instructions used.
    uint32_t emit_fill_loop(uint32_t head);
    void track_upper_zero(const Insn& insn);
    /// Whether instruction `index` may be emitted inside a shape that starts before it: no path
    /// enters it, and it is not a write to r10 (which has to trap where it stands).
    bool fusible(uint32_t index) const {
        return index < prog_.insns.size() && !(marks_.at[index] & (kMarkEntered | kMarkFrameWrite));
    }
    /// The `count` instructions after `index` are fusible: a shape starting at `index` and covering
    /// them may be emitted as one (only its first instruction is a jump target).
    bool fusible_after(uint32_t index, uint32_t count) const {
        for (uint32_t k = 1; k <= count; ++k)
            if (!fusible(index + k)) return false;
        return true;
    }
    bool back_jump(uint32_t index) const { return marks_.at[index] & kMarkBackJump; }
    void emit_load_from(const Insn& insn, unsigned bytes, bool sign, const ax::Mem& m);
    // memory.cpp
    ax::Mem access(uint8_t base, int16_t off, unsigned bytes, bool write, uint32_t pc);
    /// The operand of a load or store through `base` (`insn` is an element of prog_.insns),
    /// checked alone, as its group's lead for the group's span, or not at all when its lead
    /// checked it.
    ax::Mem member_access(const Insn& insn, uint8_t base, unsigned bytes, bool write);
    /// The inline tests of [base + off, base + off + bytes), address left in kTmp0, and the
    /// out-of-line stub they jump to.
    void check_range(uint8_t base, int16_t off, unsigned bytes, bool write, const CheckStub& stub);
    void emit_load(const Insn& insn, unsigned bytes, bool sign);
    // A store of any form (St: immediate; Stx, StoreRelease: register) through insn.dst + off.
    void emit_store(const Insn& insn, unsigned bytes);
    // A store (St, Stx or StoreRelease form) to an operand the caller computed.
    void emit_store_to(const Insn& insn, unsigned bytes, const ax::Mem& m);
    void emit_atomic(const Insn& insn, unsigned bytes);
    void emit_packet_load(const Insn& insn, unsigned bytes, bool indirect);
    void emit_check_stubs();
    void emit_exit_stub();
    // emitter.cpp
    void emit_jump(const Insn& insn, uint32_t index, ax::CondCode cc, bool is_imm, unsigned width, bool test);
    void emit_may_goto(const Insn& insn, uint32_t index);
    ax::Mem may_goto_counter();
    void emit_budget_tick(uint32_t pc);
    void emit_after_helper(uint32_t pc);
    bool emit_call_helper(const Insn& insn);
    void emit_callx(const Insn& insn);
    void emit_call_local(const Insn& insn);
    uint32_t trap_stub(TrapKind kind, uint32_t pc, uint32_t addr = 0);
    void emit_entry_points(EmittedCode& out);
    void emit_trap_stubs();
    void call_abs(const void* fn);
    // Branches to BPF instructions and trap stubs (branch target ids: instruction indices,
    // kExitStubId for the shared ret of exits moved out of the body, then kStubId + trap stub
    // index). Placed here rather than through Encoder labels, which would
    // cost a label per jump target: a backward branch knows its displacement (short form when it
    // fits), a forward one leaves a rel32 that patch_branches fills in once every target is placed.
    static constexpr uint32_t kStubId = 0x80000000u;
    static constexpr uint32_t kExitStubId = kStubId - 1;
    using Branch = Encoder::Branch;
    void branch(Branch kind, uint32_t target, ax::CondCode cc = ax::CondCode::kO);
    void jmp(uint32_t target) { branch(Branch::Jmp, target); }
    void jcc(ax::CondCode cc, uint32_t target) { branch(Branch::Jcc, target, cc); }
    void patch_branches();

    const Program& prog_;
    const HelperTable& helpers_;
    const bool checked_;
    Encoder& as_;  // records the first operand it cannot encode; emit_x86_64 checks it at the end
    // Jump targets, loop heads and backward jumps (checked mode pays one unit of budget on each
    // taken backward jump, so every loop is bounded: marks.hpp).
    ProgramMarks marks_;
    bool may_goto_ = false;  // the program has may_goto: calls reset the callee frame's budget
    // Code offset of each instruction; instructions [0, placed_) have theirs (the first one of what
    // is being emitted included, so a jump to itself is backward).
    std::vector<uint32_t> offsets_;
    uint32_t placed_ = 0;
    struct Fixup {
        uint32_t at;      // offset of a rel32 field (the branch ends at at + 4)
        uint32_t target;  // branch target id
    };
    std::vector<Fixup> fixups_;
    // Registers (bit per BPF register) whose upper 32 bits are known to be zero at this point of
    // straight-line code; cleared at every jump target and call.
    uint32_t upper_zero_ = 0;
    // Set by a peephole for the one conditional jump it emits through emit_insn: jump there
    // (an instruction index) instead of the instruction's target, on the inverted condition.
    static constexpr uint32_t kNoTarget = UINT32_MAX;
    uint32_t jump_to_ = kNoTarget;
    bool jump_inverted_ = false;
    std::vector<TrapStub> traps_;
    std::vector<uint32_t> trap_offsets_;  // code offset of each trap stub, once emitted
    std::vector<CheckStub> checks_;
    // Checked mode: accesses that share a check (check_groups.hpp), and the stub in checks_ of the
    // group whose lead was emitted last, until the code it covers is placed.
    CheckGroupCursor groups_;
    static constexpr uint32_t kNoStub = UINT32_MAX;
    uint32_t open_group_stub_ = kNoStub;
    bool exit_moved_ = false;         // some exit's jumps go to the shared ret (fuse.cpp) ...
    uint32_t exit_stub_offset_ = 0;   // ... placed here by emit_exit_stub
    a::Label unwind_;  // restore rsp from host_sp, then the epilogue
    std::optional<Error> error_;  // the first instruction that cannot be compiled
};

}  // namespace bpfvm::jit::x86
