// Maps for people: histograms as the BCC tools draw them, everything else as a table whose
// columns are the BTF members of key and value. The histogram layouts follow libbpf-tools'
// trace_helpers (print_log2_hist, print_linear_hist): same columns, 40-star bars, the same
// slot bounds (slot i of a log2 histogram covers [2^i, 2^(i+1)-1], slot 0 covers 0 -> 1).
#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "bpfvm/observe.hpp"

namespace bpfvm::observe {
namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::vector<std::string> name_tokens(const std::string& name) {
    std::vector<std::string> tokens;
    std::string current;
    for (char c : lower(name)) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            current += c;
        } else if (!current.empty()) {
            tokens.push_back(current);
            current.clear();
        }
    }
    if (!current.empty()) tokens.push_back(current);
    return tokens;
}

std::string unit_from_name(const std::string& name) {
    for (const std::string& t : name_tokens(name)) {
        if (t == "usecs" || t == "us") return "usecs";
        if (t == "nsecs" || t == "ns") return "nsecs";
        if (t == "msecs" || t == "ms") return "msecs";
        if (t == "secs") return "secs";
        if (t == "bytes") return "bytes";
        if (t == "kbytes" || t == "kb") return "kbytes";
    }
    return "value";
}

bool is_integer_type(const Btf* btf, uint32_t id, uint32_t size) {
    if (size == 0 || size > 8 || (size & (size - 1)) != 0) return false;
    if (btf == nullptr || id == 0) return true;  // no BTF: judge by size alone
    const BtfType* t = btf->get(btf->skip_modifiers(id));
    return t != nullptr && (t->kind == BtfKind::Int || t->kind == BtfKind::Enum);
}

uint64_t read_le(std::span<const uint8_t> bytes, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < bytes.size() && i < 8; ++i) v |= uint64_t{bytes[i]} << (8 * i);
    return v;
}

/// The `slots` member of a value struct: (offset in bytes, element size, count).
struct SlotsMember {
    uint32_t offset = 0, elem_size = 0, count = 0;
};

std::optional<SlotsMember> find_slots(const Btf& btf, uint32_t value_type, const std::string& member) {
    const BtfType* t = btf.get(btf.skip_modifiers(value_type));
    if (t == nullptr || t->kind != BtfKind::Struct) return std::nullopt;
    for (const auto& m : t->members) {
        if (m.name != member || m.offset_bits % 8 != 0) continue;
        const BtfType* a = btf.get(btf.skip_modifiers(m.type));
        if (a == nullptr || a->kind != BtfKind::Array) return std::nullopt;
        auto elem = btf.size_of(a->elem_type);
        if (!elem || !is_integer_type(&btf, a->elem_type, static_cast<uint32_t>(*elem))) return std::nullopt;
        return SlotsMember{m.offset_bits / 8, static_cast<uint32_t>(*elem), a->nelems};
    }
    return std::nullopt;
}

std::string stars(uint64_t value, uint64_t max, int width) {
    const uint64_t shown = max == 0 ? 0 : std::min(value, max) * static_cast<uint64_t>(width) / max;
    std::string out(shown, '*');
    out.append(static_cast<size_t>(width) - shown, ' ');
    if (value > max) out += '+';
    return out;
}

std::string key_text(const MapSnapshot& map, size_t i) {
    const auto& key = map.entries[i].first;
    if (map.btf && map.key_type != 0) return format_value(*map.btf, map.key_type, key);
    if (auto v = map.integer_key(i)) return std::to_string(*v);
    return hex_string(key);
}

/// Columns of a key or value: the struct members, or one column titled `title`.
std::vector<std::pair<std::string, std::string>> columns(const MapSnapshot& map, uint32_t type,
                                                         std::span<const uint8_t> bytes, const char* title) {
    if (map.btf && type != 0) {
        auto fields = format_fields(*map.btf, type, bytes);
        if (fields.size() == 1 && fields[0].first.empty()) fields[0].first = title;
        return fields;
    }
    if (bytes.size() <= 8 && !bytes.empty() && (bytes.size() & (bytes.size() - 1)) == 0)
        return {{title, std::to_string(read_le(bytes, bytes.size()))}};
    return {{title, hex_string(bytes)}};
}

bool all_zero(std::span<const uint8_t> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

bool is_array_like(MapType type) {
    return type == MapType::Array || type == MapType::PercpuArray || type == MapType::PerfEventArray ||
           type == MapType::CgroupArray;
}

}  // namespace

std::span<const uint8_t> MapSnapshot::value_of(size_t i, uint32_t cpu) const {
    const auto& v = entries[i].second;
    const size_t stride = cpus > 1 ? (value_size + 7) / 8 * 8 : value_size;
    const size_t start = size_t{cpu} * stride;
    if (start >= v.size()) return {};
    return std::span<const uint8_t>(v).subspan(start, std::min<size_t>(value_size, v.size() - start));
}

