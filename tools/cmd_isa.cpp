// `bpfvm asm` (conformance-suite assembly to bytecode) and `bpfvm disasm` (bytecode or objects to
// LLVM/kernel syntax).
#include <cstdio>
#include <filesystem>
#include <string>

#include "bpfvm/asm.hpp"
#include "bpfvm/runners/conformance.hpp"
#include "command.hpp"
#include "run_options.hpp"

namespace bpfvm::cli {
namespace {

struct AsmOptions {
    std::string input;
    std::string output;
};

/// Assembles FILE: a `.data` file contributes its `-- asm` (or `-- raw`) section, anything else is
/// assembly text.
int run_asm(const AsmOptions& options) {
    std::vector<RawInsn> program;
    if (std::filesystem::path(options.input).extension() == ".data") {
        auto test = load_conformance_test(options.input);
        if (!test) {
            std::fprintf(stderr, "bpfvm asm: %s\n", test.error().to_string().c_str());
            return 2;
        }
        if (!test->has_asm && !test->has_raw) {
            std::fprintf(stderr, "bpfvm asm: %s: no -- asm section\n", options.input.c_str());
            return 2;
        }
        program = std::move(test->program);
    } else {
        auto text = read_input_file(options.input);
        if (!text) {
            std::fprintf(stderr, "bpfvm asm: %s\n", text.error().to_string().c_str());
            return 2;
        }
        auto assembled = assemble(*text);
        if (!assembled) {
            std::fprintf(stderr, "bpfvm asm: %s: %s\n", options.input.c_str(), assembled.error().to_string().c_str());
            return 2;
        }
        program = std::move(*assembled);
    }
    if (program.empty()) {
        std::fprintf(stderr, "bpfvm asm: %s: no instructions\n", options.input.c_str());
        return 2;
    }
    // The bytes are written even when they would not load, but say why they would not.
    auto decoded = decode_program(std::span<const RawInsn>(program));
    if (!decoded)
        std::fprintf(stderr, "bpfvm asm: warning: %s: %s\n", options.input.c_str(), decoded.error().to_string().c_str());
    Status written = write_output_file(
        options.output, std::string_view(reinterpret_cast<const char*>(program.data()), program.size() * sizeof(RawInsn)));
    if (!written) {
        std::fprintf(stderr, "bpfvm asm: %s\n", written.error().to_string().c_str());
        return 2;
    }
    return 0;
}

int run_disasm_raw(const std::string& file, bool asm_syntax) {
    auto bytes = read_input_file(file);
    if (!bytes) {
        std::fprintf(stderr, "bpfvm disasm: %s\n", bytes.error().to_string().c_str());
        return 2;
    }
    const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
    auto program = decode_program(std::span<const uint8_t>(data, bytes->size()));
    if (!program) {
        std::fprintf(stderr, "bpfvm disasm: %s: %s\n", file.c_str(), program.error().to_string().c_str());
        return 2;
    }
    if (asm_syntax) {
        // The assembler's own syntax: `bpfvm asm` reads it back into the same bytes.
        auto text = to_assembly(*program);
        if (!text) {
            std::fprintf(stderr, "bpfvm disasm: %s: %s\n", file.c_str(), text.error().to_string().c_str());
            return 2;
        }
        std::fputs(text->c_str(), stdout);
        return 0;
    }
    std::fputs(disassemble(*program).c_str(), stdout);
    return 0;
}

const CommandRegistrar kRegisterIsa(20, [](CLI::App& app, int& exit_code) {
    auto asm_options = std::make_shared<AsmOptions>();
    CLI::App* asm_cmd = app.add_subcommand("asm", "Assemble conformance-suite assembly into raw bytecode (8-byte slots)");
    asm_cmd->footer(
        "Syntax: one instruction per line, `label:` lines, `#` comments, e.g.\n"
        "  mov %r0, 1 | add32 %r0, -3 | ldxw %r0, [%r1+4] | stxdw [%r10-8], %r0 | lddw %r0, 0x123456789abcdef0\n"
        "  jeq %r1, 2, label | ja +3 | call 5 | call local fn | call %r2 | be16 %r0 | lock fetch add [%r10-8], %r1\n"
        "A .data file from the conformance suite contributes its -- asm section.\n\n"
        "Example:\n  bpfvm asm examples/asm/fib.s -o fib.bin\n");
    asm_cmd->add_option("FILE", asm_options->input, "Assembly text (.s/.asm) or a conformance .data file")
        ->required();
    asm_cmd->add_option("-o,--output", asm_options->output, "Where to write the bytecode")->required();
    asm_cmd->callback([asm_options, &exit_code] { exit_code = run_asm(*asm_options); });

    auto disasm_options = std::make_shared<RunOptions>();
    CLI::App* disasm_cmd =
        app.add_subcommand("disasm", "Disassemble raw bytecode or the programs of an object file (LLVM/kernel syntax)");
    disasm_cmd->footer(
        "Prints one line per instruction with its slot index, e.g. `   2: r0 = *(u32 *)(r1 + 4)`.\n\n"
        "Examples:\n  bpfvm disasm --raw fib.bin\n  bpfvm disasm prog.bpf.o --program xdp_count\n");
    disasm_cmd->add_option("FILE", disasm_options->file, "Raw bytecode (with --raw) or an ELF object file")
        ->required();
    disasm_cmd->add_flag("--raw", disasm_options->raw, "FILE is raw bytecode (8-byte little-endian slots)");
    disasm_cmd->add_option("--program", disasm_options->program, "Only this program of an object file");
    auto asm_syntax = std::make_shared<bool>(false);
    disasm_cmd->add_flag("--asm-syntax", *asm_syntax, "Raw bytecode: print the assembler's syntax (bpfvm asm reads it back)");
    disasm_cmd->callback([disasm_options, asm_syntax, &exit_code] {
        exit_code = disasm_options->raw ? run_disasm_raw(disasm_options->file, *asm_syntax)
                                        : disasm_object_command(disasm_options->file, disasm_options->program);
    });
});

}  // namespace
}  // namespace bpfvm::cli
