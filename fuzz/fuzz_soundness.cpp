// fuzz_soundness: what the verifier accepts never faults in checked mode. The input (the format
// of verify_input.hpp: program type, privileges, maps, bytecode) is verified; an accepted program
// then runs on the checked interpreter through Object::test_run, which builds the context and
// packet the kernel's BPF_PROG_TEST_RUN would for that type and converts context accesses from the
// verifier's facts, exactly as a verified run does. A bounds-check trap, a write to r10, a bad call
// target or a call chain too deep in an accepted program is a soundness bug: the verifier let
// through a program the kernel would run unchecked. Not findings: the instruction budget (a
// verified program may run long), helpers userspace does not perform, and inputs the test-run
// refuses (as the kernel's would).
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string>

#include "bpfvm/asm.hpp"
#include "bpfvm/ctx_layouts.hpp"
#include "verify_input.hpp"

namespace {

using namespace bpfvm;

// An Ethernet + IPv4 + TCP frame with a payload: packet programs get past their parsing checks.
std::vector<uint8_t> make_frame() {
    std::vector<uint8_t> f(96, 0);
    f[12] = 0x08;                        // ethertype IPv4
    f[14] = 0x45;                        // version 4, IHL 5
    f[17] = static_cast<uint8_t>(f.size() - 14);  // total length
    f[22] = 64;                          // TTL
    f[23] = 6;                           // TCP
    f[46] = 0x50;                        // TCP data offset 5
    f[47] = 0x02;                        // SYN
    for (size_t i = 54; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i);
    return f;
}

bool is_soundness_trap(const std::string& message) {
    // The trap texts of describe_trap (src/vm/engine.cpp) that a verified program must never reach.
    for (const char* kind : {"out-of-bounds", "write to the read-only frame pointer", "bad call target",
                             "call depth exceeds", "helper fault"})
        if (message.find(kind) != std::string::npos) return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto input = fuzzing::decode_verify_input({data, size});
    if (!input) return 0;
    ObjectOptions object_options;
    object_options.max_map_memory = uint64_t{64} << 20;
    auto object = Object::from_file(std::move(input->file), object_options);
    if (!object) return 0;
    auto verdict = object->verify("prog", input->options);
    // Programs with loads the kernel guards at run time (kernel objects, arena) stay checked on
    // purpose; their traps are expected.
    if (!verdict || verdict->verdict != Verdict::Accept || verdict->needs_runtime_checks) return 0;

    TestRunInput run;
    run.engine = EngineKind::Interp;
    run.mode = RunMode::Checked;
    run.insn_budget = 1'000'000;
    static const std::vector<uint8_t> frame = make_frame();
    const ProgramType type = object->file().programs[0].type;
    const CtxInfo ctx = ctx_info(type);
    if (ctx.fields.empty() && std::max(ctx.size, ctx.limit) > 0) {
        // A context of plain bytes (tracepoint record, pt_regs, u64 arguments): the verifier lets
        // the program read all of it, so the run gets all of it, zero-filled; a shorter one would
        // trap on reads the kernel's buffer backs (the first fuzz_soundness finding, not a bug).
        run.ctx.assign(std::max(ctx.size, ctx.limit), 0);
    } else {
        run.data = frame;
    }
    auto result = object->test_run("prog", run);
    if (!result && result.error().code == ErrorCode::kInvalidArgument) {
        // This type takes no packet or no such context: the test-run builds its context alone.
        run.data.clear();
        run.ctx.clear();
        result = object->test_run("prog", run);
    }
    if (result || result.error().code != ErrorCode::kRuntime || !is_soundness_trap(result.error().message)) return 0;
    std::fprintf(stderr, "fuzz_soundness: the verifier accepts a program that traps in checked mode:\n  %s\n%s",
                 result.error().to_string().c_str(), disassemble(object->file().programs[0].program).c_str());
    std::abort();
}
