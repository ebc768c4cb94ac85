// Stack accesses, as the kernel's check_stack_read / check_stack_write and
// check_stack_range_initialized: bounds within the frame, spills and fills that keep a register's
// type and exact bounds, byte-wise initialisation (misc, zero, spill), variable-offset accesses,
// and the ranges helpers read or write.
#include <algorithm>
#include <cstring>

#include "checks.hpp"
#include "walk.hpp"

namespace bpfvm::verifier {
namespace {

const char* access_verb(Access a) { return a == Access::Write ? " write to" : " read from"; }

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

}  // namespace

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

}  // namespace bpfvm::verifier
