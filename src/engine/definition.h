// Definition hashes: whether a task that succeeded in an earlier session of a run may be kept.
// A task's hash covers what it would run (DefinitionText) and the hashes of its deps, so a
// change to a task also changes every task downstream of it, as in a Ninja rebuild.
#pragma once

#include <string>
#include <vector>

#include "engine/attempt.h"
#include "plan/graph.h"
#include "plan/roadmap.h"

namespace mex {

// One hash per task (32 hex digits, XXH3-128), in task order; `roadmap` is the milestone's (its
// batches give the order in which deps come first).
std::vector<std::string> DefinitionHashes(const RunInfo& run, const Graph& graph,
                                          const Roadmap& roadmap);

}  // namespace mex
