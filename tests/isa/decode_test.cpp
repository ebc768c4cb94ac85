// The decoder, exhaustively: every opcode byte, every reserved field of every table row, register
// numbers (validate_program, which decode_program runs), r10 writes (decoded: the verifier judges
// them), and the program-level checks (lddw halves, jump targets, empty and truncated input), each
// with its exact message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "bpfvm/isa.hpp"

namespace bpfvm {
namespace {

// The valid opcode bytes of RFC 9669 (cpu v1-v4), written out independently of opcodes.def.
const std::set<uint8_t> kValidOpcodes = {
    // ALU (32-bit): add..arsh with K and X sources, neg (K only), le/be.
    0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c,
    0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xcc, 0xd4, 0xdc,
    // ALU64: the same, and bswap (0xd7).
    0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f,
    0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7,
    // JMP: ja, conditional jumps (K and X), call, callx, exit.
    0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0x7d, 0x85, 0x8d, 0x95, 0xa5,
    0xad, 0xb5, 0xbd, 0xc5, 0xcd, 0xd5, 0xdd,
    // JMP32: gotol (ja with imm), conditional jumps.
    0x06, 0x16, 0x1e, 0x26, 0x2e, 0x36, 0x3e, 0x46, 0x4e, 0x56, 0x5e, 0x66, 0x6e, 0x76, 0x7e, 0xa6, 0xae, 0xb6, 0xbe,
    0xc6, 0xce, 0xd6, 0xde,
    // LD: lddw, legacy packet loads.
    0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50,
    // LDX, LDX sign-extending, ST, STX, atomics.
    0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb,
    // Beyond RFC 9669, accepted by the kernel: 8- and 16-bit BPF_ATOMIC (load-acquire and store-release
    // only) and BPF_JMP | BPF_JCOND (may_goto).
    0xcb, 0xd3, 0xe5,
};

std::string hex(unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", v);
    return buf;
}

RawInsn make(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
    return RawInsn::make(opcode, dst, src, off, imm);
}

std::string decode_error(const RawInsn& raw, uint32_t pc = 7) {
    auto insn = decode_insn(raw, pc);
    return insn ? "accepted" : insn.error().to_string();
}

std::string program_error(std::vector<RawInsn> raw, const DecodeOptions& options = {}) {
    auto prog = decode_program(std::span<const RawInsn>(raw), options);
    return prog ? "accepted" : prog.error().to_string();
}

TEST(Decode, TableMatchesTheSpecOpcodeList) {
    std::set<uint8_t> from_table;
    for (size_t i = 0; i < kNumOps; ++i) from_table.insert(op_info(static_cast<Op>(i)).opcode);
    EXPECT_EQ(from_table, kValidOpcodes);
    EXPECT_EQ(kValidOpcodes.size(), 129u);
}

TEST(Decode, EveryOpcodeByteWithZeroFields) {
    for (unsigned byte = 0; byte < 256; ++byte) {
        SCOPED_TRACE(hex(byte));
        auto insn = decode_insn(make(static_cast<uint8_t>(byte)), 7);
        if (!kValidOpcodes.count(static_cast<uint8_t>(byte))) {
            ASSERT_FALSE(insn.has_value());
            EXPECT_EQ(insn.error().to_string(), "insn 7: unknown opcode " + hex(byte));
            EXPECT_EQ(insn.error().code, ErrorCode::kMalformed);
        } else if (byte == 0xd4 || byte == 0xd7 || byte == 0xdc || byte == 0xcb || byte == 0xd3) {
            // Byte swaps need a width in imm; 8- and 16-bit atomics exist only as load-acquire and
            // store-release (imm 0x100, 0x110).
            EXPECT_EQ(decode_error(make(static_cast<uint8_t>(byte))), "insn 7: invalid imm 0 for opcode " + hex(byte));
        } else {
            ASSERT_TRUE(insn.has_value()) << insn.error().to_string();
            EXPECT_EQ(op_info(insn->op).opcode, byte);
            EXPECT_EQ(insn->pc, 7u);
        }
    }
}

/// A valid instance of each form: dst 1, src 2 where the form reads them, off 3, imm 5.
RawInsn valid_instance(Op op) {
    const OpInfo& info = op_info(op);
    Insn insn;
    insn.op = op;
    switch (info.form) {
        case Form::AluImm: insn.dst = 1; insn.imm = 5; break;
        case Form::AluReg: case Form::Movsx: insn.dst = 1; insn.src = 2; break;
        case Form::Neg: case Form::End: case Form::Callx: insn.dst = 1; break;
        case Form::Ja: insn.off = 3; break;
        case Form::Gotol: case Form::Call: case Form::CallLocal: insn.imm = 5; break;
        case Form::CallKfunc: insn.imm = 5; insn.off = 3; break;
        case Form::JmpImm: insn.dst = 1; insn.off = 3; insn.imm = 5; break;
        case Form::JmpReg: insn.dst = 1; insn.src = 2; insn.off = 3; break;
        case Form::Exit: break;
        case Form::Lddw: insn.dst = 1; insn.imm = 5; break;
        case Form::LdAbs: insn.imm = 5; break;
        case Form::LdInd: insn.src = 2; insn.imm = 5; break;
        case Form::Ldx: case Form::Ldxs: case Form::Stx: case Form::Atomic: insn.dst = 1; insn.src = 2; insn.off = 3; break;
        case Form::LoadAcquire: case Form::StoreRelease: insn.dst = 1; insn.src = 2; insn.off = 3; break;
        case Form::St: insn.dst = 1; insn.off = 3; insn.imm = 5; break;
        case Form::AddrSpaceCast: insn.dst = 1; insn.src = 2; insn.imm = 1; break;  // as1 -> as0
        case Form::MayGoto: insn.off = 3; break;
    }
    std::vector<RawInsn> out;
    encode_insn(insn, out);
    return out[0];
}

/// Which fields each form reserves (RFC 9669 sections 4 and 5), restated for the test.
struct Reserved {
    bool dst, src, off, imm;
};
Reserved reserved_fields(Form form) {
    switch (form) {
        case Form::AluImm: return {false, true, true, false};
        case Form::AluReg: return {false, false, true, true};
        case Form::Neg: return {false, true, true, true};
        case Form::Movsx: return {false, false, false, true};
        case Form::End: return {false, true, true, false};
        case Form::Ja: return {true, true, false, true};
        case Form::Gotol: return {true, true, true, false};
        case Form::JmpImm: return {false, true, false, false};
        case Form::JmpReg: return {false, false, false, true};
        case Form::Call: return {true, false, true, false};
        case Form::CallLocal: return {true, false, true, false};
        case Form::CallKfunc: return {true, false, false, false};
        case Form::Callx: return {false, true, true, true};
        case Form::Exit: return {true, true, true, true};
        case Form::Lddw: return {false, false, true, false};
        case Form::LdAbs: return {true, true, true, false};
        case Form::LdInd: return {true, false, true, false};
        case Form::Ldx: case Form::Ldxs: return {false, false, false, true};
        case Form::St: return {false, true, false, false};
        case Form::Stx: return {false, false, false, true};
        case Form::Atomic: return {false, false, false, false};
        case Form::LoadAcquire: case Form::StoreRelease: return {false, false, false, false};
        case Form::AddrSpaceCast: return {false, false, false, false};
        case Form::MayGoto: return {true, false, false, true};
    }
    return {};
}

/// The register an instance of the form writes, restated for the test (-1: none).
int written(Form form) {
    switch (form) {
        case Form::AluImm: case Form::AluReg: case Form::Neg: case Form::Movsx: case Form::End:
        case Form::AddrSpaceCast: case Form::Lddw: case Form::Ldx: case Form::Ldxs: case Form::LoadAcquire:
            return 1;
        case Form::LdAbs: case Form::LdInd:
            return 0;
        case Form::Ja: case Form::Gotol: case Form::JmpImm: case Form::JmpReg: case Form::MayGoto: case Form::Call:
        case Form::CallLocal: case Form::CallKfunc: case Form::Callx: case Form::Exit: case Form::St:
        case Form::Stx: case Form::StoreRelease: case Form::Atomic:
            return -1;
    }
    return -1;
}

/// `raw` followed by its lddw second half and an exit, with jump and call targets set to the next
/// slot, decoded as a program: register checks are program-level (validate_program).
std::string as_program_error(RawInsn raw) {
    auto insn = decode_insn(raw, 0);
    if (!insn) return insn.error().to_string();
    const Form form = op_info(insn->op).form;
    if (form == Form::Ja || form == Form::JmpImm || form == Form::JmpReg || form == Form::MayGoto) raw.set_off(0);
    if (form == Form::Gotol || form == Form::CallLocal) raw.set_imm(0);
    std::vector<RawInsn> code{raw};
    if (form == Form::Lddw) code.push_back(make(0));
    code.push_back(make(0x95));
    return program_error(code);
}

TEST(Decode, EveryRowAndEveryFieldVariation) {
    for (size_t i = 0; i < kNumOps; ++i) {
        const Op op = static_cast<Op>(i);
        const OpInfo& info = op_info(op);
        SCOPED_TRACE(info.name);
        const RawInsn base = valid_instance(op);
        auto decoded = decode_insn(base, 0);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
        EXPECT_EQ(decoded->op, op);
        const std::string what = std::string(info.mnemonic) + " (opcode " + hex(info.opcode) + ")";
        const Reserved reserved = reserved_fields(info.form);

        EXPECT_EQ(as_program_error(base), "accepted");
        // Registers above r10 are readable bytes: decode_insn takes them, decode_program refuses them.
        RawInsn r = base;
        r.set_dst(11);
        if (reserved.dst) {
            EXPECT_EQ(decode_error(r, 0), "insn 0: reserved dst field is 11 in " + what + ", must be 0");
        } else {
            EXPECT_EQ(decode_error(r, 0), "accepted");
            EXPECT_EQ(as_program_error(r), "insn 0: invalid register r11 in " + what);
        }
        r = base;
        r.set_src(11);
        if (info.match == Match::Src) {
            EXPECT_EQ(decode_error(r, 0), "insn 0: invalid src 11 for opcode " + hex(info.opcode));
        } else if (reserved.src) {
            EXPECT_EQ(decode_error(r, 0), "insn 0: reserved src field is 11 in " + what + ", must be 0");
        } else if (info.form == Form::Lddw) {
            EXPECT_EQ(decode_error(r, 0), "accepted");  // the pseudo kind: decode_program checks it
            EXPECT_EQ(as_program_error(r), "insn 0: invalid lddw pseudo source 11");
        } else {
            EXPECT_EQ(decode_error(r, 0), "accepted");
            EXPECT_EQ(as_program_error(r), "insn 0: invalid register r11 in " + what);
        }
        if (reserved.dst) {
            r = base;
            r.set_dst(1);
            EXPECT_EQ(decode_error(r, 0), "insn 0: reserved dst field is 1 in " + what + ", must be 0");
        }
        if (reserved.src && info.match != Match::Src) {
            r = base;
            r.set_src(1);
            EXPECT_EQ(decode_error(r, 0), "insn 0: reserved src field is 1 in " + what + ", must be 0");
        }
        r = base;
        if (info.match == Match::Off) {
            r.set_off(3);
            EXPECT_EQ(decode_error(r, 0), "insn 0: invalid offset 3 for opcode " + hex(info.opcode));
        } else if (reserved.off) {
            r.set_off(-1);
            EXPECT_EQ(decode_error(r, 0), "insn 0: reserved offset field is -1 in " + what + ", must be 0");
        }
        r = base;
        if (info.match == Match::Imm) {
            r.set_imm(3);
            EXPECT_EQ(decode_error(r, 0), "insn 0: invalid imm 3 for opcode " + hex(info.opcode));
        } else if (reserved.imm) {
            r.set_imm(0x10000);
            EXPECT_EQ(decode_error(r, 0), "insn 0: reserved imm field is 65536 in " + what + ", must be 0");
        }
        // A write to r10 decodes: the kernel rejects it only on paths its verifier walks. The engines
        // trap on it; defined_register says which register an instruction writes.
        auto written_reg = [](const RawInsn& raw) {
            auto insn = decode_insn(raw, 0);
            return insn ? defined_register(*insn) : -3;
        };
        const int w = written(info.form);
        if (info.form == Form::Atomic) {
            const bool cmpxchg = info.match_value == 0xf1, fetch = (info.match_value & 1) != 0;
            EXPECT_EQ(written_reg(base), cmpxchg ? 0 : fetch ? 2 : -1);
        } else {
            EXPECT_EQ(written_reg(base), w);
        }
        if (w == 1) {
            r = base;
            r.set_dst(10);
            EXPECT_EQ(as_program_error(r), "accepted");
            EXPECT_EQ(written_reg(r), 10);
        }
    }
}

TEST(Decode, FetchingAtomicsDefineSrc) {
    // Decoded even when the fetched value goes to r10 (engines trap on those at run time).
    EXPECT_EQ(decode_error(make(0xdb, 1, 10, 0, 0x01), 4), "accepted");
    EXPECT_EQ(defined_register(*decode_insn(make(0xdb, 1, 10, 0, 0x01), 4)), 10);
    EXPECT_EQ(defined_register(*decode_insn(make(0xc3, 1, 10, 0, 0xe1), 4)), 10);
    EXPECT_EQ(defined_register(*decode_insn(make(0xdb, 1, 10, 0, 0x00), 4)), -1);  // no fetch: r10 is only read
    EXPECT_EQ(defined_register(*decode_insn(make(0xdb, 1, 10, 0, 0xf1), 4)), 0);   // cmpxchg writes r0
    EXPECT_EQ(defined_register(*decode_insn(make(0xdb, 10, 1, -8, 0x01), 4)), 1);  // r10 as the base address
    EXPECT_EQ(defined_register(*decode_insn(make(0xdb, 1, 2, 0, 0x100), 4)), 1);   // load-acquire: dst
    EXPECT_EQ(defined_register(*decode_insn(make(0xdb, 1, 2, 0, 0x110), 4)), -1);  // store-release: none
}

TEST(Decode, NewerInstructionForms) {
    // may_goto (BPF_JMP | BPF_JCOND, src BPF_MAY_GOTO = 0): the offset is a jump; dst and imm are reserved.
    EXPECT_EQ(decode_insn(make(0xe5, 0, 0, 2), 0)->op, Op::MayGoto);
    EXPECT_EQ(decode_error(make(0xe5, 0, 1, 2)), "insn 7: invalid src 1 for opcode 0xe5");
    EXPECT_EQ(decode_error(make(0xe5, 1, 0, 2)), "insn 7: reserved dst field is 1 in may_goto (opcode 0xe5), must be 0");
    EXPECT_EQ(decode_error(make(0xe5, 0, 0, 2, 1)), "insn 7: reserved imm field is 1 in may_goto (opcode 0xe5), must be 0");
    EXPECT_EQ(program_error({make(0xe5, 0, 0, 5), make(0x95)}), "insn 0: jump target 6 out of range (program has 2 slots)");
    auto prog = decode_program(std::span<const RawInsn>(std::vector<RawInsn>{make(0xe5, 0, 0, 1), make(0xb7), make(0x95)}));
    ASSERT_TRUE(prog.has_value()) << prog.error().to_string();
    EXPECT_EQ(prog->insns[0].target, 2u);
    EXPECT_EQ(encode_program(*prog)[0].off(), 1);
    // Load-acquire and store-release: BPF_STX | BPF_ATOMIC of each size, imm 0x100 / 0x110.
    const uint8_t sizes[] = {0xd3, 0xcb, 0xc3, 0xdb};
    const Op acquire[] = {Op::LoadAcquire8, Op::LoadAcquire16, Op::LoadAcquire32, Op::LoadAcquire64};
    const Op release[] = {Op::StoreRelease8, Op::StoreRelease16, Op::StoreRelease32, Op::StoreRelease64};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(decode_insn(make(sizes[i], 0, 1, -8, 0x100), 0)->op, acquire[i]);
        EXPECT_EQ(decode_insn(make(sizes[i], 1, 2, -8, 0x110), 0)->op, release[i]);
    }
    EXPECT_EQ(decode_error(make(0xd3, 0, 1, 0, 0x01)), "insn 7: invalid imm 1 for opcode 0xd3");  // no 8-bit fetch-add
    EXPECT_EQ(decode_error(make(0xcb, 0, 1, 0, 0x101)), "insn 7: invalid imm 257 for opcode 0xcb");
    // addr_space_cast: BPF_ALU64 | BPF_MOV | BPF_X with off 1; imm holds the two address spaces.
    EXPECT_EQ(decode_insn(make(0xbf, 1, 2, 1, 1), 0)->op, Op::AddrSpaceCast);
    EXPECT_EQ(decode_insn(make(0xbf, 1, 2, 1, 0x10000), 0)->op, Op::AddrSpaceCast);
    EXPECT_EQ(decode_error(make(0xbc, 1, 2, 1, 1)), "insn 7: invalid offset 1 for opcode 0xbc");  // ALU64 only
}

TEST(Decode, ValidateHandBuiltPrograms) {
    // validate_program guards the engines against Programs that never went through decode.
    auto prog = decode_program(std::span<const RawInsn>(std::vector<RawInsn>{make(0x05, 0, 0, 0), make(0x95)}));
    ASSERT_TRUE(prog.has_value());
    EXPECT_TRUE(validate_program(*prog).has_value());
    Program bad = *prog;
    bad.insns[0].target = 2;
    EXPECT_EQ(validate_program(bad).error().to_string(), "insn 0: target index 2 out of range (program has 2 instructions)");
    bad = *prog;
    bad.insns[1].dst = 12;
    EXPECT_EQ(validate_program(bad).error().to_string(), "insn 1: invalid register r12 in exit (opcode 0x95)");
    bad = *prog;
    bad.insns[1].op = Op::Mov64Imm;
    EXPECT_EQ(validate_program(bad).error().to_string(),
              "insn 1: last instruction falls off the end of the program (must be exit or an unconditional jump)");
    bad.insns.clear();
    EXPECT_EQ(validate_program(bad).error().to_string(), "empty program: no instructions");
}

TEST(Decode, FieldsOfAcceptedInstructions) {
    auto insn = decode_insn(make(0x79, 3, 10, -16), 2);
    ASSERT_TRUE(insn.has_value());
    EXPECT_EQ(insn->op, Op::Ldx64);
    EXPECT_EQ(insn->dst, 3);
    EXPECT_EQ(insn->src, 10);
    EXPECT_EQ(insn->off, -16);
    EXPECT_EQ(insn->pc, 2u);
    insn = decode_insn(make(0xb7, 1, 0, 0, -1), 0);
    ASSERT_TRUE(insn.has_value());
    EXPECT_EQ(insn->imm, -1);  // sign-extended
    EXPECT_EQ(decode_insn(make(0xbf, 1, 2, 8), 0)->op, Op::Movsx64_8);
    EXPECT_EQ(decode_insn(make(0x3f, 1, 2, 1), 0)->op, Op::Sdiv64Reg);
    EXPECT_EQ(decode_insn(make(0xdc, 1, 0, 0, 64), 0)->op, Op::Be64);
    EXPECT_EQ(decode_insn(make(0x85, 0, 1, 0, 3), 0)->op, Op::CallLocal);
    EXPECT_EQ(decode_insn(make(0x85, 0, 2, 0, 3), 0)->op, Op::CallKfunc);
}

TEST(Decode, EmptyAndTruncatedInput) {
    EXPECT_EQ(program_error({}), "empty program: no instructions");
    const uint8_t bytes[12] = {0x95};
    auto prog = decode_program(std::span<const uint8_t>(bytes, 12));
    ASSERT_FALSE(prog.has_value());
    EXPECT_EQ(prog.error().to_string(), "bytecode length 12 is not a multiple of 8 (truncated instruction at slot 1)");
    prog = decode_program(std::span<const uint8_t>(bytes, 0));
    ASSERT_FALSE(prog.has_value());
    EXPECT_EQ(prog.error().to_string(), "empty program: no instructions");
}

TEST(Decode, LddwHalves) {
    const RawInsn exit = make(0x95);
    EXPECT_EQ(program_error({exit, make(0x18, 1, 0, 0, 5)}), "insn 1: lddw is missing its second half (last slot of the program)");
    EXPECT_EQ(program_error({make(0x18, 1, 0, 0, 5), make(0x95), exit}),
              "insn 1: invalid second half of lddw: opcode, registers and offset must be 0");
    EXPECT_EQ(program_error({make(0x18, 1, 0, 0, 5), make(0, 1), exit}),
              "insn 1: invalid second half of lddw: opcode, registers and offset must be 0");
    EXPECT_EQ(program_error({make(0x18, 1, 0, 0, 5), make(0, 0, 0, 1), exit}),
              "insn 1: invalid second half of lddw: opcode, registers and offset must be 0");
    EXPECT_EQ(program_error({make(0x18, 1, 7, 0, 5), make(0), exit}), "insn 0: invalid lddw pseudo source 7");
    DecodeOptions strict;
    strict.allow_unresolved_pseudo = false;
    EXPECT_EQ(program_error({make(0x18, 1, 1, 0, 5), make(0), exit}, strict), "insn 0: unresolved lddw pseudo source 1");
    EXPECT_EQ(program_error({make(0x18, 1, 1, 0, 5), make(0), exit}), "accepted");

    auto prog = decode_program(std::span<const RawInsn>(std::vector<RawInsn>{make(0x18, 1, 0, 0, 0x9abcdef0),
                                                                             make(0, 0, 0, 0, 0x12345678), exit}));
    ASSERT_TRUE(prog.has_value());
    ASSERT_EQ(prog->insns.size(), 2u);
    EXPECT_EQ(static_cast<uint64_t>(prog->insns[0].imm), 0x123456789abcdef0ull);
    EXPECT_EQ(prog->num_slots, 3u);
    EXPECT_EQ(prog->slot_to_index, (std::vector<uint32_t>{0, 0, 1}));
    EXPECT_EQ(prog->insns[1].pc, 2u);
}

TEST(Decode, JumpAndCallTargets) {
    const RawInsn exit = make(0x95);
    const RawInsn lddw_lo = make(0x18, 1, 0, 0, 1), lddw_hi = make(0);
    EXPECT_EQ(program_error({make(0x05, 0, 0, 5), exit}), "insn 0: jump target 6 out of range (program has 2 slots)");
    EXPECT_EQ(program_error({exit, make(0x05, 0, 0, -3)}), "insn 1: jump target -1 out of range (program has 2 slots)");
    EXPECT_EQ(program_error({make(0x15, 1, 0, 1, 0), exit}), "insn 0: jump target 2 out of range (program has 2 slots)");
    EXPECT_EQ(program_error({make(0x05, 0, 0, 1), lddw_lo, lddw_hi, exit}),
              "insn 0: jump target 2 is the second half of an lddw");
    EXPECT_EQ(program_error({make(0x06, 0, 0, 0, 100000), exit}),
              "insn 0: jump target 100001 out of range (program has 2 slots)");
    EXPECT_EQ(program_error({make(0x85, 0, 1, 0, 1), exit}), "insn 0: call target 2 out of range (program has 2 slots)");
    EXPECT_EQ(program_error({make(0x18, 1, 4, 0, 5), lddw_hi, exit}),
              "insn 0: function reference target 6 out of range (program has 3 slots)");
    EXPECT_EQ(program_error({make(0xb7, 0, 0, 0, 0)}),
              "insn 0: last instruction falls off the end of the program (must be exit or an unconditional jump)");
    EXPECT_EQ(program_error({exit, make(0x15, 0, 0, -2, 0)}),
              "insn 1: last instruction falls off the end of the program (must be exit or an unconditional jump)");
    // Errors name the slot, not the instruction index.
    EXPECT_EQ(program_error({lddw_lo, lddw_hi, make(0xb7), make(0xff), exit}), "insn 3: unknown opcode 0xff");
    EXPECT_EQ(program_error({lddw_lo, lddw_hi, make(0x07, 11), exit}), "insn 2: invalid register r11 in add (opcode 0x07)");

    // Targets are indices into insns: a jump over an lddw lands on index 2 (slot 3).
    auto prog = decode_program(std::span<const RawInsn>(std::vector<RawInsn>{
        make(0x05, 0, 0, 2), lddw_lo, lddw_hi, make(0x85, 0, 1, 0, 1), exit, make(0xb7), exit}));
    ASSERT_TRUE(prog.has_value()) << prog.error().to_string();
    EXPECT_EQ(prog->insns[0].target, 2u);
    EXPECT_EQ(prog->insns[2].target, 4u);
    EXPECT_EQ(prog->subprog_entries, (std::vector<uint32_t>{0, 4}));
    // encode_program recomputes the same offsets.
    const auto again = encode_program(*prog);
    ASSERT_EQ(again.size(), 7u);
    EXPECT_EQ(again[0].off(), 2);
    EXPECT_EQ(again[3].imm(), 1);
}

}  // namespace
}  // namespace bpfvm
