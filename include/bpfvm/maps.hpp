// Userspace eBPF maps with the kernel's semantics: the same update flags, the same errno-style
// return codes as the kernel helpers, max_entries enforced, and lookups that return pointers into
// value storage that stays at a stable address while the map exists.
//
// Two faces per map:
//  - the program side (`*_elem`, used by the helpers in helpers.hpp): raw pointers, returns 0 or a
//    negative errno exactly like the kernel helper would;
//  - the caller side (lookup/update/erase/next_key), like the bpf() syscall commands: values are
//    copied, per-CPU maps exchange all CPUs at once, sizes are checked and errors are Status.
//
// The program-side handle of a map (what an lddw map reference evaluates to, and what r1 holds for
// map helpers) is the address of its `Map` object.
//
// Thread safety: every method may be called concurrently from several threads. Per-CPU maps use
// the slot of the calling thread's CPU id (current_cpu()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/facts.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::maps {

// Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
inline constexpr uint64_t kAny = 0;
inline constexpr uint64_t kNoExist = 1;
inline constexpr uint64_t kExist = 2;
inline constexpr uint64_t kLock = 4;

// Map creation flags (BPF_F_*): facts.hpp, where the verifier reads them too.

// Ring buffer flags and query selectors (BPF_RB_*), perf_event_output index flags.
inline constexpr uint64_t kRbNoWakeup = 1;
inline constexpr uint64_t kRbForceWakeup = 2;
inline constexpr uint64_t kRbAvailData = 0;
inline constexpr uint64_t kRbRingSize = 1;
inline constexpr uint64_t kRbConsPos = 2;
inline constexpr uint64_t kRbProdPos = 3;
inline constexpr uint64_t kFIndexMask = 0xffffffffULL;
inline constexpr uint64_t kFCurrentCpu = kFIndexMask;

/// The kernel's internal ENOTSUPP (524), returned like the kernel for operations a map type lacks.
inline constexpr long kENotSupp = 524;

/// Parameters of a map, as in the BPF_MAP_CREATE command.
struct MapAttr {
    MapType type = MapType::Unspec;
    uint32_t key_size = 0;
    uint32_t value_size = 0;   // prog_array and map-in-map: 4 (the kernel's fd size) or 8
    uint32_t max_entries = 0;  // ringbuf: data bytes; perf_event_array: 0 means one slot per CPU
    uint32_t flags = 0;        // kF* creation flags
    uint64_t map_extra = 0;    // bloom filter: number of hash functions in bits 0..3 (0 means 5)
    std::string name;          // used in error messages
    std::shared_ptr<const MapAttr> inner;  // map-in-map: template every inner map must match
    uint32_t num_cpus = 0;     // per-CPU maps and perf_event_array: CPU slots; 0 means num_cpus()
};

/// Default number of CPU slots for per-CPU maps (std::thread::hardware_concurrency() until set).
uint32_t num_cpus();
/// Changes the default for maps created afterwards; 0 restores hardware_concurrency().
void set_num_cpus(uint32_t n);
/// The calling thread's CPU id. Each thread gets the next id round-robin on first use; per-CPU
/// maps use slot `current_cpu() % map_cpus`.
uint32_t current_cpu();
/// Pins the calling thread to CPU id `cpu` (what bpf_get_smp_processor_id returns).
void set_current_cpu(uint32_t cpu);

class RingBuf;
class PerfEventArray;

/// A map. Created by create_map(); never copied or moved (programs hold its address).
class Map {
public:
    explicit Map(MapAttr attr);
    virtual ~Map();
    Map(const Map&) = delete;
    Map& operator=(const Map&) = delete;

    const MapAttr& attr() const { return attr_; }
    MapType type() const { return attr_.type; }
    uint32_t key_size() const { return attr_.key_size; }
    uint32_t value_size() const { return attr_.value_size; }
    uint32_t max_entries() const { return attr_.max_entries; }
    const std::string& name() const { return attr_.name; }

