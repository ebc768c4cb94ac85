// `bpfvm load OBJ [--pin DIR]`: loads an object's programs into the running kernel (its verifier
// checks them) and reports ids and sizes; with --pin they stay, pinned under bpffs.
// `bpfvm unload DIR`: removes what `load --pin` or `attach --pin` pinned there (links first, so
// the programs detach), then the folders.
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "bpfvm/kernel.hpp"
#include "command.hpp"
#include "kernel_common.hpp"

namespace bpfvm::cli {
namespace {

int run_load(const KernelCommandOptions& o, const std::string& pin_dir) {
    if (!require_bpf("load")) return 2;
    auto options = session_options(o, /*attach=*/false);
    if (!options) return fail("load", options.error().message);
    auto session = observe::Session::open(o.object, *options);
    if (!session) return fail("load", session.error().to_string(), exit_code_for(session.error()));
    const ObjectFile& object = (*session)->object();
    std::printf("loaded %s into the kernel (the verifier accepted every program):\n", object.path.c_str());
    for (const auto& p : (*session)->programs()) {
        auto fd = (*session)->kernel().program_fd(p.name);
        auto info = fd ? kernel::program_info(*fd) : Result<kernel::ProgramInfo>(fd.error());
        if (!info) return fail("load", info.error().to_string());
        std::printf("  program %-20s %-16s id %-6u tag %s  %u bytes translated, %u bytes jited  (section %s)\n",
                    p.name.c_str(), program_type_name(info->type).c_str(), info->id, info->tag.c_str(),
                    info->xlated_bytes, info->jited_bytes, p.section.c_str());
    }
    for (const auto& m : object.maps) {
        auto fd = (*session)->kernel().map_fd(m.name);
        auto info = fd ? kernel::map_info(*fd) : Result<kernel::MapInfo>(fd.error());
        if (!info) return fail("load", info.error().to_string());
        std::printf("  map     %-20s %-16s id %-6u key %u, value %u, max_entries %u%s\n", m.name.c_str(),
                    map_type_name(info->type).c_str(), info->id, info->key_size, info->value_size, info->max_entries,
                    info->btf_id != 0 ? ", with BTF" : "");
    }
    if (pin_dir.empty()) {
        std::printf(
            "nothing pinned: the programs and maps are released when bpfvm exits (use --pin DIR to keep them)\n");
        return 0;
    }
    if (auto st = (*session)->pin(pin_dir); !st) return fail("load", st.error().to_string());
    std::printf("pinned under %s (programs/, maps/); remove with: bpfvm unload %s\n", pin_dir.c_str(), pin_dir.c_str());
    return 0;
}

int run_unload(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return fail("unload", dir + ": no such directory");
    if (!kernel::is_on_bpffs(dir))
        return fail("unload", dir + " is not on a bpffs mount: nothing bpfvm pinned lives there");
    // Links first: removing a link's last reference detaches its program.
    size_t counts[3] = {0, 0, 0};
    const char* kinds[3] = {"links", "programs", "maps"};
    std::vector<fs::path> others;
    for (int pass = 0; pass < 2; ++pass) {
        for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory(ec)) continue;
            const bool is_link = it->path().parent_path().filename() == "links";
            if ((pass == 0) != is_link) continue;
            auto fd = kernel::open_pinned(it->path().string());
            const kernel::ObjectKind kind = fd ? kernel::object_kind(fd->get()) : kernel::ObjectKind::Other;
            if (kind == kernel::ObjectKind::Link) ++counts[0];
            else if (kind == kernel::ObjectKind::Program) ++counts[1];
            else if (kind == kernel::ObjectKind::Map) ++counts[2];
            others.push_back(it->path());
        }
        for (const auto& path : others)
            if (!fs::remove(path, ec)) return fail("unload", "cannot remove " + path.string() + ": " + ec.message());
        others.clear();
    }
    // Then the (now empty) folders, deepest first.
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_directory(ec)) dirs.push_back(it->path());
    std::sort(dirs.rbegin(), dirs.rend());
    for (const auto& d : dirs) fs::remove(d, ec);
    if (!fs::remove(dir, ec)) return fail("unload", "cannot remove " + dir + ": " + ec.message());
    std::printf("unpinned %zu %s, %zu %s, %zu %s; removed %s\n", counts[0], kinds[0], counts[1], kinds[1], counts[2],
                kinds[2], dir.c_str());
    return 0;
}

const CommandRegistrar kRegisterLoad(70, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<KernelCommandOptions>();
    auto pin = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("load", "Load an object's programs and maps into the running kernel");
    cmd->footer(
        "The kernel verifier checks every program; a rejection shows its reason, the failing\n"
        "instruction and its source line. Without --pin everything is released when bpfvm exits.\n"
        "Needs root (CAP_BPF). Exit status: 0 loaded, 1 the verifier rejected a program, 2 bad input.\n\n"
        "Examples:\n"
        "  bpfvm load build/examples/xdp_counter.bpf.o\n"
        "  bpfvm load build/examples/tools/opensnoop.bpf.o --pin /sys/fs/bpf/opensnoop\n"
        "  bpfvm unload /sys/fs/bpf/opensnoop");
    cmd->add_option("OBJ", options->object, "The BPF object file")->required();
    cmd->add_option("--program", options->programs, "Only this program (function or section name); repeatable");
    cmd->add_option("--pin", *pin, "Pin programs and maps under DIR (on bpffs, e.g. /sys/fs/bpf/NAME)");
    cmd->add_option("--set", options->sets, "NAME=INTEGER: set a global variable before loading; repeatable");
    cmd->add_option("--name-prefix", options->prefix, "Prefix for the kernel-visible names");
    cmd->callback([options, pin, &exit_code] { exit_code = run_load(*options, *pin); });

    auto dir = std::make_shared<std::string>();
    CLI::App* unload = app.add_subcommand("unload", "Remove what load --pin / attach --pin pinned under DIR");
    unload->footer(
        "Links go first, which detaches their programs; then programs, maps and the folders.\n\n"
        "Example:\n  bpfvm unload /sys/fs/bpf/opensnoop");
    unload->add_option("DIR", *dir, "The pin directory (on bpffs)")->required();
    unload->callback([dir, &exit_code] { exit_code = run_unload(*dir); });
});

}  // namespace
}  // namespace bpfvm::cli
