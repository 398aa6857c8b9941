// The roadmap as JSON (SPEC §5 roadmap.json, and `mex plan --json`).
#pragma once

#include <nlohmann/json.hpp>

#include "model/milestone.h"
#include "plan/roadmap.h"

namespace mex {

nlohmann::ordered_json RoadmapJson(const Milestone& m, const Roadmap& r);

}  // namespace mex
