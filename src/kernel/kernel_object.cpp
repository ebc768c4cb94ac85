// An ObjectFile instantiated in the kernel: maps created (global data written, read-only sections
// frozen), programs loaded with their map references rewritten to fds, program arrays filled.
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpfvm/kernel.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {

using detail::ptr_to_u64;
using detail::sys_bpf;
using detail::syscall_error;

namespace {

/// Kernel object names: at most 15 characters of [A-Za-z0-9_.].
void copy_object_name(char (&dst)[BPF_OBJ_NAME_LEN], std::string_view name) {
    std::memset(dst, 0, BPF_OBJ_NAME_LEN);
    size_t n = 0;
    for (char c : name) {
        if (n + 1 >= BPF_OBJ_NAME_LEN) break;
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
        dst[n++] = ok ? c : '_';
    }
}

bool is_global_data(MapKind kind) {
    return kind == MapKind::Data || kind == MapKind::Rodata || kind == MapKind::Bss || kind == MapKind::Kconfig;
}

bool is_percpu(MapType type) {
    return type == MapType::PercpuHash || type == MapType::PercpuArray || type == MapType::LruPercpuHash ||
           type == MapType::PercpuCgroupStorage;
}

/// Bytes the kernel reads or writes for one value through the syscall interface.
uint32_t syscall_value_size(const MapSpec& spec) {
    if (!is_percpu(spec.type)) return spec.value_size;
    return ((spec.value_size + 7) / 8 * 8) * detail::possible_cpus();
}

/// The last `lines` non-empty lines of a verifier log.
std::string log_tail(const std::string& log, uint32_t lines) {
    std::vector<std::string> kept;
    size_t pos = 0;
    while (pos < log.size()) {
        size_t nl = log.find('\n', pos);
        if (nl == std::string::npos) nl = log.size();
        if (nl > pos) kept.push_back(log.substr(pos, nl - pos));
        pos = nl + 1;
    }
    const size_t first = kept.size() > lines ? kept.size() - lines : 0;
    std::string out;
    for (size_t i = first; i < kept.size(); ++i) out += (out.empty() ? "" : "\n") + kept[i];
    return out;
}

/// BTF of a map for BPF_MAP_CREATE: the object's BTF fd and the key and value type ids.
struct MapBtf {
    int fd = -1;
    uint32_t key_type_id = 0;
    uint32_t value_type_id = 0;
};

Result<Fd> create_map_with_inner(const MapSpec& spec, int inner_fd, const MapBtf& btf = {}) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    uint32_t flags = spec.map_flags;
    if (is_global_data(spec.kind)) {
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = std::max<uint32_t>(spec.value_size, 1);
        attr.max_entries = 1;
        if (spec.readonly) flags |= BPF_F_RDONLY_PROG;
    } else {
        attr.map_type = static_cast<uint32_t>(spec.type);
        attr.key_size = spec.key_size;
        attr.value_size = spec.value_size;
        attr.max_entries = spec.max_entries;
        // libbpf sizes a perf event array without max_entries to the possible CPUs.
        if (spec.type == MapType::PerfEventArray && attr.max_entries == 0) attr.max_entries = detail::possible_cpus();
        if (spec.type == MapType::ProgArray || spec.type == MapType::ArrayOfMaps || spec.type == MapType::HashOfMaps ||
            spec.type == MapType::PerfEventArray) {
            if (attr.key_size == 0) attr.key_size = 4;
            attr.value_size = 4;  // user space writes fds
        }
    }
    attr.map_flags = flags;
    attr.numa_node = spec.numa_node;
    if (inner_fd >= 0) attr.inner_map_fd = static_cast<uint32_t>(inner_fd);
    if (btf.fd >= 0 && btf.value_type_id != 0) {
        attr.btf_fd = static_cast<uint32_t>(btf.fd);
        attr.btf_key_type_id = btf.key_type_id;
        attr.btf_value_type_id = btf.value_type_id;
    }
    copy_object_name(attr.map_name, spec.name);

    long fd = sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
    if (fd < 0)
        return syscall_error("BPF_MAP_CREATE", "of map '" + spec.name + "' (" + map_type_name(spec.type) + ")", errno);
    Fd map(static_cast<int>(fd));

    if (is_global_data(spec.kind)) {
        std::vector<uint8_t> value(attr.value_size, 0);
        std::copy_n(spec.initial_data.begin(), std::min(spec.initial_data.size(), value.size()), value.begin());
        const uint32_t zero = 0;
        auto key = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&zero), sizeof(zero));
        if (auto st = update_elem(map.get(), key, value); !st) {
            st.error().message = "initial contents of '" + spec.name + "': " + st.error().message;
            return st.error();
        }
        if (spec.readonly) {
            if (auto st = freeze_map(map.get()); !st) {
                st.error().message = "freezing '" + spec.name + "': " + st.error().message;
                return st.error();
            }
        }
    }
    return map;
}

}  // namespace

