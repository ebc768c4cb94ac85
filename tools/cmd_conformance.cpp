// `bpfvm conformance`: runs the BPF conformance suite's `.data` files, or acts as a plugin of the
// public bpf_conformance runner (program as hex on stdin, memory as hex in the first argument).
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>

#include "bpfvm/asm.hpp"
#include "bpfvm/runners/conformance.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

constexpr size_t kMaxPluginInput = 64u << 20;  // hex text on stdin

struct ConformanceOptions {
    std::vector<std::string> paths;  // directories or .data files; in plugin mode: the memory hex
    std::string engine;
    bool verbose = false;
    bool plugin = false;
    bool elf = false;
};

Result<EngineKind> engine_of(const ConformanceOptions& options) {
    if (options.engine.empty()) return default_engine();
    return parse_engine(options.engine);
}

/// Plugin protocol: stdin holds the program as hex bytes, the optional first argument the input memory
/// as hex bytes; print r0 in hex on stdout and exit 0, or an error on stderr and exit 1.
int run_plugin(const ConformanceOptions& options) {
    if (options.elf) {
        std::fprintf(stderr, "bpfvm conformance --plugin: ELF input (--elf) is not supported; run the runner without --elf_format\n");
        return 1;
    }
    if (options.paths.size() > 1) {
        std::fprintf(stderr, "bpfvm conformance --plugin: expected at most one argument (the memory hex), got %zu\n",
                     options.paths.size());
        return 1;
    }
    auto engine = engine_of(options);
    if (!engine) {
        std::fprintf(stderr, "bpfvm conformance --plugin: %s\n", engine.error().message.c_str());
        return 1;
    }
    std::string input;
    char buf[65536];
    while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
        input.append(buf, static_cast<size_t>(std::cin.gcount()));
        if (input.size() > kMaxPluginInput) {
            std::fprintf(stderr, "bpfvm conformance --plugin: program on stdin exceeds %zu bytes of hex\n", kMaxPluginInput);
            return 1;
        }
    }
    auto bytes = parse_hex_bytes(input);
    if (!bytes) {
        std::fprintf(stderr, "bpfvm conformance --plugin: stdin: %s\n", bytes.error().message.c_str());
        return 1;
    }
    std::vector<uint8_t> memory;
    if (!options.paths.empty()) {
        auto parsed = parse_hex_bytes(options.paths[0]);
        if (!parsed) {
            std::fprintf(stderr, "bpfvm conformance --plugin: memory: %s\n", parsed.error().message.c_str());
            return 1;
        }
        memory = std::move(*parsed);
    }
    if (bytes->size() % sizeof(RawInsn) != 0) {
        std::fprintf(stderr, "bpfvm conformance --plugin: program is %zu bytes, not a multiple of 8\n", bytes->size());
        return 1;
    }
    std::vector<RawInsn> program(bytes->size() / sizeof(RawInsn));
    if (!program.empty()) std::memcpy(program.data(), bytes->data(), bytes->size());
    auto r0 = run_conformance_program(program, memory, *engine);
    if (!r0) {
        std::fprintf(stderr, "%s\n", r0.error().to_string().c_str());
        return 1;
    }
    std::printf("%" PRIx64 "\n", *r0);
    return 0;
}

int run_suite(const ConformanceOptions& options) {
    auto engine = engine_of(options);
    if (!engine) {
        std::fprintf(stderr, "bpfvm conformance: %s\n", engine.error().message.c_str());
        return 2;
    }
    if (options.paths.empty()) {
        std::fprintf(stderr, "bpfvm conformance: give a directory of .data files or .data files (or --plugin)\n");
        return 2;
    }
    std::vector<std::string> files;
    for (const auto& path : options.paths) {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            auto listed = list_conformance_files(path);
            if (!listed) {
                std::fprintf(stderr, "bpfvm conformance: %s\n", listed.error().to_string().c_str());
                return 2;
            }
            files.insert(files.end(), listed->begin(), listed->end());
        } else if (std::filesystem::is_regular_file(path, ec)) {
            files.push_back(path);
        } else {
            std::fprintf(stderr, "bpfvm conformance: %s: no such file or directory\n", path.c_str());
            return 2;
        }
    }
    size_t passed = 0, failed = 0, skipped = 0;
    for (const auto& file : files) {
        const ConformanceReport report = run_conformance_file(file, *engine);
        switch (report.outcome) {
            case ConformanceOutcome::Pass:
                ++passed;
                std::printf("PASS %s\n", report.name.c_str());
                break;
            case ConformanceOutcome::Fail:
                ++failed;
                std::printf("FAIL %s: %s\n", report.name.c_str(), report.reason.c_str());
                break;
            case ConformanceOutcome::Skip:
                ++skipped;
                std::printf("SKIP %s: %s\n", report.name.c_str(), report.reason.c_str());
                break;
        }
        if (options.verbose && report.outcome == ConformanceOutcome::Fail) {
            // Show what ran, when the file parses and decodes.
            auto test = load_conformance_test(file);
            if (test && !test->program.empty()) {
                auto program = decode_program(std::span<const RawInsn>(test->program));
                if (program) std::printf("%s", disassemble(*program).c_str());
            }
        }
    }
    std::printf("%zu passed, %zu failed", passed, failed);
    if (skipped) std::printf(", %zu skipped", skipped);
    std::printf("\n");
    return failed ? 1 : 0;
}

const CommandRegistrar kRegisterConformance(40, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<ConformanceOptions>();
    CLI::App* cmd = app.add_subcommand("conformance", "Run the BPF conformance suite (.data files), or act as its plugin");
    cmd->footer(
        "Suite mode prints `PASS name`, `FAIL name: reason` or `SKIP name: reason` per file (sorted), then\n"
        "`N passed, N failed` (and `, N skipped`). Exit status 0 when nothing failed, 1 otherwise, 2 on bad usage.\n"
        "Programs run in checked mode with r1 = the -- mem bytes, r2 = their length; helper 5 returns its argument.\n\n"
        "Plugin mode follows the bpf_conformance runner's plugin protocol: the program arrives on stdin as hex\n"
        "bytes, the input memory as hex bytes in the first argument; r0 is printed in hex, errors go to stderr\n"
        "with exit status 1. The runner puts the memory argument before the plugin options, so use a wrapper:\n"
        "  printf '#!/bin/sh\\nexec bpfvm conformance --plugin \"$@\"\\n' > bpfvm-plugin && chmod +x bpfvm-plugin\n"
        "  bpf_conformance_runner --test_file_directory tests --plugin_path ./bpfvm-plugin --cpu_version v4\n"
        "Select the engine with --plugin_options \"--engine interp\".\n\n"
        "Examples:\n"
        "  bpfvm conformance ../shared/conformance/tests --engine interp\n"
        "  echo 'b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00' | bpfvm conformance --plugin\n");
    cmd->add_option("PATH", options->paths,
                    "Directories of .data files or single .data files; in plugin mode, the input memory as hex");
    cmd->add_option("--engine", options->engine, "interp or jit (default: jit where available)")
        ->check(CLI::IsMember({"interp", "jit"}));
    cmd->add_flag("--verbose", options->verbose, "Print the disassembly of failing tests");
    cmd->add_flag("--plugin", options->plugin, "Plugin mode for the bpf_conformance runner (see below)");
    cmd->add_flag("--elf", options->elf, "Plugin mode: the runner sends ELF (not supported, reported as an error)");
    cmd->callback([options, &exit_code] { exit_code = options->plugin ? run_plugin(*options) : run_suite(*options); });
});

}  // namespace
}  // namespace bpfvm::cli
