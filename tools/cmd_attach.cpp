// `bpfvm attach OBJ`: loads an object and attaches every program (or the --program ones) where
// its section says; holds them until Ctrl-C, SIGTERM or --duration, then detaches. With --pin DIR
// the links, programs and maps are pinned and stay attached after bpfvm exits.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "command.hpp"
#include "kernel_common.hpp"

namespace bpfvm::cli {
namespace {

int run_attach(const KernelCommandOptions& o, const std::string& pin_dir) {
    if (!require_bpf("attach")) return 2;
    auto options = session_options(o, /*attach=*/true);
    if (!options) return fail("attach", options.error().message);
    install_stop_handlers();
    auto session = observe::Session::open(o.object, *options);
    if (!session) return fail("attach", session.error().to_string(), exit_code_for(session.error()));
    for (const auto& p : (*session)->programs())
        std::printf("attached %s: %s (program id %u)\n", p.name.c_str(), p.attachment.c_str(), p.id);
    if (!pin_dir.empty()) {
        if (auto st = (*session)->pin(pin_dir); !st) return fail("attach", st.error().to_string());
        std::printf(
            "pinned under %s (links/, programs/, maps/): the programs stay attached; detach with: bpfvm unload %s\n",
            pin_dir.c_str(), pin_dir.c_str());
        return 0;
    }
    std::printf("Attached %zu program%s. Hit Ctrl-C to detach.\n", (*session)->programs().size(),
                (*session)->programs().size() == 1 ? "" : "s");
    std::fflush(stdout);
    run_until_stopped(o.duration, [](int timeout_ms) {
        ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);
        return true;
    });
    session->reset();  // closes the links: detached
    std::printf("detached\n");
    return 0;
}

const CommandRegistrar kRegisterAttach(71, [](CLI::App& app, int& exit_code) {
    auto options = std::make_shared<KernelCommandOptions>();
    auto pin = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("attach", "Load an object and attach its programs to the running kernel");
    cmd->footer(
        "Each program attaches where its section says (libbpf conventions):\n"
        "  tracepoint/CAT/NAME, tp/CAT/NAME   tracepoint (tracefs is mounted if needed)\n"
        "  raw_tp/NAME, tp_btf/NAME           raw / BTF tracepoint\n"
        "  fentry/FUNC, fexit/FUNC, lsm/HOOK  BPF trampolines (kernel BTF)\n"
        "  kprobe/FUNC[+OFF], kretprobe/FUNC  kprobes (a clear error where the kernel has none)\n"
        "  uprobe/BIN:SYM[+OFF], uretprobe/.. uprobes (or --uprobe BIN:SYM for a bare 'uprobe' section)\n"
        "  perf_event                         cpu-clock sampling on every cpu (--sample-freq)\n"
        "  xdp                                --interface, driver mode with a generic fallback\n"
        "  tc/ingress, tc/egress, tcx/...     --interface, through tcx links\n"
        "  cgroup_skb/ingress, cgroup/...     --cgroup DIR\n"
        "BPF links are used wherever the kernel has them. Ctrl-C or SIGTERM detaches everything;\n"
        "nothing stays attached after exit unless --pin was given.\n"
        "Exit status: 0 ok, 1 the verifier rejected a program, 2 bad input or attach failure.\n\n"
        "Examples:\n"
        "  bpfvm attach build/examples/tools/execsnoop.bpf.o --duration 10\n"
        "  bpfvm attach build/examples/xdp_counter.bpf.o --interface veth0\n"
        "  bpfvm attach build/examples/tools/uprobe_count.bpf.o --pin /sys/fs/bpf/ucount");
    add_kernel_options(cmd, *options, /*with_duration=*/true);
    cmd->add_option("--pin", *pin, "Pin links, programs and maps under DIR (bpffs) and exit, leaving them attached");
    cmd->callback([options, pin, &exit_code] { exit_code = run_attach(*options, *pin); });
});

}  // namespace
}  // namespace bpfvm::cli
