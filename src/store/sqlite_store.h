// The durable Store: STATE_DIR/state.db, one SQLite database per state folder (SPEC §5) holding
// runs, their phases, tasks and attempts, and an append-only event log. The engine's writes are
// grouped into one transaction per Commit(); `mex status` reads the same file read-only while a
// run writes it (WAL). Every SQLite error is caught here and returned as a one-line message.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.h"
#include "model/eta.h"
#include "store/status.h"
#include "util/folder.h"

namespace SQLite {
class Database;
}

namespace mex {

// The key of a milestone in the runs table: the absolute, lexically normal path of its file.
std::string MilestoneKey(const std::string& file);

struct StoredRun {
  std::string id;
  std::string milestone;  // MilestoneKey of the milestone file
  std::string name;       // the milestone's id
  std::string state;      // running, succeeded, failed or interrupted
  std::string timestamp;  // ISO 8601 of started_at: the run's {{timestamp}}
  double started_at = 0;  // seconds since the Unix epoch
  int exit_code = -1;     // -1 while running
  int pid = 0;            // of the engine that began (or resumed) it last
  // Its integration branch (workspace: worktree): the commit it started from, and its head as
  // last recorded; "" when no task of it runs in a worktree.
  std::string git_base;
  std::string git_head;
  double ended_at = 0;  // seconds since the Unix epoch; 0 while running
  // What its agents reported, summed over its attempts.
  double cost_usd = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
};

// A phase of a run as recorded, its gate's score once scored.
struct StoredPhase {
  std::string name;
  double weight = 0;
  std::string state;  // pending, running, passed or failed
  bool scored = false;
  GateRecord gate;
};

// One event of a run's event log, as `mex run --json` printed it.
struct StoredEvent {
  double time = 0;
  std::string kind;
  std::string task;
  std::string body;  // the JSON object of docs/events.md
};

class SqliteStore : public Store, public SessionStore {
 public:
  // Opens STATE_DIR/state.db through OpenStateDb (state_db.h). Read-write (for `mex run`; STATE_DIR
  // must exist): creates the file 0600 if missing and brings its schema up to date. Read-only (for
  // `mex status`): creates and changes nothing, and reads while another process writes. Returns
  // null with `err` set when the file is missing (read-only), a symlink, damaged, not a mex
  // database, or written by a newer mex; the file is then left as it was.
  static std::unique_ptr<SqliteStore> Open(const std::string& state_dir, bool read_only,
                                           std::string* err);
  // Drops writes not committed. A read-write store leaves the file in rollback-journal mode, so
  // that a reader of a finished run needs to create no -wal and -shm files beside it.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const { return path_; }

  // Reading. On an SQLite error these return nothing and error() says why.

  // The latest run (the one created last, whatever the wall clock said) of the milestone
  // `milestone_key`, or of any milestone for "".
  std::optional<StoredRun> LatestRun(const std::string& milestone_key);
  // The run whose id is `id`, or nothing.
  std::optional<StoredRun> FindRun(const std::string& id);
  // The task `id` of `run`, or nothing (a task removed from the run keeps its attempts).
  std::optional<StoredTask> FindTask(const std::string& run, const std::string& id);
  // The attempts of `task` in `run`, by number, log tails included.
  std::vector<AttemptRecord> TaskAttempts(const std::string& run, const std::string& task);
  // The phases of `run`, in order.
  std::vector<StoredPhase> Phases(const std::string& run);
  // The event log of `run`, oldest first.
  std::vector<StoredEvent> Events(const std::string& run);
  // What the agents of `run` reported they cost, in US dollars, over all its sessions.
  double SpentUsd(const std::string& run);
  // The status object of SPEC §5 (see status.h) of `run` at wall clock `now`. `live`: whether the
  // run's engine is running. False with error() set on failure.
  bool ReadStatus(const std::string& run, double now, bool live, nlohmann::ordered_json* status);

  // Setting a run up, before the task runner starts. Like the Store methods these write into the
  // pending transaction, made durable by the next Commit(); a failure makes it return false.

