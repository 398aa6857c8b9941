#include "engine/scheduler.h"

#include <fmt/format.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "agents/agent_cli.h"
#include "agents/agents.h"
#include "engine/resources.h"
#include "exec/process.h"
#include "flow/schemas.h"
#include "store/run_files.h"

namespace mex {

namespace {

std::string_view EndName(EndReason reason) {
  switch (reason) {
    case EndReason::kExited:
      return "exited";
    case EndReason::kTimedOut:
      return "timed_out";
    case EndReason::kStallKilled:
      return "stall_killed";
    case EndReason::kCancelled:
      return "cancelled";
    case EndReason::kSpawnFailed:
      return "spawn_failed";
  }
  return "?";
}

// How often a retry waiting for memory or disk looks again, in seconds.
constexpr double kResourcePoll = 1;

// How much of a failed attempt's log the next attempt and the failure report get, and what the
// classify rules' patterns search (the bound of their cost).
constexpr size_t kLogTailBytes = 4096;

// The executor keys of a gate's commands: the top bit set, the command's index below.
constexpr uint64_t kGateKey = uint64_t{1} << 63;

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
  }
  return "?";
}

}  // namespace

Scheduler::Scheduler(const RunInfo& run, const Graph& graph, const std::vector<double>& priority,
                     int jobs, Executor* executor, Store* store, EventSink* sink)
    : run_(run),
      m_(*run.milestone),
      graph_(graph),
      priority_(priority),
      jobs_(std::max(1, jobs)),
      executor_(executor),
      store_(store),
      sink_(sink),
      tasks_(m_.tasks.size()),
      pool_of_task_(m_.tasks.size(), -1),
      rng_(std::random_device{}()) {
  for (const auto& [name, depth] : m_.pools) pools_.push_back({depth, 0, {}});
  AssignPools();
}

void Scheduler::AssignPools() {
  std::map<std::string, int> pool_index;
  for (const auto& [name, depth] : m_.pools) {
    pool_index[name] = static_cast<int>(pool_index.size());
  }
  pool_of_task_.assign(m_.tasks.size(), -1);
  for (uint32_t t = 0; t < m_.tasks.size(); ++t) {
    const TaskDetail* d = m_.tasks[t].details();
    if (d && !d->pool.empty()) pool_of_task_[t] = pool_index.at(d->pool);
  }
}

void Scheduler::InsertTasks(uint32_t at, uint32_t count) {
  // Between phases: no queue holds a task index, every task of a later phase is pending.
  tasks_.insert(tasks_.begin() + at, count, TaskRun{});
  AssignPools();
}

void Scheduler::Resume(uint32_t task, int attempts, std::vector<AttemptRecord> history, bool kept) {
  TaskRun& run = tasks_[task];
  run.attempts = attempts;
  run.prior_attempts = attempts;
  run.history = std::move(history);
  if (kept) {
    run.state = TaskState::kSucceeded;
    ++kept_;
  }
}

int Scheduler::Run() {
  started_ = MonotonicSeconds();
  expanded_.assign(m_.phases.size(), false);
  reruns_.assign(m_.phases.size(), 0);
  missing_.assign(m_.phases.size(), "");
  Event begin{EventKind::kRunStarted};
  begin.succeeded = kept_;
  begin.resumed = resumed_;
  Emit(begin);
  CheckBudget();  // earlier sessions may have spent it
  bool going = !stopping_ && StartPhase(0);
  while (going) {
    ReleaseDueRetries();
    StartReadyTasks();
    std::vector<AttemptEnd> not_started;
    not_started.swap(not_started_);
    for (const AttemptEnd& end : not_started) HandleEnd(end);
    if (running_ == 0 && retries_.empty() && ready_.empty()) {
      // The phase's tasks are over: its gate's commands, then its score.
      if (stopping_) break;
      if (!gating_ && StartGateCommands()) continue;
      gating_ = false;
      going = FinishPhase();
      continue;
    }
    double timeout = -1;
    if (!retries_.empty()) timeout = std::max(0.0, retries_.top().first - MonotonicSeconds());
    double refresh = store_->RefreshIn();
    if (refresh >= 0 && (timeout < 0 || refresh < timeout)) timeout = refresh;
    WaitResult result = executor_->Wait(timeout);
    for (uint64_t key : result.stalled) {
      if ((key & kGateKey) == 0) Emit(TaskEvent(EventKind::kTaskStalled, key));
    }
    for (const AttemptEnd& end : result.ended) {
      if ((end.key & kGateKey) != 0) {
        HandleGateCommandEnd(end);
      } else {
        HandleEnd(end);
      }
    }
    if (result.interrupt) Interrupt(result.interrupt);
  }
  return Finish();
}

