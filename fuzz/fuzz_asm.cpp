// fuzz_asm: the text forms of eBPF. Every input is tried both ways:
//  - as assembly text: assemble() either fails with an error or yields bytecode; bytecode that
//    decodes prints (to_assembly) into text that assembles back into the same bytes;
//  - as bytecode: decode_program() either fails or yields a program whose encoding decodes to the
//    same instructions, whose disassembly (LLVM syntax) never fails, and whose assembler text
//    assembles back into the same bytes (the disasm -> asm round trip).
// A broken round trip aborts, which libFuzzer reports with the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "bpfvm/asm.hpp"
#include "bpfvm/isa.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_asm: %s\n%s\n", what, detail.c_str());
    std::abort();
}

bool same_bytes(const std::vector<bpfvm::RawInsn>& a, const std::vector<bpfvm::RawInsn>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof a[0]) == 0);
}

bool has_pseudo_lddw(const bpfvm::Program& program) {
    for (const auto& insn : program.insns)
        if (insn.op == bpfvm::Op::Lddw && insn.src != 0) return true;
    return false;
}

/// decode -> to_assembly -> assemble must give back `code`.
void check_text_round_trip(const bpfvm::Program& program, const std::vector<bpfvm::RawInsn>& code) {
    if (has_pseudo_lddw(program)) return;  // map and function references have no assembler form
    auto text = bpfvm::to_assembly(program);
    if (!text) fail("to_assembly failed", text.error().to_string());
    auto again = bpfvm::assemble(*text);
    if (!again) fail("printed assembly does not assemble", again.error().to_string() + "\n" + *text);
    if (!same_bytes(*again, code)) fail("assembly round trip changed the bytes", *text);
}

void fuzz_text(std::string_view text) {
    auto code = bpfvm::assemble(text);
    if (!code || code->empty()) return;
    auto program = bpfvm::decode_program(std::span<const bpfvm::RawInsn>(*code));
    if (!program) return;  // e.g. a jump out of range: the CLI warns and writes the bytes anyway
    (void)bpfvm::disassemble(*program);
    check_text_round_trip(*program, *code);
}

void fuzz_bytes(std::span<const uint8_t> bytes) {
    auto program = bpfvm::decode_program(bytes);
    if (!program) return;
    (void)bpfvm::disassemble(*program);
    const auto code = bpfvm::encode_program(*program);
    auto again = bpfvm::decode_program(std::span<const bpfvm::RawInsn>(code));
    if (!again || again->insns.size() != program->insns.size()) fail("encoding does not decode again", "");
    for (size_t i = 0; i < program->insns.size(); ++i) {
        const auto& a = program->insns[i];
        const auto& b = again->insns[i];
        if (a.op != b.op || a.dst != b.dst || a.src != b.src || a.off != b.off || a.imm != b.imm || a.target != b.target)
            fail("decode -> encode -> decode changed an instruction", bpfvm::disassemble_insn(a));
    }
    check_text_round_trip(*program, code);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_text(std::string_view(reinterpret_cast<const char*>(data), size));
    if (size % sizeof(bpfvm::RawInsn) == 0) fuzz_bytes(std::span<const uint8_t>(data, size));
    return 0;
}
