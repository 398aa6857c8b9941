// Where the engine keeps its state. The task runner records every change here and calls Commit()
// once per turn of its loop, before it acts on those changes (starts a process, releases a
// dependent, reports progress): a durable store makes a killed run resumable from that point.
// The stores are in store/: SQLite (sqlite_store.h) and memory (memory_store.h).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/events.h"
#include "engine/executor.h"

namespace mex {

struct AttemptRecord {
  std::string task;
  int number = 0;
  double started_at = 0;
  double ended_at = 0;  // 0 while running
  int exit_code = -1;
  int signal = 0;
  // "" while running; "exited", "timed_out", "stall_killed", "cancelled", "spawn_failed", or
  // "interrupted": the engine was killed while it ran (recorded when the run resumes).
  std::string end;
  std::string failure_class;  // "" when it succeeded or is running
  std::string reason;
  std::string log_path;
  std::string log_tail;  // the end of the log of a failed attempt, "" otherwise
  // What the agent reported of its cost and token usage; -1 when it reported nothing.
  double cost_usd = -1;
  int64_t input_tokens = -1;
  int64_t output_tokens = -1;
  // The process group it ran as, committed right after the spawn so that a later session can
  // end what a killed engine left running (Executor::EndLeftovers); empty when it never ran.
  ProcessRef process;
  // Seconds it ran, on the monotonic clock and without the time it was stopped (Ctrl-Z of mex);
  // -1 while it runs or when unknown (attempts of an older mex).
  double duration_s = -1;
  // `workspace: worktree` tasks (engine/workspaces.h): the attempt's worktree (kept while it is
  // not merged; "" once removed or for a shared task), the integration head it started from,
  // the commit of what it changed, and the integration head once that was merged.
  std::string worktree;
  std::string base_commit;
  std::string result_commit;
  std::string merge_commit;
  std::vector<std::string> changed_files;  // what result_commit changed from base_commit
};

// What a file was when it was last seen: if its size, modification time and inode are the
// same, its content is taken to be the same (as make and ninja take a file's mtime).
struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};

// The content hashes of tasks' input files (engine/inputs.h) as they were, by path relative to
// the workspace: state.db keeps them between sessions, so that a no-op run reads no file whose
// stamp is unchanged.
struct CachedHash {
  FileStamp stamp;
  std::string hash;
  int64_t hashed_at_ns = 0;  // wall clock when the content was read
};
using InputHashCache = std::unordered_map<std::string, CachedHash>;

// A phase's gate once scored.
struct GateRecord {
  double score = 0;
  double min_score = 1;
  bool passed = false;
  std::string detail;  // the validation file's JSON
};

class Store {
 public:
  virtual ~Store() = default;
  virtual void TaskChanged(const std::string& task, TaskState state, int attempts) = 0;
  // Called when an attempt starts, and again with the same task and number when it ends.
  virtual void AttemptChanged(const AttemptRecord& attempt) = 0;
  // The gate of phase `phase` (its index) was scored.
  virtual void GateScored(size_t phase, const GateRecord& gate) = 0;
  virtual void Append(const Event& event) = 0;
  // The run's integration branch now points at `head` (a merge, engine/workspaces.h).
  virtual void IntegrationMoved(const std::string& head) { (void)head; }
  // Makes everything recorded since the last Commit durable, as one transaction. False when it
  // could not (disk full, I/O error): error() says why, and the engine starts nothing more.
  virtual bool Commit() = 0;
  virtual std::string error() const { return ""; }
  // Seconds until the store wants Commit() called again though nothing changed (to refresh
  // status.json), or -1 for never.
  virtual double RefreshIn() const { return -1; }
};

// What a session of a run reads of the sessions before it and records of its own tasks
// (engine/session.h). Only a durable store has earlier sessions: a run kept in memory has none.
// Like Store's, the writes go into the pending transaction, made durable by the next Commit().
struct StoredTask {
  std::string id;
  uint32_t seq = 0;    // position in the file
  uint32_t phase = 0;  // index of its phase
  double effort = 0;
  std::string hash;  // of the task's definition: a changed task runs again
  TaskState state = TaskState::kPending;
  int attempts = 0;
  // For the estimate of the time left (model/eta.h): the ids of its deps, one per line, and its
  // kind: the agent it runs, "" for a command, with kClusterKindSuffix when it runs on a cluster.
  std::string deps;
  std::string kind;
};

struct PhaseRow {
  std::string name;
  double weight = 0;
  std::string tasks_from;  // the phase's, "" for none
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // The tasks of `run` by id (key order, the cheapest to read; `seq` gives the file order).
  virtual std::vector<StoredTask> Tasks(const std::string& run) = 0;
  // The attempts of `run`, by task id then number, log tails included.
  virtual std::vector<AttemptRecord> Attempts(const std::string& run) = 0;
  // Replaces the run's phases, all pending.
  virtual void SetPhases(const std::vector<PhaseRow>& phases) = 0;
  // Inserts or replaces one task of the run.
  virtual void PutTask(const StoredTask& task) = 0;
  // Sets the definition hash of the task `id` of the run (hashed again as it started).
  virtual void SetTaskHash(const std::string& id, const std::string& hash) = 0;
  // Moves the tasks at position `from` and after in the file down by `by` places (tasks were
  // inserted before them).
  virtual void ShiftTasks(uint32_t from, uint32_t by) = 0;
  // Deletes a task of the run (its attempts stay, for the record).
  virtual void RemoveTask(const std::string& id) = 0;
  // Ends the attempts a killed engine left running ("interrupted", ended at `now`) and sets the
  // tasks it left running, ready or waiting back to pending. Returns those attempts, with the
  // process each ran as, so that what may still run of them is ended before they start again.
  virtual std::vector<AttemptRecord> MarkInterrupted(double now) = 0;
  // Per task of `ids` (with its definition hash of `hashes`), the seconds it took in the latest
  // earlier run of the milestone in which it succeeded, or -1; empty when nothing is known.
  virtual std::vector<double> ObservedSeconds(const std::vector<std::string>& /*ids*/,
                                              const std::vector<std::string>& /*hashes*/) {
    return {};
  }
};

}  // namespace mex
