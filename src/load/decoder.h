// Decodes a milestone document (YAML or JSON, see source.h) into the model, checking the shape and
// the value of every field. Cross-references (deps, agents, templates, weights) are checked
// afterwards by check.h, once every task is known. How a field of a given shape is read is
// field_reader.h's. Past 600 lines: one method per section of the file, of one class template,
// calling one another (phases hold tasks; defaults, agents and tasks share retry, env and argv).
#pragma once

#include <fmt/format.h>

#include <csignal>

#include "load/field_reader.h"
#include "load/source.h"
#include "model/classify_pattern.h"
#include "model/milestone.h"
#include "model/size.h"
#include "plan/file_overlap.h"

namespace mex {

bool EscapesFolder(std::string_view path);
// What to do about a path that EscapesFolder.
std::string PathAdvice(std::string_view path);
bool ParseSignal(std::string_view text, int* signal);

template <class N>
class Decoder : FieldReader<N> {
 public:
  Decoder(Milestone* milestone, Diagnostics* diags) : FieldReader<N>(diags), m_(milestone) {}

  // Returns whether the file has the shape of a milestone (a mapping with a list of phases or of
  // tasks), so that checks across fields make sense.
  bool DecodeRoot(N root) {
    Pos root_pos = root.pos();  // JSON nodes are read once: take the position first
    if (root.kind() != NodeKind::kMap) {
      Error(root_pos, "the milestone file must be a mapping");
      return false;
    }
    Pos tasks_pos;
    bool has_tasks = false, has_phases = false, shaped = true;
    Members(root, "the milestone file",
            {"milestone", "defaults", "pools", "agents", "classify", "phases", "tasks", "slurm"},
            [&](std::string_view key, Pos key_pos, N value) {
              if (key == "milestone") DecodeHeader(value);
              if (key == "defaults") DecodeDefaults(value);
              if (key == "pools") DecodePools(value);
              if (key == "agents") DecodeAgents(value);
              if (key == "classify") DecodeClassify(value, &m_->classify);
              if (key == "slurm") DecodeSlurm(value);
              if (key == "phases") {
                has_phases = true;
                shaped = DecodePhases(value) && shaped;
              }
              if (key == "tasks") {
                has_tasks = true;
                tasks_pos = key_pos;
                shaped = DecodeTopLevelTasks(key_pos, value) && shaped;
              }
            });
    if (has_tasks && has_phases) {
      Error(tasks_pos,
            "top-level 'tasks' and 'phases' cannot both be given; put the tasks in a "
            "phase");
    } else if (!has_tasks && !has_phases) {
      Error(root_pos, "the milestone has no 'phases' and no 'tasks'");
    }
    return shaped && has_tasks != has_phases;
  }

 private:
  using FieldReader<N>::Error;
  using FieldReader<N>::Members;
  using FieldReader<N>::IndexedMembers;
  using FieldReader<N>::Items;
  using FieldReader<N>::String;
  using FieldReader<N>::Number;
  using FieldReader<N>::Integer;
  using FieldReader<N>::Duration;
  using FieldReader<N>::Enum;
  using FieldReader<N>::Bool;

  bool DecodePhases(N value) {
    Pos pos = value.pos();
    if (value.kind() != NodeKind::kSeq) {
      Error(pos, "'phases' must be a list");
      return false;
    }
    size_t count = 0;
    value.ForEachItem([&](N phase) {
      DecodePhase(phase);
      ++count;
    });
    if (count == 0) Error(pos, "'phases' must not be empty");
    return count > 0;
  }

  // Top-level tasks: one phase "execute" of weight 100.
  bool DecodeTopLevelTasks(Pos key_pos, N value) {
    if (value.kind() != NodeKind::kSeq) {
      Error(value.pos(), "'tasks' must be a list");
      return false;
    }
    m_->implicit_phase = true;
    Phase& phase = m_->phases.emplace_back();
    phase.name = "execute";
    phase.weight = 100;
    phase.has_weight = true;
    phase.pos = key_pos;
    DecodeTasks(value, static_cast<uint32_t>(m_->phases.size() - 1));
    return true;
  }

