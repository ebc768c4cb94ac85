// Metrics configs in ebpf_exporter's YAML schema, read with yaml-cpp. yaml-cpp reports malformed
// YAML with exceptions; they are caught here, at the boundary, and become Errors with the file
// and line. Structure is checked by hand (node types, known keys) so that every mistake names its
// path: "metrics.histograms[0].labels[1].size: expected a positive integer".
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bpfvm/kernel.hpp"
#include "bpfvm/metrics.hpp"

#ifdef BPFVM_HAVE_YAML
#include <yaml-cpp/yaml.h>
#endif

namespace bpfvm::observe {

std::vector<std::string> MetricsConfig::maps() const {
    std::vector<std::string> out;
    for (const auto& c : counters) out.push_back(c.map);
    for (const auto& h : histograms) out.push_back(h.map);
    return out;
}

#ifdef BPFVM_HAVE_YAML
namespace {

/// Errors of one file: "file:LINE: path: message".
struct ConfigError {
    std::string file;
    Error operator()(const YAML::Node& at, const std::string& path, const std::string& message) const {
        std::string where = file;
        if (at.IsDefined() && at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
        return make_error(ErrorCode::kMalformed, where + ": " + path + ": " + message);
    }
};

Status check_keys(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> allowed,
                  const ConfigError& err) {
    if (!node.IsMap()) return err(node, path, "expected a mapping");
    for (const auto& item : node) {
        const std::string key = item.first.Scalar();
        bool ok = false;
        for (const char* a : allowed) ok = ok || key == a;
        if (!ok) {
            std::string list;
            for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            return err(item.first, path + "." + key, "unknown key (expected one of: " + list + ")");
        }
    }
    return {};
}

Result<std::string> get_string(const YAML::Node& node, const std::string& path, const ConfigError& err) {
    if (!node.IsScalar()) return err(node, path, "expected a string");
    return node.Scalar();
}

Result<double> get_number(const YAML::Node& node, const std::string& path, const ConfigError& err) {
    double v = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, v)) return err(node, path, "expected a number");
    return v;
}

Result<int64_t> get_integer(const YAML::Node& node, const std::string& path, const ConfigError& err) {
    int64_t v = 0;
    if (!node.IsScalar() || !YAML::convert<int64_t>::decode(node, v)) return err(node, path, "expected an integer");
    return v;
}

Result<bool> get_bool(const YAML::Node& node, const std::string& path, const ConfigError& err) {
    bool v = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) return err(node, path, "expected true or false");
    return v;
}

const char* const kDecoders[] = {"uint", "string", "hex", "syscall", "errno", "inet_ip", "static_map",
                                 "regexp", "ksym", "ifname", "dname"};

Result<DecoderSpec> parse_decoder(const YAML::Node& node, const std::string& path, const ConfigError& err) {
    BPFVM_TRY(check_keys(node, path, {"name", "static_map", "allow_unknown", "regexps"}, err));
    DecoderSpec d;
    if (!node["name"]) return err(node, path, "missing \"name\"");
    auto name = get_string(node["name"], path + ".name", err);
    if (!name) return name.error();
    d.name = *name;
    bool known = false;
    for (const char* k : kDecoders) known = known || d.name == k;
    if (!known) {
        std::string list;
        for (const char* k : kDecoders) list += (list.empty() ? "" : ", ") + std::string(k);
        return err(node["name"], path + ".name",
                   "decoder '" + d.name + "' is not supported by bpfvm (supported: " + list + ")");
    }
    if (const YAML::Node m = node["static_map"]) {
        if (!m.IsMap()) return err(m, path + ".static_map", "expected a mapping of input to label value");
        for (const auto& item : m) d.static_map[item.first.Scalar()] = item.second.Scalar();
    }
    if (const YAML::Node a = node["allow_unknown"]) {
        auto v = get_bool(a, path + ".allow_unknown", err);
        if (!v) return v.error();
        d.allow_unknown = *v;
    }
    if (const YAML::Node r = node["regexps"]) {
        if (!r.IsSequence()) return err(r, path + ".regexps", "expected a list of patterns");
        for (size_t i = 0; i < r.size(); ++i) {
            auto s = get_string(r[i], path + ".regexps[" + std::to_string(i) + "]", err);
            if (!s) return s.error();
            d.regexps.push_back(*s);
        }
    }
    if (d.name == "static_map" && d.static_map.empty())
        return err(node, path, "static_map decoder without a static_map");
    if (d.name == "regexp" && d.regexps.empty()) return err(node, path, "regexp decoder without regexps");
    return d;
}

