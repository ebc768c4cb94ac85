// The structural checks shared by decode_program and the engines (validate_program), and per-instruction
// facts derived from the opcode table (defined_register, is_jump).
//
// What belongs here: only what an engine needs to run a program without corrupting itself (register
// numbers index register files, targets index instruction arrays, the last instruction must not run
// off the end of the code). What the kernel checks on the paths its verifier explores (a write to
// r10, an uninitialised register) or as properties of the graph (unreachable code, a jump from one
// subprogram into another) is not: the CFG reports the graph findings and the verifier judges.
#include <cstdio>
#include <string>

#include "bpfvm/isa.hpp"
#include "text_util.hpp"

namespace bpfvm {
namespace {

using isa_detail::hex_byte;

/// True for forms whose src field is a register. The others hold an lddw pseudo kind, a call kind
/// or may_goto's condition kind, which the opcode table matches or decode checks.
bool src_is_register(Form form) {
    return form != Form::Lddw && form != Form::Call && form != Form::CallLocal && form != Form::CallKfunc &&
           form != Form::MayGoto;
}

}  // namespace

bool is_jump(Op op) {
    switch (op_info(op).form) {
        case Form::Ja:
        case Form::Gotol:
        case Form::JmpImm:
        case Form::JmpReg:
        case Form::MayGoto:
            return true;
        default:
            return false;
    }
}

bool has_target(const Insn& insn) {
    const Form form = op_info(insn.op).form;
    return is_jump(insn.op) || form == Form::CallLocal ||
           (form == Form::Lddw && insn.src == static_cast<uint8_t>(LddwKind::Func));
}

bool is_conditional_jump(Op op) {
    const Form f = op_info(op).form;
    return f == Form::JmpImm || f == Form::JmpReg || f == Form::MayGoto;
}

int defined_register(const Insn& insn) {
    const OpInfo& info = op_info(insn.op);
    switch (info.form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Neg:
        case Form::Movsx:
        case Form::End:
        case Form::AddrSpaceCast:
        case Form::Lddw:
        case Form::Ldx:
        case Form::Ldxs:
        case Form::LoadAcquire:
            return insn.dst;
        case Form::LdAbs:
        case Form::LdInd:
            return 0;
        case Form::Atomic:
            // Fetching atomics (imm bit 0, BPF_FETCH) write the old value to src, except cmpxchg,
            // which writes it to r0.
            if (insn.op == Op::AtomicCmpxchg32 || insn.op == Op::AtomicCmpxchg64) return 0;
            return (info.match_value & 1) != 0 ? insn.src : -1;
        case Form::Ja:
        case Form::Gotol:
        case Form::JmpImm:
        case Form::JmpReg:
        case Form::MayGoto:
        case Form::Call:
        case Form::CallLocal:
        case Form::CallKfunc:
        case Form::Callx:
        case Form::Exit:
        case Form::St:
        case Form::Stx:
        case Form::StoreRelease:
            return -1;
    }
    return -1;
}

Status validate_program(const Program& program) {
    const size_t n = program.insns.size();
    if (n == 0) return make_error(ErrorCode::kMalformed, "empty program: no instructions");
    if (n > (1u << 24))
        return make_error(ErrorCode::kMalformed, "program too large: " + std::to_string(n) + " instructions");
    for (const Insn& insn : program.insns) {
        const OpInfo& info = op_info(insn.op);
        auto bad_register = [&](unsigned r) {
            return make_error(ErrorCode::kMalformed,
                              "invalid register r" + std::to_string(r) + " in " + info.mnemonic + " (opcode " +
                                  hex_byte(info.opcode) + ")",
                              insn.pc);
        };
        if (insn.dst >= kNumRegs) return bad_register(insn.dst);
        if (insn.src >= kNumRegs && src_is_register(info.form)) return bad_register(insn.src);
        if (has_target(insn) && insn.target >= n)
            return make_error(ErrorCode::kMalformed,
                              "target index " + std::to_string(insn.target) + " out of range (program has " +
                                  std::to_string(n) + " instructions)",
                              insn.pc);
    }
    const Insn& last = program.insns.back();
    if (last.op != Op::Exit && last.op != Op::Ja && last.op != Op::Gotol)
        return make_error(ErrorCode::kMalformed,
                          "last instruction falls off the end of the program (must be exit or an unconditional jump)",
                          last.pc);
    return {};
}

}  // namespace bpfvm
