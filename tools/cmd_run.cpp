// `bpfvm run`: runs raw bytecode (--raw) with input memory, or one program of an ELF object the
// way BPF_PROG_TEST_RUN would. Parses the flags into a RunRequest (runners/run.hpp), runs it,
// and prints the outcome (text, or --json; with --json an error is a JSON object on stdout too).
#include <cstdio>
#include <string>

#include "bpfvm/io.hpp"
#include "command.hpp"
#include "run_options.hpp"

namespace bpfvm::cli {
namespace {

/// Bytes from --X-hex or --X FILE (at most one of them).
Result<std::vector<uint8_t>> read_bytes(const std::string& hex, const std::string& file, const std::string& what) {
    if (!hex.empty() && !file.empty())
        return make_error(ErrorCode::kInvalidArgument, "use either --" + what + "-hex or --" + what + ", not both");
    if (!hex.empty()) {
        auto bytes = parse_hex_bytes(hex);
        if (!bytes) return make_error(ErrorCode::kInvalidArgument, "--" + what + "-hex: " + bytes.error().message);
        return *bytes;
    }
    if (!file.empty()) {
        auto text = read_input_file(file, kMaxInputFileBytes);
        if (!text) return text.error();
        return std::vector<uint8_t>(text->begin(), text->end());
    }
    return std::vector<uint8_t>{};
}

Result<RunRequest> make_request(const RunOptions& o) {
    RunRequest req;
    req.file = o.file;
    req.raw = o.raw;
    req.program = o.program;
    req.type = o.type;
    if (o.raw && (!o.data_hex.empty() || !o.data_file.empty()))
        return make_error(ErrorCode::kInvalidArgument, "raw bytecode takes its input with --mem-hex or --mem, not --data");
    if (!o.raw && (!o.mem_hex.empty() || !o.mem_file.empty()))
        return make_error(ErrorCode::kInvalidArgument, "an object's program takes its packet with --data-hex or --data, not --mem");
    auto data = o.raw ? read_bytes(o.mem_hex, o.mem_file, "mem") : read_bytes(o.data_hex, o.data_file, "data");
    if (!data) return data.error();
    req.data = std::move(*data);
    auto ctx = read_bytes(o.ctx_hex, o.ctx_file, "ctx");
    if (!ctx) return ctx.error();
    req.ctx = std::move(*ctx);
    req.map_entries = o.map_entries;
    req.map_sizes = o.map_sizes;
    req.btf = o.btf;
    if (!o.engine.empty()) {
        auto engine = parse_engine(o.engine);
        if (!engine) return make_error(engine.error().code, "--engine: " + engine.error().message);
        req.engine = *engine;
    }
    req.repeat = o.repeat;
    req.mode = o.unchecked ? RunMode::Unchecked : o.no_verify ? RunMode::Checked : RunMode::Auto;
    req.insn_budget = o.max_insns;
    req.max_map_memory = o.max_map_memory;
    req.max_program_insns = o.max_program_insns;
    req.show_maps = o.show_maps;
    req.kernel = o.kernel;
    return req;
}

int run_command(const RunOptions& options) {
    auto fail = [&](const Error& e) {
        if (options.json) std::printf("%s\n", error_json(e).c_str());
        std::fprintf(stderr, "bpfvm run: %s\n", e.to_string().c_str());
        return exit_code_of(e);
    };
    auto request = make_request(options);
    if (!request) return fail(request.error());
    auto report = run_request(*request);
    if (!report) return fail(report.error());
    for (const std::string& w : report->result.warnings) std::fprintf(stderr, "bpfvm run: warning: %s\n", w.c_str());
    if (options.json)
        std::printf("%s\n", run_report_json(*report, *request).c_str());
    else
        print_run_report(*report, *request);
    return 0;
}

const CommandRegistrar kRegisterRun(30, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("run", "Run raw bytecode (--raw) or a program of an ELF object file");
    cmd->footer(
        "Raw bytecode runs with r1 = a writable copy of the input memory (--mem-hex/--mem) and r2 = its length,\n"
        "and prints r0 in hex and decimal; its helpers are the conformance suite's (helper 5 returns its first\n"
        "argument). An object's program runs as BPF_PROG_TEST_RUN would run it; helpers bpfvm cannot perform in\n"
        "userspace stop the run with 'helper NAME (#ID) is not supported in userspace' (exit 2).\n"
        "With --json the result (or the error) is one JSON object on stdout, the same schema for both kinds.\n"
        "Exit status: 0 ok, 1 the run trapped, 2 bad usage or input, 3 internal error.\n\n"
        "Examples:\n"
        "  bpfvm run --raw fib.bin --mem-hex 1e --engine interp\n"
        "  bpfvm run prog.bpf.o --program xdp_count --data-hex 'ff ff ff ff ff ff' --json\n"
        "  bpfvm run falco.o --program sys_enter --type raw_tracepoint --map-size events=4096 --show-maps\n"
        "  bpfvm run tail.o --program entry --map 'jmp_table=2:handle_ipv4' --data pkt.bin\n"
        "  bpfvm run prog.bpf.o --program xdp_count --data-hex 'ff ff ff ff ff ff' --kernel   (needs root)\n");
    cmd->add_option("FILE", options->file, "ELF object file, or raw bytecode with --raw")->required();
    cmd->add_flag("--raw", options->raw, "FILE is raw bytecode (8-byte little-endian slots)");
    cmd->add_option("--mem-hex", options->mem_hex, "Input memory for raw programs as hex bytes, e.g. 'aa bb 0c'");
    cmd->add_option("--mem", options->mem_file, "Input memory for raw programs, read from a file");
    cmd->add_option("--program", options->program, "Program (function or section name) of an object file");
    cmd->add_option("--type", options->type, "Run the program as this type (xdp, sched_cls, ...) for sections libbpf does not name");
    cmd->add_option("--data", options->data_file, "Packet data for an object's program, read from a file");
    cmd->add_option("--data-hex", options->data_hex, "Packet data for an object's program as hex bytes");
    cmd->add_option("--ctx", options->ctx_file, "Context bytes for an object's program, read from a file");
    cmd->add_option("--ctx-hex", options->ctx_hex, "Context bytes for an object's program as hex bytes");
    cmd->add_option("--engine", options->engine, "interp or jit (default: jit where available)")
        ->check(CLI::IsMember({"interp", "jit"}));
    add_uint_option(cmd, "--repeat", options->repeat, 1, 1'000'000'000, "Run N times and report the time per run");
    cmd->add_option("--map", options->map_entries,
                    "Preset a map entry NAME=KEY:VALUE (hex), or NAME=INDEX:PROGRAM to fill a prog_array slot; repeatable");
    cmd->add_option("--map-size", options->map_sizes, "Set max_entries of a map sized at load time: NAME=N; repeatable");
    cmd->add_option("--btf", options->btf, "Target BTF for CO-RE relocations of an object");
    cmd->add_flag("--json", options->json, "Print the result (or the error) as one JSON object");
    cmd->add_flag("--show-maps", options->show_maps, "After the run, print the map entries it added, changed or deleted");
    cmd->add_flag("--unchecked", options->unchecked,
                  "Skip bounds checks and the instruction budget even if the verifier rejects the program");
    cmd->add_flag("--no-verify", options->no_verify,
                  "Objects: do not verify first; run with bounds checks (default: verified programs run unchecked)");
    add_uint_option(cmd, "--max-insns", options->max_insns, 1, kMaxInsnBudget,
                    "Instruction budget in checked mode (default " + std::to_string(kDefaultInsnBudget) + ")");
    add_uint_option(cmd, "--max-program-insns", options->max_program_insns, 1, kMaxProgramInsns,
                    "Largest program in instruction slots (default " + std::to_string(kDefaultMaxProgramInsns) + ")");
    add_uint_option(cmd, "--max-map-memory", options->max_map_memory, 0, kMaxMapMemory,
                    "Bytes the object's maps may reserve (default " + std::to_string(kDefaultMapMemory) + ")");
    cmd->add_flag("--kernel", options->kernel,
                  "Run an object's program in the running kernel (BPF_PROG_TEST_RUN over bpf(); needs root)");
    cmd->callback([options, &exit_code] { exit_code = run_command(*options); });
});

}  // namespace
}  // namespace bpfvm::cli
