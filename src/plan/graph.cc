#include "plan/graph.h"

#include <algorithm>

namespace mex {

Graph::Graph(const Milestone& m) {
  size_t n = m.tasks.size();
  dep_begin_.assign(n + 1, 0);
  std::vector<uint32_t> scratch;
  std::vector<uint32_t> phase_end = m.PhaseEnds();
  for (size_t i = 0; i < n; ++i) {
    const Task& task = m.tasks[i];
    scratch.clear();
    for (const DepRef& dep : task.deps) {
      uint32_t target =
          dep.symbol < m.task_of_symbol.size() ? m.task_of_symbol[dep.symbol] : SymbolTable::kNone;
      if (target == SymbolTable::kNone || target >= phase_end[task.phase]) continue;
      scratch.push_back(target);
    }
    if (task.deps_all) {
      for (uint32_t other : m.phases[task.phase].tasks) {
        if (other != i) scratch.push_back(other);
      }
    }
    if (scratch.size() > 1) {
      std::sort(scratch.begin(), scratch.end());
      scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
    }
    deps_.insert(deps_.end(), scratch.begin(), scratch.end());
    dep_begin_[i + 1] = static_cast<uint32_t>(deps_.size());
  }
  // Reverse edges by counting sort: dependents come out in task order.
  dependent_begin_.assign(n + 1, 0);
  for (uint32_t target : deps_) ++dependent_begin_[target + 1];
  for (size_t i = 0; i < n; ++i) dependent_begin_[i + 1] += dependent_begin_[i];
  dependents_.resize(deps_.size());
  std::vector<uint32_t> fill(dependent_begin_.begin(), dependent_begin_.end() - 1);
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t target : deps(i)) dependents_[fill[target]++] = i;
  }
}

std::vector<std::vector<uint32_t>> Graph::FindCycles() const {
  // Kahn's algorithm removes every task not on or behind a cycle. Each task left has a dep that
  // is also left, so following such deps from any of them must come back to a task seen before.
  size_t n = size();
  std::vector<uint32_t> pending(n);
  std::vector<uint32_t> queue;
  for (uint32_t i = 0; i < n; ++i) {
    pending[i] = static_cast<uint32_t>(deps(i).size());
    if (pending[i] == 0) queue.push_back(i);
  }
  for (size_t head = 0; head < queue.size(); ++head) {
    for (uint32_t d : dependents(queue[head])) {
      if (--pending[d] == 0) queue.push_back(d);
    }
  }
  std::vector<std::vector<uint32_t>> cycles;
  if (queue.size() == n) return cycles;
  constexpr uint32_t kUnseen = UINT32_MAX, kDone = UINT32_MAX - 1;
  std::vector<uint32_t> walk_index(n, kUnseen);  // position on the current walk, or done
  std::vector<uint32_t> walk;
  for (uint32_t start = 0; start < n; ++start) {
    if (pending[start] == 0 || walk_index[start] != kUnseen) continue;
    walk.clear();
    uint32_t at = start;
    while (walk_index[at] == kUnseen) {
      walk_index[at] = static_cast<uint32_t>(walk.size());
      walk.push_back(at);
      for (uint32_t dep : deps(at)) {
        if (pending[dep] != 0) {
          at = dep;
          break;
        }
      }
    }
    if (walk_index[at] != kDone) {  // closed a new cycle on this walk
      std::vector<uint32_t> cycle(walk.begin() + walk_index[at], walk.end());
      std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
      cycles.push_back(std::move(cycle));
    }
    for (uint32_t t : walk) walk_index[t] = kDone;
  }
  return cycles;
}

std::string CycleText(const Milestone& m, const std::vector<uint32_t>& cycle) {
  std::string text;
  for (uint32_t t : cycle) {
    text += m.tasks[t].id;
    text += " -> ";
  }
  return text + std::string(m.tasks[cycle.front()].id);
}

}  // namespace mex
