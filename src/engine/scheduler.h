// Runs a milestone's tasks to the end: phases in order, the ready queue by remaining critical
// path, pools, retries by failure class, skips and cancellations (SPEC §4). It knows nothing of
// processes, SQLite or terminals: it talks to an Executor, a Store and an EventSink.
#pragma once

#include <cstdint>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "engine/attempt.h"
#include "engine/events.h"
#include "engine/failure.h"
#include "exec/executor.h"
#include "flow/gate.h"
#include "plan/graph.h"
#include "store/store.h"

namespace mex {

// What the scheduler asks of the milestone's flow at a phase's start.
class PhaseHooks {
 public:
  virtual ~PhaseHooks() = default;
  // Before phase `phase` starts for the first time in this session: adds its dynamic tasks
  // (tasks_from), through Scheduler::InsertTasks and Resume. Returns "" or why it could not.
  virtual std::string ExpandPhase(size_t phase) = 0;
};

class Scheduler {
 public:
  // `priority`: each task's remaining critical path (Roadmap::priority). `jobs`: attempts at once.
  Scheduler(const RunInfo& run, const Graph& graph, const std::vector<double>& priority, int jobs,
            Executor* executor, Store* store, EventSink* sink);

  // Before Run(), for a run that goes on from an earlier session: the number of the task's last
  // attempt (numbering goes on after it), those attempts (for its failure report; may be empty
  // for a kept task), and whether it succeeded then and is kept as it is.
  void Resume(uint32_t task, int attempts, std::vector<AttemptRecord> history, bool kept);
  // Whether Run() reports the run as resumed (set when an earlier session of it exists).
  void set_resumed(bool resumed) { resumed_ = resumed; }
  // What the agents of earlier sessions of the run reported they cost (for budget_usd).
  void set_spent_usd(double spent) { spent_usd_ = spent; }
  void set_hooks(PhaseHooks* hooks) { hooks_ = hooks; }
  // For PhaseHooks::ExpandPhase: `count` new tasks now sit at index `at` of the milestone (the
  // graph and priorities given to the constructor already include them), pending.
  void InsertTasks(uint32_t at, uint32_t count);

  // Runs until every task is final; returns mex's exit code: 0 every phase passed, 1 a task or
  // phase failed, 130 interrupted.
  int Run();

  TaskState state(uint32_t task) const { return tasks_[task].state; }
  int attempts(uint32_t task) const { return tasks_[task].attempts; }

 private:
  struct TaskRun {
    TaskState state = TaskState::kPending;
    int attempts = 0;        // the number of its latest attempt, this session or earlier
    int prior_attempts = 0;  // attempts of earlier sessions: this session's budget starts after
    uint32_t waiting = 0;    // deps of the same phase not yet succeeded
    double started = 0;      // monotonic start of the running attempt
    FailureClass last_class = FailureClass::kLogic;
    double waiting_since = 0;  // monotonic: when a resource retry began to wait, or 0
    std::string last_error;    // given to the next attempt's prompt
    std::string end_reason;    // why it failed, was skipped or cancelled (for its phase's gate)
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

  // False when the phase cannot start (its dynamic tasks could not be added).
  bool StartPhase(size_t phase);
  // Fails, before anything starts, the tasks of the phase whose agent's program is missing.
  void Preflight(size_t phase);
  // Once the phase's tasks are over: starts its gate's commands. False when it has none.
  bool StartGateCommands();
  void HandleGateCommandEnd(const AttemptEnd& end);
  // Scores the phase's gate; true when the run goes on (next phase, or the phase again).
  bool FinishPhase();
  void RerunPhase(const std::string& missing);
  // Σ weight × share of each phase's tasks that are over (SPEC §5), 0..1.
  double WeightedProgress() const;
  // Reads what the agent reported of its result, cost and usage into `outcome` and `record`.
  void ReadAgentReport(uint32_t task, AttemptOutcome* outcome, AttemptRecord* record);
  void CheckBudget();
  void MakeReady(uint32_t task);
  void StartReadyTasks();
  void RecordAttemptStart(uint32_t task);
  void LaunchAttempt(uint32_t task);
  void HandleEnd(const AttemptEnd& end);
  void Succeed(uint32_t task, double elapsed);
  void Fail(uint32_t task, const Classification& c, double elapsed);
  void ScheduleRetry(uint32_t task, const Classification& c, double elapsed);
  void ReleaseDueRetries();
  // Whether a retry after a resource failure must wait longer for memory or disk.
  bool WaitsForResources(uint32_t task, double now);
  void SkipDependents(uint32_t task);
  void Interrupt(int signal);
  // Starts nothing more: drops the ready queue and the pending retries.
  void StopStarting();
  void SetState(uint32_t task, TaskState state);
  // Records `event` in the store; the sink gets it at the next Commit() (or Deliver() when what
  // it reports is durable already), so nothing is shown that a crash could take back.
  void Emit(Event event);
  // Commits this turn's changes, then reports their events. On a store failure, stops.
  void Commit();
  void Deliver();
  // The attempts this task may have this session: its retry policy's, after the earlier ones.
  int AttemptLimit(uint32_t task) const;
  Event TaskEvent(EventKind kind, uint32_t task) const;
  void WriteFailureReport(uint32_t task, const Classification& c);
  const RetryPolicy& RetryFor(uint32_t task) const;
  Pool* PoolOf(uint32_t task);
  void AssignPools();
  // Writes the validation file, records the gate in the store and reports the phase finished;
  // `reason`: why the phase could not even start, or "".
  void RecordGate(const GateResult& result, const std::string& reason);
  int Finish();

  const RunInfo& run_;
  const Milestone& m_;
  const Graph& graph_;
  const std::vector<double>& priority_;
  int jobs_;
  Executor* executor_;
  Store* store_;
  EventSink* sink_;

  std::vector<TaskRun> tasks_;
  std::vector<Pool> pools_;
  std::vector<int> pool_of_task_;  // index into pools_, or -1
  std::priority_queue<Ready> ready_;
  using Retry = std::pair<double, uint32_t>;  // (due, task)
  std::priority_queue<Retry, std::vector<Retry>, std::greater<>> retries_;
  std::vector<uint32_t> to_start_;       // picked this turn, not launched yet
  std::vector<AttemptEnd> not_started_;  // attempts that could not be built this turn
  size_t phase_ = 0;
  size_t phase_open_ = 0;  // tasks of the current phase not yet final
  int running_ = 0;        // attempts and gate commands
  bool stopping_ = false;  // on_failure: stop, interrupted, budget spent: start nothing new
  int interrupt_ = 0;      // the first SIGINT/SIGTERM, or 0
  bool store_failed_ = false;
  int kept_ = 0;  // tasks kept from an earlier session
  bool resumed_ = false;
  std::vector<Event> undelivered_;
  PhaseHooks* hooks_ = nullptr;
  std::vector<bool> expanded_;        // per phase: its dynamic tasks were added
  std::vector<int> reruns_;           // per phase: how often it ran again after its gate failed
  std::vector<std::string> missing_;  // per phase: {{gate.missing}} for a re-run
  bool gating_ = false;               // the current phase's gate commands are running
  struct GateCommandRun {
    std::string command;
    bool passed = false;
    std::string detail;
    std::string log;
  };
  std::vector<GateCommandRun> gate_commands_;
  size_t phases_passed_ = 0;
  double spent_usd_ = 0;
  bool budget_spent_ = false;
  double started_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace mex
