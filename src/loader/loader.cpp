// load_object: read the file, parse ELF, BTF and BTF.ext, then collect maps and programs.
// Also the small ObjectFile/ProgramSpec queries declared in object.hpp.
#include <algorithm>
#include <iterator>

#include "bpfvm/io.hpp"
#include "context.hpp"

namespace bpfvm {
namespace {

Error with_file(Error e, const std::string& file) {
    if (e.where.empty()) e.where = file;
    return e;
}

/// clang leaves every DATASEC with size 0 and its variables at offset 0: the section size and the
/// symbol values are only known to the ELF file. Fill them in (as libbpf does) so that the BTF
/// describes global data exactly: the kernel bridge creates .data/.rodata/.bss maps with it as
/// value type, and tools can read and set global variables by name. Sections without a matching
/// ELF section (.kconfig, .ksyms) and variables without a symbol are left alone.
void fill_datasec_layout(Btf& btf, const loader::ElfFile& elf) {
    for (BtfType& t : btf.types) {
        if (t.kind != BtfKind::Datasec) continue;
        const loader::Section* sec = elf.find(t.name);
        if (sec == nullptr || sec->size > UINT32_MAX) continue;
        t.size = static_cast<uint32_t>(sec->size);
        for (BtfSecInfo& v : t.vars) {
            const BtfType* var = btf.get(v.type);
            if (var == nullptr) continue;
            for (const auto& sym : elf.symbols)
                if (sym.shndx == sec->index && sym.name == var->name && sym.value <= UINT32_MAX)
                    v.offset = static_cast<uint32_t>(sym.value);
        }
    }
}

}  // namespace

std::string SourceLine::location() const {
    std::string out = file + ":" + std::to_string(line);
    if (column != 0) out += ":" + std::to_string(column);
    return out;
}

std::optional<SourceLine> ProgramSpec::line_for(uint32_t pc) const {
    auto it = std::upper_bound(lines.begin(), lines.end(), pc, [](uint32_t p, const LineEntry& e) { return p < e.pc; });
    if (it == lines.begin()) return std::nullopt;
    --it;
    if (it->line_index >= line_table.size()) return std::nullopt;
    return line_table[it->line_index];
}

std::string ProgramSpec::function_at(uint32_t pc) const {
    auto it = std::upper_bound(funcs.begin(), funcs.end(), pc, [](uint32_t p, const FuncEntry& e) { return p < e.pc; });
    if (it == funcs.begin()) return {};
    return std::prev(it)->name;
}

const ProgramSpec* ObjectFile::find_program(std::string_view name) const {
    for (const auto& p : programs)
        if (p.name == name) return &p;
    for (const auto& p : programs)
        if (p.section == name) return &p;
    return nullptr;
}

const MapSpec* ObjectFile::find_map(std::string_view name) const {
    auto i = map_index(name);
    return i ? &maps[*i] : nullptr;
}

std::optional<uint32_t> ObjectFile::map_index(std::string_view name) const {
    for (size_t i = 0; i < maps.size(); ++i)
        if (maps[i].name == name) return static_cast<uint32_t>(i);
    return std::nullopt;
}

Result<ObjectFile> load_object_from_memory(std::span<const uint8_t> image, const std::string& name,
                                           const LoadOptions& options) {
    auto elf = loader::ElfFile::parse(image);
    if (!elf) return with_file(elf.error(), name);

    ObjectFile obj;
    obj.path = name;
    if (const auto* lic = elf->find("license")) {
        const auto& d = lic->data;
        obj.license.assign(d.begin(), std::find(d.begin(), d.end(), uint8_t{0}));
    }
    if (const auto* ver = elf->find("version")) {
        if (ver->data.size() < 4) return with_file(make_error(ErrorCode::kMalformed, "section version: shorter than 4 bytes"), name);
        obj.kernel_version = loader::read_u32(ver->data, 0);
    }

    loader::LoadContext ctx{*elf, name, options, obj, {}, {}, {}, {}, {}, {}, {}};
    if (const auto* btf_sec = elf->find(".BTF"); btf_sec != nullptr && !btf_sec->data.empty()) {
        auto btf = Btf::parse(btf_sec->data);
        if (!btf) return with_file(btf.error(), name);
        fill_datasec_layout(*btf, *elf);
        obj.btf = std::make_shared<const Btf>(std::move(*btf));
        ctx.btf_raw = btf_sec->data;
        if (const auto* ext_sec = elf->find(".BTF.ext"); ext_sec != nullptr && !ext_sec->data.empty()) {
            auto ext = loader::BtfExt::parse(ext_sec->data, ctx.btf_raw);
            if (!ext) return with_file(ext.error(), name);
            ctx.ext = std::move(*ext);
        }
    }
    if (auto st = loader::collect_maps(ctx); !st) return with_file(st.error(), name);
    if (auto st = loader::collect_programs(ctx); !st) return with_file(st.error(), name);
    return obj;
}

Result<ObjectFile> load_object(const std::string& path, const LoadOptions& options) {
    auto bytes = read_input_file(path, kMaxObjectFileBytes);
    if (!bytes) return bytes.error();
    return load_object_from_memory(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()),
                                   path, options);
}

}  // namespace bpfvm
