// EventStream: ring buffers and perf buffers behind one epoll set. A wakeup says "some buffer has
// data"; every buffer is then drained, which keeps the order within each buffer and costs little
// (an empty buffer is two atomic loads).
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <variant>

#include "bpfvm/kernel_events.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {

struct EventStream::Impl {
    struct Source {
        std::string map;
        std::variant<RingBuffer, PerfBuffer> buffer;
    };
    Fd epoll;
    std::vector<Source> sources;
};

EventStream::EventStream() : impl_(std::make_unique<Impl>()) {}
EventStream::EventStream(EventStream&&) noexcept = default;
EventStream& EventStream::operator=(EventStream&&) noexcept = default;
EventStream::~EventStream() = default;

namespace {

Status watch(Fd& epoll, int fd) {
    if (!epoll.valid()) {
        epoll = Fd(::epoll_create1(EPOLL_CLOEXEC));
        if (!epoll.valid()) return detail::syscall_error("epoll_create1", "", errno);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return detail::syscall_error("epoll_ctl", "", errno);
    return {};
}

}  // namespace

Status EventStream::add_ring_buffer(const std::string& map, int map_fd, uint32_t size) {
    auto rb = RingBuffer::open(map_fd, size);
    if (!rb) {
        rb.error().message = "ring buffer '" + map + "': " + rb.error().message;
        return rb.error();
    }
    BPFVM_TRY(watch(impl_->epoll, map_fd));
    impl_->sources.push_back({map, std::move(*rb)});
    return {};
}

Status EventStream::add_perf_buffer(const std::string& map, int map_fd, uint32_t max_entries) {
    auto pb = PerfBuffer::open(map_fd, max_entries);
    if (!pb) {
        pb.error().message = "perf event array '" + map + "': " + pb.error().message;
        return pb.error();
    }
    for (int fd : pb->fds()) BPFVM_TRY(watch(impl_->epoll, fd));
    impl_->sources.push_back({map, std::move(*pb)});
    return {};
}

bool EventStream::empty() const { return impl_->sources.empty(); }

size_t EventStream::drain(const std::function<void(const EventRecord&)>& sink) {
    size_t delivered = 0;
    for (auto& source : impl_->sources) {
        EventRecord record;
        record.map = source.map;
        if (auto* rb = std::get_if<RingBuffer>(&source.buffer)) {
            delivered += rb->consume([&](std::span<const uint8_t> data) {
                record.data = data;
                sink(record);
            });
        } else {
            delivered += std::get<PerfBuffer>(source.buffer).consume([&](uint32_t cpu, std::span<const uint8_t> data) {
                record.cpu = cpu;
                record.data = data;
                sink(record);
            });
        }
    }
    return delivered;
}

Result<size_t> EventStream::poll(int timeout_ms, const std::function<void(const EventRecord&)>& sink) {
    if (impl_->sources.empty()) {
        if (timeout_ms > 0) ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);  // nothing to watch: just wait
        return size_t{0};
    }
    epoll_event events[16];
    const int n = ::epoll_wait(impl_->epoll.get(), events, 16, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return size_t{0};
        return detail::syscall_error("epoll_wait", "", errno);
    }
    return drain(sink);
}

uint64_t EventStream::lost() const {
    uint64_t lost = 0;
    for (const auto& source : impl_->sources)
        if (const auto* pb = std::get_if<PerfBuffer>(&source.buffer)) lost += pb->lost();
    return lost;
}

}  // namespace bpfvm::kernel
