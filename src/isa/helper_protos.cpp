// The helper table (helpers.def) expanded into HelperProto rows, and the small queries over it.
#include "bpfvm/helper_protos.hpp"

#include <algorithm>
#include <array>

#include "bpfvm/isa.hpp"
#include "prog_masks.hpp"

namespace bpfvm {
namespace {

// The columns of helpers.def, spelled as in the file.
namespace helper_row {
inline constexpr uint32_t NoFlags = 0, Gpl = kHelperGpl, PktAccess = kHelperPktAccess, ChangesPkt = kHelperChangesPkt,
                          Acquire = kHelperAcquire, Release = kHelperRelease, Sleepable = kHelperSleepable,
                          Restricted = kHelperRestricted, IterOnly = kHelperIterOnly,
                          TrampolineOnly = kHelperTrampolineOnly, CapBpf = kHelperCapBpf, CapPerfmon = kHelperCapPerfmon;

using namespace prog_masks;
}  // namespace helper_row

#define BPFVM_HELPER_ARGS(a1, a2, a3, a4, a5) \
    { HelperArg::a1, HelperArg::a2, HelperArg::a3, HelperArg::a4, HelperArg::a5 }

constexpr HelperProto kProtos[] = {
#define BPFVM_HELPER(id, name, ret, a1, a2, a3, a4, a5, arg_btf, ret_btf, flags, progs)                        \
    HelperProto{id, #name, HelperRet::ret, BPFVM_HELPER_ARGS(a1, a2, a3, a4, a5), arg_btf, ret_btf, \
                [] { using namespace helper_row; return uint32_t{flags}; }(),                       \
                [] { using namespace helper_row; return ProgramTypeMask{progs}; }()},
#define BPFVM_HELPER_VARIANT(...)
#define BPFVM_HELPER_CALLBACK(...)
#include "bpfvm/helpers.def"
#undef BPFVM_HELPER
#undef BPFVM_HELPER_VARIANT
#undef BPFVM_HELPER_CALLBACK
};

constexpr HelperProto kVariants[] = {
#define BPFVM_HELPER(...)
#define BPFVM_HELPER_VARIANT(id, name, ret, a1, a2, a3, a4, a5, arg_btf, ret_btf, flags, progs)                \
    HelperProto{id, #name, HelperRet::ret, BPFVM_HELPER_ARGS(a1, a2, a3, a4, a5), arg_btf, ret_btf, \
                [] { using namespace helper_row; return uint32_t{flags}; }(),                       \
                [] { using namespace helper_row; return ProgramTypeMask{progs}; }()},
#define BPFVM_HELPER_CALLBACK(...)
#include "bpfvm/helpers.def"
#undef BPFVM_HELPER
#undef BPFVM_HELPER_VARIANT
#undef BPFVM_HELPER_CALLBACK
};

constexpr HelperCallback kCallbacks[] = {
#define BPFVM_HELPER(...)
#define BPFVM_HELPER_VARIANT(...)
#define BPFVM_HELPER_CALLBACK(name, c1, c2, c3, c4, c5, lo, hi)                                                       \
    HelperCallback{static_cast<int32_t>(HelperId::name),                                                         \
                   {CallbackArg::c1, CallbackArg::c2, CallbackArg::c3, CallbackArg::c4, CallbackArg::c5}, lo, hi},
#include "bpfvm/helpers.def"
#undef BPFVM_HELPER
#undef BPFVM_HELPER_VARIANT
#undef BPFVM_HELPER_CALLBACK
};
#undef BPFVM_HELPER_ARGS

constexpr bool rows_in_id_order() {
    for (size_t i = 0; i < std::size(kProtos); ++i)
        if (kProtos[i].id != static_cast<int32_t>(i)) return false;
    return true;
}
static_assert(rows_in_id_order(), "helpers.def: main rows must list ids 0, 1, 2, ... in order");

constexpr bool variants_inside_main_rows() {
    for (const HelperProto& v : kVariants) {
        if (v.id < 0 || v.id >= static_cast<int32_t>(std::size(kProtos))) return false;
        if ((v.progs & ~kProtos[v.id].progs) != 0 || kProtos[v.id].name != v.name) return false;
    }
    return true;
}
static_assert(variants_inside_main_rows(), "helpers.def: a variant row names a type its main row does not allow");

struct ArgRow {
    HelperArg arg;
    std::string_view name;
    HelperArgInfo info;
};

using C = HelperArgClass;
// Per kind: class, maybe_null, read, write, release, zero_ok, fixed_size.
constexpr ArgRow kArgRows[] = {
    {HelperArg::None, "none", {C::None}},
    {HelperArg::Anything, "anything", {C::Scalar}},
    {HelperArg::ConstMapPtr, "const_map_ptr", {C::Map}},
    {HelperArg::MapKey, "map_key", {C::MapKey, false, true}},
    {HelperArg::MapValue, "map_value", {C::MapValue, false, true}},
    {HelperArg::MapValueOrNull, "map_value_or_null", {C::MapValue, true, true}},
    {HelperArg::UninitMapValue, "uninit_map_value", {C::MapValue, false, false, true}},
    {HelperArg::Mem, "mem", {C::Mem, false, true, true}},
    {HelperArg::MemOrNull, "mem_or_null", {C::Mem, true, true, true}},
    {HelperArg::MemRead, "mem_read", {C::Mem, false, true}},
    {HelperArg::MemReadOrNull, "mem_read_or_null", {C::Mem, true, true}},
    {HelperArg::MemWrite, "mem_write", {C::Mem, false, true, true}},
    {HelperArg::UninitMem, "uninit_mem", {C::Mem, false, false, true}},
    {HelperArg::IphdrMem, "iphdr_mem", {C::Mem, false, true, false, false, false, 20}},
    {HelperArg::Ipv6hdrMem, "ipv6hdr_mem", {C::Mem, false, true, false, false, false, 40}},
    {HelperArg::TcphdrMem, "tcphdr_mem", {C::Mem, false, true, false, false, false, 20}},
    {HelperArg::LongOut, "long_out", {C::Mem, false, false, true, false, false, 8}},
    {HelperArg::IntOut, "int_out", {C::Mem, false, false, true, false, false, 4}},
    {HelperArg::ConstSize, "const_size", {C::Size}},
    {HelperArg::ConstSizeOrZero, "const_size_or_zero", {C::Size, false, false, false, false, true}},
    {HelperArg::ConstAllocSizeOrZero, "const_alloc_size_or_zero", {C::Size, false, false, false, false, true}},
    {HelperArg::Ctx, "ctx", {C::Ctx}},
    {HelperArg::CtxOrNull, "ctx_or_null", {C::Ctx, true}},
    {HelperArg::StackOrNull, "stack_or_null", {C::Stack, true}},
    {HelperArg::Func, "func", {C::Func}},
    {HelperArg::RingbufMemRelease, "ringbuf_mem_release", {C::Mem, false, false, false, true}},
    {HelperArg::SpinLock, "spin_lock", {C::SpinLock}},
    {HelperArg::Timer, "timer", {C::Timer}},
    {HelperArg::ConstStr, "const_str", {C::ConstStr}},
    {HelperArg::Kptr, "kptr", {C::Kptr}},
    {HelperArg::SockCommon, "sock_common", {C::Socket}},
    {HelperArg::SocketOrNull, "socket_or_null", {C::Socket, true}},
    {HelperArg::SockCommonRelease, "sock_common_release", {C::Socket, false, false, false, true}},
    {HelperArg::BtfId, "btf_id", {C::BtfId}},
    {HelperArg::BtfIdOrNull, "btf_id_or_null", {C::BtfId, true}},
    {HelperArg::BtfIdOrNullRelease, "btf_id_or_null_release", {C::BtfId, true, false, false, true}},
    {HelperArg::BtfIdSockCommon, "btf_id_sock_common", {C::Socket}},
    {HelperArg::PercpuBtfId, "percpu_btf_id", {C::PercpuBtfId}},
    {HelperArg::Dynptr, "dynptr", {C::Dynptr, false, true}},
    {HelperArg::DynptrLocalUninit, "dynptr_local_uninit", {C::Dynptr, false, false, true}},
    {HelperArg::DynptrRingbufUninit, "dynptr_ringbuf_uninit", {C::Dynptr, false, false, true}},
    {HelperArg::DynptrRingbufRelease, "dynptr_ringbuf_release", {C::Dynptr, false, true, false, true}},
};

constexpr bool arg_rows_in_order() {
    for (size_t i = 0; i < std::size(kArgRows); ++i)
        if (static_cast<size_t>(kArgRows[i].arg) != i) return false;
    return true;
}
static_assert(arg_rows_in_order(), "kArgRows must follow the HelperArg enumerators");

constexpr std::string_view kRetNames[] = {
    "integer", "void", "map_value", "map_value_or_null", "socket_or_null", "tcp_sock_or_null", "sock_common_or_null",
    "alloc_mem_or_null", "dynptr_mem_or_null", "btf_id", "btf_id_or_null", "percpu_mem_or_btf_id",
    "percpu_mem_or_btf_id_or_null"};
static_assert(std::size(kRetNames) == static_cast<size_t>(HelperRet::PercpuMemOrBtfIdOrNull) + 1);

}  // namespace

int HelperProto::num_args() const {
    int n = 0;
    while (n < 5 && args[n] != HelperArg::None) ++n;
    return n;
}

const HelperProto* helper_proto(int32_t id) {
    return id >= 0 && id < static_cast<int32_t>(std::size(kProtos)) ? &kProtos[id] : nullptr;
}

const HelperProto* helper_proto(int32_t id, ProgramType type) {
    const HelperProto* main = helper_proto(id);
    if (main == nullptr || (main->progs & program_type_bit(type)) == 0) return nullptr;
    for (const HelperProto& v : kVariants)
        if (v.id == id && (v.progs & program_type_bit(type)) != 0) return &v;
    return main;
}

bool helper_allowed(int32_t id, ProgramType type, bool privileged) {
    const HelperProto* p = helper_proto(id, type);
    if (p == nullptr) return false;
    return privileged || !helper_proto(id)->has(static_cast<HelperFlag>(kHelperCapBpf | kHelperCapPerfmon));
}

const HelperCallback* helper_callback(int32_t id) {
    for (const HelperCallback& c : kCallbacks)
        if (c.helper == id) return &c;
    return nullptr;
}

HelperArgInfo helper_arg_info(HelperArg arg) { return kArgRows[static_cast<size_t>(arg)].info; }
std::string_view helper_arg_name(HelperArg arg) { return kArgRows[static_cast<size_t>(arg)].name; }
std::string_view helper_ret_name(HelperRet ret) { return kRetNames[static_cast<size_t>(ret)]; }

std::span<const HelperProto> helper_protos() { return kProtos; }
std::span<const HelperProto> helper_proto_variants() { return kVariants; }

int helper_id_by_name(std::string_view name) {
    if (name.substr(0, 4) == "bpf_") name.remove_prefix(4);
    for (const HelperProto& p : kProtos)
        if (p.id > 0 && p.name == name) return p.id;
    return -1;
}

std::string_view helper_name(int id) {
    if (id <= 0 || id >= static_cast<int>(std::size(kProtos))) return {};
    return kProtos[id].name;
}

}  // namespace bpfvm
