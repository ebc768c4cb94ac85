// `bpfvm run`: runs raw bytecode (--raw) with input memory, or hands object files to
// run_object_command with the same options.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "bpfvm/runners/conformance.hpp"
#include "bpfvm/vm.hpp"
#include "command.hpp"
#include "run_options.hpp"

namespace bpfvm::cli {
namespace {

int fail_input(const std::string& message) {
    std::fprintf(stderr, "bpfvm run: %s\n", message.c_str());
    return 2;
}

/// Runs raw bytecode: r1 = a writable copy of the input memory, r2 = its length; helpers are those of
/// the conformance suite (helper 5 returns its first argument).
int run_raw(const RunOptions& options) {
    auto bytes = read_input_file(options.file);
    if (!bytes) return fail_input(bytes.error().to_string());
    const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
    auto program = decode_program(std::span<const uint8_t>(data, bytes->size()));
    if (!program) return fail_input(options.file + ": " + program.error().to_string());

    std::vector<uint8_t> memory;
    if (!options.mem_hex.empty() && !options.mem_file.empty()) return fail_input("use either --mem-hex or --mem, not both");
    if (!options.mem_hex.empty()) {
        auto parsed = parse_hex_bytes(options.mem_hex);
        if (!parsed) return fail_input("--mem-hex: " + parsed.error().message);
        memory = std::move(*parsed);
    } else if (!options.mem_file.empty()) {
        auto text = read_input_file(options.mem_file);
        if (!text) return fail_input("--mem: " + text.error().to_string());
        memory.assign(text->begin(), text->end());
    }

    EngineKind engine = default_engine();
    if (!options.engine.empty()) {
        auto parsed = parse_engine(options.engine);
        if (!parsed) return fail_input("--engine: " + parsed.error().message);
        engine = *parsed;
    }
    EngineOptions engine_options;
    engine_options.checked = !options.unchecked;
    engine_options.insn_budget = options.max_insns;
    auto exe = prepare(*program, engine, conformance_helpers(), engine_options);
    if (!exe) return fail_input(options.file + ": " + exe.error().to_string());

    RunResult result;
    const auto start = std::chrono::steady_clock::now();
    // One context and one buffer for all runs (the program is bound to the context once); every
    // run sees the original input, copied back in place.
    std::vector<uint8_t> copy = memory;
    RunContext ctx;
    const auto base = copy.empty() ? uint64_t{0} : reinterpret_cast<uint64_t>(copy.data());
    if (!copy.empty()) ctx.regions.push_back({base, base + copy.size(), true});
    for (uint32_t i = 0; i < options.repeat; ++i) {
        if (i > 0 && !copy.empty()) std::memcpy(copy.data(), memory.data(), memory.size());
        if (ctx.regions.size() != (copy.empty() ? 0u : 1u)) ctx.regions.resize(copy.empty() ? 0 : 1);
        result = (*exe)->run(ctx, base, copy.size());
        if (!result.ok()) {
            std::fprintf(stderr, "bpfvm run: %s: %s\n", options.file.c_str(), describe_trap(result.trap, ctx).c_str());
            return 1;
        }
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (options.json) {
        std::printf("{\"r0\": %" PRIu64 ", \"r0_hex\": \"0x%" PRIx64 "\", \"engine\": \"%s\", \"runs\": %u, \"ns_per_run\": %.1f}\n",
                    result.r0, result.r0, (*exe)->engine_name(), options.repeat, ns / options.repeat);
    } else {
        std::printf("0x%" PRIx64 " (%" PRIu64 ")\n", result.r0, result.r0);
        if (options.repeat > 1)
            std::printf("%u runs on %s, %.1f ns per run\n", options.repeat, (*exe)->engine_name(), ns / options.repeat);
    }
    return 0;
}

const CommandRegistrar kRegisterRun(30, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("run", "Run raw bytecode (--raw) or a program of an ELF object file");
    cmd->footer(
        "Raw bytecode runs with r1 = a writable copy of the input memory (--mem-hex/--mem) and r2 = its length,\n"
        "and prints r0 in hex and decimal; its helpers are the conformance suite's (helper 5 returns its first\n"
        "argument). Exit status: 0 ok, 1 the run trapped, 2 bad usage or input.\n\n"
        "Examples:\n"
        "  bpfvm run --raw fib.bin --mem-hex 1e --engine interp\n"
        "  bpfvm run prog.bpf.o --program xdp_count --data-hex 'ff ff ff ff ff ff' --json\n"
        "  bpfvm run prog.bpf.o --program xdp_count --data-hex 'ff ff ff ff ff ff' --kernel   (needs root)\n");
    cmd->add_option("FILE", options->file, "ELF object file, or raw bytecode with --raw")->required()->check(CLI::ExistingFile);
    cmd->add_flag("--raw", options->raw, "FILE is raw bytecode (8-byte little-endian slots)");
    cmd->add_option("--mem-hex", options->mem_hex, "Input memory for raw programs as hex bytes, e.g. 'aa bb 0c'");
    cmd->add_option("--mem", options->mem_file, "Input memory for raw programs, read from a file")->check(CLI::ExistingFile);
    cmd->add_option("--program", options->program, "Program (section or function name) of an object file");
    cmd->add_option("--data", options->data_file, "Packet data for an object's program, read from a file")
        ->check(CLI::ExistingFile);
    cmd->add_option("--data-hex", options->data_hex, "Packet data for an object's program as hex bytes");
    cmd->add_option("--ctx", options->ctx_file, "Context bytes for an object's program, read from a file")
        ->check(CLI::ExistingFile);
    cmd->add_option("--ctx-hex", options->ctx_hex, "Context bytes for an object's program as hex bytes");
    cmd->add_option("--engine", options->engine, "interp or jit (default: jit where available)")
        ->check(CLI::IsMember({"interp", "jit"}));
    cmd->add_option("--repeat", options->repeat, "Run N times and report the time per run")
        ->check(CLI::Range(1u, 1'000'000'000u));
    cmd->add_option("--map", options->map_entries, "Preset a map entry NAME=KEY:VALUE (hex), repeatable");
    cmd->add_option("--btf", options->btf, "Target BTF for CO-RE relocations of an object")->check(CLI::ExistingFile);
    cmd->add_flag("--json", options->json, "Print the result as JSON");
    cmd->add_flag("--unchecked", options->unchecked,
                  "Skip bounds checks and the instruction budget even if the verifier rejects the program");
    cmd->add_flag("--no-verify", options->no_verify,
                  "Objects: do not verify first; run with bounds checks (default: verified programs run unchecked)");
    cmd->add_option("--max-insns", options->max_insns, "Instruction budget in checked mode (default 100000000)")
        ->check(CLI::Range(uint64_t{1}, ~uint64_t{0}));
    cmd->add_flag("--kernel", options->kernel,
                  "Run an object's program in the running kernel (BPF_PROG_TEST_RUN over bpf(); needs root)");
    cmd->callback([options, &exit_code] {
        if (options->raw && options->kernel) {
            std::fprintf(stderr, "bpfvm run: --kernel runs object files, not raw bytecode\n");
            exit_code = 2;
            return;
        }
        exit_code = options->raw ? run_raw(*options) : run_object_command(*options);
    });
});

}  // namespace
}  // namespace bpfvm::cli
