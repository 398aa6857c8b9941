#include "model/diagnostics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace mex {
namespace {

TEST(ClosestMatchTest, SuggestsWhatATypoMeant) {
  std::vector<std::string_view> keys = {"deps", "env", "effort", "timeout", "description"};
  EXPECT_EQ(ClosestMatch("dpes", keys), "deps");         // two neighbours swapped
  EXPECT_EQ(ClosestMatch("efort", keys), "effort");      // a letter left out
  EXPECT_EQ(ClosestMatch("timeoutt", keys), "timeout");  // one too many
  EXPECT_EQ(ClosestMatch("descriptoin", keys), "description");
  EXPECT_EQ(ClosestMatch("cwd", keys), "");
  EXPECT_EQ(ClosestMatch("", keys), "");
  EXPECT_EQ(DidYouMean("evn", keys), " (did you mean 'env'?)");
}

TEST(ClosestMatchTest, LongWordsCostLittleAndGetNoSuggestion) {
  // Found while writing the loader targets: a dep of 10 KB next to a task id of 10 KB that
  // differs in one letter took `mex validate` 2.9 s and 790 MB (a table of 10^8 cells), and
  // longer ids more memory than the machine has.
  std::string id(10000, 'a');
  std::string dep = id.substr(1) + "b";
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ClosestMatch(dep, {id}), "");
  EXPECT_EQ(ClosestMatch("deps", {id, "dep"}), "dep");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  // The longest word that still gets one.
  std::string long_name(256, 'x');
  EXPECT_EQ(ClosestMatch(long_name.substr(1) + "y", {long_name}), long_name);
}

}  // namespace
}  // namespace mex
