// `bpfvm maps OBJ | --pinned PATH`: map contents with BTF-formatted keys and values. OBJ shows an
// object's maps as bpfvm creates them (global data with its initial values, statically filled
// slots), no root needed; --pinned reads kernel maps pinned under bpffs (a map file, or a folder
// such as the one `bpfvm load --pin` made), with the BTF the kernel holds for them.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/kernel.hpp"
#include "bpfvm/observe.hpp"
#include "bpfvm/session.hpp"
#include "command.hpp"
#include "kernel_common.hpp"

namespace bpfvm::cli {
namespace {

struct MapsOptions {
    std::string object;
    std::string pinned;
    std::vector<std::string> names;
    bool json = false;
    size_t max_rows = 100;
};

void print_snapshot(const observe::MapSnapshot& snap, const MapsOptions& o) {
    if (o.json) {
        std::printf("%s\n", observe::format_map_json(snap).c_str());
        return;
    }
    observe::MapPrintOptions print;
    print.max_rows = o.max_rows;
    print.skip_zero = false;
    const std::string text = observe::format_map(snap, print);
    if (text.empty()) std::printf("\n%s (%s): empty\n", snap.name.c_str(), map_type_name(snap.type).c_str());
    else std::fputs(text.c_str(), stdout);
}

bool selected(const MapsOptions& o, const std::string& name) {
    return o.names.empty() || std::find(o.names.begin(), o.names.end(), name) != o.names.end();
}

int run_object(const MapsOptions& o) {
    auto obj = Object::open(o.object);
    if (!obj) return fail("maps", obj.error().to_string());
    const ObjectFile& file = obj->file();
    for (const auto& n : o.names)
        if (file.find_map(n) == nullptr) return fail("maps", o.object + ": no map '" + n + "'");
    for (const MapSpec& spec : file.maps) {
        if (!selected(o, spec.name)) continue;
        auto handle = obj->map(spec.name);
        if (!handle) return fail("maps", handle.error().to_string());
        observe::MapSnapshot snap;
        snap.name = spec.name;
        snap.type = spec.type;
        snap.key_size = handle->raw().key_size();
        snap.value_size = handle->raw().value_size();
        const uint32_t one = (snap.value_size + 7) / 8 * 8;
        snap.cpus =
            one != 0 && handle->raw().sys_value_size() != snap.value_size ? handle->raw().sys_value_size() / one : 1;
        snap.btf = file.btf;
        snap.key_type = spec.btf_key_type_id;
        snap.value_type = spec.btf_value_type_id;
        if (kernel::map_contents_readable(spec)) {
            for (const auto& key : handle->keys()) {
                auto value = handle->lookup_bytes(key);
                if (value) snap.entries.emplace_back(key, std::move(*value));
            }
        }
        print_snapshot(snap, o);
    }
    return 0;
}

int run_pinned(const MapsOptions& o) {
    namespace fs = std::filesystem;
    if (!require_bpf("maps")) return 2;
    std::error_code ec;
    std::vector<std::string> paths;
    if (fs::is_directory(o.pinned, ec)) {
        // A `load --pin` folder keeps its maps in maps/.
        const fs::path root =
            fs::is_directory(fs::path(o.pinned) / "maps", ec) ? fs::path(o.pinned) / "maps" : fs::path(o.pinned);
        for (const auto& entry : fs::directory_iterator(root, ec))
            if (!entry.is_directory(ec)) paths.push_back(entry.path().string());
        std::sort(paths.begin(), paths.end());
    } else if (fs::exists(o.pinned, ec)) {
        paths.push_back(o.pinned);
    } else {
        return fail("maps", o.pinned + ": no such file or directory");
    }
    if (!kernel::is_on_bpffs(o.pinned)) return fail("maps", o.pinned + " is not on a bpffs mount");
    int shown = 0;
    for (const auto& path : paths) {
        auto fd = kernel::open_pinned(path);
        if (!fd) return fail("maps", fd.error().to_string());
        if (kernel::object_kind(fd->get()) != kernel::ObjectKind::Map) {
            if (paths.size() == 1) return fail("maps", path + " is not a pinned map");
            continue;
        }
        auto snap = observe::snapshot_map_fd(fd->get());
        if (!snap) {
            std::fprintf(stderr, "bpfvm maps: %s: %s\n", path.c_str(), snap.error().message.c_str());
            continue;
        }
        if (!selected(o, snap->name) && !selected(o, fs::path(path).filename().string())) continue;
        snap->name = fs::path(path).filename().string();
        print_snapshot(*snap, o);
        ++shown;
    }
    if (shown == 0 && !o.json) std::printf("no readable maps under %s\n", o.pinned.c_str());
    return 0;
}

const CommandRegistrar kRegisterMaps(73, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<MapsOptions>();
    CLI::App* cmd = app.add_subcommand("maps", "Print maps with BTF-formatted keys and values");
    cmd->footer(
        "OBJ: the object's maps as bpfvm creates them (global data, static slots), without root.\n"
        "--pinned PATH: kernel maps pinned under bpffs (a map, or a folder from load/attach --pin),\n"
        "formatted with the BTF the kernel keeps for them. Histogram maps print as histograms.\n\n"
        "Examples:\n"
        "  bpfvm maps build/examples/xdp_counter.bpf.o\n"
        "  bpfvm maps --pinned /sys/fs/bpf/opensnoop --json\n"
        "  bpfvm maps --pinned /sys/fs/bpf/opensnoop/maps/counts");
    cmd->add_option("OBJ", options->object, "The BPF object file");
    cmd->add_option("--pinned", options->pinned, "A pinned map or a folder of pinned maps (bpffs)");
    cmd->add_option("--map", options->names, "Only this map; repeatable");
    cmd->add_flag("--json", options->json, "One JSON line per map");
    cmd->add_option("--max-rows", options->max_rows, "Rows shown per table")->default_val(100);
    cmd->callback([options, &exit_code] {
        if (options->object.empty() == options->pinned.empty()) {
            exit_code = fail("maps", "give either OBJ or --pinned PATH");
            return;
        }
        exit_code = options->pinned.empty() ? run_object(*options) : run_pinned(*options);
    });
});

}  // namespace
}  // namespace bpfvm::cli
