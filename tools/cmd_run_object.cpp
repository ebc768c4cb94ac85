// The text form of `bpfvm run`'s outcome: retval, output data, context, trace output, events,
// redirects, the maps the run changed (--show-maps) and the time per run. The run itself is
// run_request (src/runners/run_request.cpp); `--json` prints run_report_json instead.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "bpfvm/io.hpp"
#include "run_options.hpp"

namespace bpfvm::cli {
namespace {

std::string hex_or(const std::optional<std::vector<uint8_t>>& bytes, const char* absent) {
    return bytes ? (bytes->empty() ? "(empty)" : to_hex(*bytes)) : absent;
}

}  // namespace

void print_run_report(const RunReport& report, const RunRequest& request) {
    const TestRunResult& r = report.result;
    if (request.raw) {
        std::printf("0x%" PRIx64 " (%" PRIu64 ")\n", r.retval, r.retval);
        if (r.repeat > 1) std::printf("%u runs on %s, %" PRIu64 " ns per run\n", r.repeat, r.engine.c_str(), r.duration_ns);
        return;
    }
    std::printf("retval: %" PRIu64 " (0x%" PRIx64 ")\n", r.retval, r.retval);
    if (r.data_out != request.data) std::printf("data_out: %s\n", to_hex(r.data_out).c_str());
    if (!r.ctx_out.empty()) std::printf("ctx_out: %s\n", to_hex(r.ctx_out).c_str());
    if (!r.trace.empty()) {
        std::printf("trace:\n");
        for (const auto& line : r.trace) std::printf("  %s\n", line.c_str());
    }
    for (const auto& e : r.events) std::printf("event %s[%u]: %s\n", e.map.c_str(), e.cpu, to_hex(e.data).c_str());
    for (const auto& d : r.redirects)
        std::printf("redirect: %s %s%s%" PRIu64 " flags 0x%" PRIx64 "\n", d.helper.c_str(), d.map.c_str(),
                    d.map.empty() ? "ifindex " : " key ", d.target, d.flags);
    if (r.tail_calls) std::printf("tail calls: %u\n", r.tail_calls);
    if (request.show_maps) {
        std::printf(report.map_changes.empty() ? "maps changed: none\n" : "maps changed:\n");
        for (const auto& c : report.map_changes)
            std::printf("  %s key %s: %s -> %s\n", c.map.c_str(), to_hex(c.key).c_str(), hex_or(c.before, "(none)").c_str(),
                        hex_or(c.after, "(deleted)").c_str());
        for (const auto& note : report.map_notes) std::printf("  %s\n", note.c_str());
    }
    const char* mode = r.engine == "kernel" ? "" : r.checked ? ", checked" : ", verified, unchecked";
    std::printf("duration: %" PRIu64 " ns per run (%u run%s, %s%s)\n", r.duration_ns, r.repeat, r.repeat == 1 ? "" : "s",
                r.engine.c_str(), mode);
}

}  // namespace bpfvm::cli
