#include <gtest/gtest.h>

#include "bpfvm/isa.hpp"

namespace bpfvm {
namespace {

TEST(DecodeSmoke, MovExit) {
    const uint8_t bytes[] = {0xb7, 0x00, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
    auto prog = decode_program(std::span<const uint8_t>(bytes));
    ASSERT_TRUE(prog.has_value()) << prog.error().to_string();
    EXPECT_EQ(prog->insns.size(), 2u);
    EXPECT_EQ(prog->insns[0].op, Op::Mov64Imm);
    EXPECT_EQ(prog->insns[1].op, Op::Exit);
}

}  // namespace
}  // namespace bpfvm
