// Runs tasks to their end (SPEC §4): the ready queue by remaining critical path, slots and pools,
// attempts on an Executor, retries by failure class with their backoff and their waits for
// memory or disk, skips, cancellations and interrupts. What runs when is the phase flow's to say
// (engine/phase_flow.h): it opens a set of tasks, and the runner runs them until none is left to
// start. It knows nothing of processes, SQLite or terminals: it talks to an Executor and, through
// the Journal, to a Store and an EventSink.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/attempt.h"
#include "engine/executor.h"
#include "engine/failure.h"
#include "engine/journal.h"
#include "engine/workspaces.h"
#include "plan/graph.h"

namespace mex {

class TaskRunner {
 public:
  // `priority`: each task's remaining critical path (Roadmap::priority). `jobs`: attempts at once.
  // The graph the runner schedules (the milestone's, replaced when tasks are added).
  const Graph& graph() const { return graph_; }

  TaskRunner(const RunInfo& run, const Graph& graph, const std::vector<double>& priority, int jobs,
             Executor* executor, Journal* journal);

  // Before the run, for a run that goes on from an earlier session: the number of the task's
  // last attempt (numbering goes on after it), those attempts (for its failure report; may be
  // empty for a kept task), and whether it succeeded then and is kept as it is; else `rerun`,
  // why it runs again, for its first task_started of this session.
  // Orders ready tasks by `priority` instead of the constructor's (by seconds from an earlier
  // run rather than by effort). Before the run or between phases, with one value per task; it
  // must outlive the runner.
  void set_priority(const std::vector<double>* priority) { priority_ = priority; }
  void Resume(uint32_t task, int attempts, std::vector<AttemptRecord> history, bool kept,
              std::string rerun = "");
  // Before the run, after Resume: follows `left`, the task's latest attempt, which a killed
  // engine left in flight, as this session's running attempt (with its number, log and the
  // process or job it runs as), if the executor can (Executor::Adopt). The task is running, its
  // attempt counts as the first of this session's budget, and its end is handled like that of
  // an attempt this session started. Returns false when the executor cannot follow it: then it
  // is one of EndLeftovers' and the task runs again.
  bool Adopt(uint32_t task, const AttemptRecord& left);
  // Before the run: ends what may still run of the attempts a killed engine left running (each
  // only if it is still the same process group), so that no task runs twice at once; never an
  // attempt this session follows (Adopt).
  void EndLeftovers(const std::vector<AttemptRecord>& interrupted);
  // `count` new tasks now sit at index `at` of the milestone (the graph and priorities given to
  // the constructor already include them), pending. Only between phases: while no task is ready,
  // running or waiting to retry.
  void InsertTasks(uint32_t at, uint32_t count);
  // Called with what an attempt's agent reported it cost (> 0), as the attempt ends, before its
  // retry is decided: the budget (engine/phase_flow.h) may stop the run there.
  void set_on_cost(std::function<void(double usd)> on_cost) { on_cost_ = std::move(on_cost); }
  // Called as an attempt of a task is recorded as started (before the commit that makes it
  // durable), and as a task succeeds (before its dependents are released).
  void set_on_started(std::function<void(uint32_t task)> on_started) {
    on_started_ = std::move(on_started);
  }
  void set_on_succeeded(std::function<void(uint32_t task)> on_succeeded) {
    on_succeeded_ = std::move(on_succeeded);
  }
  // Where the attempts of `workspace: worktree` tasks run and are merged; null: every task runs
  // in the milestone's folder.
  void set_workspaces(Workspaces* workspaces) { workspaces_ = workspaces; }
  Workspaces* workspaces() const { return workspaces_; }
  // Tests only: the retry delays' jitter from this seed, so that one seed gives one run.
  void set_seed(uint64_t seed) { rng_.seed(seed); }

