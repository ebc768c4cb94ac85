// The verify stage: what the verifier needs from an object, in its own terms. Maps become
// MapInfos (global data sections as the single-element arrays libbpf creates, .rodata and .kconfig
// frozen with their contents known), BTF function info says which subprograms are global and what
// their arguments are, the license says whether GPL-only helpers may be called.
#include <algorithm>

#include "bpfvm/ctx_layouts.hpp"
#include "bpfvm/verifier.hpp"
#include "object_internal.hpp"

namespace bpfvm {
namespace {

/// Offset of the first member of `btf` type `id` whose type is the struct `name`, searching
/// nested structs (bounded); -1 when none.
int32_t find_member(const Btf& btf, uint32_t id, std::string_view name, int depth = 0) {
    if (depth > 8) return -1;
    const BtfType* t = btf.get(btf.skip_modifiers(id));
    if (!t || (t->kind != BtfKind::Struct && t->kind != BtfKind::Union)) return -1;
    for (const BtfMember& m : t->members) {
        const BtfType* mt = btf.get(btf.skip_modifiers(m.type));
        if (!mt) continue;
        if ((mt->kind == BtfKind::Struct) && mt->name == name) return static_cast<int32_t>(m.offset_bits / 8);
        const int32_t inner = find_member(btf, m.type, name, depth + 1);
        if (inner >= 0) return static_cast<int32_t>(m.offset_bits / 8) + inner;
    }
    return -1;
}

verifier::MapInfo map_info(const ObjectFile& file, const MapSpec& spec) {
    verifier::MapInfo m;
    m.name = spec.name;
    m.type = spec.type;
    m.key_size = spec.key_size;
    m.value_size = spec.value_size;
    m.max_entries = spec.max_entries;
    m.flags = spec.map_flags;
    m.inner_map = spec.inner_map;
    if (is_global_data(spec.kind)) {
        m.type = MapType::Array;
        m.key_size = 4;
        m.max_entries = 1;
        if (spec.readonly) {
            m.flags |= maps::kFRdonlyProg;
            m.frozen = true;  // libbpf freezes .rodata and .kconfig after filling them
            m.contents = spec.initial_data;
            m.contents.resize(spec.value_size);
        }
    }
    if (file.btf && spec.btf_value_type_id) {
        m.spin_lock_off = find_member(*file.btf, spec.btf_value_type_id, "bpf_spin_lock");
        m.timer_off = find_member(*file.btf, spec.btf_value_type_id, "bpf_timer");
        m.wq_off = find_member(*file.btf, spec.btf_value_type_id, "bpf_wq");
    }
    return m;
}

/// The argument kind of a global function parameter (btf_prepare_func_args).
verifier::GlobalArg arg_kind(const Btf& btf, uint32_t type, ProgramType prog, uint32_t& size) {
    const uint32_t id = btf.skip_modifiers(type);
    const BtfType* t = btf.get(id);
    size = 0;
    if (!t) return verifier::GlobalArg::Unsupported;
    if (t->kind == BtfKind::Int || t->kind == BtfKind::Enum || t->kind == BtfKind::Enum64)
        return verifier::GlobalArg::Scalar;
    if (t->kind != BtfKind::Ptr) return verifier::GlobalArg::Unsupported;
    const uint32_t pointee = btf.skip_modifiers(t->type);
    const BtfType* p = btf.get(pointee);
    if (p && p->kind == BtfKind::Struct) {
        const std::string ctx = std::string(ctx_info(prog).struct_name);
        if (!ctx.empty() && "struct " + p->name == ctx) return verifier::GlobalArg::Ctx;
    }
    auto sz = btf.size_of(pointee);
    if (!sz || *sz == 0) return verifier::GlobalArg::Unsupported;
    size = static_cast<uint32_t>(*sz);
    return verifier::GlobalArg::Mem;
}

std::vector<verifier::GlobalFunc> global_funcs(const ObjectFile& file, const ProgramSpec& spec) {
    std::vector<verifier::GlobalFunc> out;
    if (!file.btf) return out;
    const Btf& btf = *file.btf;
    for (const FuncEntry& f : spec.funcs) {
        if (f.pc >= spec.program.slot_to_index.size()) continue;
        verifier::GlobalFunc g;
        g.insn = spec.program.index_of(f.pc);
        g.name = f.name;
        const BtfType* func = btf.get(f.btf_type_id);
        if (!func || func->kind != BtfKind::Func) continue;
        g.global = func->linkage == 1 && g.insn != 0;
        const BtfType* proto = btf.get(func->type);
        if (proto && proto->kind == BtfKind::FuncProto) {
            const BtfType* ret = btf.get(btf.skip_modifiers(proto->type));
            g.returns_scalar = ret && ((ret->kind == BtfKind::Int && ret->size <= 8) || ret->kind == BtfKind::Enum ||
                                       ret->kind == BtfKind::Enum64);
            for (const BtfMember& p : proto->members) {
                uint32_t size = 0;
                g.args.push_back(arg_kind(btf, p.type, spec.type, size));
                g.arg_size.push_back(size);
            }
        }
        out.push_back(std::move(g));
    }
    return out;
}

/// license_is_gpl_compatible.
bool gpl_compatible(const std::string& license) {
    static const char* const kGpl[] = {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL",
                                       "Dual MPL/GPL"};
    return std::any_of(std::begin(kGpl), std::end(kGpl), [&](const char* l) { return license == l; });
}

}  // namespace

Verification verify_program(const ObjectFile& file, const ProgramSpec& spec, const VerifyOptions& options) {
    Verification v;
    const ProgramType type = options.type.value_or(spec.type);
    auto locate = [&](Error err) {
        err.where = file.path + ": " + spec.name;
        if (err.pc && err.source.empty()) {
            if (auto line = spec.line_for(*err.pc)) err.source = line->location() + ": " + line->text;
        }
        return err;
    };
    if (spec.error) {
        // The loader could not decode or link it: the kernel would refuse it too.
        v.verdict = Verdict::Reject;
        v.error = locate(*spec.error);
        return v;
    }
    if (type == ProgramType::Unspec) {
        v.verdict = Verdict::NotVerified;
        v.error = locate(make_error(ErrorCode::kInvalidArgument,
                                    "section '" + spec.section + "' names no program type: give one with --type"));
        return v;
    }
    std::vector<verifier::MapInfo> maps;
    maps.reserve(file.maps.size());
    for (const MapSpec& m : file.maps) maps.push_back(map_info(file, m));
    const std::vector<verifier::GlobalFunc> funcs = global_funcs(file, spec);
    verifier::Options o;
    o.type = type;
    o.attach = spec.expected_attach_type;
    o.privileged = options.privileged;
    o.strict_alignment = options.strict_alignment;
    o.any_alignment = options.any_alignment;
    o.test_state_freq = options.test_state_freq;
    o.reg_invariants = options.reg_invariants;
    o.gpl = gpl_compatible(options.license.value_or(file.license));
    o.sleepable = spec.sleepable;
    o.insn_limit = options.insn_limit;
    o.log = options.log;
    o.kfuncs = spec.kfuncs;
    verifier::Result r = verifier::verify(spec.program, maps, funcs, o);
    v.verdict = r.accepted ? Verdict::Accept : Verdict::Reject;
    if (r.error) v.error = locate(*r.error);
    v.detail = std::move(r.detail);
    v.log = std::move(r.log);
    v.stats.insns_processed = r.stats.insns_processed;
    v.stats.states = r.stats.states;
    v.stats.peak_states = r.stats.peak_states;
    v.stats.time_us = r.stats.time_us;
    v.needs_runtime_checks = std::any_of(r.facts.begin(), r.facts.end(), [](const auto& f) { return f.probe; });
    v.facts = std::move(r.facts);
    return v;
}

Verification verify_bytecode(const Program& program, const VerifyOptions& options) {
    ObjectFile file;
    file.path = program.name.empty() ? "bytecode" : program.name;
    file.license = "GPL";
    ProgramSpec spec;
    spec.name = "prog";
    spec.section = "raw";
    spec.program = program;
    return verify_program(file, spec, options);
}

}  // namespace bpfvm
