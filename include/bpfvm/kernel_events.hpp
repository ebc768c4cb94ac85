// Event streams from the kernel: BPF ring buffers (mmap'ed consumer/producer pages) and perf event
// arrays (one BPF-output perf event per cpu, each with its mmap'ed ring), read through epoll.
// The records are raw bytes; decoding them (BTF) is the caller's business.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpfvm/kernel.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::kernel {

/// A kernel ring buffer map mapped into this process. Move-only; unmaps on destruction.
class RingBuffer {
public:
    /// Maps the ring buffer `map_fd` whose data area is `size` bytes (its max_entries, a power of
    /// two). Errors: bad size (kInvalidArgument), mmap failures (kIo/kPermission).
    static Result<RingBuffer> open(int map_fd, uint32_t size);

    /// Hands every committed record to `sink`, in production order, and releases them; discarded
    /// records are skipped. Stops at a record still being written (it is read on the next call).
    /// Returns the number of records delivered.
    size_t consume(const std::function<void(std::span<const uint8_t>)>& sink);

    /// The map fd (pollable: readable when records are waiting).
    int fd() const { return fd_; }

    RingBuffer(RingBuffer&&) noexcept;
    RingBuffer& operator=(RingBuffer&&) noexcept;
    RingBuffer(const RingBuffer&) = delete;
    RingBuffer& operator=(const RingBuffer&) = delete;
    ~RingBuffer();

private:
    RingBuffer() = default;
    int fd_ = -1;
    uint32_t size_ = 0;
    uint8_t* consumer_ = nullptr;  // one page: the consumer position (we write it)
    uint8_t* producer_ = nullptr;  // one page of producer position, then the data area twice
    size_t page_ = 0;
};

/// A perf event array map with one BPF-output perf event per online cpu, each with its own mmap'ed
/// ring. The array's slots are filled with the events' fds, so bpf_perf_event_output reaches them.
class PerfBuffer {
public:
    /// Sets up `map_fd` (a perf event array of `max_entries` slots); `pages` per cpu (a power of two).
    static Result<PerfBuffer> open(int map_fd, uint32_t max_entries, uint32_t pages = 8);

    /// Hands every waiting sample to `sink` with its cpu; counts lost-record notices. Returns the
    /// number of samples delivered.
    size_t consume(const std::function<void(uint32_t cpu, std::span<const uint8_t>)>& sink);

    /// Records the kernel dropped because a ring was full.
    uint64_t lost() const { return lost_; }
    /// The per-cpu perf event fds (pollable).
    std::vector<int> fds() const;

    PerfBuffer(PerfBuffer&&) noexcept;
    PerfBuffer& operator=(PerfBuffer&&) noexcept;
    PerfBuffer(const PerfBuffer&) = delete;
    PerfBuffer& operator=(const PerfBuffer&) = delete;
    ~PerfBuffer();

private:
    struct CpuRing;
    PerfBuffer() = default;
    std::vector<std::unique_ptr<CpuRing>> rings_;
    uint64_t lost_ = 0;
};

/// One record of an EventStream.
struct EventRecord {
    std::string map;   // the ring buffer or perf event array map
    uint32_t cpu = 0;  // perf event arrays: the cpu that produced it; 0 for ring buffers
    std::span<const uint8_t> data;  // valid during the sink call only
};

/// Several ring buffers and perf buffers read together through one epoll set.
class EventStream {
public:
    EventStream();
    EventStream(EventStream&&) noexcept;
    EventStream& operator=(EventStream&&) noexcept;
    ~EventStream();

    /// Adds ring buffer map `map` (fd, data size).
    Status add_ring_buffer(const std::string& map, int map_fd, uint32_t size);
    /// Adds perf event array map `map` (fd, max_entries).
    Status add_perf_buffer(const std::string& map, int map_fd, uint32_t max_entries);
    /// True when nothing was added.
    bool empty() const;

    /// Waits up to `timeout_ms` (0: no wait) for records, then delivers every waiting record of
    /// every buffer to `sink`. A signal ends the wait early (0 records, no error). Returns the
    /// number of records delivered.
    Result<size_t> poll(int timeout_ms, const std::function<void(const EventRecord&)>& sink);
    /// Delivers what is waiting without sleeping (the final drain before exit).
    size_t drain(const std::function<void(const EventRecord&)>& sink);
    /// Records lost in perf buffers so far.
    uint64_t lost() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace bpfvm::kernel