  // Opens `tasks` (a phase's): a task waits for its deps among them; its deps outside them are
  // over. Fails at once those whose agent's program is missing; the pending ones with no dep left
  // to wait for become ready. `gate_missing` is their prompts' {{gate.missing}}.
  void Open(const std::vector<uint32_t>& tasks, std::string gate_missing);
  // Starts `commands` (a gate's) at once, outside the slots; they end within RunUntilIdle() and
  // command_ends() then says how, in the same order.
  void StartCommands(std::vector<AttemptSpec> commands);
  const std::vector<AttemptEnd>& command_ends() const { return command_ends_; }
  // Runs until nothing is running, ready or waiting to retry.
  void RunUntilIdle();
  // Makes `tasks` pending again, each with a fresh budget of attempts (a phase run again).
  void Reset(const std::vector<uint32_t>& tasks);
  // Starts nothing more: drops the ready queue and the pending retries. What runs goes on.
  // `why` ("the budget is spent") is what the tasks never started are told, the first one given.
  void StopStarting(const std::string& why);
  // Ends a task that never reached a final state, with its event: cancelled once the run
  // stopped starting tasks, else skipped because `why_skipped` (a phase before its own failed).
  void Abandon(uint32_t task, const std::string& why_skipped);
  // Commits this turn's changes, then reports their events. On a store failure, stops, and the
  // tasks go back to their last committed states: nothing of the failed turn is counted.
  void Commit();

  TaskState state(uint32_t task) const { return tasks_[task].state; }
  int attempts(uint32_t task) const { return tasks_[task].attempts; }
  // Why the task failed, was skipped or cancelled, for its phase's gate; "" otherwise.
  const std::string& end_reason(uint32_t task) const { return tasks_[task].end_reason; }
  int kept() const { return kept_; }
  bool stopping() const { return stopping_; }
  // The first SIGINT or SIGTERM received, or 0.
  int interrupt() const { return interrupt_; }

 private:
  struct TaskRun {
    TaskState state = TaskState::kPending;
    TaskState durable = TaskState::kPending;  // its state as last committed
    uint32_t opened = 0;     // the Open() call that opened it last (generation_), or 0
    int attempts = 0;        // the number of its latest attempt, this session or earlier
    int prior_attempts = 0;  // attempts of earlier sessions: this session's budget starts after
    uint32_t waiting = 0;    // open deps not yet succeeded
    double started = 0;      // monotonic start of the running attempt
    FailureClass last_class = FailureClass::kLogic;
    double waiting_since = 0;  // monotonic: when a resource retry began to wait, or 0
    std::string last_error;    // given to the next attempt's prompt
    std::string end_reason;    // why it failed, was skipped or cancelled (for its phase's gate)
    std::string rerun;         // why it runs again this session (Resume), until it starts
    std::vector<AttemptRecord> history;
  };
  // Longest remaining critical path first; on a tie, the task first in the file.
  struct Ready {
    double priority;
    uint32_t task;
    bool operator<(const Ready& o) const {
      return priority != o.priority ? priority < o.priority : task > o.task;
    }
  };
  struct Pool {
    int depth = 0;
    int in_use = 0;
    std::priority_queue<Ready> delayed;  // ready, waiting for a slot of the pool
  };

  // A task whose declared files overlap another open task's (plan/file_overlap.h): the two never
  // run at once. Not a dependency: whichever is picked first runs, the other waits for its end.
  struct FileLock {
    std::vector<uint32_t> partners;  // the open tasks whose files overlap its own
    int held = 0;                    // partners running, or picked to start this turn
    bool waiting = false;            // ready, held back until `held` is 0
  };

