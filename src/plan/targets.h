// `mex run FILE TASK...`: which tasks a run of some targets runs, as make and ninja build a
// target and what it needs. Phases run in order and each is judged by its gate, so every phase
// before the last phase of a target runs whole; in that phase, the targets and the tasks of it
// they need, directly or not; no later phase.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/milestone.h"
#include "plan/graph.h"

namespace mex {

// The last phase of the tasks named `targets` (ids of `m`; unknown ones are left out).
size_t LastTargetPhase(const Milestone& m, const std::vector<std::string>& targets);

// Per task of `m`: whether a run of `targets` runs it. `graph` is `m`'s.
std::vector<bool> TasksForTargets(const Milestone& m, const Graph& graph,
                                  const std::vector<std::string>& targets);

}  // namespace mex
