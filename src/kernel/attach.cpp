// Attaching programs: the section decides the attach point (plan_attach), then one of a few kernel
// paths does it. Wherever the kernel has BPF links they are used (BPF_LINK_CREATE for perf events,
// XDP, tcx and cgroups; BPF_RAW_TRACEPOINT_OPEN for raw and BTF tracepoints): a link detaches when
// its last fd closes, so nothing outlives the process unless it was pinned.
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpfvm/kernel_attach.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {

using detail::ptr_to_u64;
using detail::sys_bpf;
using detail::syscall_error;

namespace {

// Attach types newer than this machine's uapi header (linux/bpf.h of 6.1).
constexpr uint32_t kAttachTcxIngress = 46;
constexpr uint32_t kAttachTcxEgress = 47;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

Error attach_error(const ProgramSpec& spec, const std::string& message, ErrorCode code = ErrorCode::kInvalidArgument) {
    Error e = make_error(code, message);
    e.where = spec.name + " (section '" + spec.section + "')";
    return e;
}

/// BPF_LINK_CREATE; `target` is an fd or an ifindex depending on the attach type.
Result<Fd> link_create(int prog_fd, uint32_t target, uint32_t attach_type, uint32_t flags, const std::string& what) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.link_create.prog_fd = static_cast<uint32_t>(prog_fd);
    attr.link_create.target_fd = target;  // shares its slot with target_ifindex
    attr.link_create.attach_type = attach_type;
    attr.link_create.flags = flags;
    long fd = sys_bpf(BPF_LINK_CREATE, &attr, sizeof(attr));
    if (fd < 0) return syscall_error("BPF_LINK_CREATE", what, errno);
    return Fd(static_cast<int>(fd));
}

Result<Fd> raw_tracepoint_open(int prog_fd, const std::string& name, const std::string& what) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.raw_tracepoint.name = name.empty() ? 0 : ptr_to_u64(name.c_str());
    attr.raw_tracepoint.prog_fd = static_cast<uint32_t>(prog_fd);
    long fd = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &attr, sizeof(attr));
    if (fd < 0) return syscall_error("BPF_RAW_TRACEPOINT_OPEN", what, errno);
    return Fd(static_cast<int>(fd));
}

/// Puts the program on perf event `pfd`: through a BPF link where the kernel has perf links
/// (5.15+), else with PERF_EVENT_IOC_SET_BPF. Returns the fd that keeps it attached and whether
/// it is a link.
Result<std::pair<Fd, bool>> attach_to_perf_event(int prog_fd, Fd pfd, const std::string& what) {
    auto link = link_create(prog_fd, static_cast<uint32_t>(pfd.get()), BPF_PERF_EVENT, 0, what);
    if (link) {
        if (::ioctl(pfd.get(), PERF_EVENT_IOC_ENABLE, 0) < 0)
            return syscall_error("PERF_EVENT_IOC_ENABLE", what, errno);
        // The link holds its own reference to the perf event; pfd may close.
        return std::pair<Fd, bool>{std::move(*link), true};
    }
    if (::ioctl(pfd.get(), PERF_EVENT_IOC_SET_BPF, prog_fd) < 0)
        return syscall_error("PERF_EVENT_IOC_SET_BPF", what, errno);
    if (::ioctl(pfd.get(), PERF_EVENT_IOC_ENABLE, 0) < 0) return syscall_error("PERF_EVENT_IOC_ENABLE", what, errno);
    return std::pair<Fd, bool>{std::move(pfd), false};
}

Result<Fd> open_perf_event(perf_event_attr& attr, int pid, int cpu, const std::string& what) {
    long fd = detail::perf_event_open(&attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) return syscall_error("perf_event_open", what, errno);
    return Fd(static_cast<int>(fd));
}

Result<Attachment> single(int prog_fd, Fd pfd, const std::string& description) {
    auto attached = attach_to_perf_event(prog_fd, std::move(pfd), description);
    if (!attached) return attached.error();
    std::vector<Fd> fds;
    fds.push_back(std::move(attached->first));
    return Attachment(description, std::move(fds), attached->second);
}

