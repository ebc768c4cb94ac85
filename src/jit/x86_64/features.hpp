// Host CPU features the x86-64 backend may use. Separate from emitter.hpp (no asmjit) so that
// tests can force the portable code paths.
#pragma once

namespace bpfvm::jit::x86 {

/// Detected once at first use; tests may override a field to exercise the fallback path. Only
/// affects code compiled afterwards.
struct HostFeatures {
    bool bmi2 = false;  // shlx/shrx/sarx: variable shifts without rcx
};
HostFeatures& host_features();

}  // namespace bpfvm::jit::x86
