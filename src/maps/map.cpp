// The Map base class: CPU ids, the live-map registry, caller-side Status wrappers, default
// (unsupported) operations, and create_map(), which applies the checks common to every type.
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "map_internal.hpp"

namespace bpfvm::maps {

// ---------------------------------------------------------------------------------------------
// CPU ids

namespace {

std::atomic<uint32_t> g_num_cpus{0};
std::atomic<uint32_t> g_next_cpu{0};
thread_local uint32_t t_cpu = UINT32_MAX;

std::shared_mutex& registry_mutex() {
    static std::shared_mutex m;
    return m;
}
std::unordered_set<const void*>& registry() {
    static std::unordered_set<const void*> s;
    return s;
}

}  // namespace

uint32_t num_cpus() {
    const uint32_t n = g_num_cpus.load(std::memory_order_relaxed);
    if (n != 0) return n;
    const uint32_t hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
}

void set_num_cpus(uint32_t n) { g_num_cpus.store(n, std::memory_order_relaxed); }

uint32_t current_cpu() {
    if (t_cpu == UINT32_MAX) t_cpu = g_next_cpu.fetch_add(1, std::memory_order_relaxed) % num_cpus();
    return t_cpu;
}

void set_current_cpu(uint32_t cpu) { t_cpu = cpu; }

// Bumped whenever a map dies, so that a thread's cached answer for its last handle is re-checked.
static std::atomic<uint64_t> g_map_generation{0};

bool is_live_map(const void* handle) {
    // Programs call helpers on the same few maps over and over: remember the last handle found
    // live on this thread and skip the shared registry (and its contended lock) until a map dies.
    thread_local const void* t_last = nullptr;
    thread_local uint64_t t_generation = 0;
    const uint64_t gen = g_map_generation.load(std::memory_order_acquire);
    if (handle != nullptr && handle == t_last && gen == t_generation) return true;
    std::shared_lock lock(registry_mutex());
    const bool live = registry().count(handle) != 0;
    if (live) {
        t_last = handle;
        t_generation = gen;
    }
    return live;
}

// ---------------------------------------------------------------------------------------------
// Map defaults

Map::Map(MapAttr attr) : attr_(std::move(attr)) {
    if (is_percpu() || attr_.type == MapType::PerfEventArray) cpus_ = attr_.num_cpus != 0 ? attr_.num_cpus : num_cpus();
}

Map::~Map() {
    std::unique_lock lock(registry_mutex());
    registry().erase(this);
    g_map_generation.fetch_add(1, std::memory_order_acq_rel);
}

bool Map::is_percpu() const {
    return attr_.type == MapType::PercpuArray || attr_.type == MapType::PercpuHash || attr_.type == MapType::LruPercpuHash;
}

uint32_t Map::sys_value_size() const {
    if (detail::has_pointer_values(attr_.type)) return 8;
    if (is_percpu()) return static_cast<uint32_t>(detail::round_up8(attr_.value_size) * cpus_);
    return attr_.value_size;
}

long Map::push_elem(const void*, uint64_t) { return -EINVAL; }
long Map::pop_elem(void*) { return -EINVAL; }
long Map::peek_elem(void*) { return -EINVAL; }
void* Map::lookup_percpu_elem(const void*, uint32_t) { return nullptr; }
long Map::for_each_elem(const std::function<uint64_t(const void*, void*)>&) { return -EINVAL; }

long Map::sys_lookup(const void* key, void* value) {
    void* p = lookup_elem(key);
    if (p == nullptr) return -ENOENT;
    std::memcpy(value, p, attr_.value_size);
    return 0;
}

long Map::sys_update(const void* key, const void* value, uint64_t flags) { return update_elem(key, value, flags); }

long Map::sys_delete(const void* key) { return delete_elem(key); }

long Map::sys_lookup_and_delete(const void* key, void* value) {
    if (const long rc = sys_lookup(key, value); rc != 0) return rc;
    return sys_delete(key);
}

// ---------------------------------------------------------------------------------------------
// Caller-side wrappers

namespace {

const char* errno_name(long rc) {
    switch (-rc) {
        case ENOENT: return "no such element (ENOENT)";
        case EEXIST: return "element exists (EEXIST)";
        case E2BIG: return "map is full or index out of range (E2BIG)";
        case ENOSPC: return "map is full (ENOSPC)";
        case EINVAL: return "invalid argument (EINVAL)";
        case EAGAIN: return "no room (EAGAIN)";
        case EBUSY: return "busy (EBUSY)";
        case EBADF: return "not a map or program (EBADF)";
        case ENOMEM: return "out of memory (ENOMEM)";
        case kENotSupp: return "operation not supported by this map type (ENOTSUPP)";
        default: return "error";
    }
}

ErrorCode errno_code(long rc) {
    switch (-rc) {
        case ENOENT: return ErrorCode::kNotFound;
        case EEXIST: return ErrorCode::kExists;
        case E2BIG:
        case ENOSPC:
        case EAGAIN:
        case ENOMEM: return ErrorCode::kNoSpace;
        case kENotSupp: return ErrorCode::kUnsupported;
        default: return ErrorCode::kInvalidArgument;
    }
}

}  // namespace

Status errno_status(long rc, const Map& map, const char* what) {
    if (rc >= 0) return {};
    return make_error(errno_code(rc), "map " + map.name() + ": " + what + ": " + errno_name(rc));
}

namespace {

Status check_size(const Map& map, const char* what, size_t got, size_t want) {
    if (got == want) return {};
    return make_error(ErrorCode::kInvalidArgument, "map " + map.name() + ": " + what + " is " + std::to_string(got) +
                                                       " bytes, expected " + std::to_string(want));
}

const void* data_or_null(std::span<const uint8_t> s) { return s.empty() ? nullptr : s.data(); }

}  // namespace

Status Map::lookup(std::span<const uint8_t> key, std::span<uint8_t> value) {
    BPFVM_TRY(check_size(*this, "key", key.size(), key_size()));
    BPFVM_TRY(check_size(*this, "value", value.size(), sys_value_size()));
    return errno_status(sys_lookup(data_or_null(key), value.data()), *this, "lookup");
}

Status Map::update(std::span<const uint8_t> key, std::span<const uint8_t> value, uint64_t flags) {
    BPFVM_TRY(check_size(*this, "key", key.size(), key_size()));
    BPFVM_TRY(check_size(*this, "value", value.size(), sys_value_size()));
    return errno_status(sys_update(data_or_null(key), value.data(), flags), *this, "update");
}

Status Map::erase(std::span<const uint8_t> key) {
    BPFVM_TRY(check_size(*this, "key", key.size(), key_size()));
    return errno_status(sys_delete(data_or_null(key)), *this, "delete");
}

Status Map::next_key(std::span<const uint8_t> key, std::span<uint8_t> next) {
    if (!key.empty()) BPFVM_TRY(check_size(*this, "key", key.size(), key_size()));
    BPFVM_TRY(check_size(*this, "next key", next.size(), key_size()));
    return errno_status(get_next_key(data_or_null(key), next.data()), *this, "get_next_key");
}

std::vector<std::vector<uint8_t>> Map::keys() {
    std::vector<std::vector<uint8_t>> out;
    if (key_size() == 0) return out;
    std::vector<uint8_t> cur(key_size()), next(key_size());
    const void* prev = nullptr;
    // A concurrent writer may make iteration restart; bound it so that keys() always ends.
    for (uint64_t i = 0; i <= uint64_t{max_entries()} + 1; ++i) {
        if (get_next_key(prev, next.data()) != 0) break;
        out.push_back(next);
        cur = next;
        prev = cur.data();
    }
    return out;
}

std::vector<std::vector<uint8_t>> RingBuf::drain() {
    std::vector<std::vector<uint8_t>> out;
    consume([&](std::span<const uint8_t> rec) { out.emplace_back(rec.begin(), rec.end()); });
    return out;
}

// ---------------------------------------------------------------------------------------------
// Creation

namespace detail {

Error map_error(const MapAttr& attr, const std::string& what) {
    return make_error(ErrorCode::kInvalidArgument,
                      "map " + (attr.name.empty() ? std::string("(unnamed)") : attr.name) + " (" +
                          map_type_name(attr.type) + "): " + what);
}

bool inner_map_matches(const MapAttr& tmpl, const Map& inner) {
    const MapAttr& a = inner.attr();
    if (a.type != tmpl.type || a.key_size != tmpl.key_size || a.value_size != tmpl.value_size) return false;
    if ((a.flags & ~kFInnerMap) != (tmpl.flags & ~kFInnerMap)) return false;
    return (tmpl.flags & kFInnerMap) != 0 || a.max_entries == tmpl.max_entries;
}

}  // namespace detail

uint64_t memory_estimate(const MapAttr& attr) {
    using detail::round_up8;
    const bool percpu = attr.type == MapType::PercpuArray || attr.type == MapType::PercpuHash || attr.type == MapType::LruPercpuHash;
    const uint64_t cpus = percpu ? (attr.num_cpus != 0 ? attr.num_cpus : num_cpus()) : 1;
    const uint64_t n = attr.max_entries;
    switch (attr.type) {
        case MapType::Array:
        case MapType::PercpuArray: return round_up8(attr.value_size) * cpus * n;
        case MapType::ProgArray:
        case MapType::ArrayOfMaps: return 8 * n;  // one pointer per slot
        case MapType::Ringbuf: return n;          // max_entries is the data size
        case MapType::PerfEventArray: return 0;   // records are queued as they come
        case MapType::Queue:
        case MapType::Stack: return (n + 1) * attr.value_size;
        case MapType::BloomFilter: return n;      // about 7 bits per entry with 5 hashes, rounded up
        default:
            // Hash maps and tries grow as entries arrive; count them full, as the kernel's
            // preallocation and memory accounting do, plus a block header per entry.
            return (round_up8(attr.key_size) + round_up8(attr.value_size) * cpus + 16) * n;
    }
}

Result<std::unique_ptr<Map>> create_map(const MapAttr& attr) {
    using namespace detail;
    constexpr uint32_t kKnownFlags = kFNoPrealloc | kFNoCommonLru | kFNumaNode | kFRdonly | kFWronly | kFZeroSeed |
                                     kFRdonlyProg | kFWronlyProg | kFMmapable | kFInnerMap;
    if (attr.flags & ~kKnownFlags) return map_error(attr, "unknown map_flags 0x" + [&] {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%x", attr.flags & ~kKnownFlags);
        return std::string(buf);
    }());
    if ((attr.flags & kFRdonlyProg) && (attr.flags & kFWronlyProg))
        return map_error(attr, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together");
    if (attr.map_extra != 0 && attr.type != MapType::BloomFilter) return map_error(attr, "map_extra must be 0");
    Result<std::unique_ptr<Map>> made = make_error(ErrorCode::kUnsupported, "");
    switch (attr.type) {
        case MapType::Array:
        case MapType::PercpuArray: made = create_array(attr); break;
        case MapType::ProgArray:
        case MapType::ArrayOfMaps: made = create_pointer_array(attr); break;
        case MapType::Hash:
        case MapType::PercpuHash:
        case MapType::LruHash:
        case MapType::LruPercpuHash:
        case MapType::HashOfMaps: made = create_hash(attr); break;
        case MapType::LpmTrie: made = create_lpm_trie(attr); break;
        case MapType::Queue:
        case MapType::Stack: made = create_queue_stack(attr); break;
        case MapType::BloomFilter: made = create_bloom_filter(attr); break;
        case MapType::Ringbuf: made = create_ringbuf(attr); break;
        case MapType::PerfEventArray: made = create_perf_event_array(attr); break;
        default: {
            Error e = map_error(attr, "map type not supported by bpfvm");
            e.code = ErrorCode::kUnsupported;
            return e;
        }
    }
    if (!made) return made;
    {
        std::unique_lock lock(registry_mutex());
        registry().insert(made.value().get());
    }
    return made;
}

}  // namespace bpfvm::maps
