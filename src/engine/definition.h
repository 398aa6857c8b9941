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
// batches give the order in which deps come first). A dep that declares an output counts with
// the hash of that file as run.outputs has it: a dep whose artifact changed changes the task.
std::vector<std::string> DefinitionHashes(const RunInfo& run, const Graph& graph,
                                          const Roadmap& roadmap);

// The hash of `task` alone, from its deps' hashes `hashes` (in task order) as they are now: for
// a task about to start whose dep made another output than the session started with.
std::string DefinitionHash(const RunInfo& run, const Graph& graph, uint32_t task,
                           const std::vector<std::string>& hashes);

// Sets run->outputs for each task of `tasks` (indexes) that declares an output: the hash of the
// file beneath the state folder, "" when it is not there.
void HashOutputs(RunInfo* run, const std::vector<uint32_t>& tasks);
// The same for every task of the milestone.
void HashOutputs(RunInfo* run);

// The `output.path` of `task` when it declares one that run.outputs says is not there, else "".
std::string MissingOutput(const RunInfo& run, const Task& task);

// Per task: whether run.force or run.force_all names it or a task it needs, transitively (a task
// that needs one that runs again may get other inputs).
std::vector<bool> ForcedTasks(const RunInfo& run, const Graph& graph, const Roadmap& roadmap);

// Whether a task recorded as `was` in an earlier session of the run is kept as it is, now that
// its hash is `hash`: it succeeded then, with the same definition, is not forced, and the output
// it declares is there (`missing_output`: its path when it is not, else "").
bool KeptAsItWas(const StoredTask& was, const std::string& hash, bool forced,
                 const std::string& missing_output = "");

// Whether a resumed session follows attempt `number` of a task recorded as `was`, which a killed
// engine left in flight, rather than end it and run the task again: it is the task's latest,
// the task's definition is the same (`hash`), and it is not forced (--force, --force-all).
bool FollowsLeftAttempt(const StoredTask& was, int number, const std::string& hash, bool forced);

// Why a task that ran in an earlier session (`was`) runs again, as task_started's `rerun` says.
std::string RerunReason(const StoredTask& was, const std::string& hash, bool forced,
                        const std::string& missing_output = "");

}  // namespace mex
