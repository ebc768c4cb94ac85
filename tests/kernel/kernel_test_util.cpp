// See kernel_test_util.hpp.
#include "kernel_test_util.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "bpfvm/kernel.hpp"
#include "bpfvm/kernel_attach.hpp"


namespace bpfvm::ktest {

std::string kernel_unavailable() {
#ifndef BPFVM_KERNEL_TESTS
    return "this build has BPFVM_KERNEL_TESTS=OFF (the sanitizer and cross builds leave kernel tests to Release)";
#else
    const kernel::Probe probe = kernel::probe();
    return probe.usable ? "" : "bpf() not usable: " + probe.reason;
#endif
}

std::string tracefs_unavailable() {
    auto root = kernel::tracefs_root();
    return root ? "" : "tracefs not usable: " + root.error().message;
}

std::string unique_prefix() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string name = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "none";
    char buf[16];
    std::snprintf(buf, sizeof(buf), "k%05x_", static_cast<unsigned>(std::hash<std::string>{}(name) & 0xfffff));
    return buf;
}

std::vector<std::string> programs_named(const std::string& prefix) {
    std::vector<std::string> out;
    auto programs = kernel::list_programs();
    if (!programs) return out;
    for (const auto& p : *programs)
        if (p.name.rfind(prefix, 0) == 0) out.push_back(p.name + " (id " + std::to_string(p.id) + ")");
    return out;
}

void expect_nothing_left(const std::string& prefix) {
    if (!kernel_unavailable().empty()) return;
    std::vector<std::string> left;
    for (int i = 0; i < 50; ++i) {
        left = programs_named(prefix);
        if (left.empty()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string list;
    for (const auto& l : left) list += " " + l;
    ADD_FAILURE() << "programs of this test are still loaded in the kernel 5 s after it ended:" << list;
}

std::string example(const std::string& name) { return std::string(BPFVM_EXAMPLES_BUILD_DIR) + "/" + name + ".bpf.o"; }
std::string tool(const std::string& name) { return std::string(BPFVM_TOOLS_BUILD_DIR) + "/" + name + ".bpf.o"; }
std::string fixture(const std::string& name) { return std::string(BPFVM_FIXTURES_DIR) + "/" + name + ".bpf.o"; }

namespace {

// A fresh file /tmp/bpfvm-test-XXXXXX.<what>; the caller removes it.
std::string temp_path(const char* what) {
    std::string path = std::string("/tmp/bpfvm-test-XXXXXX.") + what;
    const int fd = ::mkstemps(path.data(), static_cast<int>(std::strlen(what)) + 1);
    if (fd >= 0) ::close(fd);
    return path;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
}

/// waitpid with a deadline; SIGKILL after it.
int wait_for(pid_t pid, int timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    int status = 0;
    while (true) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) return -1;
        if (std::chrono::steady_clock::now() > end) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_s) {
    Background child(argv);
    return child.wait(timeout_s);
}

ProcessResult run_bpfvm(const std::vector<std::string>& args, int timeout_s) {
    std::vector<std::string> argv = {BPFVM_CLI};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, timeout_s);
}

Background::Background(const std::vector<std::string>& argv)
    : out_path_(temp_path("out")), err_path_(temp_path("err")) {
    pid_ = spawn(argv, out_path_, err_path_);
}

Background::~Background() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    std::remove(out_path_.c_str());
    std::remove(err_path_.c_str());
}

ProcessResult Background::collect(int timeout_s) {
    ProcessResult r;
    r.exit_code = wait_for(pid_, timeout_s);
    pid_ = -1;
    r.out = slurp(out_path_);
    r.err = slurp(err_path_);
    return r;
}

ProcessResult Background::stop(int timeout_s) {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    return collect(timeout_s);
}

ProcessResult Background::wait(int timeout_s) { return collect(timeout_s); }

std::string Background::output() const { return slurp(out_path_); }

bool Background::running() const {
    if (pid_ <= 0) return false;
    siginfo_t info{};
    // WNOWAIT: look without reaping, so that wait()/stop() still collect the exit status.
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

}  // namespace bpfvm::ktest
