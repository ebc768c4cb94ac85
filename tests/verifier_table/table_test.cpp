// The verifier table through the facade: every case of bpf/*.c is verified in each mode it states
// an expectation for, and the verdict and (for rejections) the message fragment must match. The
// table itself is checked too: every program has a case and every case a program, no program
// contains a `neg` (the kernel oracle loads them), and each file has cases in both directions.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "table.hpp"
#include "verifier_corpus/harness.hpp"

namespace bpfvm::table {
namespace {

const std::vector<Case>& all_cases() {
    static const std::vector<Case> cases = [] {
        auto c = load_cases(BPFVM_TABLE_DIR);
        if (!c) {
            // Shows up as a failing case instead of an empty suite.
            Case missing;
            missing.file = "missing";
            missing.name = c.error().message;
            return std::vector<Case>{missing};
        }
        return *c;
    }();
    return cases;
}

/// Objects loaded once per test process.
const Result<ObjectFile>& object(const std::string& path) {
    static std::map<std::string, Result<ObjectFile>> cache;
    auto it = cache.find(path);
    if (it == cache.end()) it = cache.emplace(path, load_object(path, object_load_defaults())).first;
    return it->second;
}

struct ModeCase {
    const Case* c;
    bool privileged;
};

void PrintTo(const ModeCase& m, std::ostream* os) { *os << m.c->key() << (m.privileged ? " privileged" : " unprivileged"); }

std::vector<ModeCase> mode_cases() {
    std::vector<ModeCase> out;
    for (const Case& c : all_cases()) {
        if (c.priv.checked || c.file == "missing") out.push_back({&c, true});
        if (c.unpriv.checked) out.push_back({&c, false});
    }
    return out;
}

std::string param_name(const testing::TestParamInfo<ModeCase>& info) {
    std::string name = info.param.c->file + "_" + info.param.c->name + (info.param.privileged ? "_priv" : "_unpriv");
    for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return name;
}

class VerifierTable : public testing::TestWithParam<ModeCase> {};

TEST_P(VerifierTable, Verdict) {
    const Case& c = *GetParam().c;
    ASSERT_NE(c.file, "missing") << c.name;
    const bool privileged = GetParam().privileged;
    const Expectation& want = privileged ? c.priv : c.unpriv;
    const auto& file = object(c.object);
    ASSERT_TRUE(file) << file.error().to_string();
    const ProgramSpec* spec = file->find_program(c.name);
    ASSERT_NE(spec, nullptr) << c.key() << ": no such program";
    ASSERT_FALSE(has_neg(spec->program)) << c.key() << ": contains a neg (the kernel oracle must not load it)";
    const Verification v = verify_program(*file, *spec, options_for(c, privileged));
    const std::string got = v.error ? v.error->to_string() : "(no error)";
    if (want.accept) {
        EXPECT_EQ(v.verdict, Verdict::Accept) << c.key() << ": want accept, got " << corpus::verdict_name(v.verdict)
                                              << ": " << got;
    } else {
        EXPECT_EQ(v.verdict, Verdict::Reject) << c.key() << ": want reject with '" << want.fragment << "', got "
                                              << corpus::verdict_name(v.verdict);
        if (v.verdict == Verdict::Reject) {
            ASSERT_TRUE(v.error);
            EXPECT_NE(v.error->message.find(want.fragment), std::string::npos)
                << c.key() << ": want '" << want.fragment << "', got " << got;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, VerifierTable, testing::ValuesIn(mode_cases()), param_name);

TEST(VerifierTableShape, EveryProgramHasOneCase) {
    std::map<std::string, std::set<std::string>> names;  // object -> case names
    for (const Case& c : all_cases()) {
        EXPECT_TRUE(names[c.object].insert(c.name).second) << c.key() << ": two CASE records";
        EXPECT_TRUE(c.priv.checked || c.unpriv.checked) << c.key() << ": expects nothing in either mode";
    }
    for (const auto& [path, cases] : names) {
        const auto& file = object(path);
        ASSERT_TRUE(file) << file.error().to_string();
        std::set<std::string> programs;
        for (const ProgramSpec& p : file->programs) {
            // Global functions in .text are subprograms to libbpf (and to the kernel oracle).
            if (p.section == ".text") continue;
            programs.insert(p.name);
            EXPECT_TRUE(cases.count(p.name)) << path << ": program " << p.name << " has no CASE record";
            EXPECT_FALSE(has_neg(p.program)) << path << ": program " << p.name << " contains a neg";
        }
        for (const std::string& name : cases) EXPECT_TRUE(programs.count(name)) << path << ": no program " << name;
    }
}

/// The table's size and direction: at least 250 cases, and every file checks accepted near-misses
/// as well as rejected violations.
TEST(VerifierTableShape, SizeAndBothDirections) {
    std::map<std::string, std::pair<int, int>> per_file;  // accepts, rejects (any mode)
    for (const Case& c : all_cases()) {
        auto& [acc, rej] = per_file[c.file];
        for (const Expectation* e : {&c.priv, &c.unpriv}) {
            if (!e->checked) continue;
            (e->accept ? acc : rej) += 1;
        }
    }
    EXPECT_GE(all_cases().size(), 250u);
    for (const auto& [file, counts] : per_file) {
        EXPECT_GT(counts.first, 0) << file << ": no accepted case";
        EXPECT_GT(counts.second, 0) << file << ": no rejected case";
    }
}

}  // namespace
}  // namespace bpfvm::table