bool Scheduler::StartPhase(size_t phase) {
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
  for (uint32_t t : p.tasks) event.succeeded += tasks_[t].state == TaskState::kSucceeded;
  Emit(event);
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
  phase_open_ = 0;
  for (uint32_t t : p.tasks) {
    tasks_[t].waiting = 0;
    if (tasks_[t].state == TaskState::kSucceeded) continue;  // kept from an earlier session
    ++phase_open_;
    for (uint32_t dep : graph_.deps(t)) {
      tasks_[t].waiting +=
          m_.tasks[dep].phase == phase && tasks_[dep].state != TaskState::kSucceeded ? 1 : 0;
    }
  }
  Preflight(phase);
  for (uint32_t t : p.tasks) {
    if (tasks_[t].state == TaskState::kPending && tasks_[t].waiting == 0) MakeReady(t);
  }
  return true;
}

void Scheduler::Preflight(size_t phase) {
  std::map<std::string, std::string> problems;  // agent name -> why it cannot start
  for (uint32_t t : m_.phases[phase].tasks) {
    const Task& task = m_.tasks[t];
    if (tasks_[t].state != TaskState::kPending || !task.has_prompt()) continue;
    const std::string& name = AgentName(m_, task);
    auto known = problems.find(name);
    if (known == problems.end()) {
      const Agent* agent = FindAgent(m_, name);
      std::string problem = agent == nullptr ? fmt::format("undefined agent '{}'", name)
                                             : MissingProgram(*agent, m_.workspace);
      known = problems.emplace(name, std::move(problem)).first;
    }
    if (known->second.empty()) continue;
    Classification c;
    c.failure_class = FailureClass::kPermanent;
    c.reason = known->second;
    Fail(t, c, 0);
  }
}

bool Scheduler::StartGateCommands() {
  gating_ = true;
  gate_commands_.clear();
  const Phase& p = m_.phases[phase_];
  for (const GateCommand& c : GateCommands(p)) {
    size_t index = gate_commands_.size();
    AttemptSpec spec;
    spec.key = kGateKey | index;
    spec.argv = {"/bin/sh", "-c", c.command};
    spec.cwd = m_.workspace;
    spec.env = run_.base_env;
    SetEnv(&spec.env, "MEX_RUN_ID", run_.paths.run_id);
    SetEnv(&spec.env, "MEX_PHASE", p.name);
    SetEnv(&spec.env, "MEX_ARTIFACTS", run_.paths.artifacts_dir);
    // Named after the criterion's place in the gate, as the validation file lists them.
    spec.log_path = fmt::format("{}/{}.{}.log", run_.paths.validation_dir, p.name, c.criterion + 1);
    spec.timeout_s = m_.defaults.timeout_s;
    spec.kill_grace_s = run_.kill_grace_s;
    gate_commands_.push_back({c.command, false, "not run", spec.log_path});
    Event event{EventKind::kGateCommand};
    event.phase = p.name;
    event.reason = c.command;
    event.log = spec.log_path;
    Emit(event);
    ++running_;
    executor_->Start(spec);
  }
  Deliver();  // nothing to commit: a gate command changes no state
  return !gate_commands_.empty();
}

