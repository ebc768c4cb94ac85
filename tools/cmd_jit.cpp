// `bpfvm jit --dump FILE --raw`: the JIT's machine code for each BPF instruction, with the host
// disassembly (capstone) when available.
#include <cstdio>
#include <memory>
#include <string>

#include "bpfvm/conformance.hpp"
#include "bpfvm/jit.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

struct JitOptions {
    std::string file;
    bool dump = false;
    bool raw = false;
    bool unchecked = false;
};

// The dump only compiles: every helper id gets a placeholder so that any helper call compiles.
uint64_t placeholder_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    ctx->fault("placeholder helper (bpfvm jit --dump never runs code)");
    return 0;
}

int fail(const std::string& message) {
    std::fprintf(stderr, "bpfvm jit: %s\n", message.c_str());
    return 2;
}

int run_jit(const JitOptions& options) {
    if (!options.dump) return fail("nothing to do: use --dump");
    if (!options.raw) return fail(options.file + ": object files are not supported yet by `jit --dump` (use --raw for bytecode)");
    auto bytes = read_input_file(options.file);
    if (!bytes) return fail(bytes.error().to_string());
    const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
    auto program = decode_program(std::span<const uint8_t>(data, bytes->size()));
    if (!program) return fail(options.file + ": " + program.error().to_string());
    if (!jit::host_supported()) return fail("no JIT backend for this host architecture");
    HelperTable helpers = conformance_helpers();
    for (uint32_t id = 0; id < kMaxHelperId; ++id)
        if (!helpers.has(id)) helpers.set(id, &placeholder_helper);
    EngineOptions engine_options;
    engine_options.checked = !options.unchecked;
    auto text = jit::dump(*program, helpers, engine_options);
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
        "Example:\n  bpfvm jit --dump --raw fib.bin\n");
    cmd->add_option("FILE", options->file, "Raw bytecode (with --raw)")->required()->check(CLI::ExistingFile);
    cmd->add_flag("--dump", options->dump, "Print the generated code per instruction");
    cmd->add_flag("--raw", options->raw, "FILE is raw bytecode (8-byte little-endian slots)");
    cmd->add_flag("--unchecked", options->unchecked, "Show the unchecked code (no bounds checks, no budget)");
    cmd->callback([options, &exit_code] { exit_code = run_jit(*options); });
});

}  // namespace
}  // namespace bpfvm::cli
