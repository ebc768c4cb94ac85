// BTF parsing (the .BTF section of an object, or /sys/kernel/btf/vmlinux) and type queries.
// Every count and offset is checked against the section before use; a malformed blob is an
// error naming the type id, never a crash.
#include "bpfvm/io.hpp"
#include "bpfvm/object.hpp"
#include "elf_file.hpp"

namespace bpfvm {
namespace {

using loader::read_u16;
using loader::read_u32;

constexpr uint16_t kBtfMagic = 0xeb9f;
constexpr uint32_t kMaxBtfKind = 19;
constexpr uint32_t kMaxChain = 64;  // modifier/typedef chains longer than this are treated as cycles

Error btf_error(std::string message) { return make_error(ErrorCode::kMalformed, ".BTF: " + std::move(message)); }

}  // namespace

const char* btf_kind_name(BtfKind kind) {
    switch (kind) {
        case BtfKind::Void: return "void";
        case BtfKind::Int: return "int";
        case BtfKind::Ptr: return "ptr";
        case BtfKind::Array: return "array";
        case BtfKind::Struct: return "struct";
        case BtfKind::Union: return "union";
        case BtfKind::Enum: return "enum";
        case BtfKind::Fwd: return "fwd";
        case BtfKind::Typedef: return "typedef";
        case BtfKind::Volatile: return "volatile";
        case BtfKind::Const: return "const";
        case BtfKind::Restrict: return "restrict";
        case BtfKind::Func: return "func";
        case BtfKind::FuncProto: return "func_proto";
        case BtfKind::Var: return "var";
        case BtfKind::Datasec: return "datasec";
        case BtfKind::Float: return "float";
        case BtfKind::DeclTag: return "decl_tag";
        case BtfKind::TypeTag: return "type_tag";
        case BtfKind::Enum64: return "enum64";
    }
    return "unknown";
}

Result<Btf> Btf::parse(std::span<const uint8_t> d) {
    if (d.size() < 24) return btf_error("truncated header (" + std::to_string(d.size()) + " bytes)");
    if (read_u16(d, 0) != kBtfMagic) return btf_error("bad magic");
    if (d[2] != 1) return btf_error("unsupported version " + std::to_string(d[2]));
    const uint32_t hdr_len = read_u32(d, 4);
    if (hdr_len < 24 || hdr_len > d.size()) return btf_error("bad header length " + std::to_string(hdr_len));
    const uint64_t type_off = read_u32(d, 8), type_len = read_u32(d, 12);
    const uint64_t str_off = read_u32(d, 16), str_len = read_u32(d, 20);
    const uint64_t body = d.size() - hdr_len;
    if (type_off + type_len > body) return btf_error("type section [" + std::to_string(type_off) + ", +" + std::to_string(type_len) + ") exceeds the data");
    if (str_off + str_len > body) return btf_error("string section [" + std::to_string(str_off) + ", +" + std::to_string(str_len) + ") exceeds the data");
    auto types = d.subspan(hdr_len + type_off, type_len);
    auto strs = d.subspan(hdr_len + str_off, str_len);
    if (!strs.empty() && strs.back() != 0) return btf_error("string section is not NUL-terminated");

    auto str = [&](uint32_t off, std::string& out) -> bool {
        if (off >= strs.size()) return off == 0;  // an empty string section still allows offset 0
        const auto* p = reinterpret_cast<const char*>(strs.data() + off);
        out.assign(p);  // terminated: the last byte is NUL
        return true;
    };

    Btf btf;
    btf.types.emplace_back();  // id 0: void
    size_t pos = 0;
    while (pos < types.size()) {
        const uint32_t id = static_cast<uint32_t>(btf.types.size());
        auto fail = [&](const std::string& m) { return btf_error("type " + std::to_string(id) + ": " + m); };
        if (types.size() - pos < 12) return fail("truncated type header");
        BtfType t;
        const uint32_t name_off = read_u32(types, pos);
        const uint32_t info = read_u32(types, pos + 4);
        const uint32_t size_type = read_u32(types, pos + 8);
        pos += 12;
        const uint32_t vlen = info & 0xffff;
        const uint32_t kind = (info >> 24) & 0x1f;
        t.kind_flag = (info >> 31) != 0;
        if (kind == 0 || kind > kMaxBtfKind) return fail("invalid kind " + std::to_string(kind));
        t.kind = static_cast<BtfKind>(kind);
        if (!str(name_off, t.name)) return fail("name offset " + std::to_string(name_off) + " out of range");
        auto need = [&](uint64_t bytes) { return types.size() - pos >= bytes; };
        switch (t.kind) {
            case BtfKind::Int: {
                if (!need(4)) return fail("truncated int");
                const uint32_t v = read_u32(types, pos);
                pos += 4;
                t.size = size_type;
                t.int_encoding = (v >> 24) & 0x0f;
                t.int_offset = (v >> 16) & 0xff;
                t.int_bits = v & 0xff;
                t.is_signed = (t.int_encoding & 1) != 0;
                break;
            }
            case BtfKind::Ptr: case BtfKind::Fwd: case BtfKind::Typedef: case BtfKind::Volatile:
            case BtfKind::Const: case BtfKind::Restrict: case BtfKind::TypeTag:
                t.type = size_type;
                break;
            case BtfKind::Func:
                t.type = size_type;
                t.linkage = vlen;
                break;
            case BtfKind::Float:
                t.size = size_type;
                break;
            case BtfKind::Array:
                if (!need(12)) return fail("truncated array");
                t.elem_type = read_u32(types, pos);
                t.index_type = read_u32(types, pos + 4);
                t.nelems = read_u32(types, pos + 8);
                pos += 12;
                break;
            case BtfKind::Struct: case BtfKind::Union: {
                t.size = size_type;
                if (!need(uint64_t{vlen} * 12)) return fail("truncated member list (" + std::to_string(vlen) + " members)");
                t.members.resize(vlen);
                for (auto& m : t.members) {
                    if (!str(read_u32(types, pos), m.name)) return fail("member name offset out of range");
                    m.type = read_u32(types, pos + 4);
                    const uint32_t off = read_u32(types, pos + 8);
                    m.offset_bits = t.kind_flag ? (off & 0xffffff) : off;
                    m.bitfield_size = t.kind_flag ? (off >> 24) : 0;
                    pos += 12;
                }
                break;
            }
            case BtfKind::Enum: {
                t.size = size_type;
                t.is_signed = t.kind_flag;
                if (!need(uint64_t{vlen} * 8)) return fail("truncated enumerator list");
                t.enumerators.resize(vlen);
                for (auto& e : t.enumerators) {
                    if (!str(read_u32(types, pos), e.name)) return fail("enumerator name offset out of range");
                    const uint32_t v = read_u32(types, pos + 4);
                    e.value = t.is_signed ? int64_t{static_cast<int32_t>(v)} : int64_t{v};
                    pos += 8;
                }
                break;
            }
            case BtfKind::Enum64: {
                t.size = size_type;
                t.is_signed = t.kind_flag;
                if (!need(uint64_t{vlen} * 12)) return fail("truncated enumerator list");
                t.enumerators.resize(vlen);
                for (auto& e : t.enumerators) {
                    if (!str(read_u32(types, pos), e.name)) return fail("enumerator name offset out of range");
                    const uint64_t v = read_u32(types, pos + 4) | (uint64_t{read_u32(types, pos + 8)} << 32);
                    e.value = static_cast<int64_t>(v);
                    pos += 12;
                }
                break;
            }
            case BtfKind::FuncProto: {
                t.type = size_type;
                if (!need(uint64_t{vlen} * 8)) return fail("truncated parameter list");
                t.members.resize(vlen);
                for (auto& m : t.members) {
                    if (!str(read_u32(types, pos), m.name)) return fail("parameter name offset out of range");
                    m.type = read_u32(types, pos + 4);
                    pos += 8;
                }
                break;
            }
            case BtfKind::Var:
                if (!need(4)) return fail("truncated var");
                t.type = size_type;
                t.linkage = read_u32(types, pos);
                pos += 4;
                break;
            case BtfKind::Datasec: {
                t.size = size_type;
                if (!need(uint64_t{vlen} * 12)) return fail("truncated datasec");
                t.vars.resize(vlen);
                for (auto& v : t.vars) {
                    v.type = read_u32(types, pos);
                    v.offset = read_u32(types, pos + 4);
                    v.size = read_u32(types, pos + 8);
                    pos += 12;
                }
                break;
            }
            case BtfKind::DeclTag:
                if (!need(4)) return fail("truncated decl_tag");
                t.type = size_type;
                t.component_idx = static_cast<int32_t>(read_u32(types, pos));
                pos += 4;
                break;
            case BtfKind::Void:
                return fail("invalid kind 0");
        }
        btf.types.push_back(std::move(t));
    }
    // Referenced type ids must exist.
    const auto n = btf.types.size();
    for (size_t id = 1; id < n; ++id) {
        const BtfType& t = btf.types[id];
        auto bad = [&](uint32_t ref) { return ref >= n; };
        bool broken = bad(t.type) || bad(t.elem_type) || bad(t.index_type);
        for (const auto& m : t.members) broken = broken || bad(m.type);
        for (const auto& v : t.vars) broken = broken || bad(v.type);
        if (broken) return btf_error("type " + std::to_string(id) + " (" + btf_kind_name(t.kind) + " " + t.name + ") refers to a type id out of range");
    }
    return btf;
}

Result<Btf> Btf::load_file(const std::string& path) {
    auto text = read_input_file(path, kMaxBtfFileBytes);
    if (!text) {
        // BTF errors carry the path in the message: callers put them after their own context.
        Error e = text.error();
        e.message = e.where + ": " + e.message;
        e.where.clear();
        return e;
    }
    std::vector<uint8_t> bytes(text->begin(), text->end());
    // An ELF object (what libbpf's btf__parse also takes): its .BTF section.
    if (bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F') {
        auto elf = loader::ElfFile::parse(bytes);
        if (!elf) return make_error(ErrorCode::kMalformed, path + ": " + elf.error().message);
        const loader::Section* s = elf->find(".BTF");
        if (!s) return make_error(ErrorCode::kNotFound, path + ": the object has no .BTF section");
        bytes = s->data;
    }
    auto btf = parse(bytes);
    if (!btf) {
        btf.error().message = path + ": " + btf.error().message;
        return btf.error();
    }
    return btf;
}

uint32_t Btf::skip_modifiers(uint32_t id) const {
    for (uint32_t i = 0; i < kMaxChain; ++i) {
        const BtfType* t = get(id);
        if (t == nullptr) return id;
        switch (t->kind) {
            case BtfKind::Typedef: case BtfKind::Volatile: case BtfKind::Const: case BtfKind::Restrict:
            case BtfKind::TypeTag:
                id = t->type;
                break;
            default:
                return id;
        }
    }
    return id;
}

Result<uint64_t> Btf::size_of(uint32_t id) const {
    uint64_t mult = 1;
    for (uint32_t i = 0; i < kMaxChain; ++i) {
        id = skip_modifiers(id);
        const BtfType* t = get(id);
        if (t == nullptr) return make_error(ErrorCode::kMalformed, "BTF type id " + std::to_string(id) + " out of range");
        switch (t->kind) {
            case BtfKind::Int: case BtfKind::Struct: case BtfKind::Union: case BtfKind::Enum: case BtfKind::Enum64:
            case BtfKind::Datasec: case BtfKind::Float:
                return mult * t->size;
            case BtfKind::Ptr:
                return mult * 8;
            case BtfKind::Array:
                mult *= t->nelems;
                if (mult > (uint64_t{1} << 40)) return make_error(ErrorCode::kMalformed, "BTF array too large");
                id = t->elem_type;
                break;
            case BtfKind::Var:
                id = t->type;
                break;
            default:
                return make_error(ErrorCode::kMalformed, std::string("BTF type ") + std::to_string(id) + " (" +
                                                             btf_kind_name(t->kind) + ") has no size");
        }
    }
    return make_error(ErrorCode::kMalformed, "BTF type chain too long (cycle?) at id " + std::to_string(id));
}

std::optional<uint32_t> Btf::find(std::string_view name, BtfKind kind) const {
    for (size_t id = 1; id < types.size(); ++id)
        if (types[id].kind == kind && types[id].name == name) return static_cast<uint32_t>(id);
    return std::nullopt;
}

std::string Btf::type_name(uint32_t id) const {
    // Built with append(): g++ 12 at -O3 warns (-Wrestrict, a false positive) on literal + string.
    std::string suffix;
    auto done = [&](std::string_view prefix, const std::string& name) {
        std::string out;
        out.append(prefix);
        out.append(name);
        out.append(suffix);
        return out;
    };
    for (uint32_t i = 0; i < kMaxChain; ++i) {
        const BtfType* t = get(id);
        if (t == nullptr) return done("<bad type>", {});
        std::string wrap;
        switch (t->kind) {
            case BtfKind::Void: return done("void", {});
            case BtfKind::Int: case BtfKind::Float: case BtfKind::Typedef: return done({}, t->name);
            case BtfKind::Struct: return done("struct ", t->name);
            case BtfKind::Union: return done("union ", t->name);
            case BtfKind::Enum: case BtfKind::Enum64: return done("enum ", t->name);
            case BtfKind::Fwd: return done(t->kind_flag ? "union " : "struct ", t->name);
            case BtfKind::Func: case BtfKind::Var: case BtfKind::Datasec: return done({}, t->name);
            case BtfKind::FuncProto: return done("func", {});
            case BtfKind::Ptr: wrap = " *"; id = t->type; break;
            case BtfKind::Const: wrap = " const"; id = t->type; break;
            case BtfKind::Volatile: wrap = " volatile"; id = t->type; break;
            case BtfKind::Restrict: wrap = " restrict"; id = t->type; break;
            case BtfKind::TypeTag: case BtfKind::DeclTag: id = t->type; break;
            case BtfKind::Array:
                wrap.append("[");
                wrap.append(std::to_string(t->nelems));
                wrap.append("]");
                id = t->elem_type;
                break;
        }
        wrap.append(suffix);
        suffix = std::move(wrap);
    }
    return "<type cycle>";
}

}  // namespace bpfvm
