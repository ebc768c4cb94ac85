// Kernel facts as data, part 2: helper prototypes (helpers.def), as the kernel declares them in its
// struct bpf_func_proto, with the program types that may call each helper. The verifier checks
// calls against these; the helper implementations register under the generated HelperId names.
//
// The argument and return kinds keep the kernel's distinctions (ARG_PTR_TO_MEM | MEM_RDONLY is
// MemRead, ARG_PTR_TO_UNINIT_MEM is UninitMem, ...); helper_arg_info() splits a kind into its base
// class and modifiers for code that wants them apart.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "bpfvm/facts.hpp"

namespace bpfvm {

/// Helper ids by kernel name: HelperId::map_lookup_elem == 1. The enumerators keep the kernel's
/// spelling (BPF_FUNC_map_lookup_elem) so they can be grepped across both trees.
enum class HelperId : int32_t {
#define BPFVM_HELPER(id, name, ...) name = id,
#define BPFVM_HELPER_VARIANT(...)
#define BPFVM_HELPER_CALLBACK(...)
#include "bpfvm/helpers.def"
#undef BPFVM_HELPER
#undef BPFVM_HELPER_VARIANT
#undef BPFVM_HELPER_CALLBACK
};

/// One past the largest helper id in helpers.def.
inline constexpr int32_t kNumHelperIds = 0
#define BPFVM_HELPER(id, name, ...) +1
#define BPFVM_HELPER_VARIANT(...)
#define BPFVM_HELPER_CALLBACK(...)
#include "bpfvm/helpers.def"
#undef BPFVM_HELPER
#undef BPFVM_HELPER_VARIANT
#undef BPFVM_HELPER_CALLBACK
    ;

/// What a helper returns in r0 (the kernel's RET_*).
enum class HelperRet : uint8_t {
    Integer,                 // scalar
    Void,                    // nothing (r0 is unreadable after the call)
    MapValue,                // pointer to a value of the map argument, never null (get_local_storage)
    MapValueOrNull,          // same, or null
    SocketOrNull,            // struct bpf_sock or null (referenced when the row has Acquire)
    TcpSockOrNull,           // struct bpf_tcp_sock or null
    SockCommonOrNull,        // struct bpf_sock (sock_common part) or null
    AllocMemOrNull,          // memory of the size given by the ConstAllocSizeOrZero argument, or null
    DynptrMemOrNull,         // memory of a dynptr's data of the size argument, or null
    BtfId,                   // pointer to the ret_btf struct, never null
    BtfIdOrNull,             // pointer to the ret_btf struct, or null (skc_to_*, kptr_xchg)
    PercpuMemOrBtfId,        // this_cpu_ptr: read-only per-CPU variable (memory or BTF id), not null
    PercpuMemOrBtfIdOrNull,  // per_cpu_ptr: same, or null
};

/// What a helper argument must be (the kernel's ARG_* with their modifiers folded in).
enum class HelperArg : uint8_t {
    None,                  // no such argument
    Anything,              // any initialized value
    ConstMapPtr,           // a map (lddw map reference)
    MapKey,                // pointer to key_size initialized bytes (stack, map value, packet with PktAccess)
    MapValue,              // pointer to value_size initialized bytes
    MapValueOrNull,        // same, or null
    UninitMapValue,        // pointer to value_size bytes the helper writes
    Mem,                   // pointer to initialized memory the helper may read and write; size in the next arg
    MemOrNull,             // same, or null
    MemRead,               // pointer to initialized memory the helper only reads; size in the next arg
    MemReadOrNull,         // same, or null
    MemWrite,              // pointer to initialized memory the helper writes; size in the next arg
    UninitMem,             // pointer to memory the helper fills (may be uninitialized); size in the next arg
    IphdrMem,              // pointer to 20 readable bytes (struct iphdr)
    Ipv6hdrMem,            // pointer to 40 readable bytes (struct ipv6hdr)
    TcphdrMem,             // pointer to 20 readable bytes (struct tcphdr)
    LongOut,               // pointer to 8 aligned bytes the helper writes (was ARG_PTR_TO_LONG)
    IntOut,                // pointer to 4 aligned bytes the helper writes (was ARG_PTR_TO_INT)
    ConstSize,             // size of the previous memory argument: known bounds, > 0
    ConstSizeOrZero,       // same, may be 0
    ConstAllocSizeOrZero,  // size of the memory the helper returns (ringbuf_reserve, dynptr_data)
    Ctx,                   // the program's context pointer, unmodified
    CtxOrNull,             // same, or null
    StackOrNull,           // pointer to the stack, or null (callback context)
    Func,                  // a BPF function (lddw src 4): the callback
    RingbufMemRelease,     // memory returned by ringbuf_reserve, released by this call
    SpinLock,              // pointer to the struct bpf_spin_lock in a map value
    Timer,                 // pointer to the struct bpf_timer in a map value
    ConstStr,              // pointer into a read-only map value holding a NUL-terminated string
    Kptr,                  // pointer to a kptr field in a map value
    SockCommon,            // struct bpf_sock pointer (any socket kind)
    SocketOrNull,          // full socket or null
    SockCommonRelease,     // referenced socket, released by this call (sk_release)
    BtfId,                 // pointer to the arg_btf struct
    BtfIdOrNull,           // same, or null
    BtfIdOrNullRelease,    // same, released by this call (kptr_xchg's new value)
    BtfIdSockCommon,       // socket as a BTF pointer or as a struct bpf_sock
    PercpuBtfId,           // address of a per-CPU kernel variable (ksym)
    Dynptr,                // pointer to an initialized struct bpf_dynptr on the stack
    DynptrLocalUninit,     // pointer to a stack struct bpf_dynptr the helper initializes (local)
    DynptrRingbufUninit,   // same, ringbuf-backed and referenced
    DynptrRingbufRelease,  // ringbuf dynptr, released by this call
};

/// Base class of an argument kind, for code that treats the modifiers apart.
enum class HelperArgClass : uint8_t {
    None, Scalar, Map, MapKey, MapValue, Mem, Size, Ctx, Stack, Func, SpinLock, Timer, ConstStr, Kptr, Socket,
    BtfId, PercpuBtfId, Dynptr,
};

/// helper_arg_info(): a HelperArg split into class and modifiers.
struct HelperArgInfo {
    HelperArgClass cls = HelperArgClass::None;
    bool maybe_null = false;
    bool read = false;      // the helper reads the memory: it must be initialized
    bool write = false;     // the helper writes the memory
    bool release = false;   // the call releases the reference this argument holds
    bool zero_ok = false;   // Size: 0 allowed
    uint32_t fixed_size = 0;  // memory of a known size (IphdrMem, LongOut, ...); 0: the next argument's
};

/// Helper flags (the flags column of helpers.def).
enum HelperFlag : uint32_t {
    kHelperGpl = 1u << 0,             // GPL-only
    kHelperPktAccess = 1u << 1,       // memory arguments may point into the packet
    kHelperChangesPkt = 1u << 2,      // invalidates packet pointers (bpf_helper_changes_pkt_data)
    kHelperAcquire = 1u << 3,         // returns (or initializes) a referenced object
    kHelperRelease = 1u << 4,         // releases a referenced argument
    kHelperSleepable = 1u << 5,       // only sleepable programs may call it
    kHelperRestricted = 1u << 6,      // the kernel also restricts the attach point
    kHelperIterOnly = 1u << 7,        // only BPF_TRACE_ITER programs
    kHelperTrampolineOnly = 1u << 8,  // only programs attached through a trampoline (fentry, lsm, ...)
    kHelperCapBpf = 1u << 9,          // needs CAP_BPF (bpf_base_func_proto's privileged part)
    kHelperCapPerfmon = 1u << 10,     // needs CAP_PERFMON
};

/// A program-type set: bit N is ProgramType N.
using ProgramTypeMask = uint64_t;

/// The bit of `type` in a ProgramTypeMask.
constexpr ProgramTypeMask program_type_bit(ProgramType type) { return ProgramTypeMask{1} << static_cast<uint32_t>(type); }

/// A helper prototype: a helpers.def row (or a variant row).
struct HelperProto {
    int32_t id = 0;
    std::string_view name;  // kernel name without bpf_ ("map_lookup_elem")
    HelperRet ret = HelperRet::Integer;
    HelperArg args[5] = {};
    std::string_view arg_btf;  // struct of the BtfId argument(s), "" if none
    std::string_view ret_btf;  // struct of a BtfId result, "" if none
    uint32_t flags = 0;        // HelperFlag bits
    ProgramTypeMask progs = 0;  // program types the row applies to

