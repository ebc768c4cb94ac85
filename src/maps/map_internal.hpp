// Internals shared by the map implementations: locks, hashing, node pools and the per-type
// constructors that create_map() dispatches to.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "bpfvm/maps.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace bpfvm::maps::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// A small test-and-test-and-set lock. Critical sections here are short (a bucket walk, a copy);
/// after a few spins the waiter yields so that an oversubscribed machine still makes progress.
class SpinLock {
public:
    void lock() {
        for (;;) {
            if (!locked_.exchange(true, std::memory_order_acquire)) return;
            for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
                if (spins < 64)
                    cpu_relax();
                else
                    std::this_thread::yield();
            }
        }
    }
    bool try_lock() {
        return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

/// A lock alone on its cache line, for lock striping.
struct alignas(64) PaddedLock {
    SpinLock lock;
};

inline constexpr uint64_t round_up8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

inline bool is_pow2(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/// Hash of a byte string: 8-byte words folded with a multiply, then a final avalanche.
inline uint64_t hash_bytes(const void* p, size_t n, uint64_t seed) {
    const auto* b = static_cast<const uint8_t*>(p);
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, b, 8);
        h = (h ^ mix64(v)) * 0x9e3779b97f4a7c15ULL;
        b += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t v = 0;
        std::memcpy(&v, b, n);
        h = (h ^ mix64(v ^ (uint64_t{n} << 56))) * 0x9e3779b97f4a7c15ULL;
    }
    return mix64(h);
}

inline uint32_t load_u32(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

/// get_next_key of the index-keyed maps (array, percpu_array, prog_array, array_of_maps): the
/// index after `key`, index 0 for a missing or out-of-range key, -ENOENT after the last one.
inline long array_next_key(uint32_t max_entries, const void* key, void* next_key) {
    uint32_t next = 0;
    if (key != nullptr) {
        const uint32_t idx = load_u32(key);
        if (idx < max_entries) {
            if (idx + 1 == max_entries) return -ENOENT;
            next = idx + 1;
        }
    }
    std::memcpy(next_key, &next, 4);
    return 0;
}

/// Fixed-size blocks carved lazily from chunks that are never returned to the allocator before
/// the pool dies: a freed block goes to a FIFO free list, so a stale pointer a program still holds
/// stays readable and writable memory (the userspace stand-in for the kernel's RCU grace period),
/// and FIFO reuse keeps a just-freed block untouched as long as possible.
class BlockPool {
public:
    BlockPool(size_t block_size, uint64_t capacity)
        : block_size_(round_up8(block_size)), capacity_(capacity) {}

    /// A zero-filled block, or nullptr when `capacity` blocks are in use. With `zero` false a block
    /// that was used before keeps its old bytes (lock-free readers may still be looking at them)
    /// and `*fresh` (if given) tells whether it was never handed out (its bytes are then zero).
    uint8_t* alloc(bool zero = true, bool* fresh = nullptr) {
        lock_.lock();
        uint8_t* p = nullptr;
        bool carved = false;
        if (!free_.empty()) {
            p = free_.front();
            free_.pop_front();
        } else if (carved_ < capacity_) {
            carved = true;
            if (chunk_left_ == 0) {
                const uint64_t n = std::min<uint64_t>(chunk_blocks(), capacity_ - carved_);
                chunks_.push_back(std::make_unique<uint8_t[]>(n * block_size_));
                chunk_next_ = chunks_.back().get();
                chunk_left_ = n;
            }
            p = chunk_next_;
            chunk_next_ += block_size_;
            --chunk_left_;
            ++carved_;
        }
        if (p) ++in_use_;
        lock_.unlock();
        if (fresh != nullptr) *fresh = carved;
        if (p && zero) std::memset(p, 0, block_size_);
        return p;
    }
    void free(uint8_t* p) {
        lock_.lock();
        free_.push_back(p);
        --in_use_;
        lock_.unlock();
    }
    uint64_t in_use() const { return in_use_; }
    size_t block_size() const { return block_size_; }

private:
    uint64_t chunk_blocks() const {
        const uint64_t by_bytes = (uint64_t{1} << 20) / block_size_;
        return std::max<uint64_t>(1, by_bytes);
    }
    SpinLock lock_;
    size_t block_size_;
    uint64_t capacity_;
    uint64_t carved_ = 0;
    uint64_t in_use_ = 0;
    std::vector<std::unique_ptr<uint8_t[]>> chunks_;
    uint8_t* chunk_next_ = nullptr;
    uint64_t chunk_left_ = 0;
    std::deque<uint8_t*> free_;
};

/// Largest per-CPU value, as the kernel's PCPU_MIN_UNIT_SIZE (larger ones fail with E2BIG).
inline constexpr uint32_t kMaxPercpuValueSize = 32768;

/// True for prog_array and the map-in-map types, whose values are pointers.
inline bool has_pointer_values(MapType type) {
    return type == MapType::ProgArray || type == MapType::ArrayOfMaps || type == MapType::HashOfMaps;
}

/// Checks that `inner` may be stored in a map-in-map created with template `tmpl` (the kernel's
/// bpf_map_meta_equal): same type, key and value size, flags, and max_entries unless the template
/// has BPF_F_INNER_MAP.
bool inner_map_matches(const MapAttr& tmpl, const Map& inner);

// Per-type constructors; attr has passed the common checks. Errors name the field.
Result<std::unique_ptr<Map>> create_array(const MapAttr& attr);
Result<std::unique_ptr<Map>> create_pointer_array(const MapAttr& attr);
Result<std::unique_ptr<Map>> create_hash(const MapAttr& attr);
Result<std::unique_ptr<Map>> create_lpm_trie(const MapAttr& attr);
Result<std::unique_ptr<Map>> create_queue_stack(const MapAttr& attr);
Result<std::unique_ptr<Map>> create_bloom_filter(const MapAttr& attr);
Result<std::unique_ptr<Map>> create_ringbuf(const MapAttr& attr);
Result<std::unique_ptr<Map>> create_perf_event_array(const MapAttr& attr);

/// Slot `key` of a prog_array (nullptr if empty, out of range, or `map` is not a prog_array).
const void* prog_array_get(Map& map, const void* key);

/// The ring buffer whose data area contains `p` (bpf_ringbuf_submit/discard get only the record).
RingBuf* ringbuf_containing(const void* p);

/// A kInvalidArgument error "map NAME (TYPE): what".
Error map_error(const MapAttr& attr, const std::string& what);

}  // namespace bpfvm::maps::detail
