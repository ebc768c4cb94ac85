// Shared by the test folders: programs from conformance-suite assembly text.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string_view>

#include "bpfvm/asm.hpp"

namespace bpfvm {

/// Assembles and decodes `text`; a failure is a test failure (and an empty program).
inline Program assemble_program(std::string_view text) {
    auto raw = assemble(text);
    EXPECT_TRUE(raw.has_value()) << raw.error().to_string();
    if (!raw) return {};
    auto program = decode_program(std::span<const RawInsn>(*raw));
    EXPECT_TRUE(program.has_value()) << program.error().to_string();
    return program ? *program : Program{};
}

}  // namespace bpfvm
