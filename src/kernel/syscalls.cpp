// The single bpf(2) commands: map update/lookup/delete/next-key/freeze, the privilege probe and
// BPF_PROG_TEST_RUN. Each wraps one syscall; errors carry the command name and the errno text.
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "bpfvm/kernel.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

namespace detail {

long sys_bpf(int cmd, union bpf_attr* attr, unsigned size) {
    return ::syscall(__NR_bpf, cmd, attr, size);
}

std::string errno_text(int err) {
    // strerrordesc_np is thread-safe and not locale dependent (glibc >= 2.32).
    const char* desc = strerrordesc_np(err);
    std::string text = desc != nullptr ? desc : "errno " + std::to_string(err);
    const char* name = strerrorname_np(err);
    if (name != nullptr) text += std::string(" (") + name + ")";
    return text;
}

Error syscall_error(const char* command, const std::string& what, int err) {
    ErrorCode code = ErrorCode::kIo;
    if (err == EPERM || err == EACCES) code = ErrorCode::kPermission;
    else if (err == ENOENT) code = ErrorCode::kNotFound;
    else if (err == EEXIST) code = ErrorCode::kExists;
    else if (err == E2BIG || err == ENOSPC) code = ErrorCode::kNoSpace;
    else if (err == EINVAL) code = ErrorCode::kInvalidArgument;
    else if (err == ENOTSUPP_KERNEL || err == EOPNOTSUPP) code = ErrorCode::kUnsupported;
    std::string message = std::string(command);
    if (!what.empty()) message += " " + what;
    message += ": " + errno_text(err);
    return make_error(code, std::move(message));
}

uint64_t ptr_to_u64(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

uint32_t possible_cpus() {
    // "0-3" or "0,2-5": the highest listed cpu + 1 is what per-cpu map values are sized by.
    static const uint32_t count = [] {
        std::ifstream in("/sys/devices/system/cpu/possible");
        std::string text;
        std::getline(in, text);
        uint32_t highest = 0;
        uint32_t current = 0;
        bool have_digit = false;
        for (char c : text) {
            if (c >= '0' && c <= '9') {
                current = current * 10 + static_cast<uint32_t>(c - '0');
                have_digit = true;
            } else {
                if (have_digit) highest = std::max(highest, current);
                current = 0;
                have_digit = false;
            }
        }
        if (have_digit) highest = std::max(highest, current);
        return highest + 1;
    }();
    return count;
}

}  // namespace detail

using detail::ptr_to_u64;
using detail::sys_bpf;
using detail::syscall_error;

Probe probe() {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    Probe result;
    long fd = sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
    if (fd >= 0) {
        ::close(static_cast<int>(fd));
        result.usable = true;
        return result;
    }
    result.error_number = errno;
    result.reason = "BPF_MAP_CREATE: " + detail::errno_text(result.error_number);
    if (result.error_number == EPERM || result.error_number == EACCES) {
        std::ifstream in("/proc/sys/kernel/unprivileged_bpf_disabled");
        std::string setting;
        std::getline(in, setting);
        result.reason += " (needs CAP_BPF or root";
        if (!setting.empty()) result.reason += "; kernel.unprivileged_bpf_disabled=" + setting;
        result.reason += ")";
    } else if (result.error_number == ENOSYS) {
        result.reason += " (kernel built without CONFIG_BPF_SYSCALL, or bpf() blocked by seccomp)";
    }
    return result;
}

bool supports_test_run(ProgramType type) {
    switch (type) {
        case ProgramType::SocketFilter:
        case ProgramType::SchedCls:
        case ProgramType::SchedAct:
        case ProgramType::Xdp:
        case ProgramType::CgroupSkb:
        case ProgramType::LwtIn:
        case ProgramType::LwtOut:
        case ProgramType::LwtXmit:
        case ProgramType::LwtSeg6local:
        case ProgramType::FlowDissector:
        case ProgramType::SkLookup:
        case ProgramType::RawTracepoint:
        case ProgramType::Syscall:
        case ProgramType::Netfilter:
            return true;
        default:
            return false;
    }
}

Status update_elem(int map_fd, std::span<const uint8_t> key, std::span<const uint8_t> value, uint64_t flags) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(map_fd);
    attr.key = ptr_to_u64(key.data());
    attr.value = ptr_to_u64(value.data());
    attr.flags = flags;
    if (sys_bpf(BPF_MAP_UPDATE_ELEM, &attr, sizeof(attr)) < 0) return syscall_error("BPF_MAP_UPDATE_ELEM", "", errno);
    return {};
}

