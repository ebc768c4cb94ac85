// Context layouts (ctx_layouts.def) expanded into tables, and the access check over them.
#include "bpfvm/ctx_layouts.hpp"

#include <algorithm>
#include <array>

namespace bpfvm {
namespace {

enum class CtxKey : uint8_t {
#define BPFVM_CTX_STRUCT(Key, ...) Key,
#define BPFVM_CTX_FIELD(...)
#define BPFVM_CTX_PROG(...)
#define BPFVM_CTX_RULE(...)
#include "bpfvm/ctx_layouts.def"
#undef BPFVM_CTX_STRUCT
#undef BPFVM_CTX_FIELD
#undef BPFVM_CTX_PROG
#undef BPFVM_CTX_RULE
    Count
};

struct StructRow {
    CtxKey key;
    std::string_view name;
    uint32_t size;
    uint32_t first;
    uint32_t limit;
};

// The columns of ctx_layouts.def, spelled as in the file.
namespace ctx_row {
inline constexpr uint32_t L1 = kCtxL1, L12 = kCtxL1 | kCtxL2, L124 = kCtxL1 | kCtxL2 | kCtxL4, L4 = kCtxL4,
                          L8 = kCtxL8, L1248 = kCtxL1 | kCtxL2 | kCtxL4 | kCtxL8;
#define BPFVM_PROG_TYPE(id, Enumerator, name) inline constexpr uint64_t Enumerator = uint64_t{1} << (id);
#include "bpfvm/prog_types.def"
#undef BPFVM_PROG_TYPE
inline constexpr uint64_t All = ~uint64_t{0};
inline constexpr uint64_t Tc = SchedCls | SchedAct;
inline constexpr uint64_t Lwt = LwtIn | LwtOut | LwtXmit | LwtSeg6local;
}  // namespace ctx_row

constexpr StructRow kStructs[] = {
#define BPFVM_CTX_STRUCT(Key, c_name, size, first, limit) {CtxKey::Key, c_name, size, first, limit},
#define BPFVM_CTX_FIELD(...)
#define BPFVM_CTX_PROG(...)
#define BPFVM_CTX_RULE(...)
#include "bpfvm/ctx_layouts.def"
#undef BPFVM_CTX_STRUCT
#undef BPFVM_CTX_FIELD
#undef BPFVM_CTX_PROG
#undef BPFVM_CTX_RULE
};

struct FieldRow {
    CtxKey key;
    CtxField field;
};

constexpr std::string_view struct_name(CtxKey key) { return kStructs[static_cast<size_t>(key)].name; }

constexpr FieldRow kFields[] = {
#define BPFVM_CTX_STRUCT(...)
#define BPFVM_CTX_FIELD(Key, name, offset, size, loads, yields) \
    {CtxKey::Key, CtxField{struct_name(CtxKey::Key), #name, offset, size, ctx_row::loads, CtxYield::yields}},
#define BPFVM_CTX_PROG(...)
#define BPFVM_CTX_RULE(...)
#include "bpfvm/ctx_layouts.def"
#undef BPFVM_CTX_STRUCT
#undef BPFVM_CTX_FIELD
#undef BPFVM_CTX_PROG
#undef BPFVM_CTX_RULE
};

struct ProgRow {
    ProgramType type;
    CtxKey key;
    uint32_t loads;
};
constexpr ProgRow kProgs[] = {
#define BPFVM_CTX_STRUCT(...)
#define BPFVM_CTX_FIELD(...)
#define BPFVM_CTX_PROG(type, Key, loads) {ProgramType::type, CtxKey::Key, ctx_row::loads},
#define BPFVM_CTX_RULE(...)
#include "bpfvm/ctx_layouts.def"
#undef BPFVM_CTX_STRUCT
#undef BPFVM_CTX_FIELD
#undef BPFVM_CTX_PROG
#undef BPFVM_CTX_RULE
};

struct RuleRow {
    uint64_t progs;
    CtxKey key;
    std::string_view field;
    CtxRule rule;
};
constexpr RuleRow kRules[] = {
#define BPFVM_CTX_STRUCT(...)
#define BPFVM_CTX_FIELD(...)
#define BPFVM_CTX_PROG(...)
#define BPFVM_CTX_RULE(progs, Key, field, rule) \
    {[] { using namespace ctx_row; return uint64_t{progs}; }(), CtxKey::Key, #field, CtxRule::rule},
#include "bpfvm/ctx_layouts.def"
#undef BPFVM_CTX_STRUCT
#undef BPFVM_CTX_FIELD
#undef BPFVM_CTX_PROG
#undef BPFVM_CTX_RULE
};

// Fields of one struct are contiguous and rules name existing fields.
constexpr bool rules_name_fields() {
    for (const RuleRow& r : kRules) {
        bool found = false;
        for (const FieldRow& f : kFields) found = found || (f.key == r.key && f.field.name == r.field);
        if (!found) return false;
    }
    return true;
}
static_assert(rules_name_fields(), "ctx_layouts.def: a rule names a field its struct does not have");

const ProgRow* prog_row(ProgramType type) {
    for (const ProgRow& p : kProgs)
        if (p.type == type) return &p;
    return nullptr;
}

std::span<const CtxField> fields_of(CtxKey key) {
    static const auto ranges = [] {
        std::array<std::pair<size_t, size_t>, static_cast<size_t>(CtxKey::Count)> out{};
        for (size_t i = 0; i < std::size(kFields); ++i) {
            auto& r = out[static_cast<size_t>(kFields[i].key)];
            if (r.second == 0) r.first = i;
            r.second = i + 1;
        }
        return out;
    }();
    static const auto fields = [] {
        std::array<CtxField, std::size(kFields)> out{};
        for (size_t i = 0; i < std::size(kFields); ++i) out[i] = kFields[i].field;
        return out;
    }();
    const auto [begin, end] = ranges[static_cast<size_t>(key)];
    return std::span<const CtxField>(fields.data() + begin, end - begin);
}

CtxAccess deny(std::string_view why) { return CtxAccess{false, nullptr, CtxYield::Scalar, why}; }

}  // namespace

CtxInfo ctx_info(ProgramType type) {
    const ProgRow* p = prog_row(type);
    if (p == nullptr) return {};
    const StructRow& s = kStructs[static_cast<size_t>(p->key)];
    return CtxInfo{s.name, s.size, s.first, s.limit, p->loads, fields_of(p->key)};
}

uint32_t ctx_size(ProgramType type) { return ctx_info(type).size; }

const CtxField* ctx_field(ProgramType type, uint32_t off) {
    for (const CtxField& f : ctx_info(type).fields)
        if (off >= f.offset && off < f.offset + f.size) return &f;
    return nullptr;
}

const CtxField* ctx_field(ProgramType type, std::string_view name) {
    for (const CtxField& f : ctx_info(type).fields)
        if (f.name == name) return &f;
    return nullptr;
}

std::optional<CtxRule> ctx_rule(ProgramType type, const CtxField& field) {
    const ProgRow* p = prog_row(type);
    if (p == nullptr) return std::nullopt;
    // The last matching row wins (a general Deny first, then the type it does not apply to).
    std::optional<CtxRule> out;
    for (const RuleRow& r : kRules)
        if (r.key == p->key && r.field == field.name && (r.progs & (uint64_t{1} << static_cast<uint32_t>(type))) != 0)
            out = r.rule;
    return out;
}

CtxAccess ctx_access(ProgramType type, uint32_t off, uint32_t size, bool write, bool privileged) {
    const CtxInfo info = ctx_info(type);
    if (info.struct_name.empty()) return deny("no known context for this program type");
    if (size == 0 || size > 8 || (size & (size - 1)) != 0) return deny("bad access size");
    if (off % size != 0) return deny("misaligned access");
    if (info.size != 0 && off + size > info.size) return deny("access beyond the context struct");
    if (info.fields.empty()) {
        if (off < info.first || off + size > info.limit) return deny("outside the readable part of the context");
        if (write) return deny("the context is read-only");
        if ((info.loads & (1u << size)) == 0) return deny("load size not allowed here");
        return CtxAccess{true, nullptr, CtxYield::Scalar, {}};
    }
    // Union members share offsets (sock_ops: args, reply, replylong): any member may allow it.
    auto check_field = [&](const CtxField* f) -> CtxAccess {
        if (off + size > f->offset + f->size) return deny("access spans two fields");
        const std::optional<CtxRule> rule = ctx_rule(type, *f);
        if (rule == CtxRule::Deny) return deny("field not available to this program type");
        if (rule == CtxRule::ReadCapBpf && !privileged) return deny("field needs CAP_BPF");
        if (write) {
            const bool writable = rule == CtxRule::Write || (rule == CtxRule::WriteCapBpf && privileged);
            if (!writable) return deny("read-only field");
            if (size != std::min<uint32_t>(f->size, f->loads & kCtxL8 ? 8 : 4) && f->name != "cb")
                return deny("stores must write the whole field");
            return CtxAccess{true, f, CtxYield::Scalar, {}};
        }
        if ((f->loads & (1u << size)) == 0) return deny("load size not allowed for this field");
        // Pointers come out of whole-field loads only.
        if (f->yields != CtxYield::Scalar && (off != f->offset || size != f->size))
            return deny("partial load of a pointer field");
        return CtxAccess{true, f, f->yields, {}};
    };
    std::optional<CtxAccess> first;
    for (const CtxField& f : info.fields) {
        if (off < f.offset || off >= f.offset + f.size) continue;
        CtxAccess a = check_field(&f);
        if (a.ok) return a;
        if (!first) first = a;
    }
    return first ? *first : deny("access to padding");
}

}  // namespace bpfvm
