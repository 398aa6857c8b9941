#include "engine/phase_flow.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "model/progress.h"
#include "plan/targets.h"
#include "util/clock.h"
#include "util/environment.h"

namespace mex {

namespace {

std::string DescribeCommandEnd(const AttemptEnd& end) {
  switch (end.reason) {
    case EndReason::kExited:
      return end.exit_code >= 0 ? fmt::format("exit {}", end.exit_code)
                                : fmt::format("killed by signal {}", end.signal);
    case EndReason::kTimedOut:
      return "timed out";
    case EndReason::kStallKilled:
      return "stalled";
    case EndReason::kCancelled:
      return "cancelled";
    case EndReason::kSpawnFailed:
      return "could not start: " + end.error;
    case EndReason::kLogFull:
      return "log full";
    case EndReason::kLost:
    case EndReason::kOutOfMemory:
      return end.error;
  }
  return "?";
}

}  // namespace

PhaseFlow::PhaseFlow(const RunInfo& run, TaskRunner* runner, Journal* journal)
    : run_(run), m_(*run.milestone), runner_(*runner), journal_(*journal) {
  runner_.set_on_cost([this](double usd) { Spend(usd); });
}

int PhaseFlow::Run() {
  started_ = MonotonicSeconds();
  expanded_.assign(m_.phases.size(), false);
  reruns_.assign(m_.phases.size(), 0);
  missing_.assign(m_.phases.size(), "");
  last_phase_ = run_.targets.empty() ? (m_.phases.empty() ? 0 : m_.phases.size() - 1)
                                     : LastTargetPhase(m_, run_.targets);
  Event begin{EventKind::kRunStarted};
  begin.succeeded = runner_.kept();
  begin.resumed = resumed_;
  journal_.Emit(begin);
  CheckBudget();  // earlier sessions may have spent it
  bool going = !runner_.stopping() && StartPhase(0);
  while (going) {
    runner_.RunUntilIdle();
    if (runner_.stopping()) break;
    // The phase's tasks are over: its gate's commands, then its score.
    RunGateCommands();
    if (runner_.stopping()) break;
    going = FinishPhase();
  }
  return Finish();
}

bool PhaseFlow::StartPhase(size_t phase) {
  phase_ = phase;
  const Phase& p = m_.phases[phase];
  size_t own_tasks = p.tasks.size();
  std::string err;
  if (!p.tasks_from.empty() && !expanded_[phase] && hooks_ != nullptr) {
    err = hooks_->ExpandPhase(phase);
    expanded_[phase] = err.empty();
  }
  Event event{EventKind::kPhaseStarted};
  event.phase = p.name;
  event.progress = WeightedProgress();
  event.added = err.empty() ? static_cast<int>(p.tasks.size() - own_tasks) : 0;
  if (event.added > 0) event.reason = p.tasks_from;
  for (uint32_t t : p.tasks) event.succeeded += runner_.state(t) == TaskState::kSucceeded;
  journal_.Emit(event);
  if (!err.empty()) {
    GateResult result;
    result.phase = p.name;
    result.min_score = EffectiveGate(p).min_score;
    result.missing.push_back(
        fmt::format("the tasks of phase '{}' could not be added from "
                    "'{}': {}",
                    p.name, p.tasks_from, err));
    RecordGate(result, err);
    return false;
  }
  // Now that the phase's tasks are all there (tasks_from added its own).
  if (!run_.targets.empty() && phase == last_phase_) {
    selected_ = TasksForTargets(m_, runner_.graph(), run_.targets);
  }
  runner_.Open(TasksToRun(phase), missing_[phase]);
  return true;
}

std::vector<uint32_t> PhaseFlow::TasksToRun(size_t phase) const {
  const std::vector<uint32_t>& all = m_.phases[phase].tasks;
  if (run_.targets.empty() || phase != last_phase_) return all;
  std::vector<uint32_t> chosen;
  for (uint32_t t : all) {
    if (t < selected_.size() && selected_[t]) chosen.push_back(t);
  }
  return chosen;
}

void PhaseFlow::RunGateCommands() {
  const Phase& p = m_.phases[phase_];
  std::vector<AttemptSpec> commands;
  gate_logs_.clear();
  const std::vector<GateCommand> gate_commands = GateCommands(p);
  // A phase whose tasks run in worktrees is judged on what they built together: a worktree of
  // the integration head.
  std::string folder = m_.workspace, folder_error;
  Workspaces* workspaces = runner_.workspaces();
  bool merged = false;
  for (uint32_t t : p.tasks) {
    merged = merged || m_.WorkspaceOf(m_.tasks[t]) == WorkspaceMode::kWorktree;
  }
  if (!gate_commands.empty() && workspaces != nullptr && merged) {
    folder = workspaces->GateFolder(&folder_error);
  }
  for (const GateCommand& c : gate_commands) {
    AttemptSpec spec;
    spec.argv = {"/bin/sh", "-c", c.command};
    if (!folder_error.empty()) {  // it fails, saying why in its log
      spec.argv = {"/bin/sh", "-c", "printf '%s\\n' \"$0\" >&2; exit 1", folder_error};
    }
    spec.cwd = folder.empty() ? m_.workspace : folder;
    spec.env = run_.base_env;
    SetEnv(&spec.env, "MEX_RUN_ID", run_.paths.run_id);
    SetEnv(&spec.env, "MEX_PHASE", p.name);
    SetEnv(&spec.env, "MEX_ARTIFACTS", run_.paths.artifacts_dir);
    // Named after the criterion's place in the gate, as the validation file lists them.
    spec.log_path = fmt::format("{}/{}.{}.log", run_.paths.validation_dir, p.name, c.criterion + 1);
    spec.timeout_s = m_.defaults.timeout_s;
    spec.kill_grace_s = run_.kill_grace_s;
    spec.log_limit_bytes = static_cast<uint64_t>(m_.defaults.log_limit_bytes);
    gate_logs_.push_back(spec.log_path);
    Event event{EventKind::kGateCommand};
    event.phase = p.name;
    event.reason = c.command;
    event.log = spec.log_path;
    journal_.Emit(event);
    commands.push_back(std::move(spec));
  }
  bool any = !commands.empty();
  runner_.StartCommands(std::move(commands));
  runner_.Commit();  // their events: shown once durable, like every other
  if (any) runner_.RunUntilIdle();
}

bool PhaseFlow::FinishPhase() {
  const Phase& p = m_.phases[phase_];
  GateInputs in;
  in.milestone = &m_;
  in.paths = &run_.paths;
  in.phase = phase_;
  for (uint32_t t : TasksToRun(phase_)) {
    TaskState state = runner_.state(t);
    in.tasks.push_back({std::string(m_.tasks[t].id), state == TaskState::kSucceeded,
                        std::string(TaskStateName(state)), runner_.end_reason(t)});
  }
  const std::vector<AttemptEnd>& ends = runner_.command_ends();
  for (size_t i = 0; i < ends.size(); ++i) {
    bool passed = ends[i].reason == EndReason::kExited && ends[i].exit_code == 0;
    std::string detail = DescribeCommandEnd(ends[i]);
    if (!passed) detail += ", its output is in " + gate_logs_[i];
    in.commands.push_back({passed, detail});
  }
  GateResult result = EvaluateGate(in);
  if (result.passed) ++phases_passed_;  // before its event: the phase counts as done in it
  RecordGate(result, "");
  if (result.passed) {
    return phase_ + 1 <= last_phase_ && StartPhase(phase_ + 1);
  }
  if (reruns_[phase_] >= p.gate_reruns) return false;
  ++reruns_[phase_];
  Event rerun{EventKind::kPhaseRerun};
  rerun.phase = p.name;
  rerun.attempt = reruns_[phase_];
  rerun.max_attempts = p.gate_reruns;
  rerun.reason = fmt::format("gate score {:.3f} below {:.3f}", result.score, result.min_score);
  journal_.Emit(rerun);
  missing_[phase_] = MissingText(result);
  runner_.Reset(TasksToRun(phase_));
  StartPhase(phase_);
  return true;
}

void PhaseFlow::RecordGate(const GateResult& result, const std::string& reason) {
  nlohmann::ordered_json validation = ValidationJson(result);
  std::string text = validation.dump(2) + "\n";
  std::string err;
  std::string path = fmt::format("{}/{}.json", run_.paths.validation_dir, result.phase);
  if (!run_.paths.state->WriteAtomically(path, text, &err)) fmt::print(stderr, "mex: {}\n", err);
  journal_.store().GateScored(phase_,
                              {result.score, result.min_score, result.passed, validation.dump()});
  Event event{EventKind::kPhaseFinished};
  event.phase = result.phase;
  event.passed = result.passed;
  event.score = result.score;
  event.min_score = result.min_score;
  event.missing = result.missing;
  event.reason = reason;
  event.progress = WeightedProgress();
  journal_.Emit(event);
}

double PhaseFlow::WeightedProgress() const {
  double sum = 0;
  for (size_t i = 0; i < m_.phases.size(); ++i) {
    const Phase& p = m_.phases[i];
    // Phases pass in order. With targets, their phase is done only as far as its tasks are
    // (some are not needed).
    const bool partial = !run_.targets.empty() && i == last_phase_;
    int done = 0;
    for (uint32_t t : p.tasks) done += runner_.state(t) == TaskState::kSucceeded ? 1 : 0;
    sum += p.weight *
           PhaseDone(i < phases_passed_ && !partial, done, static_cast<int>(p.tasks.size()));
  }
  return sum / 100;
}

void PhaseFlow::Spend(double usd) {
  spent_usd_ += usd;
  CheckBudget();
}

void PhaseFlow::CheckBudget() {
  const std::optional<double>& budget = m_.defaults.budget_usd;
  if (!budget || budget_spent_ || spent_usd_ < *budget) return;
  budget_spent_ = true;
  runner_.StopStarting("the budget is spent");  // the attempts running go on to their end: their
                                                // cost is spent already
  Event event{EventKind::kBudgetSpent};
  event.cost_usd = spent_usd_;
  event.reason =
      fmt::format("the agents have reported ${:.4f} of the ${:g} budget_usd", spent_usd_, *budget);
  journal_.Emit(event);
}

int PhaseFlow::Finish() {
  Event done{EventKind::kRunFinished};
  for (size_t phase = 0; phase < m_.phases.size(); ++phase) {
    // With targets, what they do not need stays as it is, for a later run.
    if (!run_.targets.empty() && phase > last_phase_) break;
    std::vector<uint32_t> tasks = TasksToRun(phase);
    for (uint32_t t : tasks) {
      // Not started: after a failure in an earlier phase it is skipped, after a stop or an
      // interrupt cancelled.
      runner_.Abandon(t, fmt::format("phase '{}' did not pass its gate", m_.phases[phase_].name));
      TaskState state = runner_.state(t);
      done.succeeded += state == TaskState::kSucceeded;
      done.failed += state == TaskState::kFailed;
      done.skipped += state == TaskState::kSkipped;
      done.cancelled += state == TaskState::kCancelled;
    }
  }
  // A phase whose gate passed may hold a failed task (design at 0.75 with three analyses of
  // four): the run succeeds when every phase passed its gate.
  bool store_failed = journal_.failed();
  bool passed = phases_passed_ == (m_.phases.empty() ? 0 : last_phase_ + 1) && !store_failed;
  done.exit_code = runner_.interrupt() && !store_failed ? 130 : passed ? 0 : 1;
  done.passed = done.exit_code == 0;
  done.elapsed_s = MonotonicSeconds() - started_;
  done.cost_usd = spent_usd_;
  done.reason = runner_.interrupt() ? "interrupted"
                : done.passed       ? "succeeded"
                : budget_spent_     ? "budget spent"
                                    : "failed";
  journal_.Emit(done);
  runner_.Commit();
  return done.exit_code;
}

}  // namespace mex
