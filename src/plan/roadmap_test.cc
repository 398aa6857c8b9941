#include "plan/roadmap.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "load/loader.h"

namespace mex {
namespace {

struct SmallDag {
  int n = 0;
  std::vector<std::vector<int>> deps;
  std::vector<double> effort;
};

SmallDag RandomDag(std::mt19937& rng, int max_tasks) {
  SmallDag dag;
  dag.n = 1 + static_cast<int>(rng() % max_tasks);
  dag.deps.resize(dag.n);
  for (int i = 0; i < dag.n; ++i) {
    dag.effort.push_back(1 + static_cast<int>(rng() % 4));
    for (int j = 0; j < i; ++j) {
      if (rng() % 3 == 0) dag.deps[i].push_back(j);
    }
  }
  // Shuffle the file order so that it is not a topological order.
  std::vector<int> perm(dag.n);
  for (int i = 0; i < dag.n; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  SmallDag shuffled = dag;
  for (int i = 0; i < dag.n; ++i) {
    shuffled.effort[perm[i]] = dag.effort[i];
    shuffled.deps[perm[i]].clear();
    for (int d : dag.deps[i]) shuffled.deps[perm[i]].push_back(perm[d]);
  }
  return shuffled;
}

std::string ToJson(const SmallDag& dag) {
  std::string tasks;
  for (int i = 0; i < dag.n; ++i) {
    std::string deps;
    for (int d : dag.deps[i]) deps += fmt::format("{}\"t{}\"", deps.empty() ? "" : ",", d);
    tasks += fmt::format("{}{{\"id\":\"t{}\",\"run\":\"true\",\"effort\":{},\"deps\":[{}]}}",
                         i ? "," : "", i, dag.effort[i], deps);
  }
  return "{\"tasks\":[" + tasks + "]}";
}

// Every path of the DAG, walked one by one: the figures below come from enumerating them.
void ForEachPath(const SmallDag& dag, const std::function<void(const std::vector<int>&)>& f) {
  std::vector<std::vector<int>> dependents(dag.n);
  for (int i = 0; i < dag.n; ++i) {
    for (int d : dag.deps[i]) dependents[d].push_back(i);
  }
  std::vector<int> path;
  std::function<void(int)> walk = [&](int at) {
    path.push_back(at);
    f(path);
    for (int next : dependents[at]) walk(next);
    path.pop_back();
  };
  for (int i = 0; i < dag.n; ++i) walk(i);
}

double PathEffort(const SmallDag& dag, const std::vector<int>& path) {
  double sum = 0;
  for (int t : path) sum += dag.effort[t];
  return sum;
}

// List scheduling, the slow way: at each moment, finish what is due, then fill free slots with
// the ready task of the longest remaining path (ties: lowest index).
double BruteMakespan(const SmallDag& dag, const std::vector<double>& remaining, int slots) {
  std::vector<double> finish(dag.n, -1);
  std::vector<bool> started(dag.n, false), done(dag.n, false);
  double now = 0;
  int finished = 0;
  while (finished < dag.n) {
    for (int i = 0; i < dag.n; ++i) {
      if (started[i] && !done[i] && finish[i] <= now) done[i] = true, ++finished;
    }
    for (;;) {
      int running = 0;
      for (int i = 0; i < dag.n; ++i) running += started[i] && !done[i];
      if (running >= slots) break;
      int best = -1;
      for (int i = 0; i < dag.n; ++i) {
        if (started[i]) continue;
        bool ready =
            std::all_of(dag.deps[i].begin(), dag.deps[i].end(), [&](int d) { return done[d]; });
        if (ready && (best < 0 || remaining[i] > remaining[best])) best = i;
      }
      if (best < 0) break;
      started[best] = true;
      finish[best] = now + dag.effort[best];
    }
    double next = -1;
    for (int i = 0; i < dag.n; ++i) {
      if (started[i] && !done[i] && (next < 0 || finish[i] < next)) next = finish[i];
    }
    if (next < 0) break;
    now = next;
  }
  double end = 0;
  for (int i = 0; i < dag.n; ++i) end = std::max(end, finish[i]);
  return end;
}

TEST(RoadmapTest, MatchesBruteForceOnRandomDags) {
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    SmallDag dag = RandomDag(rng, 9);
    Milestone m;
    Diagnostics diags("random.json");
    ASSERT_TRUE(LoadMilestoneFromString("random.json", ToJson(dag), &m, &diags)) << diags.Format();
    int slots = 1 + static_cast<int>(rng() % 4);
    Graph graph(m);
    Roadmap r = ComputeRoadmap(m, graph, slots);

    std::vector<int> level(dag.n, 0);
    std::vector<double> remaining(dag.n, 0);
    double critical = 0;
    double total = 0;
    for (double e : dag.effort) total += e;
    ForEachPath(dag, [&](const std::vector<int>& path) {
      int last = path.back();
      level[last] = std::max(level[last], static_cast<int>(path.size()) - 1);
      double effort = PathEffort(dag, path);
      critical = std::max(critical, effort);
      remaining[path.front()] = std::max(remaining[path.front()], effort);
    });
    SCOPED_TRACE(ToJson(dag) + fmt::format(" slots={}", slots));
    for (int i = 0; i < dag.n; ++i) {
      const Task* task = m.FindTask(fmt::format("t{}", i));
      ASSERT_NE(task, nullptr);
      auto index = static_cast<uint32_t>(task - m.tasks.data());
      EXPECT_EQ(r.level[index], static_cast<uint32_t>(level[i])) << "t" << i;
      EXPECT_DOUBLE_EQ(r.priority[index], remaining[i]) << "t" << i;
    }
    EXPECT_DOUBLE_EQ(r.critical_path_length, critical);
    EXPECT_DOUBLE_EQ(r.total_effort, total);
    // The critical path is a chain of deps whose effort is the critical length.
    double along = 0;
    for (size_t k = 0; k < r.critical_path.size(); ++k) {
      along += m.tasks[r.critical_path[k]].effort;
      if (k > 0) {
        auto deps = graph.deps(r.critical_path[k]);
        EXPECT_NE(std::find(deps.begin(), deps.end(), r.critical_path[k - 1]), deps.end());
      }
    }
    EXPECT_DOUBLE_EQ(along, critical);
    int max_level = *std::max_element(level.begin(), level.end());
    EXPECT_EQ(r.batches.size(), static_cast<size_t>(max_level + 1));
    EXPECT_DOUBLE_EQ(r.makespan, BruteMakespan(dag, remaining, slots));
    EXPECT_GE(r.makespan, critical);
    EXPECT_GE(r.makespan, total / slots);
  }
}

// The runner's order by durations from history: the remaining critical path with other weights
// than effort, against the paths enumerated.
TEST(RoadmapTest, RemainingCriticalPathInSecondsMatchesBruteForce) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    SmallDag dag = RandomDag(rng, 9);
    Milestone m;
    Diagnostics diags("random.json");
    ASSERT_TRUE(LoadMilestoneFromString("random.json", ToJson(dag), &m, &diags)) << diags.Format();
    Graph graph(m);
    SmallDag timed = dag;
    std::vector<double> seconds(m.tasks.size());
    for (int i = 0; i < dag.n; ++i) {
      timed.effort[i] = 0.5 + static_cast<double>(rng() % 100) / 10;
      auto index = static_cast<uint32_t>(m.FindTask(fmt::format("t{}", i)) - m.tasks.data());
      seconds[index] = timed.effort[i];
    }
    std::vector<double> remaining(dag.n, 0);
    ForEachPath(timed, [&](const std::vector<int>& path) {
      remaining[path.front()] = std::max(remaining[path.front()], PathEffort(timed, path));
    });
    std::vector<double> priority = RemainingCriticalPath(m, graph, seconds);
    for (int i = 0; i < dag.n; ++i) {
      auto index = static_cast<uint32_t>(m.FindTask(fmt::format("t{}", i)) - m.tasks.data());
      EXPECT_DOUBLE_EQ(priority[index], remaining[i]) << ToJson(dag) << " t" << i;
    }
  }
}

