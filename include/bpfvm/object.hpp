// The loader's data model: what an ELF eBPF object (clang -target bpf) contains once parsed,
// relocated and linked. The loader produces data only; maps are created and programs run by other
// modules. Every Program in a ProgramSpec is self-contained: called subprograms are appended after
// the main function and map references are rewritten to map indices (LDDW src 5 and 6).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/facts.hpp"
#include "bpfvm/isa.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm {

// ---------------------------------------------------------------------------------------------
// BTF

/// BTF type kinds (linux/btf.h BTF_KIND_*).
enum class BtfKind : uint8_t {
    Void = 0, Int = 1, Ptr = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Fwd = 7, Typedef = 8,
    Volatile = 9, Const = 10, Restrict = 11, Func = 12, FuncProto = 13, Var = 14, Datasec = 15, Float = 16,
    DeclTag = 17, TypeTag = 18, Enum64 = 19,
};

/// A struct/union member (offset in bits; bitfield_size 0 unless a bitfield), or a FUNC_PROTO
/// parameter (offset 0).
struct BtfMember {
    std::string name;
    uint32_t type = 0;
    uint32_t offset_bits = 0;
    uint32_t bitfield_size = 0;
};

/// An ENUM or ENUM64 enumerator.
struct BtfEnumerator {
    std::string name;
    int64_t value = 0;
};

/// A DATASEC entry: variable type id, offset and size within the section.
struct BtfSecInfo {
    uint32_t type = 0;
    uint32_t offset = 0;
    uint32_t size = 0;
};

/// One BTF type. Fields not meaningful for `kind` stay zero/empty.
struct BtfType {
    BtfKind kind = BtfKind::Void;
    std::string name;
    bool kind_flag = false;
    uint32_t size = 0;     // INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT: size in bytes
    uint32_t type = 0;     // PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO (return), VAR, DECL_TAG, TYPE_TAG
    uint32_t int_encoding = 0, int_offset = 0, int_bits = 0;  // INT
    uint32_t elem_type = 0, index_type = 0, nelems = 0;       // ARRAY
    uint32_t linkage = 0;                                     // FUNC, VAR
    int32_t component_idx = -1;                               // DECL_TAG
    bool is_signed = false;                                   // ENUM, ENUM64 (kind_flag); INT (encoding)
    std::vector<BtfMember> members;                           // STRUCT, UNION, FUNC_PROTO params
    std::vector<BtfEnumerator> enumerators;                   // ENUM, ENUM64
    std::vector<BtfSecInfo> vars;                             // DATASEC
};

/// Parsed BTF: types indexed by id (id 0 is void). Read-only after parsing.
class Btf {
public:
    std::vector<BtfType> types;

    /// Parses a raw .BTF blob (header, types, strings). Errors name the offending type id or offset.
    static Result<Btf> parse(std::span<const uint8_t> data);
    /// Reads and parses a raw BTF file such as /sys/kernel/btf/vmlinux.
    static Result<Btf> load_file(const std::string& path);

    /// The type with id `id`, or nullptr if out of range.
    const BtfType* get(uint32_t id) const { return id < types.size() ? &types[id] : nullptr; }
    /// Follows typedef/const/volatile/restrict/type_tag chains (bounded); returns the underlying id.
    uint32_t skip_modifiers(uint32_t id) const;
    /// Size in bytes of type `id` (arrays multiply, pointers are 8); error for void/func/fwd or cycles.
    Result<uint64_t> size_of(uint32_t id) const;
    /// First type id with this name and kind, if any.
    std::optional<uint32_t> find(std::string_view name, BtfKind kind) const;
    /// A C-like spelling of type `id` ("struct task_struct *", "u32", "int[4]").
    std::string type_name(uint32_t id) const;
};

/// Name of a BTF kind ("struct", "int", ...).
const char* btf_kind_name(BtfKind kind);

// ---------------------------------------------------------------------------------------------
// Maps

/// Where a map definition came from.
enum class MapKind : uint8_t {
    Legacy,   // struct bpf_map_def record in the `maps` section (or `maps/...`)
    BtfMap,   // BTF-defined map in `.maps`
    Data,     // global data: .data, .data.*
    Rodata,   // read-only global data: .rodata, .rodata.*
    Bss,      // zero-initialized global data: .bss, .bss.*
    Kconfig,  // .kconfig externs (zero-filled: userspace has no kernel config)
};

/// True for the maps libbpf makes of global data sections (single-element arrays).
inline bool is_global_data(MapKind kind) {
    return kind == MapKind::Data || kind == MapKind::Rodata || kind == MapKind::Bss || kind == MapKind::Kconfig;
}

/// A statically initialized slot of a map-in-map or program array (`.values = { [i] = &x }`).
struct MapSlotInit {
    uint32_t slot = 0;
    std::string target;  // name of the map (map-in-map) or program (prog array)
};

/// A map the object needs, as declared.
struct MapSpec {
    std::string name;     // symbol name; section name for global data (".data", ".rodata.str1.1")
    std::string section;  // ELF section the definition lives in
    MapKind kind = MapKind::Legacy;
    MapType type = MapType::Unspec;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;
    uint32_t pinning = 0;    // LIBBPF_PIN_* (0 none, 1 by name); legacy records: their pinning field
    uint32_t numa_node = 0;
    std::optional<uint32_t> inner_map;  // map-in-map: index (into ObjectFile::maps) of the inner map template
    std::vector<MapSlotInit> slot_inits;
    std::vector<uint8_t> initial_data;  // global data: the section contents (zeros for .bss), size value_size
    bool readonly = false;              // .rodata and .kconfig (BPF_F_RDONLY_PROG)
    uint32_t btf_key_type_id = 0;       // 0: unknown
    uint32_t btf_value_type_id = 0;     // 0: unknown
};

