// Encodes a parsed Btf back into the raw .BTF wire format (linux/btf.h) for BPF_BTF_LOAD.
//
// The bridge needs the object's BTF in the kernel for one reason: func_info, without which the
// verifier refuses callbacks (bpf_loop) and cannot name subprograms. Re-encoding the loader's model
// keeps this module free of ELF parsing. Two adjustments make clang's output acceptable:
//  - DATASEC types carry size 0 and zero offsets until a loader patches them from the symbol table
//    (bpfvm's loader does for sections present in the ELF file). The laid-out ones are kept, since
//    global data maps are created with them as value type; the rest (.kconfig, .ksyms with kfunc
//    entries) become an anonymous `void *`, which keeps every type id unchanged.
//  - extern FUNC/VAR linkage (libbpf resolves those) is not accepted by the kernel; it becomes global.
#include <linux/btf.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "bpfvm/kernel.hpp"

namespace bpfvm::kernel {
namespace {

class BtfWriter {
public:
    BtfWriter() { strings_.push_back('\0'); }

    uint32_t add_string(const std::string& s) {
        if (s.empty()) return 0;
        auto it = offsets_.find(s);
        if (it != offsets_.end()) return it->second;
        auto off = static_cast<uint32_t>(strings_.size());
        strings_.insert(strings_.end(), s.begin(), s.end());
        strings_.push_back('\0');
        offsets_.emplace(s, off);
        return off;
    }

    void put(uint32_t v) {
        for (int i = 0; i < 4; ++i) types_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }

    void put_header(uint32_t name_off, BtfKind kind, uint32_t vlen, bool kind_flag, uint32_t size_or_type) {
        put(name_off);
        put((vlen & 0xffff) | ((static_cast<uint32_t>(kind) & 0x1f) << 24) | (kind_flag ? 1u << 31 : 0u));
        put(size_or_type);
    }

