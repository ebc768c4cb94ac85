// The perf_event side of attaching: tracefs (tracepoint ids), the dynamic PMUs behind kprobes and
// uprobes (/sys/bus/event_source/devices/{kprobe,uprobe}), and the list of online cpus.
#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <mutex>

#include "bpfvm/kernel_attach.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {
namespace {

constexpr unsigned long kTracefsMagic = 0x74726163;  // TRACEFS_MAGIC
constexpr unsigned long kDebugfsMagic = 0x64626720;  // DEBUGFS_MAGIC

bool has_events(const std::string& root) {
    struct stat st{};
    return ::stat((root + "/events").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_fs(const std::string& path, unsigned long magic) {
    struct statfs st{};
    return ::statfs(path.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == magic;
}

/// "0-3,5,7-8" -> {0,1,2,3,5,7,8}.
std::vector<uint32_t> parse_cpu_list(const std::string& text) {
    std::vector<uint32_t> cpus;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(',', pos);
        if (end == std::string::npos) end = text.size();
        const std::string part = text.substr(pos, end - pos);
        const size_t dash = part.find('-');
        uint32_t first = 0, last = 0;
        const char* begin = part.data();
        const char* stop = part.data() + part.size();
        auto r = std::from_chars(begin, dash == std::string::npos ? stop : begin + dash, first);
        last = first;
        if (r.ec == std::errc() && dash != std::string::npos) r = std::from_chars(begin + dash + 1, stop, last);
        if (r.ec == std::errc())  // a malformed part of the sysfs file is ignored
            for (uint32_t c = first; c <= last && c < 4096; ++c) cpus.push_back(c);
        pos = end + 1;
    }
    return cpus;
}

}  // namespace

namespace detail {

long perf_event_open(struct perf_event_attr* attr, int pid, int cpu, int group_fd, unsigned long flags) {
    return ::syscall(__NR_perf_event_open, attr, pid, cpu, group_fd, flags);
}

Result<int> dynamic_pmu_type(const std::string& pmu) {
    const std::string path = "/sys/bus/event_source/devices/" + pmu + "/type";
    std::ifstream in(path);
    int type = -1;
    if (!(in >> type) || type < 0) return make_error(ErrorCode::kNotFound, path + " is missing");
    return type;
}

Result<int> pmu_retprobe_bit(const std::string& pmu) {
    // "config:0": the bit of perf_event_attr.config that turns the probe into a return probe.
    const std::string path = "/sys/bus/event_source/devices/" + pmu + "/format/retprobe";
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    int bit = -1;
    if (text.rfind("config:", 0) != 0 ||
        std::from_chars(text.data() + 7, text.data() + text.size(), bit).ec != std::errc() || bit < 0 || bit > 63)
        return make_error(ErrorCode::kNotFound, path + " is missing or unreadable");
    return bit;
}

}  // namespace detail

std::vector<uint32_t> online_cpus() {
    std::ifstream in("/sys/devices/system/cpu/online");
    std::string text;
    std::getline(in, text);
    std::vector<uint32_t> cpus = parse_cpu_list(text);
    if (cpus.empty())
        for (uint32_t c = 0; c < detail::possible_cpus(); ++c) cpus.push_back(c);
    return cpus;
}

Result<std::string> tracefs_root() {
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
        if (has_events(root)) return std::string(root);
    const std::string root = "/sys/kernel/tracing";
    if (!is_fs(root, kTracefsMagic) && ::mount("tracefs", root.c_str(), "tracefs", 0, nullptr) != 0) {
        const int err = errno;
        // Older systems reach tracefs through debugfs.
        if (is_fs("/sys/kernel/debug", kDebugfsMagic) ||
            ::mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr) == 0)
            if (has_events("/sys/kernel/debug/tracing")) return std::string("/sys/kernel/debug/tracing");
        return detail::syscall_error("mount", "of tracefs at " + root + " (needed for tracepoint ids)", err);
    }
    if (!has_events(root))
        return make_error(ErrorCode::kNotFound, root + "/events is missing (kernel without CONFIG_TRACEPOINTS?)");
    return root;
}

Result<uint32_t> tracepoint_id(const std::string& category_and_name) {
    const size_t slash = category_and_name.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == category_and_name.size() ||
        category_and_name.find("..") != std::string::npos)
        return make_error(ErrorCode::kInvalidArgument, "tracepoint '" + category_and_name +
                                                           "': expected CATEGORY/NAME, e.g. syscalls/sys_enter_openat");
    auto root = tracefs_root();
    if (!root) return root.error();
    const std::string path = *root + "/events/" + category_and_name + "/id";
    std::ifstream in(path);
    uint32_t id = 0;
    if (!(in >> id))
        return make_error(ErrorCode::kNotFound, "no tracepoint '" + category_and_name + "' (" + path + " is missing)");
    return id;
}

}  // namespace bpfvm::kernel
