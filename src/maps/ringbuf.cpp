// Event maps: ringbuf (BPF ring buffer, many producers, one consumer) and perf_event_array
// (records collected per index for the caller).
//
// Ring buffer layout follows the kernel: each record starts with an 8-byte header whose first u32
// is the length with BUSY (bit 31, still reserved) and DISCARD (bit 30) flags; records are padded
// to 8 bytes; the consumer stops at the first BUSY record, so records are delivered in
// reservation order. The kernel maps the data pages twice so that a record may wrap around the
// end; here a record that would wrap is preceded by a discarded padding record that fills the
// rest of the buffer, so every record is contiguous.
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "map_internal.hpp"

namespace bpfvm::maps::detail {
namespace {

constexpr uint32_t kBusyBit = 1u << 31;
constexpr uint32_t kDiscardBit = 1u << 30;
constexpr uint64_t kHdrSize = 8;
constexpr uint64_t kPageSize = 4096;

// Data areas of the live ring buffers, by start address: bpf_ringbuf_submit/discard receive only
// the record pointer and find their ring here.
std::shared_mutex g_rings_mutex;
std::map<uintptr_t, std::pair<uintptr_t, RingBuf*>> g_rings;

class RingBufMap final : public RingBuf {
public:
    explicit RingBufMap(const MapAttr& attr)
        : RingBuf(attr), cap_(attr.max_entries), mask_(cap_ - 1),
          data_(std::make_unique<uint64_t[]>(cap_ / 8)) {
        std::unique_lock lock(g_rings_mutex);
        const auto begin = reinterpret_cast<uintptr_t>(data_.get());
        g_rings[begin] = {begin + cap_, this};
    }
    ~RingBufMap() override {
        std::unique_lock lock(g_rings_mutex);
        g_rings.erase(reinterpret_cast<uintptr_t>(data_.get()));
    }

    void* lookup_elem(const void*) override { return nullptr; }
    bool lookup_returns_memory() const override { return false; }
    long update_elem(const void*, const void*, uint64_t) override { return -kENotSupp; }
    long delete_elem(const void*) override { return -kENotSupp; }
    long get_next_key(const void*, void*) override { return -kENotSupp; }
    long sys_lookup(const void*, void*) override { return -kENotSupp; }
    long sys_lookup_and_delete(const void*, void*) override { return -kENotSupp; }
    RingBuf* as_ringbuf() override { return this; }

    void* reserve(uint64_t size, uint64_t flags) override {
        if (flags != 0) return nullptr;
        const uint64_t len = round_up8(size + kHdrSize);
        if (size >= (uint64_t{1} << 30) || len > cap_) return nullptr;
        lock_.lock();
        uint64_t prod = prod_.load(std::memory_order_relaxed);
        const uint64_t used = prod - cons_.load(std::memory_order_acquire);
        uint64_t off = prod & mask_;
        const uint64_t pad = off + len > cap_ ? cap_ - off : 0;
        if (used + pad + len > cap_) {
            lock_.unlock();
            return nullptr;
        }
        if (pad != 0) {
            header(off).store(static_cast<uint32_t>(pad - kHdrSize) | kDiscardBit, std::memory_order_relaxed);
            prod += pad;
            off = 0;
        }
        header(off).store(static_cast<uint32_t>(size) | kBusyBit, std::memory_order_relaxed);
        prod_.store(prod + len, std::memory_order_release);
        uint8_t* rec = bytes() + off + kHdrSize;
        outstanding_.insert(rec);
        lock_.unlock();
        return rec;
    }

    bool submit(void* data, uint64_t) override { return commit(data, 0); }
    bool discard(void* data, uint64_t) override { return commit(data, kDiscardBit); }

    long output(const void* data, uint64_t size, uint64_t flags) override {
        if (flags & ~(kRbNoWakeup | kRbForceWakeup)) return -EINVAL;
        void* rec = reserve(size, 0);
        if (rec == nullptr) return -EAGAIN;
        std::memcpy(rec, data, size);
        commit(rec, 0);
        return 0;
    }

    uint64_t query(uint64_t flags) override {
        const uint64_t prod = prod_.load(std::memory_order_acquire);
        const uint64_t cons = cons_.load(std::memory_order_acquire);
        switch (flags) {
            case kRbAvailData: return prod - cons;
            case kRbRingSize: return cap_;
            case kRbConsPos: return cons;
            case kRbProdPos: return prod;
            default: return 0;
        }
    }

    size_t consume(const std::function<void(std::span<const uint8_t>)>& fn) override {
        std::lock_guard guard(consumer_mutex_);
        size_t delivered = 0;
        uint64_t cons = cons_.load(std::memory_order_relaxed);
        for (;;) {
            if (cons >= prod_.load(std::memory_order_acquire)) break;
            const uint64_t off = cons & mask_;
            const uint32_t h = header(off).load(std::memory_order_acquire);
            if (h & kBusyBit) break;
            const uint32_t len = h & ~(kBusyBit | kDiscardBit);
            if (!(h & kDiscardBit)) {
                fn(std::span<const uint8_t>(bytes() + off + kHdrSize, len));
                ++delivered;
            }
            cons += round_up8(len + kHdrSize);
            cons_.store(cons, std::memory_order_release);
        }
        return delivered;
    }

private:
    uint8_t* bytes() const { return reinterpret_cast<uint8_t*>(data_.get()); }
    std::atomic_ref<uint32_t> header(uint64_t off) const {
        return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(bytes() + off));
    }

