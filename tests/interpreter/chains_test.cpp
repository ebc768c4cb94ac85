// Register chains (src/interpreter/superinsns.cpp, internal.hpp ChainStep): which runs of ALU
// instructions and superinstructions become chains and where they break, and that every ALU
// instruction and every superinstruction with chain steps gives the same result as a chain's
// head, middle and tail step as it does alone (unchecked runs, which carry the chains, against
// checked runs, which never do).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "interp_test_util.hpp"
#include "program_util.hpp"

namespace bpfvm::itest {
namespace {

/// The computed-goto loop's label tables (null when this build has only the switch dispatch).
struct Labels {
    const void* const* plain = nullptr;
    const void* const* chain = nullptr;
    const void* step(interp::ChainStep s, uint8_t op) const { return chain[s * interp::kNumSlotOps + op]; }
    const void* step(interp::ChainStep s, Op op) const { return step(s, static_cast<uint8_t>(op)); }
};
Labels unchecked_labels() {
    auto query = std::make_unique<interp::RunState>();
    interp::default_dispatch().unchecked(*query, nullptr, nullptr, 0);
    return {query->labels, query->chain_labels};
}

/// Which chain step each slot runs ('H', 'M', 'T'), '.' for none (and for the instructions a
/// superinstruction covers).
std::string steps(const Program& program, const Labels& l) {
    const auto slots = fused_slots(program, l.plain, l.chain);
    std::string out;
    for (size_t i = 0; i < slots.size(); ++i) {
        const uint8_t op = slots[i].op;
        char c = '.';
        if (slots[i].label == l.step(interp::kChainHead, op)) c = 'H';
        if (slots[i].label == l.step(interp::kChainMid, op)) c = 'M';
        if (slots[i].label == l.step(interp::kChainTail, op)) c = 'T';
        if (slots[i].label == nullptr) c = '.';
        out += c;
    }
    return out;
}

TEST(RegisterChains, RunsOfOneRegisterBecomeChains) {
    const Labels l = unchecked_labels();
    if (l.chain == nullptr) GTEST_SKIP() << "this build has no computed-goto dispatch (no chains)";
    const Program p = assemble_program(
        "xor %r0, %r1\nadd %r0, 3\nxor32 %r0, %r2\nrsh %r0, 1\n"  // 0-3: one chain, mixed widths
        "mul %r3, 5\nadd %r3, %r3\nsub %r3, 1\n"                  // 4-6: r3 read as a source breaks it
        "arsh %r4, 1\nneg %r4\nbe16 %r4\nmovsx32 %r4, %r2\n"      // 7-10: unary and sign-extending steps
        "jeq %r4, 0, skip\n"
        "add %r5, 1\nskip:\nadd %r5, 2\n"                         // 12-13: a jump target splits it
        "mov %r6, %r1\nadd %r6, 7\nadd %r6, 1\n"                  // 14-16: a pair heads a chain
        "lddw %r7, 0x100000000\nadd %r7, 1\n"                     // 17-18: lddw is not an ALU step
        "mov %r0, 0\nexit");
    EXPECT_EQ(steps(p, l), "HMMT" ".HT" "HMMT" "." ".." "H.T" ".." "..");
}

/// One instruction of `op` on r0 (sources r2), with the fields its row requires.
RawInsn instance(Op op, int32_t imm) {
    const OpInfo& info = op_info(op);
    int16_t off = 0;
    if (info.match == Match::Off) off = static_cast<int16_t>(info.match_value);
    if (info.match == Match::Imm) imm = info.match_value;
    if (info.form == Form::Neg) imm = 0;
    const bool reg = info.form == Form::AluReg || info.form == Form::Movsx;
    return RawInsn::make(info.opcode, 0, reg ? 2 : 0, off, reg ? 0 : imm);
}

TEST(RegisterChains, EveryAluInstructionAgreesAsEveryStep) {
    const Labels l = unchecked_labels();
    size_t chained = 0;
    for (size_t o = 0; o < kNumOps; ++o) {
        const Op op = static_cast<Op>(o);
        const Form form = op_info(op).form;
        if (form != Form::AluImm && form != Form::AluReg && form != Form::Neg && form != Form::Movsx &&
            form != Form::End)
            continue;
        for (const int32_t imm : {0, -1, 3, 31, 33, 63, 0x7fffffff}) {
            // r0 = r1, r2 = r1 >> 5 (another value), then three steps of `op` on r0 between two
            // instructions of other registers (no superinstruction takes them), then r0 mixed with r2.
            Code code = cat({mov64r(0, 1), mov64r(2, 1), alu64(kRsh, 2, 5), alu64(kAdd, 3, 1)});
            for (int k = 0; k < 3; ++k) code.push_back(instance(op, imm));
            code = cat({code, alu64(kAdd, 3, 1), alu64r(kXor, 0, 2), exit_()});
            if (l.chain != nullptr) {
                const std::string s = steps(decode_or_die(code), l);
                EXPECT_EQ(s.substr(4, 3), "HMT") << op_info(op).name << " imm " << imm;
                chained += s.substr(4, 3) == "HMT";
            }
            for (const uint64_t r1 : {uint64_t{0}, uint64_t{1}, uint64_t{0x80000000}, uint64_t{0xffffffff},
                                      uint64_t{0x123456789abcdef0}, ~uint64_t{0}, uint64_t{1} << 63}) {
                RunSpec spec;
                spec.r1 = r1;
                SCOPED_TRACE(std::string(op_info(op).name) + " imm " + std::to_string(imm) + " r1 " + std::to_string(r1));
                run_all(code, spec);
            }
        }
    }
    if (l.chain != nullptr) {
        EXPECT_EQ(chained, 72u * 7u);  // every ALU row, every immediate
    }
}

// The superinstructions whose result is one register (superinsns.cpp, chain_role) take part.
TEST(RegisterChains, SuperinstructionsHeadContinueAndEndChains) {
    const Labels l = unchecked_labels();
    if (l.chain == nullptr) GTEST_SKIP() << "this build has no computed-goto dispatch (no chains)";
    // checksum's loop: the copy-prefixed address heads a chain on r2, the byte pair continues it
    // through its base, the latch after the sum ends it.
    const Program sum = assemble_program(
        "mov %r3, 0\nmov %r4, 0\n"
        "top:\nmov %r5, %r3\nmov %r2, %r1\nadd %r2, %r5\nldxb %r0, [%r2+1]\nldxb %r2, [%r2+0]\nlsh %r2, 8\n"
        "or %r2, %r0\nadd %r2, %r4\nadd %r3, 2\nmov %r4, %r2\njlt %r5, 6, top\nexit");
    EXPECT_EQ(steps(sum, l), ".." "H.." "M..." "T..." ".");
    const Program p = assemble_program(
        "xor %r2, 1\nmov %r2, %r1\nrsh %r2, 3\nadd %r2, 1\n"  // 0-3: a pair in the middle
        "xor %r3, 1\nmov %r3, %r3\nrsh %r3, 3\n"               // 4-6: a pair reading the chain's register
        // 7-10: a pair on its own register, then one that reads it twice
        "lsh %r4, 8\nor %r4, %r5\nlsh %r4, 8\nor %r4, %r4\n"
        // 11-16: the byte pair's base is not r6, so it heads a new chain
        "xor %r6, 1\nldxb %r0, [%r7+1]\nldxb %r6, [%r7+0]\nlsh %r6, 8\nor %r6, %r0\nadd %r6, 1\n"
        "exit");
    EXPECT_EQ(steps(p, l), "HM.T" "..." "H.T." "." "H..." "T" ".");
}

/// A prelude that gives r1..r9 distinct values (r9 a stack pointer to eight bytes of r1), and a
/// tail that folds r0..r8 into r0 (not the pointer, whose value differs between runs).
const std::string kPrelude =
    "stxdw [%r10-8], %r1\nmov %r9, %r10\nadd %r9, -8\nmov %r2, %r1\nrsh %r2, 7\nmov %r3, %r1\nxor %r3, 0x5a5a\n"
    "mov %r4, %r1\nmul %r4, 77\nmov %r5, %r1\nlsh %r5, 5\nmov %r6, 6\nmov %r7, %r1\nand %r7, 0xff\n";
std::string fold() { return fold_registers(8); }

/// Runs `text` on every interpreter variant for a few values of r1 (run_all compares them), and
/// expects r0 to depend on r1 (the fold reaches it).
void run_for_some_inputs(const std::string& text) {
    const auto code = assemble(text);
    ASSERT_TRUE(code.has_value()) << code.error().to_string();
    std::vector<uint64_t> results;
    for (const uint64_t r1 : {uint64_t{0}, uint64_t{0x0102030405060708}, ~uint64_t{0}, uint64_t{0x80000001}}) {
        RunSpec spec;
        spec.r1 = r1;
        SCOPED_TRACE(text + "\nr1 = " + std::to_string(r1));
        results.push_back(run_all(*code, spec).r0);
    }
    EXPECT_NE(results[0], results[1]) << text;
}

TEST(RegisterChains, EveryChainedSuperinstructionAgreesAsEveryStep) {
    const Labels l = unchecked_labels();
    // Each form writes r0 from other registers (the byte pair: r2, through its base r2).
    const std::vector<std::string> forms = {
        "mov %r0, %r2\nadd %r0, 7",          "mov %r0, %r2\nadd %r0, %r3",       "mov %r0, %r2\nrsh %r0, 3",
        "mov %r0, %r2\nlsh %r0, 5",          "mov %r0, %r2\nand %r0, 0x7f0",     "mov32 %r0, %r2\nrsh32 %r0, 3",
        "mov32 %r0, %r2\nlsh32 %r0, 30",     "mov32 %r0, %r2\nand32 %r0, 0xff0", "mov32 %r0, %r2\nadd32 %r0, %r3",
        "ldxb %r0, [%r9+3]\nlsh %r0, 9",     "ldxb %r0, [%r9+2]\nlsh32 %r0, 30", "lsh %r0, 8\nor %r0, %r3",
        "mov %r6, %r4\nmov %r0, %r2\nadd %r0, 9",  "mov %r6, %r4\nmov %r0, %r2\nadd %r0, %r6",
        "mov %r6, %r4\nmov %r0, %r6\nrsh %r0, 9",  "mov %r6, %r4\nmov %r0, %r2\nlsh %r0, 9",
        "mov %r6, %r3\nmov %r0, %r2\nand %r0, -256",
    };
    const std::string be16 = "ldxb %r0, [%r2+1]\nldxb %r2, [%r2+0]\nlsh %r2, 8\nor %r2, %r0\n";
    struct Case {
        std::string text;
        size_t at;  // the slot under test
        char step;
    };
    std::vector<Case> cases;
    const size_t base = 14;  // kPrelude's instructions
    for (const std::string& f : forms) {
        cases.push_back({f + "\nxor %r0, 0x55\nmul %r0, 3\n", base, 'H'});
        cases.push_back({"mov %r0, %r1\nxor %r0, 0x3c\n" + f + "\nadd %r0, 11\n", base + 2, 'M'});
        cases.push_back({"mov %r0, %r1\nxor %r0, 0x3c\n" + f + "\n", base + 2, 'T'});
    }
    cases.push_back({"mov %r2, %r9\nadd %r2, 0\n" + be16, base + 2, 'T'});
    cases.push_back({"mov %r2, %r9\nadd %r2, 1\n" + be16 + "add %r2, 5\n", base + 2, 'M'});
    cases.push_back({"ldxb %r0, [%r9+1]\nldxb %r2, [%r9+0]\nlsh %r2, 8\nor %r2, %r0\nxor %r2, 3\n", base, 'H'});
    for (const Case& c : cases) {
        const std::string text = kPrelude + c.text + fold();
        if (l.chain != nullptr) {
            const std::string s = steps(assemble_program(text), l);
            EXPECT_EQ(s[c.at], c.step) << c.text << "\n" << s;
        }
        run_for_some_inputs(text);
    }
}

TEST(RegisterChains, LatchesEndChainsOnTheSum) {
    const Labels l = unchecked_labels();
    // A chain on r2 (the sum) before each latch: I != Y and I = Y, every compare.
    for (const char* cmp : {"jeq", "jne", "jlt", "jgt"}) {
        for (const std::string add : {"add %r6, 3\n", "add %r2, 3\n"}) {
            const std::string text = kPrelude + "mov %r3, 0\ntop:\nadd %r3, 1\nxor %r2, %r3\nrsh %r2, 1\n" +
                                     "add %r2, %r4\n" + add + "mov %r4, %r2\n" + cmp + " %r3, 10, top\n" + fold();
            if (l.chain != nullptr) {
                EXPECT_EQ(steps(assemble_program(text), l).substr(16, 3), "HMT") << cmp << " " << add;
            }
            run_for_some_inputs(text);
        }
    }
}

// Slots that read the chain's register other than as the chain's input head a new chain instead
// of continuing one (superinsns.cpp, chain_role); a jump target does too.
TEST(RegisterChains, SuperinstructionsThatReadTheRegisterOtherwiseStartAgain) {
    const Labels l = unchecked_labels();
    const size_t base = 14;  // kPrelude's instructions
    const std::vector<std::pair<std::string, std::string>> cases = {
        // The copy reads the chain's register (D).
        {"mov %r0, %r1\nxor %r0, 0x3c\nmov %r6, %r0\nmov %r0, %r2\nadd %r0, 9\nadd %r0, 11\n", "HTH..T"},
        // The pair's source is the copy (Y = C), which reads D, the chain's register.
        {"mov %r0, %r1\nxor %r0, 0x3c\nmov %r6, %r0\nmov %r0, %r6\nadd %r0, 9\nadd %r0, 11\n", "HTH..T"},
        // The pair copies the chain's register (Y).
        {"mov %r0, %r1\nxor %r0, 0x3c\nmov %r0, %r0\nadd %r0, %r2\nadd %r0, 5\n", "HTH.T"},
        // The byte load's base is the chain's register.
        {"mov %r0, %r9\nadd %r0, 1\nldxb %r0, [%r0+2]\nlsh %r0, 9\nadd %r0, 3\n", "..H.T"},
        // A 32-bit pair whose source is the chain's register.
        {"mov %r0, %r1\nxor %r0, 0x3c\nmov32 %r0, %r0\nrsh32 %r0, 3\nadd %r0, 1\n", "HTH.T"},
        // A jump enters the pair: the chain before it ends, the pair heads the next one.
        {"mov %r0, %r1\nxor %r0, 3\njeq %r1, 0, in\nadd %r0, 1\nin:\nmov %r6, %r4\nmov %r0, %r2\nadd %r0, 9\n"
         "add %r0, 11\n",
         "HT..H..T"},
    };
    for (const auto& [body, expected] : cases) {
        const std::string text = kPrelude + body + fold();
        if (l.chain != nullptr) {
            EXPECT_EQ(steps(assemble_program(text), l).substr(base, expected.size()), expected) << body;
        }
        run_for_some_inputs(text);
    }
    // The latch's added register is the sum itself (S = Y): the latch runs on its own.
    for (const std::string add : {"add %r6, 3\n", "add %r2, 3\n"}) {
        const std::string text = kPrelude + "mov %r3, 0\ntop:\nadd %r3, 1\nxor %r2, %r3\nrsh %r2, 1\n" +
                                 "add %r2, %r2\n" + add + "mov %r4, %r2\njlt %r3, 10, top\n" + fold();
        if (l.chain != nullptr) {
            EXPECT_EQ(steps(assemble_program(text), l).substr(16, 3), "HT.") << add;
        }
        run_for_some_inputs(text);
    }
}

// Every superinstruction and every chain step has a handler of its own: a label written twice
// in the tables would show here (two Ops whose handlers compile to the same code may share one).
TEST(RegisterChains, EveryHandlerLabelIsDistinct) {
    const Labels l = unchecked_labels();
    if (l.chain == nullptr) GTEST_SKIP() << "this build has no computed-goto dispatch";
    std::set<const void*> seen;
    size_t count = 0;
    for (size_t op = 0; op < interp::kNumSlotOps; ++op) {
        if (op >= interp::kSuperFirst) seen.insert(l.plain[op]), ++count;
        for (const interp::ChainStep s : {interp::kChainHead, interp::kChainMid, interp::kChainTail}) {
            const void* label = l.step(s, static_cast<uint8_t>(op));
            if (label != nullptr) seen.insert(label), ++count;
        }
    }
    EXPECT_EQ(seen.size(), count);
}

TEST(RegisterChains, ChainsAgreeInLoopsAndAroundJumps) {
    // A bitwise CRC-32 (how clang compiles bench/programs/crc32.c's inner step, unrolled twice),
    // a chain whose register a jump tests right after its tail, jumps into a run (which then is
    // two chains or none), and steps whose source is the chain's own register.
    const std::vector<std::string> programs = {
        "mov %r3, %r1\nmov %r2, 0\n"
        "top:\nmov32 %r4, %r3\nrsh32 %r4, 1\nand32 %r3, 1\nmul32 %r3, -306674912\nxor32 %r3, %r4\n"
        "mov32 %r0, %r3\nrsh32 %r0, 1\nand32 %r3, 1\nmul32 %r3, -306674912\nxor32 %r3, %r0\n"
        "add %r2, 1\njne %r2, 16, top\nmov %r0, %r3\nexit",
        "mov %r0, %r1\nxor %r0, 7\nmul %r0, 3\nand %r0, 15\njgt %r0, 7, big\nmov %r0, 1\nexit\nbig:\nexit",
        "mov %r0, %r1\njset %r1, 1, mid\nadd %r0, 1\nmul %r0, 5\nmid:\nxor %r0, 9\nlsh %r0, 2\nrsh %r0, 1\nexit",
        "mov %r0, %r1\nadd %r0, %r0\nadd %r0, %r0\nsub %r0, %r1\nexit",
        "xor %r0, %r1\nadd %r0, %r0\nor %r0, 1\nmul32 %r0, %r0\nexit",  // own register as a source
    };
    for (const std::string& text : programs) {
        const auto code = assemble(text);
        ASSERT_TRUE(code.has_value()) << code.error().to_string();
        for (const uint64_t r1 : {uint64_t{0}, uint64_t{2}, uint64_t{0xdeadbeef}, ~uint64_t{0}}) {
            RunSpec spec;
            spec.r1 = r1;
            SCOPED_TRACE(text + "\nr1 = " + std::to_string(r1));
            run_all(*code, spec);  // unchecked (chains, both dispatches) against checked
        }
    }
}

}  // namespace
}  // namespace bpfvm::itest
