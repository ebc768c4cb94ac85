// x86-64 backend: the switch on Op. Every row of opcodes.def appears here (no default: a new row
// breaks the build until it is handled).
#include "emitter.hpp"

namespace bpfvm::jit::x86 {

using CC = ax::CondCode;
using Id = ax::Inst::Id;

bool Emitter::emit_insn(uint32_t index) {
    const Insn& insn = prog_.insns[index];
    switch (insn.op) {
        // ALU, immediate and register forms.
        case Op::Add32Imm: emit_binop(insn, 32, true, Id::kIdAdd); break;
        case Op::Add64Imm: emit_binop(insn, 64, true, Id::kIdAdd); break;
        case Op::Add32Reg: emit_binop(insn, 32, false, Id::kIdAdd); break;
        case Op::Add64Reg: emit_binop(insn, 64, false, Id::kIdAdd); break;
        case Op::Sub32Imm: emit_binop(insn, 32, true, Id::kIdSub); break;
        case Op::Sub64Imm: emit_binop(insn, 64, true, Id::kIdSub); break;
        case Op::Sub32Reg: emit_binop(insn, 32, false, Id::kIdSub); break;
        case Op::Sub64Reg: emit_binop(insn, 64, false, Id::kIdSub); break;
        case Op::Mul32Imm: emit_binop(insn, 32, true, Id::kIdImul); break;
        case Op::Mul64Imm: emit_binop(insn, 64, true, Id::kIdImul); break;
        case Op::Mul32Reg: emit_binop(insn, 32, false, Id::kIdImul); break;
        case Op::Mul64Reg: emit_binop(insn, 64, false, Id::kIdImul); break;
        case Op::Or32Imm: emit_binop(insn, 32, true, Id::kIdOr); break;
        case Op::Or64Imm: emit_binop(insn, 64, true, Id::kIdOr); break;
        case Op::Or32Reg: emit_binop(insn, 32, false, Id::kIdOr); break;
        case Op::Or64Reg: emit_binop(insn, 64, false, Id::kIdOr); break;
        case Op::And32Imm: emit_binop(insn, 32, true, Id::kIdAnd); break;
        case Op::And64Imm: emit_binop(insn, 64, true, Id::kIdAnd); break;
        case Op::And32Reg: emit_binop(insn, 32, false, Id::kIdAnd); break;
        case Op::And64Reg: emit_binop(insn, 64, false, Id::kIdAnd); break;
        case Op::Xor32Imm: emit_binop(insn, 32, true, Id::kIdXor); break;
        case Op::Xor64Imm: emit_binop(insn, 64, true, Id::kIdXor); break;
        case Op::Xor32Reg: emit_binop(insn, 32, false, Id::kIdXor); break;
        case Op::Xor64Reg: emit_binop(insn, 64, false, Id::kIdXor); break;
        case Op::Mov32Imm: emit_mov(insn, 32, true); break;
        case Op::Mov64Imm: emit_mov(insn, 64, true); break;
        case Op::Mov32Reg: emit_mov(insn, 32, false); break;
        case Op::Mov64Reg: emit_mov(insn, 64, false); break;
        case Op::Neg32: emit_neg(insn, 32); break;
        case Op::Neg64: emit_neg(insn, 64); break;
        case Op::Lsh32Imm: emit_shift(insn, 32, true, Id::kIdShl); break;
        case Op::Lsh64Imm: emit_shift(insn, 64, true, Id::kIdShl); break;
        case Op::Lsh32Reg: emit_shift(insn, 32, false, Id::kIdShl); break;
        case Op::Lsh64Reg: emit_shift(insn, 64, false, Id::kIdShl); break;
        case Op::Rsh32Imm: emit_shift(insn, 32, true, Id::kIdShr); break;
        case Op::Rsh64Imm: emit_shift(insn, 64, true, Id::kIdShr); break;
        case Op::Rsh32Reg: emit_shift(insn, 32, false, Id::kIdShr); break;
        case Op::Rsh64Reg: emit_shift(insn, 64, false, Id::kIdShr); break;
        case Op::Arsh32Imm: emit_shift(insn, 32, true, Id::kIdSar); break;
        case Op::Arsh64Imm: emit_shift(insn, 64, true, Id::kIdSar); break;
        case Op::Arsh32Reg: emit_shift(insn, 32, false, Id::kIdSar); break;
        case Op::Arsh64Reg: emit_shift(insn, 64, false, Id::kIdSar); break;
        // Division and modulo: (width, immediate, signed, modulo).
        case Op::Div32Imm: emit_divmod(insn, 32, true, false, false); break;
        case Op::Div64Imm: emit_divmod(insn, 64, true, false, false); break;
        case Op::Div32Reg: emit_divmod(insn, 32, false, false, false); break;
        case Op::Div64Reg: emit_divmod(insn, 64, false, false, false); break;
        case Op::Sdiv32Imm: emit_divmod(insn, 32, true, true, false); break;
        case Op::Sdiv64Imm: emit_divmod(insn, 64, true, true, false); break;
        case Op::Sdiv32Reg: emit_divmod(insn, 32, false, true, false); break;
        case Op::Sdiv64Reg: emit_divmod(insn, 64, false, true, false); break;
        case Op::Mod32Imm: emit_divmod(insn, 32, true, false, true); break;
        case Op::Mod64Imm: emit_divmod(insn, 64, true, false, true); break;
        case Op::Mod32Reg: emit_divmod(insn, 32, false, false, true); break;
        case Op::Mod64Reg: emit_divmod(insn, 64, false, false, true); break;
        case Op::Smod32Imm: emit_divmod(insn, 32, true, true, true); break;
        case Op::Smod64Imm: emit_divmod(insn, 64, true, true, true); break;
        case Op::Smod32Reg: emit_divmod(insn, 32, false, true, true); break;
        case Op::Smod64Reg: emit_divmod(insn, 64, false, true, true); break;
        case Op::Movsx32_8: emit_movsx(insn, 32, 8); break;
        case Op::Movsx32_16: emit_movsx(insn, 32, 16); break;
        case Op::Movsx64_8: emit_movsx(insn, 64, 8); break;
        case Op::Movsx64_16: emit_movsx(insn, 64, 16); break;
        case Op::Movsx64_32: emit_movsx(insn, 64, 32); break;
        case Op::Le16: emit_endian(insn, false, 16); break;
        case Op::Le32: emit_endian(insn, false, 32); break;
        case Op::Le64: emit_endian(insn, false, 64); break;
        case Op::Be16:
        case Op::Bswap16: emit_endian(insn, true, 16); break;
        case Op::Be32:
        case Op::Bswap32: emit_endian(insn, true, 32); break;
        case Op::Be64:
        case Op::Bswap64: emit_endian(insn, true, 64); break;
        case Op::AddrSpaceCast:
            // Arena pointers need an arena map, which bpfvm does not have: the instruction traps.
            jmp(trap_stub(TrapKind::Unsupported, insn.pc, static_cast<uint32_t>(insn.op)));
            break;

        // Jumps: (condition, immediate, width, test instead of compare).
        case Op::Ja:
        case Op::Gotol:
            if (checked_ && back_jump(index)) emit_budget_tick(insn.pc);
            jmp(insn.target);
            break;
        case Op::MayGoto: emit_may_goto(insn, index); break;
        case Op::Jeq64Imm: emit_jump(insn, index, CC::kEqual, true, 64, false); break;
        case Op::Jeq32Imm: emit_jump(insn, index, CC::kEqual, true, 32, false); break;
        case Op::Jeq64Reg: emit_jump(insn, index, CC::kEqual, false, 64, false); break;
        case Op::Jeq32Reg: emit_jump(insn, index, CC::kEqual, false, 32, false); break;
        case Op::Jne64Imm: emit_jump(insn, index, CC::kNotEqual, true, 64, false); break;
        case Op::Jne32Imm: emit_jump(insn, index, CC::kNotEqual, true, 32, false); break;
        case Op::Jne64Reg: emit_jump(insn, index, CC::kNotEqual, false, 64, false); break;
        case Op::Jne32Reg: emit_jump(insn, index, CC::kNotEqual, false, 32, false); break;
        case Op::Jgt64Imm: emit_jump(insn, index, CC::kUnsignedGT, true, 64, false); break;
        case Op::Jgt32Imm: emit_jump(insn, index, CC::kUnsignedGT, true, 32, false); break;
        case Op::Jgt64Reg: emit_jump(insn, index, CC::kUnsignedGT, false, 64, false); break;
        case Op::Jgt32Reg: emit_jump(insn, index, CC::kUnsignedGT, false, 32, false); break;
        case Op::Jge64Imm: emit_jump(insn, index, CC::kUnsignedGE, true, 64, false); break;
        case Op::Jge32Imm: emit_jump(insn, index, CC::kUnsignedGE, true, 32, false); break;
        case Op::Jge64Reg: emit_jump(insn, index, CC::kUnsignedGE, false, 64, false); break;
        case Op::Jge32Reg: emit_jump(insn, index, CC::kUnsignedGE, false, 32, false); break;
        case Op::Jlt64Imm: emit_jump(insn, index, CC::kUnsignedLT, true, 64, false); break;
        case Op::Jlt32Imm: emit_jump(insn, index, CC::kUnsignedLT, true, 32, false); break;
        case Op::Jlt64Reg: emit_jump(insn, index, CC::kUnsignedLT, false, 64, false); break;
        case Op::Jlt32Reg: emit_jump(insn, index, CC::kUnsignedLT, false, 32, false); break;
        case Op::Jle64Imm: emit_jump(insn, index, CC::kUnsignedLE, true, 64, false); break;
        case Op::Jle32Imm: emit_jump(insn, index, CC::kUnsignedLE, true, 32, false); break;
        case Op::Jle64Reg: emit_jump(insn, index, CC::kUnsignedLE, false, 64, false); break;
        case Op::Jle32Reg: emit_jump(insn, index, CC::kUnsignedLE, false, 32, false); break;
        case Op::Jsgt64Imm: emit_jump(insn, index, CC::kSignedGT, true, 64, false); break;
        case Op::Jsgt32Imm: emit_jump(insn, index, CC::kSignedGT, true, 32, false); break;
        case Op::Jsgt64Reg: emit_jump(insn, index, CC::kSignedGT, false, 64, false); break;
        case Op::Jsgt32Reg: emit_jump(insn, index, CC::kSignedGT, false, 32, false); break;
        case Op::Jsge64Imm: emit_jump(insn, index, CC::kSignedGE, true, 64, false); break;
        case Op::Jsge32Imm: emit_jump(insn, index, CC::kSignedGE, true, 32, false); break;
        case Op::Jsge64Reg: emit_jump(insn, index, CC::kSignedGE, false, 64, false); break;
        case Op::Jsge32Reg: emit_jump(insn, index, CC::kSignedGE, false, 32, false); break;
        case Op::Jslt64Imm: emit_jump(insn, index, CC::kSignedLT, true, 64, false); break;
        case Op::Jslt32Imm: emit_jump(insn, index, CC::kSignedLT, true, 32, false); break;
        case Op::Jslt64Reg: emit_jump(insn, index, CC::kSignedLT, false, 64, false); break;
        case Op::Jslt32Reg: emit_jump(insn, index, CC::kSignedLT, false, 32, false); break;
        case Op::Jsle64Imm: emit_jump(insn, index, CC::kSignedLE, true, 64, false); break;
        case Op::Jsle32Imm: emit_jump(insn, index, CC::kSignedLE, true, 32, false); break;
        case Op::Jsle64Reg: emit_jump(insn, index, CC::kSignedLE, false, 64, false); break;
        case Op::Jsle32Reg: emit_jump(insn, index, CC::kSignedLE, false, 32, false); break;
        case Op::Jset64Imm: emit_jump(insn, index, CC::kNotZero, true, 64, true); break;
        case Op::Jset32Imm: emit_jump(insn, index, CC::kNotZero, true, 32, true); break;
        case Op::Jset64Reg: emit_jump(insn, index, CC::kNotZero, false, 64, true); break;
        case Op::Jset32Reg: emit_jump(insn, index, CC::kNotZero, false, 32, true); break;

        // Calls and exit.
        case Op::CallHelper: return emit_call_helper(insn);
        case Op::CallLocal: emit_call_local(insn); break;
        case Op::Callx: emit_callx(insn); break;
        case Op::CallKfunc:
            error_ = make_error(ErrorCode::kUnsupported,
                                "kfunc call (btf id " + std::to_string(insn.imm) + ") is not supported by the JIT", insn.pc);
            return false;
        case Op::Exit: as_.ret(); break;

        case Op::Lddw:
            if (insn.src == static_cast<uint8_t>(LddwKind::Imm64)) {
                as_.mov(q(insn.dst), a::Imm(insn.imm));
            } else if (insn.src == static_cast<uint8_t>(LddwKind::Func)) {
                as_.mov(d(insn.dst), insn.target);  // a function reference is the callee's instruction index
            } else {
                error_ = make_error(ErrorCode::kUnsupported,
                                    "lddw with unresolved pseudo source " + std::to_string(insn.src) +
                                        " (map or BTF reference) cannot be compiled",
                                    insn.pc);
                return false;
            }
            break;

        // Memory.
        case Op::LdAbsB: emit_packet_load(insn, 1, false); break;
        case Op::LdAbsH: emit_packet_load(insn, 2, false); break;
        case Op::LdAbsW: emit_packet_load(insn, 4, false); break;
        case Op::LdIndB: emit_packet_load(insn, 1, true); break;
        case Op::LdIndH: emit_packet_load(insn, 2, true); break;
        case Op::LdIndW: emit_packet_load(insn, 4, true); break;
        case Op::Ldx8: emit_load(insn, 1, false); break;
        case Op::Ldx16: emit_load(insn, 2, false); break;
        case Op::Ldx32: emit_load(insn, 4, false); break;
        case Op::Ldx64: emit_load(insn, 8, false); break;
        case Op::Ldxs8: emit_load(insn, 1, true); break;
        case Op::Ldxs16: emit_load(insn, 2, true); break;
        case Op::Ldxs32: emit_load(insn, 4, true); break;
        case Op::St8: emit_store(insn, 1); break;
        case Op::St16: emit_store(insn, 2); break;
        case Op::St32: emit_store(insn, 4); break;
        case Op::St64: emit_store(insn, 8); break;
        case Op::Stx8: emit_store(insn, 1); break;
        case Op::Stx16: emit_store(insn, 2); break;
        case Op::Stx32: emit_store(insn, 4); break;
        case Op::Stx64: emit_store(insn, 8); break;
        case Op::AtomicAdd32:
        case Op::AtomicOr32:
        case Op::AtomicAnd32:
        case Op::AtomicXor32:
        case Op::AtomicFetchAdd32:
        case Op::AtomicFetchOr32:
        case Op::AtomicFetchAnd32:
        case Op::AtomicFetchXor32:
        case Op::AtomicXchg32:
        case Op::AtomicCmpxchg32: emit_atomic(insn, 4); break;
        case Op::AtomicAdd64:
        case Op::AtomicOr64:
        case Op::AtomicAnd64:
        case Op::AtomicXor64:
        case Op::AtomicFetchAdd64:
        case Op::AtomicFetchOr64:
        case Op::AtomicFetchAnd64:
        case Op::AtomicFetchXor64:
        case Op::AtomicXchg64:
        case Op::AtomicCmpxchg64: emit_atomic(insn, 8); break;
        // x86-64 is TSO: plain loads are acquires and plain stores are releases, as in the kernel's JIT.
        // Operands sit where ldx and stx have them (dst = *(src + off), *(dst + off) = src).
        case Op::LoadAcquire8: emit_load(insn, 1, false); break;
        case Op::LoadAcquire16: emit_load(insn, 2, false); break;
        case Op::LoadAcquire32: emit_load(insn, 4, false); break;
        case Op::LoadAcquire64: emit_load(insn, 8, false); break;
        case Op::StoreRelease8: emit_store(insn, 1); break;
        case Op::StoreRelease16: emit_store(insn, 2); break;
        case Op::StoreRelease32: emit_store(insn, 4); break;
        case Op::StoreRelease64: emit_store(insn, 8); break;
    }
    return true;
}

}  // namespace bpfvm::jit::x86
