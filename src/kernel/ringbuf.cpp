// Reading a kernel ring buffer map from user space. The map's fd is mmap-able: page 0 holds the
// consumer position (writable by us), page 1 the producer position, and from page 2 on the data
// area is mapped twice in a row, so a record that wraps around is still contiguous in memory.
// Each record starts with an 8-byte header: a u32 length whose bit 31 means "still being written"
// and bit 30 "discarded", then a u32 page offset; records are 8-byte aligned.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "bpfvm/kernel.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {
namespace {

constexpr uint32_t kBusyBit = 1u << 31;
constexpr uint32_t kDiscardBit = 1u << 30;
constexpr uint32_t kHeaderSize = 8;

/// An mmap'ed range, unmapped on destruction.
class Mapping {
public:
    Mapping(void* addr, size_t length) : addr_(addr), length_(length) {}
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() {
        if (addr_ != MAP_FAILED) ::munmap(addr_, length_);
    }
    bool ok() const { return addr_ != MAP_FAILED; }
    uint8_t* bytes() const { return static_cast<uint8_t*>(addr_); }

private:
    void* addr_;
    size_t length_;
};

}  // namespace

Result<std::vector<std::vector<uint8_t>>> drain_ringbuf(int map_fd, uint32_t size) {
    if (size == 0 || (size & (size - 1)) != 0)
        return make_error(ErrorCode::kInvalidArgument, "ring buffer size " + std::to_string(size) +
                                                           " is not a power of two");
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    Mapping consumer(::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0), page);
    if (!consumer.ok()) return detail::syscall_error("mmap", "of the ring buffer consumer page", errno);
    const size_t data_length = page + 2 * static_cast<size_t>(size);
    Mapping producer(::mmap(nullptr, data_length, PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page)),
                     data_length);
    if (!producer.ok()) return detail::syscall_error("mmap", "of the ring buffer data pages", errno);

    // The kernel publishes positions with release stores; read them with acquire loads.
    auto* consumer_pos = reinterpret_cast<uint64_t*>(consumer.bytes());
    const auto* producer_pos = reinterpret_cast<const uint64_t*>(producer.bytes());
    const uint8_t* data = producer.bytes() + page;
    const uint64_t mask = size - 1;

    std::vector<std::vector<uint8_t>> records;
    uint64_t cons = __atomic_load_n(consumer_pos, __ATOMIC_ACQUIRE);
    const uint64_t prod = __atomic_load_n(producer_pos, __ATOMIC_ACQUIRE);
    while (cons < prod) {
        const uint8_t* header = data + (cons & mask);
        const uint32_t len_word = __atomic_load_n(reinterpret_cast<const uint32_t*>(header), __ATOMIC_ACQUIRE);
        if (len_word & kBusyBit)
            return make_error(ErrorCode::kRuntime, "ring buffer record at position " + std::to_string(cons) +
                                                       " is still being written");
        const uint32_t len = len_word & ~(kBusyBit | kDiscardBit);
        if ((len_word & kDiscardBit) == 0) records.emplace_back(header + kHeaderSize, header + kHeaderSize + len);
        cons += (static_cast<uint64_t>(len) + kHeaderSize + 7) & ~uint64_t{7};
    }
    __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
    return records;
}

}  // namespace bpfvm::kernel