  void DecodeHeader(N node) {
    Members(node, "'milestone'", {"id", "title", "goal"}, [&](std::string_view key, Pos, N value) {
      if (key == "id") String(value, "milestone id", &m_->id);
      if (key == "title") String(value, "milestone title", &m_->title);
      if (key == "goal") String(value, "milestone goal", &m_->goal);
    });
  }

  void DecodeDefaults(N node) {
    Defaults& d = m_->defaults;
    Members(node, "'defaults'",
            {"agent", "max_parallel", "timeout", "stall_after", "stall_action", "executor",
             "on_failure", "retry", "resource_wait", "budget_usd", "log_limit", "workspace"},
            [&](std::string_view key, Pos, N value) {
              if (key == "agent") {
                d.agent_pos = value.pos();
                String(value, "defaults.agent", &d.agent);
              }
              if (key == "max_parallel") Integer(value, "max_parallel", 1, &d.max_parallel);
              if (key == "timeout") Duration(value, "timeout", &d.timeout_s);
              if (key == "stall_after") Duration(value, "stall_after", &d.stall_after_s);
              if (key == "stall_action") {
                Enum(value, "stall_action", {"warn", "kill"}, &d.stall_action);
              }
              if (key == "executor") Enum(value, "executor", {"local", "slurm"}, &d.executor);
              if (key == "workspace")
                Enum(value, "workspace", {"shared", "worktree"}, &d.workspace);
              if (key == "on_failure") {
                Enum(value, "on_failure", {"continue", "stop"}, &d.on_failure);
              }
              if (key == "retry") DecodeRetry(value, &d.retry);
              if (key == "resource_wait") DecodeResourceWait(value, &d.resource_wait);
              if (key == "log_limit") {
                Pos pos = value.pos();
                std::string text, err;
                if (!String(value, "log_limit", &text)) return;
                if (!ParseSize(text, &d.log_limit_bytes, &err)) {
                  Error(pos, err);
                } else if (d.log_limit_bytes < 1) {
                  Error(pos, "log_limit must be at least 1 byte");
                }
              }
              if (key == "budget_usd") {
                Pos pos = value.pos();
                double budget = 0;
                if (Number(value, "budget_usd", &budget)) {
                  if (budget <= 0) Error(pos, "budget_usd must be greater than 0");
                  d.budget_usd = budget;
                }
              }
            });
  }

  void DecodeResourceWait(N node, ResourceWait* wait) {
    Members(node, "'resource_wait'", {"memory", "disk", "max"},
            [&](std::string_view key, Pos, N value) {
              if (key == "max") {
                Duration(value, "resource_wait max", &wait->max_wait_s);
                return;
              }
              Pos pos = value.pos();
              std::string text, err;
              if (!String(value, "resource_wait size", &text)) return;
              double* bytes = key == "memory" ? &wait->memory_bytes : &wait->disk_bytes;
              if (!ParseSize(text, bytes, &err)) Error(pos, err);
            });
  }

  void DecodeRetry(N node, RetryPolicy* retry) {
    Members(node, "'retry'", {"max_attempts", "backoff"}, [&](std::string_view key, Pos, N value) {
      if (key == "max_attempts") Integer(value, "max_attempts", 1, &retry->max_attempts);
      if (key == "backoff") DecodeBackoff(value, &retry->backoff);
    });
  }

  void DecodeBackoff(N node, Backoff* b) {
    Members(node, "'backoff'", {"initial", "factor", "max", "jitter"},
            [&](std::string_view key, Pos, N value) {
              Pos pos = value.pos();
              if (key == "initial") Duration(value, "backoff initial", &b->initial_s);
              if (key == "max") Duration(value, "backoff max", &b->max_s);
              if (key == "factor" && Number(value, "backoff factor", &b->factor) && b->factor < 1) {
                Error(pos, "backoff factor must be at least 1");
              }
              if (key == "jitter" && Number(value, "backoff jitter", &b->jitter) &&
                  (b->jitter < 0 || b->jitter > 1)) {
                Error(pos, "backoff jitter must be between 0 and 1 (a fraction of the delay)");
              }
            });
  }

