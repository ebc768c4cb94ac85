// Attaching loaded programs to the running kernel, by the program's section name as libbpf reads
// it: tracepoints, raw tracepoints, BTF-typed tracing (tp_btf, fentry, fexit, fmod_ret, lsm),
// kprobes and uprobes, perf events (CPU-clock sampling), XDP, tc (through tcx links) and cgroups.
// Raw perf_event_open and bpf() calls, no libbpf.
//
// An Attachment holds the kernel objects that keep the program attached (BPF links, or perf events
// with the program set on kernels without perf links); destroying it, or the process ending,
// detaches the program unless a link was pinned under bpffs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpfvm/kernel.hpp"
#include "bpfvm/object.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::kernel {

/// Where and how to attach; each program reads only what its section needs.
struct AttachOptions {
    std::string interface{};            // xdp and tc programs: network interface name
    std::string uprobe{};               // uprobe sections without a target: "binary:symbol[+offset]"
    int pid = -1;                     // uprobes: only this process (-1: every process)
    std::string cgroup{};               // cgroup programs: a cgroup v2 directory
    uint64_t sample_frequency = 49;   // perf_event programs: samples per second on each cpu
    bool xdp_generic = false;         // XDP: skip driver mode, attach in generic (skb) mode
};

/// The ways a section attaches.
enum class AttachKind {
    Tracepoint,     // tracepoint/CAT/NAME, tp/CAT/NAME: perf_event_open on the tracefs id
    RawTracepoint,  // raw_tracepoint/NAME, raw_tp/NAME
    BtfTracing,     // tp_btf/, fentry/, fexit/, fmod_ret/, lsm/: the target was fixed at load
    Kprobe,         // kprobe/FUNC[+OFF], ksyscall/NAME
    Kretprobe,      // kretprobe/FUNC, kretsyscall/NAME
    Uprobe,         // uprobe/BINARY:SYMBOL[+OFF]
    Uretprobe,      // uretprobe/BINARY:SYMBOL
    PerfEvent,      // perf_event: cpu-clock sampling on every cpu
    Xdp,            // xdp: a network interface
    Tcx,            // tc/ingress, tc/egress, tcx/..., classifier: a network interface
    Cgroup,         // cgroup_skb/..., cgroup/...: a cgroup directory
};

/// What a program's section asks for. `target` is the tracepoint "CAT/NAME", the function, the
/// "binary:symbol[+off]", "ingress"/"egress", ...; `description` reads like "tracepoint
/// syscalls/sys_enter_openat".
struct AttachPlan {
    AttachKind kind = AttachKind::Tracepoint;
    std::string target{};
    std::string description{};
};

/// Reads the attach point of `spec` (with `options` for what the section leaves open: interface,
/// uprobe target, cgroup). Errors name the section and what is missing, e.g. "section 'xdp' needs
/// a network interface (--interface)".
Result<AttachPlan> plan_attach(const ProgramSpec& spec, const AttachOptions& options);

/// One attached program.
class Attachment {
public:
    Attachment() = default;
    Attachment(std::string description, std::vector<Fd> fds, bool links)
        : description_(std::move(description)), fds_(std::move(fds)), links_(links) {}

    /// "tracepoint syscalls/sys_enter_openat", "xdp on veth0 (generic mode)", ...
    const std::string& description() const { return description_; }
    /// True when BPF links hold the attachment (they can be pinned).
    bool is_link() const { return links_; }
    /// Pins the link(s) at `path` (several per-cpu links: `path`, `path.1`, ...); kUnsupported
    /// for perf events attached without links.
    Status pin(const std::string& path) const;

private:
    std::string description_{};
    std::vector<Fd> fds_{};  // links, or perf event fds; closing them detaches
    bool links_ = false;
};

/// Attaches the loaded program `prog_fd` as `spec`'s section says (see plan_attach). Errors name
/// the attach point and, where the kernel lacks the feature, what is missing (e.g. "this kernel
/// has no kprobes (CONFIG_KPROBES is off)").
Result<Attachment> attach_program(int prog_fd, const ProgramSpec& spec, const AttachOptions& options);

/// The tracefs mount (/sys/kernel/tracing, or /sys/kernel/debug/tracing), mounting tracefs at
/// /sys/kernel/tracing when neither is mounted.
Result<std::string> tracefs_root();
/// The id of tracepoint "CATEGORY/NAME" from tracefs; kNotFound names the tracepoint.
Result<uint32_t> tracepoint_id(const std::string& category_and_name);

/// A resolved uprobe target.
struct UprobeTarget {
    std::string binary{};      // the path as opened
    std::string symbol{};
    uint64_t offset = 0;     // "+off" from the spec
    uint64_t file_offset = 0;  // where the probe goes: symbol's file offset + offset
};
/// Resolves "binary:symbol[+offset]" through the binary's ELF symbol tables (.symtab, then
/// .dynsym). A binary without '/' is looked up in $PATH. Errors: bad syntax, missing file, not an
/// ELF file, no such function symbol.
Result<UprobeTarget> resolve_uprobe(const std::string& spec);

/// The cpus perf events can be opened on (/sys/devices/system/cpu/online).
std::vector<uint32_t> online_cpus();

}  // namespace bpfvm::kernel
