// CO-RE (compile once, run everywhere) relocations: each BTF.ext core_relo record names a local
// type, an access string ("0:1:2": array index on the root, then member/element indices) and a
// kind. We find target types of the same kind whose name matches up to a flavor suffix ("___v2"),
// follow the access by member *name* in the target, and patch the instruction with the target's
// offset/size/existence/value. Unresolvable relocations are poisoned like libbpf does, so the
// program fails only if the instruction is reachable.
#include <charconv>
#include <mutex>

#include "context.hpp"

namespace bpfvm::loader {
namespace {

enum Kind : uint32_t {
    kByteOff = 0, kByteSz = 1, kFieldExists = 2, kSigned = 3, kLshift = 4, kRshift = 5, kTypeIdLocal = 6,
    kTypeIdTarget = 7, kTypeExists = 8, kTypeSize = 9, kEnumExists = 10, kEnumValue = 11, kTypeMatches = 12,
};

constexpr const char* kKindNames[] = {"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
                                      "type_id_local", "type_id_target", "type_exists", "type_size",
                                      "enumval_exists", "enumval_value", "type_matches"};

Error core_error(const CoreReloRec& rec, const std::string& type, std::string message) {
    const char* kind = rec.kind < std::size(kKindNames) ? kKindNames[rec.kind] : "unknown";
    return make_error(ErrorCode::kMalformed, std::string("CO-RE ") + kind + " relocation of " + type + " access \"" +
                                                 rec.access + "\": " + message);
}

std::string_view essential_name(std::string_view name) {
    const auto p = name.find("___");
    return p == std::string_view::npos ? name : name.substr(0, p);
}

bool parse_access(const std::string& s, std::vector<uint32_t>& out) {
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t end = std::min(s.find(':', pos), s.size());
        uint32_t v = 0;
        auto [p, ec] = std::from_chars(s.data() + pos, s.data() + end, v);
        if (ec != std::errc() || p != s.data() + end || out.size() >= 64) return false;
        out.push_back(v);
        pos = end + 1;
    }
    return !out.empty();
}

/// One step of a local access: an array index, or a member (by name; "" for anonymous members,
/// which target matching looks through).
struct Step {
    bool array = false;
    uint32_t index = 0;
    std::string name;
};

/// Where a field is: bit offset from the root, bitfield size (0 if not a bitfield), field type.
struct Field {
    uint64_t bit_off = 0;
    uint32_t bitfield = 0;
    uint32_t type = 0;
};

bool is_composite(const BtfType* t) { return t != nullptr && (t->kind == BtfKind::Struct || t->kind == BtfKind::Union); }

/// Finds member `name` in composite `id`, searching anonymous members recursively.
bool find_member(const Btf& btf, uint32_t id, const std::string& name, uint64_t& bit_off, const BtfMember*& found, int depth) {
    const BtfType* t = btf.get(btf.skip_modifiers(id));
    if (!is_composite(t) || depth > 32) return false;
    for (const auto& m : t->members) {
        if (m.name == name) {
            bit_off += m.offset_bits;
            found = &m;
            return true;
        }
        if (m.name.empty()) {
            uint64_t inner = bit_off + m.offset_bits;
            if (find_member(btf, m.type, name, inner, found, depth + 1)) {
                bit_off = inner;
                return true;
            }
        }
    }
    return false;
}

bool kinds_compatible(const Btf& a, uint32_t ia, const Btf& b, uint32_t ib) {
    const BtfType* x = a.get(a.skip_modifiers(ia));
    const BtfType* y = b.get(b.skip_modifiers(ib));
    if (x == nullptr || y == nullptr) return false;
    auto scalar = [](BtfKind k) { return k == BtfKind::Int || k == BtfKind::Enum || k == BtfKind::Enum64; };
    if (scalar(x->kind) && scalar(y->kind)) return true;
    if (x->kind == BtfKind::Fwd || y->kind == BtfKind::Fwd) return true;
    return x->kind == y->kind;
}

/// Follows `steps` from `root` in `btf`; nullopt when a named member is missing.
std::optional<Field> follow(const Btf& btf, uint32_t root, const std::vector<Step>& steps) {
    Field f;
    uint32_t type = root;
    auto root_size = btf.size_of(root);
    if (!root_size) return std::nullopt;
    f.bit_off = uint64_t{steps[0].index} * *root_size * 8;
    for (size_t i = 1; i < steps.size(); ++i) {
        const Step& s = steps[i];
        const BtfType* t = btf.get(btf.skip_modifiers(type));
        if (t == nullptr) return std::nullopt;
        if (s.array) {
            if (t->kind != BtfKind::Array) return std::nullopt;
            auto esz = btf.size_of(t->elem_type);
            if (!esz) return std::nullopt;
            f.bit_off += uint64_t{s.index} * *esz * 8;
            type = t->elem_type;
            f.bitfield = 0;
        } else if (!s.name.empty()) {
            const BtfMember* m = nullptr;
            uint64_t off = 0;
            if (!find_member(btf, type, s.name, off, m, 0)) return std::nullopt;
            f.bit_off += off;
            type = m->type;
            f.bitfield = m->bitfield_size;
        }
        // Anonymous members are looked through by the next named step.
    }
    f.type = type;
    return f;
}

}  // namespace

