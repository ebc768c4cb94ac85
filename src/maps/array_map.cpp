// Array maps: array and percpu_array (values preallocated in one block, so every lookup is a
// bounds check and an address computation, with no lock), and the pointer arrays prog_array and
// array_of_maps (slots hold program handles or Map*, swapped atomically).
#include <cstdlib>
#include <new>

#include "map_internal.hpp"

namespace bpfvm::maps::detail {
namespace {

constexpr uint64_t kMaxArrayBytes = uint64_t{1} << 32;

/// kPercpu: percpu_array. A template parameter, so that a plain array lookup is a bounds check
/// and an address computation with no test of the map's kind.
template <bool kPercpu>
class ArrayMap final : public Map {
public:
    ArrayMap(const MapAttr& attr, uint64_t* storage, uint64_t stride)
        : Map(attr), storage_(storage), stride_(stride) {}

    void* lookup_elem(const void* key) override {
        const uint32_t idx = load_u32(key);
        if (idx >= attr_.max_entries) return nullptr;
        if constexpr (kPercpu) return slot(idx, current_cpu() % cpus_);
        return slot(idx, 0);
    }

    void* lookup_percpu_elem(const void* key, uint32_t cpu) override {
        const uint32_t idx = load_u32(key);
        if (!kPercpu || idx >= attr_.max_entries || cpu >= cpus_) return nullptr;
        return slot(idx, cpu);
    }

    long update_elem(const void* key, const void* value, uint64_t flags) override {
        return update(key, value, flags, false);
    }

    long delete_elem(const void*) override { return -EINVAL; }

    long sys_lookup(const void* key, void* value) override {
        const uint32_t idx = load_u32(key);
        if (idx >= attr_.max_entries) return -ENOENT;
        if constexpr (!kPercpu) {
            std::memcpy(value, slot(idx, 0), attr_.value_size);
            return 0;
        }
        // All CPUs, each value padded to 8 bytes: the layout of the storage itself.
        std::memcpy(value, slot(idx, 0), stride_ * cpus_);
        return 0;
    }

    long sys_update(const void* key, const void* value, uint64_t flags) override {
        return update(key, value, flags, true);
    }

    long sys_delete(const void*) override { return -EINVAL; }
    long sys_lookup_and_delete(const void*, void*) override { return -kENotSupp; }

    long get_next_key(const void* key, void* next_key) override {
        return array_next_key(attr_.max_entries, key, next_key);
    }

    long for_each_elem(const std::function<uint64_t(const void*, void*)>& fn) override {
        long calls = 0;
        const uint32_t cpu = kPercpu ? current_cpu() % cpus_ : 0;
        for (uint32_t i = 0; i < attr_.max_entries; ++i) {
            ++calls;
            if (fn(&i, slot(i, cpu)) != 0) break;
        }
        return calls;
    }

    ~ArrayMap() override { std::free(storage_); }

private:
    uint8_t* slot(uint32_t idx, uint32_t cpu) const {
        if constexpr (!kPercpu) return reinterpret_cast<uint8_t*>(storage_) + uint64_t{idx} * stride_;
        return reinterpret_cast<uint8_t*>(storage_) + (uint64_t{idx} * cpus_ + cpu) * stride_;
    }

    long update(const void* key, const void* value, uint64_t flags, bool all_cpus) {
        if ((flags & ~kLock) > kExist) return -EINVAL;
        const uint32_t idx = load_u32(key);
        if (idx >= attr_.max_entries) return -E2BIG;
        if (flags & kNoExist) return -EEXIST;
        // BPF_F_LOCK needs the position of a bpf_spin_lock in the value (BTF), which bpfvm maps
        // do not know: the kernel refuses the flag for such maps the same way.
        if (flags & kLock) return -EINVAL;
        if constexpr (!kPercpu) {
            std::memcpy(slot(idx, 0), value, attr_.value_size);
        } else if (!all_cpus) {
            std::memcpy(slot(idx, current_cpu() % cpus_), value, attr_.value_size);
        } else {
            const auto* src = static_cast<const uint8_t*>(value);
            for (uint32_t c = 0; c < cpus_; ++c) std::memcpy(slot(idx, c), src + c * stride_, attr_.value_size);
        }
        return 0;
    }

    uint64_t* storage_;
    uint64_t stride_;
};

/// prog_array and array_of_maps: each slot holds a pointer (program handle or Map*), or null.
class PointerArray final : public Map {
public:
    explicit PointerArray(const MapAttr& attr) : Map(attr), slots_(attr.max_entries) {}

    void* lookup_elem(const void* key) override {
        // Programs may not look up program arrays (only bpf_tail_call reads them).
        if (attr_.type == MapType::ProgArray) return nullptr;
        return const_cast<void*>(get(key));
    }
    bool lookup_returns_memory() const override { return false; }

    /// The handle in slot `key`, or nullptr (used by bpf_tail_call).
    const void* get(const void* key) const {
        const uint32_t idx = load_u32(key);
        if (idx >= attr_.max_entries) return nullptr;
        return slots_[idx].load(std::memory_order_acquire);
    }

