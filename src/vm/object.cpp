// Object: an ELF eBPF object through the stages. Open loads the ObjectFile; verify asks the
// verifier; prepare creates the maps from the loader's MapSpecs (global data initialized from its
// section contents, map-in-map and prog_array slots from static initializers), resolves lddw map
// references into live Map pointers, converts context accesses and compiles per engine options.
#include <algorithm>
#include <cstring>

#include "bpfvm/detail/helpers.hpp"
#include "bpfvm/io.hpp"
#include "object_internal.hpp"
#include "testrun/testrun_internal.hpp"

namespace bpfvm {
namespace {

/// The MapAttr of a spec. Device, CPU and XSK maps (redirect targets) have no userspace
/// implementation; they become hash maps of the same shape, so redirect_map can look entries up.
maps::MapAttr attr_of(const MapSpec& spec) {
    maps::MapAttr a;
    a.type = spec.type;
    a.key_size = spec.key_size;
    a.value_size = spec.value_size;
    a.max_entries = spec.max_entries;
    a.flags = spec.map_flags;
    a.name = spec.name;
    if (is_global_data(spec.kind)) {
        a.type = MapType::Array;
        a.key_size = 4;
        a.max_entries = 1;
        if (spec.readonly) a.flags |= maps::kFRdonlyProg;
    }
    switch (spec.type) {
        case MapType::Devmap:
        case MapType::DevmapHash:
        case MapType::Cpumap:
        case MapType::Xskmap:
            a.type = MapType::Hash;
            a.flags &= ~(maps::kFRdonlyProg | maps::kFWronlyProg);
            break;
        default:
            break;
    }
    return a;
}

}  // namespace

std::string Object::Impl::where(const ProgEntry& e) const { return file.path + ": " + file.programs[e.index].name; }

Error Object::Impl::locate(const ProgEntry& e, Error err) const {
    if (err.where.empty()) err.where = where(e);
    if (err.pc && err.source.empty()) {
        if (auto line = spec(e).line_for(*err.pc)) err.source = line->location() + ": " + line->text;
    }
    return err;
}

Status Object::Impl::ensure_maps() {
    if (maps_created) return {};
    return create_maps();
}

Status Object::Impl::create_maps() {
    maps_created = true;
    maps.clear();
    map_errors.assign(file.maps.size(), std::nullopt);
    value_regions.clear();
    for (auto& p : progs) {
        p->resolved.reset();
        p->runnable.reset();
        p->execs.clear();
    }
    uint64_t reserved = 0;  // bytes the maps created so far may hold (limits.hpp)
    for (const MapSpec& spec : file.maps) {
        maps::MapAttr attr = attr_of(spec);
        if (spec.inner_map && *spec.inner_map < file.maps.size())
            attr.inner = std::make_shared<const maps::MapAttr>(attr_of(file.maps[*spec.inner_map]));
        // A map that fails (too large, zero-sized, unsupported) is recorded: programs that do not
        // use it still run, and those that do report why it is missing.
        auto fail = [&](Error e) {
            e.where = file.path;
            if (spec.max_entries == 0 && !is_global_data(spec.kind))
                e.message += " (the object leaves its size to the loader: set one with --map-size " + spec.name + "=N)";
            map_errors[maps.size()] = e;
            maps.push_back(nullptr);
        };
        const uint64_t bytes = maps::memory_estimate(attr);
        if (bytes > max_map_memory - std::min(reserved, max_map_memory)) {
            fail(make_error(ErrorCode::kNoSpace, "map " + spec.name + " needs " + std::to_string(bytes) +
                                                     " bytes, beyond the map memory limit of " +
                                                     std::to_string(max_map_memory) + " bytes per object (" +
                                                     std::to_string(reserved) +
                                                     " already reserved; raise it with --max-map-memory)"));
            continue;
        }
        auto m = maps::create_map(attr);
        if (!m) {
            fail(m.error());
            continue;
        }
        reserved += bytes;
        maps.push_back(std::move(*m));
    }
    for (size_t i = 0; i < file.maps.size(); ++i) {
        const MapSpec& spec = file.maps[i];
        maps::Map* m = maps[i].get();
        if (m == nullptr) continue;
        if (is_global_data(spec.kind) && !spec.initial_data.empty()) {
            const uint32_t zero = 0;
            std::vector<uint8_t> value(spec.initial_data);
            value.resize(spec.value_size);
            // Write through the program-side view: read-only-for-programs maps still take the
            // initial contents, as libbpf sets them before freezing.
            if (void* v = m->lookup_elem(&zero)) std::memcpy(v, value.data(), value.size());
        }
        for (const MapSlotInit& init : spec.slot_inits) {
            const void* target = nullptr;
            if (spec.type == MapType::ProgArray) {
                for (auto& p : progs)
                    if (file.programs[p->index].name == init.target) target = p.get();
            } else if (auto idx = file.map_index(init.target); idx && maps[*idx]) {
                target = maps[*idx].get();
            }
            if (target == nullptr)
                return make_error(ErrorCode::kNotFound, file.path + ": map " + spec.name + ": slot " +
                                                            std::to_string(init.slot) + " refers to unknown '" +
                                                            init.target + "'");
            long rc = m->update_elem(&init.slot, &target, maps::kAny);
            if (rc != 0) return maps::errno_status(rc, *m, "initialize slot");
        }
    }
    return {};
}

Status Object::Impl::resolve(ProgEntry& e) {
    if (e.resolved) return *e.resolved;
    BPFVM_TRY(ensure_maps());
    Status status = resolve_once(e);
    e.resolved = status;
    return status;
}

Status Object::Impl::resolve_once(ProgEntry& e) {
    const ProgramSpec& spec = file.programs[e.index];
    if (spec.error) return locate(e, *spec.error);
    Program prog = spec.program;
    for (Insn& insn : prog.insns) {
        if (insn.op != Op::Lddw || insn.src == 0 || insn.src == static_cast<uint8_t>(LddwKind::Func)) continue;
        const auto kind = static_cast<LddwKind>(insn.src);
        auto fail = [&](std::string msg) {
            Error err = make_error(ErrorCode::kUnsupported, std::move(msg), insn.pc);
            err.where = where(e);
            return err;
        };
        if (kind != LddwKind::MapIdx && kind != LddwKind::MapIdxValue)
            return fail("lddw with src " + std::to_string(insn.src) + " cannot be resolved in an object");
        const auto idx = static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) & 0xffffffffu);
        const auto offset = static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) >> 32);
        if (idx >= maps.size()) return fail("reference to map index " + std::to_string(idx) + " out of range");
        if (!maps[idx]) {
            Error err = *map_errors[idx];
            err.message = "map " + file.maps[idx].name + " is unavailable: " + err.message;
            err.pc = insn.pc;
            err.where = where(e);
            return err;
        }
        maps::Map* m = maps[idx].get();
        uint64_t value = reinterpret_cast<uint64_t>(m);
        if (kind == LddwKind::MapIdxValue) {
            const uint32_t zero = 0;
            void* base = (m->type() == MapType::Array && m->key_size() == 4) ? m->lookup_elem(&zero) : nullptr;
            if (base == nullptr) return fail("map " + m->name() + " has no direct value address (not an array)");
            if (offset >= m->value_size()) return fail("offset " + std::to_string(offset) + " past the value of map " + m->name());
            value = reinterpret_cast<uint64_t>(base) + offset;
            const auto b = reinterpret_cast<uint64_t>(base);
            const bool writable = !(m->attr().flags & maps::kFRdonlyProg);
            if (std::none_of(value_regions.begin(), value_regions.end(), [&](const MemRegion& r) { return r.begin == b; }))
                value_regions.push_back({b, b + m->value_size(), writable});
        }
        insn.imm = static_cast<int64_t>(value);
        insn.src = 0;
    }
    const testrun::CtxLayout* layout = testrun::ctx_layout_for(spec.type);
    Result<testrun::CtxConversion> conv = make_error(ErrorCode::kInvalidArgument, "no conversion");
    if (e.verification && e.verification->verdict == Verdict::Accept)
        conv = testrun::convert_ctx_access(prog, layout, e.verification->facts);
    else
        conv = testrun::convert_ctx_access(prog, layout);
    if (!conv) return locate(e, conv.error());
    e.max_ctx_end = conv->max_ctx_end;
    e.runnable = std::move(conv->program);
    return {};
}

