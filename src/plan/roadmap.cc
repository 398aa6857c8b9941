#include "plan/roadmap.h"

#include <algorithm>
#include <bit>
#include <queue>

#include "model/critical_path.h"

namespace mex {

namespace {

// The tasks of a phase are one contiguous range of Milestone::tasks (the loader appends them in
// file order), so "is this dep in the phase" is a range check and local indices are offsets.
struct Range {
  uint32_t first = 0, end = 0;
  bool Contains(uint32_t t) const { return t >= first && t < end; }
  uint32_t size() const { return end - first; }
};

Range RangeOf(const std::vector<uint32_t>& tasks) {
  if (tasks.empty()) return {};
  return {tasks.front(), tasks.back() + 1};
}

// Levels, remaining critical path (Roadmap::priority) and the critical path of one phase.
void PlanPhase(const Milestone& m, const Graph& g, Range phase, size_t level_offset, Roadmap* r,
               PhasePlan* p) {
  // Kahn's algorithm restricted to the phase; levels fall out of it.
  std::vector<uint32_t> order;
  order.reserve(phase.size());
  std::vector<uint32_t> pending(phase.size(), 0);
  std::vector<uint32_t> local_level(phase.size(), 0);
  for (uint32_t t = phase.first; t < phase.end; ++t) {
    for (uint32_t dep : g.deps(t)) pending[t - phase.first] += phase.Contains(dep) ? 1 : 0;
    if (pending[t - phase.first] == 0) order.push_back(t);
  }
  for (size_t head = 0; head < order.size(); ++head) {
    uint32_t t = order[head];
    for (uint32_t d : g.dependents(t)) {
      if (!phase.Contains(d)) continue;
      uint32_t j = d - phase.first;
      local_level[j] = std::max(local_level[j], local_level[t - phase.first] + 1);
      if (--pending[j] == 0) order.push_back(d);
    }
  }
  // Remaining critical path in reverse topological order; `next` follows the heaviest chain,
  // preferring the task first in the file on ties.
  std::vector<uint32_t> next(phase.size(), UINT32_MAX);
  for (size_t k = order.size(); k-- > 0;) {
    uint32_t t = order[k];
    double best = 0;
    uint32_t& chosen = next[t - phase.first];
    for (uint32_t d : g.dependents(t)) {
      if (!phase.Contains(d)) continue;
      double prio = r->priority[d];
      if (prio > best || (prio == best && d < chosen)) {
        best = prio;
        chosen = d;
      }
    }
    r->priority[t] = m.tasks[t].effort + best;
  }
  uint32_t start = UINT32_MAX;
  for (uint32_t t = phase.first; t < phase.end; ++t) {
    p->total_effort += m.tasks[t].effort;
    if (start == UINT32_MAX || r->priority[t] > r->priority[start]) start = t;
  }
  if (start != UINT32_MAX) p->critical_path_length = r->priority[start];
  for (uint32_t t = start; t != UINT32_MAX; t = next[t - phase.first]) {
    r->critical_path.push_back(t);
  }
  for (uint32_t t = phase.first; t < phase.end; ++t) {
    size_t level = level_offset + local_level[t - phase.first];
    if (r->batches.size() <= level) r->batches.resize(level + 1);
    r->batches[level].push_back(t);
    r->level[t] = static_cast<uint32_t>(level);
    p->levels = std::max<size_t>(p->levels, local_level[t - phase.first] + 1);
  }
  for (size_t l = level_offset; l < level_offset + p->levels; ++l) {
    p->max_width = std::max(p->max_width, r->batches[l].size());
  }
}

}  // namespace

namespace {

// The ready tasks of a list schedule, as ranks (0 first to start): a bitset with a summary level
// per 64 words, so that the first rank set is found in a few word reads and the whole set of a
// million tasks fits in the cache, where a binary heap of (priority, task) missed it at every
// level (the 1M-task plan spent 0.47 s in it).
class RankSet {
 public:
  explicit RankSet(size_t size) {
    do {
      size = (size + 63) / 64;
      levels_.emplace_back(size, 0);
    } while (size > 1);
  }
  bool empty() const { return levels_.back()[0] == 0; }
  void Insert(size_t rank) {
    for (std::vector<uint64_t>& level : levels_) {
      uint64_t& word = level[rank / 64];
      bool was_empty = word == 0;
      word |= uint64_t{1} << (rank % 64);
      if (!was_empty) return;
      rank /= 64;
    }
  }
  // REQUIRES: !empty(). Removes and returns the first rank.
  size_t PopFirst() {
    size_t at = 0;
    for (size_t l = levels_.size(); l-- > 0;) {
      at = at * 64 + static_cast<size_t>(std::countr_zero(levels_[l][at]));
    }
    size_t rank = at;
    for (std::vector<uint64_t>& level : levels_) {
      uint64_t& word = level[at / 64];
      word &= ~(uint64_t{1} << (at % 64));
      if (word != 0) break;
      at /= 64;
    }
    return rank;
  }

