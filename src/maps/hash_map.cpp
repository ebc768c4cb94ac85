// Hash maps: hash, percpu_hash, lru_hash, lru_percpu_hash and hash_of_maps.
//
// Design. Buckets are singly linked chains, at least twice as many as max_entries up to 2^20 (a
// power of two; the kernel has as many as max_entries): with keys spread at random, a full map's
// lookup then finds its key first in its chain 79% of the time instead of 63%, and a lookup that
// walks on pays a mispredicted branch that costs as much as the rest of the lookup (8 to 16 bytes
// more per entry). Writers
// (update, delete, eviction) hold the bucket's striped spin lock (one of up to 256, bucket index
// modulo the stripe count). Lookups from programs take no lock, as the kernel's do under RCU:
//
// - Elements ("nodes": header, key, then the value or one value per CPU) come from a BlockPool that
//   never hands memory back to the allocator while the map lives, so a node a reader holds stays
//   readable memory. Deleted nodes go to the pool's FIFO free list and may be reused for another
//   key in another bucket while a reader walks over them (the kernel's preallocated maps have the
//   same property).
// - Each chain ends in a "nulls" marker naming its bucket (odd: (bucket << 1) | 1), as the kernel's
//   hlist_nulls: a reader that was carried into another chain by a reused node ends on another
//   bucket's marker and restarts.
// - Each node has a sequence number, odd while the node is (re)initialised for a new key. A reader
//   that matched hash and key re-reads it afterwards and restarts when it changed, so it never
//   returns a node whose key it read half-way through reuse (a key longer than 8 bytes takes
//   several loads, which may mix two keys).
// - 4- and 8-byte keys skip the sequence check: such a key is written with one store and read
//   with one load, so it is never torn, and a match means the node held that key when it was
//   read. Either it still did, before a delete the lookup overlaps (the lookup is ordered before
//   that delete, and the node's memory stays valid as for any pointer a lookup returned), or the
//   same key was re-inserted into the same node (the lookup sees that insert's value being
//   written, as it may see any in-place update). The check cost 0.5-0.8 ns of a 3 ns lookup.
// - Nodes are published with a release store of the bucket head (or of a predecessor's link) after
//   they are complete; readers load links with acquire.
// Value updates are in place (as the kernel's without BPF_F_LOCK), so a program may see a value
// being replaced; values a lookup returned stay valid memory.
//
// LRU maps also link every node into one recency list guarded by lru_lock_. As in the kernel, a
// lookup only sets the node's reference bit (only when it is clear: no shared write on the hot
// path); eviction scans from the cold end, giving referenced nodes a second chance (clear the bit,
// move to the hot end). Lock order: stripe lock, then lru_lock_. The evictor holds lru_lock_ and
// only try_locks a victim's stripe, so it never waits in the wrong order.
#include "map_internal.hpp"