    // Clears BUSY (and sets `extra`) on a record this ring handed out and has not committed yet.
    bool commit(void* data, uint32_t extra) {
        auto* rec = static_cast<uint8_t*>(data);
        lock_.lock();
        const bool ours = outstanding_.erase(rec) == 1;
        lock_.unlock();
        if (!ours) return false;
        const uint64_t off = static_cast<uint64_t>(rec - bytes()) - kHdrSize;
        const uint32_t h = header(off).load(std::memory_order_relaxed);
        header(off).store((h & ~kBusyBit) | extra, std::memory_order_release);
        return true;
    }

    const uint64_t cap_;
    const uint64_t mask_;
    std::unique_ptr<uint64_t[]> data_;
    SpinLock lock_;  // producers
    std::atomic<uint64_t> prod_{0};
    std::atomic<uint64_t> cons_{0};
    std::unordered_set<const uint8_t*> outstanding_;
    std::mutex consumer_mutex_;
};

class PerfEventArrayMap final : public PerfEventArray {
public:
    explicit PerfEventArrayMap(const MapAttr& attr) : PerfEventArray(attr) {
        if (attr_.max_entries == 0) attr_.max_entries = cpus_;
        pending_.resize(attr_.max_entries);
    }

    void* lookup_elem(const void*) override { return nullptr; }
    bool lookup_returns_memory() const override { return false; }
    // Slots would hold perf event file descriptors; every index is always open here, so updates
    // and deletes only check the index.
    long update_elem(const void* key, const void*, uint64_t flags) override {
        if (flags != kAny) return -EINVAL;
        return load_u32(key) < attr_.max_entries ? 0 : -E2BIG;
    }
    long delete_elem(const void* key) override { return load_u32(key) < attr_.max_entries ? 0 : -E2BIG; }
    long sys_lookup(const void*, void*) override { return -kENotSupp; }
    long get_next_key(const void* key, void* next_key) override {
        uint32_t next = 0;
        if (key != nullptr && load_u32(key) < attr_.max_entries) {
            if (load_u32(key) + 1 == attr_.max_entries) return -ENOENT;
            next = load_u32(key) + 1;
        }
        std::memcpy(next_key, &next, 4);
        return 0;
    }
    PerfEventArray* as_perf_event_array() override { return this; }

    long output(uint64_t flags, const void* data, uint64_t size) override {
        if (flags & ~kFIndexMask) return -EINVAL;
        const uint64_t index = (flags & kFIndexMask) == kFCurrentCpu ? current_cpu() : (flags & kFIndexMask);
        if (index >= attr_.max_entries) return -E2BIG;
        std::lock_guard guard(mutex_);
        auto& q = pending_[index];
        if (q.size() >= kMaxPending) {
            ++lost_;
            return -ENOSPC;
        }
        const auto* p = static_cast<const uint8_t*>(data);
        q.push_back(PerfRecord{static_cast<uint32_t>(index), std::vector<uint8_t>(p, p + size)});
        return 0;
    }

    std::vector<PerfRecord> drain() override {
        std::lock_guard guard(mutex_);
        std::vector<PerfRecord> out;
        for (auto& q : pending_) {
            for (auto& r : q) out.push_back(std::move(r));
            q.clear();
        }
        return out;
    }

    uint64_t lost() const override {
        std::lock_guard guard(mutex_);
        return lost_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::vector<PerfRecord>> pending_;
    uint64_t lost_ = 0;
};

}  // namespace

RingBuf* ringbuf_containing(const void* p) {
    const auto a = reinterpret_cast<uintptr_t>(p);
    std::shared_lock lock(g_rings_mutex);
    auto it = g_rings.upper_bound(a);
    if (it == g_rings.begin()) return nullptr;
    --it;
    return a < it->second.first ? it->second.second : nullptr;
}

Result<std::unique_ptr<Map>> create_ringbuf(const MapAttr& attr) {
    if (attr.key_size != 0 || attr.value_size != 0) return map_error(attr, "key_size and value_size must be 0");
    if (!is_pow2(attr.max_entries) || attr.max_entries % kPageSize != 0)
        return map_error(attr, "max_entries must be a power of two multiple of 4096, got " +
                                   std::to_string(attr.max_entries));
    if (attr.max_entries > (1u << 30)) return map_error(attr, "max_entries is too large (limit 1 GiB)");
    if (attr.flags & ~kFNumaNode) return map_error(attr, "map_flags not allowed for ringbuf");
    return std::unique_ptr<Map>(new RingBufMap(attr));
}

Result<std::unique_ptr<Map>> create_perf_event_array(const MapAttr& attr) {
    if (attr.key_size != 4) return map_error(attr, "key_size must be 4, got " + std::to_string(attr.key_size));
    if (attr.value_size != 4) return map_error(attr, "value_size must be 4, got " + std::to_string(attr.value_size));
    if (attr.flags & ~(kFNumaNode | kFRdonly | kFWronly | kFRdonlyProg | kFWronlyProg))
        return map_error(attr, "map_flags not allowed for perf_event_array");
    return std::unique_ptr<Map>(new PerfEventArrayMap(attr));
}

}  // namespace bpfvm::maps::detail
