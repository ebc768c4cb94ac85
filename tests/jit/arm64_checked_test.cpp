// AArch64 JIT, checked mode (run natively on arm64 or under qemu-user): the two inline tests of an
// access (the current frame, and the region that last allowed an access of its kind) and loads
// that share one check (src/jit/check_groups.hpp). The dump shows both in the generated code; the
// runs hold their traps to the interpreter's, exactly: pc, address, size and direction.
#if defined(__aarch64__)

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bpfvm/detail/interpreter.hpp"
#include "bpfvm/detail/jit.hpp"
#include "program_util.hpp"

namespace bpfvm {
namespace {

// The first instruction of each inline test (memory.cpp, Emitter::check_inline): the frame test
// computes r10 - address, the region test loads the cached region of its kind (JitRuntime::read_lo
// or write_lo and the count of start addresses after it).
constexpr const char* kFrameTest = "sub x10, x25, x9";
constexpr const char* kReadRegionTest = "ldp x10, x11, [x26, #0x58]";
constexpr const char* kWriteRegionTest = "ldp x10, x11, [x26, #0x68]";

/// The host instructions of the BPF body in the checked dump of `text`, one per line (mnemonic and
/// operands), up to the out-of-line code; empty without capstone.
std::vector<std::string> checked_body(const std::string& text) {
    auto dump = jit::dump(assemble_program(text), HelperTable{}, EngineOptions{});
    EXPECT_TRUE(dump.has_value()) << dump.error().to_string();
    std::vector<std::string> out;
    if (!dump) return out;
    size_t pos = 0;
    while (pos < dump->size()) {
        size_t nl = dump->find('\n', pos);
        if (nl == std::string::npos) nl = dump->size();
        const std::string line = dump->substr(pos, nl - pos);
        pos = nl + 1;
        if (line.rfind("; out-of-line", 0) == 0) break;
        // Host lines: "    000008: 2a 03 09 cb      sub x10, x25, x9"; the text starts after the
        // run of spaces that follows the bytes.
        if (line.size() < 12 || line.compare(0, 4, "    ") != 0 || line[10] != ':' ||
            line.find_first_not_of("0123456789abcdef", 4) != 10)
            continue;
        const size_t text_at = line.find("   ", 12);
        if (text_at == std::string::npos) continue;
        const size_t begin = line.find_first_not_of(' ', text_at);
        if (begin != std::string::npos) out.push_back(line.substr(begin));
    }
    return out;
}

size_t count(const std::vector<std::string>& body, const std::string& insn) {
    size_t n = 0;
    for (const std::string& line : body) n += line == insn;
    return n;
}

/// Index of the first line equal to `insn` (body.size() when absent).
size_t first(const std::vector<std::string>& body, const std::string& insn) {
    size_t i = 0;
    while (i < body.size() && body[i] != insn) ++i;
    return i;
}

TEST(Arm64Checked, AGroupHasOneInlineCheckALoneAccessStillTestsTheCachedRegion) {
    if (checked_body("exit").empty()) GTEST_SKIP() << "built without capstone";
    // Three loads through r4 spanning 8 bytes: one check, at the first, with both inline tests.
    const auto loads = checked_body(
        "mov %r4, %r1\nadd %r4, %r3\nldxb %r0, [%r4+0]\nadd %r0, 7\nldxh %r2, [%r4+6]\nldxw %r5, [%r4+2]\n"
        "add %r0, %r2\nadd %r0, %r5\nexit");
    EXPECT_EQ(count(loads, kFrameTest), 1u);
    EXPECT_EQ(count(loads, kReadRegionTest), 1u);
    // A counter updated in place: one check, for writing.
    const auto counter = checked_body("ldxw %r0, [%r1+4]\nadd %r0, 1\nstxw [%r1+4], %r0\nexit");
    EXPECT_EQ(count(counter, kFrameTest), 1u);
    EXPECT_EQ(count(counter, kReadRegionTest), 0u);
    EXPECT_EQ(count(counter, kWriteRegionTest), 1u);
    // A load and a store 12 bytes apart, in no group: each tests its own kind's cached region,
    // before the frame since the base is not r10.
    const auto lone = checked_body("ldxw %r0, [%r1+0]\nstw [%r1+12], 1\nexit");
    EXPECT_EQ(count(lone, kFrameTest), 2u);
    EXPECT_EQ(count(lone, kReadRegionTest), 1u);
    EXPECT_EQ(count(lone, kWriteRegionTest), 1u);
    EXPECT_LT(first(lone, kReadRegionTest), first(lone, kFrameTest));
    // An r10-based access outside the constant frame window tests the frame first.
    const auto frame = checked_body("ldxb %r0, [%r10+0]\nexit");
    EXPECT_EQ(count(frame, kReadRegionTest), 1u);
    EXPECT_LT(first(frame, kFrameTest), first(frame, kReadRegionTest));
}

/// One checked run of a program on each engine, each with r1 = the start of its own copy of a
/// buffer, which the run's regions cover as [r1 + lo, r1 + hi) for each {lo, hi}.
struct Run {
    RunResult result;
    std::vector<uint8_t> buffer;
    uint64_t begin = 0;
};
struct Runs {
    Run jit, interp;
};
Runs run_both(const Program& program, const std::vector<uint8_t>& buffer, const std::vector<std::pair<int, int>>& regions,
              const HelperTable& helpers = {}, bool writable = true) {
    Runs out;
    auto jit = jit::compile(program, helpers, EngineOptions{});
    auto interp = interp::prepare(program, helpers, EngineOptions{});
    EXPECT_TRUE(jit.has_value() && interp.has_value());
    if (!jit || !interp) return out;
    for (Run* run : {&out.jit, &out.interp}) {
        run->buffer = buffer;
        run->begin = reinterpret_cast<uint64_t>(run->buffer.data());
        RunContext ctx;
        for (const auto& [lo, hi] : regions) ctx.regions.push_back({run->begin + lo, run->begin + hi, writable});
        run->result = (run == &out.jit ? **jit : **interp).run(ctx, run->begin);
    }
    EXPECT_EQ(out.jit.buffer, out.interp.buffer) << "memory after the run";
    return out;
}

/// Expects both runs to trap OutOfBounds at `pc` on [r1 + off, + size), a store when `write`.
void expect_trap(const Runs& r, uint32_t pc, uint64_t off, uint32_t size, bool write, const std::string& what) {
    for (const Run* run : {&r.jit, &r.interp}) {
        const std::string where = what + (run == &r.jit ? ": jit" : ": interpreter");
        EXPECT_EQ(run->result.trap.kind, TrapKind::OutOfBounds) << where;
        EXPECT_EQ(run->result.trap.pc, pc) << where;
        EXPECT_EQ(run->result.trap.addr, run->begin + off) << where;
        EXPECT_EQ(run->result.trap.size, size) << where;
        EXPECT_EQ(run->result.trap.write, write) << where;
    }
}

/// Expects both runs to end without a trap, with the same r0.
void expect_no_trap(const Runs& r, const std::string& what) {
    EXPECT_EQ(r.jit.result.trap.kind, TrapKind::None) << what << ": jit, pc " << r.jit.result.trap.pc;
    EXPECT_EQ(r.interp.result.trap.kind, TrapKind::None) << what << ": interpreter, pc " << r.interp.result.trap.pc;
    EXPECT_EQ(r.jit.result.r0, r.interp.result.r0) << what;
}

TEST(Arm64Checked, AFailedSpanTrapsAtTheFirstAccessOutsideInProgramOrder) {
    std::vector<uint8_t> buffer(16);
    for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<uint8_t>(0x10 + i);
    const std::vector<std::pair<int, int>> whole = {{0, 16}};
    // Each program runs twice: as it is, and after a load through r1 that fills the region cache
    // (one more instruction: every pc moves by one). A run starts with the cache empty, so without
    // that load a group's check always goes out of line and its fast path never runs.
    for (const uint32_t warm : {0u, 1u}) {
        const std::string head = warm ? "ldxb %r7, [%r1+15]\n" : "";
        const std::string how = warm ? " (cache filled)" : " (cache empty)";
        auto at = [&](int r3, const std::string& body) {
            return assemble_program(head + "mov %r3, " + std::to_string(r3) + "\nmov %r4, %r1\nadd %r4, %r3\n" + body);
        };
        // Members in program order: [r3+0, 1 byte) at pc 3, [r3+6, 2 bytes) at pc 4, [r3+2, 4 bytes)
        // at pc 5; the span [r3, r3+8) is one check at pc 3.
        const std::string loads = "ldxb %r0, [%r4+0]\nldxh %r2, [%r4+6]\nldxw %r5, [%r4+2]\nadd %r0, %r2\n"
                                  "add %r0, %r5\nexit";
        expect_no_trap(run_both(at(8, loads), buffer, whole), "span inside" + how);
        expect_trap(run_both(at(16, loads), buffer, whole), 3 + warm, 16, 1, false, "member 1 outside" + how);
        // Member 3 lies inside, but member 2 comes first in the program.
        expect_trap(run_both(at(9, loads), buffer, whole), 4 + warm, 15, 2, false, "member 2 outside" + how);
        // Two regions with a hole at [4, 6): members 1 and 2 inside, member 3 across the hole.
        expect_trap(run_both(at(0, loads), buffer, {{0, 4}, {6, 16}}), 5 + warm, 2, 4, false, "member 3 outside" + how);
        // Two adjacent regions: the span is in neither, each member in one; the run goes on.
        expect_no_trap(run_both(at(0, loads), buffer, {{0, 6}, {6, 16}}), "members split" + how);

        // Stores: the first is done (the buffer shows it) before the second traps.
        const std::string stores = "stb [%r4+0], 0x7f\nmov %r0, 1\nsth [%r4+6], 0x1234\nldxw %r0, [%r4+2]\nexit";
        const Runs stored = run_both(at(9, stores), buffer, whole);
        expect_trap(stored, 5 + warm, 15, 2, true, "second store outside" + how);
        EXPECT_EQ(stored.jit.buffer[9], 0x7f);
        expect_no_trap(run_both(at(8, stores), buffer, whole), "stores inside" + how);
        // A read-only region: the span fails for writing, the load in the group still runs first.
        const std::string update = "ldxw %r0, [%r4+0]\nadd %r0, 1\nstxw [%r4+4], %r0\nexit";
        expect_trap(run_both(at(0, update), buffer, whole, {}, false), 5 + warm, 4, 4, true, "store to read-only" + how);

        // An access through another pointer between two members keeps its own check: it traps
        // before a later member would (r3 = 9), and when the span passes (r3 = 8).
        const std::string between = "ldxb %r0, [%r4+0]\nldxb %r5, [%r1+40]\nldxh %r2, [%r4+6]\nexit";
        expect_trap(run_both(at(9, between), buffer, whole), 4 + warm, 40, 1, false, "other pointer first" + how);
        expect_trap(run_both(at(8, between), buffer, whole), 4 + warm, 40, 1, false, "other pointer" + how);
    }
}

TEST(Arm64Checked, AGroupIntoTheCallersFrameGoesThroughTheSlowPath) {
    // The callee reads its caller's stack through r1: neither the callee's frame nor a region,
    // so each member is checked out of line (the callers' frames rule) and the run goes on with
    // every register as it was.
    const Program program = assemble_program(R"(
        lddw %r2, 0x0807060504030201
        stxdw [%r10-8], %r2
        mov %r1, %r10
        add %r1, -8
        mov %r5, 55
        call local f
        add %r0, %r5
        exit
        f:
        ldxb %r0, [%r1+1]
        ldxh %r3, [%r1+6]
        ldxb %r4, [%r1+0]
        lsh %r0, 8
        add %r0, %r3
        add %r0, %r4
        exit)");
    const Runs r = run_both(program, std::vector<uint8_t>(8), {{0, 8}});
    expect_no_trap(r, "callers' frame");
    EXPECT_EQ(r.jit.result.r0, 0x0200u + 0x0807u + 0x01u + 55u);
}

/// A helper that drops the newest region, as a helper ending the life of memory it handed out would.
uint64_t drop_region(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    if (!ctx->regions.empty()) ctx->regions.pop_back();
    return 0;
}

TEST(Arm64Checked, AHelperCallEmptiesTheRegionCache) {
    HelperTable helpers;
    helpers.set(1, drop_region);
    const std::vector<uint8_t> buffer(16);
    // The first access passes the slow path, which caches the region; the helper drops it, so the
    // second access (within the cached bounds) must not pass the inline region test.
    const Program load = assemble_program("mov %r6, %r1\nldxw %r0, [%r6+0]\ncall 1\nldxw %r2, [%r6+4]\nexit");
    expect_trap(run_both(load, buffer, {{0, 16}}, helpers), 3, 4, 4, false, "load after the helper");
    const Program store = assemble_program("mov %r6, %r1\nstw [%r6+0], 1\ncall 1\nstw [%r6+4], 2\nexit");
    expect_trap(run_both(store, buffer, {{0, 16}}, helpers), 3, 4, 4, true, "store after the helper");
    // Without the helper both stores pass, the second through the cache (its region test admits
    // an 8-byte access at up to 8 bytes past the start of the 16-byte region).
    const Program kept = assemble_program("mov %r6, %r1\nstw [%r6+0], 1\nstw [%r6+8], 2\nldxw %r0, [%r6+8]\nexit");
    const Runs r = run_both(kept, buffer, {{0, 16}}, helpers);
    expect_no_trap(r, "no helper");
    EXPECT_EQ(r.jit.result.r0, 2u);
}

TEST(Arm64Checked, AReadOnlyRegionCachedByALoadDoesNotAdmitAStore) {
    // A span of 12 bytes: no group, so the store meets the cache the load filled for reading only,
    // which would admit it (an 8-byte access at up to 8 bytes past the start of the region).
    const Program program = assemble_program("ldxw %r0, [%r1+0]\nstw [%r1+8], 1\nexit");
    expect_trap(run_both(program, std::vector<uint8_t>(16), {{0, 16}}, {}, false), 1, 8, 4, true, "store to read-only");
}

}  // namespace
}  // namespace bpfvm

#endif  // __aarch64__