void Scheduler::HandleGateCommandEnd(const AttemptEnd& end) {
  --running_;
  GateCommandRun& c = gate_commands_[end.key & ~kGateKey];
  c.passed = end.reason == EndReason::kExited && end.exit_code == 0;
  c.detail = DescribeCommandEnd(end);
  if (!c.passed) c.detail += ", its output is in " + c.log;
}

bool Scheduler::FinishPhase() {
  const Phase& p = m_.phases[phase_];
  GateInputs in;
  in.milestone = &m_;
  in.paths = &run_.paths;
  in.phase = phase_;
  for (uint32_t t : p.tasks) {
    const TaskRun& run = tasks_[t];
    in.tasks.push_back({std::string(m_.tasks[t].id), run.state == TaskState::kSucceeded,
                        std::string(TaskStateName(run.state)), run.end_reason});
  }
  for (const GateCommandRun& c : gate_commands_) in.commands.push_back({c.passed, c.detail});
  gate_commands_.clear();
  GateResult result = EvaluateGate(in);
  RecordGate(result, "");
  if (result.passed) {
    ++phases_passed_;
    return phase_ + 1 < m_.phases.size() && StartPhase(phase_ + 1);
  }
  if (reruns_[phase_] >= p.gate_reruns) return false;
  ++reruns_[phase_];
  Event rerun{EventKind::kPhaseRerun};
  rerun.phase = p.name;
  rerun.attempt = reruns_[phase_];
  rerun.max_attempts = p.gate_reruns;
  rerun.reason = fmt::format("gate score {:.3f} below {:.3f}", result.score, result.min_score);
  Emit(rerun);
  RerunPhase(MissingText(result));
  return true;
}

void Scheduler::RerunPhase(const std::string& missing) {
  missing_[phase_] = missing;
  for (uint32_t t : m_.phases[phase_].tasks) {
    TaskRun& run = tasks_[t];
    run.prior_attempts = run.attempts;  // a fresh budget of attempts
    run.last_error.clear();
    run.end_reason.clear();
    SetState(t, TaskState::kPending);
  }
  StartPhase(phase_);
}

void Scheduler::RecordGate(const GateResult& result, const std::string& reason) {
  nlohmann::ordered_json validation = ValidationJson(result);
  std::string text = validation.dump(2) + "\n";
  std::string err;
  std::string path = fmt::format("{}/{}.json", run_.paths.validation_dir, result.phase);
  if (!run_.paths.state->WriteAtomically(path, text, &err)) fmt::print(stderr, "mex: {}\n", err);
  store_->GateScored(phase_, {result.score, result.min_score, result.passed, validation.dump()});
  Event event{EventKind::kPhaseFinished};
  event.phase = result.phase;
  event.passed = result.passed;
  event.score = result.score;
  event.min_score = result.min_score;
  event.missing = result.missing;
  event.reason = reason;
  event.progress = WeightedProgress();
  Emit(event);
}

double Scheduler::WeightedProgress() const {
  double sum = 0;
  for (size_t i = 0; i < m_.phases.size(); ++i) {
    const Phase& p = m_.phases[i];
    if (p.tasks.empty()) {
      sum += i < phases_passed_ ? p.weight : 0;  // phases pass in order
      continue;
    }
    size_t over = 0;
    for (uint32_t t : p.tasks) {
      TaskState state = tasks_[t].state;
      over += state == TaskState::kSucceeded || state == TaskState::kFailed ||
                      state == TaskState::kSkipped
                  ? 1
                  : 0;
    }
    sum += p.weight * static_cast<double>(over) / static_cast<double>(p.tasks.size());
  }
  return sum / 100;
}

void Scheduler::MakeReady(uint32_t task) {
  if (stopping_) return;  // it stays pending, and is recorded cancelled at the end
  SetState(task, TaskState::kReady);
  ready_.push({priority_[task], task});
}

