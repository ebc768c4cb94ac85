// Reading a kernel ring buffer map from user space. The map's fd is mmap-able: page 0 holds the
// consumer position (writable by us), page 1 the producer position, and from page 2 on the data
// area is mapped twice in a row, so a record that wraps around is still contiguous in memory.
// Each record starts with an 8-byte header: a u32 length whose bit 31 means "still being written"
// and bit 30 "discarded", then a u32 page offset; records are 8-byte aligned.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "bpfvm/kernel_events.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {
namespace {

constexpr uint32_t kBusyBit = 1u << 31;
constexpr uint32_t kDiscardBit = 1u << 30;
constexpr uint32_t kHeaderSize = 8;

}  // namespace

Result<RingBuffer> RingBuffer::open(int map_fd, uint32_t size) {
    if (size == 0 || (size & (size - 1)) != 0)
        return make_error(ErrorCode::kInvalidArgument, "ring buffer size " + std::to_string(size) +
                                                           " is not a power of two");
    RingBuffer rb;
    rb.fd_ = map_fd;
    rb.size_ = size;
    rb.page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    void* consumer = ::mmap(nullptr, rb.page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (consumer == MAP_FAILED) return detail::syscall_error("mmap", "of the ring buffer consumer page", errno);
    rb.consumer_ = static_cast<uint8_t*>(consumer);
    void* producer = ::mmap(nullptr, rb.page_ + 2 * size_t{size}, PROT_READ, MAP_SHARED, map_fd,
                            static_cast<off_t>(rb.page_));
    if (producer == MAP_FAILED) return detail::syscall_error("mmap", "of the ring buffer data pages", errno);
    rb.producer_ = static_cast<uint8_t*>(producer);
    return rb;
}

RingBuffer::RingBuffer(RingBuffer&& other) noexcept { *this = std::move(other); }

RingBuffer& RingBuffer::operator=(RingBuffer&& other) noexcept {
    if (this != &other) {
        this->~RingBuffer();
        fd_ = std::exchange(other.fd_, -1);
        size_ = std::exchange(other.size_, 0);
        consumer_ = std::exchange(other.consumer_, nullptr);
        producer_ = std::exchange(other.producer_, nullptr);
        page_ = other.page_;
    }
    return *this;
}

RingBuffer::~RingBuffer() {
    if (consumer_ != nullptr) ::munmap(consumer_, page_);
    if (producer_ != nullptr) ::munmap(producer_, page_ + 2 * size_t{size_});
    consumer_ = producer_ = nullptr;
}

size_t RingBuffer::consume(const std::function<void(std::span<const uint8_t>)>& sink) {
    // The kernel publishes positions with release stores; read them with acquire loads.
    auto* consumer_pos = reinterpret_cast<uint64_t*>(consumer_);
    const auto* producer_pos = reinterpret_cast<const uint64_t*>(producer_);
    const uint8_t* data = producer_ + page_;
    const uint64_t mask = size_ - 1;
    size_t delivered = 0;
    uint64_t cons = __atomic_load_n(consumer_pos, __ATOMIC_ACQUIRE);
    while (true) {
        const uint64_t prod = __atomic_load_n(producer_pos, __ATOMIC_ACQUIRE);
        if (cons >= prod) break;
        const uint8_t* header = data + (cons & mask);
        const uint32_t len_word = __atomic_load_n(reinterpret_cast<const uint32_t*>(header), __ATOMIC_ACQUIRE);
        if (len_word & kBusyBit) break;  // reserved, not committed yet
        const uint32_t len = len_word & ~(kBusyBit | kDiscardBit);
        if ((len_word & kDiscardBit) == 0) {
            sink(std::span<const uint8_t>(header + kHeaderSize, len));
            ++delivered;
        }
        cons += (static_cast<uint64_t>(len) + kHeaderSize + 7) & ~uint64_t{7};
        __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
    }
    return delivered;
}

Result<std::vector<std::vector<uint8_t>>> drain_ringbuf(int map_fd, uint32_t size) {
    auto rb = RingBuffer::open(map_fd, size);
    if (!rb) return rb.error();
    std::vector<std::vector<uint8_t>> records;
    rb->consume([&](std::span<const uint8_t> r) { records.emplace_back(r.begin(), r.end()); });
    return records;
}

}  // namespace bpfvm::kernel
