// Values decoded through BTF. One walker produces both the human text and JSON: a Style says how
// strings, structs and arrays are spelled. Reads are bounds-checked against the bytes given (a
// record shorter than its type shows "?" for the missing fields) and recursion is bounded, so a
// hostile BTF blob cannot crash the formatter.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "bpfvm/observe.hpp"

namespace bpfvm::observe {
namespace {

constexpr int kMaxDepth = 16;
constexpr uint32_t kIntSigned = 1;  // BTF_INT_SIGNED

struct Style {
    bool json = false;
};

/// Little-endian bits [bit_offset, bit_offset + bits) of `bytes`; nullopt when out of range.
std::optional<uint64_t> read_bits(std::span<const uint8_t> bytes, uint64_t bit_offset, uint32_t bits) {
    if (bits == 0 || bits > 64 || bit_offset + bits > uint64_t{bytes.size()} * 8) return std::nullopt;
    uint64_t value = 0;
    for (uint32_t i = 0; i < bits; ++i) {
        const uint64_t bit = bit_offset + i;
        if ((bytes[bit / 8] >> (bit % 8)) & 1) value |= uint64_t{1} << i;
    }
    return value;
}

int64_t sign_extend(uint64_t v, uint32_t bits) {
    if (bits >= 64) return static_cast<int64_t>(v);
    const uint64_t sign = uint64_t{1} << (bits - 1);
    return static_cast<int64_t>((v ^ sign) - sign);
}

std::string quote(std::string_view text, bool json) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), json ? "\\u%04x" : "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

/// Whether an array of `elem` is text: char or signed char elements (u8 arrays are bytes).
bool is_char_type(const Btf& btf, uint32_t elem) {
    const BtfType* t = btf.get(btf.skip_modifiers(elem));
    return t != nullptr && t->kind == BtfKind::Int && t->size == 1 && (t->name == "char" || t->name == "signed char");
}

bool is_byte_type(const Btf& btf, uint32_t elem) {
    const BtfType* t = btf.get(btf.skip_modifiers(elem));
    return t != nullptr && t->kind == BtfKind::Int && t->size == 1;
}

class Walker {
public:
    Walker(const Btf& btf, Style style) : btf_(btf), style_(style) {}

    std::string value(uint32_t type_id, std::span<const uint8_t> bytes, uint64_t bit_offset, uint32_t bitfield,
                      int depth) const {
        if (depth > kMaxDepth) return style_.json ? "null" : "...";
        const uint32_t id = btf_.skip_modifiers(type_id);
        const BtfType* t = btf_.get(id);
        if (t == nullptr) return missing();
        switch (t->kind) {
            case BtfKind::Int: {
                const uint32_t bits = bitfield != 0 ? bitfield : (t->int_bits != 0 ? t->int_bits : t->size * 8);
                if (bits > 64) return hex_bytes(bytes, bit_offset / 8, t->size);  // __int128
                auto v = read_bits(bytes, bit_offset + (bitfield != 0 ? 0 : t->int_offset), bits);
                if (!v) return missing();
                if (t->int_encoding & 4) return *v ? "true" : "false";  // BTF_INT_BOOL
                if (t->int_encoding & kIntSigned) return std::to_string(sign_extend(*v, bits));
                return std::to_string(*v);
            }
            case BtfKind::Ptr: {
                auto v = read_bits(bytes, bit_offset, 64);
                if (!v) return missing();
                char buf[24];
                std::snprintf(buf, sizeof(buf), "\"0x%" PRIx64 "\"", *v);
                return style_.json ? std::string(buf) : std::string(buf + 1, std::strlen(buf) - 2);
            }
            case BtfKind::Enum:
            case BtfKind::Enum64: {
                auto v = read_bits(bytes, bit_offset, bitfield != 0 ? bitfield : t->size * 8);
                if (!v) return missing();
                const int64_t sv = t->is_signed ? sign_extend(*v, t->size * 8) : static_cast<int64_t>(*v);
                for (const auto& e : t->enumerators)
                    if (e.value == sv || static_cast<uint64_t>(e.value) == *v)
                        return style_.json ? quote(e.name, true) : e.name;
                return t->is_signed ? std::to_string(sv) : std::to_string(*v);
            }
            case BtfKind::Float: {
                if (t->size != 4 && t->size != 8) return missing();
                auto v = read_bits(bytes, bit_offset, t->size * 8);
                if (!v) return missing();
                double d = 0;
                if (t->size == 4) {
                    float f;
                    const auto u = static_cast<uint32_t>(*v);
                    std::memcpy(&f, &u, 4);
                    d = f;
                } else {
                    std::memcpy(&d, &*v, 8);
                }
                char buf[32];
                std::snprintf(buf, sizeof(buf), "%g", d);
                return buf;
            }
            case BtfKind::Array:
                return array(*t, bytes, bit_offset, depth);
            case BtfKind::Struct:
            case BtfKind::Union:
                return record(*t, bytes, bit_offset, depth);
            default:
                return style_.json ? "null" : "?";
        }
    }

    std::vector<std::pair<std::string, std::string>> fields(uint32_t type_id, std::span<const uint8_t> bytes) const {
        const BtfType* t = btf_.get(btf_.skip_modifiers(type_id));
        if (t == nullptr || (t->kind != BtfKind::Struct && t->kind != BtfKind::Union))
            return {{"", value(type_id, bytes, 0, 0, 0)}};
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& m : t->members)
            out.emplace_back(m.name, value(m.type, bytes, member_offset(*t, m), member_bitfield(*t, m), 1));
        return out;
    }

