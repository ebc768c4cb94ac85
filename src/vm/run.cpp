// Object::test_run: BPF_PROG_TEST_RUN without the kernel. The test-run layer (src/testrun) builds
// the context the kernel would build and refuses what it refuses; this file prepares the program,
// runs it `repeat` times on the same buffers (as the kernel does), follows tail calls, and reports
// retval, data_out, ctx_out, trace output, ring buffer / perf events and the average duration.
#include <algorithm>
#include <ctime>

#include "bpfvm/detail/helpers.hpp"
#include "object_internal.hpp"
#include "testrun/testrun_internal.hpp"

namespace bpfvm {
namespace {

Error trap_error(const Object::Impl& impl, const ProgEntry& e, const RunResult& rr, const RunContext& rc) {
    std::string text = describe_trap(rr.trap, rc);
    const std::string prefix = "insn " + std::to_string(rr.trap.pc) + ": ";
    if (text.rfind(prefix, 0) == 0) text = text.substr(prefix.size());
    // A helper userspace cannot perform is bpfvm's limit, not a fault of the program.
    const ErrorCode code = rc.unsupported_helper ? ErrorCode::kUnsupported : ErrorCode::kRuntime;
    if (rc.unsupported_helper) text = rc.fault_message;
    return impl.locate(e, make_error(code, text, rr.trap.pc));
}

/// bpf_trace_printk output, one entry per line.
std::vector<std::string> split_lines(const std::string& log) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < log.size()) {
        size_t nl = log.find('\n', pos);
        if (nl == std::string::npos) nl = log.size();
        lines.push_back(log.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

/// Ring buffer and perf event records the run produced, in map order.
void drain_events(Object::Impl& impl, TestRunResult& out) {
    for (const auto& m : impl.maps) {
        if (m == nullptr) continue;
        if (auto* rb = m->as_ringbuf())
            for (auto& rec : rb->drain()) out.events.push_back({m->name(), 0, std::move(rec)});
        if (auto* pa = m->as_perf_event_array())
            for (auto& rec : pa->drain()) out.events.push_back({m->name(), rec.cpu, std::move(rec.data)});
    }
}

/// CPU time of the calling thread. The kernel's test-run clock runs with preemption disabled and
/// stops while the loop yields to the scheduler, so its duration is time spent running the
/// program; on a shared machine the thread's CPU time is the userspace equivalent (wall time would
/// count whatever else the machine runs).
uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

bool Object::Impl::run_checked(ProgEntry& entry, RunMode mode, std::vector<std::string>& warnings) {
    if (mode != RunMode::Auto) return mode == RunMode::Checked;
    if (!entry.verification || !(entry.verified_with == VerifyOptions{}))
        entry.verification = verify_program(file, spec(entry), VerifyOptions{});
    const Verification& v = *entry.verification;
    if (v.verdict == Verdict::Accept) return v.needs_runtime_checks;
    if (v.verdict == Verdict::Reject && v.error) {
        std::string w = "running " + spec(entry).name + " with bounds checks: the verifier rejects it: " +
                        v.error->to_string();
        if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(std::move(w));
    }
    return true;
}

Result<TestRunResult> Object::Impl::run_test(ProgEntry& entry, const TestRunInput& input) {
    const ProgramType type = spec(entry).type;
    // Coverage is counted by the checked interpreter only.
    const EngineKind engine = input.coverage ? EngineKind::Interp : input.engine.value_or(default_engine());
    std::vector<std::string> warnings;
    // Verified programs run unchecked; every program of a tail-call chain is judged on its own.
    auto options_for = [&](ProgEntry& e) {
        EngineOptions o;
        o.checked = run_checked(e, input.mode, warnings) || input.coverage != nullptr;
        o.insn_budget = input.insn_budget;
        return o;
    };
    const EngineOptions eopts = options_for(entry);

    auto first = executable(entry, engine, eopts);  // also resolves (max_ctx_end)
    if (!first) return first.error();
    auto setup = testrun::setup_run(type, spec(entry).expected_attach_type, input, entry.max_ctx_end, where(entry));
    if (!setup) return setup.error();
    testrun::RunSetup& s = **setup;

    maps::HelperEnv env;
    env.packet = &s.packet;
    env.user = this;
    RunContext rc;
    rc.env = &env;
    rc.pkt = s.legacy_packet();
    rc.pkt_len = s.legacy_packet_len();
    // The regions every run starts from. Helpers only append (map values as the program looks
    // them up) and truncate back to what they found, so restoring the start is a resize.
    rc.regions = s.regions;
    rc.regions.insert(rc.regions.end(), value_regions.begin(), value_regions.end());
    const size_t base_regions = rc.regions.size();

    TestRunResult out;
    out.repeat = input.repeat == 0 ? 1 : input.repeat;
    out.engine = (*first)->engine_name();
    out.program = spec(entry).name;
    out.checked = eopts.checked;
    // Everything above is prepared once. Each repetition reruns the program on the same buffers,
    // as the kernel's bpf_test_run does (state the program left in the packet or the context is
    // what the next repetition sees), and the loop does nothing else: no allocation, no clock
    // reads (the duration is the loop's time divided by the repetitions, as in the kernel).
    const uint64_t t0 = thread_cpu_ns();
    for (uint32_t iter = 0; iter < out.repeat; ++iter) {
        env.tail_calls = 0;
        env.held_lock = nullptr;
        ProgEntry* cur = &entry;
        const Executable* exec = *first;
        for (uint32_t hops = 0;; ++hops) {
            if (rc.regions.size() != base_regions) [[unlikely]]
                rc.regions.resize(base_regions);
            if (input.coverage != nullptr) [[unlikely]]
                rc.coverage = &(*input.coverage)[spec(*cur).name];
            const RunResult rr = exec->run(rc, s.r1, s.r2);
            if (rr.tail_call) [[unlikely]] {
                ProgEntry* next = entry_from_pointer(rc.tail_call_target);
                if (next == nullptr || hops >= env.max_tail_calls)
                    return make_error(ErrorCode::kRuntime, where(*cur) + ": tail call to an unknown program");
                if (spec(*next).type != type)
                    return make_error(ErrorCode::kRuntime,
                                      where(*cur) + ": tail call into " + spec(*next).name + ", a program of another type");
                auto x = executable(*next, engine, options_for(*next));
                if (!x) return x.error();
                exec = *x;
                cur = next;
                rc.tail_call_target = nullptr;
                continue;
            }
            if (!rr.ok()) [[unlikely]]
                return trap_error(*this, *cur, rr, rc);
            out.retval = rr.r0;
            break;
        }
    }
    const uint64_t total_ns = thread_cpu_ns() - t0;
    out.tail_calls = env.tail_calls;
    out.duration_ns = total_ns / out.repeat;
    out.trace = split_lines(env.trace_log);
    out.redirects = std::move(s.packet.redirects);
    testrun::collect_outputs(s, out);
    drain_events(*this, out);
    out.warnings = std::move(warnings);
    return out;
}

}  // namespace bpfvm
