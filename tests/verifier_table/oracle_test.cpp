// The kernel oracle for the verifier table: every case with a privileged expectation is loaded into
// the running kernel through the project's own bpf() bridge (maps created, map references turned
// into fds, the object's BTF and func_info passed) with the case's load flags, and the kernel's
// verdict must be the table's (or the one KNOWN_DIFFERENCES.md lists for the case, with its reason).
//
// Only the table's own programs go to the kernel, never generated ones, and none that contains a
// `neg` (this kernel's verifier crashes on some). Built into Release builds on the build machine
// only (BPFVM_TABLE_KERNEL_ORACLE); elsewhere, and where bpf() is not permitted, every case is
// skipped with the reason. Unprivileged expectations are not checked here: this host forbids
// unprivileged bpf() (kernel.unprivileged_bpf_disabled=2).
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bpfvm/kernel.hpp"
#include "table.hpp"
#include "verifier_corpus/harness.hpp"

namespace bpfvm::table {
namespace {

std::vector<Case> privileged_cases() {
    std::vector<Case> out;
    auto cases = load_cases(BPFVM_TABLE_DIR);
    if (!cases) {
        Case missing;
        missing.file = "missing";
        missing.name = cases.error().message;
        return {missing};
    }
    for (Case& c : *cases)
        if (c.priv.checked) out.push_back(std::move(c));
    return out;
}

std::string param_name(const testing::TestParamInfo<Case>& info) {
    std::string name = info.param.file + "_" + info.param.name;
    for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return name;
}

// (Unused where the oracle is compiled out.)
[[maybe_unused]] uint32_t prog_flags(const Case& c) {
    const VerifyOptions o = options_for(c, true);
    return (o.strict_alignment ? BPF_F_STRICT_ALIGNMENT : 0u) | (o.any_alignment ? BPF_F_ANY_ALIGNMENT : 0u);
}

/// One ObjectFile and one KernelObject (maps created) per object and flag set, kept for the process.
struct Loaded {
    std::unique_ptr<ObjectFile> file;
    std::optional<Result<kernel::KernelObject>> kernel;
};

[[maybe_unused]] Loaded& loaded(const Case& c) {
    static std::map<std::string, Loaded> cache;
    const uint32_t flags = prog_flags(c);
    Loaded& l = cache[c.object + "|" + std::to_string(flags)];
    if (!l.file) {
        auto f = load_object(c.object, object_load_defaults());
        l.file = std::make_unique<ObjectFile>(f ? std::move(*f) : ObjectFile{});
        if (!f) l.kernel.emplace(f.error());
    }
    if (!l.kernel) {
        kernel::KernelOptions ko;
        ko.prog_flags = flags;
        l.kernel.emplace(kernel::KernelObject::open(*l.file, ko));
    }
    return l;
}

class KernelOracle : public testing::TestWithParam<Case> {};

TEST_P(KernelOracle, SameVerdict) {
    const Case& c = GetParam();
    ASSERT_NE(c.file, "missing") << c.name;
#ifndef BPFVM_TABLE_KERNEL_ORACLE
    GTEST_SKIP() << "the kernel oracle runs in Release builds on the build machine only";
#else
    static const kernel::Probe probe = kernel::probe();
    if (!probe.usable) GTEST_SKIP() << "bpf() not usable here: " << probe.reason;
    const auto known = corpus::read_known_differences(corpus::known_differences_path());
    ASSERT_TRUE(known) << known.error().to_string();

    bool want_accept = c.priv.accept;
    std::string why = "the table";
    if (auto it = known->find("table " + c.key()); it != known->end() && it->second.kernel.count(corpus::Mode::Privileged)) {
        want_accept = it->second.kernel.at(corpus::Mode::Privileged) == Verdict::Accept;
        why = "KNOWN_DIFFERENCES.md";
    }
    Loaded& l = loaded(c);
    ASSERT_TRUE(*l.kernel) << l.kernel->error().to_string();
    // Without the object's BTF the kernel would see global functions as static ones.
    ASSERT_EQ((**l.kernel).btf_error(), "") << c.object;
    const ProgramSpec* spec = l.file->find_program(c.name);
    ASSERT_NE(spec, nullptr) << c.key() << ": no such program";
    // The hazard: never hand the kernel a program with a neg.
    // A program the loader cannot decode has no bytecode for the bridge to send.
    if (spec->error) GTEST_SKIP() << "not sent to the kernel: " << spec->error->to_string();
    ASSERT_FALSE(has_neg(spec->program)) << c.key() << ": contains a neg; not loaded into the kernel";
    auto fd = (**l.kernel).load_program(c.name);
    if (!fd && fd.error().code == ErrorCode::kPermission) GTEST_SKIP() << fd.error().to_string();
    if (want_accept) {
        EXPECT_TRUE(fd) << c.key() << ": " << why << " says accept, the kernel rejects:\n" << fd.error().to_string();
    } else {
        EXPECT_FALSE(fd) << c.key() << ": " << why << " says reject ('" << c.priv.fragment
                         << "'), the kernel accepts";
        if (!fd) {
            EXPECT_EQ(fd.error().code, ErrorCode::kRejected) << fd.error().to_string();
            // Not asserted (the fragment is bpfvm's wording), but a case the kernel rejects for
            // another reason than the one it was written for deserves a look.
            // BPFVM_TABLE_KERNEL_LOG=1 prints every rejection's log (for writing cases).
            if (fd.error().message.find(c.priv.fragment) == std::string::npos || std::getenv("BPFVM_TABLE_KERNEL_LOG"))
                std::cout << "note: " << c.key() << ": the kernel's log does not contain '" << c.priv.fragment
                          << "':\n" << fd.error().message << "\n";
        }
    }
#endif
}

INSTANTIATE_TEST_SUITE_P(Cases, KernelOracle, testing::ValuesIn(privileged_cases()), param_name);

}  // namespace
}  // namespace bpfvm::table
