// The run folder of SPEC §5 (.mex/runs/RUN_ID/) in the state folder, which mex holds open for
// the whole run: every file of a run is made, read and removed beneath it, never through a
// symlink (util/folder.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/folder.h"

namespace mex {

struct RunPaths {
  std::shared_ptr<const Folder> state;  // the state folder, held open
  std::string run_id;
  std::string state_dir;  // absolute
  std::string run_dir;
  std::string logs_dir;
  std::string artifacts_dir;
  std::string failures_dir;
  std::string validation_dir;  // validation/PHASE.json, and the logs of gate commands

  // logs/TASK.N.log and logs/TASK.N.prompt: one flat folder, no folder per task (a folder made
  // for each task cost a mkdir and 4 KB each). The number after the last dot but one is the
  // attempt's, so that no two tasks' files share a name.
  std::string LogPath(std::string_view task, int attempt) const;
  std::string PromptPath(std::string_view task, int attempt) const;
  std::string ArtifactPath(std::string_view relative) const;
};

// A new run id, sortable by time: "20261126T211500Z-3f9a".
std::string NewRunId();

// The paths of the run folder of `run_id` in the state folder `state`, made or not.
RunPaths RunPathsOf(std::shared_ptr<const Folder> state, const std::string& run_id);

// Creates the run folder of `run_id` with its subfolders in the state folder `state`.
bool CreateRunFolder(std::shared_ptr<const Folder> state, const std::string& run_id,
                     RunPaths* paths, std::string* err);

}  // namespace mex
