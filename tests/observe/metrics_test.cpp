// Metrics configs in ebpf_exporter's schema (accepted and refused, with exact messages), label
// decoders, and the Prometheus text exposition of counters and histograms, without the kernel.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "bpfvm/metrics.hpp"

namespace bpfvm::observe {
namespace {

const char* kConfig = R"(
metrics:
  counters:
    - name: errors_total
      help: Errors by errno
      labels:
        - name: errno
          size: 8
          decoders:
            - name: uint
            - name: errno
  histograms:
    - name: latency_seconds
      help: Latency
      table: lat_hist
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 3
      bucket_multiplier: 0.001
      labels:
        - name: bucket
          size: 4
          decoders:
            - name: uint
)";

TEST(MetricsConfig, ParsesCountersAndHistograms) {
    auto c = parse_metrics_config(kConfig, "/etc/bpfvm/errors.yaml");
    ASSERT_TRUE(c.has_value()) << c.error().to_string();
    EXPECT_EQ(c->name, "errors");
    ASSERT_EQ(c->counters.size(), 1u);
    EXPECT_EQ(c->counters[0].map, "errors_total");
    ASSERT_EQ(c->counters[0].labels.size(), 1u);
    EXPECT_EQ(c->counters[0].labels[0].decoders.size(), 2u);
    ASSERT_EQ(c->histograms.size(), 1u);
    EXPECT_EQ(c->histograms[0].map, "lat_hist");
    EXPECT_EQ(c->histograms[0].bucket_type, BucketType::Exp2);
    EXPECT_DOUBLE_EQ(c->histograms[0].bucket_multiplier, 0.001);
    EXPECT_EQ(c->maps(), (std::vector<std::string>{"errors_total", "lat_hist"}));
}

std::string config_error(const std::string& text) {
    auto c = parse_metrics_config(text, "m.yaml");
    return c ? "(accepted)" : c.error().message;
}

TEST(MetricsConfig, RefusesMistakesNamingLineAndPath) {
    EXPECT_EQ(config_error("metrics:\n  counters:\n    - name: a\n      helps: x\n"),
              "m.yaml:4: metrics.counters[0].helps: unknown key (expected one of: name, help, table, labels, "
              "perf_event_array, flush_interval)");
    EXPECT_EQ(config_error("metrics:\n  histograms:\n    - name: h\n      bucket_type: log\n      bucket_min: 0\n"
                           "      bucket_max: 2\n      labels: [{name: b, size: 4, decoders: [{name: uint}]}]\n"),
              "m.yaml:4: metrics.histograms[0].bucket_type: expected exp2, exp2zero, linear or fixed, not 'log'");
    EXPECT_EQ(config_error("metrics:\n  counters:\n    - name: a\n      labels:\n        - name: l\n          "
                           "decoders: [{name: uint}]\n"),
              "m.yaml:5: metrics.counters[0].labels[0]: missing \"size\" (bytes of the key, padding included)");
    EXPECT_EQ(
        config_error("metrics:\n  counters:\n    - name: a\n      labels:\n        - name: l\n          size: 4\n"
                     "          decoders: [{name: pci_vendor}]\n"),
        "m.yaml:7: metrics.counters[0].labels[0].decoders[0].name: decoder 'pci_vendor' is not supported by bpfvm "
        "(supported: uint, string, hex, syscall, errno, inet_ip, static_map, regexp, ksym, ifname, dname)");
    EXPECT_EQ(config_error("metrics: [1, 2\n"), "m.yaml:2: malformed YAML: end of sequence flow not found");
    EXPECT_EQ(config_error("metrics:\n  counters: []\n"), "m.yaml:2: metrics: no counters and no histograms");
    EXPECT_EQ(config_error("metrics:\n  counters:\n    - name: 9lives\n"),
              "m.yaml:3: metrics.counters[0].name: '9lives' is not a valid Prometheus metric name");
}

std::vector<uint8_t> le(uint64_t v, size_t n) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
    return out;
}

LabelSpec label(const char* name, uint32_t size, std::vector<DecoderSpec> decoders) {
    return LabelSpec{name, size, 0, std::move(decoders)};
}

std::string decode_one(std::vector<uint8_t> key, LabelSpec l) {
    auto r = decode_labels(key, {l});
    if (!r) return "error: " + r.error().message;
    if (!r->has_value()) return "(dropped)";
    return (**r)[0];
}