Result<std::optional<std::vector<uint8_t>>> lookup_elem(int map_fd, std::span<const uint8_t> key,
                                                        uint32_t value_size) {
    std::vector<uint8_t> value(value_size);
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(map_fd);
    attr.key = ptr_to_u64(key.data());
    attr.value = ptr_to_u64(value.data());
    if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)) < 0) {
        if (errno == ENOENT) return std::optional<std::vector<uint8_t>>{};
        return syscall_error("BPF_MAP_LOOKUP_ELEM", "", errno);
    }
    return std::optional<std::vector<uint8_t>>{std::move(value)};
}

Result<std::optional<std::vector<uint8_t>>> next_key(int map_fd, std::span<const uint8_t> key, uint32_t key_size) {
    std::vector<uint8_t> next(key_size);
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(map_fd);
    attr.key = key.empty() ? 0 : ptr_to_u64(key.data());  // null key: the first key
    attr.next_key = ptr_to_u64(next.data());
    if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)) < 0) {
        if (errno == ENOENT) return std::optional<std::vector<uint8_t>>{};
        return syscall_error("BPF_MAP_GET_NEXT_KEY", "", errno);
    }
    return std::optional<std::vector<uint8_t>>{std::move(next)};
}

Status freeze_map(int map_fd) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(map_fd);
    if (sys_bpf(BPF_MAP_FREEZE, &attr, sizeof(attr)) < 0) return syscall_error("BPF_MAP_FREEZE", "", errno);
    return {};
}

Status delete_elem(int map_fd, std::span<const uint8_t> key) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(map_fd);
    attr.key = ptr_to_u64(key.data());
    if (sys_bpf(BPF_MAP_DELETE_ELEM, &attr, sizeof(attr)) < 0) return syscall_error("BPF_MAP_DELETE_ELEM", "", errno);
    return {};
}

Result<TestRunOutput> test_run(int prog_fd, const TestRunInput& input) {
    const uint32_t data_capacity =
        input.data_out_capacity != 0 ? input.data_out_capacity : static_cast<uint32_t>(input.data.size()) + 512;
    const uint32_t ctx_capacity = !input.ctx_out ? 0
                                  : input.ctx_out_capacity != 0 ? input.ctx_out_capacity
                                                                : static_cast<uint32_t>(input.ctx.size());
    TestRunOutput out;
    out.data.resize(input.data.empty() ? 0 : data_capacity);
    out.ctx.resize(ctx_capacity);

    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.test.prog_fd = static_cast<uint32_t>(prog_fd);
    attr.test.repeat = input.repeat;
    attr.test.flags = input.flags;
    if (!input.data.empty()) {
        attr.test.data_in = ptr_to_u64(input.data.data());
        attr.test.data_size_in = static_cast<uint32_t>(input.data.size());
        attr.test.data_out = ptr_to_u64(out.data.data());
        attr.test.data_size_out = static_cast<uint32_t>(out.data.size());
    }
    if (!input.ctx.empty()) {
        attr.test.ctx_in = ptr_to_u64(input.ctx.data());
        attr.test.ctx_size_in = static_cast<uint32_t>(input.ctx.size());
    }
    if (!out.ctx.empty()) {
        attr.test.ctx_out = ptr_to_u64(out.ctx.data());
        attr.test.ctx_size_out = static_cast<uint32_t>(out.ctx.size());
    }
    if (sys_bpf(BPF_PROG_TEST_RUN, &attr, sizeof(attr)) < 0) return syscall_error("BPF_PROG_TEST_RUN", "", errno);
    out.retval = attr.test.retval;
    out.duration_ns = attr.test.duration;
    out.data.resize(std::min<size_t>(out.data.size(), attr.test.data_size_out));
    out.ctx.resize(std::min<size_t>(out.ctx.size(), attr.test.ctx_size_out));
    return out;
}

}  // namespace bpfvm::kernel
