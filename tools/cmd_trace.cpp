// `bpfvm trace OBJ`: loads an object, attaches every program, streams its ring buffer and perf
// event array records decoded through BTF (one line per event, or JSON lines) until Ctrl-C,
// SIGTERM or --duration, then prints its maps: histograms the way the BCC tools draw them, other
// maps as tables.
#include <cstdio>
#include <map>
#include <memory>

#include "bpfvm/observe.hpp"
#include "command.hpp"
#include "kernel_common.hpp"

namespace bpfvm::cli {
namespace {

struct TraceOptions {
    KernelCommandOptions kernel;
    bool json = false;
    std::vector<std::string> event_types;  // MAP=STRUCT
    std::vector<std::string> hists;        // MAP=log2[:UNIT] | MAP=linear:STEP[:UNIT]
    size_t max_rows = 50;
    bool no_maps = false;
    std::vector<std::string> maps;  // --map: only these (default: all but in-flight bookkeeping)
};

/// The maps printed at exit: --map ones, or every printable map except those called `start`
/// (the libbpf-tools name for in-flight state such as timestamps by thread, noise to a reader).
std::vector<std::string> maps_to_print(const observe::Session& session, const TraceOptions& o) {
    if (!o.maps.empty()) return o.maps;
    std::vector<std::string> out;
    for (const auto& name : session.printable_maps())
        if (name != "start") out.push_back(name);
    return out;
}

Result<std::pair<std::string, std::string>> split_eq(const std::string& text, const char* option) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
        return make_error(ErrorCode::kInvalidArgument, std::string(option) + " " + text + ": expected MAP=...");
    return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

Result<std::map<std::string, observe::HistogramShape>> parse_hists(const std::vector<std::string>& hists) {
    std::map<std::string, observe::HistogramShape> out;
    for (const auto& h : hists) {
        auto kv = split_eq(h, "--hist");
        if (!kv) return kv.error();
        std::vector<std::string> parts;
        size_t pos = 0;
        const std::string& spec = kv->second;
        while (pos <= spec.size()) {
            size_t colon = spec.find(':', pos);
            if (colon == std::string::npos) colon = spec.size();
            parts.push_back(spec.substr(pos, colon - pos));
            pos = colon + 1;
        }
        observe::HistogramShape shape;
        size_t next = 1;
        if (parts[0] == "linear") {
            shape.kind = observe::HistogramKind::Linear;
            if (parts.size() < 2 || parts[1].empty() || parts[1].find_first_not_of("0123456789") != std::string::npos ||
                parts[1].size() > 12 || std::stoull(parts[1]) == 0)
                return make_error(ErrorCode::kInvalidArgument,
                                  "--hist " + h + ": linear needs a step, e.g. MAP=linear:10");
            shape.step = std::stoull(parts[1]);
            next = 2;
        } else if (parts[0] != "log2") {
            return make_error(ErrorCode::kInvalidArgument,
                              "--hist " + h + ": expected log2 or linear:STEP, not '" + parts[0] + "'");
        }
        if (parts.size() > next) shape.unit = parts[next];
        out[kv->first] = shape;
    }
    return out;
}

void print_maps_json(observe::Session& session, const std::vector<std::string>& names) {
    for (const auto& name : names) {
        auto snap = session.snapshot(name);
        if (!snap) {
            std::fprintf(stderr, "bpfvm trace: %s\n", snap.error().to_string().c_str());
            continue;
        }
        std::printf("%s\n", observe::format_map_json(*snap).c_str());
    }
}

int run_trace(const TraceOptions& o) {
    if (!require_bpf("trace")) return 2;
    auto hists = parse_hists(o.hists);
    if (!hists) return fail("trace", hists.error().message);
    std::map<std::string, std::string> types;
    for (const auto& t : o.event_types) {
        auto kv = split_eq(t, "--event-type");
        if (!kv) return fail("trace", kv.error().message);
        types[kv->first] = kv->second;
    }
    auto options = session_options(o.kernel, /*attach=*/true);
    if (!options) return fail("trace", options.error().message);
    install_stop_handlers();
    auto session = observe::Session::open(o.kernel.object, *options);
    if (!session) return fail("trace", session.error().to_string(), exit_code_for(session.error()));
    observe::EventFormatter formatter((*session)->object(), types);
    if (auto st = formatter.check(); !st) return fail("trace", st.error().message);
    for (const auto& [map, shape] : *hists)
        if ((*session)->object().find_map(map) == nullptr) return fail("trace", "--hist: no map '" + map + "'");
    for (const auto& map : o.maps)
        if ((*session)->object().find_map(map) == nullptr) return fail("trace", "--map: no map '" + map + "'");
    auto events = (*session)->open_events();
    if (!events) return fail("trace", events.error().to_string());

    std::string what;
    for (const auto& p : (*session)->programs()) what += (what.empty() ? "" : ", ") + p.attachment;
    std::FILE* banner = o.json ? stderr : stdout;
    std::fprintf(banner, "Tracing %s... Hit Ctrl-C to end.\n", what.c_str());
    std::fflush(banner);

    auto sink = [&](const kernel::EventRecord& r) {
        if (!formatter.matches_pid(r, o.kernel.pid)) return;
        std::printf("%s\n", formatter.format(r, o.json).c_str());
    };
    int status = 0;
    run_until_stopped(o.kernel.duration, [&](int timeout_ms) {
        auto n = events->poll(timeout_ms, sink);
        if (!n) {
            fail("trace", n.error().to_string());
            status = 2;
            return false;
        }
        std::fflush(stdout);
        return true;
    });
    events->drain(sink);
    if (events->lost() != 0)
        std::fprintf(stderr, "%llu events lost (perf buffer full)\n", static_cast<unsigned long long>(events->lost()));
    if (!o.no_maps) {
        if (o.json) {
            print_maps_json(**session, maps_to_print(**session, o));
        } else {
            for (const auto& name : maps_to_print(**session, o)) {
                auto snap = (*session)->snapshot(name);
                if (!snap) {
                    std::fprintf(stderr, "bpfvm trace: %s\n", snap.error().to_string().c_str());
                    continue;
                }
                observe::MapPrintOptions print;
                print.max_rows = o.max_rows;
                if (auto it = hists->find(name); it != hists->end()) print.histogram = it->second;
                std::fputs(observe::format_map(*snap, print).c_str(), stdout);
            }
        }
    }
    std::fflush(stdout);
    return status;
}

const CommandRegistrar kRegisterTrace(72, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<TraceOptions>();
    CLI::App* cmd = app.add_subcommand("trace", "Attach an object's programs and print its events and maps, BCC style");
    cmd->footer(
        "Programs attach as `bpfvm attach` does. Records of ring buffers and perf event arrays are\n"
        "decoded through BTF: the map's declared value type (`__type(value, struct event)`), else\n"
        "the struct whose size matches (--event-type MAP=STRUCT to choose). At exit the maps are\n"
        "printed: maps with 'hist' in the name (integer slot keys) or a `slots` array in the value\n"
        "as log2 histograms ('lin' in the name: linear; the unit from the name: usecs, nsecs, ...),\n"
        "other maps as tables; a map called 'start' (in-flight state, by libbpf-tools' convention) is\n"
        "left out unless --map names it. Exit status: 0 ok, 1 verifier rejection, 2 bad input.\n\n"
        "Examples:\n"
        "  bpfvm trace build/examples/tools/opensnoop.bpf.o --duration 5\n"
        "  bpfvm trace build/examples/tools/execsnoop.bpf.o --json\n"
        "  bpfvm trace build/examples/tools/runqlat.bpf.o -d 10\n"
        "  bpfvm trace OBJ --hist lat=linear:10:msecs --event-type events=event");
    add_kernel_options(cmd, options->kernel, /*with_duration=*/true);
    cmd->add_flag("--json", options->json, "Events and maps as JSON lines (the banner goes to stderr)");
    cmd->add_option("--event-type", options->event_types, "MAP=STRUCT: decode MAP's records as STRUCT; repeatable");
    cmd->add_option("--hist", options->hists, "MAP=log2[:UNIT] or MAP=linear:STEP[:UNIT]: print MAP as a histogram");
    cmd->add_option("--max-rows", options->max_rows, "Rows shown per table")->default_val(50);
    cmd->add_flag("--no-maps", options->no_maps, "Do not print the maps at exit");
    cmd->add_option("--map", options->maps, "Print only this map at exit; repeatable (default: every map but 'start')");
    cmd->callback([options, &exit_code] { exit_code = run_trace(*options); });
});

}  // namespace
}  // namespace bpfvm::cli
