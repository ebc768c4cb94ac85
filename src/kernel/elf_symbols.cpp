// Uprobe targets: "binary:symbol[+offset]" to the file offset the uprobe PMU wants. The symbol's
// address is turned into a file offset through the section that holds it (address - sh_addr +
// sh_offset), which is right for executables and shared libraries alike.
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <optional>

#include "bpfvm/kernel_attach.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {
namespace {

/// Closes the fd and ends the libelf handle.
struct ElfHandle {
    int fd = -1;
    Elf* elf = nullptr;
    ~ElfHandle() {
        if (elf != nullptr) elf_end(elf);
        if (fd >= 0) ::close(fd);
    }
};

bool is_executable_file(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// "ls" -> "/usr/bin/ls" through $PATH; paths with a '/' are kept.
std::optional<std::string> find_binary(const std::string& name) {
    if (name.find('/') != std::string::npos) return is_executable_file(name) ? std::optional(name) : std::nullopt;
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    size_t pos = 0;
    while (pos <= dirs.size()) {
        size_t end = dirs.find(':', pos);
        if (end == std::string::npos) end = dirs.size();
        const std::string candidate = dirs.substr(pos, end - pos) + "/" + name;
        if (end > pos && is_executable_file(candidate)) return candidate;
        pos = end + 1;
    }
    return std::nullopt;
}

/// The file offset of function symbol `symbol` in `elf` (.symtab first, then .dynsym).
std::optional<uint64_t> symbol_file_offset(Elf* elf, const std::string& symbol) {
    for (Elf64_Word wanted : {Elf64_Word{SHT_SYMTAB}, Elf64_Word{SHT_DYNSYM}}) {
        Elf_Scn* scn = nullptr;
        while ((scn = elf_nextscn(elf, scn)) != nullptr) {
            GElf_Shdr shdr;
            if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != wanted || shdr.sh_entsize == 0) continue;
            Elf_Data* data = elf_getdata(scn, nullptr);
            if (data == nullptr) continue;
            const size_t count = shdr.sh_size / shdr.sh_entsize;
            for (size_t i = 0; i < count; ++i) {
                GElf_Sym sym;
                if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
                if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC) continue;
                if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
                const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
                if (name == nullptr || symbol != name) continue;
                Elf_Scn* holder = elf_getscn(elf, sym.st_shndx);
                GElf_Shdr hdr;
                if (holder == nullptr || gelf_getshdr(holder, &hdr) == nullptr) continue;
                if (sym.st_value < hdr.sh_addr || sym.st_value >= hdr.sh_addr + hdr.sh_size) continue;
                return sym.st_value - hdr.sh_addr + hdr.sh_offset;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

namespace detail {

Result<uint64_t> parse_offset(const std::string& text) {
    const bool hex = text.rfind("0x", 0) == 0;
    const char* begin = text.data() + (hex ? 2 : 0);
    const char* end = text.data() + text.size();
    uint64_t value = 0;
    auto r = std::from_chars(begin, end, value, hex ? 16 : 10);
    if (begin == end || r.ec != std::errc() || r.ptr != end)
        return make_error(ErrorCode::kInvalidArgument, "bad offset '" + text + "' (decimal or 0x hex)");
    return value;
}

}  // namespace detail

Result<UprobeTarget> resolve_uprobe(const std::string& spec) {
    const size_t colon = spec.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
        return make_error(ErrorCode::kInvalidArgument,
                          "uprobe target '" + spec + "': expected BINARY:SYMBOL[+OFFSET], e.g. /bin/bash:readline");
    UprobeTarget target;
    std::string symbol = spec.substr(colon + 1);
    if (const size_t plus = symbol.find('+'); plus != std::string::npos) {
        auto off = detail::parse_offset(symbol.substr(plus + 1));
        if (!off)
            return make_error(ErrorCode::kInvalidArgument, "uprobe target '" + spec + "': " + off.error().message);
        target.offset = *off;
        symbol.resize(plus);
    }
    if (symbol.empty())
        return make_error(ErrorCode::kInvalidArgument, "uprobe target '" + spec + "': no symbol name");
    target.symbol = symbol;
    const std::string name = spec.substr(0, colon);
    auto binary = find_binary(name);
    if (!binary) return make_error(ErrorCode::kNotFound, "uprobe target '" + spec + "': no file '" + name + "'");
    target.binary = *binary;

    if (elf_version(EV_CURRENT) == EV_NONE) return make_error(ErrorCode::kIo, "libelf initialization failed");
    ElfHandle h;
    h.fd = ::open(target.binary.c_str(), O_RDONLY | O_CLOEXEC);
    if (h.fd < 0) return detail::syscall_error("open", target.binary, errno);
    h.elf = elf_begin(h.fd, ELF_C_READ, nullptr);
    if (h.elf == nullptr || elf_kind(h.elf) != ELF_K_ELF)
        return make_error(ErrorCode::kMalformed,
                          "uprobe target '" + spec + "': " + target.binary + " is not an ELF file");
    auto offset = symbol_file_offset(h.elf, symbol);
    if (!offset)
        return make_error(ErrorCode::kNotFound, "uprobe target '" + spec + "': no function '" + symbol +
                                                    "' in the symbol tables of " + target.binary);
    target.file_offset = *offset + target.offset;
    return target;
}

}  // namespace bpfvm::kernel
