// A BPF object at work in the running kernel: loaded (maps with BTF, global data set, programs
// verified), every selected program attached by its section, its maps readable as snapshots and
// its ring buffers and perf event arrays readable as one event stream. What `bpfvm attach`,
// `bpfvm trace` and `bpfvm serve-metrics` run on. Destroying the session detaches everything
// that was not pinned.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bpfvm/kernel.hpp"
#include "bpfvm/kernel_attach.hpp"
#include "bpfvm/kernel_events.hpp"
#include "bpfvm/metrics.hpp"
#include "bpfvm/observe.hpp"

namespace bpfvm::observe {

/// Options for Session::open.
struct SessionOptions {
    std::vector<std::string> programs{};  // function or section names; empty: every program
    bool attach = true;                 // false: load only
    kernel::AttachOptions attach_options;
    kernel::KernelOptions kernel_options;
    /// Integer global variables set before loading (written in each variable's own size).
    std::vector<std::pair<std::string, int64_t>> globals{};
    /// With pid >= 0: the libbpf-tools filter variables `targ_tgid` / `targ_pid` are set to it when
    /// the object has them, and uprobes attach to that process only.
    int pid = -1;
};

/// A loaded (and maybe attached) program.
struct SessionProgram {
    std::string name{};
    std::string section{};
    uint32_t id = 0;          // kernel program id
    std::string attachment{};   // "tracepoint syscalls/sys_enter_openat", "" when only loaded
};

/// An object loaded into the kernel with its programs attached.
class Session {
public:
    /// Loads `object_path` and attaches the selected programs. Errors name the object, the program
    /// and what failed (verifier rejection with source line, missing interface, missing kprobes...).
    static Result<std::unique_ptr<Session>> open(const std::string& object_path, const SessionOptions& options);

    const ObjectFile& object() const { return *object_; }
    kernel::KernelObject& kernel() { return *kernel_; }
    const kernel::KernelObject& kernel() const { return *kernel_; }
    const std::vector<SessionProgram>& programs() const { return programs_; }

    /// The contents of map `name` now, with the object's BTF for formatting.
    Result<MapSnapshot> snapshot(const std::string& name) const;
    /// Names of the maps worth printing at exit (no global data, no event or program maps).
    std::vector<std::string> printable_maps() const;
    /// Every ring buffer and perf event array of the object, ready to poll.
    Result<kernel::EventStream> open_events() const;
    /// Run counts and times of the loaded programs (counted while enable_run_stats is held).
    Result<std::vector<ProgramStats>> program_stats() const;
    /// Pins programs and maps (DIR/programs, DIR/maps) and links (DIR/links/PROGRAM).
    Status pin(const std::string& dir) const;

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session();

private:
    Session() = default;
    std::unique_ptr<ObjectFile> object_{};
    std::unique_ptr<kernel::KernelObject> kernel_{};
    std::vector<SessionProgram> programs_{};
    std::vector<std::pair<std::string, kernel::Attachment>> attachments_{};  // by program name
};

/// Renders event records as text lines or JSON lines, decoding them through the object's BTF.
class EventFormatter {
public:
    /// `types`: map name -> struct name overrides ("events" -> "event").
    EventFormatter(const ObjectFile& object, std::map<std::string, std::string> types = {});

    /// "pid=12 comm=cat filename=/etc/passwd ret=3" (prefixed "[map] " when the object has
    /// several event maps), or {"map":"events","cpu":0,"event":{...}}. Records without a usable
    /// type are shown as hex.
    std::string format(const kernel::EventRecord& record, bool json) const;
    /// False when the record has a `pid` or `tgid` field and neither equals `pid`.
    bool matches_pid(const kernel::EventRecord& record, int pid) const;
    /// Checks that every override names an event map and a struct of the object.
    Status check() const;

private:
    uint32_t type_for(const kernel::EventRecord& record) const;
    const ObjectFile& object_;
    std::map<std::string, std::string> types_{};
    size_t event_maps_ = 0;
};

/// The Prometheus exposition of `session` now: the maps `config` reads and the programs' run
/// counts and times (non-zero only while enable_run_stats is held), names prefixed by `prefix`.
Result<std::string> render_session_metrics(const Session& session, const MetricsConfig& config,
                                           const std::string& prefix = "ebpf_exporter_");

/// A snapshot of the kernel map behind `fd` (a pinned map): its info, contents and BTF (read back
/// from the kernel when the map was created with BTF).
Result<MapSnapshot> snapshot_map_fd(int fd);

}  // namespace bpfvm::observe
