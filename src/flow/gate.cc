#include "flow/gate.h"

#include <fmt/format.h>

#include <set>

#include "flow/breakdown.h"
#include "flow/schemas.h"

namespace mex {

namespace {

constexpr std::string_view kLeafHint = "fill it, or write {\"not_applicable\": \"why\"}";

std::string_view KindName(CriterionKind kind) {
  switch (kind) {
    case CriterionKind::kKiroDecisions:
      return "kiro_decisions";
    case CriterionKind::kSpecCompleteness:
      return "spec_completeness";
    case CriterionKind::kTaskCoverage:
      return "task_coverage";
    case CriterionKind::kTasksSucceeded:
      return "tasks_succeeded";
    case CriterionKind::kArtifact:
      return "artifact";
    case CriterionKind::kCommand:
      return "command";
  }
  return "?";
}

class Scorer {
 public:
  Scorer(const GateInputs& in, GateResult* result) : in_(in), m_(*in.milestone), result_(*result) {}

  CriterionResult Score(const Criterion& c, size_t command_index) {
    CriterionResult r;
    r.name = std::string(KindName(c.kind));
    if (!c.argument.empty()) r.name += ": " + c.argument;
    r.weight = c.weight;
    switch (c.kind) {
      case CriterionKind::kKiroDecisions:
        KiroDecisions(&r);
        break;
      case CriterionKind::kSpecCompleteness:
        SpecCompleteness(&r);
        break;
      case CriterionKind::kTaskCoverage:
        TaskCoverage(&r);
        break;
      case CriterionKind::kTasksSucceeded:
        TasksSucceeded(&r);
        return r;  // scored by itself: its checks list only the tasks that did not succeed
      case CriterionKind::kArtifact:
        Artifact(c.argument, &r);
        break;
      case CriterionKind::kCommand:
        Command(c.argument, command_index, &r);
        break;
    }
    size_t passed = 0;
    for (const GateCheck& check : r.checks) passed += check.passed ? 1 : 0;
    r.score = r.checks.empty() ? 0 : static_cast<double>(passed) / r.checks.size();
    r.passed = !r.checks.empty() && passed == r.checks.size();
    return r;
  }

 private:
  void Missing(std::string text) { result_.missing.push_back(std::move(text)); }

  // The tasks that write artifacts of `schema`: those of this phase, else any of the milestone.
  std::vector<const Task*> Writers(Schema schema) const {
    std::vector<const Task*> own, any;
    for (const Task& t : m_.tasks) {
      const TaskDetail* d = t.details();
      if (!d || d->output.schema != schema) continue;
      any.push_back(&t);
      if (t.phase == in_.phase) own.push_back(&t);
    }
    return own.empty() ? any : own;
  }

  std::string PathOf(const Task& t) const {
    return in_.paths->ArtifactPath(t.details()->output.path);
  }
  static std::string Shown(const Task& t) { return t.details()->output.path; }

  void KiroDecisions(CriterionResult* r) {
    std::vector<const Task*> writers = Writers(Schema::kKiro);
    if (writers.empty()) {
      r->checks.push_back({"decisions", false, "no task writes an artifact with schema kiro"});
      Missing("kiro_decisions: no task of the milestone writes decisions (output schema kiro)");
    }
    size_t valid = 0;
    for (const Task* t : writers) {
      std::string problem = ValidateArtifact(*in_.paths->state, PathOf(*t), Schema::kKiro);
      r->checks.push_back({std::string(t->id), problem.empty(), problem});
      if (problem.empty()) {
        ++valid;
      } else {
        Missing(fmt::format("{} ({}): {}", Shown(*t), t->id, problem));
      }
    }
    r->detail = fmt::format("{} of {} decision files valid and non-empty", valid, writers.size());
  }

  void SpecCompleteness(CriterionResult* r) {
    std::vector<const Task*> writers = Writers(Schema::kSpec);
    if (writers.empty()) {
      r->checks.push_back({"spec", false, "no task writes an artifact with schema spec"});
      Missing("spec_completeness: no task of the milestone writes a spec (output schema spec)");
      return;
    }
    const Task& t = *writers.front();
    SpecContent spec = ReadSpec(*in_.paths->state, PathOf(t));
    const std::vector<std::string>& leaves = SpecLeaves();
    size_t filled = 0;
    for (size_t i = 0; i < leaves.size(); ++i) {
      std::string problem = !spec.error.empty() ? spec.error : spec.leaf_problems[i];
      r->checks.push_back({leaves[i], problem.empty(), problem});
      if (problem.empty()) {
        ++filled;
      } else if (spec.error.empty()) {
        Missing(fmt::format("{}: section {} — {}; {}", Shown(t), leaves[i],
                            problem.substr(problem.find(": ") + 2), kLeafHint));
      }
    }
    if (!spec.error.empty()) Missing(fmt::format("{} ({}): {}", Shown(t), t.id, spec.error));
    r->detail = fmt::format("{} of {} sections filled", filled, leaves.size());
  }

