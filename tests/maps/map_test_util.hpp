// Shared helpers for the map tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <memory>
#include <span>
#include <vector>

#include "bpfvm/detail/helpers.hpp"
#include "bpfvm/maps.hpp"

namespace bpfvm::maps::test {

inline MapAttr attr(MapType type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags = 0) {
    MapAttr a;
    a.type = type;
    a.key_size = key_size;
    a.value_size = value_size;
    a.max_entries = max_entries;
    a.flags = flags;
    a.name = "m";
    a.num_cpus = 4;
    return a;
}

inline std::unique_ptr<Map> make(const MapAttr& a) {
    auto r = create_map(a);
    EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().to_string());
    return r.has_value() ? std::move(r.value()) : nullptr;
}

inline std::unique_ptr<Map> make(MapType type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                                 uint32_t flags = 0) {
    return make(attr(type, key_size, value_size, max_entries, flags));
}

template <class T>
std::span<const uint8_t> bytes(const T& v) {
    return {reinterpret_cast<const uint8_t*>(&v), sizeof v};
}
template <class T>
std::span<uint8_t> out_bytes(T& v) {
    return {reinterpret_cast<uint8_t*>(&v), sizeof v};
}

/// The creation error message, or "" on success.
inline std::string create_error(const MapAttr& a) {
    auto r = create_map(a);
    return r.has_value() ? std::string() : r.error().to_string();
}

/// Reads a u64 value through the program-side lookup (0 when absent is indistinguishable: tests
/// use it only on present keys).
template <class K>
uint64_t value_u64(Map& m, const K& key) {
    void* p = m.lookup_elem(&key);
    EXPECT_NE(p, nullptr);
    uint64_t v = 0;
    if (p) std::memcpy(&v, p, 8);
    return v;
}

/// "0x..." as the helpers print addresses.
inline std::string detail_hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace bpfvm::maps::test
