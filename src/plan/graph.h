// The task graph in compressed form: for each task, the tasks it depends on and the tasks that
// depend on it, as index ranges into two flat arrays.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/milestone.h"

namespace mex {

class Graph {
 public:
  // Resolves every dep of `m` to a task index; "all" becomes every other task of the phase.
  // Unknown deps and deps on later phases (load errors) are left out; duplicates are merged.
  explicit Graph(const Milestone& m);

  size_t size() const { return dep_begin_.size() - 1; }
  std::span<const uint32_t> deps(uint32_t task) const {
    return {deps_.data() + dep_begin_[task], deps_.data() + dep_begin_[task + 1]};
  }
  std::span<const uint32_t> dependents(uint32_t task) const {
    return {dependents_.data() + dependent_begin_[task],
            dependents_.data() + dependent_begin_[task + 1]};
  }
  size_t edge_count() const { return deps_.size(); }

  // Each dependency cycle once, as the tasks along it: task[0] depends on task[1], ..., and the
  // last depends on task[0]. A cycle starts at its task that comes first in the file.
  std::vector<std::vector<uint32_t>> FindCycles() const;

 private:
  std::vector<uint32_t> dep_begin_, deps_;
  std::vector<uint32_t> dependent_begin_, dependents_;
};

// A cycle of FindCycles() as a person reads it: "a -> b -> c -> a" ("a depends on b").
std::string CycleText(const Milestone& m, const std::vector<uint32_t>& cycle);

}  // namespace mex
