#include "load/check.h"

#include <fmt/format.h>

#include <cmath>
#include <unordered_set>

#include "agents/agents.h"
#include "model/command_template.h"
#include "model/template.h"
#include "plan/graph.h"
#include "util/metrics.h"

namespace mex {

namespace {

// Beyond this many tasks, "did you mean" for a dep is not worth a scan of every id.
constexpr size_t kSpellcheckLimit = 20000;

class Checker {
 public:
  Checker(Milestone* m, Diagnostics* d, SourceText* source) : m_(*m), d_(*d), source_(source) {}

  void Run() {
    ResolveIds();
    InheritRetryDefaults();
    CheckPhases();
    CheckDeps();
    CheckAgentsAndPools();
    CheckTemplates();
    ScopedMetric metric("check cycles");
    CheckCycles();
  }

 private:
  void Error(Pos pos, std::string message) { d_.Error(pos, std::move(message)); }

  void ResolveIds() {
    m_.task_of_symbol.assign(m_.symbols.size(), SymbolTable::kNone);
    for (uint32_t i = 0; i < m_.tasks.size(); ++i) {
      const Task& task = m_.tasks[i];
      if (task.symbol == SymbolTable::kNone) continue;
      uint32_t& slot = m_.task_of_symbol[task.symbol];
      if (slot != SymbolTable::kNone) {
        Error(task.pos, fmt::format("duplicate task id '{}' (first defined at line {})", task.id,
                                    m_.tasks[slot].pos.line));
      } else {
        slot = i;
      }
    }
  }

  void InheritRetryDefaults() {
    for (Phase& phase : m_.phases) {
      if (phase.retry) phase.retry->InheritUnset(m_.defaults.retry);
    }
    for (Task& task : m_.tasks) {
      const Phase& phase = m_.phases[task.phase];
      if (task.detail && task.detail->retry) {
        task.detail->retry->InheritUnset(phase.retry ? *phase.retry : m_.defaults.retry);
      }
    }
  }

  std::string SuggestTask(std::string_view id) const {
    if (m_.tasks.size() > kSpellcheckLimit) return "";
    std::vector<std::string_view> ids;
    for (const Task& t : m_.tasks) ids.push_back(t.id);
    return DidYouMean(id, ids);
  }

  void CheckPhases() {
    std::unordered_set<std::string_view> names;
    double total = 0;
    std::string terms;
    bool all_weighted = true;
    for (size_t i = 0; i < m_.phases.size(); ++i) {
      Phase& phase = m_.phases[i];
      if (!phase.name.empty() && !names.insert(phase.name).second) {
        Error(phase.pos, fmt::format("duplicate phase name '{}'", phase.name));
      }
      if (!phase.has_weight && m_.phases.size() == 1) phase.weight = 100, phase.has_weight = true;
      if (!phase.has_weight) {
        Error(phase.pos, fmt::format("phase '{}' has no weight", phase.name));
        all_weighted = false;
      }
      total += phase.weight;
      terms += fmt::format("{}{} {:g}", terms.empty() ? "" : " + ", phase.name, phase.weight);
      if (phase.tasks.empty() && phase.tasks_from.empty()) {
        Error(phase.pos, m_.implicit_phase ? std::string("the milestone has no tasks")
                                           : fmt::format("phase '{}' has no tasks", phase.name));
      }
      CheckTasksFrom(phase, i);
      if (phase.gate) CheckGate(*phase.gate);
    }
    if (all_weighted && !m_.phases.empty() && std::fabs(total - 100) > 1e-9) {
      Error(m_.phases.front().pos,
            fmt::format("phase weights must sum to 100, not {:g} ({})", total, terms));
    }
  }

  void CheckTasksFrom(const Phase& phase, size_t phase_index) {
    if (phase.tasks_from.empty()) {
      if (phase.task_template) {
        Error(phase.task_template->pos,
              fmt::format("phase '{}' has a task_template but no tasks_from", phase.name));
      }
      return;
    }
    const Task* source = m_.FindTask(phase.tasks_from);
    if (source == nullptr) {
      Error(phase.tasks_from_pos, fmt::format("tasks_from names unknown task '{}'{}",
                                              phase.tasks_from, SuggestTask(phase.tasks_from)));
    } else if (!source->details() || source->details()->output.schema != Schema::kTasks) {
      Error(phase.tasks_from_pos,
            fmt::format("tasks_from names task '{}', which has no output with schema 'tasks'",
                        phase.tasks_from));
    } else if (source->phase >= phase_index) {
      Error(phase.tasks_from_pos,
            fmt::format("tasks_from names task '{}', which is not in an earlier phase",
                        phase.tasks_from));
    }
  }