Result<std::vector<LabelSpec>> parse_labels(const YAML::Node& node, const std::string& path, const ConfigError& err) {
    std::vector<LabelSpec> labels;
    if (!node) return labels;
    if (!node.IsSequence()) return err(node, path, "expected a list of labels");
    for (size_t i = 0; i < node.size(); ++i) {
        const std::string lpath = path + "[" + std::to_string(i) + "]";
        const YAML::Node l = node[i];
        BPFVM_TRY(check_keys(l, lpath, {"name", "size", "padding", "decoders"}, err));
        LabelSpec label;
        if (!l["name"]) return err(l, lpath, "missing \"name\"");
        auto name = get_string(l["name"], lpath + ".name", err);
        if (!name) return name.error();
        label.name = *name;
        if (!l["size"]) return err(l, lpath, "missing \"size\" (bytes of the key, padding included)");
        auto size = get_integer(l["size"], lpath + ".size", err);
        if (!size || *size <= 0 || *size > 4096) return err(l["size"], lpath + ".size", "expected a positive integer");
        label.size = static_cast<uint32_t>(*size);
        if (l["padding"]) {
            auto pad = get_integer(l["padding"], lpath + ".padding", err);
            if (!pad || *pad < 0 || *pad > 4096)
                return err(l["padding"], lpath + ".padding", "expected an integer >= 0");
            label.padding = static_cast<uint32_t>(*pad);
        }
        const YAML::Node decoders = l["decoders"];
        if (!decoders || !decoders.IsSequence() || decoders.size() == 0)
            return err(l, lpath + ".decoders", "expected a non-empty list of decoders");
        for (size_t j = 0; j < decoders.size(); ++j) {
            auto d = parse_decoder(decoders[j], lpath + ".decoders[" + std::to_string(j) + "]", err);
            if (!d) return d.error();
            label.decoders.push_back(std::move(*d));
        }
        labels.push_back(std::move(label));
    }
    return labels;
}

/// name, help, table: shared by counters and histograms.
Status parse_common(const YAML::Node& node, const std::string& path, const ConfigError& err, std::string& name,
                    std::string& help, std::string& map) {
    if (!node["name"]) return err(node, path, "missing \"name\"");
    auto n = get_string(node["name"], path + ".name", err);
    if (!n) return n.error();
    name = *n;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'))
            return err(node["name"], path + ".name", "'" + name + "' is not a valid Prometheus metric name");
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
        return err(node["name"], path + ".name", "'" + name + "' is not a valid Prometheus metric name");
    if (node["help"]) {
        auto h = get_string(node["help"], path + ".help", err);
        if (!h) return h.error();
        help = *h;
    }
    map = name;
    if (node["table"]) {
        auto t = get_string(node["table"], path + ".table", err);
        if (!t) return t.error();
        map = *t;
    }
    return {};
}

Result<MetricsConfig> parse_root(const YAML::Node& root, const std::string& file) {
    const ConfigError err{file};
    MetricsConfig config;
    config.name = std::filesystem::path(file).stem().string();
    if (!root.IsMap()) return err(root, "(top level)", "expected a mapping with \"metrics\"");
    // kaddrs, tracing and cgroup_id_map belong to ebpf_exporter features bpfvm does not have;
    // accepted so that existing configs load, and not read.
    BPFVM_TRY(check_keys(root, "(top level)", {"metrics", "kaddrs", "tracing", "cgroup_id_map"}, err));
    const YAML::Node metrics = root["metrics"];
    if (!metrics) return err(root, "(top level)", "missing \"metrics\"");
    BPFVM_TRY(check_keys(metrics, "metrics", {"counters", "histograms"}, err));
    if (const YAML::Node counters = metrics["counters"]) {
        if (!counters.IsSequence()) return err(counters, "metrics.counters", "expected a list");
        for (size_t i = 0; i < counters.size(); ++i) {
            const std::string path = "metrics.counters[" + std::to_string(i) + "]";
            const YAML::Node c = counters[i];
            BPFVM_TRY(
                check_keys(c, path, {"name", "help", "table", "labels", "perf_event_array", "flush_interval"}, err));
            CounterSpec counter;
            BPFVM_TRY(parse_common(c, path, err, counter.name, counter.help, counter.map));
            if (c["perf_event_array"]) {
                auto pea = get_bool(c["perf_event_array"], path + ".perf_event_array", err);
                if (!pea) return pea.error();
                if (*pea) return err(c["perf_event_array"], path + ".perf_event_array",
                                     "counters fed by a perf event array are not supported by bpfvm");
            }
            auto labels = parse_labels(c["labels"], path + ".labels", err);
            if (!labels) return labels.error();
            counter.labels = std::move(*labels);
            config.counters.push_back(std::move(counter));
        }
    }
    if (const YAML::Node histograms = metrics["histograms"]) {
        if (!histograms.IsSequence()) return err(histograms, "metrics.histograms", "expected a list");
        for (size_t i = 0; i < histograms.size(); ++i) {
            const std::string path = "metrics.histograms[" + std::to_string(i) + "]";
            const YAML::Node h = histograms[i];
            BPFVM_TRY(check_keys(h, path, {"name", "help", "table", "labels", "bucket_type", "bucket_multiplier",
                                           "bucket_min", "bucket_max", "bucket_keys"}, err));
            HistogramSpec hist;
            BPFVM_TRY(parse_common(h, path, err, hist.name, hist.help, hist.map));
            if (!h["bucket_type"]) return err(h, path, "missing \"bucket_type\"");
            auto type = get_string(h["bucket_type"], path + ".bucket_type", err);
            if (!type) return type.error();
            if (*type == "exp2") hist.bucket_type = BucketType::Exp2;
            else if (*type == "exp2zero") hist.bucket_type = BucketType::Exp2Zero;
            else if (*type == "linear") hist.bucket_type = BucketType::Linear;
            else if (*type == "fixed") hist.bucket_type = BucketType::Fixed;
            else
                return err(h["bucket_type"], path + ".bucket_type",
                           "expected exp2, exp2zero, linear or fixed, not '" + *type + "'");
            if (h["bucket_multiplier"]) {
                auto m = get_number(h["bucket_multiplier"], path + ".bucket_multiplier", err);
                if (!m) return m.error();
                hist.bucket_multiplier = *m;
            }
            if (hist.bucket_type == BucketType::Fixed) {
                const YAML::Node keys = h["bucket_keys"];
                if (!keys || !keys.IsSequence() || keys.size() == 0)
                    return err(h, path + ".bucket_keys", "fixed histograms need a non-empty list of bucket_keys");
                for (size_t k = 0; k < keys.size(); ++k) {
                    auto v = get_number(keys[k], path + ".bucket_keys[" + std::to_string(k) + "]", err);
                    if (!v) return v.error();
                    if (!hist.bucket_keys.empty() && *v <= hist.bucket_keys.back())
                        return err(keys[k], path + ".bucket_keys", "keys must increase");
                    hist.bucket_keys.push_back(*v);
                }
            } else {
                for (const char* key : {"bucket_min", "bucket_max"}) {
                    if (!h[key]) return err(h, path, std::string("missing \"") + key + "\"");
                    auto v = get_integer(h[key], path + "." + key, err);
                    if (!v || *v < 0 || *v > 1'000'000)
                        return err(h[key], path + "." + key, "expected an integer from 0 to 1000000");
                    (std::string(key) == "bucket_min" ? hist.bucket_min : hist.bucket_max) = *v;
                }
                if (hist.bucket_max < hist.bucket_min)
                    return err(h["bucket_max"], path + ".bucket_max", "is below bucket_min");
                if ((hist.bucket_type == BucketType::Exp2 || hist.bucket_type == BucketType::Exp2Zero) &&
                    hist.bucket_max > 1023)
                    return err(h["bucket_max"], path + ".bucket_max", "exp2 buckets stop at 1023");
            }
            auto labels = parse_labels(h["labels"], path + ".labels", err);
            if (!labels) return labels.error();
            if (labels->empty())
                return err(h, path + ".labels", "a histogram needs at least the bucket label (the last one)");
            hist.labels = std::move(*labels);
            config.histograms.push_back(std::move(hist));
        }
    }
    if (config.counters.empty() && config.histograms.empty())
        return err(metrics, "metrics", "no counters and no histograms");
    return config;
}

}  // namespace