  void DecodePools(N node) {
    if (node.kind() != NodeKind::kMap) {
      Error(node.pos(), "'pools' must be a mapping of pool names to sizes");
      return;
    }
    node.ForEachMember([&](std::string_view name, Pos name_pos, N value) {
      int depth = 0;
      if (!IsValidId(name)) Error(name_pos, fmt::format("invalid pool name '{}'", name));
      if (Integer(value, fmt::format("pool '{}' size", name), 1, &depth)) {
        if (!m_->pools.emplace(std::string(name), depth).second) {
          Error(name_pos, fmt::format("duplicate pool '{}'", name));
        }
      }
    });
  }

  void DecodeAgents(N node) {
    if (node.kind() != NodeKind::kMap) {
      Error(node.pos(), "'agents' must be a mapping of agent names");
      return;
    }
    node.ForEachMember([&](std::string_view name, Pos name_pos, N value) {
      if (m_->agents.count(std::string(name))) {
        Error(name_pos, fmt::format("duplicate agent '{}'", name));
        return;
      }
      Agent& agent = m_->agents[std::string(name)];
      agent.name = name;
      agent.pos = name_pos;
      bool has_command = false;
      Members(value, fmt::format("agent '{}'", name), {"command", "prompt_via", "env"},
              [&](std::string_view key, Pos, N v) {
                if (key == "command") has_command = DecodeArgv(v, "agent command", &agent.command);
                if (key == "env") DecodeEnv(v, &agent.env);
                if (key == "prompt_via") {
                  Enum(v, "prompt_via", {"stdin", "file", "arg"}, &agent.prompt_via);
                }
              });
      if (!has_command && value.kind() == NodeKind::kMap) {
        Error(name_pos, fmt::format("agent '{}' has no 'command'", name));
      }
    });
  }

  bool DecodeArgv(N node, std::string_view what, std::vector<std::string>* argv) {
    if (node.kind() != NodeKind::kSeq) {
      Error(node.pos(), fmt::format("{} must be a list of words, e.g. [claude, -p]", what));
      return false;
    }
    Pos pos = node.pos();
    bool ok = true;
    node.ForEachItem([&](N item) { ok = String(item, what, &argv->emplace_back()) && ok; });
    if (argv->empty() || (*argv)[0].empty()) {
      Error(pos, fmt::format("{} must not be empty", what));
      return false;
    }
    return ok;
  }

  void DecodeClassify(N node, std::vector<ClassifyRule>* rules) {
    Items(node, "'classify'", [&](N item) {
      ClassifyRule& rule = rules->emplace_back();
      rule.pos = item.pos();
      bool has_class = false;
      Members(item, "classify rule", {"exit", "signal", "timeout", "pattern", "class"},
              [&](std::string_view key, Pos, N value) {
                if (key == "exit") DecodeInts(value, "exit", &rule.exit_codes);
                if (key == "signal") DecodeSignals(value, &rule.signals);
                if (key == "timeout") rule.timeout = Bool(value, "timeout");
                if (key == "pattern") DecodePattern(value, &rule);
                if (key == "class") {
                  has_class = Enum(value, "class", {"transient", "resource", "logic", "permanent"},
                                   &rule.failure_class);
                }
              });
      if (!has_class && item.kind() == NodeKind::kMap) {
        Error(rule.pos, "classify rule has no 'class'");
      }
    });
  }

  void DecodeInts(N node, std::string_view what, std::vector<int>* out) {
    if (node.kind() == NodeKind::kSeq) {
      node.ForEachItem([&](N item) { Integer(item, what, 0, &out->emplace_back()); });
    } else {
      Integer(node, what, 0, &out->emplace_back());
    }
  }

