#include "engine/task_runner.h"

#include <fmt/format.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "agents/agent_cli.h"
#include "agents/agents.h"
#include "engine/resources.h"
#include "flow/schemas.h"
#include "model/run_files.h"
#include "plan/file_overlap.h"
#include "util/clock.h"

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
    case EndReason::kLogFull:
      return "log_full";
    case EndReason::kLost:
      return "lost";
    case EndReason::kOutOfMemory:
      return "out_of_memory";
  }
  return "?";
}

// How often a retry waiting for memory or disk looks again, in seconds.
constexpr double kResourcePoll = 1;

// How much of a failed attempt's log the next attempt and the failure report get, and what the
// classify rules' patterns search (the bound of their cost).
constexpr size_t kLogTailBytes = 4096;
// How many of the last lines of a failed task's log its task_failed event carries.
constexpr size_t kFailureTailLines = 10;

// The last `count` non-blank lines of `text`, oldest first.
std::vector<std::string> LastLines(const std::string& text, size_t count) {
  std::vector<std::string> lines;
  size_t end = text.size();
  while (end > 0 && lines.size() < count) {
    size_t start = text.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(std::move(line));
    end = start == 0 ? 0 : start - 1;
  }
  return {lines.rbegin(), lines.rend()};
}

// The executor keys of commands (StartCommands): the top bit set, the command's index below.
// A task's attempt has the task's index as its key.
constexpr uint64_t kCommandKey = uint64_t{1} << 63;

}  // namespace

TaskRunner::TaskRunner(const RunInfo& run, const Graph& graph, const std::vector<double>& priority,
                       int jobs, Executor* executor, Journal* journal)
    : run_(run),
      m_(*run.milestone),
      graph_(graph),
      priority_(&priority),
      jobs_(std::max(1, jobs)),
      executor_(executor),
      journal_(journal),
      tasks_(m_.tasks.size()),
      pool_of_task_(m_.tasks.size(), -1),
      spawn_limit_(jobs_),
      rng_(std::random_device{}()) {
  for (const auto& [name, depth] : m_.pools) pools_.push_back({depth, 0, {}});
  AssignPools();
}

