// The remaining critical path, the priority by which the task runner starts ready tasks (the
// longest first, engine/task_runner.h): per task, its duration and that of the heaviest chain of
// its dependents within its phase (phases are barriers: a later phase's task adds nothing). The
// planner computes it over a milestone (plan/roadmap.h) and the estimate of the time left over a
// run's tasks (model/eta.h) with this one function, so that the estimate simulates the order the
// runner follows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mex {

// Per task t: seconds[t] plus the largest value among its dependents in its phase (0 if none).
// `phase[t]`: its phase. `dependents(t)`: a range of the tasks that depend on t, in any phase.
// REQUIRES: phase.size() == seconds.size(). Tasks on a cycle within a phase (a load error) get 0.
template <typename Dependents>
std::vector<double> RemainingCriticalPath(const std::vector<double>& seconds,
                                          const std::vector<uint32_t>& phase,
                                          const Dependents& dependents) {
  const auto n = static_cast<uint32_t>(seconds.size());
  // Kahn's algorithm over the edges within a phase: a topological order, walked backwards.
  std::vector<uint32_t> pending(n, 0), order;
  order.reserve(n);
  for (uint32_t t = 0; t < n; ++t) {
    for (uint32_t d : dependents(t)) pending[d] += phase[d] == phase[t] ? 1 : 0;
  }
  for (uint32_t t = 0; t < n; ++t) {
    if (pending[t] == 0) order.push_back(t);
  }
  for (size_t head = 0; head < order.size(); ++head) {
    const uint32_t t = order[head];
    for (uint32_t d : dependents(t)) {
      if (phase[d] == phase[t] && --pending[d] == 0) order.push_back(d);
    }
  }
  std::vector<double> priority(n, 0);
  for (size_t k = order.size(); k-- > 0;) {
    const uint32_t t = order[k];
    double best = 0;
    for (uint32_t d : dependents(t)) {
      if (phase[d] == phase[t]) best = std::max(best, priority[d]);
    }
    priority[t] = seconds[t] + best;
  }
  return priority;
}

}  // namespace mex
