// Placeholder until the interpreter lands.
#include "bpfvm/interpreter.hpp"

namespace bpfvm::interp {
Result<std::unique_ptr<Executable>> prepare(const Program&, const HelperTable&, const EngineOptions&) {
    return make_error(ErrorCode::kUnsupported, "interpreter not built yet");
}
}  // namespace bpfvm::interp
