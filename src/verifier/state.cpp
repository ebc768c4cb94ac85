// Register names and printing in the kernel's log format, and stack slot bookkeeping.
#include "state.hpp"

#include <algorithm>

namespace bpfvm::verifier {

bool StackSlot::is_full_spill() const { return all(SlotByte::Spill); }

bool StackSlot::all(SlotByte b) const {
    return std::all_of(std::begin(bytes), std::end(bytes), [b](SlotByte x) { return x == b; });
}

bool StackSlot::any(SlotByte b) const {
    return std::any_of(std::begin(bytes), std::end(bytes), [b](SlotByte x) { return x == b; });
}

bool StackSlot::operator==(const StackSlot& o) const {
    if (!std::equal(std::begin(bytes), std::end(bytes), std::begin(o.bytes))) return false;
    if (bytes[0] == SlotByte::Iter &&
        (iter.kind != o.iter.kind || iter.state != o.iter.state || iter.depth != o.iter.depth || iter.ref != o.iter.ref))
        return false;
    if (!is_spill()) return true;
    const Reg& a = spilled;
    const Reg& b = o.spilled;
    return a.type == b.type && a.flags == b.flags && a.frameno == b.frameno && a.off == b.off && a.val == b.val &&
           a.id == b.id && a.ref_obj_id == b.ref_obj_id && a.map == b.map && a.range == b.range &&
           a.mem_size == b.mem_size && a.subprog == b.subprog;
}

void Frame::grow(uint32_t bytes) {
    const size_t slots = (bytes + 7) / 8;
    if (stack.size() < slots) stack.resize(slots);
}

StackSlot* Frame::slot_at(int32_t off) {
    if (off >= 0) return nullptr;
    const size_t k = static_cast<size_t>(-off - 1) / 8;
    return k < stack.size() ? &stack[k] : nullptr;
}

const StackSlot* Frame::slot_at(int32_t off) const { return const_cast<Frame*>(this)->slot_at(off); }

const RefState* State::find_ref(uint32_t id) const {
    for (const RefState& r : refs)
        if (r.id == id) return &r;
    return nullptr;
}

// ---- Names

bool type_is_pkt_pointer(RegType type) { return type == RegType::Packet || type == RegType::PacketMeta; }

std::string reg_type_name(RegType type, uint16_t flags) {
    const char* base = "?";
    switch (type) {
        case RegType::NotInit: base = "?"; break;
        case RegType::Scalar: base = "scalar"; break;
        case RegType::Ctx: base = "ctx"; break;
        case RegType::ConstMap: base = "map_ptr"; break;
        case RegType::MapValue: base = "map_value"; break;
        case RegType::MapKey: base = "map_key"; break;
        case RegType::Stack: base = "fp"; break;
        case RegType::PacketMeta: base = "pkt_meta"; break;
        case RegType::Packet: base = "pkt"; break;
        case RegType::PacketEnd: base = "pkt_end"; break;
        case RegType::FlowKeys: base = "flow_keys"; break;
        case RegType::Socket: base = "sock"; break;
        case RegType::SockCommon: base = "sock_common"; break;
        case RegType::TcpSock: base = "tcp_sock"; break;
        case RegType::XdpSock: base = "xdp_sock"; break;
        case RegType::TpBuffer: base = "tp_buffer"; break;
        case RegType::BtfId: base = "ptr_"; break;
        case RegType::Mem: base = "mem"; break;
        case RegType::Buf: base = "buf"; break;
        case RegType::Func: base = "func"; break;
        case RegType::Arena: base = "arena"; break;
    }
    std::string prefix;
    if (flags & kRdonly) prefix += "rdonly_";
    if (flags & kRingbuf) prefix += "ringbuf_";
    if (flags & kUntrusted) prefix += "untrusted_";
    if (flags & kPercpu) prefix += "percpu_";
    if (flags & kAlloc) prefix += "alloc_";
    std::string name = prefix + base;
    if (flags & kMaybeNull) name += "_or_null";
    return name;
}

std::string reg_type_name(const Reg& reg) { return reg_type_name(reg.type, reg.flags); }

std::string describe_reg(const Reg& reg, const char* map_name, uint32_t key_size, uint32_t value_size) {
    switch (reg.type) {
        case RegType::NotInit:
            return "?";
        case RegType::Scalar: {
            std::string s = reg.val.to_string();
            if (reg.precise && s.rfind("scalar", 0) != 0) s = "P" + s;
            else if (reg.precise) s = "Pscalar" + s.substr(6);
            if (reg.id && !reg.val.is_const()) s.insert(s.find('(') + 1, "id=" + std::to_string(reg.id) + (s.find("()") == std::string::npos ? "," : ""));
            return s;
        }
        case RegType::Stack:
            if (reg.val.is_const() && reg.val.const_value() == 0)
                return "fp" + std::to_string(reg.off);
            break;
        default:
            break;
    }
    std::string out = reg_type_name(reg) + "(";
    std::string fields;
    auto add = [&](const std::string& f) { fields += (fields.empty() ? "" : ",") + f; };
    if (reg.id && (reg.maybe_null() || reg.is_packet())) add("id=" + std::to_string(reg.id));
    if (reg.ref_obj_id) add("ref_obj_id=" + std::to_string(reg.ref_obj_id));
    if (reg.type == RegType::ConstMap || reg.type == RegType::MapValue || reg.type == RegType::MapKey) {
        if (map_name) add(std::string("map=") + map_name);
        add("ks=" + std::to_string(key_size));
        add("vs=" + std::to_string(value_size));
    }
    if (reg.off) add("off=" + std::to_string(reg.off));
    if (reg.is_packet()) add("r=" + std::to_string(reg.range));
    if (reg.type == RegType::Mem || reg.type == RegType::Buf) add("sz=" + std::to_string(reg.mem_size));
    if (reg.is_pointer() && !(reg.val.is_const() && reg.val.const_value() == 0)) {
        const std::string f = reg.val.fields_string();
        if (!f.empty()) add(f);
    }
    return out + fields + ")";
}

}  // namespace bpfvm::verifier
