// The interpreter: computed-goto dispatch over a pre-decoded program.
#pragma once

#include <memory>

#include "bpfvm/detail/runtime.hpp"

namespace bpfvm::interp {

/// Prepares `program` for interpretation. `helpers` must outlive the result. Fails (naming the
/// instruction) for calls to helper ids missing from `helpers` and for unresolved lddw pseudo loads.
Result<std::unique_ptr<Executable>> prepare(const Program& program, const HelperTable& helpers,
                                            const EngineOptions& options);

}  // namespace bpfvm::interp