TEST(RoadmapTest, EnoughSlotsGiveTheCriticalPath) {
  std::mt19937 rng(11);
  for (int round = 0; round < 100; ++round) {
    SmallDag dag = RandomDag(rng, 9);
    Milestone m;
    Diagnostics diags("random.json");
    ASSERT_TRUE(LoadMilestoneFromString("random.json", ToJson(dag), &m, &diags));
    Roadmap r = ComputeRoadmap(m, Graph(m), dag.n);
    EXPECT_DOUBLE_EQ(r.makespan, r.critical_path_length);
  }
}

TEST(RoadmapTest, PhasesAreBarriers) {
  const char* yaml = R"(
phases:
  - name: one
    weight: 40
    tasks:
      - {id: a, run: "true", effort: 2}
      - {id: b, run: "true", effort: 5}
  - name: two
    weight: 60
    tasks:
      - {id: c, run: "true", effort: 1, deps: [a]}
      - {id: d, run: "true", effort: 3, deps: [c]}
)";
  Milestone m;
  Diagnostics diags("phases.yaml");
  ASSERT_TRUE(LoadMilestoneFromString("phases.yaml", yaml, &m, &diags)) << diags.Format();
  Roadmap r = ComputeRoadmap(m, Graph(m), 4);
  // c waits for the whole first phase (b: 5), not only for its dep a (2).
  EXPECT_DOUBLE_EQ(r.makespan, 5 + 4);
  EXPECT_DOUBLE_EQ(r.critical_path_length, 5 + 4);
  ASSERT_EQ(r.critical_path.size(), 3u);
  EXPECT_EQ(m.tasks[r.critical_path[0]].id, "b");
  EXPECT_EQ(m.tasks[r.critical_path[1]].id, "c");
  EXPECT_EQ(m.tasks[r.critical_path[2]].id, "d");
  ASSERT_EQ(r.batches.size(), 3u);  // {a, b}, {c}, {d}
  EXPECT_EQ(r.level[2], 1u);
  EXPECT_EQ(r.level[3], 2u);
  ASSERT_EQ(r.phases.size(), 2u);
  EXPECT_DOUBLE_EQ(r.phases[0].makespan, 5);
  EXPECT_DOUBLE_EQ(r.phases[1].makespan, 4);
}

TEST(RoadmapTest, OneSlotRunsEverythingInSequence) {
  Milestone m;
  Diagnostics diags("flat.json");
  ASSERT_TRUE(LoadMilestoneFromString(
      "flat.json",
      R"({"tasks":[{"id":"a","run":"x","effort":2},{"id":"b","run":"x","effort":3},)"
      R"({"id":"c","run":"x","effort":4}]})",
      &m, &diags));
  Roadmap r = ComputeRoadmap(m, Graph(m), 1);
  EXPECT_DOUBLE_EQ(r.makespan, 9);
  EXPECT_EQ(r.max_width, 3u);
  EXPECT_DOUBLE_EQ(r.critical_path_length, 4);
}

}  // namespace
}  // namespace mex
