// A bounds-checked view of an ELF64 relocatable eBPF object, read with libelf. Everything the rest
// of the loader needs is copied out (section bytes, symbols, relocations), so no libelf handle
// outlives ElfFile::parse and no later step can read outside the image.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/result.hpp"

namespace bpfvm::loader {

/// One section header plus its bytes (empty for SHT_NOBITS; `size` is still the header's size).
struct Section {
    uint32_t index = 0;
    std::string name;
    uint32_t type = 0;
    uint64_t flags = 0;
    uint32_t link = 0;
    uint32_t info = 0;
    uint64_t size = 0;
    std::vector<uint8_t> data;

    bool executable() const;
    bool nobits() const;
};

/// One symbol table entry.
struct Symbol {
    std::string name;
    uint64_t value = 0;
    uint64_t size = 0;
    uint8_t type = 0;  // STT_*
    uint8_t bind = 0;  // STB_*
    uint32_t shndx = 0;
};

/// One SHT_REL entry.
struct Reloc {
    uint64_t offset = 0;
    uint32_t type = 0;  // R_BPF_*
    uint32_t sym = 0;   // index into ElfFile::symbols
    std::optional<int64_t> addend;  // SHT_RELA only; SHT_REL keeps the addend in the instruction
};

inline constexpr uint32_t kRBpf64_64 = 1;
inline constexpr uint32_t kRBpfAbs64 = 2;
inline constexpr uint32_t kRBpfAbs32 = 3;
inline constexpr uint32_t kRBpf64_32 = 10;

/// The parsed object. `relocs[i]` are the relocations that apply to section i.
struct ElfFile {
    std::vector<Section> sections;
    std::vector<Symbol> symbols;
    std::vector<std::vector<Reloc>> relocs;

    /// Parses `image`; errors (kMalformed, kUnsupported) carry no file prefix (the caller adds it).
    static Result<ElfFile> parse(std::span<const uint8_t> image);

    /// Section by name, or nullptr.
    const Section* find(const std::string& name) const;
    /// Section by index, or nullptr when out of range.
    const Section* at(uint32_t index) const { return index < sections.size() ? &sections[index] : nullptr; }
};

/// Little-endian readers over a byte span; the caller has checked bounds.
inline uint32_t read_u32(std::span<const uint8_t> d, size_t off) {
    return static_cast<uint32_t>(d[off]) | (static_cast<uint32_t>(d[off + 1]) << 8) |
           (static_cast<uint32_t>(d[off + 2]) << 16) | (static_cast<uint32_t>(d[off + 3]) << 24);
}
inline uint16_t read_u16(std::span<const uint8_t> d, size_t off) {
    return static_cast<uint16_t>(d[off] | (d[off + 1] << 8));
}

}  // namespace bpfvm::loader