  void DecodeSignals(N node, std::vector<int>* out) {
    auto one = [&](N item) {
      Pos pos = item.pos();
      std::string text;
      int signal = 0;
      if (!String(item, "signal", &text)) return;
      if (!ParseSignal(text, &signal)) {
        Error(pos,
              fmt::format("unknown signal '{}' (expected a name like SIGKILL or a number)", text));
      }
      out->push_back(signal);
    };
    if (node.kind() == NodeKind::kSeq) {
      node.ForEachItem(one);
    } else {
      one(node);
    }
  }

  void DecodePattern(N node, ClassifyRule* rule) {
    Pos pos = node.pos();
    if (!String(node, "pattern", &rule->pattern)) return;
    std::string err;
    rule->regex = CompileClassifyPattern(rule->pattern, &err);
    if (!rule->regex) Error(pos, fmt::format("invalid pattern '{}': {}", rule->pattern, err));
  }

  void DecodeSlurm(N node) {
    SlurmDefaults& slurm = m_->slurm;
    Members(node, "'slurm'", {"partition", "account", "qos", "args", "arrays", "array_limit"},
            [&](std::string_view key, Pos, N value) {
              if (key == "partition") String(value, "slurm partition", &slurm.partition);
              if (key == "account") String(value, "slurm account", &slurm.account);
              if (key == "qos") String(value, "slurm qos", &slurm.qos);
              if (key == "args") DecodeArgv(value, "slurm args", &slurm.args);
              if (key == "arrays") slurm.arrays = Bool(value, "arrays");
              if (key == "array_limit") Integer(value, "array_limit", 1, &slurm.array_limit);
            });
  }

  void DecodePhase(N node) {
    Phase& phase = m_->phases.emplace_back();
    auto index = static_cast<uint32_t>(m_->phases.size() - 1);
    phase.pos = node.pos();
    Members(
        node, "phase",
        {"name", "weight", "gate", "on_gate_fail", "tasks_from", "task_template", "tasks",
         "workspace", "timeout", "retry", "stall_after", "stall_action", "classify", "executor"},
        [&](std::string_view key, Pos, N value) {
          Pos pos = value.pos();
          if (key == "name" && String(value, "phase name", &phase.name)) {
            phase.pos = pos;
            if (!IsValidId(phase.name)) {
              Error(pos, fmt::format("invalid phase name '{}' (use letters, digits, '_', '.', "
                                     "'-')",
                                     phase.name));
            }
          }
          if (key == "weight" && Number(value, "phase weight", &phase.weight)) {
            phase.has_weight = true;
            if (phase.weight <= 0) Error(pos, "phase weight must be greater than 0");
          }
          if (key == "gate") DecodeGate(value, &phase);
          if (key == "on_gate_fail") DecodeOnGateFail(value, &phase);
          if (key == "tasks_from" && String(value, "tasks_from", &phase.tasks_from)) {
            phase.tasks_from_pos = pos;
          }
          if (key == "task_template") DecodeTaskTemplate(value, &phase);
          if (key == "workspace") {
            Enum(value, "workspace", {"shared", "worktree"}, &phase.workspace.emplace());
          }
          if (key == "tasks") DecodeTasks(value, index);
          if (key == "timeout" && Duration(value, "timeout", &phase.timeout_s.emplace()) &&
              *phase.timeout_s <= 0) {
            Error(pos, "timeout must be greater than 0");
          }
          if (key == "retry") {
            phase.retry = RetryPolicy::Unset();  // the checker fills the rest in
            DecodeRetry(value, &*phase.retry);
          }
          if (key == "stall_after") {
            Duration(value, "stall_after", &phase.stall_after_s.emplace());
          }
          if (key == "stall_action") {
            Enum(value, "stall_action", {"warn", "kill"}, &phase.stall_action.emplace());
          }
          if (key == "classify") DecodeClassify(value, &phase.classify);
          if (key == "executor") {
            Enum(value, "executor", {"local", "slurm"}, &phase.executor.emplace());
          }
        });
    if (phase.name.empty() && node.kind() == NodeKind::kMap)
      Error(phase.pos, "phase has no 'name'");
  }