void Scheduler::StartReadyTasks() {
  to_start_.clear();
  while (!stopping_ && running_ + static_cast<int>(to_start_.size()) < jobs_ && !ready_.empty()) {
    uint32_t task = ready_.top().task;
    ready_.pop();
    if (Pool* pool = PoolOf(task)) {
      if (pool->in_use >= pool->depth) {
        pool->delayed.push({priority_[task], task});
        continue;
      }
      ++pool->in_use;
    }
    to_start_.push_back(task);
  }
  for (uint32_t task : to_start_) RecordAttemptStart(task);
  // One transaction per turn of the loop: what ended since the last turn, and these starts,
  // are durable before any of these processes exists or is reported.
  Commit();
  if (store_failed_) return;
  for (uint32_t task : to_start_) LaunchAttempt(task);
  to_start_.clear();
  Deliver();  // the starts: each was committed before its launch
}

void Scheduler::Commit() {
  if (!store_failed_ && !store_->Commit()) {
    store_failed_ = true;
    for (uint32_t task : to_start_) {
      // Recorded as started, but the record is not durable: these never run.
      --running_;
      if (Pool* pool = PoolOf(task)) --pool->in_use;
      SetState(task, TaskState::kCancelled);
      --phase_open_;
    }
    to_start_.clear();
    StopStarting();
    Event event{EventKind::kInterrupted};
    event.reason = store_->error();
    Emit(event);
    executor_->CancelAll();
  }
  Deliver();
}

void Scheduler::Deliver() {
  for (const Event& event : undelivered_) sink_->OnEvent(event);
  undelivered_.clear();
}

void Scheduler::RecordAttemptStart(uint32_t task) {
  TaskRun& run = tasks_[task];
  ++run.attempts;
  ++running_;
  SetState(task, TaskState::kRunning);  // with its new attempt count: numbering resumes from it
  AttemptRecord record;
  record.task = m_.tasks[task].id;
  record.number = run.attempts;
  record.started_at = WallClockSeconds();
  record.log_path = run_.paths.LogPath(m_.tasks[task].id, run.attempts);
  run.history.push_back(record);
  store_->AttemptChanged(record);
}

void Scheduler::LaunchAttempt(uint32_t task) {
  TaskRun& run = tasks_[task];
  run.started = MonotonicSeconds();
  Event event = TaskEvent(EventKind::kTaskStarted, task);
  event.log = run.history.back().log_path;
  Emit(event);
  AttemptHistory history{run.attempts, run.last_error, missing_[m_.tasks[task].phase]};
  AttemptSpec spec;
  std::string err;
  int err_no = 0;
  if (!BuildAttempt(run_, m_.tasks[task], history, &spec, &err, &err_no)) {
    // Nothing ran: the attempt ends like one the executor could not spawn, handled with the ends
    // of this turn and committed with them.
    AttemptEnd end;
    end.key = task;
    end.reason = EndReason::kSpawnFailed;
    end.spawn_errno = err_no;
    end.error = err;
    end.started_at = end.ended_at = WallClockSeconds();
    not_started_.push_back(std::move(end));
    return;
  }
  spec.key = task;
  executor_->Start(spec);
}