    static uint64_t member_offset(const BtfType&, const BtfMember& m) { return m.offset_bits; }
    static uint32_t member_bitfield(const BtfType& t, const BtfMember& m) { return t.kind_flag ? m.bitfield_size : 0; }

private:
    std::string missing() const { return style_.json ? "null" : "?"; }

    std::string hex_bytes(std::span<const uint8_t> bytes, uint64_t offset, uint64_t count) const {
        if (offset + count > bytes.size()) return missing();
        const std::string hex = hex_string(bytes.subspan(offset, count));
        return style_.json ? "\"" + hex + "\"" : hex;
    }

    std::string array(const BtfType& t, std::span<const uint8_t> bytes, uint64_t bit_offset, int depth) const {
        auto elem_size = btf_.size_of(t.elem_type);
        if (!elem_size || *elem_size == 0) return missing();
        const uint64_t offset = bit_offset / 8;
        if (is_char_type(btf_, t.elem_type)) {
            if (offset >= bytes.size()) return missing();
            const uint64_t n = std::min<uint64_t>(t.nelems, bytes.size() - offset);
            const char* p = reinterpret_cast<const char*>(bytes.data() + offset);
            const std::string_view text(p, strnlen(p, n));
            return style_.json || text.find_first_of(" \t\"=") != std::string_view::npos || text.empty()
                       ? quote(text, style_.json)
                       : std::string(text);
        }
        if (is_byte_type(btf_, t.elem_type)) return hex_bytes(bytes, offset, t.nelems);
        std::string out = "[";
        const uint32_t shown = std::min<uint32_t>(t.nelems, 64);
        for (uint32_t i = 0; i < shown; ++i) {
            if (i) out += style_.json ? "," : " ";
            out += value(t.elem_type, bytes, bit_offset + uint64_t{i} * *elem_size * 8, 0, depth + 1);
        }
        if (shown < t.nelems && !style_.json) out += " ...";
        return out + "]";
    }

    std::string record(const BtfType& t, std::span<const uint8_t> bytes, uint64_t bit_offset, int depth) const {
        std::string out = "{";
        bool first = true;
        for (const auto& m : t.members) {
            if (!first) out += style_.json ? "," : " ";
            first = false;
            const std::string name = m.name.empty() ? "_" : m.name;
            out += style_.json ? quote(name, true) + ":" : name + "=";
            out += value(m.type, bytes, bit_offset + member_offset(t, m), member_bitfield(t, m), depth + 1);
        }
        return out + "}";
    }

    const Btf& btf_;
    Style style_;
};

}  // namespace

std::string hex_string(std::span<const uint8_t> bytes) {
    static const char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

std::string format_value(const Btf& btf, uint32_t type_id, std::span<const uint8_t> bytes) {
    return Walker(btf, Style{false}).value(type_id, bytes, 0, 0, 0);
}

std::string format_json(const Btf& btf, uint32_t type_id, std::span<const uint8_t> bytes) {
    return Walker(btf, Style{true}).value(type_id, bytes, 0, 0, 0);
}

std::vector<std::pair<std::string, std::string>> format_fields(const Btf& btf, uint32_t type_id,
                                                                std::span<const uint8_t> bytes) {
    return Walker(btf, Style{false}).fields(type_id, bytes);
}

std::optional<int64_t> integer_field(const Btf& btf, uint32_t type_id, std::span<const uint8_t> bytes,
                                     std::string_view name) {
    const BtfType* t = btf.get(btf.skip_modifiers(type_id));
    if (t == nullptr || (t->kind != BtfKind::Struct && t->kind != BtfKind::Union)) return std::nullopt;
    for (const auto& m : t->members) {
        if (m.name != name) continue;
        const BtfType* mt = btf.get(btf.skip_modifiers(m.type));
        if (mt == nullptr || mt->kind != BtfKind::Int || mt->size > 8) return std::nullopt;
        auto v = read_bits(bytes, m.offset_bits, mt->size * 8);
        if (!v) return std::nullopt;
        return (mt->int_encoding & kIntSigned) ? sign_extend(*v, mt->size * 8) : static_cast<int64_t>(*v);
    }
    return std::nullopt;
}

uint32_t find_struct(const Btf& btf, std::string_view name) {
    if (name.rfind("struct ", 0) == 0) name.remove_prefix(7);
    return btf.find(name, BtfKind::Struct).value_or(0);
}

uint32_t guess_record_type(const Btf& btf, const MapSpec& map, size_t record_size) {
    if (map.btf_value_type_id != 0) {
        auto size = btf.size_of(map.btf_value_type_id);
        if (size && *size <= record_size) return map.btf_value_type_id;
    }
    // Perf event array records come padded to 8 bytes (with their u32 size in front): a struct up
    // to 7 bytes shorter than the record fits too, an exact size is preferred.
    for (const bool exact : {true, false}) {
        uint32_t only = 0, named = 0;
        int count = 0;
        for (uint32_t id = 1; id < btf.types.size(); ++id) {
            const BtfType& t = btf.types[id];
            if (t.kind != BtfKind::Struct || t.size == 0 || t.size > record_size) continue;
            if (exact ? t.size != record_size : record_size - t.size >= 8) continue;
            ++count;
            only = id;
            if (t.name.size() >= 5 && t.name.compare(t.name.size() - 5, 5, "event") == 0) named = named ? named : id;
        }
        if (named) return named;
        if (count == 1) return only;
        if (count > 1) return 0;  // ambiguous: --event-type decides
    }
    return 0;
}

}  // namespace bpfvm::observe
