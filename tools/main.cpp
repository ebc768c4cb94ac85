// bpfvm: verify, run, test and inspect eBPF programs in userspace.
//
// Exit codes: 0 success, 1 the checked thing failed (a test, a run that trapped), 2 bad usage or
// input, 3 internal error. No exception reaches the C++ runtime: one catch-all turns anything that
// slips through (a bug) into "internal error" and exit code 3, never an abort.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "bpfvm/io.hpp"
#include "bpfvm/runners/run.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

std::vector<std::pair<int, CommandSetup>>& registry() {
    static std::vector<std::pair<int, CommandSetup>> commands;
    return commands;
}

/// The first argument that is not an option must name a command; CLI11 alone would answer a
/// mistyped one with "A subcommand is required". Returns false after printing the error.
bool check_command_name(CLI::App& app, int argc, char** argv) {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.empty() || arg[0] == '-') continue;  // --help, --version: CLI11 handles them
        if (std::find(names.begin(), names.end(), arg) != names.end()) return true;
        std::fprintf(stderr, "bpfvm: unknown command '%s'%s\ncommands: %s\nRun 'bpfvm --help' for more information.\n",
                     arg.c_str(), did_you_mean(arg, names).c_str(), join(names, " ").c_str());
        return false;
    }
    return true;
}

/// True when the command line asks for JSON: errors then go to stdout as JSON objects too.
bool wants_json(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--json") == 0) return true;
    return false;
}

int run(int argc, char** argv) {
    CLI::App app{"bpfvm: a userspace eBPF engine: assemble, disassemble, verify, run and test BPF programs without root"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "bpfvm 0.1.0");
    app.footer("Exit status: 0 ok, 1 the checked thing failed (test case, trapped run), 2 bad usage or input,\n"
               "3 internal error (a bug: please report it with the command line).");
    int exit_code = 0;
    auto& commands = registry();
    std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [order, setup] : commands) setup(app, exit_code);
    if (!check_command_name(app, argc, argv)) return 2;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        // "bpfvm run: --max-insns: expected ...": the command as the prefix, like every other error.
        std::string command = "bpfvm";
        for (const CLI::App* sub : app.get_subcommands()) command += " " + sub->get_name();
        std::fprintf(stderr, "%s: %s\nRun '%s --help' for more information.\n", command.c_str(), e.what(),
                     command.c_str());
        if (wants_json(argc, argv))
            std::printf("%s\n", error_json(make_error(ErrorCode::kInvalidArgument, e.what())).c_str());
        return 2;
    }
    return exit_code;
}

}  // namespace

CommandRegistrar::CommandRegistrar(int order, CommandSetup setup) { registry().emplace_back(order, std::move(setup)); }

}  // namespace bpfvm::cli

int main(int argc, char** argv) {
    std::string what;
    try {
        return bpfvm::cli::run(argc, argv);
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        what = "unknown exception";
    }
    std::fprintf(stderr, "bpfvm: internal error: %s\n", what.c_str());
    if (bpfvm::cli::wants_json(argc, argv)) {
        // Hand-written: the JSON library is what may have thrown.
        std::string escaped;
        for (char c : what)
            if (c == '"' || c == '\\') escaped += std::string("\\") + c;
            else if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) escaped += c;
        std::printf("{\"error\": {\"message\": \"internal error: %s\", \"code\": \"internal\"}, \"exit_code\": 3}\n",
                    escaped.c_str());
    }
    return 3;
}
