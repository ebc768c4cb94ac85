// The printer of assembler syntax: decoded instructions back into the text `assemble` reads
// (`add32 %r1, -3`, `ldxw %r0, [%r1+4]`, `jeq %r1, 2, +5`), so that bytecode can be disassembled,
// edited and assembled again. Mnemonics are the canonical spellings of asm_table.hpp; jumps print
// as signed slot offsets, which the assembler encodes unchanged.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "asm_table.hpp"
#include "bpfvm/asm.hpp"

namespace bpfvm {
namespace {

std::string reg(uint8_t r) {
    std::string out = "%r";
    out += std::to_string(r);
    return out;
}

/// `[%r1+4]`, `[%r10-8]`; the offset is omitted when 0.
std::string memory(uint8_t base, int16_t off) {
    // Appended piece by piece: g++ 12 warns (-Wrestrict, a false positive) on `"[" + std::string`.
    std::string out = "[";
    out += reg(base);
    if (off != 0) out += signed_rel(off);
    out += ']';
    return out;
}

std::string imm32(int64_t imm) { return std::to_string(static_cast<int32_t>(imm)); }

}  // namespace

Result<std::string> assembly_insn(const Insn& insn) {
    const OpInfo& info = op_info(insn.op);
    const std::string mnemonic = op_spellings(insn.op).front();
    const std::string dst = reg(insn.dst);
    switch (info.form) {
        case Form::AluImm: return mnemonic + " " + dst + ", " + imm32(insn.imm);
        case Form::AluReg:
        case Form::Movsx: return mnemonic + " " + dst + ", " + reg(insn.src);
        case Form::Neg:
        case Form::End:
        case Form::Callx: return mnemonic + " " + dst;
        case Form::Ja:
        case Form::MayGoto: return mnemonic + " " + signed_rel(insn.off);
        case Form::AddrSpaceCast: return mnemonic + " " + dst + ", " + reg(insn.src) + ", " + imm32(insn.imm);
        case Form::Gotol:
        case Form::CallLocal: return mnemonic + " " + signed_rel(static_cast<int32_t>(insn.imm));
        case Form::JmpImm: return mnemonic + " " + dst + ", " + imm32(insn.imm) + ", " + signed_rel(insn.off);
        case Form::JmpReg: return mnemonic + " " + dst + ", " + reg(insn.src) + ", " + signed_rel(insn.off);
        case Form::Call:
        case Form::CallKfunc:
        case Form::LdAbs: return mnemonic + " " + imm32(insn.imm);
        case Form::Exit: return mnemonic;
        case Form::Lddw: {
            // The assembler writes plain constants only; map and function references come from the loader.
            if (insn.src != static_cast<uint8_t>(LddwKind::Imm64))
                return make_error(ErrorCode::kUnsupported,
                                  "lddw with pseudo source " + std::to_string(insn.src) + " has no assembler form",
                                  insn.pc);
            char buf[24];
            std::snprintf(buf, sizeof buf, "0x%" PRIx64, static_cast<uint64_t>(insn.imm));
            return mnemonic + " " + dst + ", " + buf;
        }
        case Form::LdInd: return mnemonic + " " + reg(insn.src) + ", " + imm32(insn.imm);
        case Form::Ldx:
        case Form::Ldxs:
        case Form::LoadAcquire: return mnemonic + " " + dst + ", " + memory(insn.src, insn.off);
        case Form::St: return mnemonic + " " + memory(insn.dst, insn.off) + ", " + imm32(insn.imm);
        case Form::Stx:
        case Form::Atomic:
        case Form::StoreRelease: return mnemonic + " " + memory(insn.dst, insn.off) + ", " + reg(insn.src);
    }
    return make_error(ErrorCode::kUnsupported, "no assembler form", insn.pc);
}

Result<std::string> to_assembly(const Program& program) {
    std::string out;
    for (const Insn& insn : program.insns) {
        auto line = assembly_insn(insn);
        if (!line) return line.error();
        out += *line;
        out += '\n';
    }
    return out;
}

}  // namespace bpfvm