    bool has(HelperFlag f) const { return (flags & f) != 0; }
    /// Number of arguments (up to the first None).
    int num_args() const;
};

/// Which values a callback receives (BPFVM_HELPER_CALLBACK rows).
enum class CallbackArg : uint8_t {
    None, Scalar, ConstMapPtr, MapKey, MapValue, VmaBtfId, LocalDynptr, HelperArg1, HelperArg3, HelperArg4,
};

/// The callback of a helper that takes a Func argument.
struct HelperCallback {
    int32_t helper = 0;
    CallbackArg args[5] = {};
    int64_t ret_min = 0;
    int64_t ret_max = 0;
};

/// The prototype of helper `id` as declared for most program types (the main row); nullptr for
/// ids outside helpers.def.
const HelperProto* helper_proto(int32_t id);
/// The prototype of helper `id` for programs of `type`: the variant row for that type if there is
/// one, else the main row; nullptr when `type` may not call it at all.
const HelperProto* helper_proto(int32_t id, ProgramType type);
/// True when programs of `type` may call helper `id`; unprivileged loaders (no CAP_BPF, no
/// CAP_PERFMON) lose the helpers bpf_base_func_proto gives only with a capability.
bool helper_allowed(int32_t id, ProgramType type, bool privileged);
/// The callback description of helper `id`, or nullptr if it takes no callback.
const HelperCallback* helper_callback(int32_t id);
/// HelperArg split into class and modifiers.
HelperArgInfo helper_arg_info(HelperArg arg);
/// Every main row, in id order (index == id).
std::span<const HelperProto> helper_protos();
/// Every variant row.
std::span<const HelperProto> helper_proto_variants();
/// Name of a return kind ("map_value_or_null") and of an argument kind ("mem_read"), for messages.
std::string_view helper_ret_name(HelperRet ret);
std::string_view helper_arg_name(HelperArg arg);

/// The id as an int (helper tables and instructions use plain ints).
constexpr int32_t helper_index(HelperId id) { return static_cast<int32_t>(id); }

}  // namespace bpfvm
