#include "model/eta.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "load/loader.h"
#include "plan/roadmap.h"

namespace mex {
namespace {

using State = EtaTask::State;

EtaTask Task(State state, double effort, std::vector<uint32_t> deps = {}, uint32_t phase = 0) {
  EtaTask t;
  t.state = state;
  t.effort = effort;
  t.deps = std::move(deps);
  t.phase = phase;
  return t;
}

EtaTask Succeeded(double effort, double seconds, uint32_t phase = 0) {
  EtaTask t = Task(State::kSucceeded, effort, {}, phase);
  t.seconds = seconds;
  return t;
}

EtaTask Running(double effort, double elapsed, std::vector<uint32_t> deps = {},
                uint32_t phase = 0) {
  EtaTask t = Task(State::kRunning, effort, std::move(deps), phase);
  t.elapsed = elapsed;
  return t;
}

TEST(EtaTest, UnknownWithoutEvidence) {
  EtaInput in;
  in.tasks = {Running(1, 5), Task(State::kWaiting, 2, {0})};
  Eta eta = EstimateEta(in);
  EXPECT_FALSE(eta.known);
  EXPECT_LT(SimulateEta(in, 1), 0);
  // A history is evidence enough.
  in.tasks[0].history = 8;
  in.tasks[1].history = 4;
  eta = EstimateEta(in);
  ASSERT_TRUE(eta.known);
  EXPECT_DOUBLE_EQ(eta.seconds, 3 + 4);
  EXPECT_EQ(eta.basis, "history");
}

// docs/commands.md's m.yaml, read by `mex status` 1.3 s into its execute phase (at -j2):
// sketch took 0.5 s (effort 1); build-core and build-cli (sleep 3, effort 2) run; then test and
// package (sleep 1 each) one after the other. 3.7 s are left. The old estimate, effort left times
// seconds per effort over the slots, said 1.5 s: it spread test and package over two slots.
EtaInput DocsExample() {
  EtaInput in;
  in.jobs = 2;
  in.tasks = {Succeeded(1, 0.5, 0), Running(2, 1.3, {}, 1), Running(2, 1.3, {}, 1),
              Task(State::kWaiting, 1, {1, 2}, 1), Task(State::kWaiting, 1, {3}, 1)};
  return in;
}

TEST(EtaTest, DocsExampleCriticalPathDominates) {
  EtaInput in = DocsExample();
  EXPECT_DOUBLE_EQ(EffortRateEta(6, 0.5, 1, 2), 1.5);
  Eta eta = EstimateEta(in);
  ASSERT_TRUE(eta.known);
  EXPECT_EQ(eta.basis, "this run");
  EXPECT_FALSE(eta.provisional);
  // Without a history, the builds running past what sketch's rate says raise the rate:
  // (0.5 + 1.3 + 1.3) / 5 = 0.62 s per effort. They are expected to run a third of their time
  // again (0.433 s), then test and package one after the other (0.62 s each).
  EXPECT_NEAR(eta.seconds, 1.3 / 3 + 2 * 0.62, 1e-9);
  EXPECT_GT(eta.seconds, EffortRateEta(6, 0.5, 1, 2));
  // One ratio (sketch's) is thin evidence: the range is at least x0.67 to x1.5.
  EXPECT_LT(eta.low, eta.seconds);
  EXPECT_GT(eta.high, eta.seconds * 1.4);
  // With the first run's durations (an earlier run of the same milestone) the estimate is the
  // time left: 1.7 s of the builds, then 1 s and 1 s.
  in.tasks[0].history = 0.5;
  in.tasks[1].history = in.tasks[2].history = 3;
  in.tasks[3].history = in.tasks[4].history = 1;
  eta = EstimateEta(in);
  EXPECT_NEAR(eta.seconds, 3.7, 1e-9);
  EXPECT_EQ(eta.basis, "history");
}

TEST(EtaTest, ChainOnFreeSlotsIsItsLength) {
  // A chain of four tasks and four independent ones, on four slots, at 1 s per effort.
  EtaInput in;
  in.jobs = 4;
  in.tasks = {Succeeded(1, 1)};
  for (uint32_t i = 0; i < 4; ++i) {
    in.tasks.push_back(
        Task(State::kWaiting, 1, i == 0 ? std::vector<uint32_t>{} : std::vector<uint32_t>{i}));
  }
  for (int i = 0; i < 4; ++i) in.tasks.push_back(Task(State::kWaiting, 1));
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 4);
  EXPECT_DOUBLE_EQ(EffortRateEta(8, 1, 1, 4), 2);
  // One slot: everything one after the other.
  in.jobs = 1;
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 8);
}

