// The ebpf-samples corpus: every object loads, except those whose rows in the PREVAIL-derived CSV
// say load_error / unmarshal_error, which must fail with a message naming the file. Objects without
// rows (fuzzer-found files in invalid/, newer samples) may load or fail, but never crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bpfvm/object.hpp"
#include "csv_util.hpp"

namespace fs = std::filesystem;
using bpfvm::ErrorCode;
using bpfvm::LoadOptions;
using bpfvm::testing::split_csv;

namespace {

const fs::path kCorpus = fs::path(BPFVM_SHARED_DIR) / "corpus" / "ebpf-samples";
const fs::path kCsv = kCorpus / "EXPECTED_VERDICTS_prevail_c80c76ff.csv";

struct Row {
    std::string section, program, expected;
};

/// project/object -> rows.
std::map<std::string, std::vector<Row>> read_csv() {
    std::map<std::string, std::vector<Row>> rows;
    std::ifstream in(kCsv);
    std::string line;
    std::getline(in, line);  // header: project,object,section,program,programs_in_section,expected,prevail_macro,note
    while (std::getline(in, line)) {
        auto f = split_csv(line);
        if (f.size() < 6) continue;
        rows[f[0] + "/" + f[1]].push_back({f[2], f[3], f[5]});
    }
    return rows;
}

bool is_object(const fs::path& p) {
    const auto ext = p.extension().string();
    const auto name = p.filename().string();
    if (ext == ".csv" || ext == ".json" || ext == ".md" || ext == ".txt" || name == "MANIFEST.sha256") return false;
    return fs::is_regular_file(p);
}

TEST(LoaderCorpus, EveryObjectLoadsOrFailsAsExpected) {
    if (!fs::exists(kCsv)) GTEST_SKIP() << "corpus not found at " << kCorpus << " (set BPFVM_SHARED_DIR)";
    const auto rows = read_csv();
    ASSERT_FALSE(rows.empty());
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(kCorpus))
        if (is_object(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files.size(), 173u);

    int loaded = 0, failed_as_expected = 0, unlisted_loaded = 0, unlisted_failed = 0, rows_checked = 0;
    std::set<std::string> seen;
    for (const auto& path : files) {
        const std::string key = fs::relative(path, kCorpus).generic_string();
        seen.insert(key);
        SCOPED_TRACE(key);
        LoadOptions options;
        options.keep_going = true;  // per-program errors are checked against the rows below
        auto obj = bpfvm::load_object(path.string(), options);
        auto it = rows.find(key);
        if (it == rows.end()) {
            // No expectations: any outcome but a crash; failures name the file.
            if (obj) {
                ++unlisted_loaded;
            } else {
                ++unlisted_failed;
                EXPECT_NE(obj.error().to_string().find(path.string()), std::string::npos) << obj.error().to_string();
            }
            continue;
        }
        bool expect_failure = false;
        for (const auto& r : it->second)
            if (r.expected == "load_error" || r.expected == "unmarshal_error") expect_failure = true;
        // A load_error row whose section exists means the whole object must fail; cilium/bpf_lxc.o
        // has a row for a section that does not exist ("not-found"), which must not be found.
        if (!obj) {
            EXPECT_TRUE(expect_failure) << obj.error().to_string();
            EXPECT_NE(obj.error().to_string().find(path.string()), std::string::npos) << obj.error().to_string();
            ++failed_as_expected;
            rows_checked += static_cast<int>(it->second.size());
            continue;
        }
        // With keep_going the object loads and the failing program carries its error; without it
        // the whole load must fail.
        bool failing_section_present = false;
        ++loaded;
        for (const auto& r : it->second) {
            ++rows_checked;
            const bool must_fail = r.expected == "load_error" || r.expected == "unmarshal_error";
            bool found = false;
            for (const auto& p : obj->programs) {
                if (p.section != r.section || (!r.program.empty() && p.name != r.program)) continue;
                found = true;
                if (must_fail) {
                    EXPECT_TRUE(p.error) << "section " << r.section << " should fail to load";
                    failing_section_present = true;
                } else {
                    EXPECT_FALSE(p.error) << r.section << "/" << p.name << ": " << p.error->to_string();
                    EXPECT_GT(p.program.insns.size(), 0u);
                }
            }
            if (!must_fail) {
                EXPECT_TRUE(found) << "no program " << r.section << (r.program.empty() ? "" : "/" + r.program);
            }
        }
        if (failing_section_present) {
            auto strict = bpfvm::load_object(path.string());
            EXPECT_FALSE(strict.has_value());
            if (!strict) {
                EXPECT_NE(strict.error().to_string().find(path.string()), std::string::npos) << strict.error().to_string();
                --loaded;
                ++failed_as_expected;
            }
        }
    }
    // Rows naming objects that are not files (cilium/not-found.o) must fail as "no such file".
    for (const auto& [key, list] : rows) {
        if (seen.count(key)) continue;
        auto obj = bpfvm::load_object((kCorpus / key).string());
        ASSERT_FALSE(obj.has_value()) << key;
        EXPECT_EQ(obj.error().code, ErrorCode::kNotFound);
        ++failed_as_expected;
        rows_checked += static_cast<int>(list.size());
    }
    std::printf("corpus: %zu files; %d with CSV rows loaded, %d failed as expected; %d unlisted loaded, %d unlisted "
                "failed cleanly; %d CSV rows checked\n",
                files.size(), loaded, failed_as_expected, unlisted_loaded, unlisted_failed, rows_checked);
}

TEST(LoaderCorpus, ExactErrorMessages) {
    if (!fs::exists(kCsv)) GTEST_SKIP() << "corpus not found at " << kCorpus;
    const std::string badrelo = (kCorpus / "build/badrelo.o").string();
    auto r = bpfvm::load_object(badrelo);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().to_string(),
              badrelo + ": section .text: program func: insn 5: call to undefined external function 'ebpf_map_update_elem'");
    const std::string badsym = (kCorpus / "invalid/badsymsize.o").string();
    r = bpfvm::load_object(badsym);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().to_string(), badsym + ": section .symtab: symbol entry size 8, expected 24");
    const std::string lddw = (kCorpus / "invalid/invalid-lddw.o").string();
    r = bpfvm::load_object(lddw);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().to_string(), lddw + ": section .text: program func: insn 1: lddw is missing its second half");
}

}  // namespace
