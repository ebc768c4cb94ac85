// The ebpf-samples corpus as the harnesses read it: PREVAIL's expected-verdict rows and the
// program types (and licenses) that corpus_types.txt gives sections naming none.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"

namespace bpfvm::corpus {

/// ../shared/corpus/ebpf-samples
std::string samples_root();

/// One row of EXPECTED_VERDICTS_prevail_c80c76ff.csv.
struct SampleRow {
    std::string project, object, section, program, expected;
    std::string object_key() const { return project + "/" + object; }  // "build/exposeptr.o"
    std::string key() const { return object_key() + ":" + section; }    // "build/exposeptr.o:.text"
    std::string path() const { return samples_root() + "/" + object_key(); }
};

/// Every row, in file order (empty when the corpus is missing).
std::vector<SampleRow> read_sample_rows();

/// corpus_types.txt: "project/object:section type", "project/object:* type",
/// "project/object:license LICENSE".
class SampleTypes {
public:
    /// Reads tests/verifier_corpus/corpus_types.txt.
    static SampleTypes load();
    /// The entries, by key (for checking them).
    const std::map<std::string, std::string>& entries() const { return entries_; }
    /// The verify options for `row`: the type its section gets (a section entry before the
    /// object's `*` entry) and the license the loader passes, if listed.
    VerifyOptions options_for(const SampleRow& row) const;
    /// The type a program of `row`'s object in section `section` is verified as: a section entry
    /// replaces even the loader's type (corrections), an object's `*` entry only names the type
    /// of sections that name none. nullopt: the loader's type stands.
    std::optional<ProgramType> type_for(const SampleRow& row, const ProgramSpec& program) const;

private:
    std::map<std::string, std::string> entries_;
};

}  // namespace bpfvm::corpus
