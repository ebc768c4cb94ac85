// Reading the ebpf-samples rows and the type table.
#include "samples.hpp"

#include <fstream>
#include <sstream>

#include "loader/csv_util.hpp"

namespace bpfvm::corpus {

std::string samples_root() { return std::string(BPFVM_SHARED_DIR) + "/corpus/ebpf-samples"; }

std::vector<SampleRow> read_sample_rows() {
    std::vector<SampleRow> rows;
    std::ifstream in(samples_root() + "/EXPECTED_VERDICTS_prevail_c80c76ff.csv");
    std::string line;
    std::getline(in, line);  // header: project,object,section,program,programs_in_section,expected,...
    while (std::getline(in, line)) {
        const auto f = testing::split_csv(line);
        if (f.size() < 6) continue;
        rows.push_back({f[0], f[1], f[2], f[3], f[5]});
    }
    return rows;
}

SampleTypes SampleTypes::load() {
    SampleTypes t;
    std::ifstream in(std::string(BPFVM_SOURCE_DIR) + "/tests/verifier_corpus/corpus_types.txt");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string key, value;
        fields >> key >> value;
        if (!value.empty()) t.entries_[key] = value;
    }
    return t;
}

VerifyOptions SampleTypes::options_for(const SampleRow& row) const {
    VerifyOptions o;
    if (auto t = entries_.find(row.key()); t != entries_.end()) o.type = program_type_by_name(t->second);
    else if (auto a = entries_.find(row.object_key() + ":*"); a != entries_.end()) o.type = program_type_by_name(a->second);
    if (auto l = entries_.find(row.object_key() + ":license"); l != entries_.end()) o.license = l->second;
    return o;
}

std::optional<ProgramType> SampleTypes::type_for(const SampleRow& row, const ProgramSpec& program) const {
    if (auto t = entries_.find(row.object_key() + ":" + program.section); t != entries_.end())
        return program_type_by_name(t->second);
    if (program.type != ProgramType::Unspec) return std::nullopt;
    if (auto a = entries_.find(row.object_key() + ":*"); a != entries_.end()) return program_type_by_name(a->second);
    return std::nullopt;
}

}  // namespace bpfvm::corpus
