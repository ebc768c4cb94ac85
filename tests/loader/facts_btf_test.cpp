// The fact tables against the running kernel (/sys/kernel/btf/vmlinux): every row, including the
// ones newer than the 6.1 uapi header tests/isa compiles against (helpers 210-211, netfilter, tcx,
// netkit, arena, ...). Here because it needs the loader's BTF parser; tests/isa links only isa.
// And the section table against the kernel selftests corpus: every program gets the type libbpf
// gave it when the corpus was made (manifest.jsonl `prog_type`).
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "bpfvm/facts.hpp"
#include "bpfvm/helper_protos.hpp"
#include "bpfvm/object.hpp"

namespace bpfvm {
namespace {

constexpr const char* kVmlinux = "/sys/kernel/btf/vmlinux";

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

/// Enumerators of the BTF enum `name` (name -> value).
std::map<std::string, int64_t> btf_enum(const Btf& btf, const char* name) {
    std::map<std::string, int64_t> out;
    const auto id = btf.find(name, BtfKind::Enum);
    if (!id) return out;
    for (const BtfEnumerator& e : btf.get(*id)->enumerators) out[e.name] = e.value;
    return out;
}

/// Checks that every row `i` < n of a table is the kernel enumerator prefix + upper(name) = i.
template <typename NameFn>
void expect_rows_match(const std::map<std::string, int64_t>& kernel, const char* prefix, uint32_t n, NameFn name_of) {
    ASSERT_FALSE(kernel.empty()) << prefix;
    for (uint32_t i = 0; i < n; ++i) {
        const std::string enumerator = prefix + upper(name_of(i));
        const auto it = kernel.find(enumerator);
        ASSERT_NE(it, kernel.end()) << enumerator << " is not in the running kernel's BTF";
        EXPECT_EQ(it->second, i) << enumerator;
    }
}

class FactsVsKernel : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(kVmlinux)) GTEST_SKIP() << kVmlinux << " does not exist: kernel BTF checks skipped";
        auto btf = Btf::load_file(kVmlinux);
        ASSERT_TRUE(btf) << btf.error().to_string();
        btf_ = std::move(*btf);
    }
    Btf btf_;
};

TEST_F(FactsVsKernel, ProgramAttachAndMapTypes) {
    expect_rows_match(btf_enum(btf_, "bpf_prog_type"), "BPF_PROG_TYPE_", kNumProgramTypes,
                      [](uint32_t i) { return program_type_name(static_cast<ProgramType>(i)); });
    expect_rows_match(btf_enum(btf_, "bpf_attach_type"), "BPF_", kNumAttachTypes,
                      [](uint32_t i) { return attach_type_name(static_cast<AttachType>(i)); });
    expect_rows_match(btf_enum(btf_, "bpf_map_type"), "BPF_MAP_TYPE_", kNumMapTypes,
                      [](uint32_t i) { return map_type_name(static_cast<MapType>(i)); });
}

TEST_F(FactsVsKernel, HelperIds) {
    const auto kernel = btf_enum(btf_, "bpf_func_id");
    ASSERT_FALSE(kernel.empty());
    for (const HelperProto& p : helper_protos()) {
        const auto it = kernel.find("BPF_FUNC_" + std::string(p.name));
        ASSERT_NE(it, kernel.end()) << p.name;
        EXPECT_EQ(it->second, p.id) << p.name;
    }
    // Every helper this kernel has is in the table.
    const auto max = kernel.find("__BPF_FUNC_MAX_ID");
    ASSERT_NE(max, kernel.end());
    EXPECT_EQ(max->second, kNumHelperIds);
}

// ---- Section names over the kernel selftests corpus.

/// The value of "key": "..." in one JSON line (the manifest's values have no escaped quotes
/// in the fields read here).
std::string json_field(const std::string& line, const std::string& key) {
    const std::string pat = "\"" + key + "\": \"";
    const size_t at = line.find(pat);
    if (at == std::string::npos) return "";
    const size_t begin = at + pat.size();
    return line.substr(begin, line.find('"', begin) - begin);
}

TEST(SectionTypes, KernelSelftestsGetLibbpfsTypes) {
    const std::string dir = std::string(BPFVM_SHARED_DIR) + "/corpus/kernel-selftests";
    std::ifstream manifest(dir + "/manifest.jsonl");
    if (!manifest) GTEST_SKIP() << dir << "/manifest.jsonl not found";
    // (object, program) -> libbpf's program type, as recorded when the corpus was made.
    std::map<std::pair<std::string, std::string>, std::string> expected;
    for (std::string line; std::getline(manifest, line);) {
        const std::string type = json_field(line, "prog_type");
        if (!type.empty()) expected[{json_field(line, "object"), json_field(line, "program")}] = type;
    }
    ASSERT_GT(expected.size(), 1000u);

    std::map<std::string, int> counts;
    std::set<std::string> unspec;  // sections of programs left untyped
    std::set<std::string> objects;
    for (const auto& [key, type] : expected) objects.insert(key.first);
    size_t checked = 0;
    LoadOptions options;
    options.keep_going = true;
    for (const std::string& rel : objects) {
        auto obj = load_object(dir + "/" + rel, options);
        ASSERT_TRUE(obj) << obj.error().to_string();
        for (const ProgramSpec& p : obj->programs) {
            ++counts[program_type_name(p.type)];
            if (p.type == ProgramType::Unspec) unspec.insert(p.section);
            const auto it = expected.find({rel, p.name});
            if (it == expected.end()) continue;
            ++checked;
            EXPECT_EQ(program_type_name(p.type), it->second) << rel << ": " << p.name << " (section " << p.section << ")";
        }
    }
    EXPECT_EQ(checked, expected.size());
    std::string summary;
    for (const auto& [type, n] : counts) summary += " " + type + "=" + std::to_string(n);
    std::printf("program types over %zu selftest objects:%s\n", objects.size(), summary.c_str());
    // Global functions in .text are loaded as programs here; libbpf treats them as subprograms
    // and gives .text no type. No other section may stay untyped.
    for (const std::string& section : unspec) EXPECT_EQ(section, ".text") << "untyped section";
}

}  // namespace
}  // namespace bpfvm