    std::vector<uint8_t> finish() const {
        struct btf_header header;
        std::memset(&header, 0, sizeof(header));
        header.magic = BTF_MAGIC;
        header.version = BTF_VERSION;
        header.hdr_len = sizeof(header);
        header.type_off = 0;
        header.type_len = static_cast<uint32_t>(types_.size());
        header.str_off = header.type_len;
        header.str_len = static_cast<uint32_t>(strings_.size());
        // One allocation, filled with memcpy (g++ 12 misreports vector::insert after a small vector).
        std::vector<uint8_t> out(sizeof(header) + types_.size() + strings_.size());
        std::memcpy(out.data(), &header, sizeof(header));
        if (!types_.empty()) std::memcpy(out.data() + sizeof(header), types_.data(), types_.size());
        std::memcpy(out.data() + sizeof(header) + types_.size(), strings_.data(), strings_.size());
        return out;
    }

private:
    std::vector<uint8_t> types_;
    std::vector<char> strings_;
    std::unordered_map<std::string, uint32_t> offsets_;
};

/// DATASEC entries by offset, as the kernel requires (clang emits them in declaration order).
std::vector<BtfSecInfo> sorted_vars(const BtfType& t) {
    std::vector<BtfSecInfo> vars = t.vars;
    std::stable_sort(vars.begin(), vars.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
    return vars;
}

void encode_type(BtfWriter& w, const Btf& btf, const BtfType& t) {
    const uint32_t name = w.add_string(t.name);
    const auto vlen = [](size_t n) { return static_cast<uint32_t>(n); };
    switch (t.kind) {
        case BtfKind::Void:  // id 0 is implicit; a stray VOID is encoded as `void *`
            w.put_header(0, BtfKind::Ptr, 0, false, 0);
            return;
        case BtfKind::Datasec:
            if (!datasec_is_laid_out(btf, t)) {
                w.put_header(0, BtfKind::Ptr, 0, false, 0);
                return;
            }
            w.put_header(name, t.kind, vlen(t.vars.size()), false, t.size);
            for (const auto& v : sorted_vars(t)) {
                w.put(v.type);
                w.put(v.offset);
                w.put(v.size);
            }
            return;
        case BtfKind::Int:
            w.put_header(name, t.kind, 0, false, t.size);
            w.put((t.int_encoding << 24) | ((t.int_offset & 0xff) << 16) | (t.int_bits & 0xff));
            return;
        case BtfKind::Ptr:
        case BtfKind::Typedef:
        case BtfKind::Volatile:
        case BtfKind::Const:
        case BtfKind::Restrict:
        case BtfKind::TypeTag:
            w.put_header(name, t.kind, 0, false, t.type);
            return;
        case BtfKind::Array:
            w.put_header(name, t.kind, 0, false, 0);
            w.put(t.elem_type);
            w.put(t.index_type);
            w.put(t.nelems);
            return;
        case BtfKind::Struct:
        case BtfKind::Union:
            w.put_header(name, t.kind, vlen(t.members.size()), t.kind_flag, t.size);
            for (const auto& m : t.members) {
                w.put(w.add_string(m.name));
                w.put(m.type);
                w.put(t.kind_flag ? (m.bitfield_size << 24) | (m.offset_bits & 0xffffff) : m.offset_bits);
            }
            return;
        case BtfKind::Enum:
            w.put_header(name, t.kind, vlen(t.enumerators.size()), t.kind_flag, t.size);
            for (const auto& e : t.enumerators) {
                w.put(w.add_string(e.name));
                w.put(static_cast<uint32_t>(e.value));
            }
            return;
        case BtfKind::Enum64:
            w.put_header(name, t.kind, vlen(t.enumerators.size()), t.kind_flag, t.size);
            for (const auto& e : t.enumerators) {
                w.put(w.add_string(e.name));
                w.put(static_cast<uint32_t>(static_cast<uint64_t>(e.value)));
                w.put(static_cast<uint32_t>(static_cast<uint64_t>(e.value) >> 32));
            }
            return;
        case BtfKind::Fwd:
            w.put_header(name, t.kind, 0, t.kind_flag, 0);
            return;
        case BtfKind::Func:
            w.put_header(name, t.kind, std::min<uint32_t>(t.linkage, BTF_FUNC_GLOBAL), false, t.type);
            return;
        case BtfKind::FuncProto:
            w.put_header(0, t.kind, vlen(t.members.size()), false, t.type);
            for (const auto& p : t.members) {
                w.put(w.add_string(p.name));
                w.put(p.type);
            }
            return;
        case BtfKind::Var:
            w.put_header(name, t.kind, 0, false, t.type);
            w.put(std::min<uint32_t>(t.linkage, BTF_VAR_GLOBAL_ALLOCATED));
            return;
        case BtfKind::Float:
            w.put_header(name, t.kind, 0, false, t.size);
            return;
        case BtfKind::DeclTag:
            w.put_header(name, t.kind, 0, false, t.type);
            w.put(static_cast<uint32_t>(t.component_idx));
            return;
    }
    BPFVM_ASSERT(false && "unhandled BTF kind");
}

}  // namespace

bool datasec_is_laid_out(const Btf& btf, const BtfType& t) {
    if (t.kind != BtfKind::Datasec || t.size == 0) return false;
    // The kernel wants VAR entries sorted by offset, inside the section, not overlapping.
    uint64_t end = 0;
    for (const auto& v : sorted_vars(t)) {
        const BtfType* var = btf.get(v.type);
        if (var == nullptr || var->kind != BtfKind::Var) return false;
        if (v.offset < end || uint64_t{v.offset} + v.size > t.size) return false;
        end = uint64_t{v.offset} + v.size;
    }
    return true;
}

std::vector<uint8_t> encode_btf(const Btf& btf) {
    BtfWriter w;
    for (size_t id = 1; id < btf.types.size(); ++id) encode_type(w, btf, btf.types[id]);
    return w.finish();
}

}  // namespace bpfvm::kernel
