// `bpfvm fuzz OBJ --program NAME`: coverage-guided fuzzing of one program (runners/fuzz.hpp).
// Prints a progress line on a terminal, then the findings; writes them as a test spec that
// `bpfvm test` replays. Exit status: 0 nothing found, 1 findings (spec written), 2 bad usage or input.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "bpfvm/io.hpp"
#include "bpfvm/runners/fuzz.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

struct FuzzCliOptions {
    std::string file;
    std::string program;
    std::string type;
    std::vector<std::string> map_sizes;
    std::string seed_spec;
    std::string fail_on_retval;
    std::string output;
    std::string btf;
    uint64_t seed = 1;
    uint64_t runs = 0;
    uint32_t duration = 0;
    uint64_t max_insns = 1'000'000;
    bool keep_going = false;
};

int fail(const Error& e) {
    std::fprintf(stderr, "bpfvm fuzz: %s\n", e.to_string().c_str());
    return 2;
}

int run_fuzz(const FuzzCliOptions& o) {
    ObjectOptions oopts;
    oopts.load.target_btf_path = o.btf;
    auto obj = Object::open(o.file, oopts);
    if (!obj) return fail(obj.error());
    FuzzOptions f;
    f.program = o.program;
    f.type = o.type;
    f.map_sizes = o.map_sizes;
    f.seed = o.seed;
    f.max_execs = o.runs;
    f.duration_s = o.duration;
    if (o.runs == 0 && o.duration == 0) f.duration_s = 60;  // a default that ends
    f.insn_budget = o.max_insns;
    f.keep_going = o.keep_going;
    if (!o.fail_on_retval.empty()) {
        auto v = parse_retval(o.fail_on_retval);
        if (!v) return fail(make_error(ErrorCode::kInvalidArgument, "--fail-on-retval: " + v.error().message));
        f.fail_retval = *v;
        f.fail_retval_name = o.fail_on_retval;
    }
    if (!o.seed_spec.empty()) {
        auto seeds = seeds_from_spec(o.seed_spec, *obj, o.program);
        if (!seeds) return fail(seeds.error());
        f.seeds = std::move(*seeds);
    }
    const bool tty = isatty(STDERR_FILENO) != 0;
    if (tty) {
        f.progress = [](const FuzzStats& s) {
            std::fprintf(stderr, "\r#%" PRIu64 "  %.0f execs/s  edges %" PRIu64 "/%" PRIu64 "  corpus %zu  findings %zu   ",
                         s.execs, s.seconds > 0 ? double(s.execs) / s.seconds : 0.0, s.edges, s.edges_total, s.corpus,
                         s.findings);
        };
    }
    auto result = fuzz_program(*obj, f);
    if (!result) return fail(result.error());
    const FuzzStats& s = result->stats;
    if (tty) std::fprintf(stderr, "\n");
    std::printf("%" PRIu64 " executions in %.1f s (%.0f/s), edges %" PRIu64 "/%" PRIu64 ", corpus %zu, %" PRIu64
                " inputs refused by the test-run\n",
                s.execs, s.seconds, s.seconds > 0 ? double(s.execs) / s.seconds : 0.0, s.edges, s.edges_total, s.corpus,
                s.invalid);
    for (const auto& note : result->notes) std::printf("note: %s\n", note.c_str());
    if (result->findings.empty()) {
        std::printf("no findings\n");
        return 0;
    }
    for (const auto& finding : result->findings)
        std::printf("finding at execution %" PRIu64 ": %s\n", finding.exec, finding.message.c_str());
    const std::string output = o.output.empty() ? "fuzz-" + o.program + ".test.json" : o.output;
    std::error_code ec;
    const std::string object_path = std::filesystem::absolute(o.file, ec).string();
    Status written = write_output_file(output, findings_spec(*result, *obj, ec ? o.file : object_path, f));
    if (!written) return fail(written.error());
    std::printf("wrote %s: replay with `bpfvm test %s`\n", output.c_str(), output.c_str());
    return 1;
}

const CommandRegistrar kRegisterFuzz(65, [](CLI::App& app, int& exit_code) {
    auto o = std::make_shared<FuzzCliOptions>();
    CLI::App* cmd = app.add_subcommand("fuzz", "Fuzz a program of an object, guided by its own branches");
    cmd->footer(
        "Generates packets (or context bytes) and map entries, runs the program on the checked interpreter and\n"
        "keeps inputs that reach new branches. A finding is an input that makes the program return the value\n"
        "given with --fail-on-retval, fault, or exhaust the instruction budget. Findings are written as a test\n"
        "spec (--output, default fuzz-PROGRAM.test.json) whose cases fail until the bug is fixed.\n"
        "The same --seed and --runs give the same run. Without --runs or --duration it runs 60 s.\n"
        "Exit status: 0 nothing found, 1 findings, 2 bad usage or input.\n\n"
        "Example:\n  bpfvm fuzz build/examples/xdp_firewall.bpf.o --program xdp_firewall --fail-on-retval XDP_ABORTED\n");
    cmd->add_option("OBJ", o->file, "ELF object file")->required();
    cmd->add_option("--program", o->program, "Program (function or section name)")->required();
    cmd->add_option("--type", o->type, "Run the program as this type (for sections libbpf does not name)");
    cmd->add_option("--map-size", o->map_sizes, "Set max_entries of a map sized at load time: NAME=N; repeatable");
    cmd->add_option("--seed-spec", o->seed_spec, "Start from the data/ctx of this test spec's cases");
    cmd->add_option("--fail-on-retval", o->fail_on_retval, "A failure when the program returns this (XDP_ABORTED, 2, ...)");
    cmd->add_option("--output", o->output, "Where to write the findings spec");
    cmd->add_option("--btf", o->btf, "Target BTF for CO-RE relocations");
    add_uint_option(cmd, "--seed", o->seed, 0, UINT64_MAX, "Random seed");
    add_uint_option(cmd, "--runs", o->runs, 1, UINT64_MAX, "Stop after this many executions");
    add_uint_option(cmd, "--duration", o->duration, 1, 86400 * 7, "Stop after this many seconds");
    add_uint_option(cmd, "--max-insns", o->max_insns, 1, kMaxInsnBudget, "Instruction budget per execution (default 1000000)");
    cmd->add_flag("--keep-going", o->keep_going, "Continue after the first finding");
    cmd->callback([o, &exit_code] { exit_code = run_fuzz(*o); });
});

}  // namespace
}  // namespace bpfvm::cli