std::optional<uint64_t> MapSnapshot::integer_value(size_t i) const {
    if (value_size == 0 || value_size > 8 || (value_size & (value_size - 1)) != 0) return std::nullopt;
    uint64_t sum = 0;
    for (uint32_t c = 0; c < std::max<uint32_t>(cpus, 1); ++c) sum += read_le(value_of(i, c), value_size);
    return sum;
}

std::optional<uint64_t> MapSnapshot::integer_key(size_t i) const {
    const auto& key = entries[i].first;
    if (key.empty() || key.size() > 8 || (key.size() & (key.size() - 1)) != 0) return std::nullopt;
    return read_le(key, key.size());
}

std::optional<HistogramShape> detect_histogram(const MapSnapshot& map) {
    const bool hashy = map.type == MapType::Hash || map.type == MapType::PercpuHash || map.type == MapType::LruHash ||
                       map.type == MapType::LruPercpuHash;
    if (!hashy && map.type != MapType::Array && map.type != MapType::PercpuArray) return std::nullopt;
    const std::vector<std::string> tokens = name_tokens(map.name);
    const std::string name = lower(map.name);
    HistogramShape shape;
    shape.unit = unit_from_name(map.name);
    const bool linear = std::any_of(tokens.begin(), tokens.end(), [](const std::string& t) {
        return t == "lin" || t == "linear" || t == "lhist";
    });
    if (linear) shape.kind = HistogramKind::Linear;
    if (map.btf && find_slots(*map.btf, map.value_type, "slots")) {
        shape.slots_member = "slots";
        return shape;
    }
    if (name.find("hist") == std::string::npos && !linear) return std::nullopt;
    if (!is_integer_type(map.btf.get(), map.key_type, map.key_size) ||
        !is_integer_type(map.btf.get(), map.value_type, map.value_size))
        return std::nullopt;
    return shape;
}

std::vector<std::pair<std::string, std::vector<uint64_t>>> histogram_counts(const MapSnapshot& map,
                                                                            const HistogramShape& shape) {
    std::vector<std::pair<std::string, std::vector<uint64_t>>> out;
    if (shape.slots_member.empty()) {
        std::vector<uint64_t> counts;
        for (size_t i = 0; i < map.entries.size(); ++i) {
            auto slot = map.integer_key(i);
            auto value = map.integer_value(i);
            if (!slot || !value || *slot >= 4096) continue;  // not a slot index: ignored
            if (counts.size() <= *slot) counts.resize(*slot + 1, 0);
            counts[*slot] += *value;
        }
        out.emplace_back("", std::move(counts));
        return out;
    }
    if (!map.btf) return out;
    auto slots = find_slots(*map.btf, map.value_type, shape.slots_member);
    if (!slots) return out;
    for (size_t i = 0; i < map.entries.size(); ++i) {
        std::vector<uint64_t> counts(slots->count, 0);
        for (uint32_t c = 0; c < std::max<uint32_t>(map.cpus, 1); ++c) {
            const auto value = map.value_of(i, c);
            for (uint32_t s = 0; s < slots->count; ++s) {
                const size_t at = slots->offset + size_t{s} * slots->elem_size;
                if (at + slots->elem_size <= value.size()) counts[s] += read_le(value.subspan(at), slots->elem_size);
            }
        }
        out.emplace_back(key_text(map, i), std::move(counts));
    }
    return out;
}

std::string format_log2_histogram(std::span<const uint64_t> counts, const std::string& unit) {
    int idx_max = -1;
    uint64_t val_max = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] > 0) idx_max = static_cast<int>(i);
        val_max = std::max(val_max, counts[i]);
    }
    if (idx_max < 0) return "";
    const bool narrow = idx_max <= 32;
    const int width = narrow ? 10 : 20;
    const int bar = narrow ? 40 : 20;
    char line[256];
    std::snprintf(line, sizeof(line), "%*s%-*s : count    distribution\n", narrow ? 5 : 15, "", narrow ? 19 : 29,
                  unit.c_str());
    std::string out = line;
    for (int i = 0; i <= idx_max; ++i) {
        uint64_t low = (i + 1 >= 64) ? (uint64_t{1} << 63) : ((uint64_t{1} << (i + 1)) >> 1);
        const uint64_t high = (i + 1 >= 64) ? UINT64_MAX : (uint64_t{1} << (i + 1)) - 1;
        if (low == high) low -= 1;
        std::snprintf(line, sizeof(line), "%*" PRIu64 " -> %-*" PRIu64 " : %-8" PRIu64 " |", width, low, width, high,
                      counts[static_cast<size_t>(i)]);
        out += line + stars(counts[static_cast<size_t>(i)], val_max, bar) + "|\n";
    }
    return out;
}

std::string format_linear_histogram(std::span<const uint64_t> counts, uint64_t base, uint64_t step,
                                    const std::string& unit) {
    int idx_min = -1, idx_max = -1;
    uint64_t val_max = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] > 0) {
            idx_max = static_cast<int>(i);
            if (idx_min < 0) idx_min = static_cast<int>(i);
        }
        val_max = std::max(val_max, counts[i]);
    }
    if (idx_max < 0) return "";
    char line[256];
    std::snprintf(line, sizeof(line), "     %-13s : count     distribution\n", unit.c_str());
    std::string out = line;
    for (int i = idx_min; i <= idx_max; ++i) {
        const uint64_t v = counts[static_cast<size_t>(i)];
        if (v == 0) continue;
        std::snprintf(line, sizeof(line), "        %-10" PRIu64 " : %-8" PRIu64 " |",
                      base + static_cast<uint64_t>(i) * step, v);
        out += line + stars(v, val_max, 40) + "|\n";
    }
    return out;
}

