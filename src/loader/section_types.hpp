// Section naming conventions: which program type a code section holds.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bpfvm/object.hpp"

namespace bpfvm::loader {

/// What a section name says about its programs.
struct SectionKind {
    ProgramType type = ProgramType::Unspec;
    std::optional<AttachType> attach;
    std::string target;  // text after the recognized prefix ("syscalls/sys_enter_write")
    bool sleepable = false;
};

/// Classifies a code section name by libbpf conventions; Unspec when unrecognized.
SectionKind classify_section(std::string_view name);

}  // namespace bpfvm::loader
