// The thin facade shared by tools, tests, fuzz and bench: pick an engine, prepare, run.
#pragma once

#include <memory>
#include <string_view>

#include "bpfvm/runtime.hpp"

namespace bpfvm {

enum class EngineKind { Interp, Jit };

/// The default engine: the JIT where the host architecture has a backend, else the interpreter.
EngineKind default_engine();

/// Parses "interp" or "jit".
Result<EngineKind> parse_engine(std::string_view name);

/// Prepares `program` for `engine`. `helpers` must outlive the result.
Result<std::unique_ptr<Executable>> prepare(const Program& program, EngineKind engine, const HelperTable& helpers,
                                            const EngineOptions& options = {});

}  // namespace bpfvm