// ---------------------------------------------------------------------------------------------
// Programs

/// A source position from BTF.ext line_info.
struct SourceLine {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
    std::string text;  // the source line as recorded by clang (may be empty)

    /// "file:line:col" (col omitted when 0).
    std::string location() const;
};

/// A line_info record mapped onto a linked program: applies from slot `pc` until the next entry.
struct LineEntry {
    uint32_t pc = 0;
    uint32_t line_index = 0;  // index into ProgramSpec::line_table
};

/// A func_info record: the function starting at slot `pc` (main function at 0, then subprograms).
struct FuncEntry {
    uint32_t pc = 0;
    std::string name;
    uint32_t btf_type_id = 0;  // FUNC type id in ObjectFile::btf
};

/// A map reference in a linked program: the LDDW at slot `pc` loads map `map_index` (src 5) or the
/// address `offset` bytes into its value (src 6).
struct MapRef {
    uint32_t pc = 0;
    uint32_t map_index = 0;
    bool value = false;
    uint32_t offset = 0;
};

/// An applied (or poisoned) CO-RE relocation, for inspection.
struct CoreRelocation {
    uint32_t pc = 0;             // slot in the linked program
    std::string kind;            // "byte_off", "byte_sz", "field_exists", "type_id_target", "enumval_value", ...
    std::string type_name;       // local root type, e.g. "struct task_struct"
    std::string access;          // access string, e.g. "0:1:2"
    bool resolved = false;       // false: no target candidate; the instruction was poisoned (as libbpf does)
    uint64_t value = 0;          // the patched value when resolved
};

/// Helper id libbpf writes into a CO-RE relocated instruction that could not be resolved: the
/// kernel verifier then rejects the program only if the instruction is reachable.
inline constexpr int32_t kCorePoisonHelper = 0xbad2310;

/// One program of the object: a global function in an executable section other than .text.
struct ProgramSpec {
    std::string name;     // function symbol
    std::string section;  // ELF section name, e.g. "tracepoint/syscalls/sys_enter_write"
    ProgramType type = ProgramType::Unspec;
    std::optional<AttachType> expected_attach_type;
    std::string attach_target;  // part of the section name after the prefix ("syscalls/sys_enter_write")
    bool sleepable = false;     // libbpf SEC_SLEEPABLE sections (fentry.s/, lsm.s/, syscall, ...)
    bool autoload = true;       // false for "?name" sections (libbpf: not loaded unless asked)
    Program program;            // linked and relocated; main function first, subprograms appended
    uint32_t main_slots = 0;    // slots of the main function (subprograms start here)
    std::vector<MapRef> map_refs;
    std::vector<int32_t> helpers;  // helper ids called (sorted, unique)
    /// Kernel functions called (`call` src 2): target BTF id and name, one entry per id.
    std::vector<std::pair<int32_t, std::string>> kfuncs;
    std::vector<FuncEntry> funcs;  // func_info (empty without BTF.ext)
    std::vector<SourceLine> line_table;
    std::vector<LineEntry> lines;  // sorted by pc
    std::vector<CoreRelocation> core_relocations;
    std::optional<Error> error;    // LoadOptions::keep_going: why this program could not be loaded

    /// Source line of slot `pc`: the last line entry at or before it; nullopt without line info.
    std::optional<SourceLine> line_for(uint32_t pc) const;
    /// Name of the function containing slot `pc` (from func_info), or "" when unknown.
    std::string function_at(uint32_t pc) const;
};

/// A parsed ELF eBPF object.
struct ObjectFile {
    std::string path;
    std::string license;          // from the `license` section ("" if absent)
    uint32_t kernel_version = 0;  // from the `version` section (0 if absent)
    std::vector<MapSpec> maps;
    std::vector<ProgramSpec> programs;
    std::shared_ptr<const Btf> btf;  // the object's .BTF; null if absent

    /// Program by function name, or else by section name; nullptr if none.
    const ProgramSpec* find_program(std::string_view name) const;
    /// Map by name; nullptr if none.
    const MapSpec* find_map(std::string_view name) const;
    /// Index of the map called `name`.
    std::optional<uint32_t> map_index(std::string_view name) const;
};

/// Options for load_object.
struct LoadOptions {
    /// Target BTF for CO-RE relocations; empty: /sys/kernel/btf/vmlinux when present. Only read
    /// when the object has CO-RE relocations.
    std::string target_btf_path;
    /// Already-parsed target BTF; takes precedence over target_btf_path.
    std::shared_ptr<const Btf> target_btf;
    /// Per-program errors (relocation, linking, decoding) are recorded in ProgramSpec::error and the
    /// load continues, instead of failing the whole load.
    bool keep_going = false;
    /// Apply CO-RE relocations (false: leave the compiled values).
    bool apply_core = true;
    /// Largest linked program (slots, subprograms included); larger ones fail to load (limits.hpp).
    uint32_t max_program_insns = kDefaultMaxProgramInsns;
};

/// Loads an ELF eBPF object from a file. Errors (kMalformed, kUnsupported, kIo, kNotFound) are
/// prefixed with the file name and, where it applies, section, program and instruction index.
Result<ObjectFile> load_object(const std::string& path, const LoadOptions& options = {});

/// Same, from an in-memory image; `name` is used in messages and as ObjectFile::path.
Result<ObjectFile> load_object_from_memory(std::span<const uint8_t> image, const std::string& name,
                                           const LoadOptions& options = {});

}  // namespace bpfvm
