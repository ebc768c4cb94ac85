#include <gtest/gtest.h>

#include "verifier/tnum.hpp"

using bpfvm::verifier::Tnum;

TEST(Tnum, Placeholder) { EXPECT_TRUE(Tnum::constant(1).is_const()); }
