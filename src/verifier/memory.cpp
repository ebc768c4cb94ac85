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

constexpr uint32_t kMapRdonlyProg = 1u << 7;  // BPF_F_RDONLY_PROG
constexpr uint32_t kMapWronlyProg = 1u << 8;  // BPF_F_WRONLY_PROG

const char* access_verb(Access a) { return a == Access::Write ? " write to" : " read from"; }

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
    if (access == Access::Write && (flags & kMapRdonlyProg))
        return env.fail("write into map forbidden, value_size=%u off=%lld size=%u", map->value_size,
                        (long long)(off + static_cast<int64_t>(reg.val.var_off.value)), size);
    if (access == Access::Read && (flags & kMapWronlyProg))
        return env.fail("read from map forbidden, value_size=%u off=%lld size=%u", map->value_size,
                        (long long)(off + static_cast<int64_t>(reg.val.var_off.value)), size);
    BPFVM_CHECK(check_region(env, regno, reg, off, size, map->value_size, zero_ok));
    return check_special_fields(env, *map, reg, off, size);
}

// ---- Stack

/// check_stack_access_within_bounds; grows the frame's stack to cover the access.
bool check_stack_bounds(Env& env, int regno, const Reg& reg, int32_t off, int64_t size, const char* what,
                        Access access) {
    Frame& frame = env.cur->st.frames[reg.frameno];
    int64_t min_off, max_off;
    if (reg.val.is_const()) {
        min_off = static_cast<int64_t>(reg.val.const_value()) + off;
        max_off = min_off + size;
    } else {
        if (reg.val.smax >= kMaxVarOff || reg.val.smin <= -kMaxVarOff)
            return env.fail("invalid unbounded variable-offset%s stack R%d", what, regno);
        min_off = reg.val.smin + off;
        max_off = reg.val.smax + off + size;
    }
    const int64_t min_valid =
        (access == Access::Write || env.opt.privileged) ? -kMaxStack : -static_cast<int64_t>(frame.allocated());
    bool bad = min_off < min_valid || min_off > -1 || max_off > 0 || size < 0;
    if (bad) {
        if (reg.val.is_const())
            return env.fail("invalid%s stack R%d off=%d size=%lld", what, regno,
                            static_cast<int32_t>(static_cast<int64_t>(reg.val.const_value()) + off), (long long)size);
        return env.fail("invalid variable-offset%s stack R%d var_off=%s off=%d size=%lld", what, regno,
                        reg.val.var_off.to_string().c_str(), off, (long long)size);
    }
    frame.grow(static_cast<uint32_t>(-min_off));
    Subprog& sp = env.subprogs[frame.subprog];
    sp.stack_depth = std::max<uint32_t>(sp.stack_depth, static_cast<uint32_t>(-min_off));
    return true;
}

/// Byte `addr` (fp-relative, negative) of a frame.
SlotByte& byte_at(Frame& frame, int32_t addr) {
    StackSlot* s = frame.slot_at(addr);
    const int32_t base = -static_cast<int32_t>((static_cast<uint32_t>(-addr - 1) / 8 + 1) * 8);
    return s->bytes[addr - base];
}

/// The slot index and the first byte within it of fp+off.
void slot_pos(int32_t off, uint32_t& spi, uint32_t& byte) {
    spi = static_cast<uint32_t>(-off - 1) / 8;
    const int32_t base = -static_cast<int32_t>((spi + 1) * 8);
    byte = static_cast<uint32_t>(off - base);
}

bool is_spillable(const Reg& reg) {
    return reg.is_pointer();  // every pointer type the kernel knows is spillable
}

/// Records a stack access in the path history (precision backtracking replays fills and spills).
void note_stack_access(Env& env, uint32_t frame, uint32_t spi) {
    HistEntry& h = current_hist_entry(env);
    h.stack_slot = static_cast<int32_t>(spi);
    h.frame = static_cast<uint8_t>(frame);
}

