// The eBPF instruction set: wire format (RawInsn), decoded instructions (Insn), the opcode table
// (src/isa/opcodes.def) and programs. Depends only on result.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/limits.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm {

inline constexpr int kNumRegs = 11;          // r0..r10
inline constexpr int kFrameReg = 10;         // r10, read-only frame pointer
inline constexpr uint32_t kStackSize = 512;  // bytes per frame
inline constexpr uint32_t kMaxCallDepth = 8; // frames, the entry frame included
/// may_goto's per-frame loop budget (the kernel's BPF_MAX_LOOPS): a frame's may_goto instructions
/// fall through this many times in total, then jump.
inline constexpr uint64_t kMayGotoBudget = 8 * 1024 * 1024;

/// One 8-byte instruction slot as stored in an object file (RFC 9669 section 3), little-endian.
struct RawInsn {
    uint8_t opcode = 0;
    uint8_t regs = 0;  // low nibble dst, high nibble src
    uint8_t off_lo = 0, off_hi = 0;
    uint8_t imm_bytes[4] = {0, 0, 0, 0};

    uint8_t dst() const { return regs & 0x0f; }
    uint8_t src() const { return regs >> 4; }
    int16_t off() const { return static_cast<int16_t>(off_lo | (off_hi << 8)); }
    int32_t imm() const {
        return static_cast<int32_t>(static_cast<uint32_t>(imm_bytes[0]) | (static_cast<uint32_t>(imm_bytes[1]) << 8) |
                                    (static_cast<uint32_t>(imm_bytes[2]) << 16) |
                                    (static_cast<uint32_t>(imm_bytes[3]) << 24));
    }
    void set_dst(uint8_t r) { regs = static_cast<uint8_t>((regs & 0xf0) | (r & 0x0f)); }
    void set_src(uint8_t r) { regs = static_cast<uint8_t>((regs & 0x0f) | (r << 4)); }
    void set_off(int16_t o) {
        off_lo = static_cast<uint8_t>(o & 0xff);
        off_hi = static_cast<uint8_t>((static_cast<uint16_t>(o) >> 8) & 0xff);
    }
    void set_imm(int32_t v) {
        auto u = static_cast<uint32_t>(v);
        for (int i = 0; i < 4; ++i) imm_bytes[i] = static_cast<uint8_t>(u >> (8 * i));
    }
    /// An instruction from its fields (no validation: decode_program checks).
    static RawInsn make(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
        RawInsn r;
        r.opcode = opcode;
        r.set_dst(dst);
        r.set_src(src);
        r.set_off(off);
        r.set_imm(imm);
        return r;
    }
};
static_assert(sizeof(RawInsn) == 8);

/// Which field distinguishes rows that share an opcode byte.
enum class Match : uint8_t { None, Off, Imm, Src };

/// Operand layout of an instruction form; decides which fields must be zero.
enum class Form : uint8_t {
    AluImm, AluReg, Neg, Movsx, End, AddrSpaceCast,
    Ja, Gotol, JmpImm, JmpReg, MayGoto, Call, CallLocal, CallKfunc, Callx, Exit,
    Lddw, LdAbs, LdInd, Ldx, Ldxs, St, Stx, Atomic, LoadAcquire, StoreRelease,
};

/// Every valid opcode form, one enumerator per row of opcodes.def.
enum class Op : uint8_t {
#define BPFVM_OP(name, opcode, match, value, form, width, mnemonic) name,
#include "bpfvm/opcodes.def"
#undef BPFVM_OP
};

inline constexpr size_t kNumOps = 0
#define BPFVM_OP(name, opcode, match, value, form, width, mnemonic) +1
#include "bpfvm/opcodes.def"
#undef BPFVM_OP
    ;

/// Static facts about an Op, from its table row.
struct OpInfo {
    const char* name;      // enumerator name, e.g. "Add64Imm"
    uint8_t opcode;        // the opcode byte
    Match match;
    int32_t match_value;   // value of the distinguishing field
    Form form;
    uint8_t width;         // bits: ALU/jump width, access size or swap width
    const char* mnemonic;  // conformance-assembler mnemonic stem ("add", "ldxw", "fetch add")
};

