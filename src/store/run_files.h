// The run folder of SPEC §5 (.mex/runs/RUN_ID/) and how files get into it: created 0700, written
// atomically (temp file, fsync, rename), never through a symlink.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace mex {

struct RunPaths {
  std::string run_id;
  std::string state_dir;  // absolute
  std::string run_dir;
  std::string logs_dir;
  std::string artifacts_dir;
  std::string failures_dir;
  std::string validation_dir;  // validation/PHASE.json, and the logs of gate commands

  std::string LogPath(std::string_view task, int attempt) const;
  std::string ArtifactPath(std::string_view relative) const;
};

// A new run id, sortable by time: "20261126T211500Z-3f9a".
std::string NewRunId();

// Creates `dir` (and missing parents) with mode 0700; fails when it, or a parent made here, is a
// symlink or not a folder.
bool MakeFolder(const std::string& dir, std::string* err);

// Creates the state folder and the run folder with its subfolders.
bool CreateRunFolder(const std::string& state_dir, const std::string& run_id, RunPaths* paths,
                     std::string* err);

// Removes the temp files WriteFileAtomically leaves in `dir` when its process is killed between
// writing and renaming one ("NAME.tmp.PID"). Only for a folder no other process writes to.
void RemoveStaleTempFiles(const std::string& dir);

// The content of `path`, or "" when it cannot be read (missing, a symlink, not a file).
std::string ReadWholeFile(const std::string& path);

// Reads up to `max_bytes` from the end of the file at `path` ("" when it cannot be read, or is a
// symlink); the tail never starts inside a UTF-8 sequence. For attempt logs.
std::string ReadTail(const std::string& path, size_t max_bytes);

struct WriteOptions {
  // fsync the temp file first, so that the new content also survives a power cut (a file
  // rewritten every 500 ms from the database, like status.json, does not need it).
  bool sync = true;
  mode_t mode = 0600;  // of a new file, before the umask
  // false: write only a new file; when something (a file, a symlink) has the name already, fail
  // with "PATH already exists; not overwriting it" and leave it as it was.
  bool replace = true;
};

// Writes `content` to `path` through a temp file in the same folder and a rename, so that a
// reader sees the old file or the new one, never a part. Refuses to write through a symlink.
bool WriteFileAtomically(const std::string& path, std::string_view content, std::string* err,
                         const WriteOptions& options = {});

}  // namespace mex
