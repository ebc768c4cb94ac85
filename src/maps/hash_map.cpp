// Hash maps: hash, percpu_hash, lru_hash, lru_percpu_hash and hash_of_maps.
//
// Design. Buckets are singly linked chains; each bucket is guarded by one of up to 256 striped
// spin locks (bucket index modulo the stripe count). Elements ("nodes": header, key, then the
// value or one value per CPU) come from a BlockPool that never hands memory back to the allocator
// while the map lives, so the pointer a lookup returns stays valid memory even after the element
// is deleted; the pool's capacity is max_entries, which enforces the limit (-E2BIG when full).
//
// LRU maps also link every node into one recency list guarded by lru_lock_. As in the kernel, a
// lookup only sets the node's reference bit (no list update, no shared write on the hot path);
// eviction scans from the cold end, giving referenced nodes a second chance (clear the bit, move
// to the hot end). Lock order: stripe lock, then lru_lock_. The evictor holds lru_lock_ and only
// try_locks a victim's stripe, so it never waits in the wrong order.
#include "map_internal.hpp"

namespace bpfvm::maps::detail {
namespace {

struct Node {
    Node* next = nullptr;      // bucket chain (stripe lock)
    Node* lru_prev = nullptr;  // recency list (lru_lock_)
    Node* lru_next = nullptr;
    uint64_t hash = 0;
    std::atomic<uint8_t> ref{0};  // LRU reference bit, set by lookups
    bool in_lru = false;
};
constexpr size_t kHeader = round_up8(sizeof(Node));
constexpr uint64_t kSeed = 0x5bd1e9955bd1e995ULL;
constexpr uint32_t kMaxStripes = 256;
constexpr uint64_t kMaxBuckets = uint64_t{1} << 20;

class HashMap final : public Map {
public:
    explicit HashMap(const MapAttr& attr)
        : Map(attr),
          lru_(attr.type == MapType::LruHash || attr.type == MapType::LruPercpuHash),
          ptr_values_(attr.type == MapType::HashOfMaps),
          vsize_(ptr_values_ ? 8 : attr.value_size),
          key_stride_(round_up8(attr.key_size)),
          val_stride_(round_up8(vsize_)),
          pool_(kHeader + key_stride_ + val_stride_ * cpus_, attr.max_entries) {
        uint64_t n = 1;
        while (n < attr.max_entries && n < kMaxBuckets) n <<= 1;
        buckets_ = std::vector<std::atomic<Node*>>(n);
        mask_ = n - 1;
        nstripes_ = static_cast<uint32_t>(std::min<uint64_t>(n, kMaxStripes));
        stripes_ = std::make_unique<PaddedLock[]>(nstripes_);
        seed_ = (attr.flags & kFZeroSeed) ? 0 : kSeed;
    }

    void* lookup_elem(const void* key) override {
        const uint64_t h = hash_bytes(key, attr_.key_size, seed_);
        SpinLock& l = stripe(h & mask_);
        l.lock();
        Node* n = find(h & mask_, h, key);
        if (n != nullptr && lru_ && n->ref.load(std::memory_order_relaxed) == 0)
            n->ref.store(1, std::memory_order_relaxed);
        l.unlock();
        if (n == nullptr) return nullptr;
        if (ptr_values_) {
            void* p;
            std::memcpy(&p, value_of(n, 0), sizeof p);
            return p;
        }
        return value_of(n, is_percpu() ? current_cpu() % cpus_ : 0);
    }

    bool lookup_returns_memory() const override { return !ptr_values_; }

    void* lookup_percpu_elem(const void* key, uint32_t cpu) override {
        if (!is_percpu() || cpu >= cpus_) return nullptr;
        const uint64_t h = hash_bytes(key, attr_.key_size, seed_);
        SpinLock& l = stripe(h & mask_);
        l.lock();
        Node* n = find(h & mask_, h, key);
        l.unlock();
        return n == nullptr ? nullptr : value_of(n, cpu);
    }

