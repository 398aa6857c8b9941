#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "commands/commands.h"
#include "commands/load.h"
#include "plan/roadmap.h"
#include "report/roadmap_json.h"
#include "util/metrics.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

// How much of a long list the terminal summary shows.
constexpr size_t kShownBatches = 40;
constexpr size_t kShownIdsPerBatch = 8;
constexpr size_t kShownPathEnds = 10;
constexpr size_t kShownConflicts = 40;

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string JoinIds(const Milestone& m, const std::vector<uint32_t>& tasks, size_t limit,
                    std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < tasks.size() && i < limit; ++i) {
    if (i) out += sep;
    out += m.tasks[tasks[i]].id;
  }
  if (tasks.size() > limit) out += fmt::format("{}… (+{} more)", sep, tasks.size() - limit);
  return out;
}

std::string CriticalPathText(const Milestone& m, const std::vector<uint32_t>& path) {
  if (path.size() <= 2 * kShownPathEnds) return JoinIds(m, path, path.size(), " -> ");
  std::vector<uint32_t> head(path.begin(), path.begin() + kShownPathEnds);
  std::vector<uint32_t> tail(path.end() - kShownPathEnds, path.end());
  return fmt::format("{} -> … ({} more) … -> {}", JoinIds(m, head, head.size(), " -> "),
                     path.size() - 2 * kShownPathEnds, JoinIds(m, tail, tail.size(), " -> "));
}

// Declared files are free text, hence TerminalSafeLine.
void PrintConflicts(const Milestone& m, const std::vector<PredictedConflict>& conflicts) {
  if (conflicts.empty()) return;
  fmt::print(
      "\npredicted conflicts (tasks that could run at once declare the same files; mex runs each "
      "pair one at a time):\n");
  for (size_t i = 0; i < conflicts.size() && i < kShownConflicts; ++i) {
    fmt::print("  {}\n", TerminalSafeLine(ConflictText(m, conflicts[i])));
  }
  if (conflicts.size() > kShownConflicts) {
    fmt::print("  … {} more (mex plan --json lists them all)\n",
               conflicts.size() - kShownConflicts);
  }
}

// Task ids and phase names are [A-Za-z0-9_.-] (IsValidId); the milestone's id and title are
// free text.
void PrintSummary(const Milestone& m, const Roadmap& r) {
  fmt::print("milestone {}{}\n", TerminalSafeLine(m.id),
             m.title.empty() ? "" : ": " + TerminalSafeLine(m.title));
  fmt::print("{} in {}, total effort {:g}, {}, widest batch {}\n",
             Plural(m.tasks.size(), "task", "tasks"), Plural(m.phases.size(), "phase", "phases"),
             r.total_effort, Plural(r.batches.size(), "batch", "batches"), r.max_width);
  fmt::print("critical path: effort {:g} over {}\n", r.critical_path_length,
             Plural(r.critical_path.size(), "task", "tasks"));
  fmt::print("estimated makespan with {}: {:g} (effort units)\n\n",
             Plural(r.slots, "slot", "slots"), r.makespan);
  fmt::print("{:<12} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}\n", "phase", "weight", "tasks", "effort",
             "batches", "critical", "makespan");
  for (const PhasePlan& p : r.phases) {
    fmt::print("{:<12} {:>5g}% {:>8} {:>8g} {:>8} {:>8g} {:>9g}{}\n", p.name, p.weight, p.tasks,
               p.total_effort, p.levels, p.critical_path_length, p.makespan,
               p.dynamic ? "  + tasks from the breakdown at run time" : "");
  }
  fmt::print("\nbatches (tasks in a batch can run in parallel):\n");
  for (size_t l = 0; l < r.batches.size() && l < kShownBatches; ++l) {
    const std::vector<uint32_t>& batch = r.batches[l];
    fmt::print("  {:>3}  {:<10} {}\n", l + 1, m.phases[m.tasks[batch.front()].phase].name,
               JoinIds(m, batch, kShownIdsPerBatch, " "));
  }
  if (r.batches.size() > kShownBatches) {
    fmt::print("  … {} more (mex plan --json lists them all)\n",
               Plural(r.batches.size() - kShownBatches, "batch", "batches"));
  }
  fmt::print("\ncritical path: {}\n", CriticalPathText(m, r.critical_path));
  PrintConflicts(m, r.conflicts);
}

}  // namespace

int PlanCommand(const PlanOptions& options) {
  Milestone m;
  if (!LoadForCommand(options.file, &m)) return kExitUsage;
  std::optional<Graph> graph;
  {
    ScopedMetric metric("graph");
    graph.emplace(m);
  }
  int slots = options.jobs > 0 ? options.jobs : m.defaults.max_parallel;
  Roadmap roadmap;
  {
    ScopedMetric metric("roadmap");
    roadmap = ComputeRoadmap(m, *graph, slots);
  }
  ScopedMetric metric("print");
  if (options.json) {
    fmt::print("{}\n", RoadmapJson(m, roadmap).dump(2));
  } else {
    PrintSummary(m, roadmap);
  }
  return kExitOk;
}

}  // namespace mex