Result<const Executable*> Object::Impl::executable(ProgEntry& e, EngineKind engine, const EngineOptions& options) {
    for (const auto& p : e.execs)
        if (p.engine == engine && p.options.checked == options.checked &&
            (!options.checked || p.options.insn_budget == options.insn_budget))
            return static_cast<const Executable*>(p.exec.get());
    BPFVM_TRY(resolve(e));
    auto prepared = bpfvm::prepare(*e.runnable, engine, helpers, options);
    if (!prepared) return locate(e, prepared.error());
    e.execs.push_back(PreparedExec{engine, options, std::move(*prepared)});
    return static_cast<const Executable*>(e.execs.back().exec.get());
}

Result<ProgEntry*> Object::Impl::find(std::string_view name) const {
    std::vector<ProgEntry*> named;
    for (auto& p : progs)
        if (file.programs[p->index].name == name) named.push_back(p.get());
    if (named.size() == 1) return named[0];
    auto field_of = [&](const std::vector<ProgEntry*>& entries, std::string ProgramSpec::*field) {
        std::vector<std::string> out;
        for (const ProgEntry* p : entries) out.push_back(file.programs[p->index].*field);
        return out;
    };
    if (named.size() > 1)  // only a hand-made object repeats a function name, but say so
        return make_error(ErrorCode::kInvalidArgument, file.path + ": " + std::to_string(named.size()) +
                                                           " programs are named '" + std::string(name) + "' (in sections " +
                                                           join(field_of(named, &ProgramSpec::section), ", ") + ")");
    std::vector<ProgEntry*> in_section;
    for (auto& p : progs)
        if (file.programs[p->index].section == name) in_section.push_back(p.get());
    if (in_section.size() == 1) return in_section[0];
    if (!in_section.empty())
        return make_error(ErrorCode::kInvalidArgument, file.path + ": section '" + std::string(name) + "' holds " +
                                                           std::to_string(in_section.size()) + " programs; name one: " +
                                                           join(field_of(in_section, &ProgramSpec::name), ", "));
    std::vector<ProgEntry*> all;
    for (auto& p : progs) all.push_back(p.get());
    const auto names = field_of(all, &ProgramSpec::name);
    return make_error(ErrorCode::kNotFound, file.path + ": no program named '" + std::string(name) + "'" +
                                                did_you_mean(name, names) + " (programs: " + join(names, ", ", "none") + ")");
}