    long update_elem(const void* key, const void* value, uint64_t flags) override {
        if (flags != kAny) return -EINVAL;
        const uint32_t idx = load_u32(key);
        if (idx >= attr_.max_entries) return -E2BIG;
        const void* p;
        std::memcpy(&p, value, sizeof p);
        if (p == nullptr) return -EBADF;
        if (attr_.type == MapType::ArrayOfMaps) {
            if (!is_live_map(p)) return -EBADF;
            if (!inner_map_matches(*attr_.inner, *static_cast<const Map*>(p))) return -EINVAL;
        }
        slots_[idx].store(p, std::memory_order_release);
        return 0;
    }

    long delete_elem(const void* key) override {
        const uint32_t idx = load_u32(key);
        if (idx >= attr_.max_entries) return -E2BIG;
        return slots_[idx].exchange(nullptr, std::memory_order_acq_rel) != nullptr ? 0 : -ENOENT;
    }

    long sys_lookup(const void* key, void* value) override {
        const void* p = get(key);
        if (p == nullptr) return -ENOENT;
        std::memcpy(value, &p, sizeof p);
        return 0;
    }

    long get_next_key(const void* key, void* next_key) override {
        return array_next_key(attr_.max_entries, key, next_key);
    }

    long for_each_elem(const std::function<uint64_t(const void*, void*)>&) override { return -EINVAL; }

private:
    std::vector<std::atomic<const void*>> slots_;
};

}  // namespace

Result<std::unique_ptr<Map>> create_array(const MapAttr& attr) {
    if (attr.key_size != 4) return map_error(attr, "key_size must be 4, got " + std::to_string(attr.key_size));
    if (attr.value_size == 0) return map_error(attr, "value_size must not be 0");
    if (attr.max_entries == 0) return map_error(attr, "max_entries must not be 0");
    if (attr.flags & (kFNoPrealloc | kFNoCommonLru | kFZeroSeed))
        return map_error(attr, "map_flags not allowed for arrays");
    if (attr.type == MapType::PercpuArray && round_up8(attr.value_size) > kMaxPercpuValueSize)
        return map_error(attr, "per-CPU value_size " + std::to_string(attr.value_size) + " exceeds 32768");
    if (attr.type == MapType::PercpuArray && (attr.flags & kFMmapable))
        return map_error(attr, "BPF_F_MMAPABLE not allowed for per-CPU arrays");
    const uint64_t stride = round_up8(attr.value_size);
    MapAttr a = attr;
    const uint32_t cpus = a.type == MapType::PercpuArray ? (a.num_cpus != 0 ? a.num_cpus : num_cpus()) : 1;
    const uint64_t bytes = stride * cpus * attr.max_entries;
    if (bytes > kMaxArrayBytes) {
        Error e = map_error(attr, "needs " + std::to_string(bytes) + " bytes, more than bpfvm's 4 GiB array limit");
        e.code = ErrorCode::kNoSpace;
        return e;
    }
    // calloc: large arrays come from fresh zero pages that take memory only when written, so a
    // big declared array costs what the program touches (the map-memory limit still counts it all).
    auto* storage = static_cast<uint64_t*>(std::calloc(bytes / 8, 8));
    if (storage == nullptr) {
        Error e = map_error(attr, "out of memory for " + std::to_string(bytes) + " bytes");
        e.code = ErrorCode::kNoSpace;
        return e;
    }
    if (a.type == MapType::PercpuArray) return std::unique_ptr<Map>(new ArrayMap<true>(a, storage, stride));
    return std::unique_ptr<Map>(new ArrayMap<false>(a, storage, stride));
}

Result<std::unique_ptr<Map>> create_pointer_array(const MapAttr& attr) {
    if (attr.key_size != 4) return map_error(attr, "key_size must be 4, got " + std::to_string(attr.key_size));
    if (attr.value_size != 4 && attr.value_size != 8)
        return map_error(attr, "value_size must be 4 (a file descriptor) or 8, got " + std::to_string(attr.value_size));
    if (attr.max_entries == 0) return map_error(attr, "max_entries must not be 0");
    if (attr.flags & (kFNoPrealloc | kFNoCommonLru | kFZeroSeed | kFMmapable))
        return map_error(attr, "map_flags not allowed for this map type");
    if (attr.type == MapType::ArrayOfMaps) {
        if (!attr.inner) return map_error(attr, "an inner map template is required");
        if (has_pointer_values(attr.inner->type))
            return map_error(attr, "the inner map cannot itself hold maps or programs");
    }
    return std::unique_ptr<Map>(new PointerArray(attr));
}

/// Reads slot `key` of a prog_array map (nullptr if empty or not a prog_array): used by tail_call.
const void* prog_array_get(Map& map, const void* key) {
    if (map.type() != MapType::ProgArray) return nullptr;
    return static_cast<PointerArray&>(map).get(key);
}

}  // namespace bpfvm::maps::detail
