// The plan of a milestone: levels, critical path, batches and an estimated makespan (SPEC §5).
// Phases are barriers: a phase starts when the one before it has finished, so each figure is
// computed per phase and the milestone's figures add them up in phase order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/milestone.h"
#include "plan/conflicts.h"
#include "plan/graph.h"

namespace mex {

struct PhasePlan {
  std::string name;
  double weight = 0;
  size_t tasks = 0;
  size_t levels = 0;  // number of batches
  size_t max_width = 0;
  double total_effort = 0;
  double critical_path_length = 0;
  double makespan = 0;
  bool dynamic = false;  // gets more tasks from tasks_from when it starts
};

struct Roadmap {
  int slots = 1;
  std::vector<uint32_t> level;                 // per task, counted from the first phase
  std::vector<std::vector<uint32_t>> batches;  // tasks of each level, in file order
  std::vector<uint32_t> critical_path;         // in run order
  double critical_path_length = 0;
  double total_effort = 0;
  size_t max_width = 0;
  double makespan = 0;
  std::vector<double> priority;  // per task: its remaining critical path within its phase
  std::vector<PhasePlan> phases;
  std::vector<PredictedConflict> conflicts;  // tasks that can run at once and share files
};

// REQUIRES: the graph is acyclic (the milestone loaded without errors), slots >= 1.
Roadmap ComputeRoadmap(const Milestone& m, const Graph& graph, int slots);

// Roadmap::priority with `seconds` (one per task) in place of the tasks' effort: per task its
// duration and that of the longest chain of its dependents within its phase, as the estimate of
// the time left orders them (model/critical_path.h).
// REQUIRES: as ComputeRoadmap.
std::vector<double> RemainingCriticalPath(const Milestone& m, const Graph& graph,
                                          const std::vector<double>& seconds);

// List scheduling of `tasks` (one phase) on `slots` workers: whenever a worker is free, the ready
// task with the longest remaining critical path starts (ties: first in the file). Returns the
// finish time of the last task. Only deps among `tasks` count.
double SimulateListSchedule(const Milestone& m, const Graph& graph,
                            const std::vector<uint32_t>& tasks, const std::vector<double>& priority,
                            int slots);

}  // namespace mex
