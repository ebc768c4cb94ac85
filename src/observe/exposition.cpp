// The Prometheus text exposition format (0.0.4) for configured counters and histograms and the
// built-in program metrics. Histograms follow ebpf_exporter: the map counts per bucket key; the
// exposition is cumulative over keys bucket_min..bucket_max (or the fixed keys), with `le` the
// bucket's upper bound times bucket_multiplier, `+Inf` and `_count` the total, and `_sum` the value
// stored under the key after the last bucket (times the multiplier), 0 when the map has none.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

#include "bpfvm/metrics.hpp"

namespace bpfvm::observe {
namespace {

std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra = "") {
    std::string out;
    for (size_t i = 0; i < names.size() && i < values.size(); ++i)
        out += (out.empty() ? "" : ",") + names[i] + "=\"" + escape_label(values[i]) + "\"";
    if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
    return out.empty() ? "" : "{" + out + "}";
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
    if (!help.empty()) out += "# HELP " + name + " " + escape_help(help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
}

/// The map a metric reads, or an error naming the metric.
Result<const MapSnapshot*> snapshot_for(const ExpositionInput& input, const std::string& metric,
                                        const std::string& map) {
    auto it = input.maps.find(map);
    if (it == input.maps.end())
        return make_error(ErrorCode::kNotFound, "metric '" + metric + "': map '" + map + "' was not read");
    return &it->second;
}

Status render_counter(const ExpositionInput& input, const CounterSpec& c, std::string& out) {
    auto map = snapshot_for(input, c.name, c.map);
    if (!map) return map.error();
    std::map<std::vector<std::string>, uint64_t> series;  // equal label sets (after decoding) add up
    for (size_t i = 0; i < (*map)->entries.size(); ++i) {
        auto labels = decode_labels((*map)->entries[i].first, c.labels);
        if (!labels) {
            labels.error().message = "metric '" + c.name + "': " + labels.error().message;
            return labels.error();
        }
        if (!labels->has_value()) continue;
        series[**labels] += (*map)->integer_value(i).value_or(0);
    }
    const std::string name = input.prefix + c.name;
    header(out, name, c.help, "counter");
    std::vector<std::string> names;
    for (const auto& l : c.labels) names.push_back(l.name);
    for (const auto& [labels, value] : series)
        out += name + label_set(names, labels) + " " + std::to_string(value) + "\n";
    return {};
}

/// Upper bound of bucket key `key` before the multiplier.
double bucket_bound(BucketType type, int64_t key) {
    switch (type) {
        case BucketType::Exp2: return std::ldexp(1.0, static_cast<int>(key));
        case BucketType::Exp2Zero: return key == 0 ? 0.0 : std::ldexp(1.0, static_cast<int>(key - 1));
        case BucketType::Linear:
        case BucketType::Fixed: return static_cast<double>(key);
    }
    return 0;
}

Status render_histogram(const ExpositionInput& input, const HistogramSpec& h, std::string& out) {
    auto map = snapshot_for(input, h.name, h.map);
    if (!map) return map.error();
    // label values (all but the bucket) -> bucket key -> count
    std::map<std::vector<std::string>, std::map<int64_t, uint64_t>> series;
    for (size_t i = 0; i < (*map)->entries.size(); ++i) {
        auto labels = decode_labels((*map)->entries[i].first, h.labels);
        if (!labels) {
            labels.error().message = "metric '" + h.name + "': " + labels.error().message;
            return labels.error();
        }
        if (!labels->has_value()) continue;
        std::vector<std::string> values = std::move(**labels);
        const std::string bucket = values.back();
        values.pop_back();
        int64_t key = 0;
        auto r = std::from_chars(bucket.data(), bucket.data() + bucket.size(), key);
        if (bucket.empty() || r.ec != std::errc() || r.ptr != bucket.data() + bucket.size())
            return make_error(ErrorCode::kInvalidArgument, "metric '" + h.name + "': bucket label '" +
                                                               h.labels.back().name + "' decodes to \"" + bucket +
                                                               "\", not an integer (use a uint decoder)");
        series[values][key] += (*map)->integer_value(i).value_or(0);
    }
    std::vector<int64_t> keys;
    if (h.bucket_type == BucketType::Fixed) {
        for (double k : h.bucket_keys) keys.push_back(static_cast<int64_t>(k));
    } else {
        for (int64_t k = h.bucket_min; k <= h.bucket_max; ++k) keys.push_back(k);
    }
    const int64_t sum_key = keys.back() + 1;
    const std::string name = input.prefix + h.name;
    header(out, name, h.help, "histogram");
    std::vector<std::string> names;
    for (size_t i = 0; i + 1 < h.labels.size(); ++i) names.push_back(h.labels[i].name);
    for (const auto& [labels, buckets] : series) {
        uint64_t count = 0;
        for (int64_t k : keys) {
            auto it = buckets.find(k);
            if (it != buckets.end()) count += it->second;
            const double le = bucket_bound(h.bucket_type, k) * h.bucket_multiplier;
            out += name + "_bucket" + label_set(names, labels, "le=\"" + prometheus_float(le) + "\"") + " " +
                   std::to_string(count) + "\n";
        }
        out += name + "_bucket" + label_set(names, labels, "le=\"+Inf\"") + " " + std::to_string(count) + "\n";
        auto sum = buckets.find(sum_key);
        const double total = sum == buckets.end() ? 0.0 : static_cast<double>(sum->second) * h.bucket_multiplier;
        out += name + "_sum" + label_set(names, labels) + " " + prometheus_float(total) + "\n";
        out += name + "_count" + label_set(names, labels) + " " + std::to_string(count) + "\n";
    }
    return {};
}

}  // namespace

std::string prometheus_float(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (value == 0) return "0";
    // The shortest round-trip digits, then the choice of Go's strconv.FormatFloat(v, 'g', -1), which
    // Prometheus uses: exponent form when the decimal exponent is below -4 or at least 6.
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
    std::string sci(buf, r.ptr);  // "1.6e-05", "1e+06", "-1.25e+02"
    const size_t e = sci.find('e');
    std::string mantissa = sci.substr(0, e);
    int exponent = 0;
    const char* ex_begin = sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0);
    std::from_chars(ex_begin, sci.data() + sci.size(), exponent);
    const bool negative = mantissa[0] == '-';
    if (negative) mantissa.erase(0, 1);
    std::string digits;
    for (char c : mantissa)
        if (c != '.') digits += c;
    std::string out;
    if (exponent < -4 || exponent >= 6) {
        out = mantissa + "e" + (exponent < 0 ? "-" : "+");
        const std::string ex = std::to_string(std::abs(exponent));
        out += (ex.size() < 2 ? "0" : "") + ex;
    } else if (exponent < 0) {
        out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
        out = digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0');
    } else {
        out = digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
              digits.substr(static_cast<size_t>(exponent) + 1);
    }
    return negative ? "-" + out : out;
}

