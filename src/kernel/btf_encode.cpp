// Encodes a parsed Btf back into the raw .BTF wire format (linux/btf.h) for BPF_BTF_LOAD.
//
// The bridge needs the object's BTF in the kernel for one reason: func_info, without which the
// verifier refuses callbacks (bpf_loop) and cannot name subprograms. Re-encoding the loader's model
// keeps this module free of ELF parsing. Two adjustments make clang's output acceptable:
//  - DATASEC types carry size 0 and zero offsets until a loader patches them from the symbol table;
//    nothing here refers to them (maps are created without BTF), so each becomes an anonymous
//    `void *`, which keeps every type id unchanged.
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

void encode_type(BtfWriter& w, const BtfType& t) {
    const uint32_t name = w.add_string(t.name);
    const auto vlen = [](size_t n) { return static_cast<uint32_t>(n); };
    switch (t.kind) {
        case BtfKind::Void:  // id 0 is implicit; a stray VOID is encoded as `void *`
        case BtfKind::Datasec:
            w.put_header(0, BtfKind::Ptr, 0, false, 0);
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

std::vector<uint8_t> encode_btf(const Btf& btf) {
    BtfWriter w;
    for (size_t id = 1; id < btf.types.size(); ++id) encode_type(w, btf.types[id]);
    return w.finish();
}

}  // namespace bpfvm::kernel
