// Keyless maps: queue (FIFO), stack (LIFO) and bloom_filter.
#include <cmath>

#include "map_internal.hpp"

namespace bpfvm::maps::detail {
namespace {

/// queue and stack share one ring of max_entries + 1 slots (one slot stays empty to tell full from
/// empty), as in the kernel. push with BPF_EXIST on a full map drops the oldest element.
class QueueStack final : public Map {
public:
    explicit QueueStack(const MapAttr& attr)
        : Map(attr), lifo_(attr.type == MapType::Stack), size_(uint64_t{attr.max_entries} + 1),
          elems_(size_ * attr.value_size) {}

    void* lookup_elem(const void*) override { return nullptr; }
    long update_elem(const void*, const void*, uint64_t) override { return -EINVAL; }
    long delete_elem(const void*) override { return -EINVAL; }
    long get_next_key(const void*, void*) override { return -kENotSupp; }

    long push_elem(const void* value, uint64_t flags) override {
        if ((flags & kNoExist) || flags > kExist) return -EINVAL;
        lock_.lock();
        if (full()) {
            if (!(flags & kExist)) {
                lock_.unlock();
                return -E2BIG;
            }
            tail_ = (tail_ + 1) % size_;
        }
        std::memcpy(&elems_[head_ * attr_.value_size], value, attr_.value_size);
        head_ = (head_ + 1) % size_;
        lock_.unlock();
        return 0;
    }

    long pop_elem(void* value) override { return take(value, true); }
    long peek_elem(void* value) override { return take(value, false); }

    // The syscall commands: lookup peeks, update pushes, lookup-and-delete pops.
    long sys_lookup(const void*, void* value) override { return peek_elem(value); }
    long sys_update(const void*, const void* value, uint64_t flags) override { return push_elem(value, flags); }
    long sys_delete(const void*) override { return -EINVAL; }
    long sys_lookup_and_delete(const void*, void* value) override { return pop_elem(value); }

private:
    bool full() const { return (head_ + 1) % size_ == tail_; }

    long take(void* value, bool remove) {
        lock_.lock();
        if (head_ == tail_) {
            lock_.unlock();
            return -ENOENT;
        }
        uint64_t idx;
        if (lifo_) {
            idx = (head_ + size_ - 1) % size_;
            if (remove) head_ = idx;
        } else {
            idx = tail_;
            if (remove) tail_ = (tail_ + 1) % size_;
        }
        std::memcpy(value, &elems_[idx * attr_.value_size], attr_.value_size);
        lock_.unlock();
        return 0;
    }

    const bool lifo_;
    const uint64_t size_;
    SpinLock lock_;
    uint64_t head_ = 0;  // next slot to write
    uint64_t tail_ = 0;  // oldest element
    std::vector<uint8_t> elems_;
};

/// bloom_filter: a bit array of a power-of-two size near max_entries * k / ln 2 bits, k hash
/// functions (map_extra bits 0..3, default 5). No false negatives; false positives possible.
class BloomFilter final : public Map {
public:
    BloomFilter(const MapAttr& attr, uint32_t nr_hash, uint64_t nbits)
        : Map(attr), nr_hash_(nr_hash), mask_(nbits - 1), words_(nbits / 64 + 1),
          seed_((attr.flags & kFZeroSeed) ? 0 : 0x2545f4914f6cdd1dULL) {}

    void* lookup_elem(const void*) override { return nullptr; }
    long update_elem(const void*, const void*, uint64_t) override { return -EINVAL; }
    long delete_elem(const void*) override { return -EINVAL; }
    long get_next_key(const void*, void*) override { return -kENotSupp; }

    long push_elem(const void* value, uint64_t flags) override {
        if (flags != kAny) return -EINVAL;
        for (uint32_t i = 0; i < nr_hash_; ++i) {
            const uint64_t bit = bit_of(value, i);
            words_[bit / 64].fetch_or(uint64_t{1} << (bit % 64), std::memory_order_relaxed);
        }
        return 0;
    }

    long peek_elem(void* value) override {
        for (uint32_t i = 0; i < nr_hash_; ++i) {
            const uint64_t bit = bit_of(value, i);
            if (!(words_[bit / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (bit % 64)))) return -ENOENT;
        }
        return 0;
    }

    // The syscall commands: lookup is peek (the value is the "key"), update is push.
    long sys_lookup(const void*, void* value) override { return peek_elem(value); }
    long sys_update(const void*, const void* value, uint64_t flags) override { return push_elem(value, flags); }
    long sys_delete(const void*) override { return -EINVAL; }
    long sys_lookup_and_delete(const void*, void*) override { return -kENotSupp; }

private:
    uint64_t bit_of(const void* value, uint32_t i) const {
        return hash_bytes(value, attr_.value_size, seed_ + i * 0x9e3779b97f4a7c15ULL) & mask_;
    }

    const uint32_t nr_hash_;
    const uint64_t mask_;
    std::vector<std::atomic<uint64_t>> words_;
    const uint64_t seed_;
};

}  // namespace

Result<std::unique_ptr<Map>> create_queue_stack(const MapAttr& attr) {
    if (attr.key_size != 0) return map_error(attr, "key_size must be 0, got " + std::to_string(attr.key_size));
    if (attr.value_size == 0) return map_error(attr, "value_size must not be 0");
    if (attr.value_size > (1u << 22)) return map_error(attr, "value_size is too large");
    if (attr.max_entries == 0) return map_error(attr, "max_entries must not be 0");
    if ((uint64_t{attr.max_entries} + 1) * attr.value_size > (uint64_t{1} << 30))
        return map_error(attr, "map is too large (bpfvm limit: 1 GiB of elements)");
    if (attr.flags & ~(kFNumaNode | kFRdonly | kFWronly | kFRdonlyProg | kFWronlyProg))
        return map_error(attr, "map_flags not allowed for queue/stack");
    return std::unique_ptr<Map>(new QueueStack(attr));
}

Result<std::unique_ptr<Map>> create_bloom_filter(const MapAttr& attr) {
    if (attr.key_size != 0) return map_error(attr, "key_size must be 0, got " + std::to_string(attr.key_size));
    if (attr.value_size == 0) return map_error(attr, "value_size must not be 0");
    if (attr.max_entries == 0) return map_error(attr, "max_entries must not be 0");
    if (attr.map_extra & ~uint64_t{0xf}) return map_error(attr, "map_extra may only set bits 0..3 (hash count)");
    if (attr.flags & ~(kFNumaNode | kFZeroSeed | kFRdonly | kFWronly | kFRdonlyProg | kFWronlyProg))
        return map_error(attr, "map_flags not allowed for bloom_filter");
    const uint32_t nr_hash = attr.map_extra == 0 ? 5 : static_cast<uint32_t>(attr.map_extra);
    // bits = entries * k / ln 2, rounded up to a power of two (at least one word, at most 2^30).
    const double want = std::ceil(double(attr.max_entries) * nr_hash / std::log(2.0));
    uint64_t nbits = 64;
    while (nbits < want && nbits < (uint64_t{1} << 30)) nbits <<= 1;
    return std::unique_ptr<Map>(new BloomFilter(attr, nr_hash, nbits));
}

}  // namespace bpfvm::maps::detail
