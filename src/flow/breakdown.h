// The task breakdown (schema `tasks`) an agent writes in the Task phase, and what the engine
// makes of it (SPEC §2 tasks_from, §3 task_coverage): tasks added to a phase through its
// task_template, and the dependency graph, critical path and batches of the breakdown.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/milestone.h"
#include "util/folder.h"

namespace mex {

struct BreakdownTask {
  std::string id;
  std::string title;
  std::string description;
  double effort = 1;
  std::vector<std::string> deps;
  std::vector<std::string> covers;  // acceptance criteria ids
  std::string kind;                 // implementation, test, quality, docs, or ""
  Command run;                      // its own command, when the breakdown gives one
  std::vector<std::string> files;   // paths or globs it expects to change (TaskDetail::files)
};

// Reads a breakdown artifact (beneath `folder`); it must match the `tasks` schema. False with
// `err` otherwise.
bool ReadBreakdown(const Folder& folder, const std::string& path, std::vector<BreakdownTask>* tasks,
                   std::string* err);
// ReadBreakdown for a document already in memory (the fuzz targets).
bool ParseBreakdown(std::string_view text, std::vector<BreakdownTask>* tasks, std::string* err);

// Inserts `tasks` into phase `phase` of `m`, after the phase's own tasks (the tasks of later
// phases move up by tasks.size()), each with the phase's task_template as its prompt or command
// unless it has its own `run`. A dep may name a task of the breakdown or a task of this or an
// earlier phase. Returns every problem in words a person can act on (an id that is already a
// task's, a dep that names no task); on any, `m` is left as it was.
std::vector<std::string> InsertBreakdown(Milestone* m, size_t phase,
                                         const std::vector<BreakdownTask>& tasks);

// What the engine computes from a breakdown on its own (for the task_coverage criterion).
struct BreakdownPlan {
  std::vector<std::string> unknown_deps;  // "'b' depends on 'zz', which is not in the breakdown"
  std::vector<std::string> cycles;        // "a -> b -> a"
  size_t batches = 0;                     // when acyclic
  double total_effort = 0;
  double critical_path_length = 0;
  std::vector<std::string> critical_path;
  std::vector<std::string> conflicts;  // "a and b both touch src/x.py" (plan/conflicts.h)
};
BreakdownPlan PlanBreakdown(const std::vector<BreakdownTask>& tasks);

}  // namespace mex
