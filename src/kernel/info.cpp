// Kernel objects seen from outside the object that created them: info by fd, the list of every
// program, pinning under bpffs, run-time statistics and BTF read back by id. These are what
// `bpfvm maps --pinned`, `bpfvm unload`, the metrics endpoint and the "nothing left attached"
// checks of the tests use.
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>

#include "bpfvm/kernel.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {

using detail::ptr_to_u64;
using detail::sys_bpf;
using detail::syscall_error;

namespace {

/// BPF_OBJ_GET_INFO_BY_FD into `info` (the kernel fills at most sizeof(T) bytes).
template <class T>
Status get_info(int fd, T& info, const char* what) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.info.bpf_fd = static_cast<uint32_t>(fd);
    attr.info.info_len = sizeof(T);
    attr.info.info = ptr_to_u64(&info);
    if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) < 0)
        return syscall_error("BPF_OBJ_GET_INFO_BY_FD", what, errno);
    return {};
}

std::string name_of(const char (&name)[BPF_OBJ_NAME_LEN]) { return std::string(name, strnlen(name, BPF_OBJ_NAME_LEN)); }

Result<Fd> fd_by_id(int command, uint32_t id, const char* command_name) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.prog_id = id;  // prog_id, map_id, btf_id and link_id share this slot
    long fd = sys_bpf(command, &attr, sizeof(attr));
    if (fd < 0) return syscall_error(command_name, "id " + std::to_string(id), errno);
    return Fd(static_cast<int>(fd));
}

}  // namespace

Result<MapInfo> map_info(int fd) {
    struct bpf_map_info raw;
    std::memset(&raw, 0, sizeof(raw));
    BPFVM_TRY(get_info(fd, raw, "of a map"));
    MapInfo info;
    info.type = static_cast<MapType>(raw.type);
    info.id = raw.id;
    info.name = name_of(raw.name);
    info.key_size = raw.key_size;
    info.value_size = raw.value_size;
    info.max_entries = raw.max_entries;
    info.map_flags = raw.map_flags;
    info.btf_id = raw.btf_id;
    info.btf_key_type_id = raw.btf_key_type_id;
    info.btf_value_type_id = raw.btf_value_type_id;
    return info;
}

Result<ProgramInfo> program_info(int fd) {
    // Two calls: the first says how many map ids there are, the second fetches them.
    struct bpf_prog_info raw;
    std::memset(&raw, 0, sizeof(raw));
    BPFVM_TRY(get_info(fd, raw, "of a program"));
    ProgramInfo info;
    std::vector<uint32_t> map_ids(raw.nr_map_ids);
    if (!map_ids.empty()) {
        const uint32_t count = raw.nr_map_ids;
        std::memset(&raw, 0, sizeof(raw));
        raw.nr_map_ids = count;
        raw.map_ids = ptr_to_u64(map_ids.data());
        BPFVM_TRY(get_info(fd, raw, "of a program"));
        map_ids.resize(std::min(count, raw.nr_map_ids));
    }
    info.type = static_cast<ProgramType>(raw.type);
    info.id = raw.id;
    info.name = name_of(raw.name);
    char tag[2 * BPF_TAG_SIZE + 1] = {};
    for (int i = 0; i < BPF_TAG_SIZE; ++i) std::snprintf(tag + 2 * i, 3, "%02x", raw.tag[i]);
    info.tag = tag;
    info.run_time_ns = raw.run_time_ns;
    info.run_count = raw.run_cnt;
    info.xlated_bytes = raw.xlated_prog_len;
    info.jited_bytes = raw.jited_prog_len;
    info.map_ids = std::move(map_ids);
    return info;
}

Result<std::vector<ProgramInfo>> list_programs() {
    std::vector<ProgramInfo> out;
    uint32_t id = 0;
    while (true) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.start_id = id;
        if (sys_bpf(BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr)) < 0) {
            if (errno == ENOENT) break;
            return syscall_error("BPF_PROG_GET_NEXT_ID", "", errno);
        }
        id = attr.next_id;
        auto fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, id, "BPF_PROG_GET_FD_BY_ID");
        if (!fd) {
            if (fd.error().code == ErrorCode::kNotFound) continue;  // freed meanwhile
            return fd.error();
        }
        auto info = program_info(fd->get());
        if (!info) return info.error();
        out.push_back(std::move(*info));
    }
    return out;
}

ObjectKind object_kind(int fd) {
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("prog_type:", 0) == 0) return ObjectKind::Program;
        if (line.rfind("map_type:", 0) == 0) return ObjectKind::Map;
        if (line.rfind("link_type:", 0) == 0) return ObjectKind::Link;
        if (line.rfind("btf_id:", 0) == 0) return ObjectKind::Btf;
    }
    return ObjectKind::Other;
}

Status pin_object(int fd, const std::string& path) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.pathname = ptr_to_u64(path.c_str());
    attr.bpf_fd = static_cast<uint32_t>(fd);
    if (sys_bpf(BPF_OBJ_PIN, &attr, sizeof(attr)) < 0) {
        const int err = errno;
        Error e = syscall_error("BPF_OBJ_PIN", "at " + path, err);
        const size_t slash = path.rfind('/');
        if (err == EPERM && !is_on_bpffs(slash == std::string::npos ? "." : path.substr(0, slash)))
            e.message += " (not on a bpffs mount)";
        return e;
    }
    return {};
}