TEST(Decoders, TurnKeyBytesIntoLabelValues) {
    EXPECT_EQ(decode_one(le(2, 8), label("e", 8, {{"uint"}, {"errno"}})), "ENOENT");
    EXPECT_EQ(decode_one(le(9999, 8), label("e", 8, {{"uint"}, {"errno"}})), "unknown:9999");
#if defined(__x86_64__)
    EXPECT_EQ(decode_one(le(257, 8), label("s", 8, {{"uint"}, {"syscall"}})), "openat");
#endif
    EXPECT_EQ(decode_one({127, 0, 0, 1}, label("ip", 4, {{"inet_ip"}})), "127.0.0.1");
    EXPECT_EQ(decode_one({'c', 'a', 't', 0, 'x'}, label("c", 5, {{"string"}})), "cat");
    EXPECT_EQ(decode_one({0xde, 0xad}, label("h", 2, {{"hex"}})), "dead");
    DecoderSpec ops{"static_map", {{"1", "read"}, {"2", "write"}}, false, {}};
    EXPECT_EQ(decode_one(le(2, 4), label("op", 4, {{"uint"}, ops})), "write");
    EXPECT_EQ(decode_one(le(3, 4), label("op", 4, {{"uint"}, ops})), "unknown:3");
    ops.allow_unknown = true;
    EXPECT_EQ(decode_one(le(3, 4), label("op", 4, {{"uint"}, ops})), "3");
    DecoderSpec only_cat{"regexp", {}, false, {"^cat$"}};
    EXPECT_EQ(decode_one({'c', 'a', 't', 0}, label("c", 4, {{"string"}, only_cat})), "cat");
    EXPECT_EQ(decode_one({'l', 's', 0, 0}, label("c", 4, {{"string"}, only_cat})), "(dropped)");
    EXPECT_EQ(decode_one({3, 'w', 'w', 'w', 2, 'i', 'o', 0}, label("q", 8, {{"dname"}})), "www.io");
    EXPECT_EQ(decode_one(le(1, 8), label("e", 4, {{"uint"}})), "error: labels cover 4 bytes, the key has 8");
    EXPECT_EQ(
        decode_one(le(1, 8), label("e", 8, {{"errno"}})).rfind("error: label e: decoder errno: expected a decimal", 0),
        0u);
}

TEST(Exposition, FloatsAsPrometheusWritesThem) {
    EXPECT_EQ(prometheus_float(0.000001), "1e-06");
    EXPECT_EQ(prometheus_float(0.000128), "0.000128");
    EXPECT_EQ(prometheus_float(0.000016), "1.6e-05");
    EXPECT_EQ(prometheus_float(16.777216), "16.777216");
    EXPECT_EQ(prometheus_float(1048576), "1.048576e+06");
    EXPECT_EQ(prometheus_float(100000), "100000");
    EXPECT_EQ(prometheus_float(0.5), "0.5");
    EXPECT_EQ(prometheus_float(2), "2");
    EXPECT_EQ(prometheus_float(0), "0");
}

MapSnapshot u64_map(const std::string& name, uint32_t key_size, std::vector<std::pair<uint64_t, uint64_t>> entries) {
    MapSnapshot m;
    m.name = name;
    m.type = MapType::Hash;
    m.key_size = key_size;
    m.value_size = 8;
    for (auto [k, v] : entries) m.entries.emplace_back(le(k, key_size), le(v, 8));
    return m;
}

