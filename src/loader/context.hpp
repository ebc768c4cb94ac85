// State shared by the loader's stages (maps, linking, CO-RE) while one object is loaded.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bpfvm/object.hpp"
#include "btf_ext.hpp"
#include "elf_file.hpp"

namespace bpfvm::loader {

struct CoreTarget;

struct LoadContext {
    const ElfFile& elf;
    const std::string& file;  // for messages
    const LoadOptions& options;
    ObjectFile& obj;
    std::span<const uint8_t> btf_raw;  // the object's .BTF bytes (empty if absent)
    BtfExt ext;

    /// Map definitions located by (section index, offset in section): legacy records and `.maps` vars.
    std::map<std::pair<uint32_t, uint64_t>, uint32_t> map_at;
    /// Global data sections: section index -> map index.
    std::map<uint32_t, uint32_t> data_maps;
    /// .kconfig externs: variable name -> offset in the .kconfig map.
    std::map<std::string, uint32_t> kconfig_vars;
    std::optional<uint32_t> kconfig_map;

    /// Target BTF for CO-RE, loaded on first use.
    std::shared_ptr<const CoreTarget> core;

    /// An error prefixed with the file name (and `what`, e.g. "section maps").
    Error error(ErrorCode code, const std::string& what, std::string message) const {
        Error e = make_error(code, what.empty() ? std::move(message) : what + ": " + message);
        e.where = file;
        return e;
    }
};

/// Creates ObjectFile::maps from legacy `maps` sections, BTF `.maps`, and global data sections.
Status collect_maps(LoadContext& ctx);

/// Creates ObjectFile::programs: finds programs, links subprograms, applies relocations,
/// CO-RE and line info, and decodes each one.
Status collect_programs(LoadContext& ctx);

/// A CO-RE target: BTF plus its named types by essential name (flavor suffix `___x` removed).
struct CoreTarget {
    std::shared_ptr<const Btf> btf;
    std::unordered_map<std::string_view, std::vector<uint32_t>> by_name;
};

/// Returns the CO-RE target (loading and indexing it on first use; files are cached per process).
Result<const CoreTarget*> core_target(LoadContext& ctx);

/// Applies one CO-RE relocation to `insns` at slot `pc` (which lies inside `insns`). `local` is
/// the object's BTF. Returns the record for inspection; errors for malformed records.
Result<CoreRelocation> apply_core_relocation(const Btf& local, const CoreTarget& target, const CoreReloRec& rec,
                                            std::vector<RawInsn>& insns, uint32_t pc);

}  // namespace bpfvm::loader
