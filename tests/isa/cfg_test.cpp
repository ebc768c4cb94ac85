// The control-flow graph on small hand-written programs: blocks, successors and predecessors, back
// edges of nested loops, weak topological orders and their heads, subprograms and the call graph,
// bpf_loop callback references, and each structural finding with the kernel's wording.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bpfvm/asm.hpp"
#include "bpfvm/cfg.hpp"

namespace bpfvm {
namespace {

Program program_of(std::string_view assembly) {
    auto raw = assemble(assembly);
    EXPECT_TRUE(raw.has_value()) << raw.error().to_string();
    auto prog = decode_program(std::span<const RawInsn>(raw.value_or(std::vector<RawInsn>{})));
    EXPECT_TRUE(prog.has_value()) << prog.error().to_string();
    return prog.value_or(Program{});
}

// Strings are built by appending: g++ 12 at -O3 warns (-Wrestrict, a false positive) on chains of +.
void add_item(std::string& out, const std::string& item, const char* separator = " ") {
    if (!out.empty()) out += separator;
    out += item;
}

/// "first-last" per block.
std::string blocks_of(const Cfg& g) {
    std::string out;
    for (const BasicBlock& b : g.blocks) {
        std::string item = std::to_string(b.first);
        item += '-';
        item += std::to_string(b.last);
        add_item(out, item);
    }
    return out;
}

std::string edges(std::span<const CfgEdge> list) {
    std::string out;
    for (const CfgEdge& e : list) {
        std::string item(1, e.kind == EdgeKind::Jump ? 'j' : e.kind == EdgeKind::FallThrough ? 'f' : 'c');
        item += std::to_string(e.block);
        add_item(out, item);
    }
    return out;
}

std::string back_edges_of(const Cfg& g) {
    std::string out;
    for (const BackEdge& e : g.back_edges) {
        std::string item = std::to_string(e.from);
        item += "->";
        item += std::to_string(e.to);
        if (e.kind == EdgeKind::FallThrough) item += "(f)";
        add_item(out, item);
    }
    return out;
}

/// Bourdoncle's notation: "0 (1 (2) 3) 4" for blocks, parentheses around components.
std::string wto_of(const std::vector<WtoEntry>& wto) {
    std::string out;
    std::vector<uint32_t> open;  // ends of the components still open
    for (uint32_t i = 0; i < wto.size(); ++i) {
        while (!open.empty() && open.back() == i) {
            out += ")";
            open.pop_back();
        }
        if (!out.empty() && out.back() != '(') out += " ";
        if (wto[i].head) {
            out += "(";
            open.push_back(wto[i].end);
        }
        out += std::to_string(wto[i].block);
    }
    for (; !open.empty(); open.pop_back()) out += ")";
    return out;
}

std::string findings_of(const Program& p, const Cfg& g) {
    std::string out;
    for (const Finding& f : g.findings) add_item(out, describe_finding(p, f), "; ");
    return out;
}

TEST(Cfg, DiamondBlocksAndEdges) {
    const Program p = program_of(
        "mov %r0, 0\n"       // 0
        "jeq %r1, 0, else\n" // 1
        "mov %r0, 1\n"       // 2
        "ja end\n"           // 3
        "else:\n"
        "mov %r0, 2\n"       // 4
        "end:\n"
        "exit\n");           // 5
    const Cfg g = build_cfg(p);
    EXPECT_EQ(blocks_of(g), "0-1 2-3 4-4 5-5");
    EXPECT_EQ(edges(g.succs(0)), "f1 j2");  // fall-through first, as the kernel explores
    EXPECT_EQ(edges(g.succs(1)), "j3");
    EXPECT_EQ(edges(g.succs(2)), "f3");
    EXPECT_EQ(edges(g.succs(3)), "");
    EXPECT_EQ(edges(g.preds(3)), "j1 f2");
    EXPECT_EQ(edges(g.preds(0)), "");
    EXPECT_EQ(back_edges_of(g), "");
    EXPECT_EQ(wto_of(g.subprogs[0].wto), "0 1 2 3");
    EXPECT_EQ(findings_of(p, g), "");
    ASSERT_EQ(g.subprogs.size(), 1u);
    EXPECT_EQ(g.subprogs[0].end, 6u);
    for (uint32_t i = 0; i < p.insns.size(); ++i) EXPECT_TRUE(g.reachable(i));
}

TEST(Cfg, ConditionalJumpToNextInstructionHasBothEdges) {
    const Program p = program_of("jeq %r1, 0, +0\nexit\n");
    const Cfg g = build_cfg(p);
    EXPECT_EQ(blocks_of(g), "0-0 1-1");
    EXPECT_EQ(edges(g.succs(0)), "f1 j1");
    EXPECT_EQ(edges(g.preds(1)), "f0 j0");
}

TEST(Cfg, NestedLoopsBackEdgesAndWto) {
    const Program p = program_of(
        "mov %r1, 0\n"          // 0
        "outer:\n"
        "mov %r2, 0\n"          // 1
        "inner:\n"
        "add %r2, 1\n"          // 2
        "jlt %r2, 5, inner\n"   // 3
        "add %r1, 1\n"          // 4
        "jlt %r1, 5, outer\n"   // 5
        "exit\n");              // 6
    const Cfg g = build_cfg(p);
    EXPECT_EQ(blocks_of(g), "0-0 1-1 2-3 4-5 6-6");
    EXPECT_EQ(back_edges_of(g), "3->2 5->1");
    EXPECT_EQ(wto_of(g.subprogs[0].wto), "0 (1 (2) 3) 4");
    const auto& wto = g.subprogs[0].wto;
    ASSERT_EQ(wto.size(), 5u);
    EXPECT_TRUE(wto[1].head);
    EXPECT_EQ(wto[1].end, 4u);  // the outer component spans entries 1..3
    EXPECT_TRUE(wto[2].head);
    EXPECT_EQ(wto[2].end, 3u);
    EXPECT_FALSE(wto[3].head);
}

TEST(Cfg, SelfLoopAndLoopEnteredInTheMiddle) {
    // A jump to itself is a one-block component.
    Program p = program_of("ja +0\nja -1\n");
    Cfg g = build_cfg(p);
    EXPECT_EQ(back_edges_of(g), "1->1");
    EXPECT_EQ(wto_of(g.subprogs[0].wto), "0 (1)");
    // Entered at its test: the edge that closes the loop is a fall-through (1 -> 2), found as the
    // kernel's depth-first search finds it.
    p = program_of(
        "ja test\n"               // 0
        "body:\n"
        "add %r1, 1\n"            // 1
        "test:\n"
        "jlt %r1, 9, body\n"      // 2
        "exit\n");                // 3
    g = build_cfg(p);
    EXPECT_EQ(blocks_of(g), "0-0 1-1 2-2 3-3");
    EXPECT_EQ(back_edges_of(g), "1->2(f)");
    EXPECT_EQ(wto_of(g.subprogs[0].wto), "0 (2 1) 3");
}

TEST(Cfg, IrreducibleLoopIsOneComponent) {
    // Two ways into the cycle 2 <-> 3: one head, the other block inside its component.
    const Program p = program_of(
        "jeq %r1, 0, b\n"   // 0
        "a:\n"
        "add %r2, 1\n"      // 1
        "b:\n"
        "add %r3, 1\n"      // 2
        "jlt %r3, 9, a\n"   // 3
        "exit\n");          // 4
    const Cfg g = build_cfg(p);
    EXPECT_EQ(blocks_of(g), "0-0 1-1 2-3 4-4");
    EXPECT_EQ(back_edges_of(g), "3->1");
    // The WTO enters the cycle where its search first meets it (the jump from 0: the search takes
    // jumps first so that fall-through blocks come first in the order), the DFS of check_cfg at 1.
    EXPECT_EQ(wto_of(g.subprogs[0].wto), "0 (2 1) 3");
}

TEST(Cfg, SubprogramsAndCallGraph) {
    const Program p = program_of(
        "call local f\n"             // 0
        "lddw %r2, 0\n"              // 1 (patched below into a function reference to cb)
        "call local g\n"             // 2
        "exit\n"                     // 3
        "f:\n"
        "call local g\n"             // 4
        "exit\n"                     // 5
        "g:\n"
        "mov %r0, 1\n"               // 6
        "exit\n"                     // 7
        "cb:\n"
        "mov %r0, 0\n"               // 8
        "exit\n");                   // 9
    Program q = p;
    q.insns[1].src = static_cast<uint8_t>(LddwKind::Func);
    q.insns[1].target = 8;
    const Cfg g = build_cfg(q);
    ASSERT_EQ(g.subprogs.size(), 4u);
    EXPECT_EQ(g.subprogs[1].entry, 4u);
    EXPECT_EQ(g.subprogs[1].end, 6u);
    EXPECT_EQ(g.subprogs[3].entry, 8u);
    EXPECT_EQ(g.subprogs[0].callees, (std::vector<uint32_t>{1, 2}));
    EXPECT_EQ(g.subprogs[0].references, (std::vector<uint32_t>{3}));
    EXPECT_EQ(g.subprogs[1].callees, (std::vector<uint32_t>{2}));
    EXPECT_TRUE(g.subprogs[2].called);
    EXPECT_FALSE(g.subprogs[2].referenced);
    EXPECT_TRUE(g.subprogs[3].referenced);  // a bpf_loop callback
    EXPECT_FALSE(g.subprogs[3].called);
    ASSERT_EQ(g.calls.size(), 4u);
    EXPECT_EQ(g.calls[1].insn, 1u);
    EXPECT_TRUE(g.calls[1].reference);
    // A call ends its block; the edge to the next instruction is an after-call edge.
    EXPECT_EQ(blocks_of(g), "0-0 1-2 3-3 4-4 5-5 6-7 8-9");
    EXPECT_EQ(edges(g.succs(0)), "c1");
    EXPECT_EQ(edges(g.succs(1)), "c2");
    EXPECT_EQ(g.subprog_of(7), 2u);
    EXPECT_EQ(g.subprogs[2].first_block, 5u);
    EXPECT_EQ(g.subprogs[2].end_block, 6u);
    EXPECT_EQ(wto_of(g.subprogs[1].wto), "3 4");
    EXPECT_EQ(findings_of(q, g), "");
    for (uint32_t i = 0; i < q.insns.size(); ++i) EXPECT_TRUE(g.reachable(i)) << i;
}

TEST(Cfg, CallbackFromTheCorpusShape) {
    // bpf_loop(nr, callback, ctx, flags): the callback is a subprogram entered only by reference.
    const Program p = program_of(
        "mov %r1, 4\n"           // 0
        "lddw %r2, 0\n"          // 1
        "mov %r3, 0\n"           // 2
        "mov %r4, 0\n"           // 3
        "call 181\n"             // 4 (bpf_loop)
        "exit\n"                 // 5
        "mov %r0, 0\n"           // 6: the callback
        "exit\n");               // 7
    Program q = p;
    q.insns[1].src = static_cast<uint8_t>(LddwKind::Func);
    q.insns[1].target = 6;
    const Cfg g = build_cfg(q);
    ASSERT_EQ(g.subprogs.size(), 2u);
    EXPECT_TRUE(g.subprogs[1].referenced);
    EXPECT_TRUE(g.reachable(6));
    EXPECT_EQ(findings_of(q, g), "");
    // The same callback code without the reference is unreachable.
    const Cfg plain = build_cfg(p);
    EXPECT_EQ(plain.subprogs.size(), 1u);
    EXPECT_EQ(findings_of(p, plain), "unreachable insn 7");
}

TEST(Cfg, Findings) {
    // A jump from the main program into a subprogram's range, and a subprogram that falls into
    // the next one: the kernel's check_subprogs rejects both.
    Program p = program_of(
        "call local f\n"        // 0
        "jeq %r0, 0, inside\n"  // 1
        "exit\n"                // 2
        "f:\n"
        "mov %r0, 1\n"          // 3
        "inside:\n"
        "mov %r0, 2\n"          // 4
        "g:\n"
        "call local g\n"        // 5: g's last instruction is a call (falls into h)
        "h:\n"
        "call local h\n"        // 6
        "exit\n");              // 7
    Cfg g = build_cfg(p);
    EXPECT_EQ(findings_of(p, g),
              "jump out of range from insn 1 to 4; "
              "last insn is not an exit or jmp: insn 4 falls through into the next subprogram; "
              "last insn is not an exit or jmp: insn 5 falls through into the next subprogram");
    EXPECT_EQ(g.findings[0].kind, FindingKind::JumpOutOfSubprogram);
    EXPECT_EQ(g.findings[0].target, 4u);
    EXPECT_EQ(g.findings[1].kind, FindingKind::FallsIntoNext);

    // Unreachable runs are reported once, by their first slot ("unreachable insn N").
    p = program_of(
        "ja +3\n"            // 0
        "mov %r0, 1\n"       // 1
        "lddw %r0, 7\n"      // 2-3
        "exit\n");           // 4
    g = build_cfg(p);
    EXPECT_EQ(findings_of(p, g), "unreachable insn 1");
    EXPECT_EQ(g.findings[0].insn, 1u);    // instruction indices
    EXPECT_EQ(g.findings[0].target, 3u);  // one past the run
    EXPECT_FALSE(g.reachable(1));
    EXPECT_TRUE(g.reachable(3));

    // A subprogram called only from dead code is dead too.
    p = program_of("exit\ncall local f\nexit\nf:\nexit\n");
    g = build_cfg(p);
    EXPECT_EQ(findings_of(p, g), "unreachable insn 1");
    EXPECT_EQ(g.findings[0].target, 4u);

    // Falling off the end of the program (validate_program refuses such a program; a hand-built one
    // gets the finding).
    Program q = program_of("mov %r0, 0\nexit\n");
    q.insns[1].op = Op::Mov64Imm;
    g = build_cfg(q);
    EXPECT_EQ(findings_of(q, g), "last insn is not an exit or jmp: insn 1 falls off the end of the program");
    EXPECT_EQ(g.findings[0].kind, FindingKind::FallsOffEnd);
}

TEST(Cfg, MayGotoIsAConditionalJump) {
    const Program p = program_of(
        "loop:\n"
        "may_goto done\n"   // 0
        "add %r0, 1\n"      // 1
        "ja loop\n"         // 2
        "done:\n"
        "exit\n");          // 3
    const Cfg g = build_cfg(p);
    EXPECT_EQ(blocks_of(g), "0-0 1-2 3-3");
    EXPECT_EQ(edges(g.succs(0)), "f1 j2");
    EXPECT_EQ(back_edges_of(g), "2->0");
    EXPECT_EQ(wto_of(g.subprogs[0].wto), "(0 1) 2");
}

TEST(Cfg, LargeProgramsNeedNoRecursion) {
    // A loop around 500,000 blocks: the depth-first search and the WTO go 500,000 deep, which a
    // recursive implementation would not survive on the host stack.
    constexpr uint32_t kBlocks = 500'000;
    Program p;
    for (uint32_t i = 0; i < kBlocks; ++i) p.insns.push_back(Insn{Op::Jne64Imm, 1, 0, 0, 7, i, i + 1});
    p.insns.push_back(Insn{Op::Jne64Imm, 1, 0, 0, 0, kBlocks, 0});  // back to the top
    p.insns.push_back(Insn{Op::Exit, 0, 0, 0, 0, kBlocks + 1, 0});
    p.num_slots = static_cast<uint32_t>(p.insns.size());
    ASSERT_TRUE(validate_program(p).has_value());
    const Cfg g = build_cfg(p);
    EXPECT_EQ(g.blocks.size(), kBlocks + 2);
    EXPECT_EQ(back_edges_of(g), std::to_string(kBlocks) + "->0");
    const auto& wto = g.subprogs[0].wto;
    ASSERT_EQ(wto.size(), g.blocks.size());
    EXPECT_TRUE(wto[0].head);
    EXPECT_EQ(wto[0].end, kBlocks + 1);  // the loop holds everything but the exit
    EXPECT_EQ(wto[1].block, 1u);         // in instruction order
}

TEST(Cfg, DeeplyNestedLoops) {
    // 1,000 nested loops (Bourdoncle's cost grows with the nesting depth).
    constexpr uint32_t kDepth = 1000;
    Program p;
    for (uint32_t i = 0; i < kDepth; ++i) p.insns.push_back(Insn{Op::Mov64Imm, 0, 0, 0, 0, i, 0});
    for (uint32_t i = 0; i < kDepth; ++i)
        p.insns.push_back(Insn{Op::Jne64Imm, 0, 0, 0, 0, kDepth + i, kDepth - 1 - i});
    p.insns.push_back(Insn{Op::Exit, 0, 0, 0, 0, 2 * kDepth, 0});
    p.num_slots = static_cast<uint32_t>(p.insns.size());
    const Cfg g = build_cfg(p);
    EXPECT_EQ(g.back_edges.size(), kDepth);
    // Blocks: the movs, the innermost mov with the first jne, the other jnes, the exit.
    ASSERT_EQ(g.blocks.size(), 2 * kDepth);
    const auto& wto = g.subprogs[0].wto;
    ASSERT_EQ(wto.size(), g.blocks.size());
    for (uint32_t i = 0; i < kDepth; ++i) {
        EXPECT_TRUE(wto[i].head);
        EXPECT_EQ(wto[i].end, 2 * kDepth - 1 - i);
    }
}

}  // namespace
}  // namespace bpfvm
