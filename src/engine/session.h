// A session of a run (SPEC §5): the first one starts the run, later ones go on with it. Each
// task that succeeded earlier with the same definition hash is kept; every other task runs
// again with fresh attempts, numbered after the earlier ones.
#pragma once

#include <string>
#include <vector>

#include "engine/attempt.h"
#include "engine/scheduler.h"
#include "store/sqlite_store.h"

namespace mex {

// Records the milestone's phases and tasks for this session in `store` (uncommitted: the
// scheduler's first turn commits them) and tells `scheduler` each task's earlier attempts and
// whether it is kept. Ends the attempts a killed engine left running ("interrupted"). Removes
// the failure reports of tasks that run again.
void PrepareSession(const RunInfo& run, const std::vector<std::string>& hashes, SqliteStore* store,
                    Scheduler* scheduler);

}  // namespace mex
