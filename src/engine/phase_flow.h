// The milestone's flow (SPEC §4, §5): its phases in order, each opened on the task runner once
// the one before passed its gate; a phase's dynamic tasks (tasks_from) added as it starts; its
// gate's commands run and its gate scored once its tasks are over; a phase whose gate failed run
// again with {{gate.missing}}; the budget of what the agents cost; weighted progress. A milestone
// without phases is one phase: a plain DAG runs through the same flow and runner.
#pragma once

#include <string>
#include <vector>

#include "engine/journal.h"
#include "engine/task_runner.h"
#include "flow/gate.h"

namespace mex {

// What the flow asks of the session (engine/session.h) as a phase starts.
class PhaseHooks {
 public:
  virtual ~PhaseHooks() = default;
  // Before phase `phase` starts for the first time in this session: adds its dynamic tasks
  // (tasks_from), through TaskRunner::InsertTasks and Resume. Returns "" or why it could not.
  virtual std::string ExpandPhase(size_t phase) = 0;
};

class PhaseFlow {
 public:
  PhaseFlow(const RunInfo& run, TaskRunner* runner, Journal* journal);

  // Whether Run() reports the run as resumed (set when an earlier session of it exists).
  void set_resumed(bool resumed) { resumed_ = resumed; }
  // What the agents of earlier sessions of the run reported they cost (for budget_usd).
  void set_spent_usd(double spent) { spent_usd_ = spent; }
  // What the agents reported they cost so far, this session and the earlier ones.
  double spent_usd() const { return spent_usd_; }
  // Σ weight × the share of each phase that is done, 0..1: a phase whose gate passed is done,
  // else the share of its tasks that succeeded (SPEC §5; docs/commands.md, mex status).
  double WeightedProgress() const;
  void set_hooks(PhaseHooks* hooks) { hooks_ = hooks; }

  // Runs the phases until one fails its gate for good, the run is stopped, or all passed;
  // returns mex's exit code: 0 every phase passed, 1 a task or phase failed, 130 interrupted.
  int Run();

 private:
  // False when the phase cannot start (its dynamic tasks could not be added).
  bool StartPhase(size_t phase);
  // Once the phase's tasks are over: runs its gate's commands, if it has any.
  void RunGateCommands();
  // Scores the phase's gate; true when the run goes on (next phase, or the phase again).
  bool FinishPhase();
  // Writes the validation file, records the gate in the store and reports the phase finished;
  // `reason`: why the phase could not even start, or "".
  void RecordGate(const GateResult& result, const std::string& reason);
  void Spend(double usd);
  void CheckBudget();
  int Finish();

  const RunInfo& run_;
  const Milestone& m_;
  TaskRunner& runner_;
  Journal& journal_;
  PhaseHooks* hooks_ = nullptr;

  size_t phase_ = 0;
  std::vector<bool> expanded_;          // per phase: its dynamic tasks were added
  std::vector<int> reruns_;             // per phase: how often it ran again after its gate failed
  std::vector<std::string> missing_;    // per phase: {{gate.missing}} for a re-run
  std::vector<std::string> gate_logs_;  // of the current phase's gate commands
  // With targets (RunInfo::targets): the last phase that runs, and in it the tasks that run
  // (the targets and their deps, by index, set when it starts); else the last phase and empty.
  size_t last_phase_ = 0;
  std::vector<bool> selected_;
  // The tasks of phase `phase` that run: all of them, or in the targets' phase the selected.
  std::vector<uint32_t> TasksToRun(size_t phase) const;
  size_t phases_passed_ = 0;
  bool resumed_ = false;
  double spent_usd_ = 0;
  bool budget_spent_ = false;
  double started_ = 0;
};

}  // namespace mex