  // Inserts `run` as running, or resumes it: state running, this process's pid, `jobs`, no end.
  // Every later write is about this run.
  void BeginRun(const StoredRun& run, int jobs);
  // The run's integration branch starts at `base` and is now at `head` (pending, as Store's).
  void SetIntegration(const std::string& base, const std::string& head);
  // Writes the run's status.json to `status_path` (beneath the state folder `state`) after
  // commits: at the first, at every phase change and the end of the run, and otherwise at most
  // every 500 ms (see RefreshIn); less often for a run so large that building its status takes
  // more than 5% of that time. From then on each commit first checks that the state folder and
  // state.db are still the ones opened: one removed or replaced while the engine runs fails the
  // store, which stops the engine.
  void SetRunFiles(std::shared_ptr<const Folder> state, std::string status_path);

  // The input hashes cached for the workspace `workspace` (engine/inputs.h), by path; nothing on
  // an error (error() says why).
  InputHashCache InputHashes(const std::string& workspace);
  // Keeps `hashes` for `workspace`, replacing what was cached for their paths (pending, as Store's;
  // REQUIRES: BeginRun).
  void PutInputHashes(const std::string& workspace, const InputHashCache& hashes);

  // SessionStore. REQUIRES: BeginRun. On an SQLite error the reads return nothing and error() says
  // why.
  std::vector<StoredTask> Tasks(const std::string& run) override;
  std::vector<AttemptRecord> Attempts(const std::string& run) override;
  void SetPhases(const std::vector<PhaseRow>& phases) override;
  void PutTask(const StoredTask& task) override;
  void SetTaskHash(const std::string& id, const std::string& hash) override;
  void ShiftTasks(uint32_t from, uint32_t by) override;
  void RemoveTask(const std::string& id) override;
  std::vector<AttemptRecord> MarkInterrupted(double now) override;
  std::vector<double> ObservedSeconds(const std::vector<std::string>& ids,
                                      const std::vector<std::string>& hashes) override;

  // Store. REQUIRES: BeginRun, and PutTask for each task TaskChanged names.
  void TaskChanged(const std::string& task, TaskState state, int attempts) override;
  void AttemptChanged(const AttemptRecord& attempt) override;
  void GateScored(size_t phase, const GateRecord& gate) override;
  void Append(const Event& event) override;
  void IntegrationMoved(const std::string& head) override;
  // One transaction per call, however many writes; nothing to do when nothing was written. After
  // a failure every later call fails too: the engine must start nothing more.
  bool Commit() override;
  std::string error() const override { return error_; }
  double RefreshIn() const override;
  // The estimate of the time left that status.json has (model/eta.h), less the seconds since it
  // was written: what the live view shows. Unknown before the first status.json.
  Eta CurrentEta() const;

 private:
  struct Statements;
  SqliteStore(std::string path, std::unique_ptr<SQLite::Database> db, bool read_only);

  // Runs `write` inside the pending transaction (opened here if needed); a failure is recorded
  // and surfaces at the next Commit().
  template <typename WriteFn>
  void Write(WriteFn&& write);
  void Fail(const std::string& message);
  void PrepareWrites();
  // Tasks and Attempts, of one task when `id`/`task` is not null.
  std::vector<StoredTask> ReadTasks(const std::string& run, const std::string* id);
  std::vector<AttemptRecord> ReadAttempts(const std::string& run, const std::string* task);
  void MaybeWriteStatus();
  // False with `err` when the state folder or state.db was removed or replaced.
  bool StillInPlace(std::string* err) const;

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  bool read_only_;
  std::unique_ptr<Statements> sql_;  // prepared once, reused for every write
  std::string run_id_;
  bool in_transaction_ = false;
  bool failed_ = false;
  double touched_at_ = -1e9;  // CLOCK_MONOTONIC of the last update of runs.updated_at
  std::string error_;

  std::string succeeded_task_;  // of the last attempt recorded as succeeded, and its run time
  double succeeded_seconds_ = 0;

  std::shared_ptr<const Folder> state_;
  dev_t db_device_ = 0;  // of state.db as opened
  ino_t db_inode_ = 0;
  std::string status_path_;
  bool status_due_ = false;          // the next commit writes status.json whatever its age
  bool finish_pending_ = false;      // kRunFinished written, not yet committed
  bool finished_ = false;            // kRunFinished committed: status.json is final
  double status_written_at_ = -1e9;  // CLOCK_MONOTONIC
  double status_interval_ = 0.5;     // longer when building the status takes long
  bool status_error_reported_ = false;
  EtaHistory eta_history_;  // read at the first status.json or ObservedSeconds
  Eta eta_;                 // of the last status.json
  double eta_at_ = 0;       // CLOCK_MONOTONIC
};

}  // namespace mex
