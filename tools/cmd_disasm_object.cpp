// `bpfvm disasm OBJ [--program NAME]`: every program's instructions with the source lines from
// BTF line info interleaved (`; x = a / b;  // prog.c:42`), like `llvm-objdump -S` or
// `bpftool prog dump xlated linum`. Registered by cmd_isa.cpp, which parses the flags.
#include <cstdio>
#include <string>

#include "bpfvm/asm.hpp"
#include "bpfvm/bpfvm.hpp"
#include "run_options.hpp"

namespace bpfvm::cli {
namespace {

/// Trims leading and trailing blanks of a recorded source line.
std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

void print_program(const ObjectFile& file, const ProgramSpec& spec) {
    std::printf("%s (section %s, type %s):\n", spec.name.c_str(), spec.section.c_str(), program_type_name(spec.type).c_str());
    if (spec.error) {
        std::printf("  (not loadable: %s)\n", spec.error->to_string().c_str());
        return;
    }
    const Program& prog = spec.program;
    size_t next_line = 0;
    std::string last_location;
    for (const Insn& insn : prog.insns) {
        for (const FuncEntry& f : spec.funcs)
            if (f.pc == insn.pc && f.pc != 0) std::printf("\n%s:\n", f.name.c_str());
        // Line entries that start at or before this slot: show the newest one once.
        const LineEntry* entry = nullptr;
        while (next_line < spec.lines.size() && spec.lines[next_line].pc <= insn.pc) entry = &spec.lines[next_line++];
        if (entry && entry->line_index < spec.line_table.size()) {
            const SourceLine& line = spec.line_table[entry->line_index];
            const std::string location = line.location();
            if (location != last_location && line.line != 0) {  // line 0: compiler-generated code
                const std::string text = trim(line.text);
                std::printf("; %s  // %s\n", text.empty() ? "(no source text)" : text.c_str(), location.c_str());
                last_location = location;
            }
        }
        std::string text = disassemble_insn(insn);
        if (insn.op == Op::Lddw && (insn.src == static_cast<uint8_t>(LddwKind::MapIdx) ||
                                    insn.src == static_cast<uint8_t>(LddwKind::MapIdxValue))) {
            const auto idx = static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) & 0xffffffffu);
            if (idx < file.maps.size()) text += "  ; map " + file.maps[idx].name;
        }
        std::printf("%6u: %s\n", insn.pc, text.c_str());
    }
}

}  // namespace

int disasm_object_command(const std::string& file, const std::string& program) {
    auto obj = Object::open(file);  // keep_going: show what can be shown
    if (!obj) {
        std::fprintf(stderr, "bpfvm disasm: %s\n", obj.error().to_string().c_str());
        return 2;
    }
    // A section name shows every program of the section.
    bool printed = false;
    for (const ProgramSpec& spec : obj->file().programs) {
        if (!program.empty() && spec.name != program && spec.section != program) continue;
        if (printed) std::printf("\n");
        print_program(obj->file(), spec);
        printed = true;
    }
    if (!printed) {
        auto missing = obj->program(program);  // the facade's message, listing the programs
        std::fprintf(stderr, "bpfvm disasm: %s\n", missing ? "no programs" : missing.error().to_string().c_str());
        return 2;
    }
    return 0;
}

}  // namespace bpfvm::cli
