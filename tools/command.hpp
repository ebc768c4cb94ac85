// Subcommand registry of the bpfvm CLI. Each tools/cmd_*.cpp registers its subcommands with a
// static CommandRegistrar, so adding a command touches no other file. Commands only parse
// arguments, call the library, and print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "bpfvm/io.hpp"

namespace bpfvm::cli {

/// Sets up one or more subcommands on `app`. A subcommand's callback stores its process exit
/// code in `exit_code` (0 success, 1 failure of the checked thing, 2 usage or input error).
using CommandSetup = std::function<void(CLI::App& app, int& exit_code)>;

struct CommandRegistrar {
    /// `order` sorts subcommands in --help (lower first).
    CommandRegistrar(int order, CommandSetup setup);
};

/// Adds an integer option accepting exactly [min, max] (decimal or 0x hex; no sign, no suffix).
/// CLI11's own conversion would wrap "-5" around and take "2^64-1" for an unsigned option, so the
/// text goes through parse_uint; a bad value is a usage error (exit 2) naming the flag and range:
/// "--max-insns: expected an integer in [1, 1000000000000000], got '-5'".
template <class T>
CLI::Option* add_uint_option(CLI::App* cmd, const std::string& name, T& target, uint64_t min, uint64_t max,
                             const std::string& help) {
    const std::string flag = name.substr(0, name.find(','));
    auto* option = cmd->add_option_function<std::string>(
        name,
        [&target, flag, min, max](const std::string& text) {
            auto value = parse_uint(text, min, max);
            if (!value) throw CLI::ValidationError(flag, value.error().message);
            target = static_cast<T>(*value);
        },
        help + " [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    option->type_name("N");
    return option;
}

}  // namespace bpfvm::cli
