#include "plan/targets.h"

#include <algorithm>

namespace mex {

size_t LastTargetPhase(const Milestone& m, const std::vector<std::string>& targets) {
  size_t last = 0;
  for (const std::string& id : targets) {
    if (const Task* task = m.FindTask(id)) last = std::max<size_t>(last, task->phase);
  }
  return last;
}

std::vector<bool> TasksForTargets(const Milestone& m, const Graph& graph,
                                  const std::vector<std::string>& targets) {
  const size_t last = LastTargetPhase(m, targets);
  std::vector<bool> runs(m.tasks.size(), false);
  std::vector<uint32_t> todo;
  for (uint32_t t = 0; t < m.tasks.size(); ++t) runs[t] = m.tasks[t].phase < last;
  for (const std::string& id : targets) {
    const Task* task = m.FindTask(id);
    if (task == nullptr || task->phase != last) continue;
    auto t = static_cast<uint32_t>(task - m.tasks.data());
    if (!runs[t]) todo.push_back(t);
    runs[t] = true;
  }
  while (!todo.empty()) {
    uint32_t t = todo.back();
    todo.pop_back();
    for (uint32_t dep : graph.deps(t)) {
      if (runs[dep]) continue;  // done, or of an earlier phase (which runs whole)
      runs[dep] = true;
      todo.push_back(dep);
    }
  }
  return runs;
}

}  // namespace mex
