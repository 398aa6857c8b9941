// After a run whose tasks ran in worktrees: per task, the files it declared (`files:`) against
// the files its merged attempt changed, so that a user sees how good the breakdown's
// predictions were (RUN_DIR/files.json, and a line per task that strayed).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/store.h"
#include "model/milestone.h"

namespace mex {

struct DeclaredFilesReport {
  nlohmann::ordered_json json;     // {"tasks": [{id, declared, changed, undeclared, untouched}]}
  std::vector<std::string> lines;  // for the terminal: the tasks that changed undeclared files
};

// `attempts`: the run's (SessionStore::Attempts); a task counts by its merged attempt.
DeclaredFilesReport CompareDeclaredFiles(const Milestone& m,
                                         const std::vector<AttemptRecord>& attempts);

}  // namespace mex