Result<Attachment> attach_probe(int prog_fd, const ProgramSpec& spec, const AttachPlan& plan,
                                const AttachOptions& options) {
    const bool user = plan.kind == AttachKind::Uprobe || plan.kind == AttachKind::Uretprobe;
    const bool ret = plan.kind == AttachKind::Kretprobe || plan.kind == AttachKind::Uretprobe;
    const std::string pmu = user ? "uprobe" : "kprobe";
    auto type = detail::dynamic_pmu_type(pmu);
    if (!type) {
        if (!user)
            return attach_error(spec,
                                plan.description + ": this kernel has no kprobes (CONFIG_KPROBES is off: " +
                                    type.error().message + "); attach to the function with fentry/" +
                                    plan.target.substr(0, plan.target.find('+')) + " or use a tracepoint instead",
                                ErrorCode::kUnsupported);
        return attach_error(spec, plan.description + ": this kernel has no uprobes (CONFIG_UPROBE_EVENTS is off: " +
                                      type.error().message + ")",
                            ErrorCode::kUnsupported);
    }
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = static_cast<uint32_t>(*type);
    if (ret) {
        auto bit = detail::pmu_retprobe_bit(pmu);
        if (!bit) return attach_error(spec, plan.description + ": " + bit.error().message, ErrorCode::kUnsupported);
        attr.config |= uint64_t{1} << *bit;
    }
    std::string function;  // must outlive perf_event_open (config1 points at it)
    std::string binary;
    if (user) {
        auto target = resolve_uprobe(plan.target);
        if (!target) return attach_error(spec, target.error().message, target.error().code);
        binary = target->binary;
        attr.config1 = ptr_to_u64(binary.c_str());  // uprobe_path
        attr.config2 = target->file_offset;          // probe_offset
    } else {
        function = plan.target;
        uint64_t offset = 0;
        if (const size_t plus = function.find('+'); plus != std::string::npos) {
            auto off = detail::parse_offset(function.substr(plus + 1));
            if (!off) return attach_error(spec, plan.description + ": " + off.error().message);
            offset = *off;
            function.resize(plus);
        }
        attr.config1 = ptr_to_u64(function.c_str());  // kprobe_func
        attr.config2 = offset;
    }
    const int pid = user ? options.pid : -1;
    auto pfd = open_perf_event(attr, pid, pid >= 0 ? -1 : 0, plan.description);
    if (!pfd) return attach_error(spec, pfd.error().message, pfd.error().code);
    return single(prog_fd, std::move(*pfd), plan.description + (pid >= 0 ? " (pid " + std::to_string(pid) + ")" : ""));
}

Result<Attachment> attach_sampling(int prog_fd, const AttachPlan& plan, const AttachOptions& options) {
    std::vector<Fd> fds;
    bool links = true;
    for (uint32_t cpu : online_cpus()) {
        perf_event_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.size = sizeof(attr);
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        attr.freq = 1;
        attr.sample_freq = options.sample_frequency == 0 ? 49 : options.sample_frequency;
        auto pfd =
            open_perf_event(attr, -1, static_cast<int>(cpu), plan.description + " on cpu " + std::to_string(cpu));
        if (!pfd) {
            if (pfd.error().code == ErrorCode::kNotFound) continue;  // ENODEV-like: cpu went offline
            return pfd.error();
        }
        auto attached = attach_to_perf_event(prog_fd, std::move(*pfd), plan.description);
        if (!attached) return attached.error();
        links = links && attached->second;
        fds.push_back(std::move(attached->first));
    }
    if (fds.empty()) return make_error(ErrorCode::kIo, plan.description + ": no online cpu accepted a perf event");
    return Attachment(plan.description + " (" + std::to_string(fds.size()) + " cpus)", std::move(fds), links);
}

Result<uint32_t> interface_index(const ProgramSpec& spec, const std::string& name) {
    if (name.empty()) return attach_error(spec, "needs a network interface (--interface NAME)");
    const unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) return attach_error(spec, "no network interface '" + name + "'", ErrorCode::kNotFound);
    return index;
}

Result<Attachment> attach_xdp(int prog_fd, const ProgramSpec& spec, const AttachPlan& plan,
                              const AttachOptions& options) {
    auto index = interface_index(spec, options.interface);
    if (!index) return index.error();
    const std::string what = "xdp on " + options.interface;
    if (!options.xdp_generic) {
        auto link = link_create(prog_fd, *index, BPF_XDP, XDP_FLAGS_DRV_MODE, what + " (driver mode)");
        if (link) {
            std::vector<Fd> fds;
            fds.push_back(std::move(*link));
            return Attachment(what + " (driver mode)", std::move(fds), true);
        }
        if (link.error().code == ErrorCode::kExists || link.error().code == ErrorCode::kPermission)
            return attach_error(spec, link.error().message, link.error().code);
    }
    // The driver has no native XDP (EOPNOTSUPP/EINVAL): the generic hook works on every device.
    auto link = link_create(prog_fd, *index, BPF_XDP, XDP_FLAGS_SKB_MODE, what + " (generic mode)");
    if (!link) return attach_error(spec, link.error().message, link.error().code);
    std::vector<Fd> fds;
    fds.push_back(std::move(*link));
    (void)plan;
    return Attachment(what + " (generic mode)", std::move(fds), true);
}

