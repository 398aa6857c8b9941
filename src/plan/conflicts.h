// Predicted conflicts: pairs of tasks that can run at the same time and declare overlapping files
// (plan/file_overlap.h), so that their changes would likely conflict when merged. `mex plan` and
// roadmap.json list them; the task runner never runs such tasks at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/milestone.h"
#include "plan/graph.h"

namespace mex {

struct PredictedConflict {
  uint32_t a = 0, b = 0;              // task indices, a < b, of one phase
  uint32_t entry_a = 0, entry_b = 0;  // the first overlapping entries of their `files`
};

// The pairs of tasks of one phase (phases are barriers) of which neither depends on the other,
// even through other tasks, that declare overlapping files; sorted. `level`: Roadmap::level, by
// which most pairs are told apart without a walk (tasks of one level are independent). Costs one
// pass over the tasks when none declares files.
std::vector<PredictedConflict> PredictConflicts(const Milestone& m, const Graph& graph,
                                                const std::vector<uint32_t>& level);

// "a and b both touch src/api/*.py", or "a and b may touch the same files: src/api/*.py and
// src/api/v1.py" when their entries differ.
std::string ConflictText(const Milestone& m, const PredictedConflict& c);

}  // namespace mex
