// The Prometheus endpoint: the metrics fixture's maps are created in the kernel and filled with
// known values, /metrics is scraped over loopback and checked line by line (counters, histogram
// buckets, _sum, _count) against those values; the `bpfvm serve-metrics` binary is run end to end;
// bad configs and a port in use give clear errors and exit code 2.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "bpfvm/metrics.hpp"
#include "bpfvm/session.hpp"
#include "kernel_test_util.hpp"

#ifdef BPFVM_TEST_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace bpfvm::ktest {
namespace {

using observe::Session;
using observe::SessionOptions;

#ifdef BPFVM_TEST_HAVE_HTTPLIB

std::vector<uint8_t> le(uint64_t v, size_t n) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
    return out;
}

std::vector<uint8_t> comm(const char* name) {
    std::vector<uint8_t> out(16, 0);
    std::memcpy(out.data(), name, std::strlen(name));
    return out;
}

/// The fixture with known map contents (see bpf/metrics.bpf.c).
Result<std::unique_ptr<Session>> filled_fixture(const std::string& prefix, bool attach) {
    SessionOptions o;
    o.attach = attach;
    o.kernel_options.name_prefix = prefix;
    auto s = Session::open(fixture("metrics"), o);
    if (!s) return s.error();
    auto& k = (*s)->kernel();
    BPFVM_TRY(k.update_map("errors_total", le(2, 8), le(7, 8)));
    BPFVM_TRY(k.update_map("errors_total", le(13, 8), le(1, 8)));
    BPFVM_TRY(k.update_map("by_comm_total", comm("cat"), le(3, 8)));
    BPFVM_TRY(k.update_map("by_comm_total", comm("a\"b"), le(1, 8)));
    const uint64_t slots[10] = {1, 0, 3, 1, 0, 0, 0, 0, 2, 45};  // key 9 (bucket_max + 1): the sum
    for (uint32_t i = 0; i < 10; ++i) BPFVM_TRY(k.update_map("latency_seconds", le(i, 4), le(slots[i], 8)));
    BPFVM_TRY(k.update_map("sizes_bytes", le(7, 8), le(2, 8)));                          // dev 7, bucket 0
    BPFVM_TRY(k.update_map("sizes_bytes", le((uint64_t{1} << 32) | 7, 8), le(3, 8)));  // dev 7, bucket 1
    return s;
}

const char* const kExpected =
    "# HELP ebpf_exporter_errors_total Errors by errno\n"
    "# TYPE ebpf_exporter_errors_total counter\n"
    "ebpf_exporter_errors_total{errno=\"EACCES\"} 1\n"
    "ebpf_exporter_errors_total{errno=\"ENOENT\"} 7\n"
    "# HELP ebpf_exporter_by_comm_total Events by command\n"
    "# TYPE ebpf_exporter_by_comm_total counter\n"
    "ebpf_exporter_by_comm_total{comm=\"a\\\"b\"} 1\n"
    "ebpf_exporter_by_comm_total{comm=\"cat\"} 3\n"
    "# HELP ebpf_exporter_latency_seconds Latency\n"
    "# TYPE ebpf_exporter_latency_seconds histogram\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.001\"} 1\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.002\"} 1\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.004\"} 4\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.008\"} 5\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.016\"} 5\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.032\"} 5\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.064\"} 5\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.128\"} 5\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"0.256\"} 7\n"
    "ebpf_exporter_latency_seconds_bucket{le=\"+Inf\"} 7\n"
    "ebpf_exporter_latency_seconds_sum 0.045\n"
    "ebpf_exporter_latency_seconds_count 7\n"
    "# HELP ebpf_exporter_sizes_bytes Sizes per device\n"
    "# TYPE ebpf_exporter_sizes_bytes histogram\n"
    "ebpf_exporter_sizes_bytes_bucket{dev=\"7\",le=\"0\"} 2\n"
    "ebpf_exporter_sizes_bytes_bucket{dev=\"7\",le=\"100\"} 5\n"
    "ebpf_exporter_sizes_bytes_bucket{dev=\"7\",le=\"200\"} 5\n"
    "ebpf_exporter_sizes_bytes_bucket{dev=\"7\",le=\"300\"} 5\n"
    "ebpf_exporter_sizes_bytes_bucket{dev=\"7\",le=\"+Inf\"} 5\n"
    "ebpf_exporter_sizes_bytes_sum{dev=\"7\"} 0\n"
    "ebpf_exporter_sizes_bytes_count{dev=\"7\"} 5\n"
    "# HELP ebpf_exporter_enabled_configs The set of enabled configs\n"
    "# TYPE ebpf_exporter_enabled_configs gauge\n"
    "ebpf_exporter_enabled_configs{name=\"metrics\"} 1\n";

