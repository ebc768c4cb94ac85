// Precision against the kernel: replays the programs of scalar_kernel_cases.txt (states the
// kernel printed, see the file's header) through the scalar library and requires the very same
// state text after every instruction, and the same decision at every jump.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "verifier/scalar.hpp"

namespace {

using namespace bpfvm::verifier;

struct Line {
    std::string insn;
    std::string expect;  // empty: not checked
};

struct Case {
    std::string title;
    std::vector<Line> lines;
};

std::vector<Case> load_cases() {
    std::ifstream in(std::string(BPFVM_SOURCE_DIR) + "/tests/verifier/scalar_kernel_cases.txt");
    std::vector<Case> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("case ", 0) == 0) {
            cases.push_back({line.substr(5), {}});
        } else if (line != "end" && !cases.empty()) {
            const auto arrow = line.find(" => ");
            if (arrow == std::string::npos) cases.back().lines.push_back({line, ""});
            else cases.back().lines.push_back({line.substr(0, arrow), line.substr(arrow + 4)});
        }
    }
    return cases;
}

uint64_t sext_imm(const std::string& text) {
    return static_cast<uint64_t>(int64_t{static_cast<int32_t>(std::stoll(text, nullptr, 0))});
}

AluOp alu_op(const std::string& op) {
    if (op.empty()) return AluOp::Mov;
    static const std::pair<const char*, AluOp> table[] = {
        {"+", AluOp::Add}, {"-", AluOp::Sub},   {"*", AluOp::Mul},  {"/", AluOp::Div},   {"s/", AluOp::SDiv},
        {"%", AluOp::Mod}, {"s%", AluOp::SMod}, {"|", AluOp::Or},   {"&", AluOp::And},   {"^", AluOp::Xor},
        {"<<", AluOp::Lsh}, {">>", AluOp::Rsh}, {"s>>", AluOp::Arsh},
    };
    for (const auto& [name, value] : table)
        if (op == name) return value;
    ADD_FAILURE() << "unknown ALU operator " << op;
    return AluOp::Mov;
}

JmpOp jmp_op(const std::string& op) {
    static const std::pair<const char*, JmpOp> table[] = {
        {"==", JmpOp::Eq}, {"!=", JmpOp::Ne},   {">", JmpOp::Gt},    {">=", JmpOp::Ge},  {"<", JmpOp::Lt},  {"<=", JmpOp::Le},
        {"s>", JmpOp::Sgt}, {"s>=", JmpOp::Sge}, {"s<", JmpOp::Slt}, {"s<=", JmpOp::Sle}, {"&", JmpOp::Set},
    };
    for (const auto& [name, value] : table)
        if (op == name) return value;
    ADD_FAILURE() << "unknown jump operator " << op;
    return JmpOp::Eq;
}

// Built by appending: g++ 12 warns (-Wrestrict, a false positive) on chains of string `+`.
std::string reg_text(int n, const Scalar& s) {
    std::string out = "R";
    out += std::to_string(n);
    out += '=';
    out += s.to_string();
    return out;
}

