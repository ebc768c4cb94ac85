// Shared by the files of src/kernel: the raw syscall and error formatting.
#pragma once

#include <linux/bpf.h>
#include <linux/perf_event.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "bpfvm/result.hpp"

namespace bpfvm::kernel::detail {

/// The kernel's internal ENOTSUPP, which leaks to user space from some bpf() commands.
inline constexpr int ENOTSUPP_KERNEL = 524;

/// bpf(cmd, attr, size); returns the syscall's result with errno set on failure.
long sys_bpf(int cmd, union bpf_attr* attr, unsigned size);
/// "Operation not permitted (EPERM)".
std::string errno_text(int err);
/// An error "COMMAND what: errno text" with a code derived from the errno.
Error syscall_error(const char* command, const std::string& what, int err);
/// A user pointer as the kernel's __aligned_u64.
uint64_t ptr_to_u64(const void* p);
/// Number of possible cpus (per-cpu map values hold one slot per possible cpu).
uint32_t possible_cpus();
/// The last `lines` non-empty lines of a log.
std::string log_tail(const std::string& log, uint32_t lines);
/// Kernel object names: at most 15 characters of [A-Za-z0-9_.], others replaced by '_'.
void copy_object_name(char (&dst)[BPF_OBJ_NAME_LEN], std::string_view name);

/// "16" or "0x10" as a probe offset; errors name the text.
Result<uint64_t> parse_offset(const std::string& text);
/// perf_event_open(2); returns the fd or -1 with errno set.
long perf_event_open(struct perf_event_attr* attr, int pid, int cpu, int group_fd, unsigned long flags);
/// The perf type of a dynamic PMU ("kprobe", "uprobe"); kNotFound when the kernel lacks it.
Result<int> dynamic_pmu_type(const std::string& pmu);
/// The perf_event_attr.config bit that makes a kprobe/uprobe a return probe.
Result<int> pmu_retprobe_bit(const std::string& pmu);

}  // namespace bpfvm::kernel::detail