Result<Fd> create_map(const MapSpec& spec) { return create_map_with_inner(spec, -1); }

Result<KernelObject> KernelObject::open(const ObjectFile& object, const KernelOptions& options) {
    KernelObject ko;
    ko.object_ = &object;
    ko.options_ = options;
    if (options.load_btf && object.btf) {
        std::vector<uint8_t> raw = encode_btf(*object.btf);
        std::string log(1u << 16, '\0');
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.btf = ptr_to_u64(raw.data());
        attr.btf_size = static_cast<uint32_t>(raw.size());
        attr.btf_log_buf = ptr_to_u64(log.data());
        attr.btf_log_size = static_cast<uint32_t>(log.size());
        attr.btf_log_level = 1;
        long fd = sys_bpf(BPF_BTF_LOAD, &attr, sizeof(attr));
        if (fd >= 0) {
            ko.btf_ = Fd(static_cast<int>(fd));
        } else {
            // Not fatal: programs without callbacks load without BTF. Kept for the load error.
            ko.btf_error_ = "BPF_BTF_LOAD: " + detail::errno_text(errno) + "\n" + log_tail(log.c_str(), 5);
        }
    }
    for (const auto& spec : object.maps) {
        Fd inner;
        if (spec.inner_map) {
            if (*spec.inner_map >= object.maps.size())
                return make_error(ErrorCode::kMalformed, "map '" + spec.name + "': inner map index out of range");
            auto made = create_map(object.maps[*spec.inner_map]);
            if (!made) return made.error();
            inner = std::move(*made);
        }
        // With the object's BTF when it is loaded, so that the kernel knows the value's special
        // fields (struct bpf_spin_lock, timers); without it if the kernel refuses the types.
        auto fd = create_map_with_inner(spec, inner.get(), {ko.btf_.get(), spec.btf_key_type_id, spec.btf_value_type_id});
        if (!fd && ko.btf_.valid() && spec.btf_value_type_id != 0) fd = create_map_with_inner(spec, inner.get());
        if (!fd) {
            fd.error().where = object.path;
            return fd.error();
        }
        ko.maps_.push_back(std::move(*fd));
    }
    return ko;
}

Result<int> KernelObject::map_fd(std::string_view name) const {
    auto index = object_->map_index(name);
    if (!index) return make_error(ErrorCode::kNotFound, "no map named '" + std::string(name) + "'");
    return maps_[*index].get();
}

