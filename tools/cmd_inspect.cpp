// `bpfvm inspect OBJ [--json] [--strict]`: what an ELF eBPF object contains once loaded: programs
// (name, section, type, instruction count, helpers called) and maps (name, type, sizes, flags). A
// program the loader cannot decode or link (a register above r10, a jump out of range: the kernel's
// selftests hold such programs on purpose) is listed with its error; the others are unaffected.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/runners/run.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

std::string map_kind_name(MapKind kind) {
    switch (kind) {
        case MapKind::Legacy: return "legacy";
        case MapKind::BtfMap: return "btf";
        case MapKind::Data: return "data";
        case MapKind::Rodata: return "rodata";
        case MapKind::Bss: return "bss";
        case MapKind::Kconfig: return "kconfig";
    }
    return "unknown";
}

std::string helper_label(int32_t id) {
    const auto name = helper_name(id);
    const std::string unsupported = helper_runs_in_userspace(id) ? "" : ", not in userspace";
    return name.empty() ? std::to_string(id) : std::string(name) + "(" + std::to_string(id) + unsupported + ")";
}

nlohmann::json to_json(const ObjectFile& obj) {
    nlohmann::json j;
    j["path"] = obj.path;
    j["license"] = obj.license;
    j["kernel_version"] = obj.kernel_version;
    j["programs"] = nlohmann::json::array();
    for (const auto& p : obj.programs) {
        nlohmann::json jp;
        jp["name"] = p.name;
        jp["section"] = p.section;
        jp["type"] = program_type_name(p.type);
        if (p.expected_attach_type) jp["attach_type"] = attach_type_name(*p.expected_attach_type);
        if (!p.attach_target.empty()) jp["attach_target"] = p.attach_target;
        jp["insns"] = p.program.insns.size();
        jp["slots"] = p.program.num_slots;
        jp["main_slots"] = p.main_slots;
        jp["helpers"] = nlohmann::json::array();
        for (int32_t h : p.helpers)
            jp["helpers"].push_back(
                {{"id", h}, {"name", std::string(helper_name(h))}, {"userspace", helper_runs_in_userspace(h)}});
        jp["functions"] = nlohmann::json::array();
        for (const auto& f : p.funcs) jp["functions"].push_back({{"pc", f.pc}, {"name", f.name}});
        jp["line_info"] = p.lines.size();
        jp["core_relocations"] = p.core_relocations.size();
        if (p.error) jp["error"] = p.error->to_string();
        j["programs"].push_back(std::move(jp));
    }
    j["maps"] = nlohmann::json::array();
    for (const auto& m : obj.maps) {
        nlohmann::json jm{{"name", m.name},          {"kind", map_kind_name(m.kind)}, {"type", map_type_name(m.type)},
                          {"key_size", m.key_size},  {"value_size", m.value_size},    {"max_entries", m.max_entries},
                          {"flags", m.map_flags},    {"pinning", m.pinning}};
        if (m.inner_map) jm["inner_map"] = obj.maps[*m.inner_map].name;
        j["maps"].push_back(std::move(jm));
    }
    return j;
}

void print_text(const ObjectFile& obj) {
    std::printf("%s: license \"%s\"", obj.path.c_str(), obj.license.c_str());
    if (obj.kernel_version != 0) std::printf(", kernel version 0x%x", obj.kernel_version);
    std::printf(", %zu programs, %zu maps%s\n", obj.programs.size(), obj.maps.size(), obj.btf ? ", BTF" : "");
    if (!obj.programs.empty()) std::printf("\nprograms:\n");
    for (const auto& p : obj.programs) {
        std::printf("  %-32s section %-36s type %s", p.name.c_str(), p.section.c_str(), program_type_name(p.type).c_str());
        if (p.expected_attach_type) std::printf(" (attach %s)", attach_type_name(*p.expected_attach_type).c_str());
        if (p.error) {
            // The program line above already names the file, section and program.
            Error e = *p.error;
            e.where.clear();
            std::string text = e.to_string();
            for (size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 1))
                text.insert(at + 1, "    ");
            std::printf("\n    error: %s\n", text.c_str());
            continue;
        }
        std::printf("\n    %zu insns (%u slots", p.program.insns.size(), p.program.num_slots);
        if (p.main_slots != p.program.num_slots) std::printf(", %u in subprograms", p.program.num_slots - p.main_slots);
        std::printf(")");
        if (!p.lines.empty()) std::printf(", line info");
        if (!p.core_relocations.empty()) std::printf(", %zu CO-RE relocations", p.core_relocations.size());
        std::printf("\n");
        if (!p.helpers.empty()) {
            std::printf("    helpers:");
            for (int32_t h : p.helpers) std::printf(" %s", helper_label(h).c_str());
            std::printf("\n");
        }
    }
    if (!obj.maps.empty()) std::printf("\nmaps:\n");
    for (const auto& m : obj.maps) {
        std::printf("  %-32s %-16s key %u value %u max_entries %u flags 0x%x (%s)", m.name.c_str(),
                    map_type_name(m.type).c_str(), m.key_size, m.value_size, m.max_entries, m.map_flags,
                    map_kind_name(m.kind).c_str());
        if (m.inner_map) std::printf(" inner %s", obj.maps[*m.inner_map].name.c_str());
        std::printf("\n");
    }
}

const CommandRegistrar kInspect(60, [](CLI::App& app, int& exit_code) {
    struct Args {
        std::string file;
        bool json = false;
        bool strict = false;
        std::string btf;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("inspect", "List the programs and maps of an ELF eBPF object");
    cmd->add_option("OBJ", args->file, "ELF object (clang -target bpf)")->required();
    cmd->add_flag("--json", args->json, "Print JSON");
    cmd->add_flag("--strict", args->strict,
                  "Fail on the first program that cannot be loaded (default: list it with its error)");
    cmd->add_option("--btf", args->btf, "Target BTF for CO-RE (default /sys/kernel/btf/vmlinux)");
    cmd->callback([args, &exit_code] {
        ObjectOptions options;
        options.load.keep_going = !args->strict;
        options.load.target_btf_path = args->btf;
        auto obj = Object::open(args->file, options);
        if (!obj) {
            if (args->json) std::printf("%s\n", error_json(obj.error()).c_str());
            std::fprintf(stderr, "bpfvm inspect: %s\n", obj.error().to_string().c_str());
            exit_code = 2;
            return;
        }
        if (args->json)
            std::printf("%s\n", to_json(obj->file()).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        else
            print_text(obj->file());
        exit_code = 0;
    });
});

}  // namespace
}  // namespace bpfvm::cli
