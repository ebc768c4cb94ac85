// Every object of ../shared/corpus/ebpf-samples/invalid through `bpfvm inspect` and `bpfvm run`:
// each gives its exact answer (a clear error, or the listing/result when the file is only invalid
// for a verifier), never a signal or an internal error. The run uses a 64-byte zero frame.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "run_cli.hpp"

namespace bpfvm::hostile {
namespace {

const std::string kDir = std::string(BPFVM_SHARED_DIR) + "/corpus/ebpf-samples/invalid";

struct Expected {
    int inspect_exit;
    int run_exit;
    std::string run_err;  // exact stderr of `bpfvm run` ("{file}" is the object's path)
};

// The first line of stderr and the exit codes of each file.
const std::map<std::string, Expected>& expected() {
    static const std::map<std::string, Expected> table = {
        {"58087ea4ff41695f3186d628a3250b26dc8d237a", {2, 2, "bpfvm run: {file}: symbol 4: bad name offset 512\n"}},
        {"662b334a22904023c13f11008e072076a4f4d215", {2, 2, "bpfvm run: {file}: symbol 123: bad name offset 16515072\n"}},
        {"806cc077e56f0ec32236c99055714f63649e7a38",
         {2, 2, "bpfvm run: {file}: section header table [1296, +1024) extends past the end of the file (1748 bytes)\n"}},
        {"ab3408afd06d68dd7e73bf21bde38350d9751a78", {2, 2, "bpfvm run: {file}: .BTF: type 1: invalid kind 0\n"}},
        {"af99e766f6ba44fd7f2135c3e325c817224b99a3", {2, 2, "bpfvm run: {file}: section 17: bad name offset 2097292\n"}},
        {"badsymsize.o", {2, 2, "bpfvm run: {file}: section .symtab: symbol entry size 8, expected 24\n"}},
        {"c049438cf649269921736e7306231385350dea58", {2, 2, "bpfvm run: {file}: section 3: bad name offset 524289\n"}},
        // Valid ELF whose programs a verifier rejects: bpfvm loads and runs them (checked mode).
        {"dac31099c3bb5b6395908c82cc8540e77a6a1849", {0, 0, ""}},
        {"ef2e42c0bfcf4dab6b9c3926759365b6dfa73634", {0, 0, ""}},
        {"invalid-lddw.o",
         {2, 2, "bpfvm run: {file}: section .text: program func: insn 1: lddw is missing its second half\n"}},
        // 36 programs: run asks which one (the verifier would time out on it).
        {"timeout-29db93548c671165313b314d4f83a3eefa24df37", {0, 2, [] {
             std::string s = "bpfvm run: {file}: the object has 36 programs; choose one with --program:\n";
             for (int i = 0; i < 35; ++i) s += "  bind_test_callee" + std::to_string(i) + "\n";
             return s + "  bind_test_caller\n";
         }()}},
    };
    return table;
}

TEST(InvalidCorpus, ClearErrorsNeverACrash) {
    if (!std::filesystem::is_directory(kDir)) GTEST_SKIP() << kDir << " not found";
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
        if (!entry.is_regular_file()) continue;
        const std::string path = entry.path().string();
        const std::string name = entry.path().filename().string();
        ++files;
        // --strict: a program that cannot be loaded fails the command (inspect lists it otherwise).
        const CliResult inspect = run_bpfvm({"inspect", "--strict", path});
        const CliResult run = run_bpfvm({"run", path, "--data-hex", std::string(128, '0')});
        if (std::getenv("BPFVM_HOSTILE_PRINT"))
            std::printf("--- %s: inspect %d, run %d\n%s", name.c_str(), inspect.exit_code, run.exit_code, run.err.c_str());
        for (const CliResult* r : {&inspect, &run}) {
            ASSERT_EQ(r->signal, 0) << name << "\n" << r->err;
            ASSERT_FALSE(r->timed_out) << name;
            ASSERT_NE(r->exit_code, 3) << name << "\n" << r->err;
            if (r->exit_code != 0) {
                EXPECT_FALSE(r->err.empty()) << name << ": failed without a message";
            }
        }
        const auto it = expected().find(name);
        if (it == expected().end()) {
            ADD_FAILURE() << name << ": not in the table (inspect " << inspect.exit_code << ", run " << run.exit_code
                          << ")\n" << run.err;
            continue;
        }
        EXPECT_EQ(inspect.exit_code, it->second.inspect_exit) << name << "\n" << inspect.err;
        EXPECT_EQ(run.exit_code, it->second.run_exit) << name;
        std::string want = it->second.run_err;
        for (size_t pos; (pos = want.find("{file}")) != std::string::npos;) want.replace(pos, 6, path);
        EXPECT_EQ(run.err, want) << name;
    }
    EXPECT_EQ(files, expected().size());
}

}  // namespace
}  // namespace bpfvm::hostile
