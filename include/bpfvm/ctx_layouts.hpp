// Kernel facts as data, part 3: context layouts (ctx_layouts.def). Which struct r1 points to for
// each program type, its fields (offset, size, allowed load sizes, what a load yields) and which
// fields a program type may read or write. The verifier checks context accesses with
// ctx_access(); the test-run builds its contexts from the same rows.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "bpfvm/facts.hpp"

namespace bpfvm {

/// What a context load yields.
enum class CtxYield : uint8_t { Scalar, PktStart, PktEnd, PktMeta, FlowKeys, Sock, SockOrNull, SockCommonOrNull };

/// Load sizes allowed inside a field: bit N set means a load of N bytes (1, 2, 4, 8).
enum CtxLoads : uint32_t { kCtxL1 = 1u << 1, kCtxL2 = 1u << 2, kCtxL4 = 1u << 4, kCtxL8 = 1u << 8 };

/// One field of a context struct.
struct CtxField {
    std::string_view struct_name;  // "struct __sk_buff"
    std::string_view name;         // "data_end"
    uint32_t offset = 0;
    uint32_t size = 0;             // whole field (arrays: all elements)
    uint32_t loads = 0;            // allowed load sizes: bit N = N bytes
    CtxYield yields = CtxYield::Scalar;
};

/// A per-program-type rule on a field.
enum class CtxRule : uint8_t { Deny, Read, ReadCapBpf, Write, WriteCapBpf };

/// The context of a program type.
struct CtxInfo {
    std::string_view struct_name;  // "struct xdp_md"; "" for types without a known context
    uint32_t size = 0;             // uapi size; 0: depends on the attach point (tracepoint args)
    uint32_t first = 0;            // loads must lie in [first, limit) (the kernel's bounds when size is 0)
    uint32_t limit = 0;
    uint32_t loads = 0;            // load sizes for contexts without field rows (pt_regs, args)
    std::span<const CtxField> fields;
};

/// The context program type `type` sees (struct_name empty for struct_ops, ext, lsm, ...).
CtxInfo ctx_info(ProgramType type);
/// ctx_info(type).size.
uint32_t ctx_size(ProgramType type);
/// The field of `type`'s context that contains byte `off`, or nullptr (padding, or no field rows).
const CtxField* ctx_field(ProgramType type, uint32_t off);
/// The field called `name` in `type`'s context, or nullptr.
const CtxField* ctx_field(ProgramType type, std::string_view name);

/// Outcome of ctx_access().
struct CtxAccess {
    bool ok = false;
    const CtxField* field = nullptr;  // null for contexts without field rows
    CtxYield yields = CtxYield::Scalar;
    std::string_view why;             // when !ok: "out of bounds", "read-only field", ...
};

/// Whether a program of `type` may load (`write` false) or store `size` bytes at offset `off` of
/// its context, following the table: inside the struct, aligned to the size, within one field,
/// a load size the field allows, the type's rules (privileged: CAP_BPF rules pass).
CtxAccess ctx_access(ProgramType type, uint32_t off, uint32_t size, bool write, bool privileged);

/// The rule row's effect for `type` on `field`: nullopt when no row names it.
std::optional<CtxRule> ctx_rule(ProgramType type, const CtxField& field);

}  // namespace bpfvm