    // ---- Program side (kernel helper semantics). Keys and values are exactly key_size and
    // value_size bytes; the caller (a helper) has checked the memory.

    /// bpf_map_lookup_elem: the element's value (this CPU's slot for per-CPU maps), stable while the
    /// element exists; map-in-map: the inner Map*; nullptr if absent or not supported (prog_array).
    virtual void* lookup_elem(const void* key) = 0;
    /// bpf_map_update_elem: 0, -ENOENT, -EEXIST, -E2BIG (full or index out of range; lpm_trie:
    /// -ENOSPC when full), -EINVAL (bad flags; BPF_F_LOCK, since no spin lock position is known).
    /// LRU maps evict instead of failing (second-chance approximation of LRU, like the kernel's).
    /// Per-CPU maps write this CPU's slot. Map-in-map and prog_array: `value` points to a pointer.
    virtual long update_elem(const void* key, const void* value, uint64_t flags) = 0;
    /// bpf_map_delete_elem: 0, -ENOENT, or -EINVAL (arrays).
    virtual long delete_elem(const void* key) = 0;
    /// bpf_map_push_elem (queue, stack, bloom filter); -EINVAL elsewhere.
    virtual long push_elem(const void* value, uint64_t flags);
    /// bpf_map_pop_elem (queue, stack): copies and removes; -ENOENT when empty.
    virtual long pop_elem(void* value);
    /// bpf_map_peek_elem (queue, stack: copy without removing; bloom filter: 0 if maybe present).
    virtual long peek_elem(void* value);
    /// bpf_map_lookup_percpu_elem: CPU `cpu`'s slot of a per-CPU map; nullptr otherwise.
    virtual void* lookup_percpu_elem(const void* key, uint32_t cpu);
    /// bpf_for_each_map_elem: calls fn(key, value) for every element (values as lookup_elem
    /// returns them) until fn returns non-zero; returns the number of calls.
    virtual long for_each_elem(const std::function<uint64_t(const void* key, void* value)>& fn);

    /// True when lookup_elem returns value memory the program may read (and write unless
    /// BPF_F_RDONLY_PROG); false for map-in-map and maps without lookup.
    virtual bool lookup_returns_memory() const { return true; }
    /// Size of the memory lookup_elem returns (value_size; one CPU's slot for per-CPU maps).
    uint32_t elem_value_size() const { return attr_.value_size; }

    // ---- Caller side (bpf() syscall semantics), raw: 0 or a negative errno.

    /// Copies the value (per-CPU: round_up(value_size, 8) bytes per CPU, CPU 0 first;
    /// map-in-map and prog_array: the stored pointer as 8 bytes) into `value`.
    virtual long sys_lookup(const void* key, void* value);
    /// Same layout as sys_lookup; per-CPU maps set every CPU. Queue/stack: push (key ignored).
    virtual long sys_update(const void* key, const void* value, uint64_t flags);
    virtual long sys_delete(const void* key);
    /// BPF_MAP_LOOKUP_AND_DELETE_ELEM: queue/stack pop, hash lookup then delete.
    virtual long sys_lookup_and_delete(const void* key, void* value);
    /// BPF_MAP_GET_NEXT_KEY: key null or absent gives the first key; -ENOENT after the last.
    virtual long get_next_key(const void* key, void* next_key) = 0;

    /// Bytes of a caller-side value buffer (see sys_lookup).
    uint32_t sys_value_size() const;
    /// CPU slots of a per-CPU map (1 otherwise).
    uint32_t cpus() const { return cpus_; }
    bool is_percpu() const;

    // ---- Caller side, checked: sizes are verified and errors carry the map name.

    Status lookup(std::span<const uint8_t> key, std::span<uint8_t> value);
    Status update(std::span<const uint8_t> key, std::span<const uint8_t> value, uint64_t flags = kAny);
    Status erase(std::span<const uint8_t> key);
    /// Writes the key after `key` (empty span: the first key) into `next`; kNotFound at the end.
    Status next_key(std::span<const uint8_t> key, std::span<uint8_t> next);
    /// All keys, in get_next_key order.
    std::vector<std::vector<uint8_t>> keys();

