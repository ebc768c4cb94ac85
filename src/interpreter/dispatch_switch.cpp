// The portable dispatch strategy: a `switch` over Op, compiled on every host so that tests can
// check it against the computed-goto loop (both share exec_loop.hpp's instruction bodies).
#define BPFVM_INTERP_FORCE_SWITCH 1
#include "exec_loop.hpp"

namespace bpfvm::interp {

const Dispatch& switch_dispatch() {
    static const Dispatch dispatch{&exec<true>, &exec<false>, "switch"};
    return dispatch;
}

}  // namespace bpfvm::interp
