// A session of a run (SPEC §5): the first one starts the run, later ones go on with it. Each
// task that succeeded earlier with the same definition hash is kept; every other task runs
// again with fresh attempts, numbered after the earlier ones. The session also adds a phase's
// dynamic tasks (tasks_from) when the phase starts: it inserts them into the milestone, plans the
// graph again, has roadmap.json written again and records them.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/attempt.h"
#include "engine/phase_flow.h"
#include "engine/store.h"
#include "engine/task_runner.h"
#include "plan/graph.h"
#include "plan/roadmap.h"

namespace mex {

// Writes the run's roadmap.json (report/roadmap_json.h); false with `err` when it could not.
using RoadmapWriter = std::function<bool(const Roadmap& roadmap, std::string* err)>;

class Session : public PhaseHooks {
 public:
  // `graph` and `roadmap` are the milestone's, as given to `runner`; they are replaced when
  // tasks are added. `db` is null for a run that keeps no state (-d nostore).
  Session(RunInfo* run, Milestone* m, Graph* graph, Roadmap* roadmap, int jobs, SessionStore* db,
          TaskRunner* runner, RoadmapWriter write_roadmap);

  // Records the milestone's phases and tasks for this session (uncommitted: the runner's
  // first turn commits them) and tells the runner each task's earlier attempts and whether it
  // is kept. Ends the attempts a killed engine left running ("interrupted"). Removes the failure
  // reports of tasks that run again. The tasks of a phase with tasks_from, and of the phases
  // after it, are decided when it starts, since their hashes depend on the tasks added then.
  void Prepare();

  // Writes roadmap.json.
  bool WriteRoadmap(std::string* err) { return write_roadmap_(roadmap_, err); }

  std::string ExpandPhase(size_t phase) override;

  // The runner's hooks (TaskRunner::set_on_started, set_on_succeeded): a task that succeeded
  // with another output than the session started with makes the tasks that need it hashed
  // again as they start, so that state.db records the definitions they ran with.
  void TaskStarting(uint32_t task);
  void TaskSucceeded(uint32_t task);

 private:
  // Decides, for the tasks `tasks`, what Prepare() says. Returns how many of them run.
  size_t PrepareTasks(const std::vector<uint32_t>& tasks, const std::vector<std::string>& hashes,
                      const std::vector<bool>& forced,
                      std::unordered_map<std::string, StoredTask>* stored);
  // Has the runner order ready tasks by their remaining critical path in the seconds they took
  // in earlier runs of the milestone (by definition hash, else id), where the store knows any.
  void PrioritizeByHistory(const std::vector<std::string>& hashes);
  // StoredTask::deps and StoredTask::kind of a task.
  std::string EtaDeps(uint32_t task) const;
  std::string EtaKind(const Task& task) const;

  RunInfo& run_;
  Milestone& m_;
  Graph& graph_;
  Roadmap& roadmap_;
  int jobs_;
  SessionStore* db_;
  TaskRunner& runner_;
  RoadmapWriter write_roadmap_;
  std::vector<double> observed_priority_;  // the runner's, when there is a history
  std::vector<std::string> hashes_;        // the tasks' definition hashes as last computed
  std::vector<bool> rehash_;               // a dep's output changed since: hash again as it starts
};

}  // namespace mex