// Runs one instruction on the registers; returns what the kernel's log would show, or "stop"
// when the path ends. `with_taken` adds the jump-target state.
std::string step(Scalar (&r)[11], const std::string& insn, bool with_taken) {
    static const std::regex call_re(R"(call \d+)");
    static const std::regex lddw_re(R"(r(\d+) = (\w+) ll)");
    static const std::regex swap_re(R"([rw](\d+) = (bswap|be|le)(16|32|64) [rw]\d+)");
    static const std::regex movsx_re(R"(([rw])(\d+) = \(s(8|16|32)\)[rw](\d+))");
    static const std::regex jmp_re(R"(if ([rw])(\d+) (s?(?:==|!=|>=|<=|>|<|&)) ([rw]?)(-?\w+) goto out)");
    static const std::regex alu_re(R"(([rw])(\d+) (s>>|s/|s%|\+|-|\*|/|%|\||&|\^|<<|>>)?= ([rw]?)(-?\w+))");
    std::smatch m;
    if (std::regex_match(insn, m, call_re)) {
        r[0] = Scalar::unknown();
        return reg_text(0, r[0]);
    }
    if (std::regex_match(insn, m, lddw_re)) {
        const int d = std::stoi(m[1]);
        r[d] = Scalar::known(std::stoull(m[2], nullptr, 0));
        return reg_text(d, r[d]);
    }
    if (std::regex_match(insn, m, swap_re)) {
        const int d = std::stoi(m[1]);
        const ByteOrder kind = m[2] == "le" ? ByteOrder::ToLe : m[2] == "be" ? ByteOrder::ToBe : ByteOrder::Swap;
        r[d] = byte_swap(kind, static_cast<unsigned>(std::stoi(m[3])), r[d]);
        return reg_text(d, r[d]);
    }
    if (std::regex_match(insn, m, movsx_re)) {
        const int d = std::stoi(m[2]);
        r[d] = move_sign_extended(m[1] == "r", static_cast<unsigned>(std::stoi(m[3])), r[std::stoi(m[4])]);
        return reg_text(d, r[d]);
    }
    if (std::regex_match(insn, m, jmp_re)) {
        const bool is32 = m[1] == "w";
        const int d = std::stoi(m[2]);
        const JmpOp op = jmp_op(m[3]);
        const int s = m[4].length() ? std::stoi(m[5]) : -1;
        const Scalar imm = Scalar::known(s < 0 ? sext_imm(m[5]) : 0);
        const Scalar& b = s < 0 ? imm : r[s];
        switch (is_branch_taken(op, is32, r[d], b)) {
            case Branch::Always: return "always";
            case Branch::Never: return "never";
            case Branch::Unknown: break;
        }
        const auto side = [&](bool taken, Scalar& a, Scalar& c) {
            if (s == d) refine_same_register(op, is32, taken, a);
            else refine(op, is32, taken, a, c);
            std::string text = reg_text(d, a);
            if (s >= 0 && s != d) {
                text += ' ';
                text += reg_text(s, c);
            }
            return text;
        };
        Scalar ta = r[d], tb = b;
        const std::string taken = side(true, ta, tb);
        Scalar fa = r[d], fb = b;
        std::string out = "fall ";
        out += side(false, fa, fb);
        r[d] = fa;
        if (s >= 0 && s != d) r[s] = fb;
        if (with_taken) {
            out += " taken ";
            out += taken;
        }
        return out;
    }
    if (std::regex_match(insn, m, alu_re)) {
        const bool is64 = m[1] == "r";
        const int d = std::stoi(m[2]);
        const AluOp op = alu_op(m[3]);
        const Scalar src = m[4].length() ? r[std::stoi(m[5])] : Scalar::known(sext_imm(m[5]));
        Scalar dst = r[d];
        if (auto fork = split_minus_one_or_zero(op, dst, src)) dst = fork->minus_one;  // the path the log shows first
        r[d] = alu(op, is64, dst, src);
        return reg_text(d, r[d]);
    }
    ADD_FAILURE() << "cannot parse " << insn;
    return "stop";
}

TEST(ScalarKernelReplay, EveryStateMatchesTheKernelLog) {
    const auto cases = load_cases();
    ASSERT_GE(cases.size(), 700u) << "scalar_kernel_cases.txt missing or truncated";
    size_t checked = 0;
    for (const Case& c : cases) {
        Scalar r[11];
        for (const Line& line : c.lines) {
            const std::string got = step(r, line.insn, line.expect.find(" taken ") != std::string::npos);
            if (!line.expect.empty()) {
                EXPECT_EQ(got, line.expect) << "case '" << c.title << "' at: " << line.insn;
                ++checked;
            }
            if (got == "always" || got == "stop") break;
        }
    }
    EXPECT_GE(checked, 4000u);
}

}  // namespace
