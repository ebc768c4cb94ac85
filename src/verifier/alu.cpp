// ALU instructions: scalar arithmetic through the Scalar domain, pointer arithmetic as the
// kernel's adjust_ptr_min_max_vals allows it (which pointer types, which operators, offset
// bounds), linked scalar ids for copies, and the unprivileged restrictions (sanitize_ptr_alu,
// sanitize_check_bounds): no pointer leaks, no mixed-sign offsets, no out-of-range pointers.
#include <algorithm>
#include <cstdlib>

#include "checks.hpp"

namespace bpfvm::verifier {
namespace {

constexpr uint32_t kAddConst = 1u << 31;  // BPF_ADD_CONST: `rX = rY + off` linked to rY's id

/// The BPF_OP field (opcode & 0xf0) of an ALU instruction.
uint8_t alu_code(const Insn& insn) { return op_info(insn.op).opcode & 0xf0; }
bool is_alu64(const Insn& insn) { return (op_info(insn.op).opcode & 0x07) == 0x07; }
bool src_is_reg(const Insn& insn) { return (op_info(insn.op).opcode & 0x08) != 0; }

const char* alu_string(uint8_t code) {
    static const char* names[] = {"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=", "=", "s>>=", "endian"};
    return (code >> 4) < 14 ? names[code >> 4] : "?";
}

std::optional<AluOp> scalar_op(const Insn& insn) {
    const bool sign = op_info(insn.op).match == Match::Off && op_info(insn.op).match_value == 1;
    switch (alu_code(insn)) {
        case 0x00: return AluOp::Add;
        case 0x10: return AluOp::Sub;
        case 0x20: return AluOp::Mul;
        case 0x30: return sign ? AluOp::SDiv : AluOp::Div;
        case 0x40: return AluOp::Or;
        case 0x50: return AluOp::And;
        case 0x60: return AluOp::Lsh;
        case 0x70: return AluOp::Rsh;
        case 0x80: return AluOp::Neg;
        case 0x90: return sign ? AluOp::SMod : AluOp::Mod;
        case 0xa0: return AluOp::Xor;
        case 0xb0: return AluOp::Mov;
        case 0xc0: return AluOp::Arsh;
        default: return std::nullopt;
    }
}

enum class Reason { None, Bounds, Type, Paths, Limit };

bool sanitize_fail(Env& env, const Insn& insn, Reason reason, bool off_is_dst) {
    const char* op = alu_code(insn) == 0x00 ? "add" : "sub";
    const char* tail = "pointer arithmetic with it prohibited for !root";
    switch (reason) {
        case Reason::Bounds:
            return env.fail("R%d has unknown scalar with mixed signed bounds, %s", off_is_dst ? insn.dst : insn.src, tail);
        case Reason::Type:
            return env.fail("R%d has pointer with unsupported alu operation, %s", off_is_dst ? insn.src : insn.dst, tail);
        case Reason::Paths:
            return env.fail("R%d tried to %s from different maps, paths or scalars, %s", insn.dst, op, tail);
        case Reason::Limit:
            return env.fail("R%d tried to %s beyond pointer bounds, %s", insn.dst, op, tail);
        case Reason::None:
            break;
    }
    return true;
}

/// update_alu_sanitation_state: one instruction must sanitize the same way on every path.
Reason note_alu_state(Env& env, uint32_t state, uint32_t limit) {
    InsnAux& aux = env.aux[env.insn_idx];
    if (aux.alu_state && (aux.alu_state != state || aux.alu_limit != limit)) return Reason::Paths;
    aux.alu_state = state;
    aux.alu_limit = limit;
    return Reason::None;
}

/// retrieve_ptr_limit: how far a stack or map value pointer may move.
Reason ptr_limit(const Env& env, const Reg& ptr, bool mask_to_left, uint32_t& limit) {
    int64_t max = 0, lim = 0;
    if (ptr.type == RegType::Stack) {
        max = kMaxStack + (mask_to_left ? 1 : 0);
        lim = -(static_cast<int64_t>(ptr.val.var_off.value) + ptr.off);
    } else if (ptr.type == RegType::MapValue) {
        const MapInfo* map = env.map(ptr.map);
        max = map ? map->value_size : 0;
        lim = (mask_to_left ? ptr.val.smin : static_cast<int64_t>(ptr.val.umax)) + ptr.off;
    } else {
        return Reason::Type;
    }
    if (static_cast<uint64_t>(static_cast<uint32_t>(lim)) >= static_cast<uint64_t>(max) ||
        lim != static_cast<uint32_t>(lim))
        return Reason::Limit;
    limit = static_cast<uint32_t>(lim);
    return Reason::None;
}

bool sane_offset(Env& env, const Reg& reg, const Reg& ptr, bool is_ptr) {
    const std::string type = reg_type_name(ptr);
    const bool known = reg.val.is_const();
    const auto val = static_cast<int64_t>(reg.val.var_off.value);
    if (known && (val >= kMaxVarOff || val <= -kMaxVarOff))
        return env.fail("math between %s pointer and %lld is not allowed", type.c_str(), (long long)val);
    if (is_ptr && (reg.off >= kMaxVarOff || reg.off <= -kMaxVarOff))
        return env.fail("%s pointer offset %d is not allowed", type.c_str(), reg.off);
    if (reg.val.smin == INT64_MIN)
        return env.fail("math between %s pointer and register with unbounded min value is not allowed", type.c_str());
    if (reg.val.smin >= kMaxVarOff || reg.val.smin <= -kMaxVarOff)
        return env.fail("value %lld makes %s pointer be out of bounds", (long long)reg.val.smin, type.c_str());
    return true;
}

/// adjust_ptr_min_max_vals: `dst = ptr op off` where ptr is a pointer and off a scalar.
bool adjust_pointer(Env& env, const Insn& insn, Reg ptr, Reg off, bool off_is_dst) {
    Reg& dst = env.cur->st.reg(insn.dst);
    const uint8_t code = alu_code(insn);
    const bool known = off.val.is_const();
    const Scalar& o = off.val;
    if ((known && (o.smin != o.smax || o.umin != o.umax)) || o.smin > o.smax || o.umin > o.umax) {
        mark_unknown(dst);
        return true;
    }
    if (!is_alu64(insn)) {
        if (code == 0x10 && env.opt.privileged) {
            mark_unknown(dst);
            return true;
        }
        return env.fail("R%d 32-bit pointer arithmetic prohibited", insn.dst);
    }
    if (ptr.maybe_null())
        return env.fail("R%d pointer arithmetic on %s prohibited, null-check it first", insn.dst,
                        reg_type_name(ptr).c_str());
    if (ptr.type == RegType::Mem && (ptr.flags & kUntrusted)) return true;
    switch (ptr.type) {
        case RegType::Ctx:
        case RegType::MapValue:
        case RegType::MapKey:
        case RegType::Stack:
        case RegType::PacketMeta:
        case RegType::Packet:
        case RegType::TpBuffer:
        case RegType::BtfId:
        case RegType::Mem:
        case RegType::Buf:
        case RegType::Func:
            break;
        case RegType::FlowKeys:
            if (known) break;
            [[fallthrough]];
        case RegType::ConstMap:
            if (known && o.smin == 0 && code == 0x00) break;
            [[fallthrough]];
        default:
            return env.fail("R%d pointer arithmetic on %s prohibited", insn.dst, reg_type_name(ptr).c_str());
    }
    BPFVM_CHECK(sane_offset(env, off, ptr, false));
    BPFVM_CHECK(sane_offset(env, ptr, ptr, true));

    // Unprivileged: the kernel masks the offset at run time and must be able to bound it.
    const bool sanitize = !env.opt.privileged && src_is_reg(insn) && (code == 0x00 || code == 0x10);
    bool mask_to_left = false;
    uint32_t first_limit = 0;
    if (sanitize) {
        if (!known && (o.smin < 0) != (o.smax < 0)) return sanitize_fail(env, insn, Reason::Bounds, off_is_dst);
        const bool off_neg = o.smin < 0;
        mask_to_left = (code == 0x00 && off_neg) || (code == 0x10 && !off_neg);
        const Reason r = ptr_limit(env, ptr, mask_to_left, first_limit);
        if (r != Reason::None) return sanitize_fail(env, insn, r, off_is_dst);
    }

    Reg out = ptr;
    out.val.mark_unbounded32();
    const Scalar& p = ptr.val;
    if (code == 0x00) {
        const int64_t sum = static_cast<int64_t>(ptr.off) + o.smin;
        if (known && sum == static_cast<int32_t>(sum)) {
            out.off = static_cast<int32_t>(sum);
        } else {
            out.val = pointer_offset_add(p, o);
            if (ptr.is_packet()) {
                out.id = env.new_id();
                out.range = 0;
            }
        }
    } else if (code == 0x10) {
        if (off_is_dst) return env.fail("R%d tried to subtract pointer from scalar", insn.dst);
        if (ptr.type == RegType::Stack) return env.fail("R%d subtraction from stack pointer prohibited", insn.dst);
        const int64_t diff = static_cast<int64_t>(ptr.off) - o.smin;
        if (known && diff == static_cast<int32_t>(diff)) {
            out.off = static_cast<int32_t>(diff);
        } else {
            out.val = pointer_offset_sub(p, o);
            if (ptr.is_packet()) {
                out.id = env.new_id();
                if (o.smin < 0) out.range = 0;
            }
        }
    } else if (code == 0x40 || code == 0x50 || code == 0xa0) {
        return env.fail("R%d bitwise operator %s on pointer prohibited", insn.dst, alu_string(code));
    } else {
        return env.fail("R%d pointer arithmetic with %s operator prohibited", insn.dst, alu_string(code));
    }
    BPFVM_CHECK(sane_offset(env, out, ptr, true));
    out.val.sync();

    if (!env.opt.privileged) {
        // sanitize_check_bounds
        if (out.type == RegType::Stack) {
            const int64_t at = out.off + static_cast<int64_t>(out.val.var_off.value);
            if (!out.val.is_const())
                return env.fail("R%d variable stack access prohibited for !root, var_off=%s off=%d", insn.dst,
                                out.val.var_off.to_string().c_str(), out.off);
            if (at >= 0 || at < -kMaxStack)
                return env.fail("R%d stack pointer arithmetic goes out of range, prohibited for !root; off=%lld",
                                insn.dst, (long long)at);
        } else if (out.type == RegType::MapValue) {
            const MapInfo* map = env.map(out.map);
            const int64_t lo = out.val.smin + out.off;
            const int64_t hi = static_cast<int64_t>(out.val.umax) + out.off;
            if (!map || lo < 0 || out.val.umax >= static_cast<uint64_t>(kMaxVarOff) || hi + 1 > map->value_size)
                return env.fail("R%d pointer arithmetic of map value goes out of range, prohibited for !root", insn.dst);
        }
        if (sanitize) {
            uint32_t limit = 0;
            const Reason r = ptr_limit(env, out, mask_to_left, limit);
            if (r != Reason::None) return sanitize_fail(env, insn, r, off_is_dst);
            const uint32_t state = (o.smin < 0 ? 1u : 0u) | (known ? 2u : 0u) | (off_is_dst ? 8u : 4u);
            const uint32_t window = static_cast<uint32_t>(std::llabs(static_cast<int64_t>(first_limit) - limit));
            const Reason p2 = note_alu_state(env, state, window);
            if (p2 != Reason::None) return sanitize_fail(env, insn, p2, off_is_dst);
        }
    }
    dst = out;
    return true;
}

bool check_mov(Env& env, const Insn& insn) {
    State& st = env.cur->st;
    if (src_is_reg(insn)) BPFVM_CHECK(check_reg_read(env, insn.src));
    BPFVM_CHECK(check_reg_write(env, insn.dst));
    Reg& dst = st.reg(insn.dst);
    if (!src_is_reg(insn)) {
        dst = Reg::known(is_alu64(insn) ? static_cast<uint64_t>(insn.imm)
                                        : static_cast<uint64_t>(static_cast<uint32_t>(insn.imm)));
        return true;
    }
    Reg& src = st.reg(insn.src);
    const OpInfo& info = op_info(insn.op);
    const unsigned sx = info.form == Form::Movsx ? static_cast<unsigned>(info.match_value) : 0;
    if (is_alu64(insn)) {
        if (sx == 0) {
            assign_scalar_id(env, src);
            copy_reg(dst, src);
            return true;
        }
        if (is_pointer_value(env, src)) return env.fail("R%d sign-extension part of pointer", insn.src);
        if (src.type != RegType::Scalar) {
            mark_unknown(dst);
            return true;
        }
        const bool no_sext = src.val.umax < (uint64_t{1} << (sx - 1));
        if (no_sext) assign_scalar_id(env, src);
        const Reg copy = src;
        dst = copy;
        if (!no_sext) dst.id = 0;
        dst.val = move_sign_extended(true, sx, copy.val);
        return true;
    }
    if (is_pointer_value(env, src)) return env.fail("R%d partial copy of pointer", insn.src);
    if (src.type != RegType::Scalar) {
        mark_unknown(dst);
        dst.val = alu(AluOp::Mov, false, Scalar::unknown(), Scalar::unknown());
        return true;
    }
    if (sx == 0) {
        const bool fits = src.val.width() <= 32;
        if (fits) assign_scalar_id(env, src);
        const Reg copy = src;
        dst = copy;
        if (!fits) dst.id = 0;
        dst.val = alu(AluOp::Mov, false, Scalar::unknown(), copy.val);
        dst.off = 0;
        dst.id &= ~kAddConst;
        return true;
    }
    const bool no_sext = src.val.umax < (uint64_t{1} << (sx - 1));
    if (no_sext) assign_scalar_id(env, src);
    const Reg copy = src;
    dst = copy;
    if (!no_sext) dst.id = 0;
    dst.val = move_sign_extended(false, sx, copy.val);
    return true;
}

}  // namespace

void copy_reg(Reg& dst, const Reg& src) { dst = src; }

bool check_alu(Env& env, const Insn& insn) {
    State& st = env.cur->st;
    const OpInfo& info = op_info(insn.op);
    const uint8_t code = alu_code(insn);
    if (info.form == Form::AddrSpaceCast) {
        // rX = addr_space_cast(rY, dst_as, src_as): arena pointers (as 1) and their user addresses.
        BPFVM_CHECK(check_reg_read(env, insn.src));
        BPFVM_CHECK(check_reg_write(env, insn.dst));
        const bool have_arena = std::any_of(env.maps.begin(), env.maps.end(), [](const MapInfo& m) { return m.type == MapType::Arena; });
        if (!have_arena) return env.fail("addr_space_cast insn can only be used in a program that has an associated arena");
        Reg& dst = st.reg(insn.dst);
        mark_unknown(dst);
        if ((insn.imm & 0xffff) == 1) dst = Reg::pointer(RegType::Arena);
        return true;
    }
    if (info.form == Form::Neg || info.form == Form::End) {
        BPFVM_CHECK(check_reg_read(env, insn.dst));
        Reg& dst = st.reg(insn.dst);
        if (is_pointer_value(env, dst)) return env.fail("R%d pointer arithmetic prohibited", insn.dst);
        BPFVM_CHECK(check_reg_write(env, insn.dst));
        if (dst.type != RegType::Scalar) {
            mark_unknown(dst);
            return true;
        }
        if (info.form == Form::Neg) {
            dst.val = alu(AluOp::Neg, is_alu64(insn), dst.val, Scalar::known(0));
        } else {
            const ByteOrder order = (info.opcode & 0x07) == 0x07 ? ByteOrder::Swap
                                    : (info.opcode & 0x08)       ? ByteOrder::ToBe
                                                                 : ByteOrder::ToLe;
            dst.val = byte_swap(order, info.width, dst.val);
        }
        dst.id = 0;
        dst.off = 0;
        return true;
    }
    if (code == 0xb0) return check_mov(env, insn);

    if (src_is_reg(insn)) BPFVM_CHECK(check_reg_read(env, insn.src));
    BPFVM_CHECK(check_reg_read(env, insn.dst));
    if ((code == 0x30 || code == 0x90) && !src_is_reg(insn) && insn.imm == 0) return env.fail("div by zero");
    if ((code == 0x60 || code == 0x70 || code == 0xc0) && !src_is_reg(insn)) {
        const int64_t width = is_alu64(insn) ? 64 : 32;
        if (insn.imm < 0 || insn.imm >= width) return env.fail("invalid shift %lld", (long long)insn.imm);
    }
    BPFVM_CHECK(check_reg_write(env, insn.dst));

    Reg& dst = st.reg(insn.dst);
    const Reg src = src_is_reg(insn) ? st.reg(insn.src) : Reg::known(static_cast<uint64_t>(insn.imm));
    if (src_is_reg(insn) && src.type != RegType::Scalar) {
        if (dst.type != RegType::Scalar) {
            if (code == 0x10 && env.opt.privileged) {
                mark_unknown(dst);
                return true;
            }
            return env.fail("R%d pointer %s pointer prohibited", insn.dst, alu_string(code));
        }
        BPFVM_CHECK(mark_precise(env, insn.dst));
        return adjust_pointer(env, insn, src, st.reg(insn.dst), true);
    }
    if (dst.type != RegType::Scalar) {
        if (src_is_reg(insn)) BPFVM_CHECK(mark_precise(env, insn.src));
        return adjust_pointer(env, insn, dst, src, false);
    }
    if (src_is_reg(insn) && dst.precise) BPFVM_CHECK(mark_precise(env, insn.src));
    // Unprivileged: one instruction may not be scalar arithmetic on one path and pointer
    // arithmetic on another (the kernel's run-time masking depends on it).
    if (!env.opt.privileged && src_is_reg(insn) && (code == 0x00 || code == 0x10)) {
        if (note_alu_state(env, 16u, 0) != Reason::None) return sanitize_fail(env, insn, Reason::Paths, false);
    }
    const AluOp op = *scalar_op(insn);
    if (auto fork = split_minus_one_or_zero(op, dst.val, src.val)) {
        // The kernel explores dst = 0 on a second path re-running this instruction.
        const Scalar zero = fork->zero;
        dst.val = fork->minus_one;
        PathState* other = push_branch(env, env.insn_idx, env.insn_idx);
        if (!other) return false;
        other->st.reg(insn.dst).val = zero;
    }
    dst.val = alu(op, is_alu64(insn), dst.val, src.val);
    if (env.opt.privileged && code == 0x00 && is_alu64(insn) && dst.id && src.val.is_const()) {
        const uint64_t v = src.val.const_value();
        if ((dst.id & kAddConst) || v > static_cast<uint32_t>(INT32_MAX)) {
            dst.off = 0;
            dst.id = 0;
        } else {
            dst.id |= kAddConst;
            dst.off = static_cast<int32_t>(v);
        }
    } else {
        dst.id = 0;
        dst.off = 0;
    }
    return true;
}

}  // namespace bpfvm::verifier
