// The JIT's code arena: code runs from a mapping that is never writable, freed blocks are reused
// (compiling and dropping programs in a loop does not grow memory), blocks larger than a chunk
// work, and reused memory runs the new code, not the old.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "bpfvm/asm.hpp"
#include "bpfvm/detail/jit.hpp"
#include "jit/code_arena.hpp"

namespace bpfvm::jit {
namespace {

/// The permission string ("r-xs", "rw-s", ...) of the mapping holding `p`, from /proc/self/maps.
std::string permissions_of(const void* p) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const auto addr = reinterpret_cast<uintptr_t>(p);
    while (std::getline(maps, line)) {
        unsigned long lo = 0, hi = 0;
        char perms[8] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi) return perms;
    }
    return "";
}

TEST(CodeArena, CodeRunsFromAMappingThatIsNeverWritable) {
    const std::vector<uint8_t> code(300, 0xc3);
    auto block = CodeArena::instance().place(code.data(), code.size());
    ASSERT_TRUE(block.has_value()) << block.error().to_string();
    EXPECT_EQ(std::memcmp(block->exec, code.data(), code.size()), 0);
    const std::string perms = permissions_of(block->exec);
    ASSERT_EQ(perms.size(), 4u);
    EXPECT_EQ(perms[0], 'r');
    EXPECT_EQ(perms[1], '-') << perms;
    EXPECT_EQ(perms[2], 'x') << perms;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(block->exec) % CodeArena::kCodeAlign, 0u);
    CodeArena::instance().release(*block);
}

TEST(CodeArena, FreedBlocksAreReused) {
    std::set<const uint8_t*> seen;
    const std::vector<uint8_t> code(1000, 0x90);
    for (int i = 0; i < 200; ++i) {
        auto a = CodeArena::instance().place(code.data(), code.size());
        auto b = CodeArena::instance().place(code.data(), code.size() / 2);
        ASSERT_TRUE(a.has_value() && b.has_value());
        seen.insert(a->exec);
        seen.insert(b->exec);
        CodeArena::instance().release(*b);
        CodeArena::instance().release(*a);
    }
    EXPECT_LE(seen.size(), 4u);  // the same few places over and over
}

TEST(CodeArena, BlocksLargerThanAChunk) {
    std::vector<uint8_t> code(size_t{9} << 20);
    for (size_t i = 0; i < code.size(); ++i) code[i] = static_cast<uint8_t>(i * 7);
    auto block = CodeArena::instance().place(code.data(), code.size());
    ASSERT_TRUE(block.has_value()) << block.error().to_string();
    EXPECT_EQ(std::memcmp(block->exec, code.data(), code.size()), 0);
    CodeArena::instance().release(*block);
}

TEST(CodeArena, ReusedMemoryRunsTheNewCode) {
    if (!host_supported()) GTEST_SKIP() << "no JIT backend on this host";
    const HelperTable helpers;
    for (int i = 0; i < 100; ++i) {
        auto raw = assemble("mov %r0, " + std::to_string(i * 3) + "\nexit");
        ASSERT_TRUE(raw.has_value());
        auto program = decode_program(std::span<const RawInsn>(*raw));
        ASSERT_TRUE(program.has_value());
        auto exe = compile(*program, helpers, EngineOptions{});
        ASSERT_TRUE(exe.has_value()) << exe.error().to_string();
        RunContext ctx;
        EXPECT_EQ((*exe)->run(ctx, 0).r0, static_cast<uint64_t>(i * 3));
    }
}

}  // namespace
}  // namespace bpfvm::jit