Result<const CoreTarget*> core_target(LoadContext& ctx) {
    if (ctx.core) return ctx.core.get();
    auto target = std::make_shared<CoreTarget>();
    if (ctx.options.target_btf) {
        target->btf = ctx.options.target_btf;
    } else {
        const std::string path = ctx.options.target_btf_path.empty() ? "/sys/kernel/btf/vmlinux" : ctx.options.target_btf_path;
        // vmlinux BTF is large: parse each file once per process.
        static std::mutex mu;
        static std::map<std::string, std::shared_ptr<const Btf>> cache;
        std::lock_guard<std::mutex> lock(mu);
        auto& slot = cache[path];
        if (!slot) {
            auto btf = Btf::load_file(path);
            if (!btf) {
                cache.erase(path);
                return btf.error();
            }
            slot = std::make_shared<const Btf>(std::move(*btf));
        }
        target->btf = slot;
    }
    const Btf& btf = *target->btf;
    for (size_t id = 1; id < btf.types.size(); ++id)
        if (!btf.types[id].name.empty())
            target->by_name[essential_name(btf.types[id].name)].push_back(static_cast<uint32_t>(id));
    ctx.core = target;
    return ctx.core.get();
}

Result<CoreRelocation> apply_core_relocation(const Btf& local, const CoreTarget& target, const CoreReloRec& rec,
                                            std::vector<RawInsn>& insns, uint32_t pc) {
    CoreRelocation out;
    out.pc = pc;
    out.kind = rec.kind < std::size(kKindNames) ? kKindNames[rec.kind] : "unknown";
    out.access = rec.access;
    const uint32_t root = local.skip_modifiers(rec.type_id);
    const BtfType* lt = local.get(root);
    out.type_name = local.type_name(rec.type_id);
    if (rec.kind > kTypeMatches) return core_error(rec, out.type_name, "unknown relocation kind " + std::to_string(rec.kind));
    if (lt == nullptr || root == 0) return core_error(rec, out.type_name, "invalid local type id " + std::to_string(rec.type_id));
    std::vector<uint32_t> access;
    if (!parse_access(rec.access, access)) return core_error(rec, out.type_name, "malformed access string");

    const Btf& tb = *target.btf;
    std::vector<uint32_t> candidates;
    const std::string_view ename = essential_name(lt->name);
    if (!ename.empty()) {
        auto it = target.by_name.find(ename);
        if (it != target.by_name.end())
            for (uint32_t id : it->second) {
                const BtfType* t = tb.get(id);
                const bool enum_like = (lt->kind == BtfKind::Enum || lt->kind == BtfKind::Enum64) &&
                                       (t->kind == BtfKind::Enum || t->kind == BtfKind::Enum64);
                if (t->kind == lt->kind || enum_like) candidates.push_back(id);
            }
    }

    std::optional<uint64_t> value;  // nullopt: no match
    auto agree = [&](uint64_t v) -> Status {
        if (value && *value != v)
            return core_error(rec, out.type_name, "ambiguous: target candidates give " + std::to_string(*value) + " and " + std::to_string(v));
        value = v;
        return {};
    };
    switch (static_cast<Kind>(rec.kind)) {
        case kByteOff: case kByteSz: case kFieldExists: case kSigned: case kLshift: case kRshift: {
            if (!is_composite(lt) && access.size() > 1) return core_error(rec, out.type_name, "field access on a non-composite type");
            // Build the local steps (names from the local type).
            std::vector<Step> steps{{true, access[0], {}}};
            uint32_t type = root;
            for (size_t i = 1; i < access.size(); ++i) {
                const BtfType* t = local.get(local.skip_modifiers(type));
                if (is_composite(t)) {
                    if (access[i] >= t->members.size()) return core_error(rec, out.type_name, "member index " + std::to_string(access[i]) + " out of range");
                    steps.push_back({false, access[i], t->members[access[i]].name});
                    type = t->members[access[i]].type;
                } else if (t != nullptr && t->kind == BtfKind::Array) {
                    steps.push_back({true, access[i], {}});
                    type = t->elem_type;
                } else {
                    return core_error(rec, out.type_name, "access index " + std::to_string(i) + " applies to a non-composite type");
                }
            }
            const uint32_t local_field = type;
            for (uint32_t cand : candidates) {
                auto f = follow(tb, cand, steps);
                if (!f || !kinds_compatible(local, local_field, tb, f->type)) continue;
                auto tsz = tb.size_of(f->type);
                if (!tsz && rec.kind != kFieldExists) continue;
                uint64_t byte_sz = tsz ? *tsz : 0, byte_off = f->bit_off / 8;
                if (f->bitfield != 0) {
                    if (byte_sz == 0 || byte_sz > 8) continue;
                    byte_off = f->bit_off / 8 / byte_sz * byte_sz;
                    while (f->bit_off + f->bitfield - byte_off * 8 > byte_sz * 8) {
                        if (byte_sz >= 8) return core_error(rec, out.type_name, "bitfield does not fit in 8 bytes");
                        byte_sz *= 2;
                        byte_off = f->bit_off / 8 / byte_sz * byte_sz;
                    }
                } else if (f->bit_off % 8 != 0) {
                    continue;
                }
                uint64_t v = 0;
                const BtfType* ft = tb.get(tb.skip_modifiers(f->type));
                switch (static_cast<Kind>(rec.kind)) {
                    case kByteOff: v = byte_off; break;
                    case kByteSz: v = byte_sz; break;
                    case kFieldExists: v = 1; break;
                    case kSigned: v = ft != nullptr && ft->is_signed ? 1 : 0; break;
                    case kLshift: v = f->bitfield ? 64 - (f->bit_off + f->bitfield - byte_off * 8) : 64 - std::min<uint64_t>(byte_sz, 8) * 8; break;
                    case kRshift: v = f->bitfield ? 64 - f->bitfield : 64 - std::min<uint64_t>(byte_sz, 8) * 8; break;
                    default: break;
                }
                BPFVM_TRY(agree(v));
                out.type_name = local.type_name(rec.type_id);
            }
            if (!value && rec.kind == kFieldExists) value = 0;
            break;
        }
        case kTypeIdLocal:
            value = rec.type_id;
            break;
        case kTypeIdTarget: case kTypeExists: case kTypeSize: case kTypeMatches:
            for (uint32_t cand : candidates) {
                uint64_t v = 1;
                if (rec.kind == kTypeIdTarget) v = cand;
                if (rec.kind == kTypeSize) {
                    auto sz = tb.size_of(cand);
                    if (!sz) continue;
                    v = *sz;
                }
                // Several same-named candidates: keep the first (ids differ by definition).
                if (!value) value = v;
            }
            if (!value && (rec.kind == kTypeExists || rec.kind == kTypeMatches)) value = 0;
            break;
        case kEnumExists: case kEnumValue: {
            if (lt->kind != BtfKind::Enum && lt->kind != BtfKind::Enum64) return core_error(rec, out.type_name, "enum relocation on a non-enum type");
            if (access.size() != 1 || access[0] >= lt->enumerators.size())
                return core_error(rec, out.type_name, "enumerator index out of range");
            const std::string& name = lt->enumerators[access[0]].name;
            for (uint32_t cand : candidates)
                for (const auto& e : tb.get(cand)->enumerators)
                    if (essential_name(e.name) == essential_name(name))
                        BPFVM_TRY(agree(rec.kind == kEnumExists ? 1 : static_cast<uint64_t>(e.value)));
            if (!value && rec.kind == kEnumExists) value = 0;
            break;
        }
    }

    RawInsn& insn = insns[pc];
    const bool lddw = insn.opcode == 0x18;
    if (lddw && pc + 1 >= insns.size()) return core_error(rec, out.type_name, "lddw without its second half");
    if (!value) {
        // No target: poison (an unknown helper call) so the program fails only if this runs.
        insn = RawInsn{};
        insn.opcode = 0x85;
        insn.set_imm(kCorePoisonHelper);
        if (lddw) insns[pc + 1] = RawInsn{0x05, 0, 0, 0, {0, 0, 0, 0}};  // ja +0 keeps the slot count
        return out;
    }
    out.resolved = true;
    out.value = *value;
    const uint8_t cls = insn.opcode & 0x07;
    if (lddw) {
        insn.set_imm(static_cast<int32_t>(*value & 0xffffffff));
        insns[pc + 1].set_imm(static_cast<int32_t>(*value >> 32));
    } else if ((cls == 4 || cls == 7) && (insn.opcode & 0x08) == 0) {
        if (*value > INT32_MAX) return core_error(rec, out.type_name, "value " + std::to_string(*value) + " does not fit in imm");
        insn.set_imm(static_cast<int32_t>(*value));
    } else if ((cls == 1 || cls == 2 || cls == 3) && rec.kind == kByteOff) {
        if (*value > INT16_MAX) return core_error(rec, out.type_name, "offset " + std::to_string(*value) + " does not fit in the offset field");
        insn.set_off(static_cast<int16_t>(*value));
    } else {
        return core_error(rec, out.type_name, "cannot patch instruction with opcode " + std::to_string(insn.opcode));
    }
    return out;
}

}  // namespace bpfvm::loader