  void TaskCoverage(CriterionResult* r) {
    std::vector<const Task*> writers = Writers(Schema::kTasks);
    if (writers.empty()) {
      r->checks.push_back({"breakdown", false, "no task writes an artifact with schema tasks"});
      Missing("task_coverage: no task of the milestone writes a breakdown (output schema tasks)");
      return;
    }
    const Task& t = *writers.front();
    std::vector<BreakdownTask> tasks;
    std::string err;
    bool valid = ReadBreakdown(*in_.paths->state, PathOf(t), &tasks, &err);
    r->checks.push_back({"breakdown valid", valid, err});
    if (!valid) {
      Missing(fmt::format("{} ({}): {}", Shown(t), t.id, err));
      for (const char* name : {"acceptance criteria covered", "every task has an effort",
                               "deps resolve", "graph acyclic", "roadmap computed"}) {
        r->checks.push_back({name, false, "the breakdown is not valid"});
      }
      r->detail = "the breakdown is not valid: " + err;
      return;
    }
    Coverage(tasks, r);
    // The schema requires an effort > 0 of every task: a valid breakdown has them all.
    r->checks.push_back({"every task has an effort", true, ""});
    BreakdownPlan plan = PlanBreakdown(tasks);
    std::string unknown;
    for (const std::string& text : plan.unknown_deps) {
      unknown += (unknown.empty() ? "" : "; ") + text;
      Missing(fmt::format("{}: {}", Shown(t), text));
    }
    r->checks.push_back({"deps resolve", plan.unknown_deps.empty(), unknown});
    std::string cycles;
    for (const std::string& cycle : plan.cycles) {
      cycles += (cycles.empty() ? "dependency cycle: " : "; dependency cycle: ") + cycle;
      Missing(fmt::format("{}: dependency cycle {}; remove one of its deps", Shown(t), cycle));
    }
    r->checks.push_back({"graph acyclic", plan.cycles.empty(), cycles});
    bool planned = plan.cycles.empty() && !tasks.empty();
    std::string path;
    for (const std::string& id : plan.critical_path) path += (path.empty() ? "" : " -> ") + id;
    r->checks.push_back(
        {"roadmap computed", planned,
         planned ? fmt::format("{} batches, critical path {} (effort {:g} of {:g})", plan.batches,
                               path, plan.critical_path_length, plan.total_effort)
         : tasks.empty() ? "the breakdown has no tasks"
                         : "no roadmap: the graph has a cycle"});
    if (tasks.empty()) Missing(fmt::format("{}: the breakdown has no tasks", Shown(t)));
    r->detail = fmt::format("{} tasks", tasks.size());
    // Information, not a failure: mex runs such pairs one at a time; the breakdown may keep them
    // parallel in its graph and still pass.
    for (size_t i = 0; i < plan.conflicts.size(); ++i) {
      r->detail +=
          (i == 0 ? "; predicted conflicts, run one at a time: " : "; ") + plan.conflicts[i];
    }
  }

  // Every acceptance criterion of the spec is covered by a task, and every id a task covers is
  // one of the spec's.
  void Coverage(const std::vector<BreakdownTask>& tasks, CriterionResult* r) {
    std::vector<const Task*> specs = Writers(Schema::kSpec);
    if (specs.empty()) {
      r->checks.push_back({"acceptance criteria covered", true, "no spec in the milestone"});
      return;
    }
    SpecContent spec = ReadSpec(*in_.paths->state, PathOf(*specs.front()));
    if (!spec.error.empty()) {
      r->checks.push_back({"acceptance criteria covered", false, "the spec: " + spec.error});
      Missing("task_coverage: the spec cannot be read: " + spec.error);
      return;
    }
    std::set<std::string> covered, defined(spec.criteria.begin(), spec.criteria.end());
    std::vector<std::string> problems;
    for (const BreakdownTask& b : tasks) {
      for (const std::string& id : b.covers) {
        covered.insert(id);
        if (!defined.count(id)) {
          problems.push_back(
              fmt::format("task '{}' covers {}, which the spec does not define", b.id, id));
        }
      }
    }
    for (const std::string& id : spec.criteria) {
      if (!covered.count(id)) {
        problems.push_back(fmt::format("acceptance criterion {} is covered by no task", id));
      }
    }
    size_t hit = 0;
    for (const std::string& id : spec.criteria) hit += covered.count(id);
    std::string detail =
        fmt::format("{} of {} acceptance criteria covered", hit, spec.criteria.size());
    for (const std::string& p : problems) {
      detail += "; " + p;
      Missing("breakdown: " + p);
    }
    r->checks.push_back({"acceptance criteria covered", problems.empty(), detail});
  }

