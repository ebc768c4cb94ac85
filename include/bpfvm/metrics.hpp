// Prometheus metrics from BPF maps, configured the way Cloudflare's ebpf_exporter is (so its users
// can bring their configs): counters and histograms named after the maps that hold them, labels
// cut from the map key by size and turned into text by decoders (uint, string, hex, syscall, errno,
// inet_ip, static_map, regexp, ksym, ifname, dname), histogram buckets of type exp2, exp2zero,
// linear or fixed. The output is the text exposition format 0.0.4; MetricsServer serves it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/object.hpp"
#include "bpfvm/observe.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::observe {

/// One decoder of a label: `name` plus the settings some decoders take.
struct DecoderSpec {
    std::string name{};
    std::map<std::string, std::string> static_map{};  // static_map
    bool allow_unknown = false;                     // static_map: keep unknown inputs as they are
    std::vector<std::string> regexps{};               // regexp: keep the label set if one matches
};

/// A label: `size` bytes of the key (plus `padding` skipped after them), turned into text by the
/// decoders in order.
struct LabelSpec {
    std::string name{};
    uint32_t size = 0;
    uint32_t padding = 0;
    std::vector<DecoderSpec> decoders{};
};

/// A counter: the u64 values (summed over cpus) of map `map`, one series per key.
struct CounterSpec {
    std::string name{};  // metric name without the namespace prefix
    std::string help{};
    std::string map{};   // the map: `table` when given (ebpf_exporter v1), else the metric name
    std::vector<LabelSpec> labels{};
};

/// How histogram keys map to bucket bounds.
enum class BucketType { Exp2, Exp2Zero, Linear, Fixed };

/// A histogram: map keys end with the bucket (the last label); values are u64 counts.
struct HistogramSpec {
    std::string name{};
    std::string help{};
    std::string map{};
    BucketType bucket_type = BucketType::Exp2;
    double bucket_multiplier = 1;
    int64_t bucket_min = 0;
    int64_t bucket_max = 0;
    std::vector<double> bucket_keys{};  // fixed
    std::vector<LabelSpec> labels{};    // the last one is the bucket
};

/// A metrics YAML file.
struct MetricsConfig {
    std::string name{};  // the file's base name without extension (the `config` label)
    std::vector<CounterSpec> counters{};
    std::vector<HistogramSpec> histograms{};

    /// Names of every map the config reads.
    std::vector<std::string> maps() const;
};

/// Parses a metrics config (YAML text); `file` names it in errors, which carry the YAML line and
/// the path of the offending key, e.g. "m.yaml:7: metrics.histograms[0].bucket_type: expected
/// exp2, exp2zero, linear or fixed". kUnsupported when bpfvm was built without yaml-cpp.
Result<MetricsConfig> parse_metrics_config(std::string_view text, const std::string& file);
/// Reads and parses a metrics config file.
Result<MetricsConfig> load_metrics_config(const std::string& path);
/// Checks `config` against `object`: every map exists, is readable, and its key size is the sum
/// of the label sizes. Errors name the metric and the map.
Status check_metrics_config(const MetricsConfig& config, const ObjectFile& object);

/// The label values of `key` (nullopt: a regexp decoder dropped this label set). Errors: sizes
/// that do not add up, decoders that cannot read their input.
Result<std::optional<std::vector<std::string>>> decode_labels(std::span<const uint8_t> key,
                                                              const std::vector<LabelSpec>& labels);

/// One loaded program, for the built-in metrics.
struct ProgramStats {
    std::string name{};
    uint32_t id = 0;
    std::string tag{};
    uint64_t run_count = 0;
    uint64_t run_time_ns = 0;
};

/// What one scrape renders.
struct ExpositionInput {
    const MetricsConfig* config = nullptr;
    std::map<std::string, MapSnapshot> maps{};  // by map name: every map the config reads
    std::vector<ProgramStats> programs{};
    std::string prefix = "ebpf_exporter_";    // prepended to every metric name
};

/// The metrics in the Prometheus text exposition format 0.0.4: each configured counter and
/// histogram (`_bucket` series with cumulative counts and `le`, `+Inf`, `_sum` from the key after
/// bucket_max when present, `_count`), then the built-in program metrics (info, run count, run
/// time). Series are sorted by labels. Errors name the metric whose map could not be decoded.
Result<std::string> render_metrics(const ExpositionInput& input);

/// A number the way Prometheus writes floats (Go's strconv 'g', shortest): 1e-06, 0.000128, 1.6e-05.
std::string prometheus_float(double value);

/// An HTTP server with GET /metrics. Renders on every scrape, in the server's threads.
class MetricsServer {
public:
    using Render = std::function<Result<std::string>()>;

    /// Listens on `listen` ("HOST:PORT"; port 0 picks a free one). Errors: bad address syntax
    /// (kInvalidArgument), a port in use or not permitted (kIo with the reason), no HTTP library
    /// built in (kUnsupported).
    static Result<std::unique_ptr<MetricsServer>> start(const std::string& listen, Render render);

    /// The port actually bound.
    uint16_t port() const;
    /// Stops serving and joins the server thread (also done by the destructor).
    void stop();
    ~MetricsServer();

    struct Impl;

private:
    explicit MetricsServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_{};
};

/// The syscall name of number `nr` on this architecture ("openat"), or "" when unknown.
std::string syscall_name(uint64_t nr);

}  // namespace bpfvm::observe