  void DecodeOnGateFail(N node, Phase* phase) {
    if (node.kind() == NodeKind::kScalar) {
      Pos pos = node.pos();
      std::string text(node.text());
      if (text != "stop") {
        Error(pos, fmt::format("invalid on_gate_fail '{}' (expected stop or {{rerun: N}})", text));
      }
      return;
    }
    Members(node, "'on_gate_fail'", {"rerun"}, [&](std::string_view, Pos, N value) {
      Integer(value, "rerun", 1, &phase->gate_reruns);
    });
  }

  void DecodeGate(N node, Phase* phase) {
    Gate& gate = phase->gate.emplace();
    gate.pos = node.pos();
    Members(node, "'gate'", {"min_score", "criteria"}, [&](std::string_view key, Pos, N value) {
      Pos pos = value.pos();
      if (key == "min_score" && Number(value, "min_score", &gate.min_score) &&
          (gate.min_score < 0 || gate.min_score > 1)) {
        Error(pos, "min_score must be between 0 and 1");
      }
      if (key == "criteria") Items(value, "'criteria'", [&](N c) { DecodeCriterion(c, &gate); });
    });
  }

  // In the order of CriterionKind.
  static const std::vector<std::string_view>& NamedCriteria() {
    static const std::vector<std::string_view> kNames = {"kiro_decisions", "spec_completeness",
                                                         "task_coverage", "tasks_succeeded"};
    return kNames;
  }

  void DecodeCriterion(N node, Gate* gate) {
    Criterion& c = gate->criteria.emplace_back();
    c.pos = node.pos();
    if (node.kind() == NodeKind::kScalar) {
      Enum(node, "criterion", NamedCriteria(), &c.kind);
      return;
    }
    int kinds = 0;
    Members(
        node, "criterion",
        {"command", "artifact", "kiro_decisions", "spec_completeness", "task_coverage",
         "tasks_succeeded", "weight"},
        [&](std::string_view key, Pos, N value) {
          Pos pos = value.pos();
          if (key == "weight" && Number(value, "criterion weight", &c.weight) && c.weight <= 0) {
            Error(pos, "criterion weight must be greater than 0");
          }
          if (key == "weight") return;
          ++kinds;
          if (key == "command") {
            c.kind = CriterionKind::kCommand;
            String(value, "criterion command", &c.argument);
          } else if (key == "artifact") {
            c.kind = CriterionKind::kArtifact;
            String(value, "criterion artifact", &c.argument);
            c.pos = pos;
          } else {
            size_t i = 0;
            for (std::string_view name : NamedCriteria()) {
              if (name == key) c.kind = static_cast<CriterionKind>(i);
              ++i;
            }
          }
        });
    if (kinds != 1 && node.kind() == NodeKind::kMap) {
      Error(c.pos,
            "a criterion names exactly one of command, artifact, kiro_decisions, "
            "spec_completeness, task_coverage, tasks_succeeded");
    }
  }

  void DecodeTaskTemplate(N node, Phase* phase) {
    TaskTemplate& t = phase->task_template.emplace();
    t.pos = node.pos();
    Members(node, "'task_template'", {"prompt", "run", "agent", "pool"},
            [&](std::string_view key, Pos, N value) {
              Pos pos = value.pos();
              if (key == "prompt" && String(value, "prompt", &t.prompt)) t.prompt_pos = pos;
              if (key == "run") DecodeRun(value, &t.run);
              if (key == "agent" && String(value, "agent", &t.agent)) t.agent_pos = pos;
              if (key == "pool" && String(value, "pool", &t.pool)) t.pool_pos = pos;
            });
    if (t.prompt.empty() == t.run.shell.empty() && t.run.argv.empty()) {
      Error(t.pos, "task_template needs exactly one of 'run' and 'prompt'");
    }
  }

