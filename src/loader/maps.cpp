// Map definitions: legacy `maps` sections (struct bpf_map_def records of any size, located by
// symbols), BTF-defined `.maps` (struct members encoded as pointers/arrays in BTF), and global
// data sections (.data, .rodata, .bss and their dotted variants, .kconfig) as one-entry arrays.
#include <elf.h>

#include <algorithm>

#include "context.hpp"

namespace bpfvm::loader {
namespace {

constexpr uint64_t kMaxDataSection = uint64_t{1} << 28;  // global data larger than this is refused

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_legacy_maps_section(const Section& s) {
    return !s.executable() && (s.name == "maps" || starts_with(s.name, "maps/"));
}

std::optional<MapKind> data_kind(const Section& s) {
    if (s.executable() || (s.flags & SHF_ALLOC) == 0) return std::nullopt;
    const std::string& n = s.name;
    if (n == ".data" || starts_with(n, ".data.")) return MapKind::Data;
    if (n == ".rodata" || starts_with(n, ".rodata.")) return MapKind::Rodata;
    if (n == ".bss" || starts_with(n, ".bss.")) return MapKind::Bss;
    return std::nullopt;
}

Status collect_legacy(LoadContext& ctx) {
    // Legacy map index (in order of appearance) -> object map index, to resolve inner_map_idx.
    std::vector<uint32_t> legacy_index;
    std::vector<std::pair<uint32_t, uint32_t>> inner_refs;  // (map index, legacy inner index)
    // iproute2's layout names the inner template by its `id` field instead.
    std::vector<std::pair<uint32_t, uint32_t>> elf_ids;     // (map index, id)
    std::vector<std::pair<uint32_t, uint32_t>> inner_ids;   // (map index, inner_id)
    for (const auto& sec : ctx.elf.sections) {
        if (!is_legacy_maps_section(sec) || sec.size == 0) continue;
        const std::string what = "section " + sec.name;
        if (sec.nobits()) return ctx.error(ErrorCode::kMalformed, what, "map definitions have no contents (SHT_NOBITS)");
        std::vector<const Symbol*> syms;
        for (const auto& sym : ctx.elf.symbols)
            if (sym.shndx == sec.index && sym.type != STT_SECTION && sym.type != STT_FILE && !sym.name.empty())
                syms.push_back(&sym);
        if (syms.empty()) return ctx.error(ErrorCode::kMalformed, what, "map definitions without symbols");
        std::sort(syms.begin(), syms.end(), [](const Symbol* a, const Symbol* b) { return a->value < b->value; });
        const uint64_t rec = sec.data.size() / syms.size();
        if (rec < 20)
            return ctx.error(ErrorCode::kMalformed, what, "map record size " + std::to_string(rec) + " (section size " +
                                                              std::to_string(sec.data.size()) + " / " + std::to_string(syms.size()) +
                                                              " symbols) is smaller than struct bpf_map_def (20 bytes)");
        for (const Symbol* sym : syms) {
            if (sym->value > sec.data.size() || sec.data.size() - sym->value < rec)
                return ctx.error(ErrorCode::kMalformed, what, "map '" + sym->name + "' at offset " + std::to_string(sym->value) +
                                                                  " extends past the section end");
            std::span<const uint8_t> r(sec.data.data() + sym->value, rec);
            MapSpec m;
            m.name = sym->name;
            m.section = sec.name;
            m.kind = MapKind::Legacy;
            m.type = static_cast<MapType>(read_u32(r, 0));
            m.key_size = read_u32(r, 4);
            m.value_size = read_u32(r, 8);
            m.max_entries = read_u32(r, 12);
            m.map_flags = read_u32(r, 16);
            const bool in_map = m.type == MapType::ArrayOfMaps || m.type == MapType::HashOfMaps;
            const auto index = static_cast<uint32_t>(ctx.obj.maps.size());
            if (rec == 24 || rec == 28) {
                // samples/bpf layout: inner_map_idx, numa_node.
                if (in_map) inner_refs.emplace_back(index, read_u32(r, 20));
                if (rec == 28) m.numa_node = read_u32(r, 24);
            } else if (rec >= 32) {
                // iproute2 struct bpf_elf_map: id, pinning, inner_id, inner_idx. The inner map
                // template is the map whose id is inner_id (inner_idx is a slot of the outer map).
                m.pinning = read_u32(r, 24);
                if (read_u32(r, 20) != 0) elf_ids.emplace_back(index, read_u32(r, 20));
                if (in_map && read_u32(r, 28) != 0) inner_ids.emplace_back(index, read_u32(r, 28));
            }
            ctx.map_at[{sec.index, sym->value}] = index;
            legacy_index.push_back(index);
            ctx.obj.maps.push_back(std::move(m));
        }
    }
    for (auto [map, inner] : inner_refs) {
        if (inner < legacy_index.size() && legacy_index[inner] != map) ctx.obj.maps[map].inner_map = legacy_index[inner];
    }
    for (auto [map, inner_id] : inner_ids)
        for (auto [other, id] : elf_ids)
            if (id == inner_id && other != map) ctx.obj.maps[map].inner_map = other;
    return {};
}

/// Reads one BTF map definition struct (the type of a `.maps` variable, or an inner map template).
Status parse_btf_map(LoadContext& ctx, const Btf& btf, uint32_t struct_id, MapSpec& m, const std::string& what,
                     uint32_t* values_bit_offset, int depth) {
    const BtfType* st = btf.get(btf.skip_modifiers(struct_id));
    if (st == nullptr || st->kind != BtfKind::Struct)
        return ctx.error(ErrorCode::kMalformed, what, "map definition is not a struct");
    // `__uint(name, N)` is `int (*name)[N]`: a pointer to an array of N elements.
    auto uint_value = [&](const BtfMember& mem, uint32_t& out) -> Status {
        const BtfType* p = btf.get(btf.skip_modifiers(mem.type));
        const BtfType* a = p != nullptr && p->kind == BtfKind::Ptr ? btf.get(btf.skip_modifiers(p->type)) : nullptr;
        if (a == nullptr || a->kind != BtfKind::Array)
            return ctx.error(ErrorCode::kMalformed, what, "member '" + mem.name + "' is not __uint (pointer to array)");
        out = a->nelems;
        return {};
    };
    // `__type(name, T)` is `T *name`.
    auto type_value = [&](const BtfMember& mem, uint32_t& size, uint32_t& id) -> Status {
        const BtfType* p = btf.get(btf.skip_modifiers(mem.type));
        if (p == nullptr || p->kind != BtfKind::Ptr)
            return ctx.error(ErrorCode::kMalformed, what, "member '" + mem.name + "' is not __type (pointer)");
        auto sz = btf.size_of(p->type);
        if (!sz) return ctx.error(ErrorCode::kMalformed, what, "member '" + mem.name + "': " + sz.error().message);
        if (*sz > UINT32_MAX) return ctx.error(ErrorCode::kMalformed, what, "member '" + mem.name + "' is too large");
        size = static_cast<uint32_t>(*sz);
        id = p->type;
        return {};
    };
    uint32_t type = 0;
    for (const auto& mem : st->members) {
        if (mem.name == "type") {
            BPFVM_TRY(uint_value(mem, type));
            m.type = static_cast<MapType>(type);
        } else if (mem.name == "max_entries") {
            BPFVM_TRY(uint_value(mem, m.max_entries));
        } else if (mem.name == "map_flags") {
            BPFVM_TRY(uint_value(mem, m.map_flags));
        } else if (mem.name == "numa_node") {
            BPFVM_TRY(uint_value(mem, m.numa_node));
        } else if (mem.name == "pinning") {
            BPFVM_TRY(uint_value(mem, m.pinning));
        } else if (mem.name == "key_size") {
            uint32_t v = 0;
            BPFVM_TRY(uint_value(mem, v));
            if (m.btf_key_type_id == 0) m.key_size = v;
        } else if (mem.name == "value_size") {
            uint32_t v = 0;
            BPFVM_TRY(uint_value(mem, v));
            if (m.btf_value_type_id == 0) m.value_size = v;
        } else if (mem.name == "key") {
            BPFVM_TRY(type_value(mem, m.key_size, m.btf_key_type_id));
        } else if (mem.name == "value") {
            BPFVM_TRY(type_value(mem, m.value_size, m.btf_value_type_id));
        } else if (mem.name == "values") {
            // `__array(values, T)` is `T *values[]`: inner map template (T a struct) or programs.
            const BtfType* a = btf.get(btf.skip_modifiers(mem.type));
            const BtfType* p = a != nullptr && a->kind == BtfKind::Array ? btf.get(btf.skip_modifiers(a->elem_type)) : nullptr;
            if (p == nullptr || p->kind != BtfKind::Ptr)
                return ctx.error(ErrorCode::kMalformed, what, "member 'values' is not __array (array of pointers)");
            if (values_bit_offset != nullptr) *values_bit_offset = mem.offset_bits;
            const BtfType* inner = btf.get(btf.skip_modifiers(p->type));
            if (inner != nullptr && inner->kind == BtfKind::Struct) {
                if (depth > 0) return ctx.error(ErrorCode::kMalformed, what, "nested map-in-map templates");
                MapSpec im;
                im.name = m.name + ".inner";
                im.section = m.section;
                im.kind = MapKind::BtfMap;
                BPFVM_TRY(parse_btf_map(ctx, btf, p->type, im, what + " (inner map)", nullptr, depth + 1));
                m.inner_map = static_cast<uint32_t>(ctx.obj.maps.size());
                ctx.obj.maps.push_back(std::move(im));
            }
        }
        // Other members (map_extra, ...) are accepted and ignored.
    }
    // Map-in-map: the value is an inner map fd.
    if ((m.type == MapType::ArrayOfMaps || m.type == MapType::HashOfMaps) && m.value_size == 0) m.value_size = 4;
    if (m.type == MapType::ProgArray && m.value_size == 0) m.value_size = 4;
    // The kernel wants 4-byte keys and values for perf event arrays (libbpf fills them in) and no
    // key or value for ring buffers (a declared `value` type only documents the records).
    if (m.type == MapType::PerfEventArray) {
        if (m.key_size == 0) m.key_size = 4;
        if (m.value_size == 0) m.value_size = 4;
    }
    if (m.type == MapType::Ringbuf || m.type == MapType::UserRingbuf) m.key_size = m.value_size = 0;
    return {};
}

Status collect_btf_maps(LoadContext& ctx) {
    const Section* sec = ctx.elf.find(".maps");
    if (sec == nullptr || sec->size == 0) return {};
    const std::string what = "section .maps";
    if (!ctx.obj.btf) return ctx.error(ErrorCode::kMalformed, what, "BTF-defined maps need a .BTF section");
    const Btf& btf = *ctx.obj.btf;
    auto ds_id = btf.find(".maps", BtfKind::Datasec);
    if (!ds_id) return ctx.error(ErrorCode::kMalformed, what, "no DATASEC .maps in BTF");
    const BtfType& ds = btf.types[*ds_id];
    struct ValuesInfo {
        uint32_t map;
        uint64_t begin, end;  // byte range of the `values` array within the section
    };
    std::vector<ValuesInfo> values;
    for (const auto& v : ds.vars) {
        const BtfType* var = btf.get(v.type);
        if (var == nullptr || var->kind != BtfKind::Var)
            return ctx.error(ErrorCode::kMalformed, what, "DATASEC entry is not a VAR");
        const std::string mwhat = what + ": map '" + var->name + "'";
        // In an object file the DATASEC offsets are not filled in yet: the symbol gives the offset.
        const Symbol* sym = nullptr;
        for (const auto& s : ctx.elf.symbols)
            if (s.shndx == sec->index && s.name == var->name && s.type != STT_SECTION) sym = &s;
        if (sym == nullptr) return ctx.error(ErrorCode::kMalformed, mwhat, "no symbol for the map variable");
        auto def_size = btf.size_of(var->type);
        if (!def_size) return ctx.error(ErrorCode::kMalformed, mwhat, def_size.error().message);
        const uint64_t def_off = sym->value;
        if (def_off > sec->size || *def_size > sec->size - def_off)
            return ctx.error(ErrorCode::kMalformed, mwhat, "definition at offset " + std::to_string(def_off) + " exceeds the section");
        MapSpec m;
        m.name = var->name;
        m.section = ".maps";
        m.kind = MapKind::BtfMap;
        uint32_t values_bits = UINT32_MAX;
        // Reserve the outer map's index first so that map_at and relocations see a stable index
        // even when an inner template is appended while parsing.
        const auto index = static_cast<uint32_t>(ctx.obj.maps.size());
        ctx.obj.maps.emplace_back();
        BPFVM_TRY(parse_btf_map(ctx, btf, var->type, m, mwhat, &values_bits, 0));
        ctx.obj.maps[index] = std::move(m);
        ctx.map_at[{sec->index, def_off}] = index;
        if (values_bits != UINT32_MAX) {
            // `values` is a flexible array: its initializers run past the struct, up to the next map.
            uint64_t end = sec->size;
            for (const auto& s : ctx.elf.symbols)
                if (s.shndx == sec->index && s.type != STT_SECTION && s.value > def_off) end = std::min(end, s.value);
            values.push_back({index, def_off + values_bits / 8, end});
        }
    }
    // `.values = { [i] = &x }`: relocations inside a values array name the slot's target.
    for (const auto& r : ctx.elf.relocs[sec->index]) {
        for (const auto& vi : values) {
            if (r.offset < vi.begin || r.offset >= vi.end) continue;
            const Symbol& sym = ctx.elf.symbols[r.sym];
            ctx.obj.maps[vi.map].slot_inits.push_back({static_cast<uint32_t>((r.offset - vi.begin) / 8), sym.name});
        }
    }
    return {};
}

Status collect_data(LoadContext& ctx) {
    for (const auto& sec : ctx.elf.sections) {
        auto kind = data_kind(sec);
        if (!kind || sec.size == 0) continue;
        const std::string what = "section " + sec.name;
        if (sec.size > kMaxDataSection)
            return ctx.error(ErrorCode::kUnsupported, what, "global data of " + std::to_string(sec.size) + " bytes is too large");
        MapSpec m;
        m.name = sec.name;
        m.section = sec.name;
        m.kind = *kind;
        m.type = MapType::Array;
        m.key_size = 4;
        m.value_size = static_cast<uint32_t>(sec.size);
        m.max_entries = 1;
        m.readonly = *kind == MapKind::Rodata;
        if (m.readonly) m.map_flags = 0x80;  // BPF_F_RDONLY_PROG
        if (sec.nobits())
            m.initial_data.assign(sec.size, 0);
        else
            m.initial_data = sec.data;
        if (m.initial_data.size() != sec.size) return ctx.error(ErrorCode::kMalformed, what, "contents shorter than the section size");
        if (ctx.obj.btf) {
            if (auto id = ctx.obj.btf->find(sec.name, BtfKind::Datasec)) m.btf_value_type_id = *id;
        }
        ctx.data_maps[sec.index] = static_cast<uint32_t>(ctx.obj.maps.size());
        ctx.obj.maps.push_back(std::move(m));
    }
    // .kconfig externs exist only in BTF: a zero-filled read-only map (userspace has no kernel config).
    if (ctx.obj.btf) {
        if (auto id = ctx.obj.btf->find(".kconfig", BtfKind::Datasec)) {
            const BtfType& ds = ctx.obj.btf->types[*id];
            // Object files leave DATASEC offsets at 0: lay the externs out in order, each aligned
            // to its size (at most 8).
            uint64_t size = 0;
            for (const auto& v : ds.vars) {
                const BtfType* var = ctx.obj.btf->get(v.type);
                if (var == nullptr || var->kind != BtfKind::Var) continue;
                auto sz = ctx.obj.btf->size_of(var->type);
                const uint64_t n = sz ? std::max<uint64_t>(*sz, 1) : 8;
                const uint64_t align = std::min<uint64_t>(n >= 8 ? 8 : (n >= 4 ? 4 : (n >= 2 ? 2 : 1)), 8);
                size = (size + align - 1) / align * align;
                if (size > kMaxDataSection) return ctx.error(ErrorCode::kMalformed, ".kconfig", "too large");
                ctx.kconfig_vars[var->name] = static_cast<uint32_t>(size);
                size += n;
            }
            if (size > kMaxDataSection) return ctx.error(ErrorCode::kMalformed, ".kconfig", "too large");
            MapSpec m;
            m.name = ".kconfig";
            m.section = ".kconfig";
            m.kind = MapKind::Kconfig;
            m.type = MapType::Array;
            m.key_size = 4;
            m.value_size = static_cast<uint32_t>(std::max<uint64_t>(size, 1));
            m.max_entries = 1;
            m.readonly = true;
            m.map_flags = 0x80;
            m.initial_data.assign(m.value_size, 0);
            m.btf_value_type_id = *id;
            ctx.kconfig_map = static_cast<uint32_t>(ctx.obj.maps.size());
            ctx.obj.maps.push_back(std::move(m));
        }
    }
    return {};
}

}  // namespace

Status collect_maps(LoadContext& ctx) {
    BPFVM_TRY(collect_legacy(ctx));
    BPFVM_TRY(collect_btf_maps(ctx));
    BPFVM_TRY(collect_data(ctx));
    return {};
}

}  // namespace bpfvm::loader
