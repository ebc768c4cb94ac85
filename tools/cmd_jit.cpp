// `bpfvm jit --dump FILE --raw`: the JIT's machine code for each BPF instruction, with the host
// disassembly (capstone) when available.
#include <cstdio>
#include <memory>
#include <string>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/io.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

struct JitOptions {
    std::string file;
    std::string program;  // --program NAME (objects)
    bool dump = false;
    bool raw = false;
    bool unchecked = false;
};

int fail(const std::string& message) {
    std::fprintf(stderr, "bpfvm jit: %s\n", message.c_str());
    return 2;
}

int run_jit(const JitOptions& options) {
    if (!options.dump) return fail("nothing to do: use --dump");
    Result<Program> program = make_error(ErrorCode::kInvalidArgument, "no program");
    if (options.raw) {
        auto bytes = read_input_file(options.file);
        if (!bytes) return fail(bytes.error().to_string());
        const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
        program = decode_program(std::span<const uint8_t>(data, bytes->size()));
    } else {
        // An object: the program as it would run (maps resolved, context accesses converted).
        auto object = Object::open(options.file);
        if (!object) return fail(object.error().to_string());
        std::string name = options.program;
        const auto names = object->program_names();
        if (name.empty() && names.size() == 1) name = names.front();
        if (name.empty()) {
            return fail(options.file + ": several programs, choose one with --program (" + join(names, ", ") + ")");
        }
        program = object->runnable_program(name);
    }
    if (!program) return fail(options.file + ": " + program.error().to_string());
    EngineOptions engine_options;
    engine_options.checked = !options.unchecked;
    auto text = dump_machine_code(*program, engine_options);
    if (!text) return fail(options.file + ": " + text.error().to_string());
    std::fputs(text->c_str(), stdout);
    return 0;
}

const CommandRegistrar kRegisterJit(50, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<JitOptions>();
    CLI::App* cmd = app.add_subcommand("jit", "Show the JIT's machine code for a program");
    cmd->footer(
        "--dump prints, for each BPF instruction, its slot and disassembly, then the offset and bytes of the\n"
        "host code generated for it (with the host disassembly when built with capstone), followed by the\n"
        "entry points and the out-of-line stubs. Checked mode (bounds checks, budget) unless --unchecked.\n\n"
        "Examples:\n  bpfvm jit --dump --raw fib.bin\n  bpfvm jit --dump xdp_counter.bpf.o --program xdp_count\n");
    cmd->add_option("FILE", options->file, "ELF object, or raw bytecode with --raw")->required();
    cmd->add_option("--program", options->program, "Program of the object (function or section name)");
    cmd->add_flag("--dump", options->dump, "Print the generated code per instruction");
    cmd->add_flag("--raw", options->raw, "FILE is raw bytecode (8-byte little-endian slots)");
    cmd->add_flag("--unchecked", options->unchecked, "Show the unchecked code (no bounds checks, no budget)");
    cmd->callback([options, &exit_code] { exit_code = run_jit(*options); });
});

}  // namespace
}  // namespace bpfvm::cli
