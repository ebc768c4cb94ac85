// State pruning: small programs whose second path reaches a prune point in a state the kernel's
// states_equal finds covered by the first one. Each asserts through the public verify() API that
// the path is pruned (Stats::pruned, Stats::insns_processed), and that a variant differing where
// it matters is still walked, so that pruning never gets ahead of soundness.
#include <gtest/gtest.h>

#include <span>
#include <string>

#include "bpfvm/verifier.hpp"
#include "bpfvm/asm.hpp"

namespace bpfvm {
namespace {

verifier::Result verify_text(const std::string& text, std::span<const verifier::MapInfo> maps = {}) {
    verifier::Options options;
    options.type = ProgramType::SocketFilter;
    options.test_state_freq = true;  // a checkpoint at every prune point, so the joins below keep one
    auto raw = assemble(text);
    EXPECT_TRUE(raw.has_value()) << raw.error().to_string();
    if (!raw) return {};
    // With maps, an lddw names map 0 in the loader's map-index form (src 5), which the assembly
    // syntax cannot spell.
    for (RawInsn& insn : *raw)
        if (!maps.empty() && insn.opcode == 0x18) insn.set_src(static_cast<uint8_t>(LddwKind::MapIdx));
    auto program = decode_program(std::span<const RawInsn>(*raw));
    EXPECT_TRUE(program.has_value()) << program.error().to_string();
    if (!program) return {};
    return verifier::verify(*program, maps, {}, options);
}

/// The program is accepted and exactly one path was cut, after `insns` instructions in all.
void expect_pruned_once(const verifier::Result& r, uint64_t insns) {
    ASSERT_TRUE(r.accepted) << (r.error ? r.error->to_string() : "");
    EXPECT_EQ(r.stats.pruned, 1u);
    EXPECT_EQ(r.stats.insns_processed, insns);
}

/// The program is rejected with `message`.
void expect_rejected(const verifier::Result& r, const std::string& message) {
    EXPECT_FALSE(r.accepted);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->message, message);
}

// The end of the scalar-link programs: `linked:` copies r6 into r7 (one id), then at `join:` both
// are compared in branches the verifier decides (so both become precise) before exiting.
const std::string kLinkThenUseR6R7 = R"(
    linked:
        mov %r7, %r6
    join:
        jgt %r6, -1, bad
        jgt %r7, -1, bad
        mov %r0, 0
        exit
    bad:
        mov %r0, 1
        exit
)";

// Two scalars that were independent in the verified state stay covered when the current path has
// linked them (r7 = r6): links only add constraints (check_scalar_ids with an old id of 0).
TEST(Pruning, LinkedScalarsCoveredByIndependentOnes) {
    const auto r = verify_text(R"(
        call 7
        mov %r6, %r0
        and %r6, 7
        call 7
        jeq %r0, 0, linked
        call 7
        mov %r7, %r0
        and %r7, 7
        ja join
    )" + kLinkThenUseR6R7);
    expect_pruned_once(r, 15);
}

// The converse must not prune: the verified state relied on r6 and r7 being one value (linked:
// `r6 <= 3` implied `r7 <= 3`); on the current path they are independent and r7 may exceed 3.
TEST(Pruning, IndependentScalarsNotCoveredByLinkedOnes) {
    const auto r = verify_text(R"(
        call 7
        mov %r6, %r0
        and %r6, 7
        call 7
        jeq %r0, 0, independent
        mov %r7, %r6
        ja join
    independent:
        call 7
        mov %r7, %r0
        and %r7, 7
    join:
        jgt %r6, 3, out
        jgt %r7, 3, bad
    out:
        mov %r0, 0
        exit
    bad:
        mov %r0, %r9
        exit
    )");
    expect_rejected(r, "R9 !read_ok");
}

// A kept state forgets scalar ids nothing else shares (clear_singular_ids): r6 and r7 were copied
// from r0 once, each id now held by one register. Without that, the first path's r6 and r7 (two
// ids) would not cover the second path's, linked to one id.
TEST(Pruning, SingularIdsDroppedFromKeptStates) {
    const auto r = verify_text(R"(
        call 7
        mov %r6, %r0
        call 7
        mov %r7, %r0
        call 7
        jeq %r0, 0, linked
        ja join
    )" + kLinkThenUseR6R7);
    expect_pruned_once(r, 13);  // the second path stops at the join
}

// A helper call reads only the argument registers of its prototype: r3 (a stack pointer on one
// path, a scalar on the other) is dead before bpf_get_prandom_u32, which takes none.
TEST(Pruning, HelperReadsOnlyItsArgumentRegisters) {
    const auto r = verify_text(R"(
        call 7
        jeq %r0, 0, other
        mov %r3, %r10
        ja join
    other:
        mov %r3, 0
    join:
        call 7
        mov %r0, 0
        exit
    )");
    expect_pruned_once(r, 9);
}

