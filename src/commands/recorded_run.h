// Where the commands that read a run (status, logs, report) find it: the state folder
// (--state-dir, else .mex beside the milestone file, else ./.mex), its state.db opened read-only,
// and the run (--run ID, else the latest of the file's milestone, else the latest of any).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "store/sqlite_store.h"
#include "util/folder.h"

namespace mex {

struct RecordedRun {
  std::string milestone_key;  // MilestoneKey of the file, "" when no file was given
  std::string state_dir;
  Folder state;                        // the state folder, to read the run's files beneath it
  std::unique_ptr<SqliteStore> store;  // read-only
  StoredRun run;
};

// Opens the run that `file`, `state_dir` and `run_id` (each may be "") name. Returns kExitOk, or
// kExitUsage once it has said on stderr why not: state.db missing or unreadable, no such run, no
// run at all, a run of another milestone.
int OpenRecordedRun(const std::string& file, const std::string& state_dir,
                    const std::string& run_id, RecordedRun* out);

// Whether `run` still runs: its own engine holds the lock of the state folder `state_dir`
// (another run of the same folder holding it says nothing about this one).
bool RunIsLive(const std::string& state_dir, const StoredRun& run);

}  // namespace mex