TEST(EtaTest, HistoryFirstThenKindShrunkTowardTheGlobalRate) {
  EtaInput in;
  // Nine commands at 1 s per effort (kind 0) and one agent task at 10 s (kind 1).
  for (int i = 0; i < 9; ++i) in.tasks.push_back(Succeeded(1, 1));
  in.tasks.push_back(Succeeded(1, 10));
  in.tasks.back().kind = 1;
  EtaTask agent = Task(State::kWaiting, 1);
  agent.kind = 1;
  in.tasks.push_back(agent);
  // Global rate 19/10 = 1.9; the agent's own 10 counts as one task against three of the prior.
  EXPECT_NEAR(SimulateEta(in, 1), (10 + 3 * 1.9) / 4, 1e-9);
  // A history wins over both.
  in.tasks.back().history = 42;
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 42);
  EXPECT_EQ(EstimateEta(in).basis, "history");
  // Mixed: a command without a history as well.
  in.tasks.push_back(Task(State::kWaiting, 1));
  EXPECT_EQ(EstimateEta(in).basis, "history and this run");
}

TEST(EtaTest, QueueWaitIsNotRunTime) {
  EtaInput in;
  in.jobs = 4;
  EtaTask queued = Task(State::kRunning, 1);
  queued.queued = true;
  queued.elapsed = 4;  // waited in the queue so far
  queued.queue_s = 6;
  EtaTask later = Task(State::kWaiting, 1);
  later.queue_s = 6;
  in.tasks = {Succeeded(1, 10), queued, later};
  // The queued one: 2 s more of waiting, then all of its 10 s; the other: 6 s, then 10 s.
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 16);
  // A wait past the mean goes on a third of itself, as an overdue run does: 30 s waited, 10 s
  // more, then the run.
  in.tasks[1].elapsed = 30;
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 20);
  // Its wait is no evidence of a slow run: the rate stays 10 s per unit of effort.
  in.tasks[1].queue_s = in.tasks[2].queue_s = 0;
  in.tasks[1].elapsed = 100;
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 100.0 / 3 + 10);
}

TEST(EtaTest, RetryWaitCountsItsBackoff) {
  EtaInput in;
  in.jobs = 4;
  EtaTask retry = Task(State::kRetryWait, 2);
  retry.wait_s = 5;
  in.tasks = {Succeeded(1, 1), retry, Task(State::kWaiting, 1)};
  // The backoff's 5 s, then 2 s; the other task runs meanwhile.
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 7);
  // One attempt of four failed: each task still to run takes 1.25 times as long.
  in.attempts_ended = 4;
  in.attempts_failed = 1;
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 5 + 2.5);
}

TEST(EtaTest, TasksAfterAFailureAreSkippedAndPhasesAreBarriers) {
  EtaInput in;
  in.jobs = 8;
  in.tasks = {Succeeded(1, 1), Task(State::kOver, 1), Task(State::kWaiting, 50, {1}),
              Task(State::kWaiting, 50, {2}), Task(State::kWaiting, 3),
              // Phase 1 starts when phase 0 ends, whatever the free slots.
              Task(State::kWaiting, 2, {}, 1)};
  in.tasks[5].phase = 1;
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 3 + 2);
}

// The runner's priorities are its remaining critical paths over the whole graph (Session,
// plan/roadmap.h), skipped tasks included: `a` goes first for the chain behind `s`, which was
// skipped when `f` failed, and the estimate schedules it first too. By the chains that remain
// alone, b1 and b2 would go first and `a` would start last, at 5: 7 s rather than 6.
TEST(EtaTest, OrdersAsTheRunnerDoesThoughADependentWasSkipped) {
  EtaInput in;
  in.jobs = 2;
  in.tasks = {Task(State::kOver, 1),           // 0 f: failed
              Task(State::kWaiting, 2),        // 1 a
              Task(State::kOver, 1, {0, 1}),   // 2 s: skipped
              Task(State::kOver, 100, {2}),    // 3 skipped
              Task(State::kWaiting, 1),        // 4 b1
              Task(State::kWaiting, 4, {4}),   // 5
              Task(State::kWaiting, 1),        // 6 b2
              Task(State::kWaiting, 4, {6})};  // 7
  for (EtaTask& t : in.tasks) t.history = t.effort;
  // a and b1 at 0; b2 at 1; the two chains' ends at 2, over at 6.
  EXPECT_DOUBLE_EQ(SimulateEta(in, 1), 6);
}