void TaskRunner::AssignPools() {
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

void TaskRunner::InsertTasks(uint32_t at, uint32_t count) {
  // Between phases: no queue holds a task index, every task of a later phase is pending.
  tasks_.insert(tasks_.begin() + at, count, TaskRun{});
  AssignPools();
  file_locks_.clear();  // by task index: Open makes them again
}

void TaskRunner::Resume(uint32_t task, int attempts, std::vector<AttemptRecord> history, bool kept,
                        std::string rerun) {
  TaskRun& run = tasks_[task];
  run.rerun = std::move(rerun);
  run.attempts = attempts;
  run.prior_attempts = attempts;
  run.history = std::move(history);
  if (kept) {
    run.state = run.durable = TaskState::kSucceeded;
    ++kept_;
  }
}

bool TaskRunner::Adopt(uint32_t task, const AttemptRecord& left) {
  TaskRun& run = tasks_[task];
  AttemptHistory history{left.number, "", "", ""};
  for (const AttemptRecord& earlier : run.history) {
    if (earlier.number < left.number) {
      history.resource_failures += earlier.failure_class == "resource" ? 1 : 0;
    }
  }
  AttemptSpec spec;
  DescribeAttempt(run_, m_.tasks[task], history, &spec);
  spec.key = task;
  if (!left.log_path.empty()) spec.log_path = left.log_path;
  // Its time counts from its start in the earlier session (from its submission, for a job not
  // seen running then): what is left of its timeout, a moment when nothing is.
  const double ran = left.started_at > 0 ? std::max(0.0, WallClockSeconds() - left.started_at) : 0;
  if (spec.timeout_s > 0) spec.timeout_s = std::max(0.001, spec.timeout_s - ran);
  ProcessRef ref = executor_->Adopt(left.process, spec);
  if (ref.empty()) return false;
  if (run.history.empty() || run.history.back().number != left.number) {
    run.history.push_back(left);
  }
  // Its row as it was before the engine was killed (MarkInterrupted ended it in this same
  // transaction): in flight, and who it runs as if that was not recorded then.
  AttemptRecord& record = run.history.back();
  record.process = ref;
  record.ended_at = 0;
  record.end.clear();
  record.reason.clear();
  record.failure_class.clear();
  record.exit_code = -1;
  record.signal = 0;
  record.duration_s = -1;
  run.attempts = left.number;
  run.prior_attempts = left.number - 1;  // the first of this session's attempts
  run.started = MonotonicSeconds() - ran;
  run.rerun.clear();
  ++running_;
  if (Pool* pool = PoolOf(task)) ++pool->in_use;
  SetState(task, TaskState::kRunning);
  journal_->store().AttemptChanged(record);
  adopted_.push_back(task);
  return true;
}

void TaskRunner::EndLeftovers(const std::vector<AttemptRecord>& interrupted) {
  // An empty ref too: an attempt whose process or job was never recorded, found by its mark.
  std::vector<ProcessRef> leftovers;
  for (const AttemptRecord& a : interrupted) leftovers.push_back(a.process);
  executor_->EndLeftovers(leftovers, run_.kill_grace_s);
  if (workspaces_ != nullptr) workspaces_->Prune(interrupted);
}

void TaskRunner::Open(const std::vector<uint32_t>& tasks, std::string gate_missing) {
  ++generation_;
  gate_missing_ = std::move(gate_missing);
  for (uint32_t t : tasks) tasks_[t].opened = generation_;
  for (uint32_t t : tasks) {
    tasks_[t].waiting = 0;
    if (tasks_[t].state == TaskState::kSucceeded) continue;  // kept from an earlier session
    for (uint32_t dep : graph_.deps(t)) {
      tasks_[t].waiting += IsOpen(dep) && tasks_[dep].state != TaskState::kSucceeded ? 1 : 0;
    }
  }
  Preflight(tasks);
  LockFiles(tasks);
  for (uint32_t t : tasks) {
    if (tasks_[t].state == TaskState::kRunning) TakeFiles(t);  // followed (Adopt)
  }
  for (uint32_t t : tasks) {
    if (tasks_[t].state == TaskState::kPending && tasks_[t].waiting == 0) MakeReady(t);
  }
}

void TaskRunner::StartCommands(std::vector<AttemptSpec> commands) {
  command_ends_.assign(commands.size(), AttemptEnd{});
  for (size_t i = 0; i < commands.size(); ++i) {
    commands[i].key = kCommandKey | i;
    ++running_;
    executor_->Start(commands[i]);
  }
}

void TaskRunner::RunUntilIdle() {
  for (uint32_t task : adopted_) {
    // After run_started: the attempts followed from the killed session run as this one's, since
    // their recorded start (Adopt), not since now: the views count their time from there.
    Event event = TaskEvent(EventKind::kTaskStarted, task);
    event.log = tasks_[task].history.back().log_path;
    event.followed = true;
    event.elapsed_s = std::max(0.0, MonotonicSeconds() - tasks_[task].started);
    journal_->Emit(event);
  }
  adopted_.clear();
  for (;;) {
    ReleaseDueRetries();
    StartReadyTasks();
    std::vector<AttemptEnd> not_started;
    not_started.swap(not_started_);
    for (const AttemptEnd& end : not_started) HandleEnd(end);
    if (running_ == 0 && retries_.empty() && ready_.empty()) return;
    double timeout = -1;
    if (!retries_.empty()) timeout = std::max(0.0, retries_.top().first - MonotonicSeconds());
    double refresh = journal_->store().RefreshIn();
    if (refresh >= 0 && (timeout < 0 || refresh < timeout)) timeout = refresh;
    // A sink that shows clocks (the live view) is ticked at least every TickIn() seconds while
    // something runs: the wait is cut short for it, and nothing else changes.
    double tick = journal_->TickIn();
    if (tick >= 0 && (timeout < 0 || tick < timeout)) timeout = tick;
    WaitResult result = executor_->Wait(timeout);
    journal_->Tick();
    for (uint64_t key : result.stalled) {
      if ((key & kCommandKey) != 0) continue;
      Event stalled = TaskEvent(EventKind::kTaskStalled, key);
      stalled.quiet_s = m_.StallAfterOf(m_.tasks[static_cast<uint32_t>(key)]);
      journal_->Emit(stalled);
    }
    for (const WaitResult::Submitted& submitted : result.submitted) {
      if ((submitted.key & kCommandKey) != 0) continue;
      // Who it runs as, in the next turn's transaction, as a ref from Start is.
      AttemptRecord& record = tasks_[static_cast<uint32_t>(submitted.key)].history.back();
      record.process = submitted.process;
      journal_->store().AttemptChanged(record);
    }
    for (const WaitResult::Queued& queued : result.queued) {
      if ((queued.key & kCommandKey) == 0) Queued(queued);
    }
    for (const AttemptEnd& end : result.ended) {
      if ((end.key & kCommandKey) != 0) {
        --running_;
        command_ends_[end.key & ~kCommandKey] = end;
      } else {
        HandleEnd(end);
      }
    }
    if (result.interrupt) Interrupt(result.interrupt);
  }
}

void TaskRunner::Queued(const WaitResult::Queued& queued) {
  auto task = static_cast<uint32_t>(queued.key);
  AttemptRecord& record = tasks_[task].history.back();
  Event event = TaskEvent(EventKind::kTaskQueued, task);
  event.reason = queued.reason;
  event.queue_state = queued.state;
  if (queued.state == QueueState::kRunning) {
    // Its run starts now: the time before it was spent in the queue. (With no `since`, it ran
    // all along: its start stays, and it waited nothing more.)
    if (queued.since > 0) {
      event.elapsed_s = std::max(0.0, queued.since - record.started_at);
      record.started_at = queued.since;
      tasks_[task].started += event.elapsed_s;
    }
    record.reason.clear();
  } else {
    record.reason = queued.reason;  // while it runs, an attempt's reason says where it waits
  }
  journal_->store().AttemptChanged(record);
  journal_->Emit(event);
}

void TaskRunner::Reset(const std::vector<uint32_t>& tasks) {
  for (uint32_t t : tasks) {
    TaskRun& run = tasks_[t];
    run.prior_attempts = run.attempts;  // a fresh budget of attempts
    run.last_error.clear();
    run.end_reason.clear();
    SetState(t, TaskState::kPending);
  }
}

void TaskRunner::Abandon(uint32_t task, const std::string& why_skipped) {
  if (IsFinal(tasks_[task].state)) return;
  const bool cancelled = stopping_;
  SetState(task, cancelled ? TaskState::kCancelled : TaskState::kSkipped);
  Event event = TaskEvent(cancelled ? EventKind::kTaskCancelled : EventKind::kTaskSkipped, task);
  event.reason = cancelled ? fmt::format("never started: {}", stop_reason_) : why_skipped;
  event.at_end = true;
  tasks_[task].end_reason = event.reason;
  journal_->Emit(event);
}

void TaskRunner::Preflight(const std::vector<uint32_t>& tasks) {
  std::map<std::string, std::string> problems;  // agent name -> why it cannot start
  for (uint32_t t : tasks) {
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

void TaskRunner::MakeReady(uint32_t task) {
  if (stopping_) return;  // it stays pending, and is recorded cancelled at the end
  SetState(task, TaskState::kReady);
  ready_.push({(*priority_)[task], task});
}

void TaskRunner::LockFiles(const std::vector<uint32_t>& tasks) {
  file_locks_.clear();
  std::vector<uint32_t> declaring;
  std::vector<const std::vector<std::string>*> files;
  for (uint32_t t : tasks) {
    const TaskDetail* d = m_.tasks[t].details();
    if (d == nullptr || d->files.empty() || IsFinal(tasks_[t].state)) continue;
    declaring.push_back(t);
    files.push_back(&d->files);
  }
  if (declaring.size() < 2) return;
  // Pairs where one task depends on the other are kept: they never run at once anyway, and
  // telling them apart would cost a walk of the graph per pair.
  for (const ItemOverlap& o : OverlappingItems(files)) {
    file_locks_[declaring[o.a]].partners.push_back(declaring[o.b]);
    file_locks_[declaring[o.b]].partners.push_back(declaring[o.a]);
  }
}

bool TaskRunner::HeldByFiles(uint32_t task) {
  if (file_locks_.empty()) return false;
  auto it = file_locks_.find(task);
  if (it == file_locks_.end() || it->second.held == 0) return false;
  it->second.waiting = true;
  // It may hold the slot of its pool that a task's end freed: the next of the pool gets it.
  if (Pool* pool = PoolOf(task); pool && pool->in_use < pool->depth && !pool->delayed.empty()) {
    ready_.push(pool->delayed.top());
    pool->delayed.pop();
  }
  return true;
}

void TaskRunner::TakeFiles(uint32_t task) {
  if (file_locks_.empty()) return;
  auto it = file_locks_.find(task);
  if (it == file_locks_.end()) return;
  for (uint32_t partner : it->second.partners) ++file_locks_.find(partner)->second.held;
}

void TaskRunner::ReleaseFiles(uint32_t task) {
  if (file_locks_.empty()) return;
  auto it = file_locks_.find(task);
  if (it == file_locks_.end()) return;
  for (uint32_t partner : it->second.partners) {
    FileLock& lock = file_locks_.find(partner)->second;
    if (--lock.held > 0 || !lock.waiting) continue;
    lock.waiting = false;
    if (!stopping_ && tasks_[partner].state == TaskState::kReady) {
      ready_.push({(*priority_)[partner], partner});
    }
  }
}

void TaskRunner::StartReadyTasks() {
  to_start_.clear();
  const int limit = std::min(jobs_, spawn_limit_);
  while (!stopping_ && running_ + static_cast<int>(to_start_.size()) < limit && !ready_.empty()) {
    uint32_t task = ready_.top().task;
    ready_.pop();
    if (HeldByFiles(task)) continue;
    if (Pool* pool = PoolOf(task)) {
      if (pool->in_use >= pool->depth) {
        pool->delayed.push({(*priority_)[task], task});
        continue;
      }
      ++pool->in_use;
    }
    TakeFiles(task);
    to_start_.push_back(task);
  }
  for (uint32_t task : to_start_) RecordAttemptStart(task);
  // One transaction per turn of the loop: what ended since the last turn, and these starts,
  // are durable before any of these processes exists or is reported.
  Commit();
  if (journal_->failed()) return;
  for (uint32_t task : to_start_) LaunchAttempt(task);
  // Who each runs as, durable before anything else happens: a later session ends what a killed
  // engine left running before it starts those tasks again.
  const bool launched = !to_start_.empty();
  to_start_.clear();
  if (launched) Commit();
}

void TaskRunner::Commit() {
  if (journal_->failed()) {
    // Nothing after the store's failure is durable: what the summary counts is kept as it is.
  } else if (journal_->Commit()) {
    for (uint32_t t : changed_) tasks_[t].durable = tasks_[t].state;
    changed_.clear();
  } else {
    // Nothing of the failed turn happened as far as state.db knows: nor is it counted.
    for (uint32_t t : changed_) tasks_[t].state = tasks_[t].durable;
    changed_.clear();
    for (uint32_t task : to_start_) {
      // Recorded as started, but the record is not durable: these never run.
      --running_;
      if (Pool* pool = PoolOf(task)) --pool->in_use;
      ReleaseFiles(task);
      SetState(task, TaskState::kCancelled);
      Event event = TaskEvent(EventKind::kTaskCancelled, task);
      event.reason = tasks_[task].end_reason = "never started: the store failed";
      journal_->Emit(event);
    }
    to_start_.clear();
    StopStarting("the store failed");
    Event event{EventKind::kInterrupted};
    event.reason = journal_->error();
    journal_->Emit(event);
    executor_->CancelAll();
  }
  journal_->Deliver();
}

void TaskRunner::RecordAttemptStart(uint32_t task) {
  if (on_started_) on_started_(task);
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
  journal_->store().AttemptChanged(record);
}

void TaskRunner::LaunchAttempt(uint32_t task) {
  TaskRun& run = tasks_[task];
  run.started = MonotonicSeconds();
  Event event = TaskEvent(EventKind::kTaskStarted, task);
  event.log = run.history.back().log_path;
  event.rerun = std::move(run.rerun);
  run.rerun.clear();
  journal_->Emit(event);
  AttemptHistory history{run.attempts, run.last_error, gate_missing_, ""};
  for (const AttemptRecord& earlier : run.history) {
    history.resource_failures += earlier.failure_class == "resource" ? 1 : 0;
  }
  AttemptSpec spec;
  std::string err;
  int err_no = 0;
  bool ready = true;
  if (InWorktree(task)) {
    ready = workspaces_->Prepare(&run.history.back(), &history.workspace, &err);
    if (!ready) err_no = EIO;
  }
  if (!ready || !BuildAttempt(run_, m_.tasks[task], history, &spec, &err, &err_no)) {
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
  AttemptRecord& record = run.history.back();
  record.process = executor_->Start(spec);
  if (!record.process.empty() || !record.worktree.empty()) {
    journal_->store().AttemptChanged(record);
  }
}

void TaskRunner::HandleEnd(const AttemptEnd& end) {
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
  ReleaseFiles(task);
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
  std::vector<ClassifyRule> rules;
  Classification c = Classify(outcome, m_.ClassifyRulesOf(m_.tasks[task], &rules));
  bool conflict = false;
  std::string merged;  // what became of its changes, for the task_succeeded event
  if (c.succeeded && InWorktree(task) && (interrupt_ != 0 || journal_->failed())) {
    // Not merged: its exit may be the agent's answer to the interrupt, with its work half done.
    // It runs again in the next session.
    c = {false, FailureClass::kTransient, "interrupted before its merge"};
  } else if (c.succeeded && InWorktree(task)) {
    const TaskDetail* d = m_.tasks[task].details();
    MergeResult merge = workspaces_->Merge(d ? d->title : "", &record);
    merged = merge.reason;
    if (merge.kind == MergeResult::Kind::kMerged) {
      journal_->store().IntegrationMoved(workspaces_->head());
    } else if (merge.kind == MergeResult::Kind::kConflict) {
      c = {false, FailureClass::kLogic, merge.reason};
      outcome.log_tail = record.log_tail = merge.detail;
      conflict = true;
    } else if (merge.kind == MergeResult::Kind::kError) {
      c = {false, FailureClass::kResource, merge.reason};
    }
  }
  if (end.reason == EndReason::kSpawnFailed && c.failure_class == FailureClass::kResource) {
    spawn_limit_ = std::max(1, running_);  // what runs now is what the limits allow
    // It never ran, for want of what the running attempts hold and will give back: it costs
    // the task no attempt. With nothing running the shortage is the machine's, and it counts.
    if (running_ > 0) ++run.prior_attempts;
  } else if (end.reason != EndReason::kSpawnFailed && spawn_limit_ < jobs_) {
    ++spawn_limit_;
  }
  record.ended_at = end.ended_at;
  record.duration_s = end.duration_s;
  record.exit_code = end.exit_code;
  record.signal = end.signal;
  record.end = EndName(end.reason);
  record.failure_class = c.succeeded ? "" : std::string(FailureClassName(c.failure_class));
  record.reason = c.reason;
  const bool succeeded = c.succeeded && !journal_->failed();
  const bool cancelled =
      !succeeded && (interrupt_ != 0 || journal_->failed() || end.reason == EndReason::kCancelled);
  // Nothing of a cancelled attempt, or of one that never started, is worth keeping.
  if ((cancelled || end.reason == EndReason::kSpawnFailed) && InWorktree(task)) {
    workspaces_->Discard(&record);
  }
  journal_->store().AttemptChanged(record);
  if (record.cost_usd > 0 && on_cost_) on_cost_(record.cost_usd);
  if (succeeded) {
    Succeed(task, elapsed, merged);
  } else if (cancelled) {
    // Once the store failed, no end is durable: the task runs again in the next session.
    SetState(task, TaskState::kCancelled);
    Event event = TaskEvent(EventKind::kTaskCancelled, task);
    event.reason = interrupt_           ? "interrupted"
                   : journal_->failed() ? "the store failed"
                                        : "cancelled";
    run.end_reason = event.reason;
    journal_->Emit(event);
  } else {
    run.last_class = c.failure_class;
    run.last_error = fmt::format("{} ({}).{}\n{}", c.reason, FailureClassName(c.failure_class),
                                 conflict ? "" : " End of its log:", outcome.log_tail);
    bool retry = c.failure_class != FailureClass::kPermanent && run.attempts < AttemptLimit(task) &&
                 !stopping_;
    if (retry) {
      ScheduleRetry(task, c, elapsed);
      // Followed from a killed session (Adopt), it ended before its phase opened: its retry
      // waits for the phase.
      if (!IsOpen(task)) SetState(task, TaskState::kPending);
    } else {
      Fail(task, c, elapsed);
    }
  }
}

void TaskRunner::ReadAgentReport(uint32_t task, AttemptOutcome* outcome, AttemptRecord* record) {
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

void TaskRunner::Succeed(uint32_t task, double elapsed, const std::string& merge) {
  SetState(task, TaskState::kSucceeded);
  Event event = TaskEvent(EventKind::kTaskSucceeded, task);
  event.elapsed_s = elapsed;
  event.merge = merge;
  journal_->Emit(event);
  if (on_succeeded_) on_succeeded_(task);
  for (uint32_t d : graph_.dependents(task)) {
    if (IsOpen(d) && --tasks_[d].waiting == 0 && tasks_[d].state == TaskState::kPending) {
      MakeReady(d);
    }
  }
}

void TaskRunner::ScheduleRetry(uint32_t task, const Classification& c, double elapsed) {
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
  journal_->Emit(event);
}

void TaskRunner::ReleaseDueRetries() {
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

bool TaskRunner::WaitsForResources(uint32_t task, double now) {
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
    journal_->Emit(event);
  }
  return true;
}

void TaskRunner::Fail(uint32_t task, const Classification& c, double elapsed) {
  SetState(task, TaskState::kFailed);
  tasks_[task].end_reason = fmt::format("{}: {}", FailureClassName(c.failure_class), c.reason);
  Event event = TaskEvent(EventKind::kTaskFailed, task);
  event.failure_class = FailureClassName(c.failure_class);
  event.reason = c.reason;
  event.elapsed_s = elapsed;
  if (!tasks_[task].history.empty()) {
    const AttemptRecord& last = tasks_[task].history.back();
    if (last.started_at > 0) event.log = last.log_path;
    event.tail = LastLines(last.log_tail, kFailureTailLines);
  }
  event.report = WriteFailureReport(task, c);
  journal_->Emit(event);
  SkipDependents(task);
  ++failed_tasks_;
  if (run_.keep_going > 0 && failed_tasks_ >= run_.keep_going) {
    StopStarting(fmt::format("-k {}: stop after {} failed task{}", run_.keep_going, failed_tasks_,
                             failed_tasks_ == 1 ? "" : "s"));
  } else if (run_.keep_going < 0 && m_.defaults.on_failure == OnFailure::kStop) {
    StopStarting(fmt::format("on_failure: stop after '{}' failed", m_.tasks[task].id));
  }
}

void TaskRunner::StopStarting(const std::string& why) {
  if (!stopping_) stop_reason_ = why;
  stopping_ = true;
  while (!retries_.empty()) retries_.pop();
  while (!ready_.empty()) ready_.pop();
  for (Pool& pool : pools_) pool.delayed = {};
  for (auto& [task, lock] : file_locks_) lock.waiting = false;
}

void TaskRunner::SkipDependents(uint32_t task) {
  std::vector<uint32_t> stack = {task};
  while (!stack.empty()) {
    uint32_t at = stack.back();
    stack.pop_back();
    for (uint32_t d : graph_.dependents(at)) {
      if (!IsOpen(d) || tasks_[d].state != TaskState::kPending) continue;
      SetState(d, TaskState::kSkipped);
      Event event = TaskEvent(EventKind::kTaskSkipped, d);
      event.reason = fmt::format("'{}' failed", m_.tasks[task].id);
      tasks_[d].end_reason = event.reason;
      journal_->Emit(event);
      stack.push_back(d);
    }
  }
}

void TaskRunner::Interrupt(int signal) {
  if (interrupt_ != 0) {
    executor_->KillAll();  // a second Ctrl-C: no more grace
    return;
  }
  interrupt_ = signal;
  StopStarting("interrupted");
  Event event{EventKind::kInterrupted};
  event.reason = signal == SIGINT ? "SIGINT" : signal == SIGHUP ? "SIGHUP" : "SIGTERM";
  journal_->Emit(event);
  executor_->CancelAll();
}

void TaskRunner::SetState(uint32_t task, TaskState state) {
  tasks_[task].state = state;
  changed_.push_back(task);
  journal_->store().TaskChanged(std::string(m_.tasks[task].id), state, tasks_[task].attempts);
}

Event TaskRunner::TaskEvent(EventKind kind, uint32_t task) const {
  Event event{kind};
  event.task = m_.tasks[task].id;
  event.phase = m_.phases[m_.tasks[task].phase].name;
  event.attempt = tasks_[task].attempts;
  event.max_attempts = AttemptLimit(task);
  return event;
}

int TaskRunner::AttemptLimit(uint32_t task) const {
  return tasks_[task].prior_attempts + RetryFor(task).max_attempts;
}

std::string TaskRunner::WriteFailureReport(uint32_t task, const Classification& c) {
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
    return "";
  }
  return path;
}

const RetryPolicy& TaskRunner::RetryFor(uint32_t task) const {
  return m_.RetryOf(m_.tasks[task]);
}

TaskRunner::Pool* TaskRunner::PoolOf(uint32_t task) {
  int index = pool_of_task_[task];
  return index < 0 ? nullptr : &pools_[index];
}

}  // namespace mex
