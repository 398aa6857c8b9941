#include "engine/resume.h"

#include <fmt/format.h>
#include <unistd.h>

#include <unordered_map>

#include "exec/process.h"

namespace mex {

namespace {

// A task that succeeded in an earlier session with the same definition is not run again.
bool Kept(const StoredTask& was, const std::string& hash) {
  return was.state == TaskState::kSucceeded && was.hash == hash;
}

}  // namespace

void PrepareSession(const RunInfo& run, const std::vector<std::string>& hashes, SqliteStore* store,
                    Scheduler* scheduler) {
  const Milestone& m = *run.milestone;
  store->MarkInterrupted(WallClockSeconds());

  std::vector<PhaseRow> phases;
  for (const Phase& p : m.phases) phases.push_back({p.name, p.weight});
  store->SetPhases(phases);

  std::unordered_map<std::string, StoredTask> stored;
  for (StoredTask& t : store->Tasks(run.paths.run_id)) {
    std::string id = t.id;
    stored.emplace(std::move(id), std::move(t));
  }
  // The earlier attempts of the tasks that run again (a failure report lists them all). A no-op
  // session, every task kept, reads none of them.
  bool any_rerun = false;
  for (uint32_t t = 0; t < m.tasks.size() && !any_rerun; ++t) {
    auto old = stored.find(std::string(m.tasks[t].id));
    any_rerun = old != stored.end() && old->second.attempts > 0 && !Kept(old->second, hashes[t]);
  }
  std::unordered_map<std::string, std::vector<AttemptRecord>> attempts;
  if (any_rerun) {
    for (AttemptRecord& a : store->Attempts(run.paths.run_id)) {
      std::string task = a.task;
      attempts[task].push_back(std::move(a));
    }
  }

  for (uint32_t t = 0; t < m.tasks.size(); ++t) {
    const Task& task = m.tasks[t];
    std::string id(task.id);
    StoredTask row{id, t, task.phase, task.effort, hashes[t], TaskState::kPending, 0};
    std::vector<AttemptRecord> earlier;
    if (auto a = attempts.find(id); a != attempts.end()) earlier = std::move(a->second);
    auto old = stored.find(id);
    bool kept = false;
    if (old != stored.end()) {
      const StoredTask& was = old->second;
      kept = Kept(was, hashes[t]);
      row.attempts = was.attempts;
      if (kept) row.state = TaskState::kSucceeded;
      bool same_row = was.seq == row.seq && was.phase == row.phase && was.effort == row.effort &&
                      was.hash == row.hash && was.state == row.state;
      if (!same_row) store->PutTask(row);
      stored.erase(old);
    } else {
      store->PutTask(row);
    }
    if (!kept && row.attempts > 0) {
      // A failure report of an earlier session would stay beside a task that now runs again.
      unlink(fmt::format("{}/{}.json", run.paths.failures_dir, id).c_str());
    }
    scheduler->Resume(t, row.attempts, std::move(earlier), kept);
  }
  for (const auto& [id, row] : stored) store->RemoveTask(id);  // no longer in the milestone
}

}  // namespace mex