Result<std::string> render_metrics(const ExpositionInput& input) {
    std::string out;
    if (input.config != nullptr) {
        for (const auto& c : input.config->counters) BPFVM_TRY(render_counter(input, c, out));
        for (const auto& h : input.config->histograms) BPFVM_TRY(render_histogram(input, h, out));
    }
    const std::string config = input.config != nullptr ? input.config->name : "";
    const std::string p = input.prefix;
    if (input.config != nullptr) {
        header(out, p + "enabled_configs", "The set of enabled configs", "gauge");
        out += p + "enabled_configs{name=\"" + escape_label(config) + "\"} 1\n";
    }
    if (input.programs.empty()) return out;
    std::vector<ProgramStats> programs = input.programs;
    std::sort(programs.begin(), programs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    header(out, p + "ebpf_program_info", "Info about ebpf programs", "gauge");
    for (const auto& prog : programs)
        out += p + "ebpf_program_info{config=\"" + escape_label(config) + "\",id=\"" + std::to_string(prog.id) +
               "\",program=\"" + escape_label(prog.name) + "\",tag=\"" + prog.tag + "\"} 1\n";
    header(out, p + "ebpf_program_run_count_total", "How many times has the program been executed", "counter");
    for (const auto& prog : programs)
        out += p + "ebpf_program_run_count_total{id=\"" + std::to_string(prog.id) + "\",program=\"" +
               escape_label(prog.name) + "\"} " + std::to_string(prog.run_count) + "\n";
    header(out, p + "ebpf_program_run_time_seconds", "How long has the program been executing", "counter");
    for (const auto& prog : programs)
        out += p + "ebpf_program_run_time_seconds{id=\"" + std::to_string(prog.id) + "\",program=\"" +
               escape_label(prog.name) + "\"} " + prometheus_float(static_cast<double>(prog.run_time_ns) / 1e9) + "\n";
    return out;
}

}  // namespace bpfvm::observe
