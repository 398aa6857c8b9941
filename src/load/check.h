// The rules of a milestone that span fields: ids, deps, cycles, agents, pools, templates,
// phase weights and gates (SPEC §2, §3).
#pragma once

#include "model/diagnostics.h"
#include "model/milestone.h"

namespace mex {

// Resolves task ids (fills milestone->task_of_symbol) and reports every broken rule to `diags`.
// With the file's text, an error inside a template points at the variable, not at the string.
void CheckMilestone(Milestone* milestone, Diagnostics* diags, SourceText* source = nullptr);

}  // namespace mex
