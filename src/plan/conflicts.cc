#include "plan/conflicts.h"

#include <fmt/format.h>

#include <optional>

#include "plan/file_overlap.h"

namespace mex {

namespace {

// Whether `to` depends on `from`, even through other tasks. A task on a path from `from` to `to`
// has a level below `to`'s, so the walk never goes past that level.
class Reachability {
 public:
  Reachability(const Graph& graph, const std::vector<uint32_t>& level)
      : graph_(graph), level_(level), seen_(graph.size(), 0) {}

  bool Reaches(uint32_t from, uint32_t to) {
    ++stamp_;
    stack_.assign(1, from);
    seen_[from] = stamp_;
    while (!stack_.empty()) {
      uint32_t at = stack_.back();
      stack_.pop_back();
      for (uint32_t d : graph_.dependents(at)) {
        if (d == to) return true;
        if (seen_[d] == stamp_ || level_[d] >= level_[to]) continue;
        seen_[d] = stamp_;
        stack_.push_back(d);
      }
    }
    return false;
  }

 private:
  const Graph& graph_;
  const std::vector<uint32_t>& level_;
  std::vector<uint32_t> seen_;  // == stamp_: seen by the current walk
  uint32_t stamp_ = 0;
  std::vector<uint32_t> stack_;
};

}  // namespace

std::vector<PredictedConflict> PredictConflicts(const Milestone& m, const Graph& graph,
                                                const std::vector<uint32_t>& level) {
  std::vector<PredictedConflict> conflicts;
  std::optional<Reachability> reach;  // made once some pair needs a walk
  std::vector<uint32_t> tasks;
  std::vector<const std::vector<std::string>*> files;
  for (const Phase& phase : m.phases) {
    tasks.clear();
    files.clear();
    for (uint32_t t : phase.tasks) {
      const TaskDetail* d = m.tasks[t].details();
      if (d == nullptr || d->files.empty()) continue;
      tasks.push_back(t);
      files.push_back(&d->files);
    }
    if (tasks.size() < 2) continue;
    for (const ItemOverlap& o : OverlappingItems(files)) {
      uint32_t a = tasks[o.a], b = tasks[o.b];
      if (level[a] != level[b]) {
        if (!reach) reach.emplace(graph, level);
        bool a_first = level[a] < level[b];
        if (a_first ? reach->Reaches(a, b) : reach->Reaches(b, a)) continue;
      }
      conflicts.push_back({a, b, o.entry_a, o.entry_b});
    }
  }
  return conflicts;
}

std::string ConflictText(const Milestone& m, const PredictedConflict& c) {
  const std::string& file_a = m.tasks[c.a].details()->files[c.entry_a];
  const std::string& file_b = m.tasks[c.b].details()->files[c.entry_b];
  if (file_a == file_b) {
    return fmt::format("{} and {} both touch {}", m.tasks[c.a].id, m.tasks[c.b].id, file_a);
  }
  return fmt::format("{} and {} may touch the same files: {} and {}", m.tasks[c.a].id,
                     m.tasks[c.b].id, file_a, file_b);
}

}  // namespace mex
