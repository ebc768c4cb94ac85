// An ObjectFile instantiated in the kernel: maps created (global data written, read-only sections
// frozen), programs loaded with their map references rewritten to fds, program arrays filled.
#include <linux/bpf.h>
#include <sys/stat.h>
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

/// Map types the kernel refuses BTF key/value types for, or whose declared "value" only documents
/// records (ring buffers): created without BTF.
bool takes_btf_types(MapType type) {
    switch (type) {
        case MapType::ProgArray:
        case MapType::PerfEventArray:
        case MapType::ArrayOfMaps:
        case MapType::HashOfMaps:
        case MapType::Ringbuf:
        case MapType::UserRingbuf:
        case MapType::StackTrace:
        case MapType::CgroupArray:
        case MapType::Devmap:
        case MapType::DevmapHash:
        case MapType::Cpumap:
        case MapType::Xskmap:
        case MapType::Sockmap:
        case MapType::Sockhash:
        case MapType::ReuseportSockarray:
            return false;
        default:
            return true;
    }
}

/// BTF type ids for `spec` in an object BTF `btf` ({0, 0}: create without BTF types).
std::pair<uint32_t, uint32_t> btf_types_for(const MapSpec& spec, const Btf* btf) {
    if (btf == nullptr) return {0, 0};
    if (is_global_data(spec.kind)) {
        const BtfType* ds = btf->get(spec.btf_value_type_id);
        if (ds == nullptr || ds->kind != BtfKind::Datasec || ds->size != spec.value_size ||
            !datasec_is_laid_out(*btf, *ds))
            return {0, 0};
        return {0, spec.btf_value_type_id};
    }
    if (!takes_btf_types(spec.type) || spec.btf_value_type_id == 0) return {0, 0};
    return {spec.btf_key_type_id, spec.btf_value_type_id};
}

/// What a map is created with besides its spec.
struct MapCreation {
    int inner_fd = -1;
    int btf_fd = -1;  // -1: no BTF
    uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
    std::string name;  // kernel-visible name (prefixed)
};

Result<Fd> create_map_with(const MapSpec& spec, const MapCreation& how) {
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
        // libbpf's convention: a perf event array without max_entries has one slot per cpu.
        if (spec.type == MapType::PerfEventArray && attr.max_entries == 0) attr.max_entries = detail::possible_cpus();
    }
    attr.map_flags = flags;
    attr.numa_node = spec.numa_node;
    if (how.inner_fd >= 0) attr.inner_map_fd = static_cast<uint32_t>(how.inner_fd);
    if (how.btf_fd >= 0 && how.btf_value_type_id != 0) {
        attr.btf_fd = static_cast<uint32_t>(how.btf_fd);
        attr.btf_key_type_id = how.btf_key_type_id;
        attr.btf_value_type_id = how.btf_value_type_id;
    }
    detail::copy_object_name(attr.map_name, how.name.empty() ? spec.name : how.name);

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

/// For fentry/fexit/fmod_ret, tp_btf and lsm programs: the vmlinux BTF type the kernel attaches
/// them to (a FUNC, the btf_trace_<name> typedef, or the bpf_lsm_<hook> FUNC).
Result<uint32_t> attach_btf_id(const ProgramSpec& spec) {
    if (!spec.expected_attach_type)
        return make_error(ErrorCode::kUnsupported, "section '" + spec.section + "' names no attach type");
    auto vmlinux = vmlinux_btf();
    if (!vmlinux) return vmlinux.error();
    std::string name = spec.attach_target;
    BtfKind kind = BtfKind::Func;
    switch (*spec.expected_attach_type) {
        case AttachType::TraceRawTp:
            name = "btf_trace_" + name;
            kind = BtfKind::Typedef;
            break;
        case AttachType::LsmMac:
        case AttachType::LsmCgroup:
            name = "bpf_lsm_" + name;
            break;
        case AttachType::TraceFentry:
        case AttachType::TraceFexit:
        case AttachType::ModifyReturn:
            break;
        default:
            return make_error(ErrorCode::kUnsupported, "section '" + spec.section + "': attach type " +
                                                           attach_type_name(*spec.expected_attach_type) +
                                                           " is not supported by bpfvm's loader");
    }
    if (spec.attach_target.empty())
        return make_error(ErrorCode::kInvalidArgument, "section '" + spec.section + "' names no kernel function");
    auto id = (*vmlinux)->find(name, kind);
    if (!id)
        return make_error(ErrorCode::kNotFound, "section '" + spec.section + "': no " + btf_kind_name(kind) + " '" +
                                                    name + "' in the kernel BTF (/sys/kernel/btf/vmlinux)");
    return *id;
}

}  // namespace

