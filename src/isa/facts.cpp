// Names of program, attach and map types, and the section-name table, all expanded from the .def
// files (facts.hpp).
#include "bpfvm/facts.hpp"

#include <array>

namespace bpfvm {
namespace {

constexpr std::string_view kProgramTypeNames[] = {
#define BPFVM_PROG_TYPE(id, Enumerator, name) #name,
#include "bpfvm/prog_types.def"
#undef BPFVM_PROG_TYPE
};
constexpr std::string_view kAttachTypeNames[] = {
#define BPFVM_ATTACH_TYPE(id, Enumerator, name) #name,
#include "bpfvm/attach_types.def"
#undef BPFVM_ATTACH_TYPE
};
constexpr std::string_view kMapTypeNames[] = {
#define BPFVM_MAP_TYPE(id, Enumerator, name, kernel_struct) #name,
#include "bpfvm/map_types.def"
#undef BPFVM_MAP_TYPE
};

constexpr std::string_view kMapKernelStructs[] = {
#define BPFVM_MAP_TYPE(id, Enumerator, name, kernel_struct) kernel_struct,
#include "bpfvm/map_types.def"
#undef BPFVM_MAP_TYPE
};

// The tables are dense: row i has id i. A row out of order breaks the build here.
constexpr bool ids_dense() {
    uint32_t i = 0;
    bool ok = true;
#define BPFVM_PROG_TYPE(id, Enumerator, name) ok = ok && (id) == i++;
#include "bpfvm/prog_types.def"
#undef BPFVM_PROG_TYPE
    i = 0;
#define BPFVM_ATTACH_TYPE(id, Enumerator, name) ok = ok && (id) == i++;
#include "bpfvm/attach_types.def"
#undef BPFVM_ATTACH_TYPE
    i = 0;
#define BPFVM_MAP_TYPE(id, Enumerator, name, kernel_struct) ok = ok && (id) == i++;
#include "bpfvm/map_types.def"
#undef BPFVM_MAP_TYPE
    return ok;
}
static_assert(ids_dense(), "prog_types.def, attach_types.def and map_types.def must list ids 0, 1, 2, ... in order");

std::string name_or_unknown(std::span<const std::string_view> names, uint32_t v) {
    return v < names.size() ? std::string(names[v]) : "unknown(" + std::to_string(v) + ")";
}

template <typename E>
std::optional<E> find_name(std::span<const std::string_view> names, std::string_view name) {
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return static_cast<E>(i);
    return std::nullopt;
}

// The row columns of sections.def, spelled as in the file.
namespace section_row {
namespace prog {
using enum ProgramType;
}
namespace attach {
using enum AttachType;
inline constexpr std::optional<AttachType> NoAttach = std::nullopt;
}  // namespace attach
namespace flag {
inline constexpr uint32_t NoFlags = 0, ExpAttachOpt = kSecExpAttachOpt, Attachable = kSecAttachable,
                          AttachBtf = kSecAttachBtf, Sleepable = kSecSleepable, XdpFrags = kSecXdpFrags,
                          Usdt = kSecUsdt, Legacy = kSecLegacy;
}
}  // namespace section_row

constexpr SectionDef kSections[] = {
#define BPFVM_SECTION(pattern, match, type, attach_type, flags)                                          \
    SectionDef{pattern, SectionMatch::match, section_row::prog::type, std::optional<AttachType>(section_row::attach::attach_type), \
               [] { using namespace section_row::flag; return uint32_t{flags}; }()},
#include "bpfvm/sections.def"
#undef BPFVM_SECTION
};

/// The attach target `name` carries after `def`'s pattern, or nullopt when `def` does not match.
std::optional<std::string_view> match_section(const SectionDef& def, std::string_view name) {
    const std::string_view p = def.pattern;
    if (name.substr(0, p.size()) != p) return std::nullopt;
    std::string_view rest = name.substr(p.size());
    switch (def.match) {
        case SectionMatch::Exact:
            return rest.empty() ? std::optional<std::string_view>(rest) : std::nullopt;
        case SectionMatch::Plus:
            // libbpf: "type" alone or "type/target"; "typeX" is another type.
            if (rest.empty()) return rest;
            if (rest.front() != '/') return std::nullopt;
            return rest.substr(1);
        case SectionMatch::Slash:
            return rest;
        case SectionMatch::Prefix:
            if (!rest.empty() && rest.front() == '/' && p.back() != '/') rest.remove_prefix(1);
            return rest;
    }
    return std::nullopt;
}

}  // namespace

std::string program_type_name(ProgramType type) { return name_or_unknown(kProgramTypeNames, static_cast<uint32_t>(type)); }
std::string map_type_name(MapType type) { return name_or_unknown(kMapTypeNames, static_cast<uint32_t>(type)); }

std::string_view map_kernel_struct(MapType type) {
    const auto i = static_cast<size_t>(type);
    return i < std::size(kMapKernelStructs) ? kMapKernelStructs[i] : std::string_view();
}
std::string attach_type_name(AttachType type) { return name_or_unknown(kAttachTypeNames, static_cast<uint32_t>(type)); }

std::optional<ProgramType> program_type_by_name(std::string_view name) {
    return find_name<ProgramType>(kProgramTypeNames, name);
}
std::optional<MapType> map_type_by_name(std::string_view name) { return find_name<MapType>(kMapTypeNames, name); }
std::optional<AttachType> attach_type_by_name(std::string_view name) {
    return find_name<AttachType>(kAttachTypeNames, name);
}

std::span<const SectionDef> section_defs() { return kSections; }

SectionInfo program_type_for_section(std::string_view name) {
    SectionInfo out;
    if (!name.empty() && name.front() == '?') {
        out.autoload = false;
        name.remove_prefix(1);
    }
    for (const SectionDef& def : kSections) {
        const auto target = match_section(def, name);
        if (!target) continue;
        out.type = def.type;
        out.attach = def.attach;
        out.flags = def.flags;
        out.target = std::string(*target);
        out.def = &def;
        return out;
    }
    return out;
}

}  // namespace bpfvm
