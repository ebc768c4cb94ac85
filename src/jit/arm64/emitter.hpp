// AArch64 backend internals: the fixed register table, the emitter state and the code generators
// for each instruction group (alu.cpp, memory.cpp, control.cpp). Only src/jit/arm64/ and the
// arm64 unit tests include this header.
//
// Execution model (AAPCS64):
//   * JitEntry / JitCallEntry save the callee-saved registers, load the JitRuntime state into
//     fixed host registers and `bl` into the BPF code, so every BPF function (the main program
//     included) is a host function: x30 always holds the return address of the current BPF
//     function and `exit` is a plain `ret`. Helper calls and slow paths save x30 around `blr`.
//   * A BPF-to-BPF call saves r6-r9, r10 and x30 on the host stack (48 bytes), moves r10 down by
//     kStackSize and `bl`s to the callee; the BPF stack frames themselves live in the driver's
//     stack area (JitRuntime::stack_bottom .. stack_top).
//   * A trap stores JitRuntime::trap, resets sp to the value saved after the prologue (x24) and
//     branches to the shared epilogue, which unwinds any depth of BPF calls at once.
#pragma once

#include <asmjit/core.h>
#include <asmjit/arm/a64assembler.h>
#include <asmjit/arm/a64utils.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "backend.hpp"
#include "check_groups.hpp"
#include "features.hpp"
#include "marks.hpp"

namespace bpfvm::jit::arm64 {

namespace a64 = asmjit::a64;
using asmjit::arm::CondCode;
using asmjit::Label;
using a64::GpW;
using a64::GpX;

/// Host register of each BPF register r0..r10. r1-r5 are the AAPCS64 argument registers, so helper
/// calls need no shuffling; r6-r9 and r10 are callee-saved, so they survive helper calls.
inline constexpr uint32_t kHostReg[kNumRegs] = {7, 0, 1, 2, 3, 4, 19, 20, 21, 22, 25};

// Fixed roles of the other callee-saved registers (valid while BPF code runs).
inline constexpr uint32_t kRegCtx = 23;         // RunContext* (sixth helper argument)
inline constexpr uint32_t kRegEntrySp = 24;     // host sp after the prologue: traps unwind to it
inline constexpr uint32_t kRegRuntime = 26;     // JitRuntime*
inline constexpr uint32_t kRegBudget = 27;      // checked mode: remaining back-edges + calls
inline constexpr uint32_t kRegStackLimit = 28;  // lowest legal r10: stack_bottom + kStackSize

// Scratch registers (caller-saved, never hold BPF state across instructions). kAddr holds the
// effective address of a checked access and survives the slow-path call (it is saved there).
inline constexpr uint32_t kAddr = 9;
inline constexpr uint32_t kTmp1 = 10;
inline constexpr uint32_t kTmp2 = 11;
inline constexpr uint32_t kTmp3 = 12;
inline constexpr uint32_t kTmp4 = 13;
inline constexpr uint32_t kImm = 16;   // immediates that do not fit an instruction, call targets
inline constexpr uint32_t kImm2 = 17;  // store values (st imm), second immediate

inline GpX xr(uint32_t id) { return a64::x(id); }
inline GpW wr(uint32_t id) { return a64::w(id); }
/// The host register of BPF register `r`, 64-bit or 32-bit view.
inline GpX bx(uint8_t r) { return a64::x(kHostReg[r]); }
inline GpW bw(uint8_t r) { return a64::w(kHostReg[r]); }

/// ALU operations, shared by the 32- and 64-bit, register and immediate forms.
enum class AluOp : uint8_t { Add, Sub, Mul, Div, Sdiv, Mod, Smod, Or, And, Xor, Lsh, Rsh, Arsh, Mov };
/// Atomic read-modify-write operations (RFC 9669 section 5.3).
enum class AtomicOp : uint8_t { Add, Or, And, Xor, Xchg, Cmpxchg };

/// Emits one program. Not reusable: construct, call run() once; the code goes to the sink.
class Emitter {
public:
    Emitter(const Program& program, const HelperTable& helpers, const EngineOptions& options);
    Emitter(const Emitter&) = delete;
    Emitter& operator=(const Emitter&) = delete;

    /// Emits the whole program and both entry points; errors name the instruction.
    Result<EmittedCode> run(CodeSink& sink);

private:
    // emit_arm64.cpp: entries, epilogue, dispatch, slow paths, traps.
    void emit_entry();
    void emit_call_entry();
    void emit_prologue();
    void emit_state_setup();
    Status emit_insn(size_t index);
    void emit_deferred();
    /// Branches to `target` when `cc` holds; far mode uses an inverted branch over `b`.
    void branch_if(CondCode cc, const Label& target);
    void branch_if_zero(const GpX& reg, const Label& target);
    void branch_if_nonzero(const GpX& reg, const Label& target);
    /// A label whose code stores Trap{kind, pc} (addr = kImm2 when `with_addr`, else `addr`) and unwinds.
    Label trap_label(TrapKind kind, uint32_t pc, bool with_addr = false, uint64_t addr = 0);
    bool back_jump(size_t index) const { return marks_.at[index] & kMarkBackJump; }
    /// Decrements the budget (checked mode) and traps InsnBudget when it goes negative.
    void emit_budget(uint32_t pc);
    /// Materialises `value` in `reg` (movz/movn + movk, or one orr when encodable).
    void mov_imm(const GpX& reg, uint64_t value);
    void mov_imm32(const GpW& reg, uint32_t value);
    void raw(uint32_t word);
    Status unsupported(const Insn& insn, const std::string& what) const;

