// The parts of an example's test spec (examples/X.test.json) the kernel oracle needs: inputs,
// initial map entries and the expectations. Values are kept as the spec writes them (hex string
// or integer) and turned into bytes once the map's key/value size is known.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bpfvm/result.hpp"

namespace bpfvm::oracle {

/// A key or value: hex bytes, or an unsigned integer stored little-endian in the map's size.
using SpecBytes = std::variant<std::vector<uint8_t>, uint64_t>;

struct SpecEntry {
    SpecBytes key;
    SpecBytes value;
};

struct SpecCase {
    std::string name;
    std::string program;
    std::vector<uint8_t> data;
    std::vector<uint8_t> ctx;
    uint32_t repeat = 1;
    std::map<std::string, std::vector<SpecEntry>> maps;  // initial entries by map name

    std::optional<uint64_t> expect_retval;
    std::optional<std::vector<uint8_t>> expect_data;
    std::map<std::string, std::vector<SpecEntry>> expect_maps;
};

struct Spec {
    std::string path;
    std::string object;  // resolved against the spec's folder
    std::vector<SpecCase> cases;
};

/// Reads and parses a spec file. Errors name the file and the JSON path.
Result<Spec> load_spec(const std::string& path);

/// The bytes of `b` for a field of `size` bytes: an integer is written little-endian (error if it
/// does not fit); hex must have exactly `size` bytes.
Result<std::vector<uint8_t>> spec_bytes(const SpecBytes& b, uint32_t size);

/// "0a0b0c" (lower-case hex) for messages.
std::string hex(const std::vector<uint8_t>& bytes);

}  // namespace bpfvm::oracle
