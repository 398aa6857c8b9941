#include "flow/breakdown.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "flow/schemas.h"
#include "model/command_template.h"
#include "plan/graph.h"
#include "plan/roadmap.h"

namespace mex {

namespace {

using nlohmann::json;

std::vector<std::string> Strings(const json& task, const char* key) {
  std::vector<std::string> out;
  auto it = task.find(key);
  if (it == task.end()) return out;
  for (const json& item : *it) out.push_back(item.get<std::string>());
  return out;
}

// Adds `tasks` at the end of phase `phase` of `m`, whose deps have been checked (or are left
// dangling on purpose: the graph leaves out a dep that names no task).
void Insert(Milestone* m, size_t phase, const std::vector<BreakdownTask>& tasks) {
  auto at = m->PhaseEnds()[phase];
  auto count = static_cast<uint32_t>(tasks.size());
  for (size_t p = phase + 1; p < m->phases.size(); ++p) {
    for (uint32_t& t : m->phases[p].tasks) t += count;
  }
  for (uint32_t& t : m->task_of_symbol) {
    if (t != SymbolTable::kNone && t >= at) t += count;
  }
  const std::optional<TaskTemplate>& tmpl = m->phases[phase].task_template;
  std::vector<Task> added;
  added.reserve(tasks.size());
  for (const BreakdownTask& b : tasks) {
    Task& task = added.emplace_back();
    task.symbol = m->symbols.Intern(b.id);
    task.id = m->symbols.Name(task.symbol);
    task.phase = static_cast<uint32_t>(phase);
    task.effort = b.effort;
    for (const std::string& dep : b.deps) task.deps.push_back({m->symbols.Intern(dep), Pos{}});
    TaskDetail& d = task.mutable_detail();
    d.title = b.title;
    d.description = b.description;
    d.files = b.files;
    if (!b.run.shell.empty() || !b.run.argv.empty()) {
      task.run = b.run;
    } else if (tmpl && !tmpl->prompt.empty()) {
      d.prompt = tmpl->prompt;
      d.agent = tmpl->agent;
    } else if (tmpl) {
      task.run = tmpl->run;
    }
    if (tmpl) d.pool = tmpl->pool;
  }
  m->tasks.insert(m->tasks.begin() + at, std::make_move_iterator(added.begin()),
                  std::make_move_iterator(added.end()));
  m->task_of_symbol.resize(m->symbols.size(), SymbolTable::kNone);
  std::vector<uint32_t>& own = m->phases[phase].tasks;
  for (uint32_t i = 0; i < count; ++i) {
    m->task_of_symbol[m->tasks[at + i].symbol] = at + i;
    own.push_back(at + i);
  }
}

// The tasks of a breakdown `doc` that matches the `tasks` schema.
void TasksOf(const json& doc, std::vector<BreakdownTask>* tasks) {
  tasks->clear();
  for (const json& t : doc["tasks"]) {
    BreakdownTask& b = tasks->emplace_back();
    b.id = t["id"].get<std::string>();
    b.title = t["title"].get<std::string>();
    b.description = t.value("description", "");
    b.effort = t["effort"].get<double>();
    b.deps = Strings(t, "deps");
    b.covers = Strings(t, "covers");
    b.kind = t.value("kind", "");
    b.files = Strings(t, "files");
    if (auto run = t.find("run"); run != t.end()) {
      if (run->is_string()) {
        b.run.shell = run->get<std::string>();
      } else {
        b.run.argv = run->get<std::vector<std::string>>();
        b.run.is_argv = true;
      }
    }
  }
}

// What is wrong with a breakdown task's own `run` (a command a model wrote), or "": its
// templates are held to the rules of the milestone file's (model/command_template.h).
std::string CheckRun(const Command& run) {
  if (run.shell.empty() && run.argv.empty()) return "";
  CommandPlan plan;
  CommandProblem problem;
  if (!PlanCommand(run, &plan, &problem)) return problem.message;
  for (const CommandWordPlan& word : plan.words) {
    for (const TemplatePiece& piece : word.pieces) {
      std::string_view artifact;
      if (piece.is_variable && !IsKnownVariable(piece.text, &artifact)) {
        return fmt::format("unknown template variable '{{{{{}}}}}' in its run", piece.text);
      }
    }
  }
  return "";
}

}  // namespace

bool ReadBreakdown(const Folder& folder, const std::string& path, std::vector<BreakdownTask>* tasks,
                   std::string* err) {
  json doc;
  if (std::string problem = ReadArtifact(folder, path, Schema::kTasks, &doc); !problem.empty()) {
    *err = problem;
    return false;
  }
  TasksOf(doc, tasks);
  return true;
}

bool ParseBreakdown(std::string_view text, std::vector<BreakdownTask>* tasks, std::string* err) {
  json doc;
  if (std::string problem = ParseArtifact(text, Schema::kTasks, &doc); !problem.empty()) {
    *err = problem;
    return false;
  }
  TasksOf(doc, tasks);
  return true;
}

std::vector<std::string> InsertBreakdown(Milestone* m, size_t phase,
                                         const std::vector<BreakdownTask>& tasks) {
  std::vector<std::string> problems;
  const Phase& p = m->phases[phase];
  std::unordered_set<std::string_view> own;
  for (const BreakdownTask& b : tasks) own.insert(b.id);
  for (const BreakdownTask& b : tasks) {
    if (const Task* clash = m->FindTask(b.id)) {
      problems.push_back(fmt::format("breakdown task '{}' has the id of a task of phase '{}'", b.id,
                                     m->phases[clash->phase].name));
    }
    for (const std::string& dep : b.deps) {
      if (own.count(dep)) continue;
      const Task* target = m->FindTask(dep);
      if (target == nullptr) {
        problems.push_back(
            fmt::format("breakdown task '{}' depends on '{}', which is no task", b.id, dep));
      } else if (target->phase > phase) {
        problems.push_back(
            fmt::format("breakdown task '{}' depends on '{}' of the later phase '{}'", b.id, dep,
                        m->phases[target->phase].name));
      }
    }
    if (std::string problem = CheckRun(b.run); !problem.empty()) {
      problems.push_back(fmt::format("breakdown task '{}': {}", b.id, problem));
    }
    bool has_command = !b.run.shell.empty() || !b.run.argv.empty() || p.task_template;
    if (!has_command) {
      problems.push_back(fmt::format(
          "breakdown task '{}' has no 'run' and phase '{}' has no task_template", b.id, p.name));
    }
  }
  if (problems.empty()) Insert(m, phase, tasks);
  return problems;
}

BreakdownPlan PlanBreakdown(const std::vector<BreakdownTask>& tasks) {
  BreakdownPlan plan;
  std::unordered_set<std::string_view> ids;
  for (const BreakdownTask& b : tasks) ids.insert(b.id);
  for (const BreakdownTask& b : tasks) {
    for (const std::string& dep : b.deps) {
      if (!ids.count(dep)) {
        plan.unknown_deps.push_back(
            fmt::format("'{}' depends on '{}', which is not in the breakdown", b.id, dep));
      }
    }
  }
  Milestone scratch;
  scratch.phases.emplace_back();
  scratch.phases[0].name = "execute";
  scratch.phases[0].weight = 100;
  Insert(&scratch, 0, tasks);
  Graph graph(scratch);
  for (const std::vector<uint32_t>& cycle : graph.FindCycles()) {
    plan.cycles.push_back(CycleText(scratch, cycle));
  }
  if (!plan.cycles.empty() || tasks.empty()) return plan;
  Roadmap roadmap = ComputeRoadmap(scratch, graph, 1);
  plan.batches = roadmap.batches.size();
  plan.total_effort = roadmap.total_effort;
  plan.critical_path_length = roadmap.critical_path_length;
  for (uint32_t t : roadmap.critical_path) plan.critical_path.emplace_back(scratch.tasks[t].id);
  for (const PredictedConflict& c : roadmap.conflicts) {
    plan.conflicts.push_back(ConflictText(scratch, c));
  }
  return plan;
}

}  // namespace mex