Result<Attachment> attach_tcx(int prog_fd, const ProgramSpec& spec, const AttachPlan& plan,
                              const AttachOptions& options) {
    auto index = interface_index(spec, options.interface);
    if (!index) return index.error();
    const bool egress = plan.target == "egress";
    const std::string what = std::string("tcx ") + (egress ? "egress" : "ingress") + " on " + options.interface;
    auto link = link_create(prog_fd, *index, egress ? kAttachTcxEgress : kAttachTcxIngress, 0, what);
    if (!link) {
        if (link.error().code == ErrorCode::kInvalidArgument)
            link.error().message +=
                " (tcx links need Linux 6.6 or newer; bpfvm does not attach tc programs through netlink)";
        return attach_error(spec, link.error().message, link.error().code);
    }
    std::vector<Fd> fds;
    fds.push_back(std::move(*link));
    return Attachment(what, std::move(fds), true);
}

Result<Attachment> attach_cgroup(int prog_fd, const ProgramSpec& spec, const AttachOptions& options) {
    if (options.cgroup.empty()) return attach_error(spec, "needs a cgroup directory (--cgroup PATH)");
    if (!spec.expected_attach_type)
        return attach_error(spec, "the section names no cgroup hook (use e.g. cgroup_skb/ingress)");
    Fd cgroup(::open(options.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup.valid()) return attach_error(spec, syscall_error("open", "of cgroup " + options.cgroup, errno).message);
    const std::string what = attach_type_name(*spec.expected_attach_type) + " on cgroup " + options.cgroup;
    auto link = link_create(prog_fd, static_cast<uint32_t>(cgroup.get()),
                            static_cast<uint32_t>(*spec.expected_attach_type), 0, what);
    if (!link) return attach_error(spec, link.error().message, link.error().code);
    std::vector<Fd> fds;
    fds.push_back(std::move(*link));
    return Attachment(what, std::move(fds), true);
}

}  // namespace

Result<AttachPlan> plan_attach(const ProgramSpec& spec, const AttachOptions& options) {
    AttachPlan plan;
    plan.target = spec.attach_target;
    const std::string& sec = spec.section;
    auto need_target = [&](const char* example) -> Status {
        if (plan.target.empty())
            return attach_error(spec, std::string("the section names no attach point (e.g. ") + example + ")");
        return {};
    };
    switch (spec.type) {
        case ProgramType::Tracepoint:
            plan.kind = AttachKind::Tracepoint;
            BPFVM_TRY(need_target("tracepoint/syscalls/sys_enter_openat"));
            plan.description = "tracepoint " + plan.target;
            return plan;
        case ProgramType::RawTracepoint:
        case ProgramType::RawTracepointWritable:
            plan.kind = AttachKind::RawTracepoint;
            BPFVM_TRY(need_target("raw_tp/sched_switch"));
            plan.description = "raw tracepoint " + plan.target;
            return plan;
        case ProgramType::Tracing:
        case ProgramType::Lsm:
            plan.kind = AttachKind::BtfTracing;
            plan.description = sec.substr(0, sec.find('/')) + " " + plan.target;
            return plan;
        case ProgramType::Kprobe:
            if (starts_with(sec, "uprobe") || starts_with(sec, "uretprobe")) {
                plan.kind = starts_with(sec, "uretprobe") ? AttachKind::Uretprobe : AttachKind::Uprobe;
                if (plan.target.empty()) plan.target = options.uprobe;
                if (plan.target.empty())
                    return attach_error(spec, "needs a uprobe target: BINARY:SYMBOL in the section or --uprobe");
                plan.description =
                    std::string(plan.kind == AttachKind::Uprobe ? "uprobe " : "uretprobe ") + plan.target;
                return plan;
            }
            if (starts_with(sec, "usdt") || starts_with(sec, "kprobe.multi") || starts_with(sec, "kretprobe.multi"))
                return attach_error(spec, "usdt and kprobe.multi sections are not supported by bpfvm attach",
                                    ErrorCode::kUnsupported);
            plan.kind = starts_with(sec, "kretprobe") || starts_with(sec, "kretsyscall") ? AttachKind::Kretprobe
                                                                                         : AttachKind::Kprobe;
            BPFVM_TRY(need_target("kprobe/do_unlinkat"));
            // ksyscall/NAME: the syscall's entry point on this architecture.
            if (starts_with(sec, "ksyscall") || starts_with(sec, "kretsyscall")) {
#if defined(__x86_64__)
                plan.target = "__x64_sys_" + plan.target;
#elif defined(__aarch64__)
                plan.target = "__arm64_sys_" + plan.target;
#endif
            }
            plan.description = std::string(plan.kind == AttachKind::Kprobe ? "kprobe " : "kretprobe ") + plan.target;
            return plan;
        case ProgramType::PerfEvent:
            plan.kind = AttachKind::PerfEvent;
            plan.description = "perf_event cpu-clock at " + std::to_string(options.sample_frequency) + " Hz";
            return plan;
        case ProgramType::Xdp:
            if (spec.expected_attach_type == AttachType::XdpDevmap ||
                spec.expected_attach_type == AttachType::XdpCpumap)
                return attach_error(spec,
                                    "devmap/cpumap XDP programs run from a map, they do not attach to an interface",
                                    ErrorCode::kUnsupported);
            plan.kind = AttachKind::Xdp;
            plan.description = "xdp on " + (options.interface.empty() ? std::string("?") : options.interface);
            return plan;
        case ProgramType::SchedCls:
            plan.kind = AttachKind::Tcx;
            plan.target = plan.target == "egress" ? "egress" : "ingress";
            plan.description =
                "tcx " + plan.target + " on " + (options.interface.empty() ? std::string("?") : options.interface);
            return plan;
        case ProgramType::CgroupSkb:
        case ProgramType::CgroupSock:
        case ProgramType::CgroupSockAddr:
        case ProgramType::CgroupDevice:
        case ProgramType::CgroupSysctl:
        case ProgramType::CgroupSockopt:
        case ProgramType::SockOps:
            plan.kind = AttachKind::Cgroup;
            plan.description = sec + " on cgroup " + (options.cgroup.empty() ? std::string("?") : options.cgroup);
            return plan;
        default:
            return attach_error(spec, "bpfvm attach does not attach " + program_type_name(spec.type) + " programs",
                                ErrorCode::kUnsupported);
    }
}