void Scheduler::HandleEnd(const AttemptEnd& end) {
  auto task = static_cast<uint32_t>(end.key);
  TaskRun& run = tasks_[task];
  --running_;
  if (Pool* pool = PoolOf(task)) {
    --pool->in_use;
    if (!pool->delayed.empty() && !stopping_) {
      ready_.push(pool->delayed.top());
      pool->delayed.pop();
    }
  }
  double elapsed = MonotonicSeconds() - run.started;
  AttemptOutcome outcome;
  outcome.end = end;
  AttemptRecord& record = run.history.back();
  bool exited_zero = end.reason == EndReason::kExited && end.exit_code == 0;
  if (exited_zero) {
    const TaskDetail* d = m_.tasks[task].details();
    if (d && !d->output.path.empty()) {
      outcome.output_error =
          ValidateArtifact(*run_.paths.state, OutputPath(run_, m_.tasks[task]), d->output.schema);
    }
  }
  // Only a failure needs the log's tail (to classify it, to tell the next attempt, to report).
  ReadAgentReport(task, &outcome, &record);
  if (!exited_zero || !outcome.output_error.empty() || !outcome.agent_failure.empty()) {
    outcome.log_tail = run_.paths.state->ReadTail(record.log_path, kLogTailBytes);
  }
  if (end.reason == EndReason::kSpawnFailed && outcome.log_tail.empty()) {
    outcome.log_tail = end.error;
  }
  record.log_tail = outcome.log_tail;
  Classification c = Classify(outcome, m_.classify);
  record.ended_at = end.ended_at;
  record.exit_code = end.exit_code;
  record.signal = end.signal;
  record.end = EndName(end.reason);
  record.failure_class = c.succeeded ? "" : std::string(FailureClassName(c.failure_class));
  record.reason = c.reason;
  store_->AttemptChanged(record);
  if (record.cost_usd > 0) {
    spent_usd_ += record.cost_usd;
    CheckBudget();
  }
  if (c.succeeded) {
    Succeed(task, elapsed);
  } else if (interrupt_ != 0 || store_failed_ || end.reason == EndReason::kCancelled) {
    SetState(task, TaskState::kCancelled);
    --phase_open_;
    Event event = TaskEvent(EventKind::kTaskCancelled, task);
    event.reason = interrupt_ ? "interrupted" : store_failed_ ? "the store failed" : "cancelled";
    run.end_reason = event.reason;
    Emit(event);
  } else {
    run.last_class = c.failure_class;
    run.last_error = fmt::format("{} ({}). End of its log:\n{}", c.reason,
                                 FailureClassName(c.failure_class), outcome.log_tail);
    bool retry = c.failure_class != FailureClass::kPermanent && run.attempts < AttemptLimit(task) &&
                 !stopping_;
    if (retry) {
      ScheduleRetry(task, c, elapsed);
    } else {
      Fail(task, c, elapsed);
    }
  }
}

void Scheduler::Succeed(uint32_t task, double elapsed) {
  SetState(task, TaskState::kSucceeded);
  --phase_open_;
  Event event = TaskEvent(EventKind::kTaskSucceeded, task);
  event.elapsed_s = elapsed;
  Emit(event);
  for (uint32_t d : graph_.dependents(task)) {
    if (m_.tasks[d].phase == phase_ && --tasks_[d].waiting == 0 &&
        tasks_[d].state == TaskState::kPending) {
      MakeReady(d);
    }
  }
}

void Scheduler::ScheduleRetry(uint32_t task, const Classification& c, double elapsed) {
  // The backoff grows with this session's attempts: a resumed task starts from the shortest.
  const TaskRun& run = tasks_[task];
  int next = run.attempts - run.prior_attempts + 1;
  double delay = BackoffDelay(RetryFor(task).backoff, next, &rng_);
  SetState(task, TaskState::kRetryWait);
  retries_.push({MonotonicSeconds() + delay, task});
  Event event = TaskEvent(EventKind::kTaskRetry, task);
  event.failure_class = FailureClassName(c.failure_class);
  event.reason = c.reason;
  event.delay_s = delay;
  event.elapsed_s = elapsed;
  Emit(event);
}

void Scheduler::ReleaseDueRetries() {
  double now = MonotonicSeconds();
  std::vector<uint32_t> postponed;
  while (!retries_.empty() && retries_.top().first <= now) {
    uint32_t task = retries_.top().second;
    retries_.pop();
    if (tasks_[task].state != TaskState::kRetryWait) continue;
    if (WaitsForResources(task, now)) {
      postponed.push_back(task);
    } else {
      MakeReady(task);
    }
  }
  for (uint32_t task : postponed) retries_.push({now + kResourcePoll, task});
}

