// The kernel's verifier selftests (../shared/corpus/kernel-selftests, clang-19 objects): every object
// loads; the few programs no engine can represent (a register above r10, a jump out of the program)
// carry their own error, listed here word for word, and never fail the rest of their object. On the
// programs that load, the CFG's structural findings agree with this kernel (6.18): no finding in a
// program it accepts, its "unreachable insn N" at the same slot, and its check_cfg back edges
// ("back-edge from insn X to Y", unprivileged mode) among ours.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bpfvm/cfg.hpp"
#include "bpfvm/object.hpp"
#include "csv_util.hpp"

namespace fs = std::filesystem;

namespace bpfvm {
namespace {

const fs::path kDir = fs::path(BPFVM_SHARED_DIR) / "corpus" / "kernel-selftests";

/// Every object of the folder, loaded once with keep_going (as bpfvm inspect and Object::open do).
const std::map<std::string, ObjectFile>& load_all() {
    static std::map<std::string, ObjectFile> out;
    if (!out.empty()) return out;
    for (const auto& e : fs::directory_iterator(kDir / "objects")) {
        if (e.path().extension() != ".o") continue;
        LoadOptions options;
        options.keep_going = true;
        auto obj = load_object(e.path().string(), options);
        EXPECT_TRUE(obj.has_value()) << e.path() << ": " << obj.error().to_string();
        if (obj) out.emplace(e.path().filename().string(), std::move(*obj));
    }
    return out;
}

/// A per-program error as the test lists it: "file/program: insn N: message" (no path, no source).
std::string error_line(const std::string& file, const ProgramSpec& p) {
    Error e = *p.error;
    e.where.clear();
    e.source.clear();
    return file + "/" + p.name + ": " + e.to_string();
}

TEST(SelftestObjects, EveryObjectLoadsAndOnlyUnrepresentableProgramsFail) {
    if (!fs::exists(kDir / "objects")) GTEST_SKIP() << "corpus not found at " << kDir;
    const auto& objects = load_all();
    EXPECT_EQ(objects.size(), 84u);
    std::vector<std::string> errors;
    size_t programs = 0;
    for (const auto& [file, obj] : objects) {
        for (const ProgramSpec& p : obj.programs) {
            ++programs;
            if (p.error) errors.push_back(error_line(file, p));
        }
    }
    std::sort(errors.begin(), errors.end());
    // The kernel rejects these too, each alone: "jump out of range from insn 0 to 2" / "to -1",
    // "R15 is invalid". A Program cannot hold them (no target slot, no register r15).
    const std::vector<std::string> expected = {
        "verifier_cfg.bpf.o/out_of_range_jump2: insn 0: jump target -1 out of range (program has 2 slots)",
        "verifier_cfg.bpf.o/out_of_range_jump: insn 0: jump target 2 out of range (program has 2 slots)",
        "verifier_load_acquire.bpf.o/load_acquire_with_invalid_reg: insn 0: invalid register r15 in ldacqdw (opcode 0xdb)",
        "verifier_store_release.bpf.o/store_release_with_invalid_reg: insn 0: invalid register r15 in streldw (opcode 0xdb)",
        "verifier_uninit.bpf.o/read_invalid_register: insn 0: invalid register r15 in mov (opcode 0xbf)",
    };
    EXPECT_EQ(errors, expected);
    std::printf("kernel selftests: %zu objects, %zu programs, %zu with a per-program load error\n", objects.size(),
                programs, errors.size());
    // Without keep_going the first such program fails its whole object, naming itself.
    auto strict = load_object((kDir / "objects" / "verifier_cfg.bpf.o").string());
    ASSERT_FALSE(strict.has_value());
    EXPECT_NE(strict.error().to_string().find("program out_of_range_jump: insn 0: jump target 2 out of range"),
              std::string::npos)
        << strict.error().to_string();
}

struct ManifestRow {
    std::string file, program, kernel_priv, msg_unpriv, log_hint;
};

std::vector<ManifestRow> read_manifest() {
    std::vector<ManifestRow> rows;
    std::ifstream in(kDir / "manifest.csv");
    std::string line;
    // file,program,section,expect_priv,expect_unpriv,kernel_priv,msg,msg_unpriv,retval,flags,kernel_log_hint
    std::getline(in, line);
    while (std::getline(in, line)) {
        const auto f = testing::split_csv(line);
        if (f.size() < 11) continue;
        rows.push_back({f[0], f[1], f[5], f[7], f[10]});
    }
    return rows;
}

/// The numbers after `prefix` in `text` ("back-edge from insn 3 to 2" with prefix "back-edge from
/// insn " gives {3, 2}); empty when `prefix` is absent. (No std::regex: g++ 12 warns inside it at -O1.)
std::vector<uint32_t> numbers_after(const std::string& text, const std::string& prefix) {
    std::vector<uint32_t> out;
    size_t at = text.find(prefix);
    if (at == std::string::npos) return out;
    at += prefix.size();
    while (at < text.size()) {
        const size_t digits = text.find_first_not_of("0123456789", at);
        if (digits == at) break;
        out.push_back(static_cast<uint32_t>(std::stoul(text.substr(at, digits - at))));
        if (digits == std::string::npos || text.compare(digits, 4, " to ") != 0) break;
        at = digits + 4;
    }
    return out;
}

/// The object file of a manifest row: "verifier_and.c" -> "verifier_and.bpf.o".
std::string object_of(const std::string& source) { return source.substr(0, source.size() - 2) + ".bpf.o"; }

TEST(SelftestObjects, CfgFindingsAgreeWithTheKernel) {
    if (!fs::exists(kDir / "manifest.csv")) GTEST_SKIP() << "corpus not found at " << kDir;
    const auto& objects = load_all();
    const auto rows = read_manifest();
    ASSERT_EQ(rows.size(), 1041u);
    int accepted = 0, unreachable_checked = 0, back_edges_checked = 0;
    for (const ManifestRow& row : rows) {
        SCOPED_TRACE(row.file + "/" + row.program);
        const auto obj = objects.find(object_of(row.file));
        ASSERT_NE(obj, objects.end());
        const auto it = std::find_if(obj->second.programs.begin(), obj->second.programs.end(),
                                     [&](const ProgramSpec& p) { return p.name == row.program; });
        ASSERT_NE(it, obj->second.programs.end()) << "program not found";
        if (it->error) continue;  // listed by the test above
        const Program& prog = it->program;
        const Cfg g = build_cfg(prog);
        auto slot = [&](uint32_t index) { return prog.insns[index].pc; };
        if (row.kernel_priv == "accept") {
            // check_subprogs and check_cfg passed in the kernel: no structural finding here either.
            ++accepted;
            for (const Finding& f : g.findings) ADD_FAILURE() << describe_finding(prog, f);
        }
        if (const auto n = numbers_after(row.log_hint, "unreachable insn "); n.size() == 1) {
            ++unreachable_checked;
            const auto first = std::find_if(g.findings.begin(), g.findings.end(),
                                            [](const Finding& f) { return f.kind == FindingKind::Unreachable; });
            ASSERT_NE(first, g.findings.end());
            EXPECT_EQ(slot(first->insn), n[0]);
        }
        // Unprivileged loaders may not loop: the kernel names the first back edge its search meets.
        if (row.msg_unpriv.find("back-edge") != std::string::npos) {
            ++back_edges_checked;
            EXPECT_FALSE(g.back_edges.empty());
            if (const auto n = numbers_after(row.msg_unpriv, "back-edge from insn "); n.size() == 2) {
                const uint32_t from = n[0], to = n[1];
                EXPECT_TRUE(std::any_of(g.back_edges.begin(), g.back_edges.end(),
                                        [&](const BackEdge& e) { return slot(e.from) == from && slot(e.to) == to; }))
                    << "no back edge from " << from << " to " << to;
            }
        }
    }
    std::printf("kernel selftests: %d accepted programs without structural findings, %d unreachable-insn and %d "
                "back-edge rejections matched\n",
                accepted, unreachable_checked, back_edges_checked);
    EXPECT_EQ(accepted, 567);
}

}  // namespace
}  // namespace bpfvm
