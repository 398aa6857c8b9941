#include "engine/task_runner.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/phase_flow.h"
#include "load/loader.h"
#include "plan/roadmap.h"
#include "store/memory_store.h"
#include "tests/test_util.h"
#include "util/clock.h"

namespace mex {
namespace {

// Ends the attempt started last (first, with `fifo`) with the exit code the test chose for its
// task, one per Wait; notes how many commits the store had when each attempt started.
class FakeExecutor : public Executor {
 public:
  explicit FakeExecutor(const MemoryStore* store) : store_(store) {}
  ProcessRef Start(const AttemptSpec& spec) override {
    if (auto text = logs.find(spec.key); text != logs.end()) {
      testing_util::WriteFile(spec.log_path, text->second);
    }
    started.push_back({spec.key, store_->commits()});
    started_wall = WallClockSeconds();
    log.push_back("start " + std::to_string(spec.key));
    queue_.push_back(spec.key);
    return process;
  }
  WaitResult Wait(double) override {
    commits_at_wait.push_back(store_->commits());
    WaitResult result;
    if (!queue_moves.empty()) {
      result.queued = std::move(queue_moves.front());
      queue_moves.pop_front();
      for (WaitResult::Queued& q : result.queued) {
        if (q.since > 0) q.since += started_wall;
      }
      return result;
    }
    result.queued.swap(queued);
    if (queue_.empty()) return result;
    AttemptEnd end;
    end.key = fifo ? queue_.front() : queue_.back();
    if (fifo) {
      queue_.pop_front();
    } else {
      queue_.pop_back();
    }
    end.exit_code = exit_codes.count(end.key) ? exit_codes[end.key] : 0;
    log.push_back("end " + std::to_string(end.key));
    result.ended.push_back(end);
    return result;
  }
  void Cancel(uint64_t) override {}
  void CancelAll() override { ++cancel_alls; }
  void KillAll() override {}
  size_t running() const override { return queue_.size(); }
  // Follows what `adoptable` says, as if it had started it.
  ProcessRef Adopt(const ProcessRef& ref, const AttemptSpec& spec) override {
    if (!adoptable) return {};
    adopted.push_back(spec);
    log.push_back("adopt " + std::to_string(spec.key));
    queue_.push_back(spec.key);
    return ref.empty() ? process : ref;
  }
  int EndLeftovers(const std::vector<ProcessRef>& leftovers, double) override {
    left += static_cast<int>(leftovers.size());
    return 0;
  }

  std::vector<std::pair<uint64_t, int>> started;  // (task, commits before it started)
  std::map<uint64_t, int> exit_codes;
  std::map<uint64_t, std::string> logs;  // what the task's attempt prints, written as it starts
  std::vector<std::string> log;          // "start N" and "end N", in order
  int cancel_alls = 0;
  ProcessRef process;                      // what Start returns
  std::vector<int> commits_at_wait;        // the store's commits at each Wait
  bool fifo = false;                       // end the attempt started first, not last
  bool adoptable = false;                  // Adopt follows what it is given
  std::vector<AttemptSpec> adopted;        // what Adopt followed
  int left = 0;                            // leftovers given to EndLeftovers
  std::vector<WaitResult::Queued> queued;  // told at the next Wait, before its end
  // Places in a batch queue told by the Waits before any attempt ends, one batch per Wait; a
  // `since` counted from the last Start.
  std::deque<std::vector<WaitResult::Queued>> queue_moves;
  double started_wall = 0;  // wall clock at the last Start

