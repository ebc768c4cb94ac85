// `bpfvm serve-metrics OBJ --config METRICS.yaml --listen HOST:PORT`: loads and attaches an object
// and serves its maps as Prometheus metrics (text format 0.0.4) on /metrics, configured in
// Cloudflare ebpf_exporter's schema, plus the programs' run counts and run times.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "bpfvm/metrics.hpp"
#include "command.hpp"
#include "kernel_common.hpp"

namespace bpfvm::cli {
namespace {

struct ServeOptions {
    KernelCommandOptions kernel;
    std::string config;
    std::string listen = "127.0.0.1:9435";
    std::string prefix = "ebpf_exporter_";
};

int run_serve(const ServeOptions& o) {
    // Everything that can be checked without the kernel comes first: the config and the object.
    auto config = observe::load_metrics_config(o.config);
    if (!config) return fail("serve-metrics", config.error().to_string());
    auto object = load_object(o.kernel.object);
    if (!object) return fail("serve-metrics", object.error().to_string());
    if (auto st = observe::check_metrics_config(*config, *object); !st)
        return fail("serve-metrics", o.config + ": " + st.error().message);
    if (!require_bpf("serve-metrics")) return 2;
    auto options = session_options(o.kernel, /*attach=*/true);
    if (!options) return fail("serve-metrics", options.error().message);
    install_stop_handlers();
    auto session = observe::Session::open(o.kernel.object, *options);
    if (!session) return fail("serve-metrics", session.error().to_string(), exit_code_for(session.error()));
    // Run counts and times are only counted while statistics are on; held until exit.
    auto stats = kernel::enable_run_stats();
    if (!stats)
        std::fprintf(stderr, "bpfvm serve-metrics: run time metrics stay 0: %s\n", stats.error().message.c_str());

    observe::Session* live = session->get();
    const observe::MetricsConfig* cfg = &*config;
    const std::string prefix = o.prefix;
    auto render = [live, cfg, prefix]() { return observe::render_session_metrics(*live, *cfg, prefix); };
    auto server = observe::MetricsServer::start(o.listen, render);
    if (!server) return fail("serve-metrics", server.error().to_string());
    std::string what;
    for (const auto& p : (*session)->programs()) what += (what.empty() ? "" : ", ") + p.attachment;
    std::printf("Serving metrics of %s (%s) on http://%s/metrics. Hit Ctrl-C to stop.\n", o.kernel.object.c_str(),
                what.c_str(), o.listen.c_str());
    std::fflush(stdout);
    run_until_stopped(o.kernel.duration, [](int timeout_ms) {
        ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);
        return true;
    });
    (*server)->stop();
    return 0;
}

const CommandRegistrar kRegisterServeMetrics(74, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<ServeOptions>();
    CLI::App* cmd = app.add_subcommand("serve-metrics", "Attach an object and serve its maps as Prometheus metrics");
    cmd->footer(
        "The config follows Cloudflare ebpf_exporter's schema: metrics.counters and\n"
        "metrics.histograms, each named after the map holding it (or `table: MAP`), with labels\n"
        "cut from the key by `size` and decoded by uint, string, hex, syscall, errno, inet_ip,\n"
        "static_map, regexp, ksym, ifname or dname; histograms take bucket_type exp2, exp2zero,\n"
        "linear or fixed with bucket_min, bucket_max, bucket_keys and bucket_multiplier (the key\n"
        "after bucket_max, when set, is the sum). Also served: ebpf_program_info,\n"
        "ebpf_program_run_count_total and ebpf_program_run_time_seconds per program.\n"
        "Exit status: 0 stopped, 1 verifier rejection, 2 bad input (config, object, port in use).\n\n"
        "Examples:\n"
        "  bpfvm serve-metrics build/examples/tools/runqlat.bpf.o \\\n"
        "      --config examples/tools/runqlat.yaml --listen 127.0.0.1:9435\n"
        "  curl -s http://127.0.0.1:9435/metrics");
    add_kernel_options(cmd, options->kernel, /*with_duration=*/true);
    cmd->add_option("--config,-c", options->config, "The metrics YAML (ebpf_exporter schema)")->required();
    cmd->add_option("--listen,-l", options->listen, "HOST:PORT to serve /metrics on")->default_val("127.0.0.1:9435");
    cmd->add_option("--prefix", options->prefix, "Prepended to every metric name")->default_val("ebpf_exporter_");
    cmd->callback([options, &exit_code] { exit_code = run_serve(*options); });
});

}  // namespace
}  // namespace bpfvm::cli