Result<MetricsConfig> parse_metrics_config(std::string_view text, const std::string& file) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return make_error(ErrorCode::kMalformed,
                          file + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
    }
    try {
        return parse_root(root, file);
    } catch (const YAML::Exception& e) {  // a shape yaml-cpp refuses to walk (aliases gone wrong, ...)
        return make_error(ErrorCode::kMalformed, file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

#else

Result<MetricsConfig> parse_metrics_config(std::string_view, const std::string& file) {
    return make_error(ErrorCode::kUnsupported,
                      file + ": bpfvm was built without yaml-cpp (apt-get install libyaml-cpp-dev, then rebuild)");
}

#endif

Result<MetricsConfig> load_metrics_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open the metrics config");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_metrics_config(text.str(), path);
}

Status check_metrics_config(const MetricsConfig& config, const ObjectFile& object) {
    auto check = [&](const std::string& metric, const std::string& map,
                     const std::vector<LabelSpec>& labels) -> Status {
        const MapSpec* spec = object.find_map(map);
        if (spec == nullptr)
            return make_error(ErrorCode::kNotFound,
                              "metric '" + metric + "': " + object.path + " has no map '" + map + "'");
        if (!kernel::map_contents_readable(*spec) || (spec->kind != MapKind::BtfMap && spec->kind != MapKind::Legacy))
            return make_error(ErrorCode::kInvalidArgument, "metric '" + metric + "': map '" + map + "' (" +
                                                               map_type_name(spec->type) +
                                                               ") cannot be read as a metric");
        uint64_t total = 0;
        for (const auto& l : labels) total += uint64_t{l.size} + l.padding;
        if (total != spec->key_size)
            return make_error(ErrorCode::kInvalidArgument, "metric '" + metric + "': labels cover " +
                                                               std::to_string(total) + " bytes but the keys of map '" +
                                                               map + "' have " + std::to_string(spec->key_size));
        if (spec->value_size != 8)
            return make_error(ErrorCode::kInvalidArgument, "metric '" + metric + "': map '" + map + "' has " +
                                                               std::to_string(spec->value_size) +
                                                               "-byte values; metrics read u64 values");
        return {};
    };
    for (const auto& c : config.counters) BPFVM_TRY(check(c.name, c.map, c.labels));
    for (const auto& h : config.histograms) BPFVM_TRY(check(h.name, h.map, h.labels));
    return {};
}

}  // namespace bpfvm::observe