std::string format_map(const MapSnapshot& map, const MapPrintOptions& options) {
    std::optional<HistogramShape> shape = options.histogram;
    if (!shape && options.detect) shape = detect_histogram(map);
    if (shape) {
        std::string out;
        for (const auto& [key, counts] : histogram_counts(map, *shape)) {
            const std::string body = shape->kind == HistogramKind::Log2
                                         ? format_log2_histogram(counts, shape->unit)
                                         : format_linear_histogram(counts, shape->base, shape->step, shape->unit);
            if (body.empty()) continue;
            out += "\n" + map.name + (key.empty() ? "" : " [" + key + "]") + ":\n" + body;
        }
        return out;
    }

    // A table: a header from the first row's column names, then one row per entry.
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header;
    size_t shown = 0, hidden = 0;
    for (size_t i = 0; i < map.entries.size(); ++i) {
        const auto& [key, value] = map.entries[i];
        if (options.skip_zero && is_array_like(map.type) && all_zero(value)) continue;
        if (shown >= options.max_rows) {
            ++hidden;
            continue;
        }
        std::vector<std::pair<std::string, std::string>> cols = columns(map, map.key_type, key, "KEY");
        if (map.cpus > 1 && map.integer_value(i)) {
            cols.emplace_back("VALUE", std::to_string(*map.integer_value(i)));  // per-cpu counters: the sum
        } else {
            for (uint32_t c = 0; c < std::max<uint32_t>(map.cpus, 1); ++c) {
                auto vcols = columns(map, map.value_type, map.value_of(i, c), "VALUE");
                if (map.cpus > 1)
                    for (auto& col : vcols) col.first = "cpu" + std::to_string(c) + ":" + col.first;
                cols.insert(cols.end(), vcols.begin(), vcols.end());
            }
        }
        if (header.empty())
            for (const auto& col : cols) header.push_back(col.first);
        std::vector<std::string> row;
        for (const auto& col : cols) row.push_back(col.second);
        rows.push_back(std::move(row));
        ++shown;
    }
    if (rows.empty()) return "";
    std::vector<size_t> width(header.size(), 0);
    for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
    for (const auto& row : rows)
        for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
    auto emit = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (size_t c = 0; c < cells.size() && c < width.size(); ++c) {
            line += cells[c];
            if (c + 1 < cells.size()) line.append(width[c] - cells[c].size() + 2, ' ');
        }
        return line + "\n";
    };
    std::string out = "\n" + map.name + " (" + map_type_name(map.type) + ", " + std::to_string(map.entries.size()) +
                      (map.entries.size() == 1 ? " entry" : " entries") + "):\n";
    std::vector<std::string> upper;
    for (const auto& h : header) {
        std::string u = h;
        for (char& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        upper.push_back(u);
    }
    out += emit(upper);
    for (const auto& row : rows) out += emit(row);
    if (hidden) out += "... " + std::to_string(hidden) + " more\n";
    return out;
}

std::string format_map_json(const MapSnapshot& map, bool detect) {
    auto field = [&](uint32_t type, std::span<const uint8_t> bytes) {
        return map.btf && type != 0 ? format_json(*map.btf, type, bytes) : "\"" + hex_string(bytes) + "\"";
    };
    std::string line = "{\"map\":\"" + map.name + "\",\"type\":\"" + map_type_name(map.type) + "\"";
    if (auto shape = detect ? detect_histogram(map) : std::nullopt) {
        line += ",\"histogram\":{\"kind\":\"" + std::string(shape->kind == HistogramKind::Log2 ? "log2" : "linear") +
                "\",\"unit\":\"" + shape->unit + "\",\"counts\":[";
        bool first = true;
        for (const auto& [key, counts] : histogram_counts(map, *shape)) {
            line += std::string(first ? "" : ",") + "{\"key\":\"" + key + "\",\"slots\":[";
            for (size_t i = 0; i < counts.size(); ++i) line += (i ? "," : "") + std::to_string(counts[i]);
            line += "]}";
            first = false;
        }
        return line + "]}}";
    }
    line += ",\"entries\":[";
    for (size_t i = 0; i < map.entries.size(); ++i) {
        line += std::string(i ? "," : "") + "{\"key\":" + field(map.key_type, map.entries[i].first) + ",\"value\":";
        if (map.cpus > 1) {
            line += "[";
            for (uint32_t c = 0; c < map.cpus; ++c) line += (c ? "," : "") + field(map.value_type, map.value_of(i, c));
            line += "]";
        } else {
            line += field(map.value_type, map.value_of(i));
        }
        line += "}";
    }
    return line + "]}";
}

}  // namespace bpfvm::observe