Result<int> KernelObject::load_program(std::string_view name) {
    const ProgramSpec* spec = object_->find_program(name);
    if (spec == nullptr) return make_error(ErrorCode::kNotFound, "no program named '" + std::string(name) + "'");
    if (auto it = programs_.find(spec->name); it != programs_.end()) return it->second.get();
    const std::string where = object_->path + ": " + spec->name;
    if (spec->error) {
        Error e = *spec->error;
        e.where = where;
        return e;
    }
    switch (spec->type) {
        case ProgramType::Tracing:
        case ProgramType::Lsm:
        case ProgramType::Ext:
        case ProgramType::StructOps:
            return Error{ErrorCode::kUnsupported,
                         "program type " + program_type_name(spec->type) + " needs a kernel BTF attach target",
                         std::nullopt, where, {}};
        default:
            break;
    }

    // Rewrite map-index LDDWs (src 5/6) into fd references (src 1/2) for this process's map fds.
    std::vector<RawInsn> insns = encode_program(spec->program);
    for (const MapRef& ref : spec->map_refs) {
        if (ref.pc + 1 >= insns.size() || insns[ref.pc].opcode != 0x18 || ref.map_index >= maps_.size())
            return Error{ErrorCode::kMalformed, "map reference is not an LDDW with a valid map index", ref.pc, where,
                         {}};
        insns[ref.pc].set_src(ref.value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD);
        insns[ref.pc].set_imm(maps_[ref.map_index].get());
        insns[ref.pc + 1].set_imm(ref.value ? static_cast<int32_t>(ref.offset) : 0);
    }
    for (uint32_t pc = 0; pc + 1 < insns.size(); ++pc) {
        if (insns[pc].opcode != 0x18) continue;
        if (insns[pc].src() == 5 || insns[pc].src() == 6)
            return Error{ErrorCode::kMalformed, "LDDW map-index reference without a MapRef", pc, where, {}};
        ++pc;  // skip the second slot
    }

    std::vector<bpf_func_info> func_info;
    if (btf_.valid()) {
        for (const FuncEntry& f : spec->funcs) func_info.push_back({f.pc, f.btf_type_id});
    }
    const std::string license = object_->license.empty() ? std::string("GPL") : object_->license;

    auto attempt = [&](std::string* log) -> long {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.prog_type = static_cast<uint32_t>(spec->type);
        attr.insn_cnt = static_cast<uint32_t>(insns.size());
        attr.insns = ptr_to_u64(insns.data());
        attr.license = ptr_to_u64(license.c_str());
        attr.kern_version = object_->kernel_version;
        if (spec->expected_attach_type) attr.expected_attach_type = static_cast<uint32_t>(*spec->expected_attach_type);
        copy_object_name(attr.prog_name, spec->name);
        if (!func_info.empty()) {
            attr.prog_btf_fd = static_cast<uint32_t>(btf_.get());
            attr.func_info_rec_size = sizeof(bpf_func_info);
            attr.func_info = ptr_to_u64(func_info.data());
            attr.func_info_cnt = static_cast<uint32_t>(func_info.size());
        }
        attr.prog_flags = options_.prog_flags;
        if (spec->sleepable) attr.prog_flags |= BPF_F_SLEEPABLE;
        if (log != nullptr) {
            attr.log_level = 1;
            attr.log_buf = ptr_to_u64(log->data());
            attr.log_size = static_cast<uint32_t>(log->size());
        }
        long fd = -1;
        for (int tries = 0; tries < 5; ++tries) {  // EAGAIN: the kernel asks to retry
            fd = sys_bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
            if (fd >= 0 || errno != EAGAIN) break;
        }
        return fd;
    };

    long fd = attempt(nullptr);
    if (fd < 0) {
        const int first_errno = errno;
        std::string log(options_.log_size, '\0');
        long again = attempt(&log);
        if (again >= 0) {  // accepted with logging on; keep it
            fd = again;
        } else {
            Error e = syscall_error("BPF_PROG_LOAD", "of " + program_type_name(spec->type) + " program", first_errno);
            // EPERM: no privilege. Anything else (the verifier answers EACCES or EINVAL) is a rejection.
            e.code = first_errno == EPERM ? ErrorCode::kPermission : ErrorCode::kRejected;
            e.where = where;
            const std::string tail = log_tail(log.c_str(), options_.log_tail_lines);
            if (!tail.empty()) e.message += "\nverifier log (last lines):\n" + tail;
            if (!btf_error_.empty()) e.message += "\n(object BTF not loaded: " + btf_error_ + ")";
            return e;
        }
    }
    int raw_fd = static_cast<int>(fd);
    programs_.emplace(spec->name, Fd(raw_fd));
    return raw_fd;
}

Status KernelObject::load_all() {
    for (const auto& spec : object_->programs) {
        auto fd = load_program(spec.name);
        if (!fd) return fd.error();
    }
    return fill_program_arrays();
}

Status KernelObject::fill_program_arrays() {
    for (size_t i = 0; i < object_->maps.size(); ++i) {
        const MapSpec& spec = object_->maps[i];
        for (const MapSlotInit& init : spec.slot_inits) {
            int target = -1;
            if (spec.type == MapType::ProgArray) {
                auto fd = load_program(init.target);
                if (!fd) return fd.error();
                target = *fd;
            } else {
                auto fd = map_fd(init.target);
                if (!fd) return fd.error();
                target = *fd;
            }
            const uint32_t slot = init.slot;
            auto st = update_elem(maps_[i].get(), std::span(reinterpret_cast<const uint8_t*>(&slot), 4),
                                  std::span(reinterpret_cast<const uint8_t*>(&target), 4));
            if (!st) {
                st.error().message = "slot " + std::to_string(slot) + " of '" + spec.name + "' (" + init.target +
                                     "): " + st.error().message;
                return st;
            }
        }
    }
    return {};
}

