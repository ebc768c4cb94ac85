// The /metrics endpoint, served by cpp-httplib (Debian's libcpp-httplib-dev) from its own thread.
// Each scrape calls the render function, which reads the maps at that moment.
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "bpfvm/metrics.hpp"

#ifdef BPFVM_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace bpfvm::observe {

#ifdef BPFVM_HAVE_HTTPLIB

struct MetricsServer::Impl {
    httplib::Server server;
    std::thread thread;
    uint16_t port = 0;
};

namespace {

/// "127.0.0.1:9435" or "[::1]:9435" -> host, port.
Result<std::pair<std::string, uint16_t>> split_listen(const std::string& listen) {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
        return make_error(ErrorCode::kInvalidArgument,
                          "--listen '" + listen + "': expected HOST:PORT, e.g. 127.0.0.1:9435");
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port_text = listen.substr(colon + 1);
    unsigned port = 0;
    auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() || port > 65535)
        return make_error(ErrorCode::kInvalidArgument,
                          "--listen '" + listen + "': '" + port_text + "' is not a port number");
    return std::pair<std::string, uint16_t>{host, static_cast<uint16_t>(port)};
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& listen, Render render) {
    auto address = split_listen(listen);
    if (!address) return address.error();
    auto impl = std::make_unique<Impl>();
    impl->server.Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
        auto text = render();
        if (!text) {
            res.status = 500;
            res.set_content("error reading the maps: " + text.error().to_string() + "\n", "text/plain; charset=utf-8");
            return;
        }
        res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
    });
    impl->server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("bpfvm serve-metrics: scrape /metrics\n", "text/plain; charset=utf-8");
    });
    // httplib sets SO_REUSEPORT by default, which would let a second server share a port in use:
    // SO_REUSEADDR alone still reports EADDRINUSE while another socket listens there.
    impl->server.set_socket_options([](int sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    errno = 0;
    const auto& [host, port] = *address;
    bool bound = false;
    if (port == 0) {
        const int got = impl->server.bind_to_any_port(host);
        bound = got > 0;
        impl->port = bound ? static_cast<uint16_t>(got) : 0;
    } else {
        bound = impl->server.bind_to_port(host, port);
        impl->port = port;
    }
    if (!bound) {
        const int err = errno;
        std::string reason = err != 0 ? std::string(std::strerror(err)) : std::string("the address cannot be bound");
        if (err == EADDRINUSE) reason += " (another process listens on port " + std::to_string(port) + ")";
        return make_error(ErrorCode::kIo, "cannot listen on " + listen + ": " + reason);
    }
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

uint16_t MetricsServer::port() const { return impl_->port; }

void MetricsServer::stop() {
    if (!impl_) return;
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

MetricsServer::~MetricsServer() { stop(); }

#else

struct MetricsServer::Impl {};

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string&, Render) {
    return make_error(ErrorCode::kUnsupported,
                      "bpfvm was built without cpp-httplib (apt-get install libcpp-httplib-dev, then rebuild)");
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
uint16_t MetricsServer::port() const { return 0; }
void MetricsServer::stop() {}
MetricsServer::~MetricsServer() = default;

#endif

}  // namespace bpfvm::observe
