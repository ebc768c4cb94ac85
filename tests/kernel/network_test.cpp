// XDP and tc on a real interface: the test makes a veth pair of its own, attaches the xdp_counter
// example (XDP link, driver mode) and the tc_classifier example (tcx ingress link) to one end,
// sends UDP frames into the other end through a packet socket, and checks both programs counted
// them. The pair is deleted afterwards; the links go with the session.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "bpfvm/session.hpp"
#include "kernel_test_util.hpp"

namespace bpfvm::ktest {
namespace {

std::string ip_command() {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

class Network : public KernelTest {
protected:
    void SetUp() override {
        KernelTest::SetUp();
        if (!kernel_unavailable().empty()) return;
        ip_ = ip_command();
        char name[16];
        std::snprintf(name, sizeof(name), "bv%05x", static_cast<unsigned>(::getpid() & 0xfffff));
        a_ = std::string(name) + "a";
        b_ = std::string(name) + "b";
        if (ip_.empty()) {
            why_ = "no `ip` command (iproute2) to create a veth pair";
            return;
        }
        ProcessResult r = run_process({ip_, "link", "add", a_, "type", "veth", "peer", "name", b_});
        if (r.exit_code != 0) {
            why_ = "cannot create a veth pair: " + r.err;
            return;
        }
        created_ = true;
        run_process({ip_, "link", "set", a_, "up"});
        run_process({ip_, "link", "set", b_, "up"});
    }
    void TearDown() override {
        session_.reset();
        if (created_) run_process({ip_, "link", "del", a_});
        KernelTest::TearDown();
    }

    std::string ip_, a_, b_, why_;
    bool created_ = false;
    std::unique_ptr<observe::Session> session_, tc_;
};

std::vector<uint8_t> udp_frame() {
    return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00,                            // ethernet
            0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2,                         // IPv4, UDP
            0x30, 0x39, 0x10, 0x00, 0, 12, 0, 0, 'b', 'p', 'f', 'v'};                                     // UDP to 4096
}

uint64_t slot(const observe::MapSnapshot& m, uint32_t key) {
    for (size_t i = 0; i < m.entries.size(); ++i)
        if (m.integer_key(i) == key) return m.integer_value(i).value_or(0);
    return 0;
}

TEST_F(Network, XdpAndTcxCountFramesArrivingOnAVeth) {
    BPFVM_REQUIRE_KERNEL();
    if (!why_.empty()) GTEST_SKIP() << why_;
    observe::SessionOptions o;
    o.kernel_options.name_prefix = prefix_;
    o.attach_options.interface = a_;
    auto xdp = observe::Session::open(example("xdp_counter"), o);
    ASSERT_TRUE(xdp.has_value()) << xdp.error().to_string();
    EXPECT_EQ((*xdp)->programs()[0].attachment.rfind("xdp on " + a_ + " (", 0), 0u) << (*xdp)->programs()[0].attachment;
    auto tc = observe::Session::open(example("tc_classifier"), o);
    ASSERT_TRUE(tc.has_value()) << tc.error().to_string();
    EXPECT_EQ((*tc)->programs()[0].attachment, "tcx ingress on " + a_);
    session_ = std::move(*xdp);
    tc_ = std::move(*tc);

    const int sock = ::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    ASSERT_GE(sock, 0) << std::strerror(errno);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(::if_nametoindex(b_.c_str()));
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    const auto frame = udp_frame();
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(::sendto(sock, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                  static_cast<ssize_t>(frame.size()));
    ::close(sock);

    uint64_t xdp_udp = 0, tc_packets = 0;
    for (int i = 0; i < 50 && (xdp_udp < 5 || tc_packets < 5); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        auto counts = session_->snapshot("counts");
        ASSERT_TRUE(counts.has_value());
        xdp_udp = slot(*counts, 17);
        auto stats = tc_->snapshot("stats");
        ASSERT_TRUE(stats.has_value());
        tc_packets = slot(*stats, 0);
    }
    EXPECT_GE(xdp_udp, 5u) << "XDP on " << a_ << " should count the 5 UDP frames sent from " << b_;
    EXPECT_GE(tc_packets, 5u) << "tcx ingress on " << a_ << " should see them after XDP passed them";
    tc_.reset();
}

}  // namespace
}  // namespace bpfvm::ktest
