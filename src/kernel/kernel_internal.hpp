// Shared by the files of src/kernel: the raw syscall and error formatting.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>

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

}  // namespace bpfvm::kernel::detail