/// Every row of opcodes.def, indexed by Op (inline: engines and the JITs look it up per instruction).
inline constexpr OpInfo kOpInfoTable[] = {
#define BPFVM_OP(name, opcode, match, value, form, width, mnemonic) \
    {#name, opcode, Match::match, value, Form::form, width, mnemonic},
#include "bpfvm/opcodes.def"
#undef BPFVM_OP
};
static_assert(sizeof(kOpInfoTable) / sizeof(kOpInfoTable[0]) == kNumOps);

/// The table row of `op`.
inline const OpInfo& op_info(Op op) { return kOpInfoTable[static_cast<size_t>(op)]; }

/// Instruction classes (low three bits of the opcode).
enum class InsnClass : uint8_t { Ld = 0, Ldx = 1, St = 2, Stx = 3, Alu = 4, Jmp = 5, Jmp32 = 6, Alu64 = 7 };

/// Pseudo source values of LDDW (the src field), RFC 9669 section 4.4 and the kernel's BPF_PSEUDO_*.
enum class LddwKind : uint8_t {
    Imm64 = 0,        // plain 64-bit immediate
    MapFd = 1,        // imm = map fd; result is the map
    MapValue = 2,     // imm = map fd, next imm = offset into value 0
    BtfVar = 3,       // imm = BTF id of a kernel variable
    Func = 4,         // imm = pc-relative offset of a subprogram
    MapIdx = 5,       // imm = map index
    MapIdxValue = 6,  // imm = map index, next imm = offset
};

/// A decoded instruction. LDDW is one Insn covering two slots; `imm` then holds the full 64 bits
/// (low word from the first slot, high word from the second) and `src` its LddwKind.
struct Insn {
    Op op = Op::Exit;
    uint8_t dst = 0;
    uint8_t src = 0;
    int16_t off = 0;
    int64_t imm = 0;      // sign-extended imm32, or the 64-bit LDDW constant
    uint32_t pc = 0;      // slot index of this instruction in the original bytecode
    uint32_t target = 0;  // jumps, gotol, may_goto, local calls, function references: index (into
                          // Program::insns) of the target
};
static_assert(std::is_trivially_copyable_v<Insn>);

/// A decoded, validated program. Never changes after load.
struct Program {
    std::string name;
    std::vector<Insn> insns;               // decoded instructions
    std::vector<uint32_t> slot_to_index;   // slot index -> insns index (second LDDW slot maps to its first)
    uint32_t num_slots = 0;
    std::vector<uint32_t> subprog_entries; // insns indices of call and function-reference targets, 0 first

    /// Index into insns of the instruction at slot `pc` (must be valid).
    uint32_t index_of(uint32_t pc) const { return slot_to_index[pc]; }
};

/// Options for decoding.
struct DecodeOptions {
    bool allow_unresolved_pseudo = true;  // accept LDDW src 1..6 (the loader resolves them later)
    uint32_t max_slots = kDefaultMaxProgramInsns;  // larger programs are refused (limits.hpp)
};

/// Decodes raw bytecode into a Program, then checks it with validate_program. Rejects, naming the slot
/// index: what makes the bytes unreadable as instructions (unknown opcodes, non-zero reserved fields,
/// LDDW without its second slot, an empty program, more than options.max_slots slots), jumps or
/// calls out of range or into the middle of an LDDW (a Program cannot represent them), and what
/// validate_program rejects. Everything else is the verifier's to judge: a write to r10, for one,
/// decodes (engines trap on it at run time).
Result<Program> decode_program(std::span<const RawInsn> raw, const DecodeOptions& options = {});

/// Same, from bytes; a length that is not a multiple of 8 is an error.
Result<Program> decode_program(std::span<const uint8_t> bytes, const DecodeOptions& options = {});

/// Decodes one instruction slot (no LDDW second half, no jump or register checks). Error names slot `pc`.
Result<Insn> decode_insn(const RawInsn& raw, uint32_t pc);

/// The structural checks every engine relies on, shared by decode_program and the engines' prepare
/// (a Program may be built by hand): at least one and at most 2^24 instructions, registers r0..r10
/// (the kernel: "R11 is invalid"), jump, call and function-reference targets inside the program, and
/// a last instruction that cannot fall off the end (exit, ja or gotol). Errors name the slot (pc).
Status validate_program(const Program& program);

/// The register whose value `insn` defines, as the kernel's insn_def_regno: dst for ALU, loads, lddw
/// and load-acquire; src for fetching atomics; r0 for cmpxchg; -1 for jumps, calls, stores and
/// non-fetching atomics (calls also clobber r0..r5, which is not reported here).
int defined_register(const Insn& insn);

/// Encodes a decoded instruction back into one or two slots (LDDW).
void encode_insn(const Insn& insn, std::vector<RawInsn>& out);

/// Encodes a whole program (jump offsets recomputed from `target`).
std::vector<RawInsn> encode_program(const Program& program);

/// Number of slots an instruction occupies (2 for LDDW).
inline uint32_t slot_count(Op op) { return op == Op::Lddw ? 2 : 1; }

/// True for forms that end a basic block with a possible jump to `target` (ja, gotol, conditional
/// jumps, may_goto).
bool is_jump(Op op);
/// True when `insn.target` is an instruction index the engines follow: jumps, local calls and
/// function references (lddw src 4), so control may arrive there from `insn`.
bool has_target(const Insn& insn);
/// True for jumps with two outcomes, taken or not (conditional jumps and may_goto): the branches
/// of branch coverage.
bool is_conditional_jump(Op op);

/// Parses a helper name ("map_lookup_elem" or "bpf_map_lookup_elem") to its id; -1 if unknown.
int helper_id_by_name(std::string_view name);
/// The name of helper `id` from linux/bpf.h ("map_lookup_elem"), or "" if unknown.
std::string_view helper_name(int id);

}  // namespace bpfvm