  // Fails, before anything starts, the open tasks whose agent's program is missing.
  void Preflight(const std::vector<uint32_t>& tasks);
  void MakeReady(uint32_t task);
  // At Open: the file locks of the opened tasks that may run (the overlapping pairs, computed once
  // per phase; nothing when no open task declares files).
  void LockFiles(const std::vector<uint32_t>& tasks);
  // Whether a partner of `task` runs or is about to: then `task` waits for it to end.
  bool HeldByFiles(uint32_t task);
  void TakeFiles(uint32_t task);
  // `task` no longer runs: its partners that waited for it and for no other become ready again.
  void ReleaseFiles(uint32_t task);
  void StartReadyTasks();
  void RecordAttemptStart(uint32_t task);
  void LaunchAttempt(uint32_t task);
  void HandleEnd(const AttemptEnd& end);
  // An attempt's place in a batch queue changed: a task_queued event, and its row's reason.
  void Queued(const WaitResult::Queued& queued);
  // Reads what the agent reported of its result, cost and usage into `outcome` and `record`.
  void ReadAgentReport(uint32_t task, AttemptOutcome* outcome, AttemptRecord* record);
  // `merge`: what became of a worktree attempt's changes ("merged into ... at ...", or that it
  // changed nothing), "" for a shared task.
  void Succeed(uint32_t task, double elapsed, const std::string& merge);
  void Fail(uint32_t task, const Classification& c, double elapsed);
  void ScheduleRetry(uint32_t task, const Classification& c, double elapsed);
  void ReleaseDueRetries();
  // Whether a retry after a resource failure must wait longer for memory or disk.
  bool WaitsForResources(uint32_t task, double now);
  void SkipDependents(uint32_t task);
  void Interrupt(int signal);
  void SetState(uint32_t task, TaskState state);
  bool IsOpen(uint32_t task) const { return generation_ > 0 && tasks_[task].opened == generation_; }
  // The attempts this task may have this session: its retry policy's, after the earlier ones.
  int AttemptLimit(uint32_t task) const;
  bool InWorktree(uint32_t task) const {
    return workspaces_ != nullptr && m_.WorkspaceOf(m_.tasks[task]) == WorkspaceMode::kWorktree;
  }
  Event TaskEvent(EventKind kind, uint32_t task) const;
  // Writes failures/TASK.json; its path, "" when it could not be written.
  std::string WriteFailureReport(uint32_t task, const Classification& c);
  const RetryPolicy& RetryFor(uint32_t task) const;
  Pool* PoolOf(uint32_t task);
  void AssignPools();

  const RunInfo& run_;
  const Milestone& m_;
  const Graph& graph_;
  const std::vector<double>* priority_;  // the constructor's, or set_priority's
  int jobs_;
  Executor* executor_;
  Journal* journal_;
  std::function<void(double)> on_cost_;
  std::function<void(uint32_t)> on_started_;
  std::function<void(uint32_t)> on_succeeded_;
  Workspaces* workspaces_ = nullptr;

  std::vector<TaskRun> tasks_;
  std::vector<Pool> pools_;
  std::vector<int> pool_of_task_;                      // index into pools_, or -1
  std::unordered_map<uint32_t, FileLock> file_locks_;  // only tasks that have partners
  std::priority_queue<Ready> ready_;
  using Retry = std::pair<double, uint32_t>;  // (due, task)
  std::priority_queue<Retry, std::vector<Retry>, std::greater<>> retries_;
  std::vector<uint32_t> changed_;        // tasks whose state changed since the last commit
  std::vector<uint32_t> to_start_;       // picked this turn, not launched yet
  std::vector<AttemptEnd> not_started_;  // attempts that could not be built this turn
  std::vector<uint32_t> adopted_;        // followed (Adopt), their task_started not yet emitted
  uint32_t generation_ = 0;              // how often Open() was called
  std::string gate_missing_;             // {{gate.missing}} of the open tasks
  std::vector<AttemptEnd> command_ends_;
  int running_ = 0;  // attempts and commands
  // Attempts at once while spawns fail for want of descriptors or processes (ulimit -n, -u):
  // lowered to what runs when one fails so, raised by one with each attempt that ran.
  int spawn_limit_ = 0;
  int failed_tasks_ = 0;     // in this session, for -k
  bool stopping_ = false;    // on_failure: stop, interrupted, budget spent: start nothing new
  std::string stop_reason_;  // why it stopped starting tasks (StopStarting)
  int interrupt_ = 0;        // the first SIGINT/SIGTERM, or 0
  int kept_ = 0;             // tasks kept from an earlier session
  std::mt19937_64 rng_;
};

}  // namespace mex
