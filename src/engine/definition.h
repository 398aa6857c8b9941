// Definition hashes: whether a task that succeeded in an earlier session of a run may be kept.
// A task's hash covers what it would run (DefinitionText) and the hashes of its deps, so a
// change to a task also changes every task downstream of it, as in a Ninja rebuild.
#pragma once

#include <string>
#include <vector>

#include "engine/attempt.h"
#include "engine/store.h"
#include "plan/graph.h"
#include "plan/roadmap.h"

namespace mex {

// One hash per task (32 hex digits, XXH3-128), in task order; `roadmap` is the milestone's (its
// batches give the order in which deps come first).
std::vector<std::string> DefinitionHashes(const RunInfo& run, const Graph& graph,
                                          const Roadmap& roadmap);

// Per task: whether run.force or run.force_all names it or a task it needs, transitively (a task
// that needs one that runs again may get other inputs).
std::vector<bool> ForcedTasks(const RunInfo& run, const Graph& graph, const Roadmap& roadmap);

// Whether a task recorded as `was` in an earlier session of the run is kept as it is, now that
// its hash is `hash`: it succeeded then, with the same definition, and is not forced.
bool KeptAsItWas(const StoredTask& was, const std::string& hash, bool forced);

// Why a task that ran in an earlier session (`was`) runs again, as task_started's `rerun` says.
std::string RerunReason(const StoredTask& was, const std::string& hash, bool forced);

}  // namespace mex
