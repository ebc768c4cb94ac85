// Subcommand registry of the bpfvm CLI. Each tools/cmd_*.cpp registers its subcommands with a
// static CommandRegistrar, so adding a command touches no other file. Commands only parse
// arguments, call the library, and print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace bpfvm::cli {

/// Sets up one or more subcommands on `app`. A subcommand's callback stores its process exit
/// code in `exit_code` (0 success, 1 failure of the checked thing, 2 usage or input error).
using CommandSetup = std::function<void(CLI::App& app, int& exit_code)>;

struct CommandRegistrar {
    /// `order` sorts subcommands in --help (lower first).
    CommandRegistrar(int order, CommandSetup setup);
};

}  // namespace bpfvm::cli