    long update_elem(const void* key, const void* value, uint64_t flags) override {
        return update(key, value, flags, false);
    }
    long sys_update(const void* key, const void* value, uint64_t flags) override {
        return update(key, value, flags, true);
    }

    long delete_elem(const void* key) override { return remove(key, nullptr); }
    long sys_lookup_and_delete(const void* key, void* value) override { return remove(key, value); }

    long sys_lookup(const void* key, void* value) override {
        const uint64_t h = hash_bytes(key, attr_.key_size, seed_);
        SpinLock& l = stripe(h & mask_);
        l.lock();
        Node* n = find(h & mask_, h, key);
        if (n != nullptr) copy_out(n, value);
        l.unlock();
        return n == nullptr ? -ENOENT : 0;
    }

    long get_next_key(const void* key, void* next_key) override {
        uint64_t b = 0;
        if (key != nullptr) {
            const uint64_t h = hash_bytes(key, attr_.key_size, seed_);
            b = h & mask_;
            SpinLock& l = stripe(b);
            l.lock();
            Node* n = find(b, h, key);
            if (n != nullptr && n->next != nullptr) {
                std::memcpy(next_key, key_of(n->next), attr_.key_size);
                l.unlock();
                return 0;
            }
            l.unlock();
            // An absent key restarts from the first element, as in the kernel.
            b = n == nullptr ? 0 : b + 1;
        }
        for (; b <= mask_; ++b) {
            if (buckets_[b].load(std::memory_order_relaxed) == nullptr) continue;
            SpinLock& l = stripe(b);
            l.lock();
            Node* n = buckets_[b].load(std::memory_order_relaxed);
            if (n != nullptr) std::memcpy(next_key, key_of(n), attr_.key_size);
            l.unlock();
            if (n != nullptr) return 0;
        }
        return -ENOENT;
    }

    long for_each_elem(const std::function<uint64_t(const void*, void*)>& fn) override {
        if (ptr_values_) return -EINVAL;
        long calls = 0;
        const uint32_t cpu = is_percpu() ? current_cpu() % cpus_ : 0;
        std::vector<Node*> batch;
        // The callback runs without any map lock held (it may call helpers on this map); the
        // nodes it sees stay valid memory even if deleted meanwhile.
        for (uint64_t b = 0; b <= mask_; ++b) {
            if (buckets_[b].load(std::memory_order_relaxed) == nullptr) continue;
            batch.clear();
            SpinLock& l = stripe(b);
            l.lock();
            for (Node* n = buckets_[b].load(std::memory_order_relaxed); n != nullptr; n = n->next) batch.push_back(n);
            l.unlock();
            for (Node* n : batch) {
                ++calls;
                if (fn(key_of(n), value_of(n, cpu)) != 0) return calls;
            }
        }
        return calls;
    }

private:
    SpinLock& stripe(uint64_t bucket) { return stripes_[bucket & (nstripes_ - 1)].lock; }
    uint8_t* key_of(Node* n) const { return reinterpret_cast<uint8_t*>(n) + kHeader; }
    uint8_t* value_of(Node* n, uint32_t cpu) const { return key_of(n) + key_stride_ + uint64_t{cpu} * val_stride_; }

    Node* find(uint64_t b, uint64_t h, const void* key) const {
        for (Node* n = buckets_[b].load(std::memory_order_relaxed); n != nullptr; n = n->next)
            if (n->hash == h && std::memcmp(key_of(n), key, attr_.key_size) == 0) return n;
        return nullptr;
    }

    // Unlinks `n` from bucket `b` (stripe lock held). Returns false if it is not there.
    bool unlink_bucket(uint64_t b, Node* n) {
        Node* cur = buckets_[b].load(std::memory_order_relaxed);
        if (cur == n) {
            buckets_[b].store(n->next, std::memory_order_relaxed);
            return true;
        }
        for (; cur != nullptr; cur = cur->next) {
            if (cur->next == n) {
                cur->next = n->next;
                return true;
            }
        }
        return false;
    }

