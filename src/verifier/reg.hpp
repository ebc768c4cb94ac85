// Register state: the kernel's struct bpf_reg_state in our terms. A register is uninitialised, a
// scalar (its value in `val`), or a pointer of some type with a fixed offset `off` and a variable
// offset `val` (a Scalar whose tnum and bounds describe what was added to the pointer).
#pragma once

#include <cstdint>
#include <string>

#include "scalar.hpp"

namespace bpfvm::verifier {

/// Register types, as the kernel's enum bpf_reg_type (base types; modifiers are RegFlag bits).
enum class RegType : uint8_t {
    NotInit,
    Scalar,
    Ctx,         // the program's context (PTR_TO_CTX)
    ConstMap,    // a map (CONST_PTR_TO_MAP)
    MapValue,    // into a map value (PTR_TO_MAP_VALUE)
    MapKey,      // into a map key passed to a callback (PTR_TO_MAP_KEY)
    Stack,       // into a stack frame (PTR_TO_STACK), frame in Reg::frameno
    PacketMeta,  // packet metadata start (PTR_TO_PACKET_META)
    Packet,      // packet data (PTR_TO_PACKET), proven accessible bytes in Reg::range
    PacketEnd,   // end of packet data (PTR_TO_PACKET_END)
    FlowKeys,    // struct bpf_flow_keys (PTR_TO_FLOW_KEYS)
    Socket,      // struct bpf_sock, full socket (PTR_TO_SOCKET)
    SockCommon,  // struct bpf_sock, common part (PTR_TO_SOCK_COMMON)
    TcpSock,     // struct bpf_tcp_sock (PTR_TO_TCP_SOCK)
    XdpSock,     // struct bpf_xdp_sock (PTR_TO_XDP_SOCK)
    TpBuffer,    // writable raw tracepoint buffer (PTR_TO_TP_BUFFER)
    BtfId,       // a kernel object typed by BTF (PTR_TO_BTF_ID): loads are probe reads
    Mem,         // memory of known size (PTR_TO_MEM: ringbuf records, helper results)
    Buf,         // rdonly/rdwr buffer of iterators (PTR_TO_BUF)
    Func,        // a BPF function (PTR_TO_FUNC), subprogram in Reg::subprog
    Arena,       // arena memory (PTR_TO_ARENA)
};

/// Modifiers of a register type (the kernel's type flags).
enum RegFlag : uint16_t {
    kMaybeNull = 1u << 0,  // PTR_MAYBE_NULL: must be compared with 0 before use
    kRdonly = 1u << 1,     // MEM_RDONLY
    kRingbuf = 1u << 2,    // MEM_RINGBUF: a ring buffer record (released by submit/discard)
    kUntrusted = 1u << 3,  // PTR_UNTRUSTED
    kPercpu = 1u << 4,     // MEM_PERCPU
    kAlloc = 1u << 5,      // MEM_ALLOC
};

/// Stack slot byte kinds (the kernel's STACK_*), one per byte of an 8-byte slot.
enum class SlotByte : uint8_t {
    Invalid,  // never written (uninitialised)
    Spill,    // part of a spilled register (StackSlot::spilled)
    Misc,     // some data
    Zero,     // known zero
    Dynptr,   // part of a struct bpf_dynptr
    Iter,     // part of an open-coded iterator
};

/// One register.
struct Reg {
    RegType type = RegType::NotInit;
    uint16_t flags = 0;
    uint8_t frameno = 0;     // Stack: the frame the pointer points into
    bool precise = false;    // scalars: its exact range matters for pruning
    int32_t off = 0;         // pointers: fixed offset
    Scalar val{};            // scalars: the value; pointers: the variable offset (0 when none)
    uint32_t id = 0;         // copies of one value share it (null checks, packet ranges, scalar links)
    uint32_t ref_obj_id = 0; // the acquired reference this pointer carries (0: none)
    uint32_t map = 0;        // ConstMap / MapValue / MapKey: map index
    int32_t range = 0;       // Packet/PacketMeta: bytes from `off` proven below data_end;
                             // MapValue: unused
    uint32_t mem_size = 0;   // Mem / Buf / TpBuffer: accessible bytes
    uint32_t subprog = 0;    // Func: the subprogram index; BtfId: an opaque kind
    uint32_t btf_kind = 0;   // BtfId: which kernel struct (kinds of reg.cpp) for messages

    bool is_scalar() const { return type == RegType::Scalar; }
    bool is_pointer() const { return type != RegType::NotInit && type != RegType::Scalar; }
    bool maybe_null() const { return (flags & kMaybeNull) != 0; }
    bool is_packet() const { return type == RegType::Packet || type == RegType::PacketMeta; }
    bool is_const() const { return type == RegType::Scalar && val.is_const(); }
    /// A known-zero scalar (the kernel's register_is_null).
    bool is_null() const { return type == RegType::Scalar && val.is_const() && val.const_value() == 0; }

    /// An unknown scalar (the kernel's mark_reg_unknown: id and precision reset).
    static Reg unknown_scalar() {
        Reg r;
        r.type = RegType::Scalar;
        return r;
    }
    /// The scalar `v`.
    static Reg known(uint64_t v) {
        Reg r;
        r.type = RegType::Scalar;
        r.val = Scalar::known(v);
        return r;
    }
    /// A pointer of `type` at fixed offset 0 with no variable part.
    static Reg pointer(RegType type, uint16_t flags = 0) {
        Reg r;
        r.type = type;
        r.flags = flags;
        r.val = Scalar::known(0);
        return r;
    }
};

/// The kernel's name of a register type for messages ("map_value_or_null", "fp", "pkt_end", ...).
std::string reg_type_name(const Reg& reg);
/// Same from a bare type and flags.
std::string reg_type_name(RegType type, uint16_t flags);
/// The kernel's log rendering of a register ("fp-8", "ctx()", "map_value(map=m,ks=4,vs=8)",
/// "scalar(umax=255,var_off=(0x0; 0xff))", "pkt(r=14)").
std::string describe_reg(const Reg& reg, const char* map_name = nullptr, uint32_t key_size = 0,
                         uint32_t value_size = 0);

/// True for types whose pointers may be compared with or subtracted from each other and read
/// through as memory (pointer kinds the kernel treats as "pointer to memory").
bool type_is_pkt_pointer(RegType type);

}  // namespace bpfvm::verifier