    // alu.cpp
    void alu(const Insn& insn, AluOp op, unsigned width, bool imm);
    void alu_reg(AluOp op, unsigned width, uint8_t dst, const GpX& src);
    bool alu_imm_direct(AluOp op, unsigned width, uint8_t dst, int64_t imm);
    void divmod(AluOp op, unsigned width, uint8_t dst, const GpX& src);
    // divconst.cpp: constant divisors without UDIV/SDIV; false for 0, 1 and -1 (signed).
    bool divmod_const(const Insn& insn, AluOp op, unsigned width);
    void neg(const Insn& insn, unsigned width);
    void movsx(const Insn& insn, unsigned from, unsigned width);
    void endian(const Insn& insn, unsigned width, bool swap);

    // memory.cpp
    /// Puts base + off in a memory operand for an access of `size` bytes, bounds-checked in checked mode.
    a64::Mem address(const Insn& insn, uint8_t base, int16_t off, uint32_t size, bool write);
    /// [base, #off] (or [base, x16] when the offset does not fit): no check.
    a64::Mem base_address(uint8_t base, int16_t off, uint32_t size);
    /// The operand of a plain load or store through `base` (`insn` is an element of program_.insns):
    /// checked alone, as its group's lead for the group's span (check_groups.hpp), or not at all
    /// when its lead checked it.
    a64::Mem member_access(const Insn& insn, uint8_t base, uint32_t size, bool write);
    /// x9 = base + off, bounds-checked in checked mode unless it is a constant frame access.
    void address_in_x9(uint8_t base, int16_t off, uint32_t size, uint32_t pc, bool write);
    /// dst = base + off, in at most two ADD/SUB.
    void add_offset(const GpX& dst, const GpX& base, int64_t off);
    /// Checked mode: traps OutOfBounds unless [x9, x9 + size) (x9 = `base` + offset) is in the frame or
    /// an allowed region.
    void check_address(uint8_t base, uint32_t pc, uint32_t size, bool write);
    /// The inline part of a check of [x9, x9 + size): the current frame and the cached region
    /// (JitRuntime::read_* / write_*), in the order that suits `base`; branches to `slow` when both
    /// fail and binds `resume` after the tests.
    void check_inline(uint8_t base, uint32_t size, bool write, const Label& slow, const Label& resume);
    void load(const Insn& insn, unsigned size, bool sign);
    void store(const Insn& insn, unsigned size, bool imm);
    void atomic(const Insn& insn, AtomicOp op, bool fetch, unsigned width);
    /// Load-acquire (LDAR) or store-release (STLR) of `size` bytes.
    void acquire_release(const Insn& insn, unsigned size, bool load);
    void atomic_llsc(AtomicOp op, bool fetch, unsigned width, uint8_t src);
    void atomic_lse(AtomicOp op, bool fetch, unsigned width, uint8_t src);
    void atomic_plain(AtomicOp op, bool fetch, unsigned width, uint8_t src);
    void stlxr(const GpW& status, const GpX& value, const GpX& base, unsigned width);
    void ld_packet(const Insn& insn, unsigned size, bool indirect);

    // control.cpp
    void jump(size_t index, const Insn& insn);
    void may_goto(size_t index, const Insn& insn);
    /// x10 = the address of the running frame's may_goto budget, less offsetof(JitRuntime, may_goto).
    void may_goto_slot();
    void cond_jump(size_t index, const Insn& insn, CondCode cc, unsigned width, bool imm, bool test);
    void call_helper_at(const Insn& insn, const GpX& fn);
    Status call_helper(const Insn& insn);
    void callx(const Insn& insn);
    void call_local(const Insn& insn);
    void exit_insn();
    Status lddw(const Insn& insn);

    const Program& program_;
    const HelperTable& helpers_;
    const EngineOptions& options_;
    const bool use_lse_;
    // A conditional jump over an unconditional one (`if (c) goto +1; goto L`, clang's loop back
    // edge) is emitted as one jump on !c to L: cond_jump then branches to jump_to_ on the inverted
    // condition. The goto must not be a jump or call target (kMarkEntered).
    Label jump_to_;
    bool jump_inverted_ = false;
    bool far_ = false;  // program too large for +-1 MiB conditional branches

    asmjit::CodeHolder code_;
    struct ErrorSink : asmjit::ErrorHandler {
        asmjit::Error first = asmjit::kErrorOk;
        std::string message;
        void handleError(asmjit::Error err, const char* msg, asmjit::BaseEmitter*) override {
            if (first == asmjit::kErrorOk) {
                first = err;
                message = msg;
            }
        }
    } errors_;
    a64::Assembler* as_ = nullptr;  // lives in run()

    std::vector<Label> insn_labels_;   // one per Program::insns entry
    // Jump targets and backward jumps: checked mode pays one unit of budget on each taken backward
    // jump, so every loop is bounded (marks.hpp).
    ProgramMarks marks_;
    // Checked mode: accesses that share a check (check_groups.hpp), and the label after the code of
    // the group whose lead was emitted last while it is open (the run loop binds it after the last
    // member).
    CheckGroupCursor groups_;
    Label group_after_;
    bool group_open_ = false;
    bool may_goto_ = false;  // the program has may_goto: calls refill the callee frame's budget
    Label epilogue_;                   // shared exit: returns x7 (r0) to the C caller
    Label trap_common_;                // stores the trap from w10 (kind), w11 (pc), x17 (addr) and unwinds
    std::vector<std::function<void()>> deferred_;  // out-of-line slow paths, emitted after the code
};

}  // namespace bpfvm::jit::arm64
