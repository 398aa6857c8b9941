#include "plan/file_overlap.h"

#include <gtest/gtest.h>

namespace mex {
namespace {

// Overlap is symmetric: every case is checked both ways.
void ExpectOverlap(std::string_view a, std::string_view b, bool expected) {
  EXPECT_EQ(EntriesOverlap(a, b), expected) << a << " vs " << b;
  EXPECT_EQ(EntriesOverlap(b, a), expected) << b << " vs " << a;
}

TEST(FileOverlapTest, LiteralPathsOverlapWhenEqual) {
  ExpectOverlap("docs/api.md", "docs/api.md", true);
  ExpectOverlap("docs/api.md", "docs/index.md", false);
  ExpectOverlap("./docs//api.md", "docs/api.md", true);  // empty and "." segments are dropped
  ExpectOverlap("docs/api.md", "docs/api.md.orig", false);
}

TEST(FileOverlapTest, ALiteralPathNamesOneFileNotAFolder) {
  ExpectOverlap("src/api", "src/api/v1.py", false);
  ExpectOverlap("src/api/", "src/api/v1.py", true);
  ExpectOverlap("src/api/.", "src/api/v1.py", true);
  ExpectOverlap("src/api", "src/api/", true);  // the folder covers the name itself
}

TEST(FileOverlapTest, AGlobAgainstALiteralIsFnmatchWithPathname) {
  ExpectOverlap("src/api/*.py", "src/api/v1.py", true);
  ExpectOverlap("src/api/*.py", "src/api/v1.md", false);
  ExpectOverlap("src/*.py", "src/api/v1.py", false);  // * stops at a slash
  ExpectOverlap("src/api/v?.py", "src/api/v1.py", true);
  ExpectOverlap("src/api/v[0-4].py", "src/api/v7.py", false);
  ExpectOverlap("src/*/v1.py", "src/api/v1.py", true);
  ExpectOverlap("src/*", "src/.env", true);  // dot files are not special: a task may edit them
}

TEST(FileOverlapTest, DoubleStarAndATrailingSlashCoverAWholeFolder) {
  ExpectOverlap("src/**", "src/api/deep/er/v1.py", true);
  ExpectOverlap("src/", "src/api/deep/er/v1.py", true);
  ExpectOverlap("src/**", "tests/api.py", false);
  ExpectOverlap("src/**/*.py", "src/a/b/c.py", true);
  ExpectOverlap("src/**/*.py", "src/c.py", true);  // ** may match no segment
  ExpectOverlap("src/**/*.py", "src/a/b/c.md", false);
  ExpectOverlap("**/*.py", "tools/gen.py", true);
  ExpectOverlap("**", "anything/at/all", true);
  ExpectOverlap(".", "anything/at/all", true);
  ExpectOverlap("src/**", "src", true);
}

TEST(FileOverlapTest, TwoGlobsOverlapUnlessTheirFixedEndsContradict) {
  ExpectOverlap("src/*.py", "src/*.md", false);   // endings differ
  ExpectOverlap("src/test_*", "src/*.py", true);  // test_x.py matches both
  ExpectOverlap("src/api_*", "src/db_*", false);  // beginnings differ
  ExpectOverlap("src/a*.py", "src/ab*", true);
  ExpectOverlap("src/*_test.py", "src/*.py", true);
  ExpectOverlap("src/*.py", "docs/*.py", false);  // a literal segment differs
  ExpectOverlap("src/**/*.py", "**/api/*.md", false);
  ExpectOverlap("src/**/*.py", "**/api/*.py", true);
  // Conservative: no name matches both [ab]x and [cd]x, but both fixed endings are "x".
  ExpectOverlap("src/[ab]x", "src/[cd]x", true);
}

TEST(FileOverlapTest, EntriesOutsideTheWorkspaceAreProblems) {
  EXPECT_EQ(FileEntryProblem("src/api/*.py"), "");
  EXPECT_EQ(FileEntryProblem("a..b/c"), "");  // only a whole ".." segment leaves
  EXPECT_EQ(FileEntryProblem(""), "is empty");
  EXPECT_EQ(FileEntryProblem("/etc/passwd"), "is absolute: write it relative to the workspace");
  EXPECT_EQ(FileEntryProblem("../other/x"), "leaves the workspace: write it without '..'");
  EXPECT_EQ(FileEntryProblem("src/../../x"), "leaves the workspace: write it without '..'");
  EXPECT_EQ(FileEntryProblem("src/.."), "leaves the workspace: write it without '..'");
}

TEST(FileOverlapTest, OverlappingItemsNamesEachPairOnceWithItsFirstOverlappingEntries) {
  std::vector<std::string> api = {"docs/api.md", "src/api/*.py"};
  std::vector<std::string> handler = {"src/api/v1.py", "docs/api.md"};
  std::vector<std::string> cli = {"src/cli/main.py"};
  std::vector<std::string> everything = {"**"};
  std::vector<std::string> none;
  std::vector<const std::vector<std::string>*> items = {&api, &handler, nullptr, &cli, &none};
  std::vector<ItemOverlap> pairs = OverlappingItems(items);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].a, 0u);
  EXPECT_EQ(pairs[0].b, 1u);
  EXPECT_EQ(pairs[0].entry_a, 0u);  // docs/api.md, the first of api's that overlaps
  EXPECT_EQ(pairs[0].entry_b, 1u);

  items.push_back(&everything);
  pairs = OverlappingItems(items);
  ASSERT_EQ(pairs.size(), 4u);
  std::vector<std::pair<uint32_t, uint32_t>> ids;
  for (const ItemOverlap& p : pairs) ids.emplace_back(p.a, p.b);
  EXPECT_EQ(ids, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 1}, {0, 5}, {1, 5}, {3, 5}}));
}

TEST(FileOverlapTest, OverlappingItemsFindsWhatPairwiseComparisonFinds) {
  // The index by literal prefix must not lose a pair: compare it with every pair checked.
  std::vector<std::vector<std::string>> lists = {
      {"src/api/*.py"}, {"src/api/v1.py"},   {"src/"},       {"src/api"},  {"**/v1.py"},
      {"docs/a.md"},    {"docs/*.md", "x"},  {"src/*/v1.*"}, {"x/y/z"},    {"x/**/z"},
      {"*.md"},         {"a.md", "src/db/"}, {"."},          {"src/api2"}, {"src/api/v1.py/"}};
  std::vector<const std::vector<std::string>*> items;
  for (const auto& list : lists) items.push_back(&list);
  std::vector<std::pair<uint32_t, uint32_t>> expected, got;
  for (uint32_t a = 0; a < lists.size(); ++a) {
    for (uint32_t b = a + 1; b < lists.size(); ++b) {
      bool overlap = false;
      for (const std::string& x : lists[a]) {
        for (const std::string& y : lists[b]) overlap = overlap || EntriesOverlap(x, y);
      }
      if (overlap) expected.emplace_back(a, b);
    }
  }
  for (const ItemOverlap& p : OverlappingItems(items)) got.emplace_back(p.a, p.b);
  EXPECT_EQ(got, expected);
  EXPECT_GT(expected.size(), 20u);  // the lists do overlap in many ways
}

}  // namespace
}  // namespace mex
