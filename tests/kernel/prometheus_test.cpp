// The real thing users run: Debian's Prometheus server scrapes bpfvm's metrics endpoint, and its
// HTTP API answers a counter's value and a histogram_quantile over the exported histogram. The
// server runs on a loopback port with its own temporary config and data directory and is stopped
// afterwards. Skips (saying so) only where the prometheus package is not installed.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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

#ifdef BPFVM_TEST_HAVE_HTTPLIB

std::string find_prometheus() {
    for (const char* p : {"/usr/bin/prometheus", "/usr/local/bin/prometheus"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

std::vector<uint8_t> le(uint64_t v, size_t n) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
    return out;
}

/// The single sample value of a Prometheus instant query, or NaN while there is none yet.
double query(httplib::Client& client, const std::string& promql) {
    auto res = client.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!res || res->status != 200) return std::nan("");
    auto j = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || j.value("status", "") != "success") return std::nan("");
    const auto& result = j["data"]["result"];
    if (!result.is_array() || result.empty()) return std::nan("");
    const auto& value = result[0]["value"];
    if (!value.is_array() || value.size() != 2 || !value[1].is_string()) return std::nan("");
    return std::strtod(value[1].get<std::string>().c_str(), nullptr);
}

class PrometheusScrape : public KernelTest {};

TEST_F(PrometheusScrape, PrometheusReadsCountersAndHistogramQuantiles) {
    BPFVM_REQUIRE_KERNEL();
    const std::string prometheus = find_prometheus();
    if (prometheus.empty())
        GTEST_SKIP()
            << "the prometheus package is not installed (apt-get install prometheus; bpfvm.sh test installs it)";

    auto config = observe::load_metrics_config(std::string(BPFVM_FIXTURES_SOURCE_DIR) + "/metrics.yaml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    observe::SessionOptions o;
    o.attach = false;
    o.kernel_options.name_prefix = prefix_;
    auto s = observe::Session::open(fixture("metrics"), o);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    auto& k = (*s)->kernel();
    ASSERT_TRUE(k.update_map("errors_total", le(2, 8), le(42, 8)).has_value());
    // Latency slots (exp2, 1 ms multiplier): 1 in (0, 1ms], 3 in (2, 4ms], 1 in (4, 8ms], 2 in (128, 256ms].
    const uint64_t slots[10] = {1, 0, 3, 1, 0, 0, 0, 0, 2, 45};
    for (uint32_t i = 0; i < 10; ++i)
        ASSERT_TRUE(k.update_map("latency_seconds", le(i, 4), le(slots[i], 8)).has_value());
    observe::Session* live = s->get();
    auto server =
        observe::MetricsServer::start("127.0.0.1:0", [&] { return observe::render_session_metrics(*live, *config); });
    ASSERT_TRUE(server.has_value()) << server.error().to_string();

    // Prometheus with its own config and data directory on a loopback port.
    char dir_template[] = "/tmp/bpfvm-prometheus-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    std::ofstream(dir + "/prometheus.yml") << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                              "scrape_configs:\n  - job_name: bpfvm\n    scrape_interval: 1s\n"
                                              "    static_configs:\n      - targets: ['127.0.0.1:"
                                           << (*server)->port() << "']\n";
    const int port = free_port();
    ASSERT_GT(port, 0);
    Background prom({prometheus, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
                     "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"});
    httplib::Client api("127.0.0.1", port);
    api.set_connection_timeout(1, 0);
    api.set_read_timeout(2, 0);

    double enoent = std::nan(""), median = std::nan("");
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < end && (std::isnan(enoent) || std::isnan(median)) && prom.running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        enoent = query(api, "ebpf_exporter_errors_total{errno=\"ENOENT\"}");
        median = query(api, "histogram_quantile(0.5, ebpf_exporter_latency_seconds_bucket)");
    }
    ProcessResult stopped = prom.stop();
    (*server)->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);

    ASSERT_FALSE(std::isnan(enoent)) << "Prometheus never returned the counter; its log:\n" << stopped.err;
    EXPECT_EQ(enoent, 42.0);
    // 7 observations: the median (rank 3.5) lies in (2ms, 4ms], which holds observations 2..4:
    // 2ms + 2ms * (3.5 - 1) / 3, Prometheus's linear interpolation inside the bucket.
    ASSERT_FALSE(std::isnan(median)) << stopped.err;
    EXPECT_NEAR(median, 0.002 + 0.002 * 2.5 / 3, 1e-9);
}

#else

TEST(PrometheusScrape, NeedsHttplib) { GTEST_SKIP() << "built without cpp-httplib (libcpp-httplib-dev)"; }

#endif

}  // namespace
}  // namespace bpfvm::ktest