    /// Ring buffer or perf event array view, else nullptr.
    virtual RingBuf* as_ringbuf() { return nullptr; }
    virtual PerfEventArray* as_perf_event_array() { return nullptr; }

protected:
    MapAttr attr_;
    uint32_t cpus_ = 1;
};

/// BPF_MAP_TYPE_RINGBUF: max_entries is the data size (a power of two, multiple of the 4096-byte
/// page). Records are 8-byte aligned, with an 8-byte header as in the kernel.
class RingBuf : public Map {
public:
    using Map::Map;
    /// bpf_ringbuf_reserve: writable memory of `size` bytes, or nullptr (no room, bad flags).
    virtual void* reserve(uint64_t size, uint64_t flags) = 0;
    /// bpf_ringbuf_submit / discard of a pointer returned by reserve(); anything else is ignored and
    /// returns false.
    virtual bool submit(void* data, uint64_t flags) = 0;
    virtual bool discard(void* data, uint64_t flags) = 0;
    /// bpf_ringbuf_output: reserve + copy + submit; 0, -EAGAIN when full, -EINVAL.
    virtual long output(const void* data, uint64_t size, uint64_t flags) = 0;
    /// bpf_ringbuf_query (kRbAvailData, kRbRingSize, kRbConsPos, kRbProdPos); 0 for others.
    virtual uint64_t query(uint64_t flags) = 0;
    /// Consumer: calls fn for each submitted record in order (discarded ones are skipped), stopping
    /// at the first record still reserved. Returns the number of records passed to fn.
    virtual size_t consume(const std::function<void(std::span<const uint8_t>)>& fn) = 0;
    /// Consumer: the submitted records, copied, in order.
    std::vector<std::vector<uint8_t>> drain();
};

/// One bpf_perf_event_output record.
struct PerfRecord {
    uint32_t cpu = 0;  // the perf_event_array index the record was written to
    std::vector<uint8_t> data;
};

/// BPF_MAP_TYPE_PERF_EVENT_ARRAY: records are kept, per index ("CPU"), until drained. At most
/// kMaxPending records are kept per index; later ones are counted as lost.
class PerfEventArray : public Map {
public:
    using Map::Map;
    static constexpr size_t kMaxPending = 1 << 16;
    /// bpf_perf_event_output: index = flags & kFIndexMask, or this CPU for kFCurrentCpu.
    /// 0, -E2BIG (index >= max_entries), -EINVAL (other flag bits), -ENOSPC (record dropped).
    virtual long output(uint64_t flags, const void* data, uint64_t size) = 0;
    /// Takes every pending record, ordered by index then arrival.
    virtual std::vector<PerfRecord> drain() = 0;
    /// Records dropped because an index had kMaxPending records.
    virtual uint64_t lost() const = 0;
};

/// Creates a map. Errors (kInvalidArgument, kUnsupported) name the map and the offending field,
/// following the kernel's checks: e.g. array key_size must be 4, lpm_trie needs BPF_F_NO_PREALLOC,
/// ringbuf size must be a power of two multiple of 4096, queue/stack/bloom key_size must be 0.
Result<std::unique_ptr<Map>> create_map(const MapAttr& attr);

/// Bytes a map of these attributes may hold at its fullest (arrays and rings at creation, hash
/// maps and tries counted at max_entries as the kernel accounts them): what the map-memory limit
/// (limits.hpp kDefaultMapMemory) is checked against before the map is created.
uint64_t memory_estimate(const MapAttr& attr);

/// Checked-mode guard: true if `handle` is the address of a live Map (helpers verify r1 with it).
bool is_live_map(const void* handle);

/// The negative errno of a kernel return code as a Status (0 is success).
Status errno_status(long rc, const Map& map, const char* what);

}  // namespace bpfvm::maps