 private:
  const MemoryStore* store_;
  std::deque<uint64_t> queue_;
};

// What the terminal would have shown.
class RecordingSink : public EventSink {
 public:
  void OnEvent(const Event& event) override { events.push_back(event); }
  std::vector<Event> events;
};

struct Fixture {
  explicit Fixture(const std::string& yaml) {
    Diagnostics diags("s.yaml");
    EXPECT_TRUE(LoadMilestoneFromString("s.yaml", yaml, &m, &diags)) << diags.Format();
    run.milestone = &m;
    std::string err;
    auto state = std::make_shared<Folder>();
    EXPECT_TRUE(Folder::Open(dir.path().string(), false, state.get(), &err)) << err;
    EXPECT_TRUE(CreateRunFolder(state, "r1", &run.paths, &err)) << err;
  }
  // The task runner and the phase flow of the milestone, with `jobs` slots on `executor`.
  void Make(int jobs, FakeExecutor* executor, MemoryStore* store) {
    graph = std::make_unique<Graph>(m);
    roadmap = ComputeRoadmap(m, *graph, jobs);
    journal = std::make_unique<Journal>(run.paths.run_id, store, &sink);
    runner =
        std::make_unique<TaskRunner>(run, *graph, roadmap.priority, jobs, executor, journal.get());
    flow = std::make_unique<PhaseFlow>(run, runner.get(), journal.get());
  }
  // Runs the milestone with `jobs` slots on `executor`; returns the exit code.
  int Run(int jobs, FakeExecutor* executor, MemoryStore* store) {
    Make(jobs, executor, store);
    return flow->Run();
  }

