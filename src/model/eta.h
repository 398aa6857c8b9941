// The time left of a run, as `mex status` (store/status.cc) and the live view (report/live.h)
// estimate it: the tasks not yet over are list-scheduled on the run's slots, as the planner
// schedules the roadmap (plan/roadmap.h), each with an expected duration taken from, in order,
//   1. the same task in an earlier run of the milestone (its history, as Ninja's .ninja_log),
//   2. this run's seconds per unit of effort of tasks of the same kind (a command, or agent X),
//      shrunk toward this run's rate over all kinds while there are few of them,
//   3. its effort times this run's rate over all kinds (or, before anything succeeded, the rate
//      of the tasks with a history).
// A task running has what is left of its expected duration; one waiting to retry, its backoff
// left and then its duration; phases run one after the other. docs/commands.md (mex status)
// describes the estimate and its range, docs/performance.md ("ETA") how well it does.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace mex {

// Ends the kind of a task placed on a batch system's cluster (EtaTask::kind, as state.db keeps
// it): such tasks run at their own rate, and only they wait in the cluster's queue.
inline constexpr std::string_view kClusterKindSuffix = "@cluster";

struct EtaTask {
  enum class State : uint8_t {
    kSucceeded,
    kOver,       // failed, skipped or cancelled: runs no more
    kRunning,    // an attempt in flight
    kRetryWait,  // an attempt failed, another starts after `wait_s`
    kWaiting,    // pending or ready
  };
  State state = State::kWaiting;
  uint32_t phase = 0;  // phases run in their order; a task's deps are in its phase or earlier
  double effort = 1;
  uint32_t kind = 0;    // tasks of one kind (a command, one agent) run at one rate
  double seconds = -1;  // kSucceeded: how long its successful attempt ran (< 0: unknown)
  double history = -1;  // seconds it took in an earlier run (< 0: none)
  double elapsed = 0;   // kRunning: seconds its attempt has run
  double wait_s = 0;    // kRetryWait: seconds of backoff left
  // Seconds each attempt of it is expected to wait in a batch system's queue before it runs: its
  // kind's mean wait per attempt in this run (0: it runs locally, or no wait was seen). Queue
  // time is not run time: it is added to the schedule apart from the task's duration.
  double queue_s = 0;
  // kRunning: its attempt still waits in the queue, and `elapsed` is how long it has waited.
  bool queued = false;
  std::vector<uint32_t> deps;  // indices into EtaInput::tasks
};

struct EtaInput {
  std::vector<EtaTask> tasks;
  int jobs = 1;
  // Attempts of this run that ended, and how many of them failed: a failure rate f adds f
  // expected attempts to each task still to run (one retry with probability f).
  int attempts_ended = 0, attempts_failed = 0;
  // A phase whose tasks come from tasks_from has not started yet: its tasks are not known.
  bool unexpanded = false;
  // Seconds such phases took in an earlier run (< 0: unknown), added at the end.
  double unexpanded_history = -1;
  // Such phases without a history: their weight, which the milestone's author gave as their
  // share of the work, at the seconds per unit of weight that the phases that ended took (< 0:
  // none ended yet), added at the end too.
  double unexpanded_weight = 0;
  double seconds_per_weight = -1;
};

struct Eta {
  bool known = false;        // false: no evidence yet (no history, nothing succeeded)
  double seconds = 0;        // expected seconds left
  double low = 0, high = 0;  // the range: fast and slow durations (see EstimateEta)
  bool provisional = false;  // a phase's tasks are not known yet (EtaInput::unexpanded)
  // "history", "this run" or "history and this run": where the durations came from.
  std::string_view basis;
};

// The durations the task runner orders ready tasks by (the remaining critical path in seconds,
// plan/roadmap.h): per task its `history` where it has one (>= 0), else its `effort` at the
// seconds per unit of effort of the tasks with one. Empty when no task has a history: then the
// runner orders by effort, as the plan does.
std::vector<double> HistoryDurations(const std::vector<double>& effort,
                                     const std::vector<double>& history);

// The estimate of `input` (see the top of this file). The range comes from the spread of this
// run's evidence: each succeeded task's seconds over the duration it would have been expected to
// take gives a ratio; the list schedule is simulated again with every expected duration times
// the ratios' 20th and 80th percentiles (at least x0.67 to x1.5 while there are fewer than five
// ratios, so thin evidence shows as a wide range).
Eta EstimateEta(const EtaInput& input);

// The seconds left of the one estimate in the list schedule of `input` with `scale` times each
// expected duration (a unit of EstimateEta, for its tests and the benchmark); < 0 when unknown.
double SimulateEta(const EtaInput& input, double scale);

// The estimate before this one: the seconds per unit of effort that the succeeded attempts took,
// times the effort of the tasks not yet over, over the slots; < 0 before anything succeeded.
// Kept for the benchmark (bench/eta_replay.cc) to compare against.
double EffortRateEta(double remaining_effort, double succeeded_seconds, double succeeded_effort,
                     int jobs);

}  // namespace mex