 private:
  std::vector<std::vector<uint64_t>> levels_;  // [0]: one bit per rank; last: one word
};

}  // namespace

double SimulateListSchedule(const Milestone& m, const Graph& g, const std::vector<uint32_t>& tasks,
                            const std::vector<double>& priority, int slots) {
  Range phase = RangeOf(tasks);
  if (phase.size() == 0) return 0;
  // Ready: longest remaining critical path first, then file order, as ranks.
  std::vector<uint32_t> by_rank(phase.size());
  for (uint32_t i = 0; i < phase.size(); ++i) by_rank[i] = phase.first + i;
  std::sort(by_rank.begin(), by_rank.end(), [&](uint32_t a, uint32_t b) {
    return priority[a] != priority[b] ? priority[a] > priority[b] : a < b;
  });
  std::vector<uint32_t> rank(phase.size());
  for (uint32_t r = 0; r < phase.size(); ++r) rank[by_rank[r] - phase.first] = r;
  std::vector<uint32_t> pending(phase.size(), 0);
  RankSet ready(phase.size());
  for (uint32_t t = phase.first; t < phase.end; ++t) {
    for (uint32_t dep : g.deps(t)) pending[t - phase.first] += phase.Contains(dep) ? 1 : 0;
    if (pending[t - phase.first] == 0) ready.Insert(rank[t - phase.first]);
  }
  using Running = std::pair<double, uint32_t>;  // finish time, task
  std::priority_queue<Running, std::vector<Running>, std::greater<>> running;
  double now = 0;
  for (;;) {
    while (running.size() < static_cast<size_t>(slots) && !ready.empty()) {
      uint32_t t = by_rank[ready.PopFirst()];
      running.emplace(now + m.tasks[t].effort, t);
    }
    if (running.empty()) break;
    now = running.top().first;
    while (!running.empty() && running.top().first == now) {
      uint32_t done = running.top().second;
      running.pop();
      for (uint32_t d : g.dependents(done)) {
        if (phase.Contains(d) && --pending[d - phase.first] == 0) {
          ready.Insert(rank[d - phase.first]);
        }
      }
    }
  }
  return now;
}

std::vector<double> RemainingCriticalPath(const Milestone& m, const Graph& g,
                                          const std::vector<double>& seconds) {
  std::vector<uint32_t> phase(m.tasks.size());
  for (size_t t = 0; t < m.tasks.size(); ++t) phase[t] = m.tasks[t].phase;
  return RemainingCriticalPath(seconds, phase, [&g](uint32_t t) { return g.dependents(t); });
}

Roadmap ComputeRoadmap(const Milestone& m, const Graph& g, int slots) {
  Roadmap r;
  r.slots = std::max(1, slots);
  r.level.assign(m.tasks.size(), 0);
  r.priority.assign(m.tasks.size(), 0);
  size_t level_offset = 0;
  for (const Phase& phase : m.phases) {
    PhasePlan& p = r.phases.emplace_back();
    p.name = phase.name;
    p.weight = phase.weight;
    p.tasks = phase.tasks.size();
    p.dynamic = !phase.tasks_from.empty();
    PlanPhase(m, g, RangeOf(phase.tasks), level_offset, &r, &p);
    p.makespan = SimulateListSchedule(m, g, phase.tasks, r.priority, r.slots);
    level_offset += p.levels;
    r.total_effort += p.total_effort;
    r.critical_path_length += p.critical_path_length;
    r.makespan += p.makespan;
    r.max_width = std::max(r.max_width, p.max_width);
  }
  r.conflicts = PredictConflicts(m, g, r.level);
  return r;
}

}  // namespace mex