class Metrics : public KernelTest {};

TEST_F(Metrics, ScrapeMatchesTheMapContents) {
    BPFVM_REQUIRE_KERNEL();
    auto config = observe::load_metrics_config(std::string(BPFVM_FIXTURES_SOURCE_DIR) + "/metrics.yaml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    auto s = filled_fixture(prefix_, /*attach=*/false);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    ASSERT_TRUE(observe::check_metrics_config(*config, (*s)->object()).has_value());
    Session* live = s->get();
    auto server = observe::MetricsServer::start(
        "127.0.0.1:0", [&] { return observe::render_session_metrics(*live, *config); });
    ASSERT_TRUE(server.has_value()) << server.error().to_string();
    httplib::Client client("127.0.0.1", (*server)->port());
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res) << "no answer from 127.0.0.1:" << (*server)->port();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    const std::string& body = res->body;
    ASSERT_GE(body.size(), std::strlen(kExpected));
    EXPECT_EQ(body.substr(0, std::strlen(kExpected)), kExpected);
    const auto& prog = (*s)->programs().at(0);
    EXPECT_NE(body.find("ebpf_exporter_ebpf_program_info{config=\"metrics\",id=\"" + std::to_string(prog.id) +
                        "\",program=\"touch_maps\",tag=\""),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("ebpf_exporter_ebpf_program_run_count_total{id=\"" + std::to_string(prog.id) +
                        "\",program=\"touch_maps\"} 0\n"),
              std::string::npos);
    // The values are read at every scrape.
    ASSERT_TRUE((*s)->kernel().update_map("errors_total", le(2, 8), le(8, 8)).has_value());
    res = client.Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body.find("ebpf_exporter_errors_total{errno=\"ENOENT\"} 8\n"), std::string::npos);
    (*server)->stop();
}

TEST_F(Metrics, RunCountsAndTimesWhileStatisticsAreOn) {
    BPFVM_REQUIRE_TRACING();
    auto config = observe::load_metrics_config(std::string(BPFVM_FIXTURES_SOURCE_DIR) + "/metrics.yaml");
    ASSERT_TRUE(config.has_value());
    auto s = filled_fixture(prefix_, /*attach=*/true);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    auto stats = kernel::enable_run_stats();
    ASSERT_TRUE(stats.has_value()) << stats.error().to_string();
    for (int i = 0; i < 20; ++i) ::syscall(SYS_getppid);
    auto programs = (*s)->program_stats();
    ASSERT_TRUE(programs.has_value());
    ASSERT_EQ(programs->size(), 1u);
    EXPECT_GE(programs->front().run_count, 20u);
    EXPECT_GT(programs->front().run_time_ns, 0u);
    auto text = observe::render_session_metrics(**s, *config);
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(text->find("ebpf_exporter_ebpf_program_run_count_total{id=\"" + std::to_string(programs->front().id) +
                         "\",program=\"touch_maps\"} 0\n"),
              std::string::npos);
}

