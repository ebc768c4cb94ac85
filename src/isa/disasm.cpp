// The disassembler: LLVM/kernel syntax as printed by `llvm-objdump -d` for BPF and by verifier logs
// (load_acquire / store_release as LLVM 20 prints them; LLVM 19 does not know them).
// Registers print as rN, or wN for 32-bit ALU, 32-bit jumps and 32-bit atomics; immediates as signed
// decimal (lddw as hex); jumps as `goto +N` relative to the next slot.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "asm_table.hpp"
#include "bpfvm/asm.hpp"

namespace bpfvm {
namespace {

// Built by appending: g++ 12 at -O3 warns (-Wrestrict, a false positive) on `"r" + std::to_string(n)`.
std::string reg(uint8_t r, bool w32) {
    std::string out(1, w32 ? 'w' : 'r');
    out += std::to_string(r);
    return out;
}

/// `(r10 - 8)` or `(r1 + 4)`.
std::string address(uint8_t base, int16_t off) {
    const int o = off;
    std::string out = "(r";
    out += std::to_string(base);
    out += o < 0 ? " - " : " + ";
    out += std::to_string(o < 0 ? -o : o);
    out += ')';
    return out;
}

const char* size_name(unsigned width, bool is_signed) {
    switch (width) {
        case 8: return is_signed ? "s8" : "u8";
        case 16: return is_signed ? "s16" : "u16";
        case 32: return is_signed ? "s32" : "u32";
        default: return is_signed ? "s64" : "u64";
    }
}

/// Compound-assignment operator of an ALU stem ("add" -> "+=").
const char* alu_operator(std::string_view stem) {
    if (stem == "add") return "+=";
    if (stem == "sub") return "-=";
    if (stem == "mul") return "*=";
    if (stem == "div") return "/=";
    if (stem == "sdiv") return "s/=";
    if (stem == "or") return "|=";
    if (stem == "and") return "&=";
    if (stem == "lsh") return "<<=";
    if (stem == "rsh") return ">>=";
    if (stem == "mod") return "%=";
    if (stem == "smod") return "s%=";
    if (stem == "xor") return "^=";
    if (stem == "mov") return "=";
    if (stem == "arsh") return "s>>=";
    return "?=";
}

/// Comparison of a conditional-jump stem ("jsgt" -> "s>").
const char* jump_operator(std::string_view stem) {
    if (stem == "jeq") return "==";
    if (stem == "jgt") return ">";
    if (stem == "jge") return ">=";
    if (stem == "jset") return "&";
    if (stem == "jne") return "!=";
    if (stem == "jsgt") return "s>";
    if (stem == "jsge") return "s>=";
    if (stem == "jlt") return "<";
    if (stem == "jle") return "<=";
    if (stem == "jslt") return "s<";
    if (stem == "jsle") return "s<=";
    return "?";
}

std::string hex64(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

std::string disassemble_lddw(const Insn& insn) {
    const std::string dst = reg(insn.dst, false) + " = ";
    const auto lo = static_cast<uint32_t>(insn.imm);
    const auto hi = static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) >> 32);
    switch (static_cast<LddwKind>(insn.src)) {
        case LddwKind::Imm64: return dst + hex64(static_cast<uint64_t>(insn.imm)) + " ll";
        case LddwKind::MapFd: return dst + "map[fd:" + std::to_string(lo) + "] ll";
        case LddwKind::MapValue: return dst + "map[fd:" + std::to_string(lo) + "]+" + std::to_string(hi) + " ll";
        case LddwKind::BtfVar: return dst + "btf_var[" + std::to_string(lo) + "] ll";
        case LddwKind::Func: return dst + "func pc" + signed_rel(static_cast<int32_t>(lo)) + " ll";
        case LddwKind::MapIdx: return dst + "map[idx:" + std::to_string(lo) + "] ll";
        case LddwKind::MapIdxValue: return dst + "map[idx:" + std::to_string(lo) + "]+" + std::to_string(hi) + " ll";
    }
    return dst + hex64(static_cast<uint64_t>(insn.imm)) + " ll (src " + std::to_string(insn.src) + ")";
}

std::string disassemble_atomic(const Insn& insn, const OpInfo& info) {
    const bool w32 = info.width == 32;
    const std::string src = reg(insn.src, w32);
    const std::string stem = info.mnemonic;
    const std::string mem = std::string("(") + size_name(info.width, false) + " *)" + address(insn.dst, insn.off);
    const std::string plain_addr = address(insn.dst, insn.off);
    const std::string suffix = w32 ? "32_32" : "_64";
    if (stem == "xchg") return src + " = xchg" + suffix + "(" + plain_addr.substr(1, plain_addr.size() - 2) + ", " + src + ")";
    if (stem == "cmpxchg")
        return reg(0, w32) + " = cmpxchg" + suffix + "(" + plain_addr.substr(1, plain_addr.size() - 2) + ", " +
               reg(0, w32) + ", " + src + ")";
    if (stem.rfind("fetch ", 0) == 0) return src + " = atomic_fetch_" + stem.substr(6) + "(" + mem + ", " + src + ")";
    return "lock *" + mem + " " + alu_operator(stem) + " " + src;
}

}  // namespace

