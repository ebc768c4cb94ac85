// Decoding and encoding of eBPF bytecode, driven by the opcode table (opcodes.def).
#include <algorithm>
#include <cstdio>
#include <string>

#include "bpfvm/isa.hpp"
#include "text_util.hpp"

namespace bpfvm {
namespace {

using isa_detail::hex_byte;

constexpr const auto& kOpInfo = kOpInfoTable;

/// For each opcode byte, the first row index and the number of rows sharing it.
struct DecodeEntry {
    uint8_t first = 0;
    uint8_t count = 0;
};

constexpr std::array<DecodeEntry, 256> build_decode_table() {
    std::array<DecodeEntry, 256> table{};
    for (size_t i = 0; i < kNumOps; ++i) {
        auto& e = table[kOpInfo[i].opcode];
        if (e.count == 0) e.first = static_cast<uint8_t>(i);
        ++e.count;
    }
    return table;
}
constexpr auto kDecodeTable = build_decode_table();

// Rows sharing an opcode byte must be adjacent: the decoder scans [first, first + count).
constexpr bool rows_adjacent() {
    for (size_t i = 0; i < kNumOps; ++i) {
        const auto& e = kDecodeTable[kOpInfo[i].opcode];
        if (i < e.first || i >= size_t{e.first} + e.count) return false;
    }
    return true;
}
static_assert(rows_adjacent(), "opcodes.def: rows with the same opcode byte must be adjacent");

Error slot_error(uint32_t pc, std::string message) { return make_error(ErrorCode::kMalformed, std::move(message), pc); }

/// Which fields a form requires to be zero (RFC 9669 sections 4 and 5; the kernel's encodings for
/// may_goto, load-acquire, store-release and addr_space_cast). A field that selects the row (Match)
/// is checked by the row lookup instead.
struct FieldRule {
    bool src_zero, off_zero, imm_zero, dst_zero;
};

constexpr FieldRule rule_for(Form f) {
    switch (f) {
        case Form::AluImm: return {true, true, false, false};
        case Form::AluReg: return {false, true, true, false};
        case Form::Neg: return {true, true, true, false};
        case Form::Movsx: return {false, false, true, false};
        case Form::End: return {true, true, false, false};
        case Form::AddrSpaceCast: return {false, false, false, false};
        case Form::Ja: return {true, false, true, true};
        case Form::Gotol: return {true, true, false, true};
        case Form::JmpImm: return {true, false, false, false};
        case Form::JmpReg: return {false, false, true, false};
        case Form::MayGoto: return {false, false, true, true};
        case Form::Call: return {false, true, false, true};
        case Form::CallLocal: return {false, true, false, true};
        case Form::CallKfunc: return {false, false, false, true};
        case Form::Callx: return {true, true, true, false};
        case Form::Exit: return {true, true, true, true};
        case Form::Lddw: return {false, true, false, false};
        case Form::LdAbs: return {true, true, false, true};
        case Form::LdInd: return {false, true, false, true};
        case Form::Ldx: return {false, false, true, false};
        case Form::Ldxs: return {false, false, true, false};
        case Form::St: return {true, false, false, false};
        case Form::Stx: return {false, false, true, false};
        case Form::Atomic: return {false, false, false, false};
        case Form::LoadAcquire: return {false, false, false, false};
        case Form::StoreRelease: return {false, false, false, false};
    }
    return {};
}

}  // namespace


Result<Insn> decode_insn(const RawInsn& raw, uint32_t pc) {
    const DecodeEntry& entry = kDecodeTable[raw.opcode];
    if (entry.count == 0) return slot_error(pc, "unknown opcode " + hex_byte(raw.opcode));
    const OpInfo* info = nullptr;
    size_t index = 0;
    for (size_t i = entry.first; i < size_t{entry.first} + entry.count; ++i) {
        const OpInfo& row = kOpInfo[i];
        int32_t field = 0;
        switch (row.match) {
            case Match::None: field = row.match_value; break;
            case Match::Off: field = raw.off(); break;
            case Match::Imm: field = raw.imm(); break;
            case Match::Src: field = raw.src(); break;
        }
        if (field == row.match_value) {
            info = &row;
            index = i;
            break;
        }
    }
    if (info == nullptr) {
        const OpInfo& first = kOpInfo[entry.first];
        switch (first.match) {
            case Match::Off:
                return slot_error(pc, "invalid offset " + std::to_string(raw.off()) + " for opcode " + hex_byte(raw.opcode));
            case Match::Imm:
                return slot_error(pc, "invalid imm " + std::to_string(raw.imm()) + " for opcode " + hex_byte(raw.opcode));
            case Match::Src:
                return slot_error(pc, "invalid src " + std::to_string(raw.src()) + " for opcode " + hex_byte(raw.opcode));
            case Match::None:
                break;
        }
        return slot_error(pc, "unknown opcode " + hex_byte(raw.opcode));
    }
    // Registers above r10 are readable bytes: validate_program rejects them (the kernel rejects them
    // only on paths its verifier walks, "R11 is invalid"), as it does writes to r10.
    const FieldRule rule = rule_for(info->form);
    // Built only for an error: formatting it for every instruction made decoding ~10x slower.
    const auto what = [&] { return std::string(info->mnemonic) + " (opcode " + hex_byte(raw.opcode) + ")"; };
    if (rule.dst_zero && raw.dst() != 0) return slot_error(pc, "reserved dst field is " + std::to_string(raw.dst()) + " in " + what() + ", must be 0");
    if (rule.src_zero && raw.src() != 0) return slot_error(pc, "reserved src field is " + std::to_string(raw.src()) + " in " + what() + ", must be 0");
    if (rule.off_zero && info->match != Match::Off && raw.off() != 0)
        return slot_error(pc, "reserved offset field is " + std::to_string(raw.off()) + " in " + what() + ", must be 0");
    if (rule.imm_zero && raw.imm() != 0) return slot_error(pc, "reserved imm field is " + std::to_string(raw.imm()) + " in " + what() + ", must be 0");
    if (info->form == Form::End && raw.imm() != 16 && raw.imm() != 32 && raw.imm() != 64)
        return slot_error(pc, "invalid swap width " + std::to_string(raw.imm()) + " in " + what());

    Insn insn;
    insn.op = static_cast<Op>(index);
    insn.dst = raw.dst();
    insn.src = raw.src();
    insn.off = raw.off();
    insn.imm = raw.imm();
    insn.pc = pc;
    return insn;
}

Result<Program> decode_program(std::span<const RawInsn> raw, const DecodeOptions& options) {
    if (raw.empty()) return make_error(ErrorCode::kMalformed, "empty program: no instructions");
    if (raw.size() > options.max_slots)
        return make_error(ErrorCode::kInvalidArgument, "program too large: " + std::to_string(raw.size()) +
                                                           " instructions, more than the limit of " +
                                                           std::to_string(options.max_slots));
    Program prog;
    prog.num_slots = static_cast<uint32_t>(raw.size());
    prog.slot_to_index.assign(raw.size(), 0);
    std::vector<bool> is_second_half(raw.size(), false);
    for (uint32_t pc = 0; pc < raw.size(); ++pc) {
        auto insn = decode_insn(raw[pc], pc);
        if (!insn) return insn.error();
        prog.slot_to_index[pc] = static_cast<uint32_t>(prog.insns.size());
        if (insn->op == Op::Lddw) {
            if (pc + 1 >= raw.size()) return slot_error(pc, "lddw is missing its second half (last slot of the program)");
            const RawInsn& hi = raw[pc + 1];
            if (hi.opcode != 0 || hi.regs != 0 || hi.off() != 0)
                return slot_error(pc + 1, "invalid second half of lddw: opcode, registers and offset must be 0");
            if (insn->src > 6) return slot_error(pc, "invalid lddw pseudo source " + std::to_string(insn->src));
            if (insn->src != 0 && !options.allow_unresolved_pseudo)
                return slot_error(pc, "unresolved lddw pseudo source " + std::to_string(insn->src));
            insn->imm = static_cast<int64_t>((static_cast<uint64_t>(static_cast<uint32_t>(hi.imm())) << 32) |
                                             static_cast<uint32_t>(raw[pc].imm()));
            prog.slot_to_index[pc + 1] = prog.slot_to_index[pc];
            is_second_half[pc + 1] = true;
            ++pc;
        }
        prog.insns.push_back(*insn);
    }
    // Resolve jump and call targets to instruction indices.
    prog.subprog_entries.push_back(0);
    auto resolve = [&](Insn& insn, int64_t rel, const char* what) -> Status {
        const int64_t slot = int64_t{insn.pc} + 1 + rel;
        if (slot < 0 || slot >= int64_t{prog.num_slots})
            return slot_error(insn.pc, std::string(what) + " target " + std::to_string(slot) + " out of range (program has " +
                                           std::to_string(prog.num_slots) + " slots)");
        if (is_second_half[static_cast<size_t>(slot)])
            return slot_error(insn.pc, std::string(what) + " target " + std::to_string(slot) + " is the second half of an lddw");
        insn.target = prog.slot_to_index[static_cast<size_t>(slot)];
        return {};
    };
    for (Insn& insn : prog.insns) {
        const Form form = op_info(insn.op).form;
        if (form == Form::Ja || form == Form::JmpImm || form == Form::JmpReg || form == Form::MayGoto) {
            BPFVM_TRY(resolve(insn, insn.off, "jump"));
        } else if (form == Form::Gotol) {
            BPFVM_TRY(resolve(insn, insn.imm, "jump"));
        } else if (form == Form::CallLocal) {
            BPFVM_TRY(resolve(insn, insn.imm, "call"));
            prog.subprog_entries.push_back(insn.target);
        } else if (form == Form::Lddw && insn.src == static_cast<uint8_t>(LddwKind::Func)) {
            BPFVM_TRY(resolve(insn, static_cast<int32_t>(insn.imm), "function reference"));
            prog.subprog_entries.push_back(insn.target);
        }
    }
    std::sort(prog.subprog_entries.begin() + 1, prog.subprog_entries.end());
    prog.subprog_entries.erase(std::unique(prog.subprog_entries.begin(), prog.subprog_entries.end()),
                               prog.subprog_entries.end());
    BPFVM_TRY(validate_program(prog));
    return prog;
}

Result<Program> decode_program(std::span<const uint8_t> bytes, const DecodeOptions& options) {
    if (bytes.size() % sizeof(RawInsn) != 0)
        return make_error(ErrorCode::kMalformed, "bytecode length " + std::to_string(bytes.size()) +
                                                     " is not a multiple of 8 (truncated instruction at slot " +
                                                     std::to_string(bytes.size() / 8) + ")");
    std::vector<RawInsn> raw(bytes.size() / sizeof(RawInsn));
    if (!raw.empty()) std::memcpy(raw.data(), bytes.data(), bytes.size());
    return decode_program(std::span<const RawInsn>(raw), options);
}

void encode_insn(const Insn& insn, std::vector<RawInsn>& out) {
    const OpInfo& info = op_info(insn.op);
    RawInsn raw;
    raw.opcode = info.opcode;
    raw.set_dst(insn.dst);
    raw.set_src(insn.src);
    raw.set_off(insn.off);
    raw.set_imm(static_cast<int32_t>(insn.imm));
    switch (info.match) {
        case Match::Off: raw.set_off(static_cast<int16_t>(info.match_value)); break;
        case Match::Imm: raw.set_imm(info.match_value); break;
        case Match::Src: raw.set_src(static_cast<uint8_t>(info.match_value)); break;
        case Match::None: break;
    }
    out.push_back(raw);
    if (insn.op == Op::Lddw) {
        RawInsn hi;
        hi.set_imm(static_cast<int32_t>(static_cast<uint64_t>(insn.imm) >> 32));
        out.push_back(hi);
    }
}

std::vector<RawInsn> encode_program(const Program& program) {
    std::vector<RawInsn> out;
    out.reserve(program.num_slots);
    // Slot of each instruction index, to recompute relative offsets from targets.
    std::vector<uint32_t> slot_of(program.insns.size());
    uint32_t slot = 0;
    for (size_t i = 0; i < program.insns.size(); ++i) {
        slot_of[i] = slot;
        slot += slot_count(program.insns[i].op);
    }
    for (size_t i = 0; i < program.insns.size(); ++i) {
        Insn insn = program.insns[i];
        const Form form = op_info(insn.op).form;
        const int64_t rel = int64_t{slot_of[insn.target]} - int64_t{slot_of[i]} - 1;
        if (form == Form::Ja || form == Form::JmpImm || form == Form::JmpReg || form == Form::MayGoto)
            insn.off = static_cast<int16_t>(rel);
        if (form == Form::Gotol || form == Form::CallLocal) insn.imm = rel;
        encode_insn(insn, out);
    }
    return out;
}

// helper_id_by_name and helper_name are in helper_protos.cpp, next to the helper table.

}  // namespace bpfvm