namespace bpfvm::maps::detail {
namespace {

// A node is this header, the key (padded to 8 bytes), for LRU maps LruLinks, then the value or
// one value per CPU (each padded to 8). A lookup reads the header and the key, and an LRU lookup
// the reference bit right after the key: all within the first 32 bytes for 4- and 8-byte keys.
struct Node {
    std::atomic<uintptr_t> next{0};  // a Node*, or the nulls marker of the chain's bucket
    std::atomic<uint32_t> tag{0};    // the upper half of the key's hash
    std::atomic<uint32_t> seq{0};    // odd while being (re)initialised
};
struct LruLinks {
    std::atomic<uint8_t> ref{0};  // reference bit, set by lookups: first, next to the key
    bool in_list = false;         // lru_lock_
    Node* prev = nullptr;         // recency list (lru_lock_)
    Node* next = nullptr;
};
constexpr size_t kHeader = round_up8(sizeof(Node));
constexpr size_t kLruBytes = round_up8(sizeof(LruLinks));
static_assert(kHeader == 16);
constexpr uint64_t kSeed = 0x5bd1e9955bd1e995ULL;
constexpr uint32_t kMaxStripes = 256;
constexpr uint64_t kMaxBuckets = uint64_t{1} << 20;

constexpr uintptr_t nulls(uint64_t bucket) { return static_cast<uintptr_t>(bucket << 1) | 1; }
constexpr bool is_nulls(uintptr_t link) { return (link & 1) != 0; }
inline Node* as_node(uintptr_t link) { return reinterpret_cast<Node*>(link); }

inline uint64_t load_u64(const void* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

/// kKeySize: 4 or 8 (the common key sizes, hashed and compared inline), or 0 for any size.
/// kLru: lru_hash and lru_percpu_hash (LruLinks in every node). kPercpu: percpu_hash and
/// lru_percpu_hash. kMapValues: hash_of_maps (values are Map pointers). The kind is in the type so
/// that a plain hash lookup is a leaf function that never tests it.
template <uint32_t kKeySize, bool kLru, bool kPercpu, bool kMapValues>
class HashMap final : public Map {
public:
    explicit HashMap(const MapAttr& attr)
        : Map(attr),
          vsize_(kMapValues ? 8 : attr.value_size),
          key_stride_(round_up8(attr.key_size)),
          val_stride_(round_up8(vsize_)),
          pool_(kHeader + key_stride_ + (kLru ? kLruBytes : 0) + val_stride_ * cpus_, attr.max_entries) {
        uint64_t n = 1;
        while (n < 2 * uint64_t{attr.max_entries} && n < kMaxBuckets) n <<= 1;
        buckets_ = std::vector<std::atomic<uintptr_t>>(n);
        for (uint64_t b = 0; b < n; ++b) buckets_[b].store(nulls(b), std::memory_order_relaxed);
        mask_ = n - 1;
        nstripes_ = static_cast<uint32_t>(std::min<uint64_t>(n, kMaxStripes));
        stripes_ = std::make_unique<PaddedLock[]>(nstripes_);
        seed_ = (attr.flags & kFZeroSeed) ? 0 : kSeed;
    }

    void* lookup_elem(const void* key) override {
        Node* n = find_lockfree(hash_key(key), key);
        if (n == nullptr) return nullptr;
        if constexpr (kLru) {
            // Only when clear: no write to a shared line on the hot path.
            if (lru(n).ref.load(std::memory_order_relaxed) == 0) lru(n).ref.store(1, std::memory_order_relaxed);
        }
        if constexpr (kPercpu) return value_of(n, current_cpu() % cpus_);
        if constexpr (kMapValues) {
            void* p;
            std::memcpy(&p, value_of(n, 0), sizeof p);
            return p;
        }
        return value_of(n, 0);
    }

    bool lookup_returns_memory() const override { return !kMapValues; }

    void* lookup_percpu_elem(const void* key, uint32_t cpu) override {
        if (!kPercpu || cpu >= cpus_) return nullptr;
        Node* n = find_lockfree(hash_key(key), key);
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
        const uint64_t h = hash_key(key);
        SpinLock& l = stripe(bucket_of(h));
        l.lock();
        Node* n = find(bucket_of(h), h, key);
        if (n != nullptr) copy_out(n, value);
        l.unlock();
        return n == nullptr ? -ENOENT : 0;
    }

    long get_next_key(const void* key, void* next_key) override {
        uint64_t b = 0;
        if (key != nullptr) {
            const uint64_t h = hash_key(key);
            b = bucket_of(h);
            SpinLock& l = stripe(b);
            l.lock();
            Node* n = find(b, h, key);
            const uintptr_t after = n == nullptr ? nulls(b) : n->next.load(std::memory_order_relaxed);
            if (!is_nulls(after)) {
                std::memcpy(next_key, key_of(as_node(after)), attr_.key_size);
                l.unlock();
                return 0;
            }
            l.unlock();
            // An absent key restarts from the first element, as in the kernel.
            b = n == nullptr ? 0 : b + 1;
        }
        for (; b <= mask_; ++b) {
            if (is_nulls(buckets_[b].load(std::memory_order_relaxed))) continue;
            SpinLock& l = stripe(b);
            l.lock();
            const uintptr_t head = buckets_[b].load(std::memory_order_relaxed);
            if (!is_nulls(head)) std::memcpy(next_key, key_of(as_node(head)), attr_.key_size);
            l.unlock();
            if (!is_nulls(head)) return 0;
        }
        return -ENOENT;
    }

    long for_each_elem(const std::function<uint64_t(const void*, void*)>& fn) override {
        if (kMapValues) return -EINVAL;
        long calls = 0;
        const uint32_t cpu = kPercpu ? current_cpu() % cpus_ : 0;
        std::vector<Node*> batch;
        // The callback runs without any map lock held (it may call helpers on this map); the
        // nodes it sees stay valid memory even if deleted meanwhile.
        for (uint64_t b = 0; b <= mask_; ++b) {
            if (is_nulls(buckets_[b].load(std::memory_order_relaxed))) continue;
            batch.clear();
            SpinLock& l = stripe(b);
            l.lock();
            for (uintptr_t p = buckets_[b].load(std::memory_order_relaxed); !is_nulls(p);
                 p = as_node(p)->next.load(std::memory_order_relaxed))
                batch.push_back(as_node(p));
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
    static uint8_t* key_of(Node* n) { return reinterpret_cast<uint8_t*>(n) + kHeader; }
    uint8_t* value_of(Node* n, uint32_t cpu) const {
        return key_of(n) + key_stride() + (kLru ? kLruBytes : 0) + uint64_t{cpu} * val_stride_;
    }
    uint64_t key_stride() const {
        if constexpr (kKeySize != 0) return round_up8(kKeySize);
        return key_stride_;
    }

    uint64_t bucket_of(uint64_t h) const { return h & mask_; }
    static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32); }
    LruLinks& lru(Node* n) const { return *reinterpret_cast<LruLinks*>(key_of(n) + key_stride()); }

    // One multiply for 4- and 8-byte keys (folded so that every key bit reaches the bucket bits);
    // hash_bytes for the rest.
    uint64_t hash_key(const void* key) const {
        constexpr uint64_t kMul = 0x9e3779b97f4a7c15ULL;
        if constexpr (kKeySize == 4) {
            const uint64_t h = (load_u32(key) ^ seed_) * kMul;
            return h ^ (h >> 32);
        } else if constexpr (kKeySize == 8) {
            const uint64_t k = load_u64(key);
            const uint64_t h = ((k ^ (k >> 32)) ^ seed_) * kMul;
            return h ^ (h >> 29);
        } else {
            return hash_bytes(key, attr_.key_size, seed_);
        }
    }

    // The whole 4- or 8-byte key of `n` in one load (keys sit 8-byte aligned after the header).
    static uint64_t load_key_once(const Node* n) {
        const uint8_t* k = reinterpret_cast<const uint8_t*>(n) + kHeader;
        if constexpr (kKeySize == 4) return __atomic_load_n(reinterpret_cast<const uint32_t*>(k), __ATOMIC_RELAXED);
        return __atomic_load_n(reinterpret_cast<const uint64_t*>(k), __ATOMIC_RELAXED);
    }

    // Writes the key of a node being (re)initialised: one store for 4- and 8-byte keys, so that
    // lock-free readers never see a torn one (see the design notes).
    void store_key(Node* n, const void* key) const {
        uint8_t* k = key_of(n);
        if constexpr (kKeySize == 4) {
            __atomic_store_n(reinterpret_cast<uint32_t*>(k), load_u32(key), __ATOMIC_RELAXED);
        } else if constexpr (kKeySize == 8) {
            __atomic_store_n(reinterpret_cast<uint64_t*>(k), load_u64(key), __ATOMIC_RELAXED);
        } else {
            std::memcpy(k, key, attr_.key_size);
        }
    }

    bool key_equals(const Node* n, const void* key) const {
        const uint8_t* k = reinterpret_cast<const uint8_t*>(n) + kHeader;
        if constexpr (kKeySize == 4) return load_u32(k) == load_u32(key);
        if constexpr (kKeySize == 8) return load_u64(k) == load_u64(key);
        return std::memcmp(k, key, attr_.key_size) == 0;
    }

    // With the stripe lock of the key's bucket held.
    Node* find(uint64_t b, uint64_t h, const void* key) const {
        for (uintptr_t p = buckets_[b].load(std::memory_order_relaxed); !is_nulls(p);
             p = as_node(p)->next.load(std::memory_order_relaxed)) {
            Node* n = as_node(p);
            if (n->tag.load(std::memory_order_relaxed) == tag_of(h) && key_equals(n, key)) return n;
        }
        return nullptr;
    }

    // Without any lock (see the design notes at the top). The key bytes are read while a writer may
    // be reusing the node; for keys longer than 8 bytes the sequence check discards such a read.
    Node* find_lockfree(uint64_t h, const void* key) const {
        const uint64_t b = bucket_of(h);
        [[maybe_unused]] uint64_t want = 0;
        if constexpr (kKeySize == 4) want = load_u32(key);
        if constexpr (kKeySize == 8) want = load_u64(key);
    restart:
        uintptr_t p = buckets_[b].load(std::memory_order_acquire);
        for (; !is_nulls(p); p = as_node(p)->next.load(std::memory_order_acquire)) {
            Node* n = as_node(p);
            if constexpr (kKeySize != 0) {
                if (load_key_once(n) == want) return n;  // one load: never torn, no sequence check
                continue;
            }
            const uint32_t seq = n->seq.load(std::memory_order_acquire);
            if ((seq & 1) != 0 || n->tag.load(std::memory_order_relaxed) != tag_of(h) || !key_equals(n, key))
                continue;
            std::atomic_thread_fence(std::memory_order_acquire);
            if (n->seq.load(std::memory_order_relaxed) != seq) goto restart;
            return n;
        }
        if (p != nulls(b)) goto restart;  // carried into another chain by a reused node
        return nullptr;
    }

    // Unlinks `n` from bucket `b` (stripe lock held). Returns false if it is not there. `n` keeps
    // its own link, so a reader standing on it walks on to the rest of the chain.
    bool unlink_bucket(uint64_t b, Node* n) {
        const auto target = reinterpret_cast<uintptr_t>(n);
        const uintptr_t after = n->next.load(std::memory_order_relaxed);
        uintptr_t cur = buckets_[b].load(std::memory_order_relaxed);
        if (cur == target) {
            buckets_[b].store(after, std::memory_order_release);
            return true;
        }
        for (; !is_nulls(cur); cur = as_node(cur)->next.load(std::memory_order_relaxed)) {
            if (as_node(cur)->next.load(std::memory_order_relaxed) == target) {
                as_node(cur)->next.store(after, std::memory_order_release);
                return true;
            }
        }
        return false;
    }

    // Recency list, lru_lock_ held. Head is hot, tail is cold.
    void lru_push_front(Node* n) {
        LruLinks& l = lru(n);
        l.prev = nullptr;
        l.next = lru_head_;
        if (lru_head_) lru(lru_head_).prev = n;
        lru_head_ = n;
        if (!lru_tail_) lru_tail_ = n;
        l.in_list = true;
    }
    void lru_unlink(Node* n) {
        LruLinks& l = lru(n);
        if (l.prev) lru(l.prev).next = l.next; else lru_head_ = l.next;
        if (l.next) lru(l.next).prev = l.prev; else lru_tail_ = l.prev;
        l.prev = l.next = nullptr;
        l.in_list = false;
    }

    // Takes the coldest unreferenced node out of the map and returns its block, or nullptr.
    // `held` is the stripe the caller already holds.
    uint8_t* evict(SpinLock* held) {
        lru_lock_.lock();
        Node* victim = nullptr;
        for (uint64_t budget = 2 * uint64_t{attr_.max_entries} + 16; budget > 0 && lru_tail_ != nullptr; --budget) {
            Node* n = lru_tail_;
            if (lru(n).ref.load(std::memory_order_relaxed) != 0) {
                lru(n).ref.store(0, std::memory_order_relaxed);
                lru_unlink(n);
                lru_push_front(n);
                continue;
            }
            const uint64_t b = bucket_of(hash_key(key_of(n)));  // the key is stable while n is linked
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
        return reinterpret_cast<uint8_t*>(victim);  // readers may still be on it: init_node, no memset
    }

    // Makes `block` a node for (h, key) with `value` and links it at the head of bucket `b` (stripe
    // lock held). A block that was a node before goes through an odd sequence number while its
    // hash, key and values change.
    Node* init_node(uint8_t* block, bool fresh, uint64_t b, uint64_t h, const void* key, const void* value,
                    bool all_cpus) {
        Node* n = fresh ? new (block) Node : reinterpret_cast<Node*>(block);
        const uint32_t seq = n->seq.load(std::memory_order_relaxed);
        n->seq.store(seq + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);  // the odd number is seen before any change
        n->tag.store(tag_of(h), std::memory_order_relaxed);
        if constexpr (kLru) {
            LruLinks& l = fresh ? *new (&lru(n)) LruLinks : lru(n);
            l.ref.store(0, std::memory_order_relaxed);
            l.in_list = false;
            l.prev = l.next = nullptr;
        }
        store_key(n, key);
        // Other CPUs' slots start at zero, as in the kernel; a reused block holds old values.
        if (!fresh && kPercpu) std::memset(value_of(n, 0), 0, val_stride_ * cpus_);
        write_value(n, value, all_cpus);
        n->next.store(buckets_[b].load(std::memory_order_relaxed), std::memory_order_relaxed);
        n->seq.store(seq + 2, std::memory_order_release);
        buckets_[b].store(reinterpret_cast<uintptr_t>(n), std::memory_order_release);
        return n;
    }

    void write_value(Node* n, const void* value, bool all_cpus) {
        if constexpr (!kPercpu) {
            std::memcpy(value_of(n, 0), value, vsize_);
        } else if (!all_cpus) {
            std::memcpy(value_of(n, current_cpu() % cpus_), value, vsize_);
        } else {
            const auto* src = static_cast<const uint8_t*>(value);
            for (uint32_t c = 0; c < cpus_; ++c) std::memcpy(value_of(n, c), src + c * val_stride_, vsize_);
        }
    }

    void copy_out(Node* n, void* value) const {
        if constexpr (kPercpu)
            std::memcpy(value, value_of(n, 0), val_stride_ * cpus_);
        else
            std::memcpy(value, value_of(n, 0), vsize_);
    }

    long update(const void* key, const void* value, uint64_t flags, bool all_cpus) {
        if ((flags & ~kLock) > kExist) return -EINVAL;
        if (flags & kLock) return -EINVAL;  // no BTF: no known bpf_spin_lock in the value
        if constexpr (kMapValues) {
            const void* p;
            std::memcpy(&p, value, sizeof p);
            if (p == nullptr || !is_live_map(p)) return -EBADF;
            if (!inner_map_matches(*attr_.inner, *static_cast<const Map*>(p))) return -EINVAL;
        }
        const uint64_t h = hash_key(key);
        const uint64_t b = bucket_of(h);
        SpinLock& l = stripe(b);
        l.lock();
        if (Node* n = find(b, h, key)) {
            if (flags == kNoExist) {
                l.unlock();
                return -EEXIST;
            }
            write_value(n, value, all_cpus);
            if constexpr (kLru) lru(n).ref.store(1, std::memory_order_relaxed);
            l.unlock();
            return 0;
        }
        if (flags == kExist) {
            l.unlock();
            return -ENOENT;
        }
        bool fresh = false;
        uint8_t* block = pool_.alloc(false, &fresh);
        if (kLru && block == nullptr) block = evict(&l);
        if (block == nullptr) {
            l.unlock();
            return kLru ? -EBUSY : -E2BIG;
        }
        Node* n = init_node(block, fresh, b, h, key, value, all_cpus);
        if constexpr (kLru) {
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
        const uint64_t h = hash_key(key);
        const uint64_t b = bucket_of(h);
        SpinLock& l = stripe(b);
        l.lock();
        Node* n = find(b, h, key);
        if (n == nullptr) {
            l.unlock();
            return -ENOENT;
        }
        if (value != nullptr) copy_out(n, value);
        unlink_bucket(b, n);
        if constexpr (kLru) {
            lru_lock_.lock();
            if (lru(n).in_list) lru_unlink(n);
            lru_lock_.unlock();
        }
        count_.fetch_sub(1, std::memory_order_relaxed);
        l.unlock();
        pool_.free(reinterpret_cast<uint8_t*>(n));
        return 0;
    }

    const uint32_t vsize_;      // bytes of one value (8 for hash_of_maps)
    const uint64_t key_stride_;
    const uint64_t val_stride_;
    BlockPool pool_;
    std::vector<std::atomic<uintptr_t>> buckets_;  // chain heads (a Node* or the bucket's nulls marker)
    uint64_t mask_ = 0;
    uint32_t nstripes_ = 1;
    std::unique_ptr<PaddedLock[]> stripes_;
    uint64_t seed_ = 0;
    SpinLock lru_lock_;
    Node* lru_head_ = nullptr;
    Node* lru_tail_ = nullptr;
    std::atomic<uint64_t> count_{0};
};

template <bool kLru, bool kPercpu, bool kMapValues = false>
std::unique_ptr<Map> make_hash(const MapAttr& attr) {
    switch (attr.key_size) {
        case 4: return std::make_unique<HashMap<4, kLru, kPercpu, kMapValues>>(attr);
        case 8: return std::make_unique<HashMap<8, kLru, kPercpu, kMapValues>>(attr);
        default: return std::make_unique<HashMap<0, kLru, kPercpu, kMapValues>>(attr);
    }
}

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
    if (attr.type == MapType::HashOfMaps) return make_hash<false, false, true>(attr);
    if (lru) return percpu ? make_hash<true, true>(attr) : make_hash<true, false>(attr);
    return percpu ? make_hash<false, true>(attr) : make_hash<false, false>(attr);
}

}  // namespace bpfvm::maps::detail
