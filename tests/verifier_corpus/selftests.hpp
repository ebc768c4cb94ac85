// The kernel's verifier selftests as the harnesses read them: the rows of
// ../shared/corpus/kernel-selftests/manifest.jsonl, their load flags, and their objects.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "harness.hpp"

namespace bpfvm::corpus {

/// ../shared/corpus/kernel-selftests
std::string selftests_root();

/// One program of the manifest (the fields the harnesses use; absent or null fields are "").
struct SelftestRow {
    std::string file, program, object, flags, kernel_priv, expect_unpriv, msg, msg_unpriv, log_tail;
    std::string key() const { return file + "/" + program; }
    /// Whether `flag` is set (flags are ';'- or ','-separated; a leading '!' clears one).
    bool has_flag(std::string_view flag) const;
    /// The btf_path= object (CO-RE target) of the row, "" when none.
    std::string btf_path() const;
};

/// Every row of manifest.jsonl, in file order (empty when the corpus is missing).
std::vector<SelftestRow> read_selftest_rows();

/// The verify options of a row in `mode`: its alignment and state-frequency flags, and
/// BPF_F_TEST_REG_INVARIANTS, which every selftest load sets.
VerifyOptions selftest_options(const SelftestRow& row, Mode mode);

/// Objects loaded once per (object, CO-RE target).
class SelftestObjects {
public:
    /// The object of `row`, or nullptr with `error` set.
    const ObjectFile* get(const SelftestRow& row, std::string& error);

private:
    std::map<std::string, Result<ObjectFile>> cache_;
};

}  // namespace bpfvm::corpus