std::string pin_name(std::string_view name) {
    // bpffs refuses names with a '.' (EPERM): ".rodata.str1.1" is pinned as "_rodata_str1_1".
    std::string out(name);
    for (char& c : out)
        if (c == '.' || c == '/') c = '_';
    return out;
}

namespace detail {

void copy_object_name(char (&dst)[BPF_OBJ_NAME_LEN], std::string_view name) {
    std::memset(dst, 0, BPF_OBJ_NAME_LEN);
    size_t n = 0;
    for (char c : name) {
        if (n + 1 >= BPF_OBJ_NAME_LEN) break;
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
        dst[n++] = ok ? c : '_';
    }
}

}  // namespace detail

Result<Fd> create_map(const MapSpec& spec) { return create_map_with(spec, {}); }

Result<KernelObject> KernelObject::open(const ObjectFile& object, const KernelOptions& options) {
    KernelObject ko;
    ko.object_ = &object;
    ko.options_ = options;
    // The BTF goes first: maps are created with their key/value types from it.
    if ((options.load_btf || options.map_btf) && object.btf) {
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
            // Not fatal: maps are created without BTF and programs without callbacks load without it.
            ko.btf_error_ = "BPF_BTF_LOAD: " + detail::errno_text(errno) + "\n" + detail::log_tail(log.c_str(), 5);
        }
    }
    const Btf* btf = options.map_btf && ko.btf_.valid() ? object.btf.get() : nullptr;
    for (const auto& spec : object.maps) {
        Fd inner;
        if (spec.inner_map) {
            if (*spec.inner_map >= object.maps.size())
                return make_error(ErrorCode::kMalformed, "map '" + spec.name + "': inner map index out of range");
            auto made = create_map(object.maps[*spec.inner_map]);
            if (!made) return made.error();
            inner = std::move(*made);
        }
        MapCreation how;
        how.inner_fd = inner.get();
        how.name = ko.kernel_name(spec.name);
        const auto [key_type, value_type] = btf_types_for(spec, btf);
        if (value_type != 0) {
            how.btf_fd = ko.btf_.get();
            how.btf_key_type_id = key_type;
            how.btf_value_type_id = value_type;
        }
        auto fd = create_map_with(spec, how);
        bool with_btf = value_type != 0;
        if (!fd && with_btf) {  // as libbpf: a kernel that refuses the BTF types still gets the map
            how.btf_fd = -1;
            how.btf_value_type_id = 0;
            fd = create_map_with(spec, how);
            with_btf = false;
        }
        if (!fd) {
            fd.error().where = object.path;
            return fd.error();
        }
        ko.maps_.push_back(std::move(*fd));
        ko.map_btf_.push_back(with_btf);
    }
    return ko;
}

std::string KernelObject::kernel_name(std::string_view name) const {
    char buf[BPF_OBJ_NAME_LEN];
    detail::copy_object_name(buf, options_.name_prefix + std::string(name));
    return std::string(buf);
}

Result<int> KernelObject::map_fd(std::string_view name) const {
    auto index = object_->map_index(name);
    if (!index) return make_error(ErrorCode::kNotFound, "no map named '" + std::string(name) + "'");
    return maps_[*index].get();
}

