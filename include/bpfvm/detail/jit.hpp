// The JIT compilers (x86-64 and arm64, asmjit). Backend-neutral entry points.
#pragma once

#include <memory>
#include <string>

#include "bpfvm/detail/runtime.hpp"

namespace bpfvm::jit {

enum class Arch { X86_64, Arm64 };

/// The architecture this binary runs on, if a backend exists for it.
bool host_supported();
Arch host_arch();

/// Compiles `program` for the host architecture. `helpers` must outlive the result.
Result<std::unique_ptr<Executable>> compile(const Program& program, const HelperTable& helpers,
                                            const EngineOptions& options);

/// Machine code listing: for each BPF instruction its offset in the generated code, the BPF
/// disassembly, and the host instructions (hex, and their disassembly when capstone is available).
Result<std::string> dump(const Program& program, const HelperTable& helpers, const EngineOptions& options);

}  // namespace bpfvm::jit