  // One check per task that did not succeed: a phase of ten thousand tasks that all succeeded
  // gets a validation file of one line, not ten thousand.
  void TasksSucceeded(CriterionResult* r) {
    size_t succeeded = 0;
    for (const GateInputs::TaskEnd& t : in_.tasks) {
      if (t.succeeded) {
        ++succeeded;
        continue;
      }
      std::string detail = t.state + (t.reason.empty() ? "" : ": " + t.reason);
      r->checks.push_back({t.id, false, detail});
      Missing(fmt::format("task {} {}", t.id, detail));
    }
    size_t total = in_.tasks.size();
    r->score = total == 0 ? 1 : static_cast<double>(succeeded) / static_cast<double>(total);
    r->passed = succeeded == total;
    r->detail = fmt::format("{} of {} tasks succeeded", succeeded, total);
  }

  void Artifact(const std::string& id, CriterionResult* r) {
    const Task* t = m_.FindTask(id);
    std::string problem = "task '" + id + "' declares no output";
    if (t && t->details() && !t->details()->output.path.empty()) {
      problem = ValidateArtifact(*in_.paths->state, PathOf(*t), t->details()->output.schema);
    }
    r->checks.push_back({id, problem.empty(), problem});
    if (!problem.empty()) Missing(fmt::format("artifact of {}: {}", id, problem));
    r->detail = problem.empty() ? "present and valid" : problem;
  }

  void Command(const std::string& command, size_t index, CriterionResult* r) {
    GateInputs::CommandEnd end;
    if (index < in_.commands.size()) {
      end = in_.commands[index];
    } else {
      end.detail = "not run";
    }
    r->checks.push_back({command, end.passed, end.detail});
    if (!end.passed) Missing(fmt::format("`{}` failed: {}", command, end.detail));
    r->detail = end.passed ? "exit 0" : end.detail;
  }

  const GateInputs& in_;
  const Milestone& m_;
  GateResult& result_;
};

}  // namespace

Gate EffectiveGate(const Phase& phase) {
  if (phase.gate) return *phase.gate;
  Gate gate;
  gate.min_score = 1;
  gate.criteria.push_back({CriterionKind::kTasksSucceeded, "", 1, Pos{}});
  return gate;
}

std::vector<GateCommand> GateCommands(const Phase& phase) {
  std::vector<GateCommand> commands;
  Gate gate = EffectiveGate(phase);
  for (size_t i = 0; i < gate.criteria.size(); ++i) {
    if (gate.criteria[i].kind == CriterionKind::kCommand) {
      commands.push_back({i, gate.criteria[i].argument});
    }
  }
  return commands;
}

GateResult EvaluateGate(const GateInputs& in) {
  const Phase& phase = in.milestone->phases[in.phase];
  Gate gate = EffectiveGate(phase);
  GateResult result;
  result.phase = phase.name;
  result.min_score = gate.min_score;
  Scorer scorer(in, &result);
  double total = 0, passed = 0;
  size_t command = 0;
  for (const Criterion& c : gate.criteria) {
    CriterionResult r = scorer.Score(c, c.kind == CriterionKind::kCommand ? command++ : 0);
    total += r.weight;
    passed += r.weight * r.score;
    result.criteria.push_back(std::move(r));
  }
  result.score = total > 0 ? passed / total : 0;
  // Scores like 19/23 are compared as written, not after a rounding that could flip them.
  result.passed = result.score >= result.min_score - 1e-12;
  return result;
}

nlohmann::ordered_json ValidationJson(const GateResult& result) {
  nlohmann::ordered_json criteria = nlohmann::ordered_json::array();
  for (const CriterionResult& c : result.criteria) {
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const GateCheck& check : c.checks) {
      checks.push_back({{"name", check.name}, {"passed", check.passed}, {"detail", check.detail}});
    }
    criteria.push_back({{"name", c.name},
                        {"weight", c.weight},
                        {"score", c.score},
                        {"passed", c.passed},
                        {"detail", c.detail},
                        {"checks", std::move(checks)}});
  }
  return {{"phase", result.phase},           {"score", result.score},
          {"min_score", result.min_score},   {"passed", result.passed},
          {"criteria", std::move(criteria)}, {"missing", result.missing}};
}

std::string MissingText(const GateResult& result) {
  std::string text = fmt::format("The {} gate scored {:.2f}, below the {:.2f} it needs. Missing:\n",
                                 result.phase, result.score, result.min_score);
  for (const std::string& item : result.missing) text += "- " + item + "\n";
  return text;
}

}  // namespace mex