std::string disassemble_insn(const Insn& insn) {
    const OpInfo& info = op_info(insn.op);
    const bool w32 = info.width == 32;
    const std::string dst = reg(insn.dst, w32);
    switch (info.form) {
        case Form::AluImm: return dst + " " + alu_operator(info.mnemonic) + " " + std::to_string(static_cast<int32_t>(insn.imm));
        case Form::AluReg: return dst + " " + alu_operator(info.mnemonic) + " " + reg(insn.src, w32);
        case Form::Neg: return dst + " = -" + dst;
        case Form::Movsx: {
            const unsigned from = static_cast<unsigned>(op_info(insn.op).match_value);
            return dst + " = (" + size_name(from, true) + ")" + reg(insn.src, w32);
        }
        case Form::End: {
            const std::string r = reg(insn.dst, false);
            return r + " = " + info.mnemonic + std::to_string(info.width) + " " + r;
        }
        case Form::Ja: return "goto " + signed_rel(insn.off);
        case Form::Gotol: return "gotol " + signed_rel(static_cast<int32_t>(insn.imm));
        case Form::JmpImm:
            return "if " + dst + " " + jump_operator(info.mnemonic) + " " + std::to_string(static_cast<int32_t>(insn.imm)) +
                   " goto " + signed_rel(insn.off);
        case Form::JmpReg:
            return "if " + dst + " " + jump_operator(info.mnemonic) + " " + reg(insn.src, w32) + " goto " +
                   signed_rel(insn.off);
        case Form::Call: {
            const auto id = static_cast<int32_t>(insn.imm);
            const std::string_view name = helper_name(id);
            if (name.empty()) return "call " + std::to_string(id);
            return "call " + std::string(name) + "#" + std::to_string(id);
        }
        case Form::CallLocal: return "call pc" + signed_rel(static_cast<int32_t>(insn.imm));
        case Form::CallKfunc: return "call kfunc#" + std::to_string(static_cast<int32_t>(insn.imm));
        case Form::Callx: return "callx " + reg(insn.dst, false);
        case Form::Exit: return "exit";
        case Form::Lddw: return disassemble_lddw(insn);
        case Form::LdAbs:
            return std::string("r0 = *(") + size_name(info.width, false) + " *)skb[" +
                   std::to_string(static_cast<int32_t>(insn.imm)) + "]";
        case Form::LdInd: {
            std::string index = reg(insn.src, false);
            const auto imm = static_cast<int32_t>(insn.imm);
            if (imm != 0) index += (imm < 0 ? " - " : " + ") + std::to_string(imm < 0 ? -int64_t{imm} : int64_t{imm});
            return std::string("r0 = *(") + size_name(info.width, false) + " *)skb[" + index + "]";
        }
        case Form::Ldx:
        case Form::Ldxs:
            return reg(insn.dst, false) + " = *(" + size_name(info.width, info.form == Form::Ldxs) + " *)" +
                   address(insn.src, insn.off);
        case Form::St:
            return std::string("*(") + size_name(info.width, false) + " *)" + address(insn.dst, insn.off) + " = " +
                   std::to_string(static_cast<int32_t>(insn.imm));
        case Form::Stx:
            return std::string("*(") + size_name(info.width, false) + " *)" + address(insn.dst, insn.off) + " = " +
                   reg(insn.src, false);
        case Form::Atomic: return disassemble_atomic(insn, info);
        case Form::AddrSpaceCast: {
            // imm = (dst address space << 16) | src address space (the kernel's and LLVM's order).
            const auto imm = static_cast<uint32_t>(insn.imm);
            return reg(insn.dst, false) + " = addr_space_cast(" + reg(insn.src, false) + ", " + std::to_string(imm >> 16) +
                   ", " + std::to_string(imm & 0xffff) + ")";
        }
        case Form::MayGoto: return "may_goto " + signed_rel(insn.off);
        // LLVM 20 syntax: 8- to 32-bit forms name the 32-bit register (the load zero-extends).
        case Form::LoadAcquire:
            return reg(insn.dst, info.width < 64) + " = load_acquire((" + size_name(info.width, false) + " *)" +
                   address(insn.src, insn.off) + ")";
        case Form::StoreRelease:
            return std::string("store_release((") + size_name(info.width, false) + " *)" + address(insn.dst, insn.off) +
                   ", " + reg(insn.src, info.width < 64) + ")";
    }
    return "<unknown>";
}

std::string disassemble(const Program& program) {
    std::string out;
    for (const Insn& insn : program.insns) {
        char prefix[16];
        std::snprintf(prefix, sizeof prefix, "%4u: ", insn.pc);
        out += prefix;
        out += disassemble_insn(insn);
        out += '\n';
    }
    return out;
}

}  // namespace bpfvm