TEST_F(Metrics, ServeMetricsCommandEndToEnd) {
    BPFVM_REQUIRE_TRACING();
    const int port = free_port();
    ASSERT_GT(port, 0);
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    Background server({BPFVM_CLI, "serve-metrics", tool("syslat"), "--config",
                       std::string(BPFVM_EXAMPLES_SOURCE_DIR) + "/tools/syslat.yaml", "--listen", listen,
                       "--name-prefix", prefix_});
    httplib::Client client("127.0.0.1", port);
    std::string body;
    for (int i = 0; i < 100 && body.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (auto res = client.Get("/metrics"); res && res->status == 200) body = res->body;
    }
    ASSERT_FALSE(body.empty()) << "serve-metrics did not answer on " << listen << ": " << server.output();
    EXPECT_NE(body.find("# TYPE ebpf_exporter_syscalls_total counter\n"), std::string::npos) << body;
    EXPECT_NE(body.find("ebpf_exporter_syscalls_total{syscall=\""), std::string::npos);
    EXPECT_NE(body.find("# TYPE ebpf_exporter_syscall_latency_seconds histogram\n"), std::string::npos);
    EXPECT_NE(body.find("ebpf_exporter_ebpf_program_run_count_total{id=\""), std::string::npos);
    ProcessResult r = server.stop();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("Serving metrics of " + tool("syslat") +
                              " (raw tracepoint sys_enter, raw tracepoint sys_exit) on http://" + listen +
                              "/metrics. Hit Ctrl-C to stop.\n",
                          0),
              0u)
        << r.out;
}

TEST_F(Metrics, PortInUseAndBadConfigsExitWithTwo) {
    BPFVM_REQUIRE_KERNEL();
    auto taken = observe::MetricsServer::start("127.0.0.1:0", [] { return Result<std::string>(std::string()); });
    ASSERT_TRUE(taken.has_value()) << taken.error().to_string();
    const std::string listen = "127.0.0.1:" + std::to_string((*taken)->port());
    auto again = observe::MetricsServer::start(listen, [] { return Result<std::string>(std::string()); });
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().message, "cannot listen on " + listen +
                                         ": Address already in use (another process listens on port " +
                                         std::to_string((*taken)->port()) + ")");
    const std::string yaml = std::string(BPFVM_EXAMPLES_SOURCE_DIR) + "/tools/syslat.yaml";
    ProcessResult r =
        run_bpfvm({"serve-metrics", tool("syslat"), "--config", yaml, "--listen", listen, "--name-prefix", prefix_});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "bpfvm serve-metrics: cannot listen on " + listen +
                         ": Address already in use (another process listens on port " +
                         std::to_string((*taken)->port()) + ")\n");

    const std::string bad = "/tmp/bpfvm-bad-metrics-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(bad) << "metrics:\n  counters: [\n";
    r = run_bpfvm({"serve-metrics", tool("syslat"), "--config", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err.rfind("bpfvm serve-metrics: " + bad + ":3: malformed YAML: ", 0), 0u) << r.err;
    std::ofstream(bad) << "metrics:\n  counters:\n    - name: no_such_map\n      labels: [{name: k, size: 8, decoders: "
                          "[{name: uint}]}]\n";
    r = run_bpfvm({"serve-metrics", tool("syslat"), "--config", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "bpfvm serve-metrics: " + bad + ": metric 'no_such_map': " + tool("syslat") +
                         " has no map 'no_such_map'\n");
    std::ofstream(bad) << "metrics:\n  counters:\n    - name: syscalls_total\n      labels: [{name: k, size: 4, "
                          "decoders: [{name: uint}]}]\n";
    r = run_bpfvm({"serve-metrics", tool("syslat"), "--config", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              "bpfvm serve-metrics: " + bad +
                  ": metric 'syscalls_total': labels cover 4 bytes but the keys of map 'syscalls_total' have 8\n");
    std::remove(bad.c_str());
    r = run_bpfvm({"serve-metrics", tool("syslat"), "--config", yaml, "--listen", "localhost"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "bpfvm serve-metrics: --listen 'localhost': expected HOST:PORT, e.g. 127.0.0.1:9435\n");
}

#else

TEST(Metrics, NeedsHttplib) { GTEST_SKIP() << "built without cpp-httplib (libcpp-httplib-dev): no metrics endpoint"; }

#endif

}  // namespace
}  // namespace bpfvm::ktest
