// `bpfvm test SPEC.json`: runs the cases of a test spec (docs/test-spec.md) against its object and
// prints `PASS name` / `FAIL name: reason` per case, then `N passed, N failed`. With --also-kernel
// every case also runs through the kernel's BPF_PROG_TEST_RUN and any difference fails it.
// Exit status: 0 all passed, 1 a case failed, 2 malformed spec or unusable object.
#include <cstdio>
#include <memory>
#include <string>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/io.hpp"
#include "bpfvm/runners/spec.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

struct TestOptions {
    std::string spec;
    std::string engine;
    std::string object;
    bool also_kernel = false;
    bool no_verify = false;
    std::string coverage;  // --coverage FILE: lcov tracefile
};

int run_test_command(const TestOptions& options) {
    SpecOptions spec_options;
    spec_options.object_override = options.object;
    spec_options.also_kernel = options.also_kernel;
    spec_options.no_verify = options.no_verify;
    spec_options.coverage = !options.coverage.empty();
    if (!options.engine.empty()) {
        auto engine = parse_engine(options.engine);
        if (!engine) {
            std::fprintf(stderr, "bpfvm test: --engine: %s\n", engine.error().message.c_str());
            return 2;
        }
        spec_options.engine = *engine;
    }
    auto report = run_spec_file(options.spec, spec_options);
    if (!report) {
        std::fprintf(stderr, "bpfvm test: %s\n", report.error().to_string().c_str());
        return 2;
    }
    size_t compared = 0;
    for (const auto& c : report->cases) {
        const std::string note = c.kernel.empty() ? "" : " [" + c.kernel + "]";
        compared += c.kernel.rfind("same as the kernel", 0) == 0 ? 1 : 0;
        if (c.passed) {
            std::printf("PASS %s%s\n", c.name.c_str(), note.c_str());
            continue;
        }
        std::printf("FAIL %s: %s\n", c.name.c_str(), c.failures.empty() ? "failed" : c.failures[0].c_str());
        for (size_t i = 1; i < c.failures.size(); ++i) std::printf("     %s\n", c.failures[i].c_str());
        if (!c.kernel.empty()) std::printf("     [%s]\n", c.kernel.c_str());
    }
    for (const std::string& w : report->warnings) std::fprintf(stderr, "bpfvm test: warning: %s\n", w.c_str());
    std::printf("%zu passed, %zu failed", report->passed(), report->failed());
    if (options.also_kernel) std::printf("; %zu of %zu the same in the kernel", compared, report->cases.size());
    std::printf("\n");
    // Like `bpfvm run`: a helper bpfvm cannot perform is a limit of bpfvm (exit 2), not a failed test.
    for (const auto& c : report->cases)
        if (c.unsupported) {
            std::fprintf(stderr, "bpfvm test: a case reached a helper bpfvm cannot perform in userspace\n");
            return 2;
        }
    if (report->coverage) {
        Status written = write_output_file(options.coverage, to_lcov(*report->coverage, "bpfvm"));
        if (!written) {
            std::fprintf(stderr, "bpfvm test: --coverage: %s\n", written.error().to_string().c_str());
            return 2;
        }
        std::printf("%s\n", report->coverage->summary().c_str());
    }
    return report->failed() == 0 ? 0 : 1;
}

const CommandRegistrar kRegisterTest(60, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<TestOptions>();
    CLI::App* cmd = app.add_subcommand("test", "Run the test cases of a JSON spec against an object file");
    cmd->footer(
        "Each case test-runs a program on fresh maps with the given data, context and map entries and\n"
        "compares retval, output data, maps and trace output (format: docs/test-spec.md).\n"
        "--also-kernel runs every case through the kernel's BPF_PROG_TEST_RUN as well (needs root)\n"
        "and fails it on any difference: refusal and errno, retval, data_out, ctx_out, ring buffer\n"
        "records and map contents (except the spec's kernel_ignore_maps). Cases of program types the\n"
        "kernel cannot test-run, and cases marked \"kernel\": false, are run in bpfvm only.\n"
        "--coverage FILE writes an lcov tracefile (genhtml FILE -o html) and prints a summary line\n"
        "`lines: 87.5% (35/40), branches: 70.0% (14/20)`.\n"
        "Exit status: 0 all passed, 1 a case failed, 2 malformed spec, unusable object, or a case reached a\n"
        "helper bpfvm cannot perform in userspace.\n\n"
        "Examples:\n  bpfvm test build/examples/xdp_counter.test.json --engine interp\n"
        "  bpfvm test build/examples/tools/syslat.test.json --also-kernel\n"
        "  bpfvm test build/examples/xdp_counter.test.json --coverage xdp.info && genhtml xdp.info -o cov");
    cmd->add_option("SPEC", options->spec, "The JSON test spec")->required();
    cmd->add_option("--engine", options->engine, "interp or jit (default: jit where available)")
        ->check(CLI::IsMember({"interp", "jit"}));
    cmd->add_option("--object", options->object, "Use this object file instead of the spec's \"object\"");
    cmd->add_flag("--no-verify", options->no_verify,
                  "Run every program with bounds checks instead of verifying it first (default: verified programs "
                  "run unchecked, rejected ones checked with a warning)");
    cmd->add_flag("--also-kernel", options->also_kernel,
                  "Also run each case in the kernel (BPF_PROG_TEST_RUN) and fail on any difference");
    cmd->add_option("--coverage", options->coverage,
                    "Write line and branch coverage of the BPF C source as an lcov tracefile (runs on the checked interpreter)");
    cmd->callback([options, &exit_code] { exit_code = run_test_command(*options); });
});

}  // namespace
}  // namespace bpfvm::cli
