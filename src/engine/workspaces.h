// Where attempts of `workspace: worktree` tasks run and what becomes of what they change: each
// attempt gets a fresh folder made from the run's integration head; when it succeeds its changes
// are committed and merged into the integration branch, one merge at a time, in the order tasks
// finish (git/worktrees.h; docs/worktrees.md). Tasks of `workspace: shared` run in the
// milestone's folder and never come here.
#pragma once

#include <string>
#include <vector>

#include "engine/store.h"

namespace mex {

struct MergeResult {
  enum class Kind : uint8_t {
    kMerged,    // record->merge_commit is the new integration head
    kNothing,   // the attempt changed nothing: nothing to merge
    kConflict,  // its changes clash with the integration head: a logic failure of the attempt
    kError,     // git failed (a resource failure of the attempt): `reason` says how
  };
  Kind kind = Kind::kError;
  std::string reason;  // one line for a person
  std::string detail;  // kConflict: the conflicting files and hunks, for the report and the retry
};

class Workspaces {
 public:
  virtual ~Workspaces() = default;
  // Makes a fresh folder for the attempt of `record` (task, number) from the integration head
  // as it is now; sets record->worktree and record->base_commit and `*folder`, the attempt's
  // folder (the milestone's folder within the worktree). False with `err` when it cannot.
  virtual bool Prepare(AttemptRecord* record, std::string* folder, std::string* err) = 0;
  // The attempt succeeded: commits what it changed (`title`, the task's, in the message) and
  // merges that into the integration branch; sets record->result_commit and merge_commit. A
  // merged worktree (or one with nothing to merge) is done with: record->worktree is cleared;
  // any other is kept for inspection.
  virtual MergeResult Merge(const std::string& title, AttemptRecord* record) = 0;
  // The attempt was cancelled (interrupted, or stopped with the run): nothing of its half-done
  // worktree is worth keeping. Clears record->worktree.
  virtual void Discard(AttemptRecord* record) = 0;
  // A folder of the integration head as it is now, for the gate's commands; "" with `err` when
  // it cannot be made. The previous one is replaced.
  virtual std::string GateFolder(std::string* err) = 0;
  // Before a session starts anything: removes the worktrees of `interrupted`, the attempts a
  // killed engine left (their processes are ended by then).
  virtual void Prune(const std::vector<AttemptRecord>& interrupted) = 0;
  // The integration head: the commit the next attempt starts from.
  virtual const std::string& head() const = 0;
};

}  // namespace mex