bool Scheduler::WaitsForResources(uint32_t task, double now) {
  TaskRun& run = tasks_[task];
  if (run.last_class != FailureClass::kResource) return false;
  const ResourceWait& wait = m_.defaults.resource_wait;
  std::string shortage = ResourceShortage(wait, m_.workspace);
  if (shortage.empty() || (run.waiting_since > 0 && now - run.waiting_since >= wait.max_wait_s)) {
    run.waiting_since = 0;  // free enough, or waited long enough: try anyway
    return false;
  }
  if (run.waiting_since == 0) {
    run.waiting_since = now;
    Event event = TaskEvent(EventKind::kTaskWaiting, task);
    event.reason = shortage;
    Emit(event);
  }
  return true;
}

void Scheduler::Fail(uint32_t task, const Classification& c, double elapsed) {
  SetState(task, TaskState::kFailed);
  --phase_open_;
  tasks_[task].end_reason = fmt::format("{}: {}", FailureClassName(c.failure_class), c.reason);
  Event event = TaskEvent(EventKind::kTaskFailed, task);
  event.failure_class = FailureClassName(c.failure_class);
  event.reason = c.reason;
  event.elapsed_s = elapsed;
  Emit(event);
  WriteFailureReport(task, c);
  SkipDependents(task);
  if (m_.defaults.on_failure == OnFailure::kStop) StopStarting();
}

void Scheduler::ReadAgentReport(uint32_t task, AttemptOutcome* outcome, AttemptRecord* record) {
  const Task& t = m_.tasks[task];
  if (!t.has_prompt()) return;
  const Agent* agent = FindAgent(m_, AgentName(m_, t));
  const AgentCli* cli = agent ? AgentCliOf(*agent) : nullptr;
  if (cli == nullptr || outcome->end.reason == EndReason::kSpawnFailed) return;
  bool exited = outcome->end.reason == EndReason::kExited;
  AgentVerdict verdict = ReadAgentResult(*cli, exited ? outcome->end.exit_code : -1,
                                         *run_.paths.state, record->log_path);
  if (verdict.cost_usd) record->cost_usd = *verdict.cost_usd;
  if (verdict.input_tokens) record->input_tokens = *verdict.input_tokens;
  if (verdict.output_tokens) record->output_tokens = *verdict.output_tokens;
  // An attempt mex ended stays one that mex ended, whatever the agent then said.
  if (exited && verdict.judged && verdict.failed) {
    outcome->agent_failure = verdict.reason;
    outcome->agent_class = verdict.failure_class;
  }
}

void Scheduler::CheckBudget() {
  const std::optional<double>& budget = m_.defaults.budget_usd;
  if (!budget || budget_spent_ || spent_usd_ < *budget) return;
  budget_spent_ = true;
  StopStarting();  // the attempts running go on to their end: their cost is spent already
  Event event{EventKind::kBudgetSpent};
  event.cost_usd = spent_usd_;
  event.reason =
      fmt::format("the agents have reported ${:.4f} of the ${:g} budget_usd", spent_usd_, *budget);
  Emit(event);
}

void Scheduler::StopStarting() {
  stopping_ = true;
  while (!retries_.empty()) retries_.pop();
  while (!ready_.empty()) ready_.pop();
  for (Pool& pool : pools_) pool.delayed = {};
}

void Scheduler::SkipDependents(uint32_t task) {
  std::vector<uint32_t> stack = {task};
  while (!stack.empty()) {
    uint32_t at = stack.back();
    stack.pop_back();
    for (uint32_t d : graph_.dependents(at)) {
      if (m_.tasks[d].phase != phase_ || tasks_[d].state != TaskState::kPending) continue;
      SetState(d, TaskState::kSkipped);
      --phase_open_;
      Event event = TaskEvent(EventKind::kTaskSkipped, d);
      event.reason = fmt::format("'{}' failed", m_.tasks[task].id);
      tasks_[d].end_reason = event.reason;
      Emit(event);
      stack.push_back(d);
    }
  }
}

void Scheduler::Interrupt(int signal) {
  if (interrupt_ != 0) {
    executor_->KillAll();  // a second Ctrl-C: no more grace
    return;
  }
  interrupt_ = signal;
  StopStarting();
  Event event{EventKind::kInterrupted};
  event.reason = signal == SIGINT ? "SIGINT" : "SIGTERM";
  Emit(event);
  executor_->CancelAll();
}