    // Recency list, lru_lock_ held. Head is hot, tail is cold.
    void lru_push_front(Node* n) {
        n->lru_prev = nullptr;
        n->lru_next = lru_head_;
        if (lru_head_) lru_head_->lru_prev = n;
        lru_head_ = n;
        if (!lru_tail_) lru_tail_ = n;
        n->in_lru = true;
    }
    void lru_unlink(Node* n) {
        if (n->lru_prev) n->lru_prev->lru_next = n->lru_next; else lru_head_ = n->lru_next;
        if (n->lru_next) n->lru_next->lru_prev = n->lru_prev; else lru_tail_ = n->lru_prev;
        n->lru_prev = n->lru_next = nullptr;
        n->in_lru = false;
    }

    // Takes the coldest unreferenced node out of the map and returns its block, or nullptr.
    // `held` is the stripe the caller already holds.
    uint8_t* evict(SpinLock* held) {
        lru_lock_.lock();
        Node* victim = nullptr;
        for (uint64_t budget = 2 * uint64_t{attr_.max_entries} + 16; budget > 0 && lru_tail_ != nullptr; --budget) {
            Node* n = lru_tail_;
            if (n->ref.load(std::memory_order_relaxed) != 0) {
                n->ref.store(0, std::memory_order_relaxed);
                lru_unlink(n);
                lru_push_front(n);
                continue;
            }
            const uint64_t b = n->hash & mask_;
            SpinLock& l = stripe(b);
            if (&l != held && !l.try_lock()) {
                lru_unlink(n);
                lru_push_front(n);
                continue;
            }
            // Invariant: a node in the recency list is in its bucket (both links change under its
            // stripe lock, which is held here).
            const bool linked = unlink_bucket(b, n);
            BPFVM_ASSERT(linked);
            lru_unlink(n);
            if (&l != held) l.unlock();
            victim = n;
            break;
        }
        lru_lock_.unlock();
        if (victim == nullptr) return nullptr;
        count_.fetch_sub(1, std::memory_order_relaxed);
        auto* block = reinterpret_cast<uint8_t*>(victim);
        std::memset(block, 0, pool_.block_size());
        return block;
    }

    void write_value(Node* n, const void* value, bool all_cpus) {
        if (!is_percpu()) {
            std::memcpy(value_of(n, 0), value, vsize_);
        } else if (!all_cpus) {
            std::memcpy(value_of(n, current_cpu() % cpus_), value, vsize_);
        } else {
            const auto* src = static_cast<const uint8_t*>(value);
            for (uint32_t c = 0; c < cpus_; ++c) std::memcpy(value_of(n, c), src + c * val_stride_, vsize_);
        }
    }

    void copy_out(Node* n, void* value) const {
        if (is_percpu())
            std::memcpy(value, value_of(n, 0), val_stride_ * cpus_);
        else
            std::memcpy(value, value_of(n, 0), vsize_);
    }

    long update(const void* key, const void* value, uint64_t flags, bool all_cpus) {
        if ((flags & ~kLock) > kExist) return -EINVAL;
        if (flags & kLock) return -EINVAL;  // no BTF: no known bpf_spin_lock in the value
        if (ptr_values_) {
            const void* p;
            std::memcpy(&p, value, sizeof p);
            if (p == nullptr || !is_live_map(p)) return -EBADF;
            if (!inner_map_matches(*attr_.inner, *static_cast<const Map*>(p))) return -EINVAL;
        }
        const uint64_t h = hash_bytes(key, attr_.key_size, seed_);
        const uint64_t b = h & mask_;
        SpinLock& l = stripe(b);
        l.lock();
        if (Node* n = find(b, h, key)) {
            if (flags == kNoExist) {
                l.unlock();
                return -EEXIST;
            }
            write_value(n, value, all_cpus);
            if (lru_) n->ref.store(1, std::memory_order_relaxed);
            l.unlock();
            return 0;
        }
        if (flags == kExist) {
            l.unlock();
            return -ENOENT;
        }
        uint8_t* block = pool_.alloc();
        if (block == nullptr && lru_) block = evict(&l);
        if (block == nullptr) {
            l.unlock();
            return lru_ ? -EBUSY : -E2BIG;
        }
        Node* n = new (block) Node;
        n->hash = h;
        std::memcpy(key_of(n), key, attr_.key_size);
        write_value(n, value, all_cpus);
        n->next = buckets_[b].load(std::memory_order_relaxed);
        buckets_[b].store(n, std::memory_order_relaxed);
        if (lru_) {
            lru_lock_.lock();
            lru_push_front(n);
            lru_lock_.unlock();
        }
        count_.fetch_add(1, std::memory_order_relaxed);
        l.unlock();
        return 0;
    }

