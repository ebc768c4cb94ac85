// Kernel facts as data, part 4: kernel functions (kfuncs.def) as the verifier needs them.
#pragma once

#include <cstdint>
#include <string_view>

#include "bpfvm/helper_protos.hpp"

namespace bpfvm {

/// What a kfunc returns.
enum class KfuncRet : uint8_t { Int, Void, IterNext, Btf, BtfOrNull, Untrusted, Mem, ArenaPtr };

/// What a kfunc argument must be.
enum class KfuncArg : uint8_t {
    None, Scalar, Const, Ctx, IterNew, Iter, Btf, BtfOrNull, Release, Any, Mem, MapPtr, Dynptr, DynptrUninit,
};

/// KF_* flags.
enum KfuncFlag : uint32_t {
    kKfAcquire = 1u << 0,
    kKfRelease = 1u << 1,
    kKfRetNull = 1u << 2,
    kKfIterNew = 1u << 3,
    kKfIterNext = 1u << 4,
    kKfIterDestroy = 1u << 5,
    kKfSleepable = 1u << 6,
    kKfDestructive = 1u << 7,
    kKfTrustedArgs = 1u << 8,
    kKfRcu = 1u << 9,
    kKfThrow = 1u << 10,   // bpf_throw: the program ends here
    kKfTrap = 1u << 11,    // __bpf_trap: the kernel refuses direct calls
};

/// A kfuncs.def row.
struct KfuncProto {
    std::string_view name;
    KfuncRet ret = KfuncRet::Int;
    KfuncArg args[5] = {};
    uint32_t iter_size = 0;     // iterator kfuncs: bytes of the stack iterator object
    uint32_t flags = 0;
    ProgramTypeMask progs = 0;

    bool has(KfuncFlag f) const { return (flags & f) != 0; }
    /// The iterator family ("num" for bpf_iter_num_*), for matching constructor and methods.
    std::string_view iter_family() const;
};

/// The row of kfunc `name` (the kernel's function name), or nullptr when the table does not know it.
const KfuncProto* kfunc_proto(std::string_view name);

}  // namespace bpfvm
