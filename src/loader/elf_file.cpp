// ELF reading with libelf. libelf validates that section contents lie inside the image
// (elf_getdata fails otherwise); we additionally check entry sizes, symbol section indices and
// relocation symbol indices so that later stages can index without further checks.
#include "elf_file.hpp"

#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <memory>

namespace bpfvm::loader {
namespace {

constexpr uint16_t kEmBpf = 247;

Error malformed(std::string message) { return make_error(ErrorCode::kMalformed, std::move(message)); }

std::string libelf_message() {
    const char* m = elf_errmsg(-1);
    return m != nullptr ? m : "unknown libelf error";
}

struct ElfCloser {
    void operator()(Elf* e) const { elf_end(e); }
};

}  // namespace

bool Section::executable() const { return type == SHT_PROGBITS && (flags & SHF_EXECINSTR) != 0; }
bool Section::nobits() const { return type == SHT_NOBITS; }

const Section* ElfFile::find(const std::string& name) const {
    for (const auto& s : sections)
        if (s.name == name) return &s;
    return nullptr;
}

Result<ElfFile> ElfFile::parse(std::span<const uint8_t> image) {
    if (image.size() < EI_NIDENT || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0)
        return malformed("not an ELF file (bad magic)");
    if (image[EI_CLASS] != ELFCLASS64) return make_error(ErrorCode::kUnsupported, "not a 64-bit ELF file");
    if (image[EI_DATA] != ELFDATA2LSB)
        return make_error(ErrorCode::kUnsupported, "big-endian ELF objects are not supported");
    if (image.size() < sizeof(Elf64_Ehdr)) return malformed("truncated ELF header");
    {
        // Said here rather than left to libelf, which reports a cut-off header table as "no sections".
        Elf64_Ehdr h;
        std::memcpy(&h, image.data(), sizeof h);
        const uint64_t table = uint64_t{h.e_shnum} * h.e_shentsize;
        if (h.e_shnum != 0 && (h.e_shoff > image.size() || table > image.size() - h.e_shoff))
            return malformed("section header table [" + std::to_string(h.e_shoff) + ", +" + std::to_string(table) +
                             ") extends past the end of the file (" + std::to_string(image.size()) + " bytes)");
    }

    elf_version(EV_CURRENT);
    // libelf wants a mutable buffer; it only reads in ELF_C_READ mode, but copy to be safe.
    std::vector<char> buffer(image.begin(), image.end());
    std::unique_ptr<Elf, ElfCloser> elf(elf_memory(buffer.data(), buffer.size()));
    if (!elf) return malformed("cannot read ELF: " + libelf_message());
    if (elf_kind(elf.get()) != ELF_K_ELF) return malformed("not an ELF object");
    GElf_Ehdr ehdr;
    if (gelf_getehdr(elf.get(), &ehdr) == nullptr) return malformed("bad ELF header: " + libelf_message());
    if (ehdr.e_type != ET_REL)
        return make_error(ErrorCode::kUnsupported, "ELF type " + std::to_string(ehdr.e_type) + " is not ET_REL (relocatable)");
    if (ehdr.e_machine != kEmBpf && ehdr.e_machine != EM_NONE)
        return make_error(ErrorCode::kUnsupported, "ELF machine " + std::to_string(ehdr.e_machine) + " is not EM_BPF");

    size_t shnum = 0, shstrndx = 0;
    if (elf_getshdrnum(elf.get(), &shnum) != 0) return malformed("bad section header count: " + libelf_message());
    if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return malformed("bad section name table index: " + libelf_message());
    // Section headers must lie inside the image; libelf checked that when it read them, so shnum
    // is bounded by the image size.
    if (shnum == 0) return malformed("no sections");
    if (shstrndx >= shnum) return malformed("section name table index " + std::to_string(shstrndx) + " out of range");

    ElfFile out;
    out.sections.resize(shnum);
    out.relocs.resize(shnum);
    for (size_t i = 0; i < shnum; ++i) {
        Elf_Scn* scn = elf_getscn(elf.get(), i);
        GElf_Shdr shdr;
        if (scn == nullptr || gelf_getshdr(scn, &shdr) == nullptr)
            return malformed("cannot read section header " + std::to_string(i) + ": " + libelf_message());
        Section& s = out.sections[i];
        s.index = static_cast<uint32_t>(i);
        s.type = shdr.sh_type;
        s.flags = shdr.sh_flags;
        s.link = shdr.sh_link;
        s.info = shdr.sh_info;
        s.size = shdr.sh_size;
        if (i == 0) continue;
        const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
        if (name == nullptr) return malformed("section " + std::to_string(i) + ": bad name offset " + std::to_string(shdr.sh_name));
        s.name = name;
        if (shdr.sh_type == SHT_NOBITS || shdr.sh_type == SHT_NULL) continue;
        // Debug sections are never needed: skip their bytes (they are most of a large object).
        if (s.name.rfind(".debug", 0) == 0 || s.name.rfind(".rel.debug", 0) == 0) continue;
        if (shdr.sh_offset > image.size() || shdr.sh_size > image.size() - shdr.sh_offset)
            return malformed("section " + s.name + ": contents [" + std::to_string(shdr.sh_offset) + ", +" +
                             std::to_string(shdr.sh_size) + ") extend past the end of the file (" +
                             std::to_string(image.size()) + " bytes)");
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (data == nullptr) {
            if (shdr.sh_size == 0) continue;
            return malformed("section " + s.name + ": cannot read contents: " + libelf_message());
        }
        if (data->d_buf != nullptr && data->d_size > 0) {
            if (data->d_size > shdr.sh_size) return malformed("section " + s.name + ": data larger than its header says");
            const auto* p = static_cast<const uint8_t*>(data->d_buf);
            s.data.assign(p, p + data->d_size);
        }
    }

    // Symbols: the first SHT_SYMTAB section.
    const Section* symtab = nullptr;
    for (const auto& s : out.sections)
        if (s.type == SHT_SYMTAB) {
            symtab = &s;
            break;
        }
    if (symtab == nullptr) return malformed("no symbol table");
    {
        Elf_Scn* scn = elf_getscn(elf.get(), symtab->index);
        GElf_Shdr shdr;
        if (scn == nullptr || gelf_getshdr(scn, &shdr) == nullptr) return malformed("cannot read the symbol table header");
        if (shdr.sh_entsize != sizeof(Elf64_Sym))
            return malformed("section " + symtab->name + ": symbol entry size " + std::to_string(shdr.sh_entsize) +
                             ", expected " + std::to_string(sizeof(Elf64_Sym)));
        if (shdr.sh_link >= shnum || out.sections[shdr.sh_link].type != SHT_STRTAB)
            return malformed("section " + symtab->name + ": string table index " + std::to_string(shdr.sh_link) + " is invalid");
        if (symtab->data.size() % sizeof(Elf64_Sym) != 0)
            return malformed("section " + symtab->name + ": size " + std::to_string(symtab->data.size()) +
                             " is not a multiple of the symbol size");
        const size_t count = symtab->data.size() / sizeof(Elf64_Sym);
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (data == nullptr && count > 0) return malformed("cannot read the symbol table: " + libelf_message());
        out.symbols.resize(count);
        for (size_t i = 0; i < count; ++i) {
            GElf_Sym sym;
            if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr)
                return malformed("cannot read symbol " + std::to_string(i) + ": " + libelf_message());
            Symbol& o = out.symbols[i];
            const char* name = sym.st_name == 0 ? "" : elf_strptr(elf.get(), shdr.sh_link, sym.st_name);
            if (name == nullptr) return malformed("symbol " + std::to_string(i) + ": bad name offset " + std::to_string(sym.st_name));
            o.name = name;
            o.value = sym.st_value;
            o.size = sym.st_size;
            o.type = GELF_ST_TYPE(sym.st_info);
            o.bind = GELF_ST_BIND(sym.st_info);
            o.shndx = sym.st_shndx;
            if (o.shndx == SHN_XINDEX) return make_error(ErrorCode::kUnsupported, "symbol " + o.name + ": extended section indices");
            // Section symbols are nameless; name them after their section for messages.
            if (o.type == STT_SECTION && o.name.empty() && o.shndx < shnum) o.name = out.sections[o.shndx].name;
        }
    }

