// ElfBuilder and BtfBuilder (elf_builder.hpp).
#include "elf_builder.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace bpfvm::hostile {

void put(std::vector<uint8_t>& out, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

ElfBuilder::Section ElfBuilder::section(std::string name, uint32_t type, uint64_t flags, std::vector<uint8_t> data) {
    Section s;
    s.name = std::move(name);
    s.type = type;
    s.flags = flags;
    s.data = std::move(data);
    return s;
}

uint32_t ElfBuilder::add_section(Section s) {
    sections_.push_back(std::move(s));
    return static_cast<uint32_t>(sections_.size() + 1);  // after null and .strtab
}

uint32_t ElfBuilder::add_symbol(Symbol s) {
    symbols_.push_back(std::move(s));
    return static_cast<uint32_t>(symbols_.size());  // after the null symbol
}

void ElfBuilder::add_rel(uint32_t target, uint64_t offset, uint32_t type, uint32_t sym) {
    rels_.push_back({target, offset, type, sym});
}

std::vector<uint8_t> ElfBuilder::build() const {
    // Final section list: null, .strtab, the user's sections, .symtab, one .rel per target.
    std::vector<Section> all;
    all.push_back({});
    all.back().type = SHT_NULL;
    all.back().align = 0;
    Section strtab;
    strtab.name = ".strtab";
    strtab.type = SHT_STRTAB;
    strtab.align = 1;
    all.push_back(strtab);
    for (const auto& s : sections_) all.push_back(s);
    const auto symtab_index = static_cast<uint32_t>(all.size());
    Section symtab;
    symtab.name = ".symtab";
    symtab.type = SHT_SYMTAB;
    symtab.link = 1;
    symtab.entsize = sizeof(Elf64_Sym);
    all.push_back(symtab);
    std::vector<uint32_t> rel_targets;
    for (const auto& r : rels_)
        if (std::find(rel_targets.begin(), rel_targets.end(), r.target) == rel_targets.end()) rel_targets.push_back(r.target);
    for (uint32_t t : rel_targets) {
        Section rel;
        rel.name = ".rel" + (t < all.size() ? all[t].name : std::string("?"));
        rel.type = SHT_REL;
        rel.link = symtab_index;
        rel.info = t;
        rel.entsize = sizeof(Elf64_Rel);
        for (const auto& r : rels_)
            if (r.target == t) {
                put(rel.data, r.offset, 8);
                put(rel.data, (uint64_t{r.sym} << 32) | r.type, 8);
            }
        all.push_back(rel);
    }
    // Names: one string table for sections and symbols, as LLVM writes.
    std::string strings(1, '\0');
    auto intern = [&](const std::string& s) -> uint32_t {
        if (s.empty()) return 0;
        const auto pos = static_cast<uint32_t>(strings.size());
        strings += s;
        strings += '\0';
        return pos;
    };
    std::vector<uint32_t> name_offsets;
    for (const auto& s : all) name_offsets.push_back(intern(s.name));
    std::vector<uint8_t>& syms = all[symtab_index].data;
    syms.assign(sizeof(Elf64_Sym), 0);
    uint32_t first_global = 1;
    for (const auto& s : symbols_) {
        put(syms, intern(s.name), 4);
        syms.push_back(static_cast<uint8_t>((s.bind << 4) | (s.type & 0xf)));
        syms.push_back(0);
        put(syms, s.shndx, 2);
        put(syms, s.value, 8);
        put(syms, s.size, 8);
        if (s.bind == STB_LOCAL) ++first_global;
    }
    all[symtab_index].info = first_global;
    all[1].data.assign(strings.begin(), strings.end());

    std::vector<uint8_t> out(sizeof(Elf64_Ehdr), 0);
    std::vector<uint64_t> offsets(all.size(), 0);
    for (size_t i = 1; i < all.size(); ++i) {
        while (all[i].align > 1 && out.size() % all[i].align != 0) out.push_back(0);
        offsets[i] = out.size();
        out.insert(out.end(), all[i].data.begin(), all[i].data.end());
    }
    while (out.size() % 8 != 0) out.push_back(0);
    const uint64_t shoff = out.size();
    for (size_t i = 0; i < all.size(); ++i) {
        const Section& s = all[i];
        put(out, name_offsets[i], 4);
        put(out, s.type, 4);
        put(out, s.flags, 8);
        put(out, 0, 8);  // addr
        put(out, s.offset.value_or(offsets[i]), 8);
        put(out, s.size.value_or(s.data.size()), 8);
        put(out, s.link, 4);
        put(out, s.info, 4);
        put(out, s.align, 8);
        put(out, s.entsize, 8);
    }
    Elf64_Ehdr h{};
    std::memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = e_type;
    h.e_machine = e_machine;
    h.e_version = EV_CURRENT;
    h.e_shoff = shoff;
    h.e_ehsize = sizeof(Elf64_Ehdr);
    h.e_shentsize = sizeof(Elf64_Shdr);
    h.e_shnum = static_cast<uint16_t>(all.size());
    h.e_shstrndx = shstrndx.value_or(1);
    std::memcpy(out.data(), &h, sizeof h);
    return out;
}

ElfBuilder minimal_object(bool with_map, uint32_t map_entries) {
    ElfBuilder b;
    std::vector<uint8_t> code;
    auto insn = [&](uint8_t op, uint8_t regs, int16_t off, int32_t imm) {
        code.push_back(op);
        code.push_back(regs);
        put(code, static_cast<uint16_t>(off), 2);
        put(code, static_cast<uint32_t>(imm), 4);
    };
    if (with_map) {
        insn(0x18, 0x01, 0, 0);  // lddw r1, counts (relocated)
        insn(0x00, 0x00, 0, 0);
    }
    insn(0xb7, 0x00, 0, 2);  // mov r0, 2 (XDP_PASS)
    insn(0x95, 0x00, 0, 0);  // exit
    const uint32_t xdp = b.add_section("xdp", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, code);
    const uint32_t license = b.add_section("license", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, {'G', 'P', 'L', 0});
    (void)license;
    b.add_symbol({"prog", 0, code.size(), STT_FUNC, STB_GLOBAL, xdp});
    if (with_map) {
        std::vector<uint8_t> def;
        put(def, 2, 4);  // BPF_MAP_TYPE_ARRAY
        put(def, 4, 4);  // key_size
        put(def, 8, 4);  // value_size
        put(def, map_entries, 4);
        put(def, 0, 4);  // flags
        const uint32_t maps = b.add_section("maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, def);
        const uint32_t sym = b.add_symbol({"counts", 0, def.size(), STT_OBJECT, STB_GLOBAL, maps});
        b.add_rel(xdp, 0, 1 /* R_BPF_64_64 */, sym);
    }
    return b;
}

uint32_t BtfBuilder::str(const std::string& s) {
    if (s.empty()) return 0;
    const auto pos = strings_.find(s + '\0');
    if (pos != std::string::npos && (pos == 0 || strings_[pos - 1] == '\0')) return static_cast<uint32_t>(pos);
    const auto at = static_cast<uint32_t>(strings_.size());
    strings_ += s;
    strings_ += '\0';
    return at;
}

uint32_t BtfBuilder::add(const std::string& name, uint32_t kind, uint32_t vlen, uint32_t size_or_type,
                         const std::vector<uint8_t>& extra) {
    put(types_, str(name), 4);
    put(types_, (kind << 24) | (vlen & 0xffff), 4);
    put(types_, size_or_type, 4);
    types_.insert(types_.end(), extra.begin(), extra.end());
    return next_id_++;
}

std::vector<uint8_t> BtfBuilder::blob() const {
    std::vector<uint8_t> out;
    put(out, 0xeb9f, 2);
    out.push_back(1);  // version
    out.push_back(0);  // flags
    put(out, 24, 4);   // hdr_len
    put(out, 0, 4);    // type_off
    put(out, types_.size(), 4);
    put(out, types_.size(), 4);  // str_off
    put(out, strings_.size(), 4);
    out.insert(out.end(), types_.begin(), types_.end());
    out.insert(out.end(), strings_.begin(), strings_.end());
    return out;
}

}  // namespace bpfvm::hostile
