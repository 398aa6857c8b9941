#include <fmt/format.h>

#include <map>

#include "agents/agents.h"
#include "commands/commands.h"
#include "commands/load.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

// Each agent the milestone's prompts go to whose program cannot be started here, as a warning:
// the file is valid, but its tasks would fail at once (exit 127, permanent).
void WarnOfMissingAgentPrograms(const std::string& file, const Milestone& m) {
  struct Use {
    Pos pos;  // the first place that names it (or its first task)
    int tasks = 0;
  };
  std::map<std::string, Use> uses;
  auto use = [&](const std::string& name, Pos pos) {
    Use& u = uses[name];
    if (u.tasks++ == 0) u.pos = pos;
  };
  for (const Task& task : m.tasks) {
    if (!task.has_prompt()) continue;
    const TaskDetail* d = task.details();
    use(AgentName(m, task), d->agent_pos.line != 0 ? d->agent_pos : task.pos);
  }
  for (const Phase& phase : m.phases) {
    if (!phase.task_template || phase.task_template->prompt.empty()) continue;
    const TaskTemplate& t = *phase.task_template;
    use(t.agent.empty() ? m.defaults.agent : t.agent, t.agent_pos.line != 0 ? t.agent_pos : t.pos);
  }
  for (const auto& [name, u] : uses) {
    const Agent* agent = FindAgent(m, name);
    if (agent == nullptr) continue;  // the loader said so already
    std::string missing = MissingProgram(*agent, m.workspace);
    if (missing.empty()) continue;
    fmt::print(stderr, "{}:{}:{}: warning: {}; {} task{} would fail at once\n",
               TerminalSafeLine(file), u.pos.line, u.pos.col, TerminalSafeLine(missing), u.tasks,
               u.tasks == 1 ? "" : "s");
  }
}

}  // namespace

int ValidateCommand(const std::string& file) {
  Milestone m;
  if (!LoadForCommand(file, &m)) return kExitUsage;
  std::string dynamic;
  for (const Phase& phase : m.phases) {
    if (!phase.tasks_from.empty())
      dynamic += fmt::format(
          ", and phase {} adds tasks from {} "
          "when it starts",
          phase.name, phase.tasks_from);
  }
  WarnOfMissingAgentPrograms(file, m);
  fmt::print("{}: ok: {} task{} in {} phase{}{}\n", TerminalSafeLine(file), m.tasks.size(),
             m.tasks.size() == 1 ? "" : "s", m.phases.size(), m.phases.size() == 1 ? "" : "s",
             dynamic);
  return kExitOk;
}

}  // namespace mex