Result<Fd> open_pinned(const std::string& path) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.pathname = ptr_to_u64(path.c_str());
    long fd = sys_bpf(BPF_OBJ_GET, &attr, sizeof(attr));
    if (fd < 0) return syscall_error("BPF_OBJ_GET", "of " + path, errno);
    return Fd(static_cast<int>(fd));
}

bool is_on_bpffs(const std::string& path) {
    struct statfs st{};
    return ::statfs(path.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

Result<std::string> bpffs_root() {
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    const std::string root = "/sys/fs/bpf";
    if (is_on_bpffs(root)) return root;
    ::mkdir(root.c_str(), 0700);  // may exist already
    if (::mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0 && !is_on_bpffs(root))
        return syscall_error("mount", "of bpffs at " + root, errno);
    return root;
}

Result<Fd> enable_run_stats() {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.enable_stats.type = BPF_STATS_RUN_TIME;
    long fd = sys_bpf(BPF_ENABLE_STATS, &attr, sizeof(attr));
    if (fd < 0) return syscall_error("BPF_ENABLE_STATS", "(run time)", errno);
    return Fd(static_cast<int>(fd));
}

Result<Btf> load_kernel_btf(uint32_t btf_id) {
    auto fd = fd_by_id(BPF_BTF_GET_FD_BY_ID, btf_id, "BPF_BTF_GET_FD_BY_ID");
    if (!fd) return fd.error();
    struct bpf_btf_info raw;
    std::memset(&raw, 0, sizeof(raw));
    BPFVM_TRY(get_info(fd->get(), raw, "of a BTF object"));
    std::vector<uint8_t> data(raw.btf_size);
    std::memset(&raw, 0, sizeof(raw));
    raw.btf = ptr_to_u64(data.data());
    raw.btf_size = static_cast<uint32_t>(data.size());
    BPFVM_TRY(get_info(fd->get(), raw, "of a BTF object"));
    data.resize(std::min<size_t>(data.size(), raw.btf_size));
    auto btf = Btf::parse(data);
    if (!btf) btf.error().message = "BTF id " + std::to_string(btf_id) + ": " + btf.error().message;
    return btf;
}

Result<std::shared_ptr<const Btf>> vmlinux_btf() {
    static std::mutex mutex;
    static std::shared_ptr<const Btf> cached;
    std::lock_guard<std::mutex> lock(mutex);
    if (cached) return cached;
    auto btf = Btf::load_file("/sys/kernel/btf/vmlinux");
    if (!btf) {
        btf.error().message += " (the kernel needs CONFIG_DEBUG_INFO_BTF for fentry, fexit, tp_btf and lsm programs)";
        return btf.error();
    }
    cached = std::make_shared<const Btf>(std::move(*btf));
    return cached;
}

namespace {

/// The DATASEC entry and the map of global variable `name`.
struct GlobalVar {
    MapSpec* map = nullptr;
    BtfSecInfo at;
};

Result<GlobalVar> find_global(ObjectFile& object, std::string_view name) {
    if (!object.btf)
        return make_error(ErrorCode::kNotFound, "global variable '" + std::string(name) + "': the object has no BTF");
    const Btf& btf = *object.btf;
    for (MapSpec& map : object.maps) {
        if (map.kind != MapKind::Data && map.kind != MapKind::Rodata && map.kind != MapKind::Bss) continue;
        const BtfType* ds = btf.get(map.btf_value_type_id);
        if (ds == nullptr || ds->kind != BtfKind::Datasec) continue;
        for (const BtfSecInfo& v : ds->vars) {
            const BtfType* var = btf.get(v.type);
            if (var == nullptr || var->kind != BtfKind::Var || var->name != name) continue;
            if (uint64_t{v.offset} + v.size > map.initial_data.size())
                return make_error(ErrorCode::kMalformed,
                                  "global variable '" + std::string(name) + "' lies outside " + map.name);
            return GlobalVar{&map, v};
        }
    }
    return make_error(ErrorCode::kNotFound, "no global variable '" + std::string(name) + "' in " + object.path);
}

}  // namespace

Status set_global_variable(ObjectFile& object, std::string_view name, std::span<const uint8_t> value) {
    auto var = find_global(object, name);
    if (!var) return var.error();
    if (var->at.size != value.size())
        return make_error(ErrorCode::kInvalidArgument, "global variable '" + std::string(name) + "' has " +
                                                            std::to_string(var->at.size) + " bytes, not " +
                                                            std::to_string(value.size()));
    std::copy(value.begin(), value.end(), var->map->initial_data.begin() + var->at.offset);
    return {};
}

Status set_global_integer(ObjectFile& object, std::string_view name, int64_t value) {
    auto var = find_global(object, name);
    if (!var) return var.error();
    const uint32_t size = var->at.size;
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return make_error(ErrorCode::kInvalidArgument, "global variable '" + std::string(name) +
                                                           "' is not an integer (" + std::to_string(size) + " bytes)");
    if (size < 8) {
        const int64_t low = -(int64_t{1} << (8 * size - 1));
        const int64_t high = (int64_t{1} << (8 * size)) - 1;
        if (value < low || value > high)
            return make_error(ErrorCode::kInvalidArgument, std::to_string(value) + " does not fit global variable '" +
                                                               std::string(name) + "' (" + std::to_string(size) +
                                                               " bytes)");
    }
    for (uint32_t i = 0; i < size; ++i)
        var->map->initial_data[var->at.offset + i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
    return {};
}

}  // namespace bpfvm::kernel
