// The default dispatch strategy: computed goto (direct threading) under GNU C, where every
// pre-decoded slot carries its handler's address; the portable switch elsewhere.
#include "exec_loop.hpp"

namespace bpfvm::interp {

const Dispatch& default_dispatch() {
    static const Dispatch dispatch{&exec<true>, &exec<false>, BPFVM_INTERP_THREADED ? "goto" : "switch"};
    return dispatch;
}

}  // namespace bpfvm::interp
