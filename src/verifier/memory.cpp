// Memory accesses: loads, stores and atomics through every pointer type, checked as the kernel's
// check_mem_access does: stack slots (spills and fills keep register state), map values within
// value_size (frozen read-only maps read as constants), packet data within the proven range,
// context fields by the program type's layout, helper memory within its size, sockets.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "checks.hpp"
#include "walk.hpp"

namespace bpfvm::verifier {
namespace {

// A deliberately unsound build (cmake -DBPFVM_VERIFIER_MUTANT=ON, scripts/soundness-mutant.sh):
// map value bounds off by one byte, so that the soundness test shows it catches such a bug.
#ifdef BPFVM_VERIFIER_MUTANT
constexpr int64_t kValueSizeSlack = 1;
#else
constexpr int64_t kValueSizeSlack = 0;
#endif

/// check_ptr_alignment: stack accesses are always strict; others only with strict alignment.
bool check_alignment(Env& env, const Reg& reg, int32_t off, uint32_t size, bool strict_once) {
    bool strict = env.opt.strict_alignment || strict_once;
    const char* desc = "";
    switch (reg.type) {
        case RegType::Packet:
        case RegType::PacketMeta: {
            if (!strict || size == 1) return true;
            // NET_IP_ALIGN: the IP header sits 2 bytes past a 4-byte boundary.
            const Tnum t = reg.val.var_off + Tnum::constant(static_cast<uint64_t>(2 + reg.off + off));
            if (!t.is_aligned(size))
                return env.fail("misaligned packet access off %d+%s+%d+%d size %u", 2, reg.val.var_off.to_string().c_str(),
                                reg.off, off, size);
            return true;
        }
        case RegType::FlowKeys: desc = "flow keys "; break;
        case RegType::MapKey: desc = "key "; break;
        case RegType::MapValue: desc = "value "; break;
        case RegType::Ctx: desc = "context "; break;
        case RegType::Stack: desc = "stack "; strict = true; break;
        case RegType::Socket: desc = "sock "; break;
        case RegType::SockCommon: desc = "sock_common "; break;
        case RegType::TcpSock: desc = "tcp_sock "; break;
        case RegType::XdpSock: desc = "xdp_sock "; break;
        case RegType::Arena: return true;
        default: break;
    }
    if (!strict || size == 1) return true;
    const Tnum t = reg.val.var_off + Tnum::constant(static_cast<uint64_t>(static_cast<int64_t>(reg.off) + off));
    if (!t.is_aligned(size))
        return env.fail("misaligned %saccess off %s+%d size %u", desc, reg.val.var_off.to_string().c_str(), reg.off + off,
                        size);
    return true;
}

/// __check_mem_access: [off, off + size) within [0, mem_size).
bool within(int64_t off, int64_t size, int64_t mem_size, bool zero_ok) {
    const bool size_ok = size > 0 || (size == 0 && zero_ok);
    return off >= 0 && size_ok && off + size <= mem_size;
}

/// __check_mem_access's complaint about one end of an access.
std::string mem_error(const Reg& reg, int regno, int64_t off, int64_t size, int64_t mem_size) {
    char buf[200];
    switch (reg.type) {
        case RegType::MapKey:
            std::snprintf(buf, sizeof buf, "invalid access to map key, key_size=%lld off=%lld size=%lld",
                          (long long)mem_size, (long long)off, (long long)size);
            break;
        case RegType::MapValue:
            std::snprintf(buf, sizeof buf, "invalid access to map value, value_size=%lld off=%lld size=%lld",
                          (long long)mem_size, (long long)off, (long long)size);
            break;
        case RegType::Packet:
        case RegType::PacketMeta:
        case RegType::PacketEnd:
            std::snprintf(buf, sizeof buf, "invalid access to packet, off=%lld size=%lld, R%d(id=%u,off=%d,r=%d)",
                          (long long)off, (long long)size, regno, reg.id, reg.off, reg.range);
            break;
        default:
            std::snprintf(buf, sizeof buf, "invalid access to memory, mem_size=%lld off=%lld size=%lld",
                          (long long)mem_size, (long long)off, (long long)size);
            break;
    }
    return buf;
}

/// check_mem_region_access: a pointer with a variable offset into a region of `mem_size` bytes.
bool check_region(Env& env, int regno, const Reg& reg, int64_t off, int64_t size, int64_t mem_size, bool zero_ok) {
    const Scalar& v = reg.val;
    if (v.smin < 0 && (v.smin == INT64_MIN || off + v.smin != static_cast<int32_t>(off + v.smin) || v.smin + off < 0))
        return env.fail("R%d min value is negative, either use unsigned index or do a if (index >=0) check.", regno);
    if (!within(v.smin + off, size, mem_size, zero_ok))
        return env.fail("R%d min value is outside of the allowed memory range (%s)", regno,
                        mem_error(reg, regno, v.smin + off, size, mem_size).c_str());
    if (v.umax >= static_cast<uint64_t>(kMaxVarOff))
        return env.fail("R%d unbounded memory access, make sure to bounds check any such access", regno);
    if (!within(static_cast<int64_t>(v.umax) + off, size, mem_size, zero_ok))
        return env.fail("R%d max value is outside of the allowed memory range (%s)", regno,
                        mem_error(reg, regno, static_cast<int64_t>(v.umax) + off, size, mem_size).c_str());
    return true;
}

/// Map value accesses must not touch the special fields (spin lock, timer, workqueue).
bool check_special_fields(Env& env, const MapInfo& map, const Reg& reg, int64_t off, int64_t size) {
    struct Field {
        int32_t off;
        uint32_t size;
        const char* name;
    };
    const Field fields[] = {{map.spin_lock_off, 4, "bpf_spin_lock"}, {map.timer_off, 16, "bpf_timer"},
                            {map.wq_off, 16, "bpf_wq"}};
    const int64_t lo = reg.val.smin + off;
    const int64_t hi = static_cast<int64_t>(reg.val.umax) + off + size;
    for (const Field& f : fields) {
        if (f.off < 0) continue;
        if (lo < f.off + static_cast<int64_t>(f.size) && f.off < hi)
            return env.fail("%s cannot be accessed directly by load/store", f.name);
    }
    return true;
}

bool check_map_value_access(Env& env, int regno, const Reg& reg, int64_t off, uint32_t size, Access access,
                            bool zero_ok) {
    const MapInfo* map = env.map(reg.map);
    if (!map) return env.fail("R%d points to an unknown map", regno);
    const uint32_t flags = map->flags;
    if (access == Access::Write && (flags & maps::kFRdonlyProg))
        return env.fail("write into map forbidden, value_size=%u off=%lld size=%u", map->value_size,
                        (long long)(off + static_cast<int64_t>(reg.val.var_off.value)), size);
    if (access == Access::Read && (flags & maps::kFWronlyProg))
        return env.fail("read from map forbidden, value_size=%u off=%lld size=%u", map->value_size,
                        (long long)(off + static_cast<int64_t>(reg.val.var_off.value)), size);
    BPFVM_CHECK(check_region(env, regno, reg, off, size, map->value_size + kValueSizeSlack, zero_ok));
    return check_special_fields(env, *map, reg, off, size);
}

// ---- Packet

bool may_access_packet(const Env& env, Access access) {
    switch (env.opt.type) {
        case ProgramType::LwtIn:
        case ProgramType::LwtOut:
        case ProgramType::LwtSeg6local:
        case ProgramType::SkReuseport:
        case ProgramType::FlowDissector:
        case ProgramType::CgroupSkb:
            return access == Access::Read;
        case ProgramType::SchedCls:
        case ProgramType::SchedAct:
        case ProgramType::Xdp:
        case ProgramType::LwtXmit:
        case ProgramType::SkSkb:
        case ProgramType::SkMsg:
            return true;
        case ProgramType::CgroupSockopt:
            return true;
        default:
            return false;
    }
}

bool check_packet_access(Env& env, int regno, const Reg& reg, int64_t off, uint32_t size, bool zero_ok) {
    if (reg.val.smin < 0)
        return env.fail("R%d min value is negative, either use unsigned index or do a if (index >=0) check.", regno);
    if (reg.range < 0 || !within(off, size, reg.range, zero_ok))
        return env.fail("R%d offset is outside of the packet (%s)", regno, mem_error(reg, regno, off, size, reg.range).c_str());
    return true;
}

/// save_aux_ptr_type: one memory instruction must see one kind of base pointer on every path.
bool note_pointer_kind(Env& env, RegType type) {
    InsnAux& aux = env.aux[env.insn_idx];
    const auto kind = static_cast<uint8_t>(1 + static_cast<uint8_t>(type));
    if (aux.ptr_kind == 0) {
        aux.ptr_kind = kind;
        return true;
    }
    if (aux.ptr_kind == kind) return true;
    // The kernel tolerates mixes among pointer types it converts the same way; ctx vs anything else
    // is what breaks its context rewriting.
    const auto ctx = static_cast<uint8_t>(1 + static_cast<uint8_t>(RegType::Ctx));
    if (aux.ptr_kind == ctx || kind == ctx) return env.fail("same insn cannot be used with different pointers");
    return true;
}

}  // namespace

bool check_mem_access(Env& env, int regno, int32_t off, uint32_t size, Access access, int value_regno,
                      bool sign_extend, bool strict_alignment_once, bool is_imm_store, int64_t imm) {
    State& st = env.cur->st;
    const Reg reg = st.reg(regno);  // a copy: the value register may be the base register
    BPFVM_CHECK(check_alignment(env, reg, off, size, strict_alignment_once));
    const int64_t eoff = static_cast<int64_t>(off) + reg.off;
    const bool leaks = access == Access::Write && value_regno >= 0 && is_pointer_value(env, st.reg(value_regno));
    const bool maybe_null = reg.maybe_null();
    if (reg.type == RegType::MapKey && !maybe_null) {
        if (access == Access::Write) return env.fail("write to change key R%d not allowed", regno);
        const MapInfo* map = env.map(reg.map);
        BPFVM_CHECK(check_region(env, regno, reg, eoff, size, map ? map->key_size : 0, false));
        if (value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else if (reg.type == RegType::MapValue && !maybe_null) {
        if (leaks) return env.fail("R%d leaks addr into map", value_regno);
        BPFVM_CHECK(check_map_value_access(env, regno, reg, eoff, size, access, false));
        if (access == Access::Read && value_regno >= 0) {
            const MapInfo* map = env.map(reg.map);
            const int64_t at = eoff + static_cast<int64_t>(reg.val.var_off.value);
            if (reg.val.is_const() && map->frozen && (map->flags & maps::kFRdonlyProg) && at >= 0 &&
                static_cast<size_t>(at) + size <= map->contents.size()) {
                uint64_t v = 0;
                std::memcpy(&v, map->contents.data() + at, size);
                if (sign_extend && size < 8) {
                    const unsigned shift = 64 - 8 * size;
                    v = static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
                }
                st.reg(value_regno) = Reg::known(v);
                return note_pointer_kind(env, reg.type);
            }
            mark_unknown(st.reg(value_regno));
        }
    } else if (reg.type == RegType::Mem || reg.type == RegType::Buf) {
        if (maybe_null) return env.fail("R%d invalid mem access '%s'", regno, reg_type_name(reg).c_str());
        const bool rdonly = (reg.flags & kRdonly) != 0;
        if (access == Access::Write && rdonly) return env.fail("R%d cannot write into %s", regno, reg_type_name(reg).c_str());
        if (leaks) return env.fail("R%d leaks addr into mem", value_regno);
        BPFVM_CHECK(check_region(env, regno, reg, eoff, size, reg.mem_size, false));
        if (value_regno >= 0 && access == Access::Read) mark_unknown(st.reg(value_regno));
    } else if (reg.type == RegType::Ctx && !maybe_null) {
        if (leaks) return env.fail("R%d leaks addr into ctx", value_regno);
        if (reg.off < 0)
            return env.fail("negative offset %s ptr R%d off=%d disallowed", reg_type_name(reg).c_str(), regno, reg.off);
        if (reg.off) return env.fail("dereference of modified ctx ptr R%d off=%d disallowed", regno, reg.off);
        if (!reg.val.is_const() || reg.val.const_value() != 0)
            return env.fail("variable ctx access var_off=%s disallowed", reg.val.var_off.to_string().c_str());
        const ProgramType t = env.opt.type;
        const bool args_ctx = t == ProgramType::RawTracepoint || t == ProgramType::RawTracepointWritable ||
                              t == ProgramType::Tracing || t == ProgramType::Lsm || t == ProgramType::Kprobe ||
                              t == ProgramType::Tracepoint || t == ProgramType::PerfEvent;
        if (sign_extend && !args_ctx) return env.fail("invalid bpf_context access off=%d size=%u", off, size);
        CtxResult r;
        BPFVM_CHECK(check_ctx_access(env, regno, off, size, access, r));
        InsnFacts& facts = env.aux[env.insn_idx].facts;
        facts.ctx_access = true;
        facts.ctx_off = off;
        if (access == Access::Read && value_regno >= 0) {
            Reg& dst = st.reg(value_regno);
            if (r.type == RegType::Scalar) {
                mark_unknown(dst);
            } else {
                dst = Reg::pointer(r.type, r.flags);
                if (r.flags & kMaybeNull) dst.id = env.new_id();
            }
        }
    } else if (reg.type == RegType::Stack) {
        BPFVM_CHECK(check_stack_access(env, regno, reg, off + reg.off, size, access, value_regno, is_imm_store, imm));
    } else if (reg.is_packet() && !maybe_null) {
        if (access == Access::Write && !may_access_packet(env, access)) return env.fail("cannot write into packet");
        if (leaks) return env.fail("R%d leaks addr into packet", value_regno);
        BPFVM_CHECK(check_packet_access(env, regno, reg, eoff, size, false));
        if (access == Access::Read && value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else if (reg.type == RegType::FlowKeys && !maybe_null) {
        if (leaks) return env.fail("R%d leaks addr into flow keys", value_regno);
        if (!reg.val.is_const() || reg.val.const_value() != 0)
            return env.fail("R%d invalid flow keys access: variable offset", regno);
        BPFVM_CHECK(check_flow_keys_access(env, static_cast<int32_t>(eoff), size));
        if (access == Access::Read && value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else if ((reg.type == RegType::Socket || reg.type == RegType::SockCommon || reg.type == RegType::TcpSock ||
                reg.type == RegType::XdpSock) &&
               !maybe_null) {
        if (access == Access::Write) return env.fail("R%d cannot write into %s", regno, reg_type_name(reg).c_str());
        BPFVM_CHECK(check_sock_access(env, regno, static_cast<int32_t>(eoff), size, access));
        if (value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else if (reg.type == RegType::TpBuffer && !maybe_null) {
        if (eoff < 0) return env.fail("R%d invalid tracepoint buffer access: off=%lld, size=%u", regno, (long long)eoff, size);
        if (!reg.val.is_const())
            return env.fail("R%d invalid variable buffer offset: off=%lld, var_off=%s", regno, (long long)eoff,
                            reg.val.var_off.to_string().c_str());
        if (access == Access::Read && value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else if (reg.type == RegType::BtfId && !maybe_null) {
        env.aux[env.insn_idx].facts.probe = true;
        // Loads through kernel objects typed by BTF are probe reads the kernel guards with
        // exception tables; without the kernel's BTF the fields are unknown scalars here.
        if (access == Access::Write && !(reg.flags & kAlloc))
            return env.fail("only read is supported");
        if (access == Access::Read && value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else if (reg.type == RegType::ConstMap && !maybe_null) {
        // Reads of struct bpf_map fields through BTF (check_ptr_to_map_access).
        if (!env.opt.privileged) return env.fail("Cannot access kernel 'struct bpf_map' from non-GPL compatible program");
        if (eoff < 0) return env.fail("R%d is bpf_map invalid negative access: off=%lld", regno, (long long)eoff);
        env.aux[env.insn_idx].facts.probe = true;  // kernel memory: userspace has no struct bpf_map to read
        if (access == Access::Write) {
            const MapInfo* map = env.map(reg.map);
            const std::string_view kstruct = map ? map_kernel_struct(map->type) : std::string_view();
            return env.fail("only read from %.*s is supported", static_cast<int>(kstruct.size()), kstruct.data());
        }
        if (value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else if (reg.type == RegType::Arena) {
        env.aux[env.insn_idx].facts.probe = true;
        if (access == Access::Read && value_regno >= 0) mark_unknown(st.reg(value_regno));
    } else {
        return env.fail("R%d invalid mem access '%s'", regno, reg_type_name(reg).c_str());
    }
    if (access == Access::Read && value_regno >= 0 && size < 8) {
        Reg& dst = st.reg(value_regno);
        if (dst.type == RegType::Scalar) dst.val = extend_loaded(dst.val, size, sign_extend);
    }
    return true;
}

bool check_load(Env& env, const Insn& insn) {
    BPFVM_CHECK(check_reg_read(env, insn.src));
    BPFVM_CHECK(check_reg_write(env, insn.dst));
    const RegType type = env.cur->st.reg(insn.src).type;
    const OpInfo& info = op_info(insn.op);
    const bool sx = info.form == Form::Ldxs;
    BPFVM_CHECK(check_mem_access(env, insn.src, insn.off, info.width / 8, Access::Read, insn.dst, sx,
                                 info.form == Form::LoadAcquire));
    return note_pointer_kind(env, type);
}

bool check_store(Env& env, const Insn& insn) {
    const OpInfo& info = op_info(insn.op);
    const uint32_t size = info.width / 8;
    if (info.form == Form::St) {
        BPFVM_CHECK(check_reg_read(env, insn.dst));
        const Reg& dst = env.cur->st.reg(insn.dst);
        if (dst.type == RegType::Ctx)
            return env.fail("BPF_ST stores into R%d %s is not allowed", insn.dst, reg_type_name(dst).c_str());
        const RegType type = dst.type;
        BPFVM_CHECK(check_mem_access(env, insn.dst, insn.off, size, Access::Write, -1, false, false, true, insn.imm));
        return note_pointer_kind(env, type);
    }
    BPFVM_CHECK(check_reg_read(env, insn.src));
    BPFVM_CHECK(check_reg_read(env, insn.dst));
    const RegType type = env.cur->st.reg(insn.dst).type;
    BPFVM_CHECK(check_mem_access(env, insn.dst, insn.off, size, Access::Write, insn.src, false,
                                 info.form == Form::StoreRelease));
    return note_pointer_kind(env, type);
}

bool check_atomic(Env& env, const Insn& insn) {
    const OpInfo& info = op_info(insn.op);
    const uint32_t size = info.width / 8;
    if (info.form == Form::LoadAcquire || info.form == Form::StoreRelease) {
        // smp_load_acquire / smp_store_release: a load or store, on memory atomics may touch.
        const bool load = info.form == Form::LoadAcquire;
        const int base = load ? insn.src : insn.dst;
        BPFVM_CHECK(check_reg_read(env, base));
        if (!load) BPFVM_CHECK(check_reg_read(env, insn.src));
        const Reg& b = env.cur->st.reg(base);
        if (b.type == RegType::Ctx || b.is_packet() || b.type == RegType::FlowKeys || b.type == RegType::Socket ||
            b.type == RegType::SockCommon || b.type == RegType::TcpSock || b.type == RegType::XdpSock)
            return env.fail("BPF_ATOMIC %s R%d %s is not allowed", load ? "loads from" : "stores into", base,
                            reg_type_name(b).c_str());
        return load ? check_load(env, insn) : check_store(env, insn);
    }
    if (size != 4 && size != 8) return env.fail("invalid atomic operand size");
    BPFVM_CHECK(check_reg_read(env, insn.src));
    BPFVM_CHECK(check_reg_read(env, insn.dst));
    State& st = env.cur->st;
    const bool cmpxchg = insn.imm == 0xf1;
    const bool fetch = (insn.imm & 1) != 0;
    if (cmpxchg) {
        BPFVM_CHECK(check_reg_read(env, 0));
        if (is_pointer_value(env, st.reg(0))) return env.fail("R%d leaks addr into mem", 0);
    }
    if (is_pointer_value(env, st.reg(insn.src))) return env.fail("R%d leaks addr into mem", insn.src);
    const Reg& dst = st.reg(insn.dst);
    if (dst.type == RegType::Ctx || dst.is_packet() || dst.type == RegType::FlowKeys || dst.type == RegType::Socket ||
        dst.type == RegType::SockCommon || dst.type == RegType::TcpSock || dst.type == RegType::XdpSock)
        return env.fail("BPF_ATOMIC stores into R%d %s is not allowed", insn.dst, reg_type_name(dst).c_str());
    int load_reg = -1;
    if (fetch) {
        load_reg = cmpxchg ? 0 : insn.src;
        BPFVM_CHECK(check_reg_write(env, load_reg));
    }
    const RegType type = dst.type;
    BPFVM_CHECK(check_mem_access(env, insn.dst, insn.off, size, Access::Read, -1, false, true));
    if (load_reg >= 0) BPFVM_CHECK(check_mem_access(env, insn.dst, insn.off, size, Access::Read, load_reg, false, true));
    BPFVM_CHECK(check_mem_access(env, insn.dst, insn.off, size, Access::Write, -1, false, true));
    return note_pointer_kind(env, type);
}

bool check_helper_mem_access(Env& env, int regno, int64_t size, Access access, bool zero_ok, bool raw) {
    State& st = env.cur->st;
    const Reg reg = st.reg(regno);
    switch (reg.type) {
        case RegType::Packet:
        case RegType::PacketMeta:
            return check_packet_access(env, regno, reg, reg.off, static_cast<uint32_t>(size), zero_ok);
        case RegType::MapKey: {
            if (access == Access::Write) return env.fail("R%d cannot write into %s", regno, reg_type_name(reg).c_str());
            const MapInfo* map = env.map(reg.map);
            return check_region(env, regno, reg, reg.off, size, map ? map->key_size : 0, zero_ok);
        }
        case RegType::MapValue:
            return check_map_value_access(env, regno, reg, reg.off, static_cast<uint32_t>(size), access, zero_ok);
        case RegType::Mem:
        case RegType::Buf:
            if ((reg.flags & kRdonly) && access == Access::Write)
                return env.fail("R%d cannot write into %s", regno, reg_type_name(reg).c_str());
            return check_region(env, regno, reg, reg.off, size, reg.mem_size, zero_ok);
        case RegType::Stack:
            return check_stack_range(env, regno, reg, reg.off, size, access, zero_ok, raw);
        case RegType::BtfId:
            return true;
        default:
            if (zero_ok && size == 0 && reg.is_null()) return true;
            return env.fail("R%d type=%s expected=fp", regno, reg_type_name(reg).c_str());
    }
}

bool check_mem_size_reg(Env& env, int mem_regno, int size_regno, Access access, bool zero_ok, bool raw) {
    const Reg& size = env.cur->st.reg(size_regno);
    if (size.type != RegType::Scalar) return env.fail("R%d type=%s expected=scalar", size_regno, reg_type_name(size).c_str());
    if (!size.val.is_const()) raw = false;
    if (size.val.smin < 0) return env.fail("R%d min value is negative, either use unsigned or 'var &= const'", size_regno);
    if (size.val.umin == 0 && !zero_ok)
        return env.fail("R%d invalid zero-sized read: u64=[%llu,%llu]", size_regno, (unsigned long long)size.val.umin,
                        (unsigned long long)size.val.umax);
    if (size.val.umax >= (uint64_t{1} << 29))
        return env.fail("R%d unbounded memory access, use 'var &= const' or 'if (var < const)'", size_regno);
    BPFVM_CHECK(check_helper_mem_access(env, mem_regno, static_cast<int64_t>(size.val.umax), access, zero_ok, raw));
    return mark_precise(env, size_regno);
}

}  // namespace bpfvm::verifier