bool write_stack_fixed(Env& env, Frame& frame, int32_t off, uint32_t size, int value_regno, bool is_imm_store,
                       int64_t imm) {
    State& st = env.cur->st;
    uint32_t spi, first;
    slot_pos(off, spi, first);
    StackSlot& slot = frame.stack[spi];
    const Reg* reg = value_regno >= 0 ? &st.reg(value_regno) : nullptr;
    const bool priv = env.opt.privileged;
    if (!priv && slot.is_spill() && slot.spilled.type != RegType::Scalar && size != 8)
        return env.fail("attempt to corrupt spilled pointer on stack");
    if (slot.any(SlotByte::Iter) || slot.any(SlotByte::Dynptr)) {
        // Overwriting an iterator or a dynptr in place: the kernel refuses to destroy a live one.
        return env.fail("invalid write to stack: slot %d holds a %s", -static_cast<int>(spi + 1) * 8,
                        slot.any(SlotByte::Iter) ? "iterator" : "dynptr");
    }
    auto save_reg = [&](const Reg& r) {
        slot.spilled = r;
        for (uint32_t i = 0; i < 8; ++i) {
            if (i < size) {
                slot.bytes[i] = SlotByte::Spill;
            } else if (slot.bytes[i] != SlotByte::Zero &&
                       !(slot.bytes[i] == SlotByte::Invalid && priv)) {
                slot.bytes[i] = SlotByte::Misc;
            }
        }
        note_stack_access(env, frame.frameno, spi);
    };
    const bool aligned = (off % 8) == 0;
    if (reg && aligned && reg->type == RegType::Scalar && priv) {
        Reg copy = *reg;
        const bool fits = copy.val.width() <= 8 * size;
        if (fits) assign_scalar_id(env, st.reg(value_regno)), copy.id = st.reg(value_regno).id;
        save_reg(copy);
        if (!fits) slot.spilled.id = 0;
    } else if (!reg && aligned && is_imm_store && priv) {
        save_reg(Reg::known(static_cast<uint64_t>(imm)));
    } else if (reg && is_spillable(*reg)) {
        if (size != 8) return env.fail("invalid size of register spill");
        if (frame.frameno != st.curframe && reg->type == RegType::Stack)
            return env.fail("cannot spill pointers to stack into stack frame of the caller");
        save_reg(*reg);
    } else {
        SlotByte type = SlotByte::Misc;
        slot.spilled = Reg{};
        if (slot.any(SlotByte::Spill))
            for (auto& b : slot.bytes)
                if (b == SlotByte::Spill) b = SlotByte::Misc;
        if ((reg && reg->is_null()) || (!reg && is_imm_store && imm == 0)) {
            if (reg) BPFVM_CHECK(mark_precise(env, value_regno));
            type = SlotByte::Zero;
        }
        for (uint32_t i = 0; i < size; ++i) slot.bytes[first + i] = type;
    }
    return true;
}

/// check_stack_write_var_off: every byte in the range becomes data (or zero).
bool write_stack_var(Env& env, Frame& frame, const Reg& ptr, int32_t off, uint32_t size, int value_regno,
                     bool is_imm_store, int64_t imm) {
    State& st = env.cur->st;
    const Reg* value = value_regno >= 0 ? &st.reg(value_regno) : nullptr;
    const bool writing_zero = (value && value->is_null()) || (!value && is_imm_store && imm == 0);
    const int64_t min_off = ptr.val.smin + off;
    const int64_t max_off = ptr.val.smax + off + size;
    for (int64_t a = min_off; a < max_off; ++a) {
        StackSlot* s = frame.slot_at(static_cast<int32_t>(a));
        if (!s) continue;
        if (!env.opt.privileged && s->is_spill() && s->spilled.type != RegType::Scalar)
            return env.fail("spilled ptr in range of var-offset stack write; insn %u, ptr off: %lld", env.insn_idx,
                            (long long)a);
        SlotByte& b = byte_at(frame, static_cast<int32_t>(a));
        if (s->is_spill()) {
            s->spilled = Reg{};
            for (auto& x : s->bytes)
                if (x == SlotByte::Spill) x = SlotByte::Misc;
        }
        if (!(writing_zero && b == SlotByte::Zero)) {
            if (b == SlotByte::Invalid && !env.opt.privileged)
                return env.fail("uninit stack in range of var-offset write prohibited for !root; insn %u, off: %lld",
                                env.insn_idx, (long long)a);
            b = SlotByte::Misc;
        }
    }
    return true;
}

