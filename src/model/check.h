// The rules of a milestone that span fields: ids, deps, cycles, agents, pools, templates,
// phase weights and gates (SPEC §2, §3).
#pragma once

#include "model/diagnostics.h"
#include "model/milestone.h"

namespace mex {

// Resolves task ids (fills milestone->task_of_symbol) and reports every broken rule to `diags`.
void CheckMilestone(Milestone* milestone, Diagnostics* diags);

// The agent names mex knows without an `agents:` entry.
const std::vector<std::string_view>& AgentPresetNames();

}  // namespace mex
