// x86-64 backend: the switch on Op. Every row of opcodes.def appears here (no default: a new row
// breaks the build until it is handled).
#include <array>
#include <bit>

#include "emitter.hpp"

namespace bpfvm::jit::x86 {

using CC = ax::CondCode;
using Id = ax::Inst::Id;

namespace {

// The three families that make up most code (the ALU operations with one x86 encoding scheme,
// conditional jumps, plain loads and stores), each emitted by one table-driven function, and
// what those need of an Op, from its opcode byte (RFC 9669 section 4: operation code in the high
// four bits, source bit 0x08). Branch-dense code mixes these Ops in no pattern a predictor
// learns: g++ compiles the switch on Op into a tree of compares on the Op's value before its jump
// tables, and a case per Op cost mispredicted branches on every instruction. A switch on the
// family comes first; its outcome follows the shape of the code, not the exact Op.
enum class Family : uint8_t { kOther, kAlu, kCondJump, kLoadStore };

struct OpShape {
    Family family = Family::kOther;
    uint8_t row = 0;            // ALU: the x86 /n row (add 0, or 1, and 4, sub 5, xor 6)
    CC cc = CC::kO;             // jumps: the condition that takes the jump
    bool test = false;          // jumps: jset (test, not cmp)
};

constexpr std::array<OpShape, kNumOps> op_shapes() {
    std::array<OpShape, kNumOps> out{};
    for (size_t i = 0; i < kNumOps; ++i) {
        const OpInfo& info = kOpInfoTable[i];
        const unsigned code = info.opcode >> 4;
        if (info.form == Form::AluImm || info.form == Form::AluReg) {
            constexpr int8_t kRow[16] = {0, 5, -1, -1, 1, 4, -1, -1, -1, -1, 6, -1, -1, -1, -1, -1};
            if (kRow[code] >= 0) {
                out[i].family = Family::kAlu;
                out[i].row = static_cast<uint8_t>(kRow[code]);
            }
        } else if (info.form == Form::Ldx || info.form == Form::Stx) {
            out[i].family = Family::kLoadStore;
        } else if (info.form == Form::JmpImm || info.form == Form::JmpReg) {
            out[i].family = Family::kCondJump;
            constexpr CC kCond[16] = {CC::kO,          CC::kEqual,      CC::kUnsignedGT, CC::kUnsignedGE,
                                      CC::kNotZero,    CC::kNotEqual,   CC::kSignedGT,   CC::kSignedGE,
                                      CC::kO,          CC::kO,          CC::kUnsignedLT, CC::kUnsignedLE,
                                      CC::kSignedLT,   CC::kSignedLE,   CC::kO,          CC::kO};
            out[i].cc = kCond[code];
            out[i].test = code == 4;
        }
    }
    return out;
}

constexpr std::array<OpShape, kNumOps> kShapes = op_shapes();

bool has_imm(Op op) {
    const Form form = op_info(op).form;
    return form == Form::AluImm || form == Form::JmpImm;
}

}  // namespace

void Emitter::emit_alu(const Insn& insn) {
    const OpShape s = kShapes[static_cast<size_t>(insn.op)];
    const bool wide = op_info(insn.op).width == 64;
    if (has_imm(insn.op))  // imm32 is sign-extended by both the ISA (64-bit forms) and the x86 encoding
        as_.alu_ri(s.row, kHostReg[insn.dst], wide, static_cast<int32_t>(insn.imm));
    else
        as_.alu_rr(s.row, kHostReg[insn.dst], kHostReg[insn.src], wide);
}

void Emitter::emit_load_store(const Insn& insn) {
    const OpInfo& info = op_info(insn.op);
    const bool store = info.form == Form::Stx;
    const unsigned bytes = info.width / 8;
    const uint8_t base = store ? insn.dst : insn.src;
    if (!checked_ || static_frame_access(base, insn.off, bytes)) {
        as_.load_store(store, static_cast<unsigned>(std::countr_zero(bytes)), kHostReg[store ? insn.src : insn.dst],
                       kHostReg[base], insn.off);
        return;
    }
    if (store)
        emit_store(insn, bytes);
    else
        emit_load(insn, bytes, false);
}

void Emitter::emit_cond_jump(const Insn& insn, uint32_t index) {
    const OpShape s = kShapes[static_cast<size_t>(insn.op)];
    emit_jump(insn, index, s.cc, has_imm(insn.op), op_info(insn.op).width, s.test);
}

bool Emitter::emit_insn(uint32_t index) {
    const Insn& insn = prog_.insns[index];
    switch (kShapes[static_cast<size_t>(insn.op)].family) {
        case Family::kAlu: emit_alu(insn); return true;
        case Family::kCondJump: emit_cond_jump(insn, index); return true;
        case Family::kLoadStore: emit_load_store(insn); return true;
        case Family::kOther: break;
    }
    switch (insn.op) {
        // ALU, immediate and register forms. The families of the switch above (add, sub, or, and,
        // xor here; below the conditional jumps and plain loads and stores) never get this far,
        // but stay listed, so that every row appears.
        case Op::Add32Imm: case Op::Add64Imm: case Op::Add32Reg: case Op::Add64Reg:
        case Op::Sub32Imm: case Op::Sub64Imm: case Op::Sub32Reg: case Op::Sub64Reg:
        case Op::Or32Imm: case Op::Or64Imm: case Op::Or32Reg: case Op::Or64Reg:
        case Op::And32Imm: case Op::And64Imm: case Op::And32Reg: case Op::And64Reg:
        case Op::Xor32Imm: case Op::Xor64Imm: case Op::Xor32Reg: case Op::Xor64Reg: emit_alu(insn); break;
        case Op::Mul32Imm: emit_mul(insn, 32, true); break;
        case Op::Mul64Imm: emit_mul(insn, 64, true); break;
        case Op::Mul32Reg: emit_mul(insn, 32, false); break;
        case Op::Mul64Reg: emit_mul(insn, 64, false); break;
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

        // Jumps.
        case Op::Ja:
        case Op::Gotol:
            if (checked_ && back_jump(index)) emit_budget_tick(insn.pc);
            jmp(insn.target);
            break;
        case Op::MayGoto: emit_may_goto(insn, index); break;
        // Conditional jumps (a family: the condition, width and operand from the table).
        case Op::Jeq64Imm: case Op::Jeq32Imm: case Op::Jeq64Reg: case Op::Jeq32Reg:
        case Op::Jne64Imm: case Op::Jne32Imm: case Op::Jne64Reg: case Op::Jne32Reg:
        case Op::Jgt64Imm: case Op::Jgt32Imm: case Op::Jgt64Reg: case Op::Jgt32Reg:
        case Op::Jge64Imm: case Op::Jge32Imm: case Op::Jge64Reg: case Op::Jge32Reg:
        case Op::Jlt64Imm: case Op::Jlt32Imm: case Op::Jlt64Reg: case Op::Jlt32Reg:
        case Op::Jle64Imm: case Op::Jle32Imm: case Op::Jle64Reg: case Op::Jle32Reg:
        case Op::Jsgt64Imm: case Op::Jsgt32Imm: case Op::Jsgt64Reg: case Op::Jsgt32Reg:
        case Op::Jsge64Imm: case Op::Jsge32Imm: case Op::Jsge64Reg: case Op::Jsge32Reg:
        case Op::Jslt64Imm: case Op::Jslt32Imm: case Op::Jslt64Reg: case Op::Jslt32Reg:
        case Op::Jsle64Imm: case Op::Jsle32Imm: case Op::Jsle64Reg: case Op::Jsle32Reg:
        case Op::Jset64Imm: case Op::Jset32Imm: case Op::Jset64Reg: case Op::Jset32Reg: emit_cond_jump(insn, index); break;

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
        // Plain loads and stores (a family).
        case Op::Ldx8: case Op::Ldx16: case Op::Ldx32: case Op::Ldx64:
        case Op::Stx8: case Op::Stx16: case Op::Stx32: case Op::Stx64: emit_load_store(insn); break;
        case Op::Ldxs8: emit_load(insn, 1, true); break;
        case Op::Ldxs16: emit_load(insn, 2, true); break;
        case Op::Ldxs32: emit_load(insn, 4, true); break;
        case Op::St8: emit_store(insn, 1); break;
        case Op::St16: emit_store(insn, 2); break;
        case Op::St32: emit_store(insn, 4); break;
        case Op::St64: emit_store(insn, 8); break;
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
