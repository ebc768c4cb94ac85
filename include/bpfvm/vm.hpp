// Raw programs through the engines: pick an engine, prepare a decoded Program, run it. Objects go
// through bpfvm.hpp, which uses this. The run-time contract (RunContext, helpers, traps) is in
// detail/runtime.hpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "bpfvm/detail/runtime.hpp"

namespace bpfvm {

enum class EngineKind { Interp, Jit };

/// The default engine: the JIT where the host architecture has a backend, else the interpreter.
EngineKind default_engine();

/// Parses "interp" or "jit".
Result<EngineKind> parse_engine(std::string_view name);

/// Prepares `program` for `engine`. `helpers` must outlive the result.
Result<std::unique_ptr<Executable>> prepare(const Program& program, EngineKind engine, const HelperTable& helpers,
                                            const EngineOptions& options = {});

/// The JIT's machine code for `program`, per BPF instruction (offset, bytes, host disassembly when
/// built with capstone), then the entry points and out-of-line stubs. Nothing runs: every helper id
/// compiles to a placeholder. kUnsupported where the host has no JIT backend.
Result<std::string> dump_machine_code(const Program& program, const EngineOptions& options = {});

}  // namespace bpfvm
