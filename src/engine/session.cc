#include "engine/session.h"

#include <fmt/format.h>
#include <unistd.h>

#include "engine/definition.h"
#include "flow/breakdown.h"
#include "model/eta.h"
#include "util/clock.h"
#include "util/metrics.h"

namespace mex {

namespace {

std::unordered_map<std::string, StoredTask> ByID(std::vector<StoredTask> rows) {
  std::unordered_map<std::string, StoredTask> stored;
  for (StoredTask& t : rows) {
    std::string id = t.id;
    stored.emplace(std::move(id), std::move(t));
  }
  return stored;
}

}  // namespace

Session::Session(RunInfo* run, Milestone* m, Graph* graph, Roadmap* roadmap, int jobs,
                 SessionStore* db, TaskRunner* runner, RoadmapWriter write_roadmap)
    : run_(*run),
      m_(*m),
      graph_(*graph),
      roadmap_(*roadmap),
      jobs_(jobs),
      db_(db),
      runner_(*runner),
      write_roadmap_(std::move(write_roadmap)) {}

void Session::Prepare() {
  if (db_ == nullptr) return;
  // In this session's first transaction: the attempts it follows are in flight again in it.
  std::vector<AttemptRecord> left = db_->MarkInterrupted(WallClockSeconds());
  std::vector<PhaseRow> phases;
  for (const Phase& p : m_.phases) phases.push_back({p.name, p.weight, p.tasks_from});
  db_->SetPhases(phases);

  {
    ScopedMetric metric("definition hashes");
    HashOutputs(&run_);
    hashes_ = DefinitionHashes(run_, graph_, roadmap_);
    rehash_.assign(m_.tasks.size(), false);
  }
  std::unordered_map<std::string, StoredTask> stored = ByID(db_->Tasks(run_.paths.run_id));
  // The tasks from the first phase with tasks_from on are decided when it starts: their hashes
  // (through deps: [all], or deps into it) depend on the tasks it adds.
  uint32_t first_dynamic = m_.NextPhaseWithTasksFrom(0);
  std::vector<uint32_t> now, later;
  for (uint32_t t = 0; t < m_.tasks.size(); ++t) {
    (m_.tasks[t].phase < first_dynamic ? now : later).push_back(t);
  }
  const std::vector<bool> forced = ForcedTasks(run_, graph_, roadmap_);
  std::vector<std::pair<uint32_t, AttemptRecord>> to_follow;
  std::vector<AttemptRecord> to_end;
  for (AttemptRecord& a : left) {
    const Task* task = m_.FindTask(a.task);
    auto t = task == nullptr ? 0 : static_cast<uint32_t>(task - m_.tasks.data());
    auto was = stored.find(a.task);
    // Followed where it would do what the task does now, decided before the hashes are stored.
    if (task != nullptr && task->phase < first_dynamic && was != stored.end() &&
        FollowsLeftAttempt(was->second, a.number, hashes_[t], forced[t])) {
      to_follow.emplace_back(t, std::move(a));
    } else {
      to_end.push_back(std::move(a));
    }
  }
  size_t runs = PrepareTasks(now, hashes_, forced, &stored);
  for (auto& [t, a] : to_follow) {
    if (!runner_.Adopt(t, a)) to_end.push_back(std::move(a));
  }
  runner_.EndLeftovers(to_end);
  // A session with nothing to run (all kept) reads no history.
  if (runs > 0 || !later.empty()) PrioritizeByHistory(hashes_);
  // Until then they keep the row of the last session (or get a pending one) and go on numbering
  // their attempts.
  for (uint32_t t : later) {
    const Task& task = m_.tasks[t];
    std::string id(task.id);
    auto old = stored.find(id);
    int attempts = 0;
    if (old == stored.end()) {
      db_->PutTask(
          {id, t, task.phase, task.effort, "", TaskState::kPending, 0, EtaDeps(t), EtaKind(task)});
    } else {
      attempts = old->second.attempts;
      stored.erase(old);
    }
    runner_.Resume(t, attempts, {}, /*kept=*/false);
  }
  for (const auto& [id, row] : stored) {
    // The dynamic tasks of an earlier session wait for their phase to start.
    if (row.phase < first_dynamic) db_->RemoveTask(id);
  }
}

void Session::TaskSucceeded(uint32_t task) {
  if (db_ == nullptr || task >= rehash_.size()) return;
  const Task& t = m_.tasks[task];
  if (t.details() == nullptr || t.details()->output.path.empty()) return;
  std::string& was = run_.outputs[std::string(t.id)];
  std::string now, err;
  if (!HashFile(*run_.paths.state, OutputPath(run_, t), &now, &err)) now.clear();
  if (now == was) return;
  was = now;
  for (uint32_t d : graph_.dependents(task)) rehash_[d] = true;
}

void Session::TaskStarting(uint32_t task) {
  if (db_ == nullptr || task >= rehash_.size() || !rehash_[task]) return;
  rehash_[task] = false;
  std::string hash = DefinitionHash(run_, graph_, task, hashes_);
  if (hash == hashes_[task]) return;
  hashes_[task] = hash;
  db_->SetTaskHash(std::string(m_.tasks[task].id), hash);
  for (uint32_t d : graph_.dependents(task)) rehash_[d] = true;
}

std::string Session::EtaDeps(uint32_t task) const {
  std::string deps;
  for (uint32_t dep : graph_.deps(task)) {
    if (!deps.empty()) deps += '\n';
    deps += m_.tasks[dep].id;
  }
  return deps;
}

std::string Session::EtaKind(const Task& task) const {
  std::string kind;
  if (task.has_prompt()) {
    const std::string& agent = task.details()->agent;
    kind = agent.empty() ? m_.defaults.agent : agent;
  }
  if (m_.ExecutorOf(task) == ExecutorKind::kSlurm) kind += kClusterKindSuffix;
  return kind;
}

void Session::PrioritizeByHistory(const std::vector<std::string>& hashes) {
  ScopedMetric metric("history priority");
  std::vector<std::string> ids;
  std::vector<double> effort;
  ids.reserve(m_.tasks.size());
  effort.reserve(m_.tasks.size());
  for (const Task& task : m_.tasks) {
    ids.emplace_back(task.id);
    effort.push_back(task.effort);
  }
  std::vector<double> seconds = HistoryDurations(effort, db_->ObservedSeconds(ids, hashes));
  if (seconds.empty()) {
    runner_.set_priority(&roadmap_.priority);
    return;
  }
  observed_priority_ = RemainingCriticalPath(m_, graph_, seconds);
  runner_.set_priority(&observed_priority_);
}

size_t Session::PrepareTasks(const std::vector<uint32_t>& tasks,
                             const std::vector<std::string>& hashes,
                             const std::vector<bool>& forced,
                             std::unordered_map<std::string, StoredTask>* stored) {
  // The earlier attempts of the tasks that run again (a failure report lists them all). A no-op
  // session, every task kept, reads none of them.
  bool any_rerun = false;
  for (uint32_t t : tasks) {
    auto old = stored->find(std::string(m_.tasks[t].id));
    any_rerun = any_rerun ||
                (old != stored->end() && old->second.attempts > 0 &&
                 !KeptAsItWas(old->second, hashes[t], forced[t], MissingOutput(run_, m_.tasks[t])));
    if (any_rerun) break;
  }
  std::unordered_map<std::string, std::vector<AttemptRecord>> attempts;
  size_t runs = 0;
  if (any_rerun) {
    for (AttemptRecord& a : db_->Attempts(run_.paths.run_id)) {
      std::string task = a.task;
      attempts[task].push_back(std::move(a));
    }
  }
  for (uint32_t t : tasks) {
    const Task& task = m_.tasks[t];
    std::string id(task.id);
    StoredTask row{id, t,          task.phase,   task.effort, hashes[t], TaskState::kPending,
                   0,  EtaDeps(t), EtaKind(task)};
    std::vector<AttemptRecord> earlier;
    if (auto a = attempts.find(id); a != attempts.end()) earlier = std::move(a->second);
    auto old = stored->find(id);
    bool kept = false;
    std::string rerun;
    if (old != stored->end()) {
      const StoredTask& was = old->second;
      std::string missing = MissingOutput(run_, task);
      kept = KeptAsItWas(was, hashes[t], forced[t], missing);
      if (!kept && was.attempts > 0) rerun = RerunReason(was, hashes[t], forced[t], missing);
      row.attempts = was.attempts;
      if (kept) row.state = TaskState::kSucceeded;
      bool same_row = was.seq == row.seq && was.phase == row.phase && was.effort == row.effort &&
                      was.hash == row.hash && was.state == row.state && was.deps == row.deps &&
                      was.kind == row.kind;
      if (!same_row) db_->PutTask(row);
      stored->erase(old);
    } else {
      db_->PutTask(row);
    }
    if (!kept && row.attempts > 0) {
      // A failure report of an earlier session would stay beside a task that now runs again.
      std::string err;
      run_.paths.state->RemoveFile(fmt::format("{}/{}.json", run_.paths.failures_dir, id), &err);
    }
    runs += kept ? 0 : 1;
    runner_.Resume(t, row.attempts, std::move(earlier), kept, std::move(rerun));
  }
  return runs;
}

std::string Session::ExpandPhase(size_t phase) {
  const Phase& p = m_.phases[phase];
  const Task* source = m_.FindTask(p.tasks_from);
  if (source == nullptr) return fmt::format("no task '{}'", p.tasks_from);
  std::vector<BreakdownTask> breakdown;
  std::string err;
  if (!ReadBreakdown(*run_.paths.state, OutputPath(run_, *source), &breakdown, &err)) return err;
  uint32_t at = m_.PhaseEnds()[phase];
  std::vector<std::string> problems = InsertBreakdown(&m_, phase, breakdown);
  if (!problems.empty()) {
    std::string text;
    for (const std::string& problem : problems) text += (text.empty() ? "" : "; ") + problem;
    return text;
  }
  auto count = static_cast<uint32_t>(breakdown.size());
  graph_ = Graph(m_);
  runner_.InsertTasks(at, count);
  for (const std::vector<uint32_t>& cycle : graph_.FindCycles()) {
    roadmap_.priority.resize(m_.tasks.size(), 0);  // the run ends here; keep the sizes right
    runner_.set_priority(&roadmap_.priority);
    return "dependency cycle: " + CycleText(m_, cycle);
  }
  roadmap_ = ComputeRoadmap(m_, graph_, jobs_);
  runner_.set_priority(&roadmap_.priority);  // until the history's, below
  if (!WriteRoadmap(&err)) return err;
  if (db_ != nullptr) {
    db_->ShiftTasks(at, count);  // the tasks of later phases moved up
    // This phase's tasks and those of the phases after it, up to the next with tasks_from.
    auto end = m_.NextPhaseWithTasksFrom(static_cast<uint32_t>(phase) + 1);
    std::vector<uint32_t> decided;
    for (uint32_t t = m_.PhaseEnds()[phase] - static_cast<uint32_t>(p.tasks.size());
         t < m_.tasks.size() && m_.tasks[t].phase < end; ++t) {
      decided.push_back(t);
    }
    HashOutputs(&run_, decided);
    hashes_ = DefinitionHashes(run_, graph_, roadmap_);
    rehash_.assign(m_.tasks.size(), false);
    std::unordered_map<std::string, StoredTask> stored = ByID(db_->Tasks(run_.paths.run_id));
    PrepareTasks(decided, hashes_, ForcedTasks(run_, graph_, roadmap_), &stored);
    PrioritizeByHistory(hashes_);
    for (const auto& [id, row] : stored) {
      // A task of an earlier breakdown that this one no longer has.
      if (row.phase >= phase && row.phase < end && m_.FindTask(id) == nullptr) {
        db_->RemoveTask(id);
      }
    }
  } else {
    for (uint32_t i = 0; i < count; ++i) runner_.Resume(at + i, 0, {}, /*kept=*/false);
  }
  return "";
}

}  // namespace mex