ProgEntry* Object::Impl::entry_from_pointer(const void* p) const {
    for (const auto& e : progs)
        if (e.get() == p) return e.get();
    return nullptr;
}

// ---- Object

namespace {

/// Every helper an object's programs can call: the maps layer's, the packet helpers, and stubs
/// for the ids nothing implements (they stop the run as unsupported).
HelperTable object_helpers() {
    HelperTable t = maps::standard_helpers();
    testrun::register_packet_helpers(t);
    maps::register_unsupported_helpers(t);  // last: only ids nothing implements
    return t;
}

}  // namespace

bool helper_runs_in_userspace(int32_t id) {
    static const HelperTable table = object_helpers();
    return id > 0 && table.has(static_cast<uint64_t>(id)) && !maps::is_unsupported_helper(table, static_cast<uint32_t>(id));
}

Object::Object(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Object::Object(Object&&) noexcept = default;
Object& Object::operator=(Object&&) noexcept = default;
Object::~Object() = default;

Result<Object> Object::open(const std::string& path, const ObjectOptions& options) {
    auto file = load_object(path, options.load);
    if (!file) return file.error();
    return from_file(std::move(*file), options);
}

Result<Object> Object::from_file(ObjectFile file, const ObjectOptions& options) {
    if (options.max_map_memory > kMaxMapMemory)
        return make_error(ErrorCode::kInvalidArgument, "map memory limit " + std::to_string(options.max_map_memory) +
                                                           " out of range [0, " + std::to_string(kMaxMapMemory) + "]");
    auto impl = std::make_unique<Impl>();
    impl->file = std::move(file);
    impl->max_map_memory = options.max_map_memory;
    for (uint32_t i = 0; i < impl->file.programs.size(); ++i) {
        auto e = std::make_unique<ProgEntry>();
        e->owner = impl.get();
        e->index = i;
        impl->progs.push_back(std::move(e));
    }
    impl->helpers = object_helpers();
    return Object(std::move(impl));
}

const ObjectFile& Object::file() const { return impl_->file; }

std::vector<std::string> Object::program_names() const {
    std::vector<std::string> names;
    for (const auto& p : impl_->file.programs) names.push_back(p.name);
    return names;
}

Result<const ProgramSpec*> Object::program(std::string_view name) const {
    auto e = impl_->find(name);
    if (!e) return e.error();
    return &impl_->spec(**e);
}

Result<Verification> Object::verify(std::string_view program, const VerifyOptions& options) {
    auto e = impl_->find(program);
    if (!e) return e.error();
    ProgEntry& entry = **e;
    if (!entry.verification || !(entry.verified_with == options)) {
        entry.verification = verify_program(impl_->file, impl_->spec(entry), options);
        entry.verified_with = options;
    }
    return *entry.verification;
}

Status Object::prepare(std::string_view program, const PrepareOptions& options) {
    auto e = impl_->find(program);
    if (!e) return e.error();
    EngineOptions eopts;
    eopts.checked = options.checked;
    eopts.insn_budget = options.insn_budget;
    auto x = impl_->executable(**e, options.engine.value_or(default_engine()), eopts);
    if (!x) return x.error();
    return {};
}

Result<uint32_t> Object::Impl::map_index(std::string_view name) const {
    std::vector<std::string> names;
    for (const auto& m : file.maps) names.push_back(m.name);
    const auto count = std::count(names.begin(), names.end(), name);
    if (count == 1) return static_cast<uint32_t>(std::find(names.begin(), names.end(), name) - names.begin());
    if (count > 1)
        return make_error(ErrorCode::kInvalidArgument, file.path + ": " + std::to_string(count) + " maps are named '" +
                                                           std::string(name) + "'");
    return make_error(ErrorCode::kNotFound, file.path + ": no map named '" + std::string(name) + "'" +
                                                did_you_mean(name, names) + " (maps: " + join(names, ", ", "none") + ")");
}

Result<MapHandle> Object::map(std::string_view name) const {
    auto idx = impl_->map_index(name);
    if (!idx) return idx.error();
    BPFVM_TRY(impl_->ensure_maps());
    if (!impl_->maps[*idx]) return *impl_->map_errors[*idx];
    return MapHandle(impl_->maps[*idx].get());
}

Status Object::set_map_size(std::string_view name, uint32_t max_entries) {
    auto idx = impl_->map_index(name);
    if (!idx) return idx.error();
    MapSpec& spec = impl_->file.maps[*idx];
    if (spec.kind != MapKind::Legacy && spec.kind != MapKind::BtfMap)
        return make_error(ErrorCode::kInvalidArgument, impl_->file.path + ": map " + spec.name +
                                                           " holds global data; its size is the section's");
    if (max_entries == 0)
        return make_error(ErrorCode::kInvalidArgument, impl_->file.path + ": map " + spec.name + ": size must not be 0");
    spec.max_entries = max_entries;
    // Maps already made (and programs resolved against them) are made again with the new size.
    return impl_->maps_created ? impl_->create_maps() : Status{};
}

Status Object::set_program_type(std::string_view program, ProgramType type) {
    auto e = impl_->find(program);
    if (!e) return e.error();
    ProgEntry& entry = **e;
    impl_->file.programs[entry.index].type = type;
    // The context layout follows the type: convert and compile again.
    entry.resolved.reset();
    entry.runnable.reset();
    entry.execs.clear();
    return {};
}

Status Object::set_prog_array_slot(std::string_view map_name, uint32_t slot, std::string_view program) {
    auto m = map(map_name);
    if (!m) return m.error();
    if (m->raw().type() != MapType::ProgArray)
        return make_error(ErrorCode::kInvalidArgument, impl_->file.path + ": map " + std::string(map_name) + " is not a prog_array");
    auto e = impl_->find(program);
    if (!e) return e.error();
    const void* target = *e;
    long rc = m->raw().update_elem(&slot, &target, maps::kAny);
    if (rc != 0) return maps::errno_status(rc, m->raw(), "set slot");
    return {};
}

Status Object::reset_maps() { return impl_->create_maps(); }

Result<TestRunResult> Object::test_run(std::string_view program, const TestRunInput& input) {
    auto e = impl_->find(program);
    if (!e) return e.error();
    return impl_->run_test(**e, input);
}

Result<Program> Object::runnable_program(std::string_view program) const {
    auto e = impl_->find(program);
    if (!e) return e.error();
    BPFVM_TRY(impl_->resolve(**e));
    return *(*e)->runnable;
}

Result<ProgramType> parse_program_type(std::string_view name) {
    if (auto type = program_type_by_name(name); type && *type != ProgramType::Unspec) return *type;
    std::vector<std::string> names;
    for (uint32_t v = 1; v < kNumProgramTypes; ++v) names.push_back(program_type_name(static_cast<ProgramType>(v)));
    return make_error(ErrorCode::kInvalidArgument, "unknown program type '" + std::string(name) + "'" +
                                                       did_you_mean(name, names) + "; program types: " + join(names, ", "));
}

// ---- MapHandle

Result<std::vector<uint8_t>> MapHandle::lookup_bytes(std::span<const uint8_t> key) const {
    std::vector<uint8_t> value(map_->sys_value_size());
    Status s = map_->lookup(key, value);
    if (!s) return s.error();
    return value;
}

Status MapHandle::update_bytes(std::span<const uint8_t> key, std::span<const uint8_t> value, uint64_t flags) {
    return map_->update(key, value, flags);
}

Status MapHandle::erase_bytes(std::span<const uint8_t> key) { return map_->erase(key); }

}  // namespace bpfvm
