// Small text helpers shared by the isa sources (not installed).
#pragma once

#include <cstdio>
#include <string>

namespace bpfvm::isa_detail {

/// An opcode byte as messages print it: "0x07".
inline std::string hex_byte(unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", v & 0xffu);
    return buf;
}

}  // namespace bpfvm::isa_detail
