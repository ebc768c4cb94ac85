// The kernel's own verifier selftests (../shared/corpus/kernel-selftests) through bpfvm's verifier,
// in-process: every program of manifest.jsonl is verified with its row's load flags and compared
// with this kernel's verdict (privileged mode) and with the test's unprivileged annotation.
//
// Prints the counts and asserts the thresholds of issue 8: accepted >= 90% of what the kernel
// accepts, rejected >= 90% of what it rejects, for >= 80% of the kernel's rejections the first
// error at the kernel's instruction or matching one of its message fragments, and the
// unprivileged expectation met for >= 80% of the programs that state one. Rows listed in
// tests/verifier/KNOWN_DIFFERENCES.md are counted apart. Mismatches go to
// <build>/verifier_selftests_<mode>.tsv so that they can be worked through.
//
// With BPFVM_VERIFY_SAMPLE=N (ASan and arm64 builds) only about N programs are verified and the
// thresholds are reported, not asserted.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "harness.hpp"

namespace bpfvm::corpus {
namespace {

struct Counts {
    size_t accept_total = 0, accept_ok = 0;
    size_t reject_total = 0, reject_ok = 0, reject_located = 0;
    size_t listed = 0, load_errors = 0;
};

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\t') c = ' ';
    return s;
}

void run_mode(Mode mode) {
    const auto known = read_known_differences(known_differences_path());
    ASSERT_TRUE(known) << known.error().to_string();
    const std::vector<SelftestRow> all = read_selftest_rows();
    ASSERT_GT(all.size(), 1000u) << "manifest not found under " << selftests_root();

    // The rows with a verdict to compare in this mode.
    std::vector<const SelftestRow*> rows;
    for (const SelftestRow& r : all) {
        if (mode == Mode::Privileged && r.has_flag("auxiliary")) continue;
        if (mode == Mode::Unprivileged && r.has_flag("auxiliary_unpriv")) continue;
        const std::string want = mode == Mode::Privileged ? r.kernel_priv : r.expect_unpriv;
        if (want == "accept" || want == "reject" || want == "success" || want == "failure") rows.push_back(&r);
    }
    const auto sample = sample_size();
    SelftestObjects objects;
    Counts c;
    std::vector<std::string> mismatches{
        "file\tprogram\tmode\tproblem\twant\tgot\tbpfvm_insn\tkernel_insn\tbpfvm_error\tkernel_fragments"};
    for (size_t i = 0; i < rows.size(); ++i) {
        if (!in_sample(i, rows.size(), sample)) continue;
        const SelftestRow& r = *rows[i];
        const std::string want_text = mode == Mode::Privileged ? r.kernel_priv : r.expect_unpriv;
        const Verdict want = want_text == "accept" || want_text == "success" ? Verdict::Accept : Verdict::Reject;
        std::string error;
        Verification v;
        if (const ObjectFile* file = objects.get(r, error)) {
            const ProgramSpec* spec = file->find_program(r.program);
            if (spec == nullptr) {
                error = "no program " + r.program;
                ++c.load_errors;
            } else {
                v = verify_program(*file, *spec, selftest_options(r, mode));
            }
        } else {
            ++c.load_errors;
        }
        const Verdict got = error.empty() ? v.verdict : Verdict::NotVerified;
        const std::string message = v.error ? v.error->message : error;
        const std::string fragments = mode == Mode::Privileged ? r.msg : (r.msg_unpriv.empty() ? r.msg : r.msg_unpriv);
        // -1: unknown (a plain integer: g++ 12 warns about optionals here, wrongly).
        const auto failing = mode == Mode::Privileged ? kernel_failing_insn(r.log_tail) : std::nullopt;
        const int64_t kernel_insn = failing ? int64_t{*failing} : int64_t{-1};
        const bool listed = known->count("selftest " + r.key()) &&
                            known->at("selftest " + r.key()).kernel.count(mode) != 0;
        if (listed && got != want) {
            ++c.listed;
            continue;
        }
        bool located = false;
        if (want == Verdict::Accept) {
            ++c.accept_total;
            c.accept_ok += got == Verdict::Accept;
        } else {
            ++c.reject_total;
            if (got == Verdict::Reject) {
                ++c.reject_ok;
                const bool same_insn = kernel_insn >= 0 && v.error && v.error->pc && *v.error->pc == kernel_insn;
                std::string text = message;
                for (const std::string& d : v.detail) text += "\n" + d;
                located = same_insn || matches_fragment(text, fragments);
                c.reject_located += located;
            }
        }
        if (got != want || (want == Verdict::Reject && !located)) {
            const std::string ours = v.error && v.error->pc ? std::to_string(*v.error->pc) : "";
            const std::string theirs = kernel_insn >= 0 ? std::to_string(kernel_insn) : "";
            mismatches.push_back(r.file + "\t" + r.program + "\t" + mode_name(mode) + "\t" +
                                 (got != want ? "verdict" : "location") + "\t" + verdict_name(want) +
                                 "\t" + verdict_name(got) + "\t" + ours + "\t" + theirs + "\t" +
                                 one_line(message).substr(0, 300) + "\t" + one_line(fragments));
        }
    }
    const std::string path = write_build_file("verifier_selftests_" + mode_name(mode) + ".tsv", mismatches);
    std::cout << "kernel selftests, " << mode_name(mode) << " mode"
              << (sample ? " (sample of " + std::to_string(*sample) + ")" : "") << ":\n"
              << "  " << rate("accepted where expected", c.accept_ok, c.accept_total) << "\n"
              << "  " << rate("rejected where expected", c.reject_ok, c.reject_total) << "\n";
    if (mode == Mode::Privileged)
        std::cout << "  " << rate("rejections at the kernel's insn or message", c.reject_located, c.reject_total)
                  << "\n";
    else
        std::cout << "  " << rate("unprivileged expectation met", c.accept_ok + c.reject_ok,
                                  c.accept_total + c.reject_total) << "\n";
    std::cout << "  listed in KNOWN_DIFFERENCES.md: " << c.listed << ", objects or programs not loaded: "
              << c.load_errors << "\n  mismatches: " << mismatches.size() - 1 << " rows in " << path << "\n";
    if (sample) return;
    if (mode == Mode::Privileged) {
        EXPECT_GE(ratio(c.accept_ok, c.accept_total), 0.90) << "accept rate below 90%";
        EXPECT_GE(ratio(c.reject_ok, c.reject_total), 0.90) << "reject rate below 90%";
        EXPECT_GE(ratio(c.reject_located, c.reject_total), 0.80) << "same-insn-or-message rate below 80%";
    } else {
        EXPECT_GE(ratio(c.accept_ok + c.reject_ok, c.accept_total + c.reject_total), 0.80)
            << "unprivileged rate below 80%";
    }
}

TEST(KernelSelftests, Privileged) { run_mode(Mode::Privileged); }
TEST(KernelSelftests, Unprivileged) { run_mode(Mode::Unprivileged); }

/// No entry of KNOWN_DIFFERENCES.md may excuse a rejection the kernel makes for an out-of-bounds
/// access, a null dereference or an uninitialised read: those are verifier bugs, not differences.
TEST(KernelSelftests, KnownDifferencesAreNotSafetyHoles) {
    const auto known = read_known_differences(known_differences_path());
    ASSERT_TRUE(known) << known.error().to_string();
    static const char* const kUnsafe[] = {
        "invalid access",           "outside of the allowed memory range", "invalid mem access",
        "!read_ok",                 "invalid read from stack",             "invalid indirect read",
        "outside of the packet",    "invalid bpf_context access",          "invalid zero-sized read",
        "invalid variable-offset",  "invalid stack",                       "invalid indirect access to stack",
        "unbounded memory access"};
    for (const SelftestRow& r : read_selftest_rows()) {
        auto it = known->find("selftest " + r.key());
        if (it == known->end() || r.kernel_priv != "reject" || !it->second.kernel.count(Mode::Privileged)) continue;
        const std::string error = kernel_error_text(r.log_tail);
        for (const char* unsafe : kUnsafe)
            EXPECT_EQ(error.find(unsafe), std::string::npos)
                << r.key() << ": the kernel rejects it as a memory-safety violation; fix the verifier instead";
    }
}

}  // namespace
}  // namespace bpfvm::corpus