/// Reads of `size` bytes at fp+off (fixed offset) into `dst` (-1: nowhere, just checked).
bool read_stack_fixed(Env& env, Frame& frame, int32_t off, uint32_t size, int dst) {
    State& st = env.cur->st;
    uint32_t spi, first;
    slot_pos(off, spi, first);
    StackSlot& slot = frame.stack[spi];
    const bool uninit_ok = env.opt.privileged;
    if (slot.is_spill() && slot.bytes[0] == SlotByte::Spill) {
        uint32_t spill_size = 0;
        while (spill_size < 8 && slot.bytes[spill_size] == SlotByte::Spill) ++spill_size;
        const Reg& spilled = slot.spilled;
        if (size != 8 || spill_size != 8) {
            if (spilled.type != RegType::Scalar) return env.fail("invalid size of register fill");
            if (dst < 0) return true;
            if (size <= spill_size && first == 0) {
                Reg r = spilled;
                if (env.opt.privileged && size == 4 && spill_size == 4 && r.val.width() <= 32) {
                    assign_scalar_id(env, slot.spilled);
                    r.id = slot.spilled.id;
                }
                if (r.val.width() > size * 8) r.id = 0;
                st.reg(dst) = r;
                note_stack_access(env, frame.frameno, spi);
            } else {
                uint32_t spill_cnt = 0, zero_cnt = 0;
                for (uint32_t i = 0; i < size; ++i) {
                    const SlotByte b = slot.bytes[first + i];
                    if (b == SlotByte::Spill) ++spill_cnt;
                    else if (b == SlotByte::Zero) ++zero_cnt;
                    else if (b == SlotByte::Misc || (b == SlotByte::Invalid && uninit_ok)) continue;
                    else return env.fail("invalid read from stack off %d+%u size %u", off, i, size);
                }
                if (spill_cnt == size && spilled.val.is_const() && spilled.val.const_value() == 0) {
                    st.reg(dst) = Reg::known(0);
                    note_stack_access(env, frame.frameno, spi);
                } else if (zero_cnt == size) {
                    st.reg(dst) = Reg::known(0);
                } else {
                    mark_unknown(st.reg(dst));
                }
            }
            return true;
        }
        if (dst >= 0) {
            st.reg(dst) = spilled;
            note_stack_access(env, frame.frameno, spi);
        } else if (is_pointer_value(env, spilled)) {
            return env.fail("leaking pointer from stack off %d", off);
        }
        return true;
    }
    uint32_t zeros = 0;
    for (uint32_t i = 0; i < size; ++i) {
        const SlotByte b = slot.bytes[first + i];
        if (b == SlotByte::Misc) continue;
        if (b == SlotByte::Zero) {
            ++zeros;
            continue;
        }
        if (b == SlotByte::Invalid && uninit_ok) continue;
        if (b == SlotByte::Spill) continue;  // the tail of a narrower spill: data
        return env.fail("invalid read from stack off %d+%u size %u", off, i, size);
    }
    if (dst >= 0) {
        if (zeros == size) st.reg(dst) = Reg::known(0);
        else mark_unknown(st.reg(dst));
    }
    return true;
}

bool read_stack_var(Env& env, Frame& frame, const Reg& ptr, int32_t off, uint32_t size, int dst) {
    const int64_t min_off = ptr.val.smin + off;
    const int64_t max_off = ptr.val.smax + off + size;
    bool all_zero = true;
    for (int64_t a = min_off; a < max_off; ++a) {
        StackSlot* s = frame.slot_at(static_cast<int32_t>(a));
        const SlotByte b = s ? byte_at(frame, static_cast<int32_t>(a)) : SlotByte::Invalid;
        if (b != SlotByte::Zero) all_zero = false;
        if (b == SlotByte::Misc || b == SlotByte::Zero) continue;
        if (b == SlotByte::Spill && s->spilled.type == RegType::Scalar) continue;
        if (b == SlotByte::Invalid && env.opt.privileged) continue;
        if (b == SlotByte::Spill && env.opt.privileged) continue;
        return env.fail("invalid read from stack R%d var_off %s+%d size %u", env.insn(env.insn_idx).src,
                        ptr.val.var_off.to_string().c_str(), off, size);
    }
    if (dst >= 0) {
        if (all_zero) env.cur->st.reg(dst) = Reg::known(0);
        else mark_unknown(env.cur->st.reg(dst));
    }
    return true;
}