  void DecodeRun(N node, Command* run) {
    run->pos = node.pos();
    if (node.kind() == NodeKind::kSeq) {
      run->is_argv = DecodeArgv(node, "run", &run->argv);
      return;
    }
    if (node.kind() != NodeKind::kScalar) {
      Error(run->pos, "run must be a string or a list of words, e.g. [make, all]");
    } else if (run->shell = node.text(); run->shell.empty()) {
      Error(run->pos, "run must not be empty");
    }
  }

  // `shell: bash` or `shell: [bash, -eo, pipefail, -c]`.
  void DecodeShell(N node, Command* run) {
    run->interpreter_pos = node.pos();
    if (node.kind() == NodeKind::kSeq) {
      DecodeArgv(node, "shell", &run->interpreter);
    } else if (node.kind() == NodeKind::kScalar && !node.text().empty()) {
      run->interpreter = {std::string(node.text())};
    } else {
      Error(node.pos(),
            "shell must be a program (bash) or a list of words ending in the option "
            "before the script ([bash, -eo, pipefail, -c])");
    }
  }

  void DecodeTasks(N node, uint32_t phase) {
    if (node.kind() != NodeKind::kSeq) {
      Error(node.pos(), "'tasks' must be a list");
      return;
    }
    // Reserving first keeps a million-task file from growing the vector (and memory) by copies.
    node.ForEachItem(
        [&](size_t count) {
          m_->tasks.reserve(m_->tasks.size() + count);
          m_->symbols.Reserve(count);
        },
        [&](N item) { DecodeTask(item, phase); });
  }

  // The keys of a task, in the order of kTaskKeys.
  enum TaskKey {
    kId,
    kRun,
    kDeps,
    kEffort,
    kTitle,
    kDescription,
    kPrompt,
    kAgent,
    kTimeout,
    kRetry,
    kOutput,
    kEnv,
    kCwd,
    kPool,
    kExecutor,
    kResources,
    kLeaveProcesses,
    kWorkspace,
    kFiles,
    kShell,
    kStallAfter,
    kStallAction,
    kClassify,
    kInputs
  };

  void DecodeTask(N node, uint32_t phase_index) {
    Task& task = m_->tasks.emplace_back();
    auto index = static_cast<uint32_t>(m_->tasks.size() - 1);
    m_->phases[phase_index].tasks.push_back(index);
    task.phase = phase_index;
    task.pos = node.pos();
    task.symbol = SymbolTable::kNone;
    IndexedMembers(
        node, "task",
        {"id",     "run",   "deps",        "effort",       "title",           "description",
         "prompt", "agent", "timeout",     "retry",        "output",          "env",
         "cwd",    "pool",  "executor",    "resources",    "leave_processes", "workspace",
         "files",  "shell", "stall_after", "stall_action", "classify",        "inputs"},
        [&](size_t key, Pos, N value) {
          DecodeTaskField(static_cast<TaskKey>(key), value, &task);
        });
    if (node.kind() != NodeKind::kMap) return;
    if (task.symbol == SymbolTable::kNone) Error(task.pos, "task has no 'id'");
    bool has_run = task.run.pos.line != 0;
    bool has_prompt = task.detail && task.detail->prompt_pos.line != 0;
    if (task.run.interpreter_pos.line != 0 && (task.run.is_argv || has_prompt)) {
      Error(
          task.run.interpreter_pos,
          fmt::format("task '{}': 'shell' runs a 'run' string; {}", task.id,
                      has_prompt ? "this task has a prompt"
                                 : "a 'run' list is run directly (its first word is the program)"));
    }
    if (has_run && has_prompt) {
      Error(task.pos,
            fmt::format("task '{}' has both 'run' and 'prompt'; give exactly one", task.id));
    } else if (!has_run && !has_prompt) {
      Error(task.pos,
            fmt::format("task '{}' has neither 'run' nor 'prompt'; give exactly one", task.id));
    }
  }

