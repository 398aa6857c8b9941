#include "plan/graph.h"

#include <gtest/gtest.h>

#include "load/loader.h"

namespace mex {
namespace {

// Loads without checks failing the test: cycles are load errors, so read the diagnostics too.
Milestone Load(const std::string& yaml, Diagnostics* diags) {
  Milestone m;
  LoadMilestoneFromString("g.yaml", yaml, &m, diags);
  return m;
}

std::vector<std::string> Ids(const Milestone& m, const std::vector<uint32_t>& tasks) {
  std::vector<std::string> ids;
  for (uint32_t t : tasks) ids.emplace_back(m.tasks[t].id);
  return ids;
}

TEST(GraphTest, AllMeansEveryOtherTaskOfThePhase) {
  Diagnostics diags("g.yaml");
  Milestone m = Load(R"(
phases:
  - {name: one, weight: 50, tasks: [{id: x, run: "true"}]}
  - name: two
    weight: 50
    tasks:
      - {id: a, run: "true"}
      - {id: b, run: "true", deps: [x]}
      - {id: check, run: "true", deps: [all, a]}
)",
                     &diags);
  ASSERT_TRUE(diags.empty()) << diags.Format();
  Graph g(m);
  auto deps = g.deps(3);
  EXPECT_EQ(std::vector<uint32_t>(deps.begin(), deps.end()), (std::vector<uint32_t>{1, 2}));
  auto dependents = g.dependents(0);
  EXPECT_EQ(std::vector<uint32_t>(dependents.begin(), dependents.end()),
            (std::vector<uint32_t>{2}));
  EXPECT_EQ(g.edge_count(), 3u);
}

TEST(GraphTest, FindsEachCycleOnceStartingAtItsFirstTask) {
  Diagnostics diags("g.yaml");
  Milestone m = Load(R"(
tasks:
  - {id: free, run: "true"}
  - {id: a, run: "true", deps: [c]}
  - {id: b, run: "true", deps: [a]}
  - {id: c, run: "true", deps: [b]}
  - {id: self, run: "true", deps: [self]}
  - {id: behind, run: "true", deps: [a]}
)",
                     &diags);
  Graph g(m);
  auto cycles = g.FindCycles();
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(Ids(m, cycles[0]), (std::vector<std::string>{"a", "c", "b"}));
  EXPECT_EQ(Ids(m, cycles[1]), (std::vector<std::string>{"self"}));
  EXPECT_NE(diags.Format().find("dependency cycle: a -> c -> b -> a"), std::string::npos)
      << diags.Format();
}

TEST(GraphTest, AcyclicGraphHasNoCycles) {
  Diagnostics diags("g.yaml");
  Milestone m = Load("tasks: [{id: a, run: x}, {id: b, run: x, deps: [a]}]", &diags);
  ASSERT_TRUE(diags.empty()) << diags.Format();
  EXPECT_TRUE(Graph(m).FindCycles().empty());
}

}  // namespace
}  // namespace mex
