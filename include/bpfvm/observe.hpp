// Turning raw map contents and event records into what people read: values decoded through BTF
// (field names, strings as strings, enums by name), hash maps as tables, and histogram maps the
// way the BCC tools print them. Pure formatting: no system calls, usable on kernel maps, pinned
// maps and bpfvm's own maps alike.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bpfvm/object.hpp"

namespace bpfvm::observe {

/// Lower-case hex of `bytes`, no separators.
std::string hex_string(std::span<const uint8_t> bytes);

/// Text of the value of BTF type `type_id` held in `bytes`: integers in decimal (pointers in hex),
/// char arrays as strings (up to the first NUL), byte arrays (u8) as hex, enums by name, structs as
/// `{a=1 b="x"}`, arrays as `[1,2]`. Bytes beyond the type are ignored; missing bytes show as "?".
std::string format_value(const Btf& btf, uint32_t type_id, std::span<const uint8_t> bytes);
/// The same value as JSON text (strings quoted and escaped, integers as numbers).
std::string format_json(const Btf& btf, uint32_t type_id, std::span<const uint8_t> bytes);
/// The top-level fields of a struct value as (name, text); any other type gives one ("", text).
std::vector<std::pair<std::string, std::string>> format_fields(const Btf& btf, uint32_t type_id,
                                                                std::span<const uint8_t> bytes);
/// The integer in field `name` of a struct value (after typedefs), if there is one.
std::optional<int64_t> integer_field(const Btf& btf, uint32_t type_id, std::span<const uint8_t> bytes,
                                     std::string_view name);
/// The BTF type to decode records of ring buffer / perf event array `map` with: the map's declared
/// value type when it has one, else the single struct of exactly `record_size` bytes, else of up to
/// 7 bytes less (perf records are padded to 8 bytes), preferring names ending in "event"; 0 when
/// nothing fits or several do.
uint32_t guess_record_type(const Btf& btf, const MapSpec& map, size_t record_size);
/// The struct called `name` ("event" or "struct event"); 0 when absent.
uint32_t find_struct(const Btf& btf, std::string_view name);

/// A map's contents, from wherever they were read.
struct MapSnapshot {
    std::string name{};
    MapType type = MapType::Unspec;
    uint32_t key_size = 0;
    uint32_t value_size = 0;  // one cpu's value (per-cpu entries hold `cpus` of them, 8-byte aligned)
    uint32_t cpus = 1;        // > 1 for per-cpu maps
    std::shared_ptr<const Btf> btf{};  // may be null
    uint32_t key_type = 0, value_type = 0;  // BTF ids, 0 when unknown
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries{};

    /// The value of entry `i` for one cpu (cpu 0 for ordinary maps).
    std::span<const uint8_t> value_of(size_t i, uint32_t cpu = 0) const;
    /// Entry `i`'s value as an unsigned integer summed over cpus (values of 1, 2, 4 or 8 bytes).
    std::optional<uint64_t> integer_value(size_t i) const;
    /// Entry `i`'s key as an unsigned integer (keys of 1, 2, 4 or 8 bytes).
    std::optional<uint64_t> integer_key(size_t i) const;
};

/// How a histogram map is laid out.
enum class HistogramKind { Log2, Linear };

/// A map to print as a histogram.
struct HistogramShape {
    HistogramKind kind = HistogramKind::Log2;
    std::string unit = "value";  // the first column's title ("usecs", "nsecs", ...)
    uint64_t base = 0, step = 1;   // linear: slot i covers [base + i*step, base + (i+1)*step)
    /// Empty: the key is the slot index and the value a counter. Otherwise the value is a struct
    /// whose integer array member of this name holds the slots (one histogram per key, as
    /// libbpf-tools' `struct hist { __u32 slots[N]; }`).
    std::string slots_member{};
};

/// Whether `map` is a histogram, by the conventions the BCC tools use: a value struct with a
/// `slots` array, or a name containing "hist" (linear when it also contains "lin", log2 otherwise)
/// with integer keys and values. The unit comes from the name ("usecs", "nsecs", "msecs", "bytes",
/// "kbytes"; default "value").
std::optional<HistogramShape> detect_histogram(const MapSnapshot& map);

/// One histogram as BCC's print_log2_hist prints it (`     usecs               : count    distribution`
/// then `         0 -> 1          : 4        |****    |`); "" when every count is zero.
std::string format_log2_histogram(std::span<const uint64_t> counts, const std::string& unit);
/// One histogram as BCC's print_linear_hist prints it (only non-empty slots).
std::string format_linear_histogram(std::span<const uint64_t> counts, uint64_t base, uint64_t step,
                                    const std::string& unit);

/// Options for format_map.
struct MapPrintOptions {
    size_t max_rows = 100;                  // table rows shown (the rest is counted)
    std::optional<HistogramShape> histogram{};  // force (or, with detection off, set) the shape
    bool detect = true;                     // detect histograms (detect_histogram)
    bool skip_zero = true;                  // hide array entries whose value is all zeros
};

/// A map for people: a titled histogram or a key/value table (columns from the BTF members).
/// Returns "" for a map with nothing to show (empty, or all-zero array).
std::string format_map(const MapSnapshot& map, const MapPrintOptions& options = {});

/// A map as one JSON line: {"map":..,"type":..,"entries":[{"key":..,"value":..}]} with keys and
/// values decoded through BTF (hex strings without it; per-cpu values as arrays), or, for a
/// histogram (with `detect` on), {"map":..,"type":..,"histogram":{"kind","unit","counts":[..]}}.
std::string format_map_json(const MapSnapshot& map, bool detect = true);

/// The slot counts of a histogram map (summed over cpus), keyed by the key's text when the values
/// hold slot arrays ("" for slot-indexed maps).
std::vector<std::pair<std::string, std::vector<uint64_t>>> histogram_counts(const MapSnapshot& map,
                                                                            const HistogramShape& shape);

}  // namespace bpfvm::observe
