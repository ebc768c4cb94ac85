// .BTF.ext: func_info, line_info and CO-RE relocation records, grouped by the section they apply to.
// Instruction offsets are converted from bytes to slots here.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/object.hpp"

namespace bpfvm::loader {

struct FuncInfoRec {
    uint32_t slot = 0;
    uint32_t type_id = 0;
};

struct LineInfoRec {
    uint32_t slot = 0;
    std::string file;
    std::string text;
    uint32_t line = 0;
    uint32_t column = 0;
};

struct CoreReloRec {
    uint32_t slot = 0;
    uint32_t type_id = 0;
    std::string access;
    uint32_t kind = 0;
};

/// Records of one code section.
struct BtfExtSection {
    std::vector<FuncInfoRec> funcs;
    std::vector<LineInfoRec> lines;
    std::vector<CoreReloRec> core;
};

/// Parsed .BTF.ext, keyed by section name. Strings come from the object's .BTF string table,
/// which is why the raw .BTF bytes are needed.
struct BtfExt {
    std::map<std::string, BtfExtSection> sections;

    static Result<BtfExt> parse(std::span<const uint8_t> ext, std::span<const uint8_t> btf);
};

}  // namespace bpfvm::loader