int Scheduler::Finish() {
  Event done{EventKind::kRunFinished};
  for (size_t p = 0; p < m_.phases.size(); ++p) {
    for (uint32_t t : m_.phases[p].tasks) {
      TaskRun& run = tasks_[t];
      if (!IsFinal(run.state)) {
        // Not started: after a failure in an earlier phase it is skipped, after a stop or an
        // interrupt cancelled.
        SetState(t, stopping_ ? TaskState::kCancelled : TaskState::kSkipped);
      }
      done.succeeded += run.state == TaskState::kSucceeded;
      done.failed += run.state == TaskState::kFailed;
      done.skipped += run.state == TaskState::kSkipped;
      done.cancelled += run.state == TaskState::kCancelled;
    }
  }
  // A phase whose gate passed may hold a failed task (design at 0.75 with three analyses of
  // four): the run succeeds when every phase passed its gate.
  bool passed = phases_passed_ == m_.phases.size() && !store_failed_;
  done.exit_code = interrupt_ && !store_failed_ ? 130 : passed ? 0 : 1;
  done.passed = done.exit_code == 0;
  done.elapsed_s = MonotonicSeconds() - started_;
  done.cost_usd = spent_usd_;
  done.reason = interrupt_      ? "interrupted"
                : done.passed   ? "succeeded"
                : budget_spent_ ? "budget spent"
                                : "failed";
  Emit(done);
  Commit();
  return done.exit_code;
}

void Scheduler::SetState(uint32_t task, TaskState state) {
  tasks_[task].state = state;
  store_->TaskChanged(std::string(m_.tasks[task].id), state, tasks_[task].attempts);
}

void Scheduler::Emit(Event event) {
  event.time = WallClockSeconds();
  event.run = run_.paths.run_id;
  store_->Append(event);
  undelivered_.push_back(std::move(event));
}

Event Scheduler::TaskEvent(EventKind kind, uint32_t task) const {
  Event event{kind};
  event.task = m_.tasks[task].id;
  event.phase = m_.phases[m_.tasks[task].phase].name;
  event.attempt = tasks_[task].attempts;
  event.max_attempts = AttemptLimit(task);
  return event;
}

int Scheduler::AttemptLimit(uint32_t task) const {
  return tasks_[task].prior_attempts + RetryFor(task).max_attempts;
}

void Scheduler::WriteFailureReport(uint32_t task, const Classification& c) {
  nlohmann::ordered_json attempts = nlohmann::ordered_json::array();
  for (const AttemptRecord& a : tasks_[task].history) {
    attempts.push_back({{"n", a.number},
                        {"exit", a.exit_code},
                        {"signal", a.signal},
                        {"end", a.end},
                        {"class", a.failure_class},
                        {"reason", a.reason},
                        {"started_at", a.started_at},
                        {"ended_at", a.ended_at},
                        {"log", a.log_path},
                        {"log_tail", a.log_tail}});
  }
  nlohmann::ordered_json report = {{"task", m_.tasks[task].id},
                                   {"class", FailureClassName(c.failure_class)},
                                   {"reason", c.reason},
                                   {"attempts", std::move(attempts)}};
  std::string err;
  std::string path = fmt::format("{}/{}.json", run_.paths.failures_dir, m_.tasks[task].id);
  if (!run_.paths.state->WriteAtomically(path, report.dump(2) + "\n", &err)) {
    fmt::print(stderr, "mex: {}\n", err);
  }
}

const RetryPolicy& Scheduler::RetryFor(uint32_t task) const {
  const TaskDetail* d = m_.tasks[task].details();
  return d && d->retry ? *d->retry : m_.defaults.retry;
}

Scheduler::Pool* Scheduler::PoolOf(uint32_t task) {
  int index = pool_of_task_[task];
  return index < 0 ? nullptr : &pools_[index];
}

}  // namespace mex
