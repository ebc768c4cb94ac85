// Perf event array readers. Each online cpu gets a software perf event of type BPF_OUTPUT whose
// ring (one metadata page, then 2^n data pages) is mmap'ed; its fd goes into the array's slot for
// that cpu, where bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, ...) finds it. Records are
// perf_event_header + (PERF_RECORD_SAMPLE) u32 size + raw bytes, or (PERF_RECORD_LOST) a count.
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpfvm/kernel_attach.hpp"
#include "bpfvm/kernel_events.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {

struct PerfBuffer::CpuRing {
    uint32_t cpu = 0;
    Fd event;
    uint8_t* base = nullptr;  // metadata page, then the data pages
    size_t length = 0;
    size_t data_size = 0;
    std::vector<uint8_t> scratch;  // a record that wraps around the end is copied here

    ~CpuRing() {
        if (base != nullptr) ::munmap(base, length);
    }
};

PerfBuffer::PerfBuffer(PerfBuffer&&) noexcept = default;
PerfBuffer& PerfBuffer::operator=(PerfBuffer&&) noexcept = default;
PerfBuffer::~PerfBuffer() = default;

Result<PerfBuffer> PerfBuffer::open(int map_fd, uint32_t max_entries, uint32_t pages) {
    if (pages == 0 || (pages & (pages - 1)) != 0)
        return make_error(ErrorCode::kInvalidArgument, "perf buffer pages must be a power of two");
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    PerfBuffer pb;
    for (uint32_t cpu : online_cpus()) {
        if (cpu >= max_entries) break;  // the array has no slot for it
        perf_event_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.size = sizeof(attr);
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_BPF_OUTPUT;
        attr.sample_type = PERF_SAMPLE_RAW;
        attr.sample_period = 1;
        attr.wakeup_events = 1;
        long fd = detail::perf_event_open(&attr, -1, static_cast<int>(cpu), -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0)
            return detail::syscall_error("perf_event_open", "(bpf output) on cpu " + std::to_string(cpu), errno);
        auto ring = std::make_unique<CpuRing>();
        ring->cpu = cpu;
        ring->event = Fd(static_cast<int>(fd));
        ring->data_size = page * pages;
        ring->length = page + ring->data_size;
        void* base = ::mmap(nullptr, ring->length, PROT_READ | PROT_WRITE, MAP_SHARED, ring->event.get(), 0);
        if (base == MAP_FAILED)
            return detail::syscall_error("mmap", "of the perf ring of cpu " + std::to_string(cpu), errno);
        ring->base = static_cast<uint8_t*>(base);
        const uint32_t key = cpu;
        const int value = ring->event.get();
        BPFVM_TRY(update_elem(map_fd, std::span(reinterpret_cast<const uint8_t*>(&key), 4),
                              std::span(reinterpret_cast<const uint8_t*>(&value), 4)));
        if (::ioctl(ring->event.get(), PERF_EVENT_IOC_ENABLE, 0) < 0)
            return detail::syscall_error("PERF_EVENT_IOC_ENABLE", "(bpf output)", errno);
        pb.rings_.push_back(std::move(ring));
    }
    if (pb.rings_.empty()) return make_error(ErrorCode::kIo, "no online cpu for the perf event array");
    return pb;
}

std::vector<int> PerfBuffer::fds() const {
    std::vector<int> out;
    for (const auto& r : rings_) out.push_back(r->event.get());
    return out;
}

size_t PerfBuffer::consume(const std::function<void(uint32_t cpu, std::span<const uint8_t>)>& sink) {
    size_t delivered = 0;
    for (auto& ring : rings_) {
        auto* meta = reinterpret_cast<perf_event_mmap_page*>(ring->base);
        const uint8_t* data = ring->base + (ring->length - ring->data_size);
        const uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
        uint64_t tail = meta->data_tail;
        while (tail + sizeof(perf_event_header) <= head) {
            // Copy the record out when it wraps around the end of the data area.
            perf_event_header hdr;
            const size_t at = tail % ring->data_size;
            auto copy_out = [&](size_t offset, void* dst, size_t n) {
                const size_t pos = (at + offset) % ring->data_size;
                const size_t first = std::min(n, ring->data_size - pos);
                std::memcpy(dst, data + pos, first);
                std::memcpy(static_cast<uint8_t*>(dst) + first, data, n - first);
            };
            copy_out(0, &hdr, sizeof(hdr));
            if (hdr.size < sizeof(hdr) || tail + hdr.size > head) break;
            if (hdr.type == PERF_RECORD_SAMPLE && hdr.size >= sizeof(hdr) + 4) {
                uint32_t size = 0;
                copy_out(sizeof(hdr), &size, 4);
                size = std::min<uint32_t>(size, hdr.size - sizeof(hdr) - 4);
                ring->scratch.resize(size);
                copy_out(sizeof(hdr) + 4, ring->scratch.data(), size);
                sink(ring->cpu, ring->scratch);
                ++delivered;
            } else if (hdr.type == PERF_RECORD_LOST && hdr.size >= sizeof(hdr) + 16) {
                uint64_t lost = 0;
                copy_out(sizeof(hdr) + 8, &lost, 8);
                lost_ += lost;
            }
            tail += hdr.size;
        }
        __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
    }
    return delivered;
}

}  // namespace bpfvm::kernel