  testing_util::TempDir dir;
  Milestone m;
  RunInfo run;
  std::unique_ptr<Graph> graph;  // the runner keeps references to these
  Roadmap roadmap;
  RecordingSink sink;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<TaskRunner> runner;
  std::unique_ptr<PhaseFlow> flow;
};

TEST(TaskRunnerTest, EveryStartIsCommittedBeforeTheProcessStarts) {
  Fixture f("tasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true', deps: [a]}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  EXPECT_EQ(f.Run(2, &executor, &store), 0);
  ASSERT_EQ(executor.started.size(), 2u);
  // The commit count when b started is larger than when a started: its release was committed.
  EXPECT_GE(executor.started[0].second, 1);
  EXPECT_GT(executor.started[1].second, executor.started[0].second);
  // And the running state of each task was recorded before that commit.
  int running_rows = 0;
  for (const auto& row : store.task_changes()) running_rows += row.state == TaskState::kRunning;
  EXPECT_EQ(running_rows, 2);
}

TEST(TaskRunnerTest, PermanentFailureSkipsDependentsAndRunsOnce) {
  Fixture f(
      "tasks:\n  - {id: a, run: 'x'}\n  - {id: b, run: 'x', deps: [a]}\n"
      "  - {id: c, run: 'x'}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.exit_codes[0] = 127;
  EXPECT_EQ(f.Run(1, &executor, &store), 1);
  EXPECT_EQ(f.runner->state(0), TaskState::kFailed);
  EXPECT_EQ(f.runner->attempts(0), 1);
  EXPECT_EQ(f.runner->state(1), TaskState::kSkipped);
  EXPECT_EQ(f.runner->state(2), TaskState::kSucceeded);
}

TEST(TaskRunnerTest, LaterPhaseWaitsForTheWholeEarlierPhase) {
  Fixture f(
      "phases:\n"
      "  - {name: one, weight: 50, tasks: [{id: a, run: x}, {id: slow, run: x, effort: 9}]}\n"
      "  - {name: two, weight: 50, tasks: [{id: b, run: x, deps: [a]}]}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  EXPECT_EQ(f.Run(4, &executor, &store), 0);
  // a (task 0) ends first, but b (task 2), which needs only a, starts once slow (task 1) has
  // ended too.
  EXPECT_EQ(executor.log,
            (std::vector<std::string>{"start 1", "start 0", "end 0", "end 1", "start 2", "end 2"}));
}

// A store whose commits fail from the `fail_from`th on, as on a full disk.
class FailingStore : public MemoryStore {
 public:
  explicit FailingStore(int fail_from) : fail_from_(fail_from) {}
  bool Commit() override {
    MemoryStore::Commit();
    return commits() < fail_from_;
  }
  std::string error() const override { return "cannot record the run's state: disk full"; }

 private:
  int fail_from_;
};

TEST(TaskRunnerTest, StoreThatCannotCommitStopsTheRun) {
  Fixture f(
      "tasks:\n  - {id: a, run: x}\n  - {id: b, run: x, deps: [a]}\n"
      "  - {id: c, run: x, deps: [b]}\n");
  FailingStore store(/*fail_from=*/3);
  FakeExecutor executor(&store);
  EXPECT_EQ(f.Run(1, &executor, &store), 1);
  // a's start was the first commit, its process the second; its end and b's start were in the
  // third, which failed: b never ran, nothing after it either.
  EXPECT_EQ(executor.log, (std::vector<std::string>{"start 0", "end 0"}));
  EXPECT_EQ(f.runner->state(1), TaskState::kCancelled);
  EXPECT_EQ(f.runner->state(2), TaskState::kCancelled);
  EXPECT_EQ(executor.cancel_alls, 1);
  bool reported = false;
  for (const Event& e : f.sink.events) {
    reported = reported || (e.kind == EventKind::kInterrupted &&
                            e.reason.find("disk full") != std::string::npos);
  }
  EXPECT_TRUE(reported);
}

TEST(TaskRunnerTest, NothingOfATurnWhoseCommitFailedIsShownOrCounted) {
  Fixture f("tasks:\n  - {id: a, run: x}\n  - {id: b, run: x, deps: [a]}\n");
  FailingStore store(/*fail_from=*/3);
  FakeExecutor executor(&store);
  EXPECT_EQ(f.Run(1, &executor, &store), 1);
  // a ended with exit 0, but the commit of its success failed: state.db still has it running,
  // so neither the terminal nor the summary may say it succeeded (it runs again on resume).
  const Event* finished = nullptr;
  for (const Event& e : f.sink.events) {
    EXPECT_NE(e.kind, EventKind::kTaskSucceeded) << e.task;
    if (e.kind == EventKind::kRunFinished) finished = &e;
  }
  ASSERT_NE(finished, nullptr);
  EXPECT_EQ(finished->succeeded, 0);
  EXPECT_EQ(finished->cancelled, 2);
  EXPECT_NE(f.runner->state(0), TaskState::kSucceeded);
}

TEST(TaskRunnerTest, WhoAnAttemptRunsAsIsCommittedBeforeTheEngineWaitsForIt) {
  Fixture f("tasks:\n  - {id: a, run: x}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.process = {4242, 777, "boot-1"};
  EXPECT_EQ(f.Run(1, &executor, &store), 0);
  ASSERT_EQ(store.attempts().size(), 1u);
  EXPECT_EQ(store.attempts()[0].process.pgid, 4242);
  EXPECT_EQ(store.attempts()[0].process.start_time, 777u);
  EXPECT_EQ(store.attempts()[0].process.boot_id, "boot-1");
  // The first Wait came after a commit made after the start.
  ASSERT_EQ(executor.started.size(), 1u);
  ASSERT_FALSE(executor.commits_at_wait.empty());
  EXPECT_GT(executor.commits_at_wait[0], executor.started[0].second);
}

TEST(TaskRunnerTest, ResumedRunKeepsSucceededTasksAndNumbersAttemptsOn) {
  Fixture f("tasks:\n  - {id: a, run: x}\n  - {id: b, run: x, deps: [a]}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  f.Make(1, &executor, &store);
  f.runner->Resume(0, 1, {}, /*kept=*/true);
  f.runner->Resume(1, 2, {}, /*kept=*/false);
  EXPECT_EQ(f.flow->Run(), 0);
  EXPECT_EQ(executor.log, (std::vector<std::string>{"start 1", "end 1"}));
  ASSERT_EQ(store.attempts().size(), 1u);
  EXPECT_EQ(store.attempts()[0].task, "b");
  EXPECT_EQ(store.attempts()[0].number, 3);
  for (const Event& e : store.events()) {
    if (e.kind == EventKind::kRunStarted) {
      EXPECT_EQ(e.succeeded, 1);  // kept
    }
    if (e.kind == EventKind::kTaskStarted) {
      EXPECT_EQ(e.max_attempts, 2 + 3);
    }
  }
}

TEST(TaskRunnerTest, ResumedTaskBacksOffFromTheShortestDelay) {
  Fixture f(
      "defaults: {retry: {max_attempts: 2, backoff: {initial: 50ms, factor: 10, max: 1s, "
      "jitter: 0}}}\n"
      "tasks:\n  - {id: a, run: x}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.exit_codes[0] = 1;  // logic: retried
  f.Make(1, &executor, &store);
  f.runner->Resume(0, 3, {}, /*kept=*/false);  // three attempts in earlier sessions
  EXPECT_EQ(f.flow->Run(), 1);
  std::vector<double> delays;
  for (const Event& e : store.events()) {
    if (e.kind == EventKind::kTaskRetry) delays.push_back(e.delay_s);
  }
  // Attempt 4 failed, the first of this session: the wait before attempt 5 is the first delay.
  EXPECT_EQ(delays, std::vector<double>{0.05});
  EXPECT_EQ(f.runner->attempts(0), 5);
}

TEST(TaskRunnerTest, TaskThatCannotBeBuiltEndsLikeASpawnFailure) {
  Fixture f(
      "agents: {bot: {command: [\"true\"]}}\n"
      "tasks:\n  - {id: a, prompt: 'hi', agent: bot}\n  - {id: b, run: x}\n");
  // The prompt file cannot be written: a folder is in the way.
  std::filesystem::create_directories(f.run.paths.logs_dir + "/a.1.prompt");
  MemoryStore store;
  FakeExecutor executor(&store);
  EXPECT_EQ(f.Run(2, &executor, &store), 1);
  EXPECT_EQ(f.runner->state(0), TaskState::kFailed);
  EXPECT_EQ(f.runner->attempts(0), 1);  // permanent: it cannot start at all
  EXPECT_EQ(f.runner->state(1), TaskState::kSucceeded);
  EXPECT_EQ(executor.log, (std::vector<std::string>{"start 1", "end 1"}));
}

TEST(TaskRunnerTest, OnlyTheLogOfAnAgentCliItKnowsIsRead) {
  // The same log after exit 1: claude's result object for a refused key. Read by claude's rules
  // it is permanent; an agent whose program mex knows no CLI of is judged by its exit code.
  Fixture f(
      "defaults: {retry: {max_attempts: 1}}\n"
      "agents: {known: {command: [claude]}, unknown: {command: [other]}}\n"
      "tasks:\n  - {id: a, prompt: hi, agent: known}\n  - {id: b, prompt: hi, agent: unknown}\n");
  for (const char* name : {"claude", "other"}) {
    std::filesystem::path program = f.dir.path() / name;
    testing_util::WriteFile(program, "#!/bin/sh\n");
    std::filesystem::permissions(program, std::filesystem::perms::owner_all);
  }
  f.m.agents["known"].command = {(f.dir.path() / "claude").string()};
  f.m.agents["unknown"].command = {(f.dir.path() / "other").string()};
  MemoryStore store;
  FakeExecutor executor(&store);
  const std::string refused =
      R"({"type":"result","subtype":"success","is_error":true,"api_error_status":401,)"
      R"("result":"Invalid API key"})"
      "\n";
  for (uint64_t task : {0, 1}) {
    executor.exit_codes[task] = 1;
    executor.logs[task] = refused;
  }
  EXPECT_EQ(f.Run(1, &executor, &store), 1);
  std::map<std::string, std::string> classes;
  for (const AttemptRecord& a : store.attempts()) classes[a.task] = a.failure_class;
  EXPECT_EQ(classes, (std::map<std::string, std::string>{{"a", "permanent"}, {"b", "logic"}}));
}

TEST(TaskRunnerTest, TasksWhoseFilesOverlapNeverRunAtOnce) {
  // a and b overlap; c's files and d (none declared) overlap nothing: they run beside a, and b
  // starts as soon as a ends.
  Fixture f(
      "tasks:\n"
      "  - {id: a, run: 'true', files: [src/api/*.py]}\n"
      "  - {id: b, run: 'true', files: [docs/, src/api/v1.py]}\n"
      "  - {id: c, run: 'true', files: [src/cli/]}\n"
      "  - {id: d, run: 'true'}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  EXPECT_EQ(f.Run(4, &executor, &store), 0);
  EXPECT_EQ(executor.log, (std::vector<std::string>{"start 0", "start 2", "start 3", "end 3",
                                                    "end 2", "end 0", "start 1", "end 1"}));
}

TEST(TaskRunnerTest, ATaskHeldForItsFilesPassesItsPoolSlotOn) {
  // r holds the pool; p, next of the pool, waits for it; w starts and holds p's files. When r
  // ends, p gets the pool's slot but must wait for w: q, the pool's next, runs meanwhile.
  Fixture f(
      "pools: {serial: 1}\n"
      "tasks:\n"
      "  - {id: r, run: 'true', pool: serial, effort: 5}\n"
      "  - {id: p, run: 'true', pool: serial, effort: 4, files: [x.txt]}\n"
      "  - {id: w, run: 'true', effort: 3, files: ['*.txt']}\n"
      "  - {id: q, run: 'true', pool: serial, effort: 1}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.fifo = true;
  EXPECT_EQ(f.Run(4, &executor, &store), 0);
  EXPECT_EQ(executor.log, (std::vector<std::string>{"start 0", "start 2", "end 0", "start 3",
                                                    "end 2", "end 3", "start 1", "end 1"}));
}

TEST(TaskRunnerTest, ATaskHeldForItsFilesRetriesAndDependsAsUsual) {
  // a fails once and is retried; b (same file) runs between its attempts; c depends on b and
  // shares its file too: a dependency, no deadlock.
  Fixture f(
      "defaults: {retry: {max_attempts: 2, backoff: {initial: 1ms}}}\n"
      "tasks:\n"
      "  - {id: a, run: 'x', effort: 2, files: [f.txt]}\n"
      "  - {id: b, run: 'x', files: [f.txt]}\n"
      "  - {id: c, run: 'x', deps: [b], files: [f.txt]}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.exit_codes[0] = 1;
  EXPECT_EQ(f.Run(3, &executor, &store), 1);  // a fails both attempts
  EXPECT_EQ(f.runner->state(0), TaskState::kFailed);
  EXPECT_EQ(f.runner->attempts(0), 2);
  EXPECT_EQ(f.runner->state(1), TaskState::kSucceeded);
  EXPECT_EQ(f.runner->state(2), TaskState::kSucceeded);
  // Never two of them at once: each start follows the end of the one before.
  ASSERT_EQ(executor.log.size(), 8u);
  for (size_t i = 0; i < executor.log.size(); i += 2) {
    EXPECT_EQ(executor.log[i].substr(0, 6), "start ") << i;
    EXPECT_EQ(executor.log[i + 1], "end " + executor.log[i].substr(6)) << i;
  }
}

// The attempt a killed session left in flight, that the executor follows (a batch job).
AttemptRecord LeftInFlight(const Fixture& f, const std::string& task, int number) {
  AttemptRecord left;
  left.task = task;
  left.number = number;
  left.started_at = 1;
  left.ended_at = 2;  // as MarkInterrupted left it
  left.end = "interrupted";
  left.log_path = f.run.paths.LogPath(task, number);
  left.process = {.pgid = 42, .start_time = 0, .boot_id = std::string(ProcessRef::kJobMark)};
  return left;
}

TEST(TaskRunnerTest, AFollowedAttemptRunsAsTheTasksOwnAndIsNotStartedAgain) {
  Fixture f("tasks:\n  - {id: a, run: 'x'}\n  - {id: b, run: 'x', deps: [a]}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.adoptable = true;
  f.Make(1, &executor, &store);
  AttemptRecord left = LeftInFlight(f, "a", 3);
  f.runner->Resume(0, 3, {left}, /*kept=*/false, "it did not finish in an earlier session");
  ASSERT_TRUE(f.runner->Adopt(0, left));
  EXPECT_EQ(f.runner->state(0), TaskState::kRunning);
  ASSERT_EQ(executor.adopted.size(), 1u);
  EXPECT_EQ(executor.adopted[0].key, 0u);
  EXPECT_EQ(executor.adopted[0].log_path, left.log_path);  // its own log, appended to
  EXPECT_EQ(f.flow->Run(), 0);
  // a's attempt 3 finished a; b, its dependent, started after it; a never started again.
  EXPECT_EQ(executor.log, (std::vector<std::string>{"adopt 0", "end 0", "start 1", "end 1"}));
  EXPECT_EQ(f.runner->attempts(0), 3);
  EXPECT_EQ(f.runner->state(0), TaskState::kSucceeded);
  std::vector<std::string> a_events;
  for (const Event& e : f.sink.events) {
    if (e.task == "a") a_events.emplace_back(EventKindName(e.kind));
  }
  EXPECT_EQ(a_events, (std::vector<std::string>{"task_started", "task_succeeded"}));
  for (const Event& e : f.sink.events) {
    if (e.task == "a" && e.kind == EventKind::kTaskStarted) {
      EXPECT_TRUE(e.followed);
      EXPECT_EQ(e.attempt, 3);
      EXPECT_TRUE(e.rerun.empty());
    }
  }
}

TEST(TaskRunnerTest, AFollowedAttemptThatFailsIsRetriedWithinTheSessionsBudget) {
  Fixture f(
      "defaults: {retry: {max_attempts: 2, backoff: {initial: 1ms}}}\n"
      "tasks:\n  - {id: a, run: 'x'}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.adoptable = true;
  executor.exit_codes[0] = 1;
  f.Make(1, &executor, &store);
  AttemptRecord left = LeftInFlight(f, "a", 1);
  f.runner->Resume(0, 1, {left}, /*kept=*/false);
  ASSERT_TRUE(f.runner->Adopt(0, left));
  EXPECT_EQ(f.flow->Run(), 1);
  // The followed attempt is the first of the two: one more started, then the task failed.
  EXPECT_EQ(executor.log, (std::vector<std::string>{"adopt 0", "end 0", "start 0", "end 0"}));
  EXPECT_EQ(f.runner->attempts(0), 2);
  EXPECT_EQ(f.runner->state(0), TaskState::kFailed);
}

TEST(TaskRunnerTest, AFollowedAttemptOfALaterPhaseThatFailsEarlyIsRetriedInItsPhase) {
  Fixture f(
      "defaults: {retry: {max_attempts: 2, backoff: {initial: 1ms}}}\n"
      "phases:\n"
      "  - {name: one, weight: 50, tasks: [{id: a, run: x}]}\n"
      "  - {name: two, weight: 50, tasks: [{id: b, run: x}]}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.adoptable = true;
  executor.exit_codes[1] = 1;
  f.Make(1, &executor, &store);
  f.runner->Resume(0, 1, {}, /*kept=*/true);
  AttemptRecord left = LeftInFlight(f, "b", 1);
  f.runner->Resume(1, 1, {left}, /*kept=*/false);
  ASSERT_TRUE(f.runner->Adopt(1, left));
  EXPECT_EQ(f.flow->Run(), 1);
  // b's followed attempt ended while phase one was open; its retry started once two opened.
  EXPECT_EQ(executor.log, (std::vector<std::string>{"adopt 1", "end 1", "start 1", "end 1"}));
  std::vector<std::string> order;
  for (const Event& e : f.sink.events) {
    if (e.kind == EventKind::kPhaseStarted) order.push_back("phase " + e.phase);
    if (e.task == "b") order.push_back(std::string(EventKindName(e.kind)));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"phase one", "task_started", "task_retry", "phase two",
                                             "task_started", "task_failed"}));
  EXPECT_EQ(f.runner->attempts(1), 2);
}

// Virtual clocks (util/clock.h) for the tests of a followed attempt's time: set by the test.
double g_wall = 0, g_monotonic = 0;
double FakeWall() {
  return g_wall;
}
double FakeMonotonic() {
  return g_monotonic;
}

struct FakeClocks {
  FakeClocks() {
    g_wall = 1.8e9;
    g_monotonic = 5000;
    SetClocksForTesting(FakeWall, FakeMonotonic);
  }
  ~FakeClocks() { SetClocksForTesting(nullptr, nullptr); }
  FakeClocks(const FakeClocks&) = delete;
  FakeClocks& operator=(const FakeClocks&) = delete;
  static void Advance(double s) {
    g_wall += s;
    g_monotonic += s;
  }
};

// Task `a`'s attempt 1, which a killed session recorded as started 120 s ago (a job's start, or
// its submission when that session never saw it run), followed by this one on virtual clocks.
struct FollowedFrom120sAgo {
  FollowedFrom120sAgo() {
    executor.adoptable = true;
    f.Make(1, &executor, &store);
    left.started_at = g_wall - 120;
    f.runner->Resume(0, 1, {left}, /*kept=*/false);
    adopted = f.runner->Adopt(0, left);
  }
  FakeClocks clocks;
  Fixture f{"tasks:\n  - {id: a, run: 'x'}\n"};
  MemoryStore store;
  FakeExecutor executor{&store};
  AttemptRecord left = LeftInFlight(f, "a", 1);
  bool adopted = false;
};

const Event* FindEvent(const std::vector<Event>& events, EventKind kind, const std::string& task) {
  for (const Event& e : events) {
    if (e.kind == kind && e.task == task) return &e;
  }
  return nullptr;
}

// A job a killed session started 120 s ago, followed 5 s into this session: its time counts
// from its start, in the task_started the views count from and in its end, and its record keeps
// that start (what mex status counts from).
TEST(TaskRunnerTest, AFollowedAttemptsTimeCountsFromItsStartNotFromTheResume) {
  FollowedFrom120sAgo followed;
  ASSERT_TRUE(followed.adopted);
  Fixture& f = followed.f;
  const AttemptRecord& left = followed.left;
  const MemoryStore& store = followed.store;
  FakeClocks::Advance(5);  // the rest of the session's preparation
  EXPECT_EQ(f.flow->Run(), 0);
  const Event* started = FindEvent(f.sink.events, EventKind::kTaskStarted, "a");
  ASSERT_NE(started, nullptr);
  EXPECT_TRUE(started->followed);
  EXPECT_DOUBLE_EQ(started->elapsed_s, 125);
  EXPECT_DOUBLE_EQ(started->time - started->elapsed_s, left.started_at);
  EXPECT_DOUBLE_EQ(EventToJson(*started)["elapsed_s"].get<double>(), 125);
  const Event* succeeded = FindEvent(f.sink.events, EventKind::kTaskSucceeded, "a");
  ASSERT_NE(succeeded, nullptr);
  EXPECT_DOUBLE_EQ(succeeded->elapsed_s, 125);
  ASSERT_EQ(store.attempts().size(), 1u);
  EXPECT_DOUBLE_EQ(store.attempts()[0].started_at, left.started_at);
}

// A job submitted 120 s before the resume that waited 30 s in the queue, then started while mex
// was away: its run counts from the job's start, its wait apart.
TEST(TaskRunnerTest, AFollowedJobThatStartedWhileMexWasAwayCountsFromTheJobsStart) {
  FollowedFrom120sAgo followed;  // its submission: the killed session never saw it run
  ASSERT_TRUE(followed.adopted);
  Fixture& f = followed.f;
  const AttemptRecord& left = followed.left;
  const MemoryStore& store = followed.store;
  followed.executor.queued.push_back({0, QueueState::kRunning, "running", left.started_at + 30});
  EXPECT_EQ(f.flow->Run(), 0);
  const Event* started = FindEvent(f.sink.events, EventKind::kTaskStarted, "a");
  ASSERT_NE(started, nullptr);
  EXPECT_DOUBLE_EQ(started->elapsed_s, 120);  // since its submission, as a job still pending
  const Event* queued = FindEvent(f.sink.events, EventKind::kTaskQueued, "a");
  ASSERT_NE(queued, nullptr);
  EXPECT_EQ(queued->reason, "running");
  EXPECT_DOUBLE_EQ(queued->elapsed_s, 30);
  EXPECT_DOUBLE_EQ(started->time - started->elapsed_s + queued->elapsed_s, left.started_at + 30);
  const Event* succeeded = FindEvent(f.sink.events, EventKind::kTaskSucceeded, "a");
  ASSERT_NE(succeeded, nullptr);
  EXPECT_DOUBLE_EQ(succeeded->elapsed_s, 90);
  ASSERT_EQ(store.attempts().size(), 1u);
  EXPECT_DOUBLE_EQ(store.attempts()[0].started_at, left.started_at + 30);
}

TEST(TaskRunnerTest, AnAttemptTheExecutorCannotFollowRunsAgain) {
  Fixture f("tasks:\n  - {id: a, run: 'x'}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  f.Make(1, &executor, &store);
  AttemptRecord left = LeftInFlight(f, "a", 1);
  f.runner->Resume(0, 1, {left}, /*kept=*/false);
  EXPECT_FALSE(f.runner->Adopt(0, left));
  EXPECT_EQ(f.runner->state(0), TaskState::kPending);
  f.runner->EndLeftovers({left});
  EXPECT_EQ(executor.left, 1);
  EXPECT_EQ(f.flow->Run(), 0);
  EXPECT_EQ(executor.log, (std::vector<std::string>{"start 0", "end 0"}));
  EXPECT_EQ(f.runner->attempts(0), 2);
}

// Where an attempt waits in a batch queue comes as a typed state beside the reason: each becomes a
// task_queued event with both. Running after a wait moves the attempt's start to the job's and
// says how long it waited; running after a while unknown changes neither.
TEST(TaskRunnerTest, PlacesInABatchQueueBecomeTaskQueuedEvents) {
  Fixture f("tasks:\n  - {id: a, run: 'x'}\n");
  MemoryStore store;
  FakeExecutor executor(&store);
  executor.queue_moves = {{{0, QueueState::kSubmitWait, "waiting to submit (limit)", 0}},
                          {{0, QueueState::kPending, "pending (Priority)", 0}},
                          {{0, QueueState::kRunning, "running", 5}},
                          {{0, QueueState::kUnknown, "state unknown (squeue: down)", 0}},
                          {{0, QueueState::kRunning, "running", 0}}};
  EXPECT_EQ(f.Run(1, &executor, &store), 0);
  std::vector<const Event*> queued;
  for (const Event& e : f.sink.events) {
    if (e.kind == EventKind::kTaskQueued) queued.push_back(&e);
  }
  ASSERT_EQ(queued.size(), 5u);
  EXPECT_EQ(queued[0]->queue_state, QueueState::kSubmitWait);
  EXPECT_EQ(queued[0]->reason, "waiting to submit (limit)");
  EXPECT_EQ(queued[1]->queue_state, QueueState::kPending);
  EXPECT_EQ(queued[1]->reason, "pending (Priority)");
  EXPECT_EQ(queued[2]->queue_state, QueueState::kRunning);
  EXPECT_EQ(queued[2]->reason, "running");
  EXPECT_NEAR(queued[2]->elapsed_s, 5, 0.5);
  EXPECT_EQ(queued[3]->queue_state, QueueState::kUnknown);
  EXPECT_EQ(queued[4]->queue_state, QueueState::kRunning);
  EXPECT_EQ(queued[4]->elapsed_s, 0);
  // Stored as told; the attempt's start is the job's.
  size_t stored = 0;
  for (const Event& e : store.events()) {
    stored += e.kind == EventKind::kTaskQueued ? 1 : 0;
  }
  EXPECT_EQ(stored, 5u);
  ASSERT_EQ(store.attempts().size(), 1u);
  EXPECT_NEAR(store.attempts()[0].started_at, executor.started_wall + 5, 0.001);
}

}  // namespace
}  // namespace mex