    // Relocations (clang emits SHT_REL; some older toolchains SHT_RELA with explicit addends).
    for (const auto& s : out.sections) {
        if ((s.type != SHT_REL && s.type != SHT_RELA) || s.name.rfind(".rel.debug", 0) == 0 ||
            s.name.rfind(".rela.debug", 0) == 0)
            continue;
        const bool rela = s.type == SHT_RELA;
        const size_t entsize = rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
        if (s.info >= shnum) return malformed("section " + s.name + ": target section " + std::to_string(s.info) + " out of range");
        if (s.data.size() % entsize != 0)
            return malformed("section " + s.name + ": size " + std::to_string(s.data.size()) + " is not a multiple of " +
                             std::to_string(entsize));
        auto& list = out.relocs[s.info];
        const size_t count = s.data.size() / entsize;
        for (size_t i = 0; i < count; ++i) {
            Elf64_Rela rel{};
            std::memcpy(&rel, s.data.data() + i * entsize, entsize);
            Reloc r{rel.r_offset, static_cast<uint32_t>(ELF64_R_TYPE(rel.r_info)), static_cast<uint32_t>(ELF64_R_SYM(rel.r_info)),
                    rela ? std::optional<int64_t>(rel.r_addend) : std::nullopt};
            if (r.sym >= out.symbols.size())
                return malformed("section " + s.name + ": relocation " + std::to_string(i) + " names symbol " +
                                 std::to_string(r.sym) + " of " + std::to_string(out.symbols.size()));
            list.push_back(r);
        }
    }
    return out;
}

}  // namespace bpfvm::loader