  void DecodeTaskField(TaskKey key, N value, Task* task) {
    switch (key) {
      case kId: {
        Pos pos = value.pos();
        std::string_view id;
        if (value.kind() != NodeKind::kScalar) {
          Error(pos, "task id must be a string");
          return;
        }
        id = value.text();
        task->pos = pos;
        if (!IsValidId(id)) {
          Error(pos,
                id == "." || id == ".."
                    ? fmt::format("invalid task id '{}' (it would name a folder of logs)", id)
                    : fmt::format("invalid task id '{}' (use letters, digits, '_', '.', '-')", id));
        }
        task->symbol = m_->symbols.Intern(id);
        task->id = m_->symbols.Name(task->symbol);
        return;
      }
      case kRun:
        return DecodeRun(value, &task->run);
      case kShell:
        return DecodeShell(value, &task->run);
      case kDeps:
        return DecodeDeps(value, task);
      case kEffort: {
        Pos pos = value.pos();
        if (Number(value, "effort", &task->effort) && task->effort <= 0) {
          Error(pos, "effort must be greater than 0");
        }
        return;
      }
      default:
        return DecodeTaskDetail(key, value, &task->mutable_detail());
    }
  }

  void DecodeTaskDetail(TaskKey key, N value, TaskDetail* d) {
    Pos pos = value.pos();
    if (key == kTitle) String(value, "title", &d->title);
    if (key == kDescription) String(value, "description", &d->description);
    if (key == kPrompt && String(value, "prompt", &d->prompt)) {
      d->prompt_pos = pos;
      if (d->prompt.empty()) Error(pos, "prompt must not be empty");
    }
    if (key == kAgent && String(value, "agent", &d->agent)) d->agent_pos = pos;
    if (key == kTimeout && Duration(value, "timeout", &d->timeout_s.emplace())) {
      if (*d->timeout_s <= 0) Error(pos, "timeout must be greater than 0");
    }
    if (key == kRetry) {
      d->retry = RetryPolicy::Unset();  // the checker fills the rest in from `defaults`
      DecodeRetry(value, &*d->retry);
    }
    if (key == kOutput) DecodeOutput(value, d);
    if (key == kEnv) DecodeEnv(value, &d->env);
    if (key == kCwd && String(value, "cwd", &d->cwd) && EscapesFolder(d->cwd)) {
      Error(pos, fmt::format("cwd '{}' leaves the workspace ({})", d->cwd, PathAdvice(d->cwd)));
    }
    if (key == kPool && String(value, "pool", &d->pool)) d->pool_pos = pos;
    if (key == kExecutor) Enum(value, "executor", {"local", "slurm"}, &d->executor.emplace());
    if (key == kResources) DecodeResources(value, d);
    if (key == kLeaveProcesses) d->leave_processes = Bool(value, "leave_processes");
    if (key == kWorkspace) {
      Enum(value, "workspace", {"shared", "worktree"}, &d->workspace.emplace());
    }
    if (key == kFiles) DecodeFiles(value, &d->files);
    if (key == kStallAfter) Duration(value, "stall_after", &d->stall_after_s.emplace());
    if (key == kStallAction) {
      Enum(value, "stall_action", {"warn", "kill"}, &d->stall_action.emplace());
    }
    if (key == kClassify) DecodeClassify(value, &d->classify);
    if (key == kInputs) DecodeFiles(value, &d->inputs, "inputs");
  }

