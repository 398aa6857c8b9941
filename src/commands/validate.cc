#include <fmt/format.h>

#include "commands/commands.h"
#include "commands/load.h"

namespace mex {

int ValidateCommand(const std::string& file) {
  Milestone m;
  if (!LoadForCommand(file, &m)) return kExitUsage;
  size_t dynamic = 0;
  for (const Phase& phase : m.phases) dynamic += phase.tasks_from.empty() ? 0 : 1;
  fmt::print("{}: ok: {} task{} in {} phase{}{}\n", file, m.tasks.size(),
             m.tasks.size() == 1 ? "" : "s", m.phases.size(), m.phases.size() == 1 ? "" : "s",
             dynamic ? fmt::format(" ({} with tasks added at run time)", dynamic) : "");
  return kExitOk;
}

}  // namespace mex
