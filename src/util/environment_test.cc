#include "util/environment.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mex {
namespace {

using Words = std::vector<std::string>;

TEST(EnvironmentTest, SetReplacesAndFindReads) {
  Words env = {"A=1", "AB=2"};
  SetEnv(&env, "A", "3");
  SetEnv(&env, "C", "x=y");
  EXPECT_EQ(env, (Words{"A=3", "AB=2", "C=x=y"}));
  EXPECT_EQ(FindEnv(env, "C"), "x=y");
  EXPECT_EQ(FindEnv(env, "AB"), "2");
  EXPECT_FALSE(FindEnv(env, "B"));
}

}  // namespace
}  // namespace mex
