// Byte-exact builders for hostile inputs: a minimal ELF64 relocatable eBPF object (sections,
// symbols, relocations) and raw BTF blobs. Built in the test, not by clang, so that every offset
// in an expected message stays the same across toolchains; mutations (truncation, offsets past
// the end, indexes out of range) are applied to the fields or to the bytes of the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bpfvm::hostile {

/// Appends `v` little-endian in `n` bytes.
void put(std::vector<uint8_t>& out, uint64_t v, int n);

class ElfBuilder {
public:
    struct Section {
        std::string name;
        uint32_t type = 1;  // SHT_PROGBITS
        uint64_t flags = 0;
        std::vector<uint8_t> data;
        uint32_t link = 0, info = 0;
        uint64_t entsize = 0, align = 8;
        std::optional<uint64_t> offset;  // overrides the computed file offset
        std::optional<uint64_t> size;    // overrides sh_size
    };
    struct Symbol {
        std::string name;
        uint64_t value = 0, size = 0;
        uint8_t type = 0, bind = 0;  // STT_*, STB_*
        uint32_t shndx = 0;
    };

    /// A section with the usual fields; the rest keep their defaults.
    static Section section(std::string name, uint32_t type, uint64_t flags, std::vector<uint8_t> data);
    /// Adds a section; returns its index (0 is the null section, 1 the string table).
    uint32_t add_section(Section s);
    /// Same, built from section().
    uint32_t add_section(std::string name, uint32_t type, uint64_t flags, std::vector<uint8_t> data) {
        return add_section(section(std::move(name), type, flags, std::move(data)));
    }
    /// Adds a symbol; returns its index in .symtab (0 is the null symbol).
    uint32_t add_symbol(Symbol s);
    /// Adds an SHT_REL entry applying to section `target`.
    void add_rel(uint32_t target, uint64_t offset, uint32_t type, uint32_t sym);

    /// Serializes: header, section contents, .symtab, .rel* sections, then section headers.
    std::vector<uint8_t> build() const;

    uint16_t e_machine = 247;  // EM_BPF
    uint16_t e_type = 1;       // ET_REL
    std::optional<uint16_t> shstrndx;  // overrides the string table index

private:
    std::vector<Section> sections_;
    std::vector<Symbol> symbols_;
    struct Rel {
        uint32_t target;
        uint64_t offset;
        uint32_t type, sym;
    };
    std::vector<Rel> rels_;
};

/// The object most cases start from: program `prog` in section `xdp` (mov r0, 2; exit), a GPL
/// license, and with `with_map` a legacy array map `counts` referenced by an lddw relocation.
ElfBuilder minimal_object(bool with_map = false, uint32_t map_entries = 4);

/// Raw BTF: add types with their extra bytes, then blob(). Strings are interned.
class BtfBuilder {
public:
    uint32_t str(const std::string& s);
    /// Adds a type record (name, kind, vlen, kind_flag, size_or_type) followed by `extra`; returns its id.
    uint32_t add(const std::string& name, uint32_t kind, uint32_t vlen, uint32_t size_or_type,
                 const std::vector<uint8_t>& extra = {});
    std::vector<uint8_t> blob() const;

private:
    std::vector<uint8_t> types_;
    std::string strings_ = std::string(1, '\0');
    uint32_t next_id_ = 1;
};

}  // namespace bpfvm::hostile