    // Deletes `key`; copies its value out first when `value` is not null.
    long remove(const void* key, void* value) {
        const uint64_t h = hash_bytes(key, attr_.key_size, seed_);
        const uint64_t b = h & mask_;
        SpinLock& l = stripe(b);
        l.lock();
        Node* n = find(b, h, key);
        if (n == nullptr) {
            l.unlock();
            return -ENOENT;
        }
        if (value != nullptr) copy_out(n, value);
        unlink_bucket(b, n);
        if (lru_) {
            lru_lock_.lock();
            if (n->in_lru) lru_unlink(n);
            lru_lock_.unlock();
        }
        count_.fetch_sub(1, std::memory_order_relaxed);
        l.unlock();
        pool_.free(reinterpret_cast<uint8_t*>(n));
        return 0;
    }

    const bool lru_;
    const bool ptr_values_;
    const uint32_t vsize_;      // bytes of one value (8 for hash_of_maps)
    const uint64_t key_stride_;
    const uint64_t val_stride_;
    BlockPool pool_;
    std::vector<std::atomic<Node*>> buckets_;
    uint64_t mask_ = 0;
    uint32_t nstripes_ = 1;
    std::unique_ptr<PaddedLock[]> stripes_;
    uint64_t seed_ = 0;
    SpinLock lru_lock_;
    Node* lru_head_ = nullptr;
    Node* lru_tail_ = nullptr;
    std::atomic<uint64_t> count_{0};
};

}  // namespace

Result<std::unique_ptr<Map>> create_hash(const MapAttr& attr) {
    const bool lru = attr.type == MapType::LruHash || attr.type == MapType::LruPercpuHash;
    if (attr.key_size == 0) return map_error(attr, "key_size must not be 0");
    if (attr.key_size > 512) return map_error(attr, "key_size " + std::to_string(attr.key_size) + " exceeds 512");
    if (attr.value_size == 0) return map_error(attr, "value_size must not be 0");
    if (attr.value_size > (1u << 22))
        return map_error(attr, "value_size " + std::to_string(attr.value_size) + " is too large");
    if (attr.max_entries == 0) return map_error(attr, "max_entries must not be 0");
    const bool percpu = attr.type == MapType::PercpuHash || attr.type == MapType::LruPercpuHash;
    if (percpu && round_up8(attr.value_size) > kMaxPercpuValueSize)
        return map_error(attr, "per-CPU value_size " + std::to_string(attr.value_size) + " exceeds 32768");
    if (lru && (attr.flags & kFNoPrealloc)) return map_error(attr, "LRU maps do not support BPF_F_NO_PREALLOC");
    if (!lru && (attr.flags & kFNoCommonLru)) return map_error(attr, "BPF_F_NO_COMMON_LRU needs an LRU map");
    if (attr.flags & kFMmapable) return map_error(attr, "BPF_F_MMAPABLE not allowed for hash maps");
    if (attr.type == MapType::HashOfMaps) {
        if (attr.value_size != 4 && attr.value_size != 8)
            return map_error(attr,
                             "value_size must be 4 (a file descriptor) or 8, got " + std::to_string(attr.value_size));
        if (!attr.inner) return map_error(attr, "an inner map template is required");
        if (has_pointer_values(attr.inner->type))
            return map_error(attr, "the inner map cannot itself hold maps or programs");
    }
    return std::unique_ptr<Map>(new HashMap(attr));
}

}  // namespace bpfvm::maps::detail
