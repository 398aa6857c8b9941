// The roadmap as JSON (SPEC §5 roadmap.json, and `mex plan --json`).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/milestone.h"
#include "model/run_files.h"
#include "plan/roadmap.h"

namespace mex {

nlohmann::ordered_json RoadmapJson(const Milestone& m, const Roadmap& r);

// Writes the run's roadmap.json, unless it holds this roadmap already (a resumed session of an
// unchanged milestone). False with `err` when it could not.
bool WriteRoadmapJson(const RunPaths& paths, const Milestone& m, const Roadmap& r,
                      std::string* err);

}  // namespace mex