Status Attachment::pin(const std::string& path) const {
    if (!links_)
        return make_error(ErrorCode::kUnsupported, description_ + ": attached without a BPF link, cannot be pinned");
    for (size_t i = 0; i < fds_.size(); ++i)
        BPFVM_TRY(pin_object(fds_[i].get(), i == 0 ? path : path + "." + std::to_string(i)));
    return {};
}

Result<Attachment> attach_program(int prog_fd, const ProgramSpec& spec, const AttachOptions& options) {
    auto plan = plan_attach(spec, options);
    if (!plan) return plan.error();
    switch (plan->kind) {
        case AttachKind::Tracepoint: {
            auto id = tracepoint_id(plan->target);
            if (!id) return attach_error(spec, id.error().message, id.error().code);
            perf_event_attr attr;
            std::memset(&attr, 0, sizeof(attr));
            attr.size = sizeof(attr);
            attr.type = PERF_TYPE_TRACEPOINT;
            attr.config = *id;
            attr.sample_period = 1;
            attr.wakeup_events = 1;
            // One event (cpu 0, every process): BPF programs on a tracepoint run on every cpu.
            auto pfd = open_perf_event(attr, -1, 0, plan->description);
            if (!pfd) return attach_error(spec, pfd.error().message, pfd.error().code);
            return single(prog_fd, std::move(*pfd), plan->description);
        }
        case AttachKind::RawTracepoint:
        case AttachKind::BtfTracing: {
            auto link = raw_tracepoint_open(prog_fd, plan->kind == AttachKind::RawTracepoint ? plan->target : "",
                                            plan->description);
            if (!link) {
                if (link.error().code == ErrorCode::kNotFound && plan->kind == AttachKind::RawTracepoint)
                    link.error().message += " (no raw tracepoint '" + plan->target + "' in this kernel)";
                if (link.error().code == ErrorCode::kUnsupported && plan->kind == AttachKind::BtfTracing)
                    link.error().message += " (this kernel cannot attach BPF trampolines)";
                return attach_error(spec, link.error().message, link.error().code);
            }
            std::vector<Fd> fds;
            fds.push_back(std::move(*link));
            return Attachment(plan->description, std::move(fds), true);
        }
        case AttachKind::Kprobe:
        case AttachKind::Kretprobe:
        case AttachKind::Uprobe:
        case AttachKind::Uretprobe:
            return attach_probe(prog_fd, spec, *plan, options);
        case AttachKind::PerfEvent:
            return attach_sampling(prog_fd, *plan, options);
        case AttachKind::Xdp:
            return attach_xdp(prog_fd, spec, *plan, options);
        case AttachKind::Tcx:
            return attach_tcx(prog_fd, spec, *plan, options);
        case AttachKind::Cgroup:
            return attach_cgroup(prog_fd, spec, options);
    }
    BPFVM_ASSERT(false && "unhandled attach kind");
    return make_error(ErrorCode::kUnsupported, "unreachable");
}

}  // namespace bpfvm::kernel