  void CheckGate(const Gate& gate) {
    for (const Criterion& c : gate.criteria) {
      if (c.kind != CriterionKind::kArtifact || c.argument.empty()) continue;
      const Task* task = m_.FindTask(c.argument);
      if (task == nullptr) {
        Error(c.pos, fmt::format("artifact criterion names unknown task '{}'{}", c.argument,
                                 SuggestTask(c.argument)));
      } else if (!task->details() || task->details()->output.path.empty()) {
        Error(c.pos,
              fmt::format("artifact criterion names task '{}', which has no output", c.argument));
      }
    }
  }

  void CheckDeps() {
    std::vector<uint32_t> phase_end = m_.PhaseEnds();
    for (const Task& task : m_.tasks) {
      for (const DepRef& dep : task.deps) {
        uint32_t index = m_.task_of_symbol[dep.symbol];
        if (index == SymbolTable::kNone) {
          std::string_view name = m_.symbols.Name(dep.symbol);
          Error(dep.pos, fmt::format("task '{}' depends on unknown task '{}'{}", task.id, name,
                                     SuggestTask(name)));
        } else if (index >= phase_end[task.phase]) {
          const Task* target = &m_.tasks[index];
          std::string_view name = target->id;
          Error(dep.pos, fmt::format("task '{}' (phase '{}') depends on '{}' of the later phase "
                                     "'{}'",
                                     task.id, m_.phases[task.phase].name, name,
                                     m_.phases[target->phase].name));
        }
      }
    }
  }

  std::vector<std::string_view> KnownAgents() const {
    std::vector<std::string_view> names = PresetNames();
    for (const auto& [name, agent] : m_.agents) names.push_back(name);
    return names;
  }

  void CheckAgent(std::string_view name, Pos pos) {
    if (FindAgent(m_, name) != nullptr) return;
    Error(pos, fmt::format("undefined agent '{}'{}", name, DidYouMean(name, KnownAgents())));
  }

  void CheckPool(std::string_view pool, Pos pos) {
    if (pool.empty() || m_.pools.count(std::string(pool))) return;
    std::vector<std::string_view> known;
    for (const auto& [name, depth] : m_.pools) known.push_back(name);
    Error(pos, fmt::format("unknown pool '{}'{}", pool, DidYouMean(pool, known)));
  }

  void CheckAgentsAndPools() {
    if (!m_.defaults.agent.empty()) CheckAgent(m_.defaults.agent, m_.defaults.agent_pos);
    for (const Task& task : m_.tasks) {
      const TaskDetail* d = task.details();
      if (!d) continue;
      CheckPool(d->pool, d->pool_pos);
      if (!d->agent.empty()) {
        if (d->prompt.empty()) {
          Error(d->agent_pos, fmt::format("task '{}' names an agent but has no prompt", task.id));
        } else {
          CheckAgent(d->agent, d->agent_pos);
        }
      } else if (!d->prompt.empty() && m_.defaults.agent.empty()) {
        Error(d->prompt_pos, fmt::format("task '{}' has a prompt but no agent (set 'agent' on the "
                                         "task or in 'defaults')",
                                         task.id));
      }
    }
    for (const Phase& phase : m_.phases) {
      if (!phase.task_template) continue;
      const TaskTemplate& t = *phase.task_template;
      CheckPool(t.pool, t.pool_pos);
      if (!t.agent.empty()) CheckAgent(t.agent, t.agent_pos);
      if (!t.prompt.empty() && t.agent.empty() && m_.defaults.agent.empty()) {
        Error(t.prompt_pos,
              "task_template has a prompt but no agent (set 'agent' on the template "
              "or in 'defaults')");
      }
    }
  }

  // `task` is null for a phase's task_template.
  void CheckTemplate(std::string_view text, Pos pos, const Task* task) {
    if (text.find("{{") == std::string_view::npos) return;
    std::vector<TemplatePiece> pieces;
    std::string err;
    size_t offset = 0;
    if (!ParseTemplate(text, &pieces, &err, &offset)) {
      Error(PosInString(text, pos, offset, text.substr(offset, 2)), err);
      return;
    }
    for (const TemplatePiece& piece : pieces) {
      if (piece.is_variable) CheckVariable(text, pos, piece, task);
    }
  }