TEST(Exposition, CountersHistogramsAndProgramMetrics) {
    auto config = parse_metrics_config(kConfig, "errors.yaml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    ExpositionInput in;
    in.config = &*config;
    in.maps.emplace("errors_total", u64_map("errors_total", 8, {{2, 7}, {13, 1}}));
    // Slots 0..3; the key after bucket_max (4) holds the sum, 21 ms.
    in.maps.emplace("lat_hist", u64_map("lat_hist", 4, {{0, 1}, {1, 0}, {2, 3}, {3, 1}, {4, 21}}));
    in.programs = {{"trace_exit", 42, "0123456789abcdef", 10, 2'500'000'000}};
    auto text = render_metrics(in);
    ASSERT_TRUE(text.has_value()) << text.error().to_string();
    EXPECT_EQ(*text,
              "# HELP ebpf_exporter_errors_total Errors by errno\n"
              "# TYPE ebpf_exporter_errors_total counter\n"
              "ebpf_exporter_errors_total{errno=\"EACCES\"} 1\n"
              "ebpf_exporter_errors_total{errno=\"ENOENT\"} 7\n"
              "# HELP ebpf_exporter_latency_seconds Latency\n"
              "# TYPE ebpf_exporter_latency_seconds histogram\n"
              "ebpf_exporter_latency_seconds_bucket{le=\"0.001\"} 1\n"
              "ebpf_exporter_latency_seconds_bucket{le=\"0.002\"} 1\n"
              "ebpf_exporter_latency_seconds_bucket{le=\"0.004\"} 4\n"
              "ebpf_exporter_latency_seconds_bucket{le=\"0.008\"} 5\n"
              "ebpf_exporter_latency_seconds_bucket{le=\"+Inf\"} 5\n"
              "ebpf_exporter_latency_seconds_sum 0.021\n"
              "ebpf_exporter_latency_seconds_count 5\n"
              "# HELP ebpf_exporter_enabled_configs The set of enabled configs\n"
              "# TYPE ebpf_exporter_enabled_configs gauge\n"
              "ebpf_exporter_enabled_configs{name=\"errors\"} 1\n"
              "# HELP ebpf_exporter_ebpf_program_info Info about ebpf programs\n"
              "# TYPE ebpf_exporter_ebpf_program_info gauge\n"
              "ebpf_exporter_ebpf_program_info{config=\"errors\",id=\"42\",program=\"trace_exit\",tag="
              "\"0123456789abcdef\"} 1\n"
              "# HELP ebpf_exporter_ebpf_program_run_count_total How many times has the program been executed\n"
              "# TYPE ebpf_exporter_ebpf_program_run_count_total counter\n"
              "ebpf_exporter_ebpf_program_run_count_total{id=\"42\",program=\"trace_exit\"} 10\n"
              "# HELP ebpf_exporter_ebpf_program_run_time_seconds How long has the program been executing\n"
              "# TYPE ebpf_exporter_ebpf_program_run_time_seconds counter\n"
              "ebpf_exporter_ebpf_program_run_time_seconds{id=\"42\",program=\"trace_exit\"} 2.5\n");
}

TEST(Exposition, LabelledHistogramsAreSeparateSeries) {
    const char* yaml = R"(
metrics:
  histograms:
    - name: sizes_bytes
      bucket_type: linear
      bucket_min: 0
      bucket_max: 1
      bucket_multiplier: 100
      labels:
        - {name: dev, size: 4, decoders: [{name: uint}]}
        - {name: bucket, size: 4, decoders: [{name: uint}]}
)";
    auto config = parse_metrics_config(yaml, "sizes.yaml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    // key {dev, bucket} as one little-endian u64: dev in the low half.
    MapSnapshot m = u64_map("sizes_bytes", 8,
                            {{(uint64_t{0} << 32) | 7, 2}, {(uint64_t{1} << 32) | 7, 3}, {(uint64_t{1} << 32) | 9, 4}});
    ExpositionInput in;
    in.config = &*config;
    in.prefix = "bpfvm_";
    in.maps.emplace("sizes_bytes", m);
    auto text = render_metrics(in);
    ASSERT_TRUE(text.has_value()) << text.error().to_string();
    EXPECT_EQ(*text,
              "# TYPE bpfvm_sizes_bytes histogram\n"
              "bpfvm_sizes_bytes_bucket{dev=\"7\",le=\"0\"} 2\n"
              "bpfvm_sizes_bytes_bucket{dev=\"7\",le=\"100\"} 5\n"
              "bpfvm_sizes_bytes_bucket{dev=\"7\",le=\"+Inf\"} 5\n"
              "bpfvm_sizes_bytes_sum{dev=\"7\"} 0\n"
              "bpfvm_sizes_bytes_count{dev=\"7\"} 5\n"
              "bpfvm_sizes_bytes_bucket{dev=\"9\",le=\"0\"} 0\n"
              "bpfvm_sizes_bytes_bucket{dev=\"9\",le=\"100\"} 4\n"
              "bpfvm_sizes_bytes_bucket{dev=\"9\",le=\"+Inf\"} 4\n"
              "bpfvm_sizes_bytes_sum{dev=\"9\"} 0\n"
              "bpfvm_sizes_bytes_count{dev=\"9\"} 4\n"
              "# HELP bpfvm_enabled_configs The set of enabled configs\n"
              "# TYPE bpfvm_enabled_configs gauge\n"
              "bpfvm_enabled_configs{name=\"sizes\"} 1\n");
}

}  // namespace
}  // namespace bpfvm::observe