  void DecodeFiles(N node, std::vector<std::string>* files, std::string_view what = "files") {
    if (node.kind() != NodeKind::kSeq) {
      Error(node.pos(), fmt::format("'{}' must be a list of paths or globs, e.g. [src/api/*.py, "
                                    "docs/api.md]",
                                    what));
      return;
    }
    node.ForEachItem([&](N item) {
      Pos pos = item.pos();
      std::string entry;
      if (!String(item, fmt::format("a {} entry", what), &entry)) return;
      if (std::string problem = FileEntryProblem(entry); !problem.empty()) {
        Error(pos, fmt::format("{} entry '{}' {}", what, entry, problem));
        return;
      }
      files->push_back(std::move(entry));
    });
  }

  void DecodeDeps(N node, Task* task) {
    // The ids first, then their symbols: the lookups' cache misses (a million-task file's table
    // is far larger than the cache) overlap when each is prefetched before the first lookup.
    deps_.clear();
    Items(node, "'deps'", [&](N item) {
      Pos pos = item.pos();
      std::string id;
      if (!String(item, "dep", &id)) return;
      if (id == "all") {
        task->deps_all = true;
        task->deps_all_pos = pos;
      } else {
        deps_.emplace_back(std::move(id), pos);
      }
    });
    for (const auto& dep : deps_) m_->symbols.Prefetch(dep.first, false);
    for (const auto& dep : deps_) m_->symbols.Prefetch(dep.first, true);
    for (const auto& dep : deps_) task->deps.push_back({m_->symbols.Intern(dep.first), dep.second});
  }

  void DecodeOutput(N node, TaskDetail* d) {
    d->output.pos = node.pos();
    bool has_path = false;
    Members(node, "'output'", {"path", "schema"}, [&](std::string_view key, Pos, N value) {
      Pos pos = value.pos();
      if (key == "schema") {
        Enum(value, "schema", {"none", "kiro", "spec", "tasks"}, &d->output.schema);
      }
      if (key == "path" && String(value, "output path", &d->output.path)) {
        has_path = true;
        d->output.pos = pos;
        if (EscapesFolder(d->output.path)) {
          Error(pos, fmt::format("output path '{}' escapes the artifact folder ({})",
                                 d->output.path, PathAdvice(d->output.path)));
        }
      }
    });
    if (!has_path && node.kind() == NodeKind::kMap) Error(d->output.pos, "output has no 'path'");
  }

  void DecodeEnv(N node, std::vector<std::pair<std::string, std::string>>* env) {
    if (node.kind() != NodeKind::kMap) {
      Error(node.pos(), "'env' must be a mapping of variable names to values");
      return;
    }
    node.ForEachMember([&](std::string_view name, Pos name_pos, N value) {
      if (name.empty() || name.find('=') != std::string_view::npos) {
        Error(name_pos, fmt::format("invalid environment variable name '{}'", name));
      }
      std::string text;
      if (String(value, "env value", &text)) env->emplace_back(name, std::move(text));
    });
  }

  void DecodeResources(N node, TaskDetail* d) {
    Members(node, "'resources'", {"cpus", "mem", "time", "gpus", "mem_retry_factor"},
            [&](std::string_view key, Pos, N value) {
              Pos pos = value.pos();
              if (key == "cpus") Integer(value, "cpus", 1, &d->resources.cpus);
              if (key == "gpus") Integer(value, "gpus", 0, &d->resources.gpus);
              if (key == "time") Duration(value, "time", &d->resources.time_s);
              if (key == "mem_retry_factor" &&
                  Number(value, "mem_retry_factor", &d->resources.mem_retry_factor) &&
                  !(d->resources.mem_retry_factor >= 1 && d->resources.mem_retry_factor <= 16)) {
                Error(pos, "mem_retry_factor must be between 1 and 16");
              }
              double bytes = 0;
              std::string err;
              if (key == "mem" && String(value, "mem", &d->resources.mem) &&
                  !ParseSize(d->resources.mem, &bytes, &err)) {
                Error(pos, err);
              }
            });
  }

  Milestone* m_;
  std::vector<std::pair<std::string, Pos>> deps_;  // of the task being decoded (DecodeDeps)
};

}  // namespace mex