Status KernelObject::update_map(std::string_view name, std::span<const uint8_t> key, std::span<const uint8_t> value) {
    auto index = object_->map_index(name);
    if (!index) return make_error(ErrorCode::kNotFound, "no map named '" + std::string(name) + "'");
    const MapSpec& spec = object_->maps[*index];
    const uint32_t key_size = is_global_data(spec.kind) ? 4 : spec.key_size;
    const uint32_t value_size = is_global_data(spec.kind) ? spec.value_size : syscall_value_size(spec);
    if (key.size() != key_size || value.size() != value_size)
        return make_error(ErrorCode::kInvalidArgument,
                          "map '" + spec.name + "': key/value of " + std::to_string(key.size()) + "/" +
                              std::to_string(value.size()) + " bytes, expected " + std::to_string(key_size) + "/" +
                              std::to_string(value_size));
    auto st = update_elem(maps_[*index].get(), key, value);
    if (!st) st.error().message = "map '" + spec.name + "': " + st.error().message;
    return st;
}

bool map_contents_readable(const MapSpec& spec) {
    if (is_global_data(spec.kind)) return true;
    switch (spec.type) {
        case MapType::ProgArray:
        case MapType::Ringbuf:
        case MapType::UserRingbuf:
        case MapType::PerfEventArray:
        case MapType::ArrayOfMaps:
        case MapType::HashOfMaps:
        case MapType::Queue:
        case MapType::Stack:
        case MapType::BloomFilter:
            return false;
        default:
            return true;
    }
}

Result<std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>> KernelObject::dump_map(
    std::string_view name) const {
    auto index = object_->map_index(name);
    if (!index) return make_error(ErrorCode::kNotFound, "no map named '" + std::string(name) + "'");
    const MapSpec& spec = object_->maps[*index];
    if (!map_contents_readable(spec))
        return make_error(ErrorCode::kUnsupported, "map '" + spec.name + "' (" + map_type_name(spec.type) + ") cannot be dumped");
    const uint32_t key_size = is_global_data(spec.kind) ? 4 : spec.key_size;
    const uint32_t value_size = is_global_data(spec.kind) ? spec.value_size : syscall_value_size(spec);
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> out;
    std::vector<uint8_t> key;
    const int fd = maps_[*index].get();
    // Bounded by max_entries (+1 for global data) so a map mutating under us cannot loop forever.
    for (uint64_t n = 0; n <= uint64_t{spec.max_entries} + 1; ++n) {
        auto next = next_key(fd, key, key_size);
        if (!next) {
            next.error().message = "map '" + spec.name + "': " + next.error().message;
            return next.error();
        }
        if (!next->has_value()) break;
        key = std::move(**next);
        auto value = lookup_elem(fd, key, value_size);
        if (!value) {
            value.error().message = "map '" + spec.name + "': " + value.error().message;
            return value.error();
        }
        if (value->has_value()) out.emplace_back(key, std::move(**value));
    }
    return out;
}

Result<std::vector<std::vector<uint8_t>>> KernelObject::drain_ringbuf(std::string_view name) const {
    auto index = object_->map_index(name);
    if (!index) return make_error(ErrorCode::kNotFound, "no map named '" + std::string(name) + "'");
    const MapSpec& spec = object_->maps[*index];
    if (spec.type != MapType::Ringbuf)
        return make_error(ErrorCode::kInvalidArgument, "map '" + spec.name + "' is a " + map_type_name(spec.type) +
                                                           ", not a ringbuf");
    auto records = kernel::drain_ringbuf(maps_[*index].get(), spec.max_entries);
    if (!records) records.error().message = "map '" + spec.name + "': " + records.error().message;
    return records;
}

Result<TestRunOutput> KernelObject::test_run(std::string_view name, const TestRunInput& input) {
    auto fd = load_program(name);
    if (!fd) return fd.error();
    auto out = kernel::test_run(*fd, input);
    if (!out) out.error().where = object_->path + ": " + std::string(name);
    return out;
}

}  // namespace bpfvm::kernel