  void CheckVariable(std::string_view text, Pos pos, const TemplatePiece& piece, const Task* task) {
    size_t close = text.find("}}", piece.offset);
    Pos at =
        PosInString(text, pos, piece.offset, text.substr(piece.offset, close + 2 - piece.offset));
    std::string_view artifact;
    if (!IsKnownVariable(piece.text, &artifact)) {
      Error(at, fmt::format("unknown template variable '{{{{{}}}}}'{}", piece.text,
                            DidYouMean(piece.text, KnownVariables())));
    } else if (!artifact.empty()) {
      const Task* target = m_.FindTask(artifact);
      if (target == nullptr) {
        Error(at, fmt::format("'{{{{{}}}}}' names unknown task '{}'", piece.text, artifact));
      } else if (!target->details() || target->details()->output.path.empty()) {
        Error(at, fmt::format("'{{{{{}}}}}' names task '{}', which has no output", piece.text,
                              artifact));
      }
    } else if (piece.text == "output" && task != nullptr &&
               (!task->details() || task->details()->output.path.empty())) {
      Error(at, fmt::format("'{{{{output}}}}' is used but task '{}' has no output", task->id));
    }
  }

  void CheckCommandTemplates(const Command& run, const Task* task) {
    CheckTemplate(run.shell, run.pos, task);
    for (const std::string& word : run.argv) CheckTemplate(word, run.pos, task);
    bool templated = run.shell.find("{{") != std::string::npos;
    for (const std::string& word : run.argv) templated |= word.find("{{") != std::string::npos;
    if (!templated) return;  // nothing to plan: most tasks of a large DAG
    CommandPlan plan;
    CommandProblem problem;
    if (PlanCommand(run, &plan, &problem)) return;
    std::string_view text = run.is_argv ? std::string_view(run.argv[problem.word]) : run.shell;
    size_t close = text.find("}}", problem.offset);
    std::string_view raw = text.substr(
        problem.offset, close == std::string_view::npos ? 2 : close + 2 - problem.offset);
    if (!raw.starts_with("{{")) return;  // a template error, reported by CheckTemplate
    Error(PosInString(text, run.pos, problem.offset, raw), problem.message);
  }

  void CheckTemplates() {
    for (const Task& task : m_.tasks) {
      CheckCommandTemplates(task.run, &task);
      if (task.details()) CheckTemplate(task.details()->prompt, task.details()->prompt_pos, &task);
    }
    for (const Phase& phase : m_.phases) {
      if (!phase.task_template) continue;
      CheckCommandTemplates(phase.task_template->run, nullptr);
      CheckTemplate(phase.task_template->prompt, phase.task_template->prompt_pos, nullptr);
    }
  }

  Pos EdgePos(const Task& from, const Task& to) const {
    for (const DepRef& dep : from.deps) {
      if (dep.symbol == to.symbol) return dep.pos;
    }
    return from.deps_all_pos;
  }

  void CheckCycles() {
    Graph graph(m_);
    for (const std::vector<uint32_t>& cycle : graph.FindCycles()) {
      const Task& first = m_.tasks[cycle.front()];
      const Task& second = m_.tasks[cycle.size() > 1 ? cycle[1] : cycle[0]];
      Error(EdgePos(first, second), "dependency cycle: " + CycleText(m_, cycle));
    }
  }

  // Where `raw` (text of the string `text` at `offset`) is written in the file: the string's
  // position, moved onto the same text found again in the source after it.
  Pos PosInString(std::string_view text, Pos pos, size_t offset, std::string_view raw) {
    if (source_ == nullptr) return pos;
    size_t start = source_->OffsetOf(pos);
    if (start == std::string_view::npos) return pos;
    size_t before = 0;  // the same text earlier in the string
    for (size_t at = text.find(raw); at < offset; at = text.find(raw, at + 1)) ++before;
    size_t found = source_->text().find(raw, start);
    for (; found != std::string_view::npos && before > 0; --before) {
      found = source_->text().find(raw, found + 1);
    }
    return found == std::string_view::npos ? pos : source_->PosOf(found);
  }

  Milestone& m_;
  Diagnostics& d_;
  SourceText* source_;
};

}  // namespace

void CheckMilestone(Milestone* milestone, Diagnostics* diags, SourceText* source) {
  Checker(milestone, diags, source).Run();
}

}  // namespace mex
