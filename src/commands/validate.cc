#include <fmt/format.h>

#include "commands/commands.h"
#include "commands/load.h"
#include "util/terminal_text.h"

namespace mex {

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
  fmt::print("{}: ok: {} task{} in {} phase{}{}\n", TerminalSafeLine(file), m.tasks.size(),
             m.tasks.size() == 1 ? "" : "s", m.phases.size(), m.phases.size() == 1 ? "" : "s",
             dynamic);
  return kExitOk;
}

}  // namespace mex
