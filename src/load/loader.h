// Reads a milestone file (YAML, or JSON with the same schema) into the model and checks every
// rule of SPEC §2, collecting all errors of the file in one pass.
#pragma once

#include <string>

#include "model/diagnostics.h"
#include "model/milestone.h"

namespace mex {

// Loads and checks `path`. A path ending in ".json" takes the JSON path (built for million-task
// files); anything else is read as YAML. Returns false when `diags` holds errors.
bool LoadMilestone(const std::string& path, Milestone* milestone, Diagnostics* diags);

// The same for text already in memory; `name` decides the format and names the file in errors.
bool LoadMilestoneFromString(const std::string& name, const std::string& text, Milestone* milestone,
                             Diagnostics* diags);

}  // namespace mex
