// Helper calls: checked against their prototypes (helpers.def) and the program type: argument
// types, memory and size pairs, map compatibility, acquired and released references, callbacks
// (bpf_loop, for_each_map_elem, timers) walked as subprograms with the arguments the helper
// passes, and r0 typed by the return type. The kernel's check_helper_call and check_func_arg.
#include <algorithm>

#include "bpfvm/helper_protos.hpp"
#include "checks.hpp"

namespace bpfvm::verifier {
namespace {

constexpr int kCallerSaved[] = {0, 1, 2, 3, 4, 5};
constexpr int64_t kMaxErrno = 4095;
constexpr uint64_t kMaxVarSize = uint64_t{1} << 29;
constexpr uint32_t kNrCpus = 2;  // nr_cpu_ids of the reference machine: bounds get_smp_processor_id

/// What the argument checks learned about a call (the kernel's struct bpf_call_arg_meta).
struct CallMeta {
    int func_id = 0;
    const MapInfo* map = nullptr;
    uint32_t map_index = 0;
    bool have_map = false;
    int64_t const_map_key = -1;
    bool raw_mode = false;
    int raw_regno = 0;         // raw memory argument to mark written after the checks
    uint64_t raw_size = 0;
    int release_regno = 0;
    uint32_t ref_obj_id = 0;
    uint64_t mem_size = 0;     // ConstAllocSizeOrZero
    uint64_t msize_max = 0;    // size argument's umax (refines probe_read_str's result)
    int subprog = -1;          // Func argument
    bool pkt_access = false;
};

std::string helper_label(int id) {
    const HelperProto* p = helper_proto(id);
    return (p ? "bpf_" + std::string(p->name) : std::string("unknown")) + "#" + std::to_string(id);
}

/// The register types an argument kind accepts (compatible_reg_types), in the kernel's order for
/// the "R2 type=... expected=..." message.
std::vector<std::pair<RegType, uint16_t>> accepted_types(HelperArgClass cls, const HelperArgInfo& info) {
    using P = std::pair<RegType, uint16_t>;
    switch (cls) {
        case HelperArgClass::Map:
            return {P{RegType::ConstMap, 0}};
        case HelperArgClass::MapKey:
        case HelperArgClass::MapValue:
            return {P{RegType::Stack, 0}, P{RegType::Packet, 0}, P{RegType::PacketMeta, 0}, P{RegType::MapKey, 0},
                    P{RegType::MapValue, 0}};
        case HelperArgClass::Mem:
            if (info.release)
                return {P{RegType::Mem, kRingbuf}};
            if (info.fixed_size && info.write && !info.read)
                return {P{RegType::Stack, 0}, P{RegType::Packet, 0}, P{RegType::PacketMeta, 0}, P{RegType::MapKey, 0},
                        P{RegType::MapValue, 0}};
            return {P{RegType::Stack, 0}, P{RegType::Packet, 0}, P{RegType::PacketMeta, 0}, P{RegType::MapKey, 0},
                    P{RegType::MapValue, 0}, P{RegType::Mem, 0}, P{RegType::Mem, kRingbuf}, P{RegType::Buf, 0}};
        case HelperArgClass::Ctx:
            return {P{RegType::Ctx, 0}};
        case HelperArgClass::Stack:
            return {P{RegType::Stack, 0}};
        case HelperArgClass::Func:
            return {P{RegType::Func, 0}};
        case HelperArgClass::SpinLock:
        case HelperArgClass::Timer:
        case HelperArgClass::ConstStr:
        case HelperArgClass::Kptr:
            return {P{RegType::MapValue, 0}};
        case HelperArgClass::Socket:
            return {P{RegType::SockCommon, 0}, P{RegType::Socket, 0}, P{RegType::TcpSock, 0}, P{RegType::XdpSock, 0}};
        case HelperArgClass::BtfId:
        case HelperArgClass::PercpuBtfId:
            return {P{RegType::BtfId, 0}};
        case HelperArgClass::Dynptr:
            return {P{RegType::Stack, 0}};
        default:
            return {};
    }
}

bool check_arg_type(Env& env, int regno, HelperArg arg, const HelperArgInfo& info) {
    const Reg& reg = env.cur->st.reg(regno);
    uint16_t flags = reg.flags;
    if (info.read && !info.write) flags &= static_cast<uint16_t>(~kRdonly);  // read-only memory is fine to read
    if (info.maybe_null) flags &= static_cast<uint16_t>(~kMaybeNull);
    auto types = accepted_types(info.cls, info);
    // Sockets: a full socket argument takes only PTR_TO_SOCKET.
    if (arg == HelperArg::SocketOrNull) types = {{RegType::Socket, 0}};
    if (arg == HelperArg::SockCommonRelease)
        types = {{RegType::SockCommon, 0}, {RegType::Socket, 0}, {RegType::TcpSock, 0}, {RegType::BtfId, 0}};
    if (arg == HelperArg::BtfIdSockCommon) types.push_back({RegType::BtfId, 0});
    for (const auto& [t, f] : types)
        if (reg.type == t && (flags & ~kAlloc & ~kPercpu & ~kUntrusted) == f) return true;
    std::string expected;
    for (size_t i = 0; i < types.size(); ++i)
        expected += (i ? ", " : "") + reg_type_name(types[i].first, types[i].second);
    return env.fail("R%d type=%s expected=%s", regno, reg_type_name(reg).c_str(), expected.c_str());
}

/// check_func_arg_reg_off: only memory-like pointers may carry an offset into a helper.
bool check_arg_offset(Env& env, int regno, const HelperArgInfo& info) {
    const Reg& reg = env.cur->st.reg(regno);
    if (info.release) {
        if (reg.type == RegType::Stack) return true;
        if (reg.off)
            return env.fail("R%d must have zero offset when passed to release func or trusted arg to kfunc", regno);
    }
    switch (reg.type) {
        case RegType::Stack:
        case RegType::Packet:
        case RegType::PacketMeta:
        case RegType::MapKey:
        case RegType::MapValue:
        case RegType::Mem:
        case RegType::Buf:
        case RegType::Arena:
        case RegType::Scalar:
            return true;
        case RegType::BtfId:
            break;
        default:
            if (reg.off < 0)
                return env.fail("negative offset %s ptr R%d off=%d disallowed", reg_type_name(reg).c_str(), regno, reg.off);
            if (reg.off)
                return env.fail("dereference of modified %s ptr R%d off=%d disallowed", reg_type_name(reg).c_str(), regno,
                                reg.off);
            break;
    }
    if (!reg.val.is_const() || reg.val.const_value() != 0)
        return env.fail("variable %s access var_off=%s disallowed", reg_type_name(reg).c_str(),
                        reg.val.var_off.to_string().c_str());
    return true;
}

/// get_constant_map_key: an array lookup with a constant key on the stack is never null.
int64_t constant_key(Env& env, const Reg& key, uint32_t key_size) {
    if (!env.opt.privileged || key.type != RegType::Stack || !key.val.is_const()) return -1;
    const int64_t at = key.off + static_cast<int64_t>(key.val.const_value());
    const Frame& frame = env.cur->st.frames[key.frameno];
    const StackSlot* slot = frame.slot_at(static_cast<int32_t>(at));
    if (!slot) return -1;
    const int64_t base = -((static_cast<int64_t>(-at - 1) / 8 + 1) * 8);
    const auto first = static_cast<uint32_t>(at - base);
    uint32_t zeros = 0;
    for (uint32_t j = first; j < 8 && slot->bytes[j] == SlotByte::Zero; ++j) ++zeros;
    if (zeros >= key_size) return 0;
    if (!(slot->is_spill() && slot->spilled.type == RegType::Scalar)) return -1;
    uint32_t spill = 0;
    for (uint32_t j = first; j < 8 && slot->bytes[j] == SlotByte::Spill; ++j) ++spill;
    if (spill != key_size || !slot->spilled.val.is_const()) return -1;
    mark_precise_stack(env, key.frameno, static_cast<int>((-at - 1) / 8));
    return static_cast<int64_t>(slot->spilled.val.const_value());
}

bool check_arg(Env& env, int arg, const HelperProto& fn, CallMeta& meta) {
    const int regno = arg + 1;
    const HelperArg kind = fn.args[arg];
    if (kind == HelperArg::None) return true;
    BPFVM_CHECK(check_reg_read(env, regno));
    State& st = env.cur->st;
    Reg& reg = st.reg(regno);
    if (kind == HelperArg::Anything) {
        if (is_pointer_value(env, reg)) return env.fail("R%d leaks addr into helper function", regno);
        return true;
    }
    const HelperArgInfo info = helper_arg_info(kind);
    if (reg.is_packet() && !meta.pkt_access) return env.fail("helper access to the packet is not allowed");
    const bool is_null = reg.is_null();
    const bool sock_value = info.cls == HelperArgClass::MapValue && meta.map &&
                            (meta.map->type == MapType::Sockmap || meta.map->type == MapType::Sockhash);
    if (!(is_null && info.maybe_null) && info.cls != HelperArgClass::Size && !sock_value) {
        BPFVM_CHECK(check_arg_type(env, regno, kind, info));
        BPFVM_CHECK(check_arg_offset(env, regno, info));
    }
    if (info.release) {
        if (!reg.ref_obj_id && !is_null) return env.fail("R%d must be referenced when passed to release function", regno);
        meta.release_regno = regno;
    }
    if (reg.ref_obj_id) {
        if (meta.ref_obj_id)
            return env.fail("more than one arg with ref_obj_id R%d %u %u", regno, reg.ref_obj_id, meta.ref_obj_id);
        meta.ref_obj_id = reg.ref_obj_id;
    }
    const Access rw = info.write ? Access::Write : Access::Read;
    switch (info.cls) {
        case HelperArgClass::Map:
            meta.map = env.map(reg.map);
            meta.map_index = reg.map;
            meta.have_map = true;
            return true;
        case HelperArgClass::MapKey: {
            if (!meta.map) return env.fail("invalid map_ptr to access map->key");
            BPFVM_CHECK(check_helper_mem_access(env, regno, meta.map->key_size, Access::Read, false, false));
            if (meta.map->type == MapType::Array || meta.map->type == MapType::PercpuArray)
                meta.const_map_key = constant_key(env, env.cur->st.reg(regno), meta.map->key_size);
            return true;
        }
        case HelperArgClass::MapValue: {
            if (info.maybe_null && is_null) return true;
            if (!meta.map) return env.fail("invalid map_ptr to access map->value");
            if (meta.map->type == MapType::Sockmap || meta.map->type == MapType::Sockhash) {
                // resolve_map_arg_type: the value of a socket map is a socket.
                if (kind != HelperArg::MapValue) return env.fail("invalid arg_type for sockmap/sockhash");
                return check_arg_type(env, regno, HelperArg::BtfIdSockCommon, helper_arg_info(HelperArg::SockCommon)) &&
                       check_arg_offset(env, regno, helper_arg_info(HelperArg::SockCommon));
            }
            const bool raw = info.write && !info.read;
            return check_helper_mem_access(env, regno, meta.map->value_size, rw, false, raw);
        }
        case HelperArgClass::Mem:
            if (info.fixed_size && !(info.maybe_null && is_null)) {
                BPFVM_CHECK(check_helper_mem_access(env, regno, info.fixed_size, rw, false, info.write && !info.read));
                if (kind == HelperArg::LongOut || kind == HelperArg::IntOut) {
                    const Reg& r = env.cur->st.reg(regno);
                    const Tnum t = r.val.var_off + Tnum::constant(static_cast<uint64_t>(r.off));
                    if (!t.is_aligned(info.fixed_size))
                        return env.fail("misaligned %saccess off %s+%d size %u", r.type == RegType::Stack ? "stack " : "",
                                        r.val.var_off.to_string().c_str(), r.off, info.fixed_size);
                }
            }
            return true;
        case HelperArgClass::Size: {
            const HelperArgInfo prev = helper_arg_info(fn.args[arg - 1]);
            const Access prev_rw = prev.write ? Access::Write : Access::Read;
            const bool raw = prev.write && !prev.read;
            if (kind == HelperArg::ConstAllocSizeOrZero) {
                if (!reg.val.is_const()) return env.fail("R%d is not a known constant'", regno);
                meta.mem_size = reg.val.const_value();
                return mark_precise(env, regno);
            }
            meta.msize_max = reg.type == RegType::Scalar ? reg.val.umax : 0;
            // A null memory argument with size 0 is fine for the OrNull kinds.
            if (prev.maybe_null && env.cur->st.reg(regno - 1).is_null()) {
                if (reg.type == RegType::Scalar && reg.val.is_const() && reg.val.const_value() == 0) return true;
            }
            return check_mem_size_reg(env, regno - 1, regno, prev_rw, info.zero_ok, raw);
        }
        case HelperArgClass::Func:
            meta.subprog = static_cast<int>(reg.subprog);
            return true;
        case HelperArgClass::SpinLock:
        case HelperArgClass::Timer: {
            const MapInfo* map = env.map(reg.map);
            const int32_t field = info.cls == HelperArgClass::SpinLock ? (map ? map->spin_lock_off : -1)
                                                                       : (map ? map->timer_off : -1);
            const char* what = info.cls == HelperArgClass::SpinLock ? "bpf_spin_lock" : "bpf_timer";
            if (!reg.val.is_const())
                return env.fail("R%d doesn't have constant offset. %s has to be at the constant offset", regno, what);
            if (field < 0)
                return env.fail("map '%s' has no valid %s", map ? map->name.c_str() : "?", what);
            const int64_t at = reg.off + static_cast<int64_t>(reg.val.const_value());
            if (at != field)
                return env.fail("off %lld doesn't point to 'struct %s' that is at %d", (long long)at, what, field);
            if (info.cls == HelperArgClass::Timer) {
                meta.map = map;
                meta.map_index = reg.map;
                meta.have_map = true;
            }
            return true;
        }
        case HelperArgClass::ConstStr: {
            const MapInfo* map = env.map(reg.map);
            if (!map || !(map->flags & maps::kFRdonlyProg) || !map->frozen) return env.fail("R%d does not point to a readonly map'", regno);
            if (!reg.val.is_const()) return env.fail("R%d is not a constant address'", regno);
            const int64_t at = reg.off + static_cast<int64_t>(reg.val.const_value());
            if (at < 0 || static_cast<uint64_t>(at) >= map->contents.size())
                return env.fail("R%d points outside of the readonly map", regno);
            if (std::find(map->contents.begin() + at, map->contents.end(), 0) == map->contents.end())
                return env.fail("string is not zero-terminated");
            return true;
        }
        case HelperArgClass::Stack:
            return true;
        default:
            return true;
    }
}

/// may_update_sockmap: program types where no locked socket can be reached.
bool may_update_sockmap(const Env& env, int func) {
    if (func != helper_index(HelperId::map_update_elem) && func != helper_index(HelperId::map_delete_elem)) return false;
    switch (env.opt.type) {
        case ProgramType::Tracing: return env.opt.attach == AttachType::TraceIter;
        case ProgramType::SockOps: return func == helper_index(HelperId::map_delete_elem);
        case ProgramType::SocketFilter:
        case ProgramType::SchedCls:
        case ProgramType::SchedAct:
        case ProgramType::Xdp:
        case ProgramType::SkReuseport:
        case ProgramType::FlowDissector:
        case ProgramType::SkLookup:
            return true;
        default:
            return false;
    }
}

/// check_map_func_compatibility, both directions.
bool check_map_compat(Env& env, const MapInfo& map, int func) {
    using M = MapType;
    using H = HelperId;
    auto is = [&](std::initializer_list<H> ids) {
        return std::any_of(ids.begin(), ids.end(), [&](H h) { return helper_index(h) == func; });
    };
    bool ok = true;
    switch (map.type) {
        case M::ProgArray: ok = is({H::tail_call}); break;
        case M::PerfEventArray:
            ok = is({H::perf_event_read, H::perf_event_output, H::skb_output, H::perf_event_read_value, H::xdp_output});
            break;
        case M::Ringbuf:
            ok = is({H::ringbuf_output, H::ringbuf_reserve, H::ringbuf_query, H::ringbuf_reserve_dynptr,
                     H::ringbuf_submit_dynptr, H::ringbuf_discard_dynptr});
            break;
        case M::UserRingbuf: ok = is({H::user_ringbuf_drain}); break;
        case M::StackTrace: ok = is({H::get_stackid}); break;
        case M::CgroupArray: ok = is({H::skb_under_cgroup, H::current_task_under_cgroup}); break;
        case M::CgroupStorage:
        case M::PercpuCgroupStorage: ok = is({H::get_local_storage}); break;
        case M::Devmap:
        case M::DevmapHash: ok = is({H::redirect_map, H::map_lookup_elem}); break;
        case M::Cpumap: ok = is({H::redirect_map}); break;
        case M::Xskmap: ok = is({H::redirect_map, H::map_lookup_elem}); break;
        case M::ArrayOfMaps:
        case M::HashOfMaps: ok = is({H::map_lookup_elem}); break;
        case M::Sockmap:
            ok = is({H::sk_redirect_map, H::sock_map_update, H::msg_redirect_map, H::sk_select_reuseport,
                     H::map_lookup_elem}) ||
                 may_update_sockmap(env, func);
            break;
        case M::Sockhash:
            ok = is({H::sk_redirect_hash, H::sock_hash_update, H::msg_redirect_hash, H::sk_select_reuseport,
                     H::map_lookup_elem}) ||
                 may_update_sockmap(env, func);
            break;
        case M::ReuseportSockarray: ok = is({H::sk_select_reuseport}); break;
        case M::Queue:
        case M::Stack: ok = is({H::map_peek_elem, H::map_pop_elem, H::map_push_elem}); break;
        case M::SkStorage: ok = is({H::sk_storage_get, H::sk_storage_delete, H::kptr_xchg}); break;
        case M::InodeStorage: ok = is({H::inode_storage_get, H::inode_storage_delete, H::kptr_xchg}); break;
        case M::TaskStorage: ok = is({H::task_storage_get, H::task_storage_delete, H::kptr_xchg}); break;
        case M::CgrpStorage: ok = is({H::cgrp_storage_get, H::cgrp_storage_delete, H::kptr_xchg}); break;
        case M::BloomFilter: ok = is({H::map_peek_elem, H::map_push_elem}); break;
        default: break;
    }
    auto map_is = [&](std::initializer_list<M> types) {
        return std::find(types.begin(), types.end(), map.type) != types.end();
    };
    if (ok) {
        switch (static_cast<H>(func)) {
            case H::tail_call: ok = map_is({M::ProgArray}); break;
            case H::perf_event_read:
            case H::perf_event_output:
            case H::perf_event_read_value:
            case H::skb_output:
            case H::xdp_output: ok = map_is({M::PerfEventArray}); break;
            case H::ringbuf_output:
            case H::ringbuf_reserve:
            case H::ringbuf_query:
            case H::ringbuf_reserve_dynptr:
            case H::ringbuf_submit_dynptr:
            case H::ringbuf_discard_dynptr: ok = map_is({M::Ringbuf}); break;
            case H::user_ringbuf_drain: ok = map_is({M::UserRingbuf}); break;
            case H::get_stackid: ok = map_is({M::StackTrace}); break;
            case H::current_task_under_cgroup:
            case H::skb_under_cgroup: ok = map_is({M::CgroupArray}); break;
            case H::redirect_map: ok = map_is({M::Devmap, M::DevmapHash, M::Cpumap, M::Xskmap}); break;
            case H::sk_redirect_map:
            case H::msg_redirect_map:
            case H::sock_map_update: ok = map_is({M::Sockmap}); break;
            case H::sk_redirect_hash:
            case H::msg_redirect_hash:
            case H::sock_hash_update: ok = map_is({M::Sockhash}); break;
            case H::get_local_storage: ok = map_is({M::CgroupStorage, M::PercpuCgroupStorage}); break;
            case H::sk_select_reuseport: ok = map_is({M::ReuseportSockarray, M::Sockmap, M::Sockhash}); break;
            case H::map_pop_elem: ok = map_is({M::Queue, M::Stack}); break;
            case H::map_peek_elem:
            case H::map_push_elem: ok = map_is({M::Queue, M::Stack, M::BloomFilter}); break;
            case H::map_lookup_percpu_elem: ok = map_is({M::PercpuArray, M::PercpuHash, M::LruPercpuHash}); break;
            case H::sk_storage_get:
            case H::sk_storage_delete: ok = map_is({M::SkStorage}); break;
            case H::inode_storage_get:
            case H::inode_storage_delete: ok = map_is({M::InodeStorage}); break;
            case H::task_storage_get:
            case H::task_storage_delete: ok = map_is({M::TaskStorage}); break;
            case H::cgrp_storage_get:
            case H::cgrp_storage_delete: ok = map_is({M::CgrpStorage}); break;
            default: break;
        }
    }
    // record_func_map checks the tail call's map before check_map_func_compatibility does.
    if (func == helper_index(H::tail_call) && map.type != M::ProgArray)
        return env.fail("expected prog array map for tail call");
    if (!ok)
        return env.fail("cannot pass map_type %u into func %s", static_cast<uint32_t>(map.type), helper_label(func).c_str());
    if (func == helper_index(H::tail_call) && env.subprogs.size() > 1 && !env.opt.privileged)
        return env.fail("mixing of tail_calls and bpf-to-bpf calls is not supported");
    return true;
}

/// Releases reference `id`: every pointer carrying it becomes unusable.
bool release_reference(Env& env, uint32_t id) {
    State& st = env.cur->st;
    auto it = std::find_if(st.refs.begin(), st.refs.end(), [&](const RefState& r) { return r.id == id && r.kind == RefKind::Ptr; });
    if (it == st.refs.end()) return false;
    st.refs.erase(it);
    st.for_each_reg([&](Reg& r) {
        if (r.ref_obj_id == id) mark_unknown(r);
    });
    return true;
}


/// The callee's registers from a callback's description (set_*_callback_state).
void set_callback_args(Env& env, State& st, const HelperCallback& cb, const CallMeta& meta, const Reg caller_regs[]) {
    Frame& callee = st.cur();
    for (int i = 0; i < 5; ++i) {
        Reg& r = callee.regs[i + 1];
        switch (cb.args[i]) {
            case CallbackArg::None: r = Reg{}; break;
            case CallbackArg::Scalar: r = Reg::unknown_scalar(); break;
            case CallbackArg::ConstMapPtr:
                r = Reg::pointer(RegType::ConstMap);
                r.map = meta.map_index;
                break;
            case CallbackArg::MapKey:
                r = Reg::pointer(RegType::MapKey);
                r.map = meta.map_index;
                break;
            case CallbackArg::MapValue:
                r = Reg::pointer(RegType::MapValue);
                r.map = meta.map_index;
                break;
            case CallbackArg::VmaBtfId: r = Reg::pointer(RegType::BtfId); break;
            case CallbackArg::LocalDynptr: r = Reg::pointer(RegType::Stack); break;
            case CallbackArg::HelperArg1: r = caller_regs[1]; break;
            case CallbackArg::HelperArg3: r = caller_regs[3]; break;
            case CallbackArg::HelperArg4: r = caller_regs[4]; break;
        }
    }
    callee.in_callback = true;
    callee.callback_ret_min = cb.ret_min;
    callee.callback_ret_max = cb.ret_max;
    (void)env;
}

/// push_callback_call: the callback is walked on a pushed path entering its frame; the current
/// path continues after the helper as if the callback ran no more.
bool push_callback(Env& env, const CallMeta& meta, const HelperCallback& cb, bool async) {
    if (meta.subprog < 0) return env.fail("callback function not set");
    const uint32_t subprog = static_cast<uint32_t>(meta.subprog);
    Subprog& sp = env.subprogs[subprog];
    sp.is_callback = true;
    Reg caller_regs[kNumRegs];
    std::copy(std::begin(env.cur->st.cur().regs), std::end(env.cur->st.cur().regs), caller_regs);
    if (async) {
        // Timer callbacks run later, on their own: walk them as an entry of their own.
        sp.is_async_callback = true;
        PathState* p = push_branch(env, sp.start, env.insn_idx);
        if (!p) return false;
        State fresh;
        fresh.frames.resize(1);
        Frame& f = fresh.frames[0];
        f.subprog = subprog;
        f.regs[kFrameReg] = Reg::pointer(RegType::Stack);
        p->st = fresh;
        set_callback_args(env, p->st, cb, meta, caller_regs);
        p->st.cur().in_callback = false;
        p->st.cur().in_async_callback = true;
        p->st.cur().callback_ret_min = 0;
        p->st.cur().callback_ret_max = 0;
        return true;
    }
    PathState* p = push_branch(env, sp.start, env.insn_idx);
    if (!p) return false;
    BPFVM_CHECK(enter_frame(env, p->st, subprog, env.insn_idx));
    set_callback_args(env, p->st, cb, meta, caller_regs);
    p->st.callback_unroll_depth++;
    p->st.frames[p->st.curframe - 1].callback_depth++;
    env.cur->st.cur().callback_depth = 0;
    return true;
}

}  // namespace

void clear_packet_pointers(State& st) {
    st.for_each_reg([](Reg& r) {
        if (r.is_packet() || r.type == RegType::PacketEnd) mark_unknown(r);
    });
}

bool check_helper_call(Env& env, const Insn& insn, uint32_t& next) {
    const int func = static_cast<int>(insn.imm);
    const HelperProto* fn = helper_proto(func);
    if (!fn || fn->id == 0) return env.fail("invalid func unknown#%d", func);
    const HelperProto* typed = helper_proto(func, env.opt.type);
    if (!typed || !helper_allowed(func, env.opt.type, env.opt.privileged))
        return env.fail("program of this type cannot use helper %s", helper_label(func).c_str());
    fn = typed;
    if (!env.opt.gpl && fn->has(kHelperGpl))
        return env.fail("cannot call GPL-restricted function from non-GPL compatible program");
    if (fn->has(kHelperSleepable) && !env.opt.sleepable)
        return env.fail("helper call might sleep in a non-sleepable prog");
    State& st = env.cur->st;
    if (st.active_locks && func != helper_index(HelperId::spin_unlock))
        return env.fail("function calls are not allowed while holding a lock");
    CallMeta meta;
    meta.func_id = func;
    meta.pkt_access = fn->has(kHelperPktAccess);
    for (int i = 0; i < 5; ++i) BPFVM_CHECK(check_arg(env, i, *fn, meta));

    // Raw (uninitialised) memory arguments: the helper writes them.
    for (int i = 0; i < 5; ++i) {
        const HelperArgInfo info = helper_arg_info(fn->args[i]);
        if (!(info.write && !info.read)) continue;
        const Reg& r = st.reg(i + 1);
        if (r.type != RegType::Stack || !r.val.is_const()) continue;
        uint64_t size = info.fixed_size;
        if (!size && info.cls == HelperArgClass::MapValue && meta.map) size = meta.map->value_size;
        if (!size && i + 1 < 5 && helper_arg_info(fn->args[i + 1]).cls == HelperArgClass::Size) {
            const Reg& sz = st.reg(i + 2);
            if (sz.type == RegType::Scalar && sz.val.is_const()) size = sz.val.const_value();
        }
        if (size) mark_stack_written(env, r.frameno, r.off + static_cast<int32_t>(r.val.const_value()), static_cast<uint32_t>(size));
    }

    if (meta.release_regno) {
        bool ok = false;
        if (meta.ref_obj_id) ok = release_reference(env, meta.ref_obj_id);
        else if (st.reg(meta.release_regno).is_null()) ok = true;
        if (!ok) return env.fail("func %s reference has not been acquired before", helper_label(func).c_str());
    }

    const HelperCallback* cb = helper_callback(func);
    if (func == helper_index(HelperId::get_local_storage) && !st.reg(2).is_null())
        return env.fail("get_local_storage() doesn't support non-zero flags");
    if (func == helper_index(HelperId::tail_call)) {
        BPFVM_CHECK(check_resource_leak(env, true, "tail_call"));
        env.subprogs[env.subprog_of(env.insn_idx)].has_tail_call = true;
    } else if (func == helper_index(HelperId::spin_lock)) {
        if (st.active_locks) return env.fail("Locking two bpf_spin_locks are not allowed");
        const Reg& r = st.reg(1);
        RefState lock;
        lock.id = env.new_id();
        lock.insn = env.insn_idx;
        lock.kind = RefKind::Lock;
        lock.lock_map = r.map;
        lock.lock_id = r.id;
        st.refs.push_back(lock);
        st.active_locks++;
    } else if (func == helper_index(HelperId::spin_unlock)) {
        const Reg& r = st.reg(1);
        auto it = std::find_if(st.refs.begin(), st.refs.end(), [](const RefState& x) { return x.kind == RefKind::Lock; });
        if (it == st.refs.end()) return env.fail("bpf_spin_unlock without taking a lock");
        if (it->lock_map != r.map || it->lock_id != r.id)
            return env.fail("bpf_spin_unlock of different lock");
        st.refs.erase(it);
        st.active_locks--;
    } else if (func == helper_index(HelperId::loop) && cb) {
        BPFVM_CHECK(mark_precise(env, 1));
        if (st.cur().callback_depth < st.reg(1).val.umax) BPFVM_CHECK(push_callback(env, meta, *cb, false));
        else st.cur().callback_depth = 0;
    } else if (cb) {
        const bool async = func == helper_index(HelperId::timer_set_callback);
        BPFVM_CHECK(push_callback(env, meta, *cb, async));
    }

    // Caller-saved registers are clobbered; r0 takes the return type.
    for (int r : kCallerSaved) mark_not_init(st.reg(r));
    Reg& r0 = st.reg(0);
    switch (fn->ret) {
        case HelperRet::Integer: r0 = Reg::unknown_scalar(); break;
        case HelperRet::Void: r0 = Reg{}; break;
        case HelperRet::MapValue:
        case HelperRet::MapValueOrNull: {
            if (!meta.have_map) return env.fail("kernel subsystem misconfigured verifier");
            uint16_t flags = fn->ret == HelperRet::MapValueOrNull ? kMaybeNull : 0;
            if (func == helper_index(HelperId::map_lookup_elem) && meta.map &&
                (meta.map->type == MapType::Array || meta.map->type == MapType::PercpuArray) && meta.const_map_key >= 0 &&
                meta.const_map_key < static_cast<int64_t>(meta.map->max_entries))
                flags = 0;
            r0 = Reg::pointer(RegType::MapValue, flags);
            r0.map = meta.map_index;
            if (!flags && meta.map && meta.map->spin_lock_off >= 0) r0.id = env.new_id();
            break;
        }
        case HelperRet::SocketOrNull: r0 = Reg::pointer(RegType::Socket, kMaybeNull); break;
        case HelperRet::TcpSockOrNull: r0 = Reg::pointer(RegType::TcpSock, kMaybeNull); break;
        case HelperRet::SockCommonOrNull: r0 = Reg::pointer(RegType::SockCommon, kMaybeNull); break;
        case HelperRet::AllocMemOrNull:
        case HelperRet::DynptrMemOrNull: {
            const bool ringbuf = func == helper_index(HelperId::ringbuf_reserve);
            r0 = Reg::pointer(RegType::Mem, static_cast<uint16_t>(kMaybeNull | (ringbuf ? kRingbuf : 0)));
            r0.mem_size = static_cast<uint32_t>(meta.mem_size);
            break;
        }
        case HelperRet::BtfId: r0 = Reg::pointer(RegType::BtfId); break;
        case HelperRet::BtfIdOrNull: r0 = Reg::pointer(RegType::BtfId, kMaybeNull); break;
        case HelperRet::PercpuMemOrBtfId: r0 = Reg::pointer(RegType::Mem, kRdonly | kPercpu); break;
        case HelperRet::PercpuMemOrBtfIdOrNull: r0 = Reg::pointer(RegType::Mem, kRdonly | kPercpu | kMaybeNull); break;
    }
    if (r0.maybe_null()) r0.id = env.new_id();
    const bool ptr_cast = func == helper_index(HelperId::tcp_sock) || func == helper_index(HelperId::sk_fullsock) ||
                          func == helper_index(HelperId::skc_to_tcp_sock) || func == helper_index(HelperId::skc_to_tcp6_sock) ||
                          func == helper_index(HelperId::skc_to_udp6_sock) || func == helper_index(HelperId::skc_to_mptcp_sock) ||
                          func == helper_index(HelperId::skc_to_tcp_timewait_sock) ||
                          func == helper_index(HelperId::skc_to_tcp_request_sock);
    const bool acquire = fn->has(kHelperAcquire) ||
                         (func == helper_index(HelperId::map_lookup_elem) && meta.map &&
                          (meta.map->type == MapType::Sockmap || meta.map->type == MapType::Sockhash));
    if (ptr_cast) {
        r0.ref_obj_id = meta.ref_obj_id;
    } else if (acquire && r0.is_pointer()) {
        RefState ref;
        ref.id = env.new_id();
        ref.insn = env.insn_idx;
        st.refs.push_back(ref);
        r0.id = ref.id;
        r0.ref_obj_id = ref.id;
    }
    // do_refine_retval_range
    if (fn->ret == HelperRet::Integer) {
        if (func == helper_index(HelperId::get_stack) || func == helper_index(HelperId::get_task_stack) ||
            func == helper_index(HelperId::probe_read_str) || func == helper_index(HelperId::probe_read_kernel_str) ||
            func == helper_index(HelperId::probe_read_user_str)) {
            r0.val = Scalar::from_srange(-kMaxErrno, static_cast<int64_t>(meta.msize_max));
        } else if (func == helper_index(HelperId::get_smp_processor_id)) {
            r0.val = Scalar::from_urange(0, kNrCpus - 1);
        }
    }
    if (meta.have_map && meta.map) BPFVM_CHECK(check_map_compat(env, *meta.map, func));
    if (fn->has(kHelperChangesPkt)) clear_packet_pointers(st);
    next = env.insn_idx + 1;
    return true;
}

}  // namespace bpfvm::verifier