bool check_stack_access(Env& env, int regno, const Reg& reg, int32_t off, uint32_t size, Access access,
                        int value_regno, bool is_imm_store, int64_t imm) {
    BPFVM_CHECK(check_stack_bounds(env, regno, reg, off, size, access_verb(access), access));
    Frame& frame = env.cur->st.frames[reg.frameno];
    if (reg.val.is_const()) {
        const int32_t addr = static_cast<int32_t>(static_cast<int64_t>(reg.val.const_value()) + off);
        if (access == Access::Write) return write_stack_fixed(env, frame, addr, size, value_regno, is_imm_store, imm);
        return read_stack_fixed(env, frame, addr, size, value_regno);
    }
    if (access == Access::Write) return write_stack_var(env, frame, reg, off, size, value_regno, is_imm_store, imm);
    return read_stack_var(env, frame, reg, off, size, value_regno);
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

// A deliberately unsound build (cmake -DBPFVM_VERIFIER_MUTANT=ON, scripts/soundness-mutant.sh):
// the packet-range proof off by one byte, so that the soundness test shows it catches such a bug.
#ifdef BPFVM_VERIFIER_MUTANT
constexpr int64_t kPacketRangeSlack = 1;
#else
constexpr int64_t kPacketRangeSlack = 0;
#endif

bool check_packet_access(Env& env, int regno, const Reg& reg, int64_t off, uint32_t size, bool zero_ok) {
    if (reg.val.smin < 0)
        return env.fail("R%d min value is negative, either use unsigned index or do a if (index >=0) check.", regno);
    if (reg.range < 0 || !within(off, size, reg.range + kPacketRangeSlack, zero_ok))
        return env.fail("R%d offset is outside of the packet (%s)", regno, mem_error(reg, regno, off, size, reg.range).c_str());
    return true;
}

/// check_stack_range_initialized: a helper reads (or writes) `size` bytes of stack at reg + off.
bool check_stack_range(Env& env, int regno, const Reg& reg, int32_t off, int64_t size, Access access, bool zero_ok,
                       bool raw) {
    if (size == 0 && !zero_ok) return env.fail("invalid zero-sized read");
    // Helpers may touch the whole frame in both modes (the kernel 6.18 oracle: an unprivileged
    // helper read of stack never written fails as an uninitialised read, not out of bounds).
    BPFVM_CHECK(check_stack_bounds(env, regno, reg, off, size, " indirect access to", Access::Write));
    Frame& frame = env.cur->st.frames[reg.frameno];
    int64_t min_off, max_off;
    if (reg.val.is_const()) {
        min_off = max_off = static_cast<int64_t>(reg.val.const_value()) + off;
    } else {
        if (!env.opt.privileged)
            return env.fail("R%d variable offset stack access prohibited for !root, var_off=%s", regno,
                            reg.val.var_off.to_string().c_str());
        raw = false;
        min_off = reg.val.smin + off;
        max_off = reg.val.smax + off;
    }
    if (raw) {
        for (int64_t a = min_off; a < max_off + size; ++a) {
            const StackSlot* s = frame.slot_at(static_cast<int32_t>(a));
            if (s && byte_at(frame, static_cast<int32_t>(a)) == SlotByte::Dynptr)
                return env.fail("potential write to dynptr at off=%lld disallowed", (long long)a);
        }
        return true;
    }
    const bool clobber = access == Access::Write;
    for (int64_t a = min_off; a < max_off + size; ++a) {
        StackSlot* s = frame.slot_at(static_cast<int32_t>(a));
        if (!s) return env.fail("allocated_stack too small");
        SlotByte& b = byte_at(frame, static_cast<int32_t>(a));
        if (b == SlotByte::Misc) continue;
        if (b == SlotByte::Zero || (b == SlotByte::Invalid && env.opt.privileged)) {
            if (clobber) b = SlotByte::Misc;
            continue;
        }
        if (s->is_spill() && (s->spilled.type == RegType::Scalar || env.opt.privileged)) {
            if (clobber) {
                s->spilled = Reg::unknown_scalar();
                for (auto& x : s->bytes)
                    if (x == SlotByte::Spill) x = SlotByte::Misc;
            }
            continue;
        }
        if (reg.val.is_const())
            return env.fail("invalid indirect read from stack R%d off %lld+%lld size %lld", regno, (long long)min_off,
                            (long long)(a - min_off), (long long)size);
        return env.fail("invalid indirect read from stack R%d var_off %s+%lld size %lld", regno, reg.val.var_off.to_string().c_str(),
                        (long long)(a - min_off), (long long)size);
    }
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
            if (reg.val.is_const() && map->frozen && (map->flags & kMapRdonlyProg) && at >= 0 &&
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

void mark_stack_written(Env& env, uint32_t frame, int32_t off, uint32_t size) {
    Frame& f = env.cur->st.frames[frame];
    for (uint32_t i = 0; i < size; ++i) {
        const int32_t a = off + static_cast<int32_t>(i);
        StackSlot* s = f.slot_at(a);
        if (!s) continue;
        if (s->is_spill()) {
            s->spilled = Reg{};
            for (auto& b : s->bytes)
                if (b == SlotByte::Spill) b = SlotByte::Misc;
        }
        byte_at(f, a) = SlotByte::Misc;
    }
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
