// Session: load an object into the kernel, attach its programs, read its maps and events. The
// load goes program by program so that a rejection names the program (with the verifier's reason
// and source line) and nothing is left half attached: attachments made before a failure are
// dropped (detached) when open() returns the error.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bpfvm/session.hpp"

namespace bpfvm::observe {
namespace {

bool is_event_map(MapType type) { return type == MapType::Ringbuf || type == MapType::PerfEventArray; }

/// Cpus in a per-cpu value: the syscall value size over one cpu's aligned value size.
uint32_t cpus_of(MapType type, uint32_t value_size) {
    const uint32_t one = (value_size + 7) / 8 * 8;
    const uint32_t all = kernel::syscall_value_size(type, value_size);
    return one == 0 || all == value_size ? 1 : all / one;
}

}  // namespace

Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::open(const std::string& object_path, const SessionOptions& options) {
    auto loaded = load_object(object_path);
    if (!loaded) return loaded.error();
    std::unique_ptr<Session> s(new Session());
    s->object_ = std::make_unique<ObjectFile>(std::move(*loaded));
    ObjectFile& object = *s->object_;

    for (const auto& [name, value] : options.globals) BPFVM_TRY(kernel::set_global_integer(object, name, value));
    if (options.pid >= 0) {
        // libbpf-tools' convention for pid filters; objects without them filter in user space.
        for (const char* var : {"targ_tgid", "targ_pid"}) {
            auto st = kernel::set_global_integer(object, var, options.pid);
            if (!st && st.error().code != ErrorCode::kNotFound) return st.error();
        }
    }

    std::vector<const ProgramSpec*> selected;
    if (options.programs.empty()) {
        for (const auto& p : object.programs) selected.push_back(&p);
    } else {
        for (const auto& name : options.programs) {
            const ProgramSpec* p = object.find_program(name);
            if (p == nullptr) {
                std::string list;
                for (const auto& q : object.programs) list += (list.empty() ? "" : ", ") + q.name;
                return make_error(ErrorCode::kNotFound, object.path + ": no program '" + name + "' (programs: " +
                                                            (list.empty() ? "none" : list) + ")");
            }
            if (std::find(selected.begin(), selected.end(), p) == selected.end()) selected.push_back(p);
        }
    }
    if (selected.empty()) return make_error(ErrorCode::kNotFound, object.path + ": the object has no programs");

    auto ko = kernel::KernelObject::open(object, options.kernel_options);
    if (!ko) return ko.error();
    s->kernel_ = std::make_unique<kernel::KernelObject>(std::move(*ko));
    for (const ProgramSpec* p : selected) {
        auto fd = s->kernel_->load_program(p->name);
        if (!fd) return fd.error();
        SessionProgram prog;
        prog.name = p->name;
        prog.section = p->section;
        if (auto info = kernel::program_info(*fd)) prog.id = info->id;
        s->programs_.push_back(std::move(prog));
    }
    // Program arrays reference programs by fd: fill them once every program is loaded.
    if (options.programs.empty()) BPFVM_TRY(s->kernel_->load_all());

    if (!options.attach) return s;
    kernel::AttachOptions attach = options.attach_options;
    if (options.pid >= 0 && attach.pid < 0) attach.pid = options.pid;
    for (size_t i = 0; i < selected.size(); ++i) {
        const ProgramSpec* p = selected[i];
        auto fd = s->kernel_->program_fd(p->name);
        if (!fd) return fd.error();
        auto attached = kernel::attach_program(*fd, *p, attach);
        if (!attached) {
            Error e = attached.error();
            e.where = object.path + ": " + e.where;
            return e;
        }
        s->programs_[i].attachment = attached->description();
        s->attachments_.emplace_back(p->name, std::move(*attached));
    }
    return s;
}

Result<MapSnapshot> Session::snapshot(const std::string& name) const {
    const MapSpec* spec = object_->find_map(name);
    if (spec == nullptr) return make_error(ErrorCode::kNotFound, object_->path + ": no map '" + name + "'");
    auto entries = kernel_->dump_map(name);
    if (!entries) return entries.error();
    MapSnapshot snap;
    snap.name = spec->name;
    snap.type = spec->type;
    snap.key_size = is_global_data(spec->kind) ? 4 : spec->key_size;
    snap.value_size = spec->value_size;
    snap.cpus = cpus_of(spec->type, spec->value_size);
    snap.btf = object_->btf;
    snap.key_type = spec->btf_key_type_id;
    snap.value_type = spec->btf_value_type_id;
    snap.entries = std::move(*entries);
    return snap;
}

std::vector<std::string> Session::printable_maps() const {
    std::vector<std::string> out;
    for (const auto& m : object_->maps)
        if (!is_global_data(m.kind) && kernel::map_contents_readable(m)) out.push_back(m.name);
    return out;
}

Result<kernel::EventStream> Session::open_events() const {
    kernel::EventStream stream;
    for (const auto& m : object_->maps) {
        if (!is_event_map(m.type)) continue;
        auto fd = kernel_->map_fd(m.name);
        if (!fd) return fd.error();
        auto layout = kernel_->map_layout(m.name);
        if (!layout) return layout.error();
        if (m.type == MapType::Ringbuf) BPFVM_TRY(stream.add_ring_buffer(m.name, *fd, m.max_entries));
        else BPFVM_TRY(stream.add_perf_buffer(m.name, *fd, layout->max_entries));
    }
    return stream;
}

Result<std::vector<ProgramStats>> Session::program_stats() const {
    std::vector<ProgramStats> out;
    for (const auto& p : programs_) {
        auto fd = kernel_->program_fd(p.name);
        if (!fd) return fd.error();
        auto info = kernel::program_info(*fd);
        if (!info) return info.error();
        out.push_back({p.name, info->id, info->tag, info->run_count, info->run_time_ns});
    }
    return out;
}

Status Session::pin(const std::string& dir) const {
    BPFVM_TRY(kernel_->pin(dir));
    const std::string links = dir + "/links";
    if (::mkdir(links.c_str(), 0700) != 0 && errno != EEXIST)
        return make_error(ErrorCode::kIo, "mkdir " + links + ": " + std::string(std::strerror(errno)));
    for (const auto& [name, attachment] : attachments_) BPFVM_TRY(attachment.pin(links + "/" + kernel::pin_name(name)));
    return {};
}

Result<std::string> render_session_metrics(const Session& session, const MetricsConfig& config,
                                           const std::string& prefix) {
    ExpositionInput input;
    input.config = &config;
    input.prefix = prefix;
    for (const auto& map : config.maps()) {
        if (input.maps.count(map)) continue;
        auto snap = session.snapshot(map);
        if (!snap) return snap.error();
        input.maps.emplace(map, std::move(*snap));
    }
    auto programs = session.program_stats();
    if (!programs) return programs.error();
    input.programs = std::move(*programs);
    return render_metrics(input);
}

Result<MapSnapshot> snapshot_map_fd(int fd) {
    auto info = kernel::map_info(fd);
    if (!info) return info.error();
    if (info->type == MapType::Ringbuf || info->type == MapType::PerfEventArray || info->type == MapType::ProgArray ||
        info->type == MapType::ArrayOfMaps || info->type == MapType::HashOfMaps || info->type == MapType::Queue ||
        info->type == MapType::Stack || info->type == MapType::BloomFilter || info->type == MapType::UserRingbuf)
        return make_error(ErrorCode::kUnsupported, "map '" + info->name + "' (" + map_type_name(info->type) +
                                                       ") has no elements to read");
    MapSnapshot snap;
    snap.name = info->name;
    snap.type = info->type;
    snap.key_size = info->key_size;
    snap.value_size = info->value_size;
    snap.cpus = cpus_of(info->type, info->value_size);
    if (info->btf_id != 0) {
        auto btf = kernel::load_kernel_btf(info->btf_id);
        if (btf) {
            snap.btf = std::make_shared<const Btf>(std::move(*btf));
            snap.key_type = info->btf_key_type_id;
            snap.value_type = info->btf_value_type_id;
        }
    }
    auto entries = kernel::read_map(fd, info->layout());
    if (!entries) return entries.error();
    snap.entries = std::move(*entries);
    return snap;
}

// ---------------------------------------------------------------------------------------------

EventFormatter::EventFormatter(const ObjectFile& object, std::map<std::string, std::string> types)
    : object_(object), types_(std::move(types)) {
    for (const auto& m : object.maps) event_maps_ += is_event_map(m.type) ? 1 : 0;
}

Status EventFormatter::check() const {
    for (const auto& [map, type] : types_) {
        const MapSpec* spec = object_.find_map(map);
        if (spec == nullptr || !is_event_map(spec->type))
            return make_error(ErrorCode::kNotFound, "--event-type " + map + "=" + type + ": " + object_.path +
                                                        " has no ring buffer or perf event array '" + map + "'");
        if (!object_.btf || find_struct(*object_.btf, type) == 0)
            return make_error(ErrorCode::kNotFound, "--event-type " + map + "=" + type + ": no struct '" + type +
                                                        "' in the BTF of " + object_.path);
    }
    return {};
}

uint32_t EventFormatter::type_for(const kernel::EventRecord& record) const {
    if (!object_.btf) return 0;
    if (auto it = types_.find(record.map); it != types_.end()) return find_struct(*object_.btf, it->second);
    const MapSpec* spec = object_.find_map(record.map);
    return spec == nullptr ? 0 : guess_record_type(*object_.btf, *spec, record.data.size());
}

std::string EventFormatter::format(const kernel::EventRecord& record, bool json) const {
    const uint32_t type = type_for(record);
    if (json) {
        std::string out = "{\"map\":\"" + record.map + "\",\"cpu\":" + std::to_string(record.cpu) + ",";
        if (type != 0) return out + "\"event\":" + format_json(*object_.btf, type, record.data) + "}";
        return out + "\"data\":\"" + hex_string(record.data) + "\"}";
    }
    std::string line = event_maps_ > 1 ? "[" + record.map + "] " : "";
    if (type == 0) return line + "data=" + hex_string(record.data);
    bool first = true;
    for (const auto& [name, value] : format_fields(*object_.btf, type, record.data)) {
        line += (first ? "" : " ") + (name.empty() ? std::string("value") : name) + "=" + value;
        first = false;
    }
    return line;
}

bool EventFormatter::matches_pid(const kernel::EventRecord& record, int pid) const {
    if (pid < 0) return true;
    const uint32_t type = type_for(record);
    if (type == 0) return true;
    auto p = integer_field(*object_.btf, type, record.data, "pid");
    auto t = integer_field(*object_.btf, type, record.data, "tgid");
    if (!p && !t) return true;
    return (p && *p == pid) || (t && *t == pid);
}

}  // namespace bpfvm::observe
