// AArch64 backend: CPU feature selection, with a hook for tests. No other includes, so tests can
// use it without the backend's include paths.
#pragma once

namespace bpfvm::jit::arm64 {

/// Test hook: forces (1) or forbids (0) LSE atomics in code compiled afterwards, regardless of the
/// CPU; -1 restores detection. The environment variable BPFVM_ARM64_NO_LSE=1 forbids them too.
void set_lse_override(int mode);

/// True when the running CPU has the ARMv8.1 atomics (HWCAP_ATOMICS) and no override forbids them.
bool lse_available();

}  // namespace bpfvm::jit::arm64