// Privileged programs may read uninitialised stack: a slot half written with data and half never
// written reads as an unknown scalar, covered by an imprecise spilled scalar (is_stack_all_misc).
TEST(Pruning, PartlyWrittenSlotCoveredByImpreciseSpill) {
    const auto r = verify_text(R"(
        call 7
        jeq %r0, 0, half
        stxdw [%r10-8], %r0
        ja join
    half:
        call 7
        stxw [%r10-4], %r0
    join:
        ldxw %r0, [%r10-4]
        exit
    )");
    expect_pruned_once(r, 9);
}

// Two paths joining with fp-16 different (a spilled context pointer, then a zero) and fp-8
// zeroed on both, followed by `tail`.
verifier::Result verify_after_join(const std::string& tail, std::span<const verifier::MapInfo> maps = {}) {
    return verify_text(R"(
        mov %r6, %r1
        stdw [%r10-8], 0
        call 7
        jeq %r0, 0, zero
        stxdw [%r10-16], %r6
        ja join
    zero:
        stdw [%r10-16], 0
    join:
    )" + tail, maps);
}

// A helper reads stack only through the memory arguments of its prototype: a stack pointer left
// in r1 across bpf_get_prandom_u32 (no arguments) keeps no slot alive, so fp-16 is dead at the join.
TEST(Pruning, HelperWithoutMemoryArgumentsReadsNoStack) {
    const auto r = verify_after_join("mov %r1, %r10\n add %r1, -8\n call 7\n mov %r0, 0\n exit");
    expect_pruned_once(r, 13);  // the second path stops at the join
}

// A helper reading stack memory (bpf_trace_printk's format at fp-8, 8 bytes) reads only from its
// pointer up to the frame pointer: fp-16 stays dead.
TEST(Pruning, HelperReadsStackFromItsPointerUp) {
    const auto r = verify_after_join("mov %r1, %r10\n add %r1, -8\n mov %r2, 8\n call 6\n mov %r0, 0\n exit");
    expect_pruned_once(r, 14);
}

// The size of what a helper reads comes from a constant size argument (bpf_trace_printk's format,
// 8 bytes at fp-24) or from the map (a lookup's 8-byte key at fp-24): fp-16 above it stays dead.
TEST(Pruning, HelperReadsOnlyTheSizeItIsGiven) {
    const auto r = verify_after_join(
        "stdw [%r10-24], 0\n mov %r1, %r10\n add %r1, -24\n mov %r2, 8\n call 6\n mov %r0, 0\n exit");
    expect_pruned_once(r, 15);
}

TEST(Pruning, MapLookupReadsTheKeySize) {
    verifier::MapInfo map;
    map.name = "m";
    map.type = MapType::Hash;
    map.key_size = 8;
    map.value_size = 8;
    map.max_entries = 1;
    const auto r = verify_after_join(
        "stdw [%r10-24], 0\n lddw %r1, 0\n mov %r2, %r10\n add %r2, -24\n call 1\n mov %r0, 0\n exit",
        std::span<const verifier::MapInfo>(&map, 1));
    expect_pruned_once(r, 15);
}

// Only 64-bit add and sub keep a stack pointer one: after `r3 = 5` the spill of r3 is a scalar,
// not a frame pointer escaping to memory (which would keep every slot alive everywhere).
TEST(Pruning, OverwrittenStackPointerDoesNotEscape) {
    const auto r = verify_after_join("mov %r3, %r10\n mov %r3, 5\n stxdw [%r10-24], %r3\n mov %r0, 0\n exit");
    expect_pruned_once(r, 13);
}

// A stack pointer spilled to a slot of its own frame is followed through the fill: reading fp-8
// through it keeps fp-8 alive, not every slot (fp-16 stays dead).
TEST(Pruning, SpilledStackPointerFollowed) {
    const auto r = verify_after_join(
        "mov %r3, %r10\n add %r3, -8\n stxdw [%r10-24], %r3\n ldxdw %r4, [%r10-24]\n ldxdw %r0, [%r4+0]\n exit");
    expect_pruned_once(r, 14);
}

// Through the spilled pointer the second path reads fp-16 (a zero there, a context pointer on
// the first path): it must be walked, and fails.
TEST(Pruning, SlotReadThroughSpilledPointerStillCompared) {
    const auto r = verify_after_join("mov %r3, %r10\n add %r3, -16\n stxdw [%r10-24], %r3\n ldxdw %r4, [%r10-24]\n"
                                     " ldxdw %r1, [%r4+0]\n ldxw %r0, [%r1+0]\n exit");
    expect_rejected(r, "R1 invalid mem access 'scalar'");
}

// Read after the join, fp-16 is live: the second path must be walked, and fails.
TEST(Pruning, LiveSlotStillCompared) {
    const auto r = verify_after_join("ldxdw %r1, [%r10-16]\n ldxw %r0, [%r1+0]\n exit");
    expect_rejected(r, "R1 invalid mem access 'scalar'");
}

}  // namespace
}  // namespace bpfvm
