// Kernel facts as data, part 1: program types, attach types, map types and libbpf's section names.
// Every enum here is generated from one .def table beside opcodes.def (prog_types.def,
// attach_types.def, map_types.def, sections.def); nothing else in the tree numbers these.
// Helper prototypes are in helper_protos.hpp, context layouts in ctx_layouts.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bpfvm {

/// Program types, numbered as linux/bpf.h enum bpf_prog_type (prog_types.def).
enum class ProgramType : uint32_t {
#define BPFVM_PROG_TYPE(id, Enumerator, name) Enumerator = id,
#include "bpfvm/prog_types.def"
#undef BPFVM_PROG_TYPE
};

/// Attach types, numbered as linux/bpf.h enum bpf_attach_type (attach_types.def).
enum class AttachType : uint32_t {
#define BPFVM_ATTACH_TYPE(id, Enumerator, name) Enumerator = id,
#include "bpfvm/attach_types.def"
#undef BPFVM_ATTACH_TYPE
};

/// Map types, numbered as linux/bpf.h enum bpf_map_type (map_types.def). Values outside the
/// list are kept as read.
enum class MapType : uint32_t {
#define BPFVM_MAP_TYPE(id, Enumerator, name, kernel_struct) Enumerator = id,
#include "bpfvm/map_types.def"
#undef BPFVM_MAP_TYPE
};

/// Number of rows of each table (one past the largest id: the tables are dense).
inline constexpr uint32_t kNumProgramTypes = 0
#define BPFVM_PROG_TYPE(id, Enumerator, name) +1
#include "bpfvm/prog_types.def"
#undef BPFVM_PROG_TYPE
    ;
inline constexpr uint32_t kNumAttachTypes = 0
#define BPFVM_ATTACH_TYPE(id, Enumerator, name) +1
#include "bpfvm/attach_types.def"
#undef BPFVM_ATTACH_TYPE
    ;
inline constexpr uint32_t kNumMapTypes = 0
#define BPFVM_MAP_TYPE(id, Enumerator, name, kernel_struct) +1
#include "bpfvm/map_types.def"
#undef BPFVM_MAP_TYPE
    ;

/// "xdp", "socket_filter", ...; "unknown(N)" for values outside the enum.
std::string program_type_name(ProgramType type);
/// "hash", "array", "percpu_array", ...; "unknown(N)" for values outside the enum.
std::string map_type_name(MapType type);
/// The kernel's implementation struct of a map type ("bpf_htab", "bpf_array"); "" when unknown.
std::string_view map_kernel_struct(MapType type);
/// "cgroup_inet_ingress", "xdp", ...; "unknown(N)" for values outside the enum.
std::string attach_type_name(AttachType type);
/// The program type called `name` ("xdp"), if any.
std::optional<ProgramType> program_type_by_name(std::string_view name);
/// The map type called `name` ("lru_hash"), if any.
std::optional<MapType> map_type_by_name(std::string_view name);
/// The attach type called `name` ("trace_fentry"), if any.
std::optional<AttachType> attach_type_by_name(std::string_view name);

// ---------------------------------------------------------------------------------------------
// Section names (sections.def)

/// How a sections.def pattern matches a section name (see the comment at the top of sections.def).
enum class SectionMatch : uint8_t { Exact, Plus, Slash, Prefix };

/// libbpf's SEC_* flags, plus Legacy for the rows libbpf does not have.
enum SectionFlag : uint32_t {
    kSecExpAttachOpt = 1u << 0,  // expected_attach_type is optional (older kernels)
    kSecAttachable = 1u << 1,    // attachable through BPF_PROG_ATTACH (informational in libbpf)
    kSecAttachBtf = 1u << 2,     // the target is a kernel (or BPF program) BTF function
    kSecSleepable = 1u << 3,     // loaded with BPF_F_SLEEPABLE
    kSecXdpFrags = 1u << 4,      // loaded with BPF_F_XDP_HAS_FRAGS
    kSecUsdt = 1u << 5,          // USDT probe (libbpf picks the attach type)
    kSecLegacy = 1u << 6,        // an older name libbpf does not know
};

/// One row of sections.def.
struct SectionDef {
    std::string_view pattern;
    SectionMatch match;
    ProgramType type;
    std::optional<AttachType> attach;
    uint32_t flags;  // SectionFlag bits
};

/// What a section name says about the programs in it.
struct SectionInfo {
    ProgramType type = ProgramType::Unspec;  // Unspec: no row matched
    std::optional<AttachType> attach;
    uint32_t flags = 0;                      // SectionFlag bits of the matching row
    std::string target;                      // the part after the pattern ("syscalls/sys_enter_write")
    bool autoload = true;                    // false for libbpf's "?name" (not loaded by default)
    const SectionDef* def = nullptr;         // the matching row; null when none matched

    bool sleepable() const { return (flags & kSecSleepable) != 0; }
};

/// Classifies a code section name as libbpf does (then by the older names); type Unspec when no
/// row matches (".text", "test", "2/1").
SectionInfo program_type_for_section(std::string_view name);

/// Every row of sections.def, in match order.
std::span<const SectionDef> section_defs();

}  // namespace bpfvm

namespace bpfvm::maps {

// Map creation flags (linux/bpf.h BPF_F_*, map_flags), named with the maps they configure; the
// verifier reads the program-side ones (read-only or write-only for programs).
inline constexpr uint32_t kFNoPrealloc = 1u << 0;
inline constexpr uint32_t kFNoCommonLru = 1u << 1;
inline constexpr uint32_t kFNumaNode = 1u << 2;
inline constexpr uint32_t kFRdonly = 1u << 3;
inline constexpr uint32_t kFWronly = 1u << 4;
inline constexpr uint32_t kFZeroSeed = 1u << 6;
inline constexpr uint32_t kFRdonlyProg = 1u << 7;
inline constexpr uint32_t kFWronlyProg = 1u << 8;
inline constexpr uint32_t kFMmapable = 1u << 10;
inline constexpr uint32_t kFInnerMap = 1u << 12;

}  // namespace bpfvm::maps
