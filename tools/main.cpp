// bpfvm: verify, run, test and inspect eBPF programs in userspace.
#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "command.hpp"

namespace bpfvm::cli {
namespace {
std::vector<std::pair<int, CommandSetup>>& registry() {
    static std::vector<std::pair<int, CommandSetup>> commands;
    return commands;
}
}  // namespace

CommandRegistrar::CommandRegistrar(int order, CommandSetup setup) { registry().emplace_back(order, std::move(setup)); }

}  // namespace bpfvm::cli

int main(int argc, char** argv) {
    using namespace bpfvm::cli;
    CLI::App app{"bpfvm: a userspace eBPF engine: assemble, disassemble, verify, run and test BPF programs without root"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "bpfvm 0.1.0");
    int exit_code = 0;
    auto& commands = registry();
    std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [order, setup] : commands) setup(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        // CLI11 returns 0 for --help/--version; usage errors become 2.
        return rc == 0 ? 0 : 2;
    }
    return exit_code;
}
