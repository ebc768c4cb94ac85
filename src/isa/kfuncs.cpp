// The kfunc table (kfuncs.def) expanded into KfuncProto rows.
#include "bpfvm/kfuncs.hpp"

#include "prog_masks.hpp"

namespace bpfvm {
namespace {

namespace kfunc_row {
using namespace prog_masks;
inline constexpr uint32_t NoKfFlags = 0, Acquire = kKfAcquire, Release = kKfRelease, RetNull = kKfRetNull,
                          IterNew = kKfIterNew, IterNext = kKfIterNext, IterDestroy = kKfIterDestroy,
                          Sleepable = kKfSleepable, Destructive = kKfDestructive, TrustedArgs = kKfTrustedArgs,
                          Rcu = kKfRcu, Throw = kKfThrow, Trap = kKfTrap;
// The kernel's generic kfunc set (tasks, cgroups, cpumasks, exceptions) is registered for these.
inline constexpr ProgramTypeMask Generic =
    Tracing | SchedCls | SchedAct | Xdp | StructOps | Syscall | Tracepoint | PerfEvent | Lsm;
}  // namespace kfunc_row

constexpr KfuncProto kKfuncs[] = {
#define BPFVM_KFUNC(name, ret, a1, a2, a3, a4, a5, iter_size, flags, progs)                                     \
    KfuncProto{#name, KfuncRet::ret, {KfuncArg::a1, KfuncArg::a2, KfuncArg::a3, KfuncArg::a4, KfuncArg::a5}, \
               iter_size, [] { using namespace kfunc_row; return uint32_t{flags}; }(),                    \
               [] { using namespace kfunc_row; return ProgramTypeMask{progs}; }()},
#include "bpfvm/kfuncs.def"
#undef BPFVM_KFUNC
};

}  // namespace

std::string_view KfuncProto::iter_family() const {
    constexpr std::string_view prefix = "bpf_iter_";
    if (name.substr(0, prefix.size()) != prefix) return {};
    const std::string_view rest = name.substr(prefix.size());
    return rest.substr(0, rest.rfind('_'));
}

const KfuncProto* kfunc_proto(std::string_view name) {
    for (const KfuncProto& k : kKfuncs)
        if (k.name == name) return &k;
    return nullptr;
}

}  // namespace bpfvm