Result<MapLayout> KernelObject::map_layout(std::string_view name) const {
    const MapSpec* spec = object_->find_map(name);
    if (spec == nullptr) return make_error(ErrorCode::kNotFound, "no map named '" + std::string(name) + "'");
    if (is_global_data(spec->kind)) return MapLayout{4, spec->value_size, 1};
    uint32_t max_entries = spec->max_entries;
    if (spec->type == MapType::PerfEventArray && max_entries == 0) max_entries = detail::possible_cpus();
    return MapLayout{spec->key_size, syscall_value_size(spec->type, spec->value_size), max_entries};
}

bool KernelObject::map_has_btf(std::string_view name) const {
    auto index = object_->map_index(name);
    return index && map_btf_[*index];
}

Result<int> KernelObject::program_fd(std::string_view name) const {
    const ProgramSpec* spec = object_->find_program(name);
    if (spec == nullptr) return make_error(ErrorCode::kNotFound, "no program named '" + std::string(name) + "'");
    auto it = programs_.find(spec->name);
    if (it == programs_.end()) return make_error(ErrorCode::kNotFound, "program '" + spec->name + "' is not loaded");
    return it->second.get();
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
    if (options_.refuse_neg) {
        for (const Insn& insn : spec->program.insns)
            if (insn.op == Op::Neg32 || insn.op == Op::Neg64)
                return Error{ErrorCode::kUnsupported,
                             "contains a neg instruction: not sent to the kernel, whose verifier (6.18 here) crashes "
                             "when a neg result feeds an and",
                             insn.pc, where, {}};
    }
    uint32_t attach_btf = 0;
    switch (spec->type) {
        case ProgramType::Tracing:
        case ProgramType::Lsm: {
            auto id = attach_btf_id(*spec);
            if (!id) {
                Error e = id.error();
                e.where = where;
                return e;
            }
            attach_btf = *id;
            break;
        }
        case ProgramType::Ext:
        case ProgramType::StructOps:
            return Error{ErrorCode::kUnsupported,
                         "program type " + program_type_name(spec->type) + " is not supported by bpfvm's kernel loader",
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
    if (btf_.valid() && options_.load_btf) {
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
        attr.attach_btf_id = attach_btf;
        detail::copy_object_name(attr.prog_name, kernel_name(spec->name));
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
            return rejection(*spec, first_errno, log.c_str());
        }
    }
    int raw_fd = static_cast<int>(fd);
    programs_.emplace(spec->name, Fd(raw_fd));
    return raw_fd;
}

Error KernelObject::rejection(const ProgramSpec& spec, int err, const std::string& log) const {
    Error e = syscall_error("BPF_PROG_LOAD", "of " + program_type_name(spec.type) + " program", err);
    e.where = object_->path + ": " + spec.name;
    // EPERM: no privilege. Anything else (the verifier answers EACCES or EINVAL) is a rejection.
    e.code = err == EPERM ? ErrorCode::kPermission : ErrorCode::kRejected;
    if (err == EPERM && (spec.type == ProgramType::Tracing || spec.type == ProgramType::Lsm))
        e.message += " (tracing programs need CAP_BPF and CAP_PERFMON; a kernel in lockdown or a security module "
                     "can refuse them too)";
    if (err == detail::ENOTSUPP_KERNEL && (spec.type == ProgramType::Tracing || spec.type == ProgramType::Lsm))
        e.message += " (this kernel cannot attach " + program_type_name(spec.type) +
                     " programs: BPF trampolines need CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS, lsm programs need "
                     "\"bpf\" in the lsm= boot parameter)";
    // The same shape as bpfvm's own verifier errors: the instruction, the reason, the source line.
    const VerifierVerdict verdict = summarize_verifier_log(log);
    if (!verdict.reason.empty()) e.message += ": " + verdict.reason;
    if (verdict.pc && *verdict.pc < spec.program.slot_to_index.size()) {
        e.pc = verdict.pc;
        if (auto line = spec.line_for(*verdict.pc)) {
            e.source = line->location();
            if (!line->text.empty()) e.source += ": " + line->text;
        }
    }
    const std::string tail = detail::log_tail(log, options_.log_tail_lines);
    if (!tail.empty()) e.message += "\nverifier log (last lines):\n" + tail;
    if (!btf_error_.empty()) e.message += "\n(object BTF not loaded: " + btf_error_ + ")";
    return e;
}

Status KernelObject::load_all() {
    for (const auto& spec : object_->programs) {
        auto fd = load_program(spec.name);
        if (!fd) return fd.error();
    }
    return fill_program_arrays();
}

Status KernelObject::set_prog_array_slot(std::string_view map, uint32_t slot, std::string_view program) {
    auto index = object_->map_index(map);
    if (!index) return make_error(ErrorCode::kNotFound, "no map named '" + std::string(map) + "'");
    if (object_->maps[*index].type != MapType::ProgArray)
        return make_error(ErrorCode::kInvalidArgument, "map '" + std::string(map) + "' is not a prog_array");
    auto fd = load_program(program);
    if (!fd) return fd.error();
    const int target = *fd;
    auto st = update_elem(maps_[*index].get(), std::span(reinterpret_cast<const uint8_t*>(&slot), 4),
                          std::span(reinterpret_cast<const uint8_t*>(&target), 4));
    if (!st)
        st.error().message = "slot " + std::to_string(slot) + " of '" + std::string(map) + "': " + st.error().message;
    return st;
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
    const MapLayout layout = *map_layout(name);
    const uint32_t key_size = layout.key_size;
    const uint32_t value_size = layout.value_size;
    if (key.size() != key_size || value.size() != value_size)
        return make_error(ErrorCode::kInvalidArgument,
                          "map '" + spec.name + "': key/value of " + std::to_string(key.size()) + "/" +
                              std::to_string(value.size()) + " bytes, expected " + std::to_string(key_size) + "/" +
                              std::to_string(value_size));
    auto st = update_elem(maps_[*index].get(), key, value);
    if (!st) st.error().message = "map '" + spec.name + "': " + st.error().message;
    return st;
}

std::optional<std::string> find_neg(const ObjectFile& object) {
    for (const ProgramSpec& p : object.programs)
        for (const Insn& insn : p.program.insns)
            if (insn.op == Op::Neg32 || insn.op == Op::Neg64) return p.name + " (insn " + std::to_string(insn.pc) + ")";
    return std::nullopt;
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
    auto entries = read_map(maps_[*index].get(), *map_layout(name));
    if (!entries) entries.error().message = "map '" + spec.name + "': " + entries.error().message;
    return entries;
}

Status KernelObject::pin(const std::string& dir) const {
    if (!is_on_bpffs(dir.empty() ? "." : dir) && ::access(dir.c_str(), F_OK) == 0)
        return make_error(ErrorCode::kInvalidArgument, dir + " is not on a bpffs mount (mount -t bpf bpf /sys/fs/bpf)");
    for (const char* sub : {"", "/programs", "/maps"}) {
        const std::string path = dir + sub;
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
            return syscall_error("mkdir", path, errno);
    }
    for (const auto& [name, fd] : programs_) BPFVM_TRY(pin_object(fd.get(), dir + "/programs/" + pin_name(name)));
    for (size_t i = 0; i < maps_.size(); ++i)
        BPFVM_TRY(pin_object(maps_[i].get(), dir + "/maps/" + pin_name(object_->maps[i].name)));
    return {};
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
    TestRunInput in = input;
    const ProgramSpec* spec = object_->find_program(name);
    if (spec != nullptr && (spec->type == ProgramType::RawTracepoint ||
                            spec->type == ProgramType::RawTracepointWritable || spec->type == ProgramType::Syscall)) {
        if (in.repeat == 1) in.repeat = 0;
        in.ctx_out = false;
    }
    auto out = kernel::test_run(*fd, in);
    if (!out) out.error().where = object_->path + ": " + std::string(name);
    return out;
}

}  // namespace bpfvm::kernel
