// What the engine tells the world: one event per state change, for the terminal, NDJSON and the
// store's event log alike.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/executor.h"
#include "model/milestone.h"

namespace mex {

enum class TaskState : uint8_t {
  kPending,
  kReady,
  kRunning,
  kRetryWait,
  kSucceeded,
  kFailed,
  kSkipped,
  kCancelled
};

std::string_view TaskStateName(TaskState state);
// The state named `name` (as TaskStateName gives it); false when there is none.
bool ParseTaskState(std::string_view name, TaskState* state);
bool IsFinal(TaskState state);

enum class EventKind : uint8_t {
  kRunStarted,
  kPhaseStarted,
  kTaskStarted,
  kTaskStalled,
  kTaskRetry,    // an attempt failed and another will run after `delay_s`
  kTaskWaiting,  // a retry after a resource failure waits for memory or disk
  // Its attempt's place in a batch system's queue changed: `queue_state`, and `reason` for a
  // person ("pending (REASON)"); kRunning once it starts (`elapsed_s`: how long it waited)
  kTaskQueued,
  kTaskSucceeded,
  kTaskFailed,  // the last attempt failed
  kTaskSkipped,
  kTaskCancelled,
  kGateCommand,    // a gate's command started (`reason` holds it, `log` its output)
  kPhaseFinished,  // the phase's gate was scored
  kPhaseRerun,     // its gate failed: the phase runs again (`attempt` of `max_attempts`)
  kBudgetSpent,    // the agents' reported cost reached budget_usd: nothing new starts
  kInterrupted,
  kRunFinished,
};

std::string_view EventKindName(EventKind kind);

// "pending", "submit_wait", "unknown", "running": a task_queued event's `queue_state`.
std::string_view QueueStateName(QueueState state);
// The place in the queue that a stored task_queued event tells, from its `queue_state` and its
// `reason`: the state named, or, in an event of a mex before that field (`queue_state` ""), what
// its reason starts with ("pending", "waiting to submit", "running"; anything else, such as
// "state unknown (...)", is unknown).
QueueState QueueStateOf(std::string_view queue_state, std::string_view reason);

struct Event {
  explicit Event(EventKind k) : kind(k) {}
  EventKind kind;
  double time = 0;  // seconds since the Unix epoch
  std::string run;
  std::string phase;
  std::string task;
  int attempt = 0;
  int max_attempts = 0;
  std::string failure_class;  // kTaskRetry, kTaskFailed
  std::string reason;         // why it failed, was skipped, or how the run ended
  QueueState queue_state = QueueState::kPending;  // kTaskQueued
  double delay_s = 0;                             // kTaskRetry
  double quiet_s = 0;                             // kTaskStalled: how long it has written nothing
  std::string report;             // kTaskFailed: its failure report (failures/TASK.json)
  std::vector<std::string> tail;  // kTaskFailed: the last lines of its log
  // kTaskSkipped, kTaskCancelled: ended with the run, never started (the summary names these)
  bool at_end = false;
  double elapsed_s = 0;  // task events: the attempt's run time (so far, for a followed
                         // kTaskStarted); kRunFinished: the run's
  std::string log;       // the attempt's log file
  std::string merge;     // kTaskSucceeded of a worktree task: what became of its changes
  // kTaskStarted, the first attempt of a session of a task that ran in an earlier session: why
  // it runs again ("its definition changed", ...); "" otherwise
  std::string rerun;
  // kTaskStarted: the attempt was not started by this session but left in flight by a killed
  // one, and is followed to its end (a job of the cluster, TaskRunner::Adopt); `elapsed_s` is
  // how long it had run since its recorded start (or waited, a job not seen running then)
  bool followed = false;
  bool passed = false;  // kPhaseFinished, kRunFinished
  double score = 0;     // kPhaseFinished: the gate's score, and what it needed
  double min_score = 0;
  std::vector<std::string> missing;  // kPhaseFinished: what the gate found missing
  double progress = 0;               // kPhaseStarted, kPhaseFinished: weighted progress, 0..1
  double cost_usd = 0;               // kBudgetSpent, kRunFinished: the agents' reported cost so far
  bool resumed = false;              // kRunStarted: the run goes on from an earlier session
  int exit_code = 0;                 // kRunFinished: mex's exit code
  int added = 0;                     // kPhaseStarted: tasks added from the phase's tasks_from
  // kRunFinished: counts of tasks by final state; kRunStarted and kPhaseStarted: `succeeded`
  // counts the tasks kept from an earlier session
  int succeeded = 0, failed = 0, skipped = 0, cancelled = 0;
};

// One event as the JSON object of docs/events.md: `mex run --json` and the store's event log.
nlohmann::ordered_json EventToJson(const Event& event);

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const Event& event) = 0;
  // After a batch of events (one Journal::Deliver): a sink that draws frames (report/live.h)
  // draws one for the whole batch.
  virtual void Flush() {}
  // A sink that shows time passing (elapsed times, backoffs left) wants Tick() within TickIn()
  // seconds while tasks run; < 0: never. The task runner cuts its wait short for it; a tick only
  // draws, it changes nothing of the run.
  virtual double TickIn() const { return -1; }
  virtual void Tick() {}
};

}  // namespace mex
