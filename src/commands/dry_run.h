// `mex run -n` (--dry-run): what a run would do, task by task, and why; nothing run or written.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "commands/commands.h"
#include "engine/inputs.h"
#include "model/milestone.h"
#include "plan/graph.h"
#include "plan/roadmap.h"

namespace mex {

// Prints, for each task of `m` in file order, "run   ID: WHY", "keep  ID: succeeded, unchanged"
// "later ID: ..." (a task of a phase decided when a tasks_from phase starts) or "skip  ID: not
// needed by the targets" (options.targets), then a count.
// Exit codes: 0; 2 the state folder or its database cannot be read.
int DryRun(const RunOptions& options, const Milestone& m, const Graph& graph,
           const Roadmap& roadmap, TaskInputs inputs, const Folder& workspace);

}  // namespace mex