TEST(EtaTest, ProvisionalWhileAPhaseIsNotExpanded) {
  EtaInput in;
  in.tasks = {Succeeded(1, 2), Task(State::kWaiting, 1)};
  in.unexpanded = true;
  Eta eta = EstimateEta(in);
  EXPECT_TRUE(eta.provisional);
  EXPECT_DOUBLE_EQ(eta.seconds, 2);
  // Its weight (40) at what the phases that ended took per unit of weight (3 s).
  in.unexpanded_weight = 40;
  in.seconds_per_weight = 3;
  EXPECT_DOUBLE_EQ(EstimateEta(in).seconds, 2 + 120);
  // Without a phase ended, its weight says nothing.
  in.seconds_per_weight = -1;
  EXPECT_DOUBLE_EQ(EstimateEta(in).seconds, 2);
  in.unexpanded_weight = 0;
  in.unexpanded_history = 60;
  eta = EstimateEta(in);
  EXPECT_DOUBLE_EQ(eta.seconds, 62);
  // One ratio is thin evidence (x0.67 to x1.5), applied to the 2 s simulated; the phase's 60 s
  // from history are added as they are.
  EXPECT_NEAR(eta.low, 2 * 0.67 + 60, 1e-9);
  EXPECT_NEAR(eta.high, 2 * 1.5 + 60, 1e-9);
}

TEST(EtaTest, RangeFromTheSpreadOfEvidence) {
  EtaInput in;
  in.jobs = 1;
  // Ten tasks of effort 1 that took 1..10 s: rate 5.5 s per effort, ratios 1/5.5 .. 10/5.5.
  for (int i = 1; i <= 10; ++i) in.tasks.push_back(Succeeded(1, i));
  in.tasks.push_back(Task(State::kWaiting, 1));
  Eta eta = EstimateEta(in);
  EXPECT_NEAR(eta.seconds, 5.5, 1e-9);
  // 20th and 80th percentiles of 1..10: 2.8 and 8.2.
  EXPECT_NEAR(eta.low, 2.8, 1e-9);
  EXPECT_NEAR(eta.high, 8.2, 1e-9);
  // Identical durations: no spread, the range is the estimate.
  in.tasks.clear();
  for (int i = 0; i < 10; ++i) in.tasks.push_back(Succeeded(1, 3));
  in.tasks.push_back(Task(State::kWaiting, 1));
  eta = EstimateEta(in);
  EXPECT_DOUBLE_EQ(eta.low, 3);
  EXPECT_DOUBLE_EQ(eta.high, 3);
}

// With every task still to run and its effort as its history, the estimate is the planner's
// list-scheduled makespan (plan/roadmap.h), on random DAGs.
TEST(EtaTest, SameScheduleAsThePlanner) {
  std::mt19937 rng(17);
  for (int round = 0; round < 200; ++round) {
    int n = 1 + static_cast<int>(rng() % 12);
    int slots = 1 + static_cast<int>(rng() % 4);
    EtaInput in;
    in.jobs = slots;
    std::string tasks;
    for (int i = 0; i < n; ++i) {
      EtaTask t = Task(State::kWaiting, 1 + static_cast<int>(rng() % 4));
      t.history = t.effort;
      std::string deps;
      for (int j = 0; j < i; ++j) {
        if (rng() % 3 != 0) continue;
        t.deps.push_back(static_cast<uint32_t>(j));
        deps += fmt::format("{}\"t{}\"", deps.empty() ? "" : ",", j);
      }
      tasks += fmt::format("{}{{\"id\":\"t{}\",\"run\":\"true\",\"effort\":{},\"deps\":[{}]}}",
                           i ? "," : "", i, t.effort, deps);
      in.tasks.push_back(std::move(t));
    }
    Milestone m;
    Diagnostics diags("random.json");
    ASSERT_TRUE(LoadMilestoneFromString("random.json", "{\"tasks\":[" + tasks + "]}", &m, &diags));
    Roadmap r = ComputeRoadmap(m, Graph(m), slots);
    EXPECT_DOUBLE_EQ(SimulateEta(in, 1), r.makespan) << "round " << round;
  }
}

}  // namespace
}  // namespace mex

namespace mex {
namespace {

// The runner's durations: a task's history, else its effort at the history's seconds per unit of
// effort; nothing without any history.
TEST(HistoryDurationsTest, HistoryElseEffortAtTheHistorysRate) {
  EXPECT_TRUE(HistoryDurations({1, 2, 3}, {-1, -1, -1}).empty());
  EXPECT_TRUE(HistoryDurations({1, 2}, {}).empty());
  // 10 s for effort 2 and 2 s for effort 2: 3 s per unit.
  std::vector<double> seconds = HistoryDurations({2, 2, 5}, {10, 2, -1});
  EXPECT_EQ(seconds, (std::vector<double>{10, 2, 15}));
}

}  // namespace
}  // namespace mex
