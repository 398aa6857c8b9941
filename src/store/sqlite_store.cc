#include "store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "engine/events.h"
#include "store/state_db.h"
#include "store/status.h"
#include "util/clock.h"

namespace mex {

namespace {

constexpr double kStatusIntervalS = 0.5;
// status.json may take this share of the engine's time at most: the status of a huge run, which
// takes longer to build, is written less often than every kStatusIntervalS.
constexpr double kStatusShare = 0.05;

// Binds what an agent reported, or NULL for -1 (nothing reported).
template <typename T>
void BindReported(SQLite::Statement& statement, int index, T value) {
  if (value >= 0) {
    statement.bind(index, value);
  } else {
    statement.bind(index);
  }
}

// Makes a statement ready to be bound and run again. The hot writes bind their strings without a
// copy (bindNoCopy): every parameter is bound again before each run, and Run() resets the
// statement before the strings go.
SQLite::Statement& Fresh(SQLite::Statement& statement) {
  statement.tryReset();
  return statement;
}

void Run(SQLite::Statement& statement) {
  statement.exec();
  statement.tryReset();
}

}  // namespace

std::string MilestoneKey(const std::string& file) {
  return std::filesystem::absolute(file).lexically_normal().string();
}

struct SqliteStore::Statements {
  explicit Statements(SQLite::Database& db)
      : begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        touch_run(db, "UPDATE runs SET updated_at = ? WHERE id = ?"),
        put_task(db,
                 "INSERT OR REPLACE INTO tasks (run, id, seq, phase, effort, hash, state, "
                 "attempts, stalled, deps, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"),
        task_changed(db,
                     "UPDATE tasks SET state = ?, attempts = ?, stalled = 0, seconds = ? "
                     "WHERE run = ? AND id = ?"),
        task_stalled(db, "UPDATE tasks SET stalled = 1 WHERE run = ? AND id = ?"),
        task_retry_at(db, "UPDATE tasks SET retry_at = ? WHERE run = ? AND id = ?"),
        put_attempt(
            db,
            "INSERT INTO attempts (run, task, n, started_at, ended_at, exit_code, signal, "
            "end_reason, class, reason, log, log_tail, cost_usd, input_tokens, "
            "output_tokens, pgid, start_time, boot_id, duration_s, worktree, base_commit, "
            "result_commit, merge_commit, changed_files) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run, task, n) DO UPDATE SET started_at = excluded.started_at, "
            "ended_at = excluded.ended_at, exit_code = excluded.exit_code, "
            "signal = excluded.signal, end_reason = excluded.end_reason, "
            "class = excluded.class, reason = excluded.reason, log = excluded.log, "
            "log_tail = excluded.log_tail, cost_usd = excluded.cost_usd, "
            "input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, "
            "pgid = excluded.pgid, start_time = excluded.start_time, "
            "boot_id = excluded.boot_id, duration_s = excluded.duration_s, "
            "worktree = excluded.worktree, base_commit = excluded.base_commit, "
            "result_commit = excluded.result_commit, merge_commit = excluded.merge_commit, "
            "changed_files = excluded.changed_files"),
        append_event(db, "INSERT INTO events (run, time, kind, task, body) VALUES (?, ?, ?, ?, ?)"),
        phase_state(db, "UPDATE phases SET state = ? WHERE run = ? AND name = ?"),
        phase_gate(db,
                   "UPDATE phases SET gate_score = ?, gate_min_score = ?, gate_passed = ?, "
                   "gate_detail = ? WHERE run = ? AND idx = ?"),
        run_finished(db, "UPDATE runs SET state = ?, exit_code = ?, ended_at = ? WHERE id = ?"),
        add_usage(db,
                  "UPDATE runs SET cost_usd = cost_usd + ?, input_tokens = input_tokens + ?, "
                  "output_tokens = output_tokens + ? WHERE id = ?") {}

  SQLite::Statement begin, commit, touch_run, put_task, task_changed, task_stalled, task_retry_at,
      put_attempt, append_event, phase_state, phase_gate, run_finished, add_usage;
};

std::unique_ptr<SqliteStore> SqliteStore::Open(const std::string& state_dir, bool read_only,
                                               std::string* err) {
  std::unique_ptr<SQLite::Database> db = OpenStateDb(state_dir, read_only, err);
  if (!db) return nullptr;
  std::string path = StateDbPath(state_dir);
  try {
    std::unique_ptr<SqliteStore> store(new SqliteStore(path, std::move(db), read_only));
    if (!read_only) store->PrepareWrites();
    return store;
  } catch (const SQLite::Exception& e) {
    *err = StateDbError(path, e);
    return nullptr;
  }
}

SqliteStore::SqliteStore(std::string path, std::unique_ptr<SQLite::Database> db, bool read_only)
    : path_(std::move(path)), db_(std::move(db)), read_only_(read_only) {}

SqliteStore::~SqliteStore() {
  sql_.reset();  // statements are finalized before their connection closes
  if (read_only_ || !db_) return;
  try {
    if (in_transaction_) db_->exec("ROLLBACK");
    // Checkpoints the WAL into the file and removes it. Needs the file to itself: when a reader
    // is on it, the file just stays in WAL mode, which is as correct.
    db_->setBusyTimeout(100);
    db_->execAndGet("PRAGMA journal_mode = DELETE");
  } catch (const SQLite::Exception&) {
  }
}

void SqliteStore::PrepareWrites() {
  sql_ = std::make_unique<Statements>(*db_);
}

void SqliteStore::Fail(const std::string& message) {
  if (!failed_) error_ = fmt::format("cannot record the run's state in {}: {}", path_, message);
  failed_ = true;
  if (in_transaction_) {
    in_transaction_ = false;
    try {
      if (sqlite3_get_autocommit(db_->getHandle()) == 0) db_->exec("ROLLBACK");
    } catch (const SQLite::Exception&) {
    }
  }
}

template <typename WriteFn>
void SqliteStore::Write(WriteFn&& write) {
  if (failed_) return;
  if (!sql_) {
    Fail("the state database is open read-only");
    return;
  }
  if (run_id_.empty()) {
    Fail("no run begun");
    return;
  }
  try {
    if (!in_transaction_) {
      Run(sql_->begin);
      in_transaction_ = true;
    }
    write(*sql_);
  } catch (const SQLite::Exception& e) {
    Fail(e.what());
  }
}

namespace {

constexpr const char* kRunColumns =
    "SELECT id, milestone, name, state, timestamp, started_at, exit_code, pid, git_base, "
    "git_head, coalesce(ended_at, 0), cost_usd, input_tokens, output_tokens FROM runs ";

// The first row of `query` (selecting kRunColumns), or nothing.
std::optional<StoredRun> ReadRun(SQLite::Statement& query) {
  if (!query.executeStep()) return std::nullopt;
  StoredRun run;
  run.id = query.getColumn(0).getString();
  run.milestone = query.getColumn(1).getString();
  run.name = query.getColumn(2).getString();
  run.state = query.getColumn(3).getString();
  run.timestamp = query.getColumn(4).getString();
  run.started_at = query.getColumn(5).getDouble();
  run.exit_code = query.isColumnNull(6) ? -1 : query.getColumn(6).getInt();
  run.pid = query.getColumn(7).getInt();
  run.git_base = query.getColumn(8).getString();
  run.git_head = query.getColumn(9).getString();
  run.ended_at = query.getColumn(10).getDouble();
  run.cost_usd = query.getColumn(11).getDouble();
  run.input_tokens = query.getColumn(12).getInt64();
  run.output_tokens = query.getColumn(13).getInt64();
  return run;
}

}  // namespace

std::optional<StoredRun> SqliteStore::LatestRun(const std::string& milestone_key) {
  try {
    SQLite::Statement query(
        *db_, std::string(kRunColumns) + (milestone_key.empty()
                                              ? "ORDER BY seq DESC LIMIT 1"
                                              : "WHERE milestone = ? ORDER BY seq DESC LIMIT 1"));
    if (!milestone_key.empty()) query.bind(1, milestone_key);
    return ReadRun(query);
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    return std::nullopt;
  }
}

std::optional<StoredRun> SqliteStore::FindRun(const std::string& id) {
  try {
    SQLite::Statement query(*db_, std::string(kRunColumns) + "WHERE id = ?");
    query.bind(1, id);
    return ReadRun(query);
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    return std::nullopt;
  }
}

std::vector<StoredTask> SqliteStore::Tasks(const std::string& run) {
  return ReadTasks(run, nullptr);
}

std::optional<StoredTask> SqliteStore::FindTask(const std::string& run, const std::string& id) {
  std::vector<StoredTask> tasks = ReadTasks(run, &id);
  if (tasks.empty()) return std::nullopt;
  return tasks.front();
}

std::vector<StoredTask> SqliteStore::ReadTasks(const std::string& run, const std::string* id) {
  std::vector<StoredTask> tasks;
  try {
    // In key order: no index lookup per row.
    SQLite::Statement query(*db_,
                            id ? "SELECT id, seq, phase, effort, hash, state, attempts, deps, "
                                 "kind FROM tasks WHERE run = ? AND id = ?"
                               : "SELECT id, seq, phase, effort, hash, state, attempts, deps, "
                                 "kind FROM tasks WHERE run = ?");
    query.bind(1, run);
    if (id) query.bind(2, *id);
    while (query.executeStep()) {
      StoredTask& task = tasks.emplace_back();
      task.id = query.getColumn(0).getString();
      task.seq = query.getColumn(1).getUInt();
      task.phase = query.getColumn(2).getUInt();
      task.effort = query.getColumn(3).getDouble();
      task.hash = query.getColumn(4).getString();
      std::string state = query.getColumn(5).getString();
      if (!ParseTaskState(state, &task.state)) {
        error_ = fmt::format("{}: task '{}' has an unknown state '{}'", path_, task.id, state);
        return {};
      }
      task.attempts = query.getColumn(6).getInt();
      task.deps = query.getColumn(7).getString();
      task.kind = query.getColumn(8).getString();
    }
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    return {};
  }
  return tasks;
}

std::vector<AttemptRecord> SqliteStore::Attempts(const std::string& run) {
  return ReadAttempts(run, nullptr);
}

std::vector<AttemptRecord> SqliteStore::TaskAttempts(const std::string& run,
                                                     const std::string& task) {
  return ReadAttempts(run, &task);
}

std::vector<AttemptRecord> SqliteStore::ReadAttempts(const std::string& run,
                                                     const std::string* task) {
  std::vector<AttemptRecord> attempts;
  try {
    SQLite::Statement query(
        *db_, fmt::format("SELECT task, n, started_at, ended_at, exit_code, signal, end_reason, "
                          "class, reason, log, log_tail, coalesce(cost_usd, -1), "
                          "coalesce(input_tokens, -1), coalesce(output_tokens, -1), pgid, "
                          "start_time, boot_id, duration_s, worktree, base_commit, "
                          "result_commit, merge_commit, changed_files FROM attempts "
                          "WHERE run = ? {}ORDER BY task, n",
                          task ? "AND task = ? " : ""));
    query.bind(1, run);
    if (task) query.bind(2, *task);
    while (query.executeStep()) {
      AttemptRecord& a = attempts.emplace_back();
      a.task = query.getColumn(0).getString();
      a.number = query.getColumn(1).getInt();
      a.started_at = query.getColumn(2).getDouble();
      a.ended_at = query.getColumn(3).getDouble();
      a.exit_code = query.getColumn(4).getInt();
      a.signal = query.getColumn(5).getInt();
      a.end = query.getColumn(6).getString();
      a.failure_class = query.getColumn(7).getString();
      a.reason = query.getColumn(8).getString();
      a.log_path = query.getColumn(9).getString();
      a.log_tail = query.getColumn(10).getString();
      a.cost_usd = query.getColumn(11).getDouble();
      a.input_tokens = query.getColumn(12).getInt64();
      a.output_tokens = query.getColumn(13).getInt64();
      a.process.pgid = query.getColumn(14).getInt64();
      a.process.start_time = static_cast<uint64_t>(query.getColumn(15).getInt64());
      a.process.boot_id = query.getColumn(16).getString();
      a.duration_s = query.getColumn(17).getDouble();
      a.worktree = query.getColumn(18).getString();
      a.base_commit = query.getColumn(19).getString();
      a.result_commit = query.getColumn(20).getString();
      a.merge_commit = query.getColumn(21).getString();
      std::string changed = query.getColumn(22).getString();
      for (size_t at = 0, nl; (nl = changed.find('\n', at)) != std::string::npos; at = nl + 1) {
        a.changed_files.push_back(changed.substr(at, nl - at));
      }
    }
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    return {};
  }
  return attempts;
}

bool SqliteStore::ReadStatus(const std::string& run, double now, bool live,
                             nlohmann::ordered_json* status) {
  try {
    *status = mex::ReadStatus(*db_, run, now, live);
    return true;
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
  } catch (const std::exception& e) {
    error_ = fmt::format("{}: {}", path_, e.what());
  }
  return false;
}

void SqliteStore::BeginRun(const StoredRun& run, int jobs) {
  run_id_ = run.id;
  status_due_ = true;
  finish_pending_ = finished_ = false;
  Write([&](Statements&) {
    SQLite::Statement upsert(
        *db_,
        "INSERT INTO runs (id, milestone, name, state, jobs, pid, started_at, timestamp, "
        "updated_at, seq) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, "
        "(SELECT coalesce(max(seq), 0) + 1 FROM runs)) "
        "ON CONFLICT (id) DO UPDATE SET state = 'running', jobs = excluded.jobs, "
        "pid = excluded.pid, updated_at = excluded.updated_at, ended_at = NULL, "
        "exit_code = NULL");
    double now = WallClockSeconds();
    upsert.bind(1, run.id);
    upsert.bind(2, run.milestone);
    upsert.bind(3, run.name);
    upsert.bind(4, jobs);
    upsert.bind(5, static_cast<int>(getpid()));
    upsert.bind(6, run.started_at > 0 ? run.started_at : now);
    upsert.bind(7, run.timestamp);
    upsert.bind(8, now);
    upsert.exec();
  });
}

void SqliteStore::SetIntegration(const std::string& base, const std::string& head) {
  Write([&](Statements&) {
    SQLite::Statement set(*db_, "UPDATE runs SET git_base = ?, git_head = ? WHERE id = ?");
    set.bind(1, base);
    set.bind(2, head);
    set.bind(3, run_id_);
    set.exec();
  });
}

void SqliteStore::IntegrationMoved(const std::string& head) {
  Write([&](Statements&) {
    SQLite::Statement set(*db_, "UPDATE runs SET git_head = ? WHERE id = ?");
    set.bind(1, head);
    set.bind(2, run_id_);
    set.exec();
  });
}

void SqliteStore::SetPhases(const std::vector<PhaseRow>& phases) {
  Write([&](Statements&) {
    SQLite::Statement clear(*db_, "DELETE FROM phases WHERE run = ?");
    clear.bind(1, run_id_);
    clear.exec();
    SQLite::Statement insert(*db_,
                             "INSERT INTO phases (run, idx, name, weight, state, tasks_from) "
                             "VALUES (?, ?, ?, ?, 'pending', ?)");
    for (size_t i = 0; i < phases.size(); ++i) {
      Fresh(insert);
      insert.bind(1, run_id_);
      insert.bind(2, static_cast<int64_t>(i));
      insert.bind(3, phases[i].name);
      insert.bind(4, phases[i].weight);
      insert.bind(5, phases[i].tasks_from);
      insert.exec();
    }
  });
}

InputHashCache SqliteStore::InputHashes(const std::string& workspace) {
  InputHashCache cache;
  try {
    SQLite::Statement query(*db_,
                            "SELECT path, size, mtime_ns, inode, hash, hashed_at_ns FROM "
                            "input_hashes WHERE workspace = ?");
    query.bind(1, workspace);
    while (query.executeStep()) {
      CachedHash& c = cache[query.getColumn(0).getString()];
      c.stamp.size = static_cast<uint64_t>(query.getColumn(1).getInt64());
      c.stamp.mtime_ns = query.getColumn(2).getInt64();
      c.stamp.inode = static_cast<uint64_t>(query.getColumn(3).getInt64());
      c.hash = query.getColumn(4).getString();
      c.hashed_at_ns = query.getColumn(5).getInt64();
    }
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    cache.clear();
  }
  return cache;
}

void SqliteStore::PutInputHashes(const std::string& workspace, const InputHashCache& hashes) {
  if (hashes.empty()) return;
  Write([&](Statements&) {
    SQLite::Statement put(*db_,
                          "INSERT OR REPLACE INTO input_hashes (workspace, path, size, mtime_ns, "
                          "inode, hash, hashed_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const auto& [path, c] : hashes) {
      put.reset();
      put.bind(1, workspace);
      put.bind(2, path);
      put.bind(3, static_cast<int64_t>(c.stamp.size));
      put.bind(4, c.stamp.mtime_ns);
      put.bind(5, static_cast<int64_t>(c.stamp.inode));
      put.bind(6, c.hash);
      put.bind(7, c.hashed_at_ns);
      put.exec();
    }
  });
}

void SqliteStore::PutTask(const StoredTask& task) {
  Write([&](Statements& s) {
    SQLite::Statement& put = Fresh(s.put_task);
    put.bind(1, run_id_);
    put.bind(2, task.id);
    put.bind(3, task.seq);
    put.bind(4, task.phase);
    put.bind(5, task.effort);
    put.bind(6, task.hash);
    put.bind(7, std::string(TaskStateName(task.state)));
    put.bind(8, task.attempts);
    put.bind(9, task.deps);
    put.bind(10, task.kind);
    Run(put);
  });
}

void SqliteStore::SetTaskHash(const std::string& id, const std::string& hash) {
  Write([&](Statements&) {
    SQLite::Statement set(*db_, "UPDATE tasks SET hash = ? WHERE run = ? AND id = ?");
    set.bind(1, hash);
    set.bind(2, run_id_);
    set.bind(3, id);
    set.exec();
  });
}

void SqliteStore::ShiftTasks(uint32_t from, uint32_t by) {
  Write([&](Statements&) {
    SQLite::Statement shift(*db_, "UPDATE tasks SET seq = seq + ? WHERE run = ? AND seq >= ?");
    shift.bind(1, by);
    shift.bind(2, run_id_);
    shift.bind(3, from);
    shift.exec();
  });
}

void SqliteStore::RemoveTask(const std::string& id) {
  Write([&](Statements&) {
    SQLite::Statement remove(*db_, "DELETE FROM tasks WHERE run = ? AND id = ?");
    remove.bind(1, run_id_);
    remove.bind(2, id);
    remove.exec();
  });
}

std::vector<double> SqliteStore::ObservedSeconds(const std::vector<std::string>& ids,
                                                 const std::vector<std::string>& hashes) {
  std::vector<double> seconds;
  try {
    if (!eta_history_.loaded) eta_history_ = ReadEtaHistory(*db_, run_id_);
  } catch (const std::exception&) {
    return seconds;  // ordered by effort, as without a history
  }
  if (eta_history_.by_id.empty() && eta_history_.by_hash.empty()) return seconds;
  seconds.reserve(ids.size());
  for (size_t t = 0; t < ids.size(); ++t) {
    seconds.push_back(eta_history_.Seconds(ids[t], t < hashes.size() ? hashes[t] : ""));
  }
  return seconds;
}

// An attempt left without an end belongs to a task recorded running: the engine records the
// attempt's start with the task's state, and its end with the task's next state, in one
// transaction. Looking through the running tasks reads their few rows, not every attempt's.
std::vector<AttemptRecord> SqliteStore::MarkInterrupted(double now) {
  std::vector<AttemptRecord> attempts;
  Write([&](Statements&) {
    SQLite::Statement left(*db_,
                           "SELECT task, n, started_at, log, pgid, start_time, boot_id, worktree "
                           "FROM attempts "
                           "WHERE run = ?1 AND end_reason = '' AND task IN "
                           "(SELECT id FROM tasks WHERE run = ?1 AND state = 'running')");
    left.bind(1, run_id_);
    while (left.executeStep()) {
      AttemptRecord a;
      a.task = left.getColumn(0).getString();
      a.number = left.getColumn(1).getInt();
      a.started_at = left.getColumn(2).getDouble();
      a.log_path = left.getColumn(3).getString();
      a.process.pgid = left.getColumn(4).getInt64();
      a.process.start_time = static_cast<uint64_t>(left.getColumn(5).getInt64());
      a.process.boot_id = left.getColumn(6).getString();
      a.worktree = left.getColumn(7).getString();
      attempts.push_back(std::move(a));
    }
    SQLite::Statement end(*db_,
                          "UPDATE attempts SET end_reason = 'interrupted', ended_at = ?1, "
                          "reason = 'the engine stopped while it ran' "
                          "WHERE run = ?2 AND end_reason = '' AND task IN "
                          "(SELECT id FROM tasks WHERE run = ?2 AND state = 'running')");
    end.bind(1, now);
    end.bind(2, run_id_);
    end.exec();
    SQLite::Statement reset(*db_,
                            "UPDATE tasks SET state = 'pending', stalled = 0 WHERE run = ? AND "
                            "state IN ('running', 'ready', 'retry_wait')");
    reset.bind(1, run_id_);
    reset.exec();
  });
  return attempts;
}

void SqliteStore::SetRunFiles(std::shared_ptr<const Folder> state, std::string status_path) {
  state_ = std::move(state);
  status_path_ = std::move(status_path);
  status_due_ = true;
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0) {
    db_device_ = st.st_dev;
    db_inode_ = st.st_ino;
  }
}

bool SqliteStore::StillInPlace(std::string* err) const {
  if (!state_) return true;
  if (!state_->StillInPlace(err)) return false;
  struct stat st {};
  if (lstat(path_.c_str(), &st) != 0 || st.st_dev != db_device_ || st.st_ino != db_inode_) {
    *err = fmt::format("{} was removed or replaced while mex ran", path_);
    return false;
  }
  return true;
}

void SqliteStore::TaskChanged(const std::string& task, TaskState state, int attempts) {
  // A ready task is recorded as what it was (pending, or waiting for a retry): after a crash it
  // is pending again either way, and not writing it saves a row update per task.
  if (state == TaskState::kReady) return;
  double seconds =
      state == TaskState::kSucceeded && task == succeeded_task_ ? succeeded_seconds_ : 0;
  Write([&](Statements& s) {
    SQLite::Statement& update = Fresh(s.task_changed);
    update.bindNoCopy(1, TaskStateName(state).data());
    update.bind(2, attempts);
    update.bind(3, seconds);
    update.bindNoCopy(4, run_id_);
    update.bindNoCopy(5, task);
    Run(update);
  });
}

void SqliteStore::AttemptChanged(const AttemptRecord& a) {
  if (a.ended_at > 0 && a.end == "exited" && a.failure_class.empty()) {
    succeeded_task_ = a.task;  // the task runner records the task's success right after
    // Its run time on the monotonic clock when known: the wall clock may have jumped meanwhile.
    succeeded_seconds_ = a.duration_s >= 0 ? a.duration_s : a.ended_at - a.started_at;
  }
  Write([&](Statements& s) {
    SQLite::Statement& put = Fresh(s.put_attempt);
    put.bindNoCopy(1, run_id_);
    put.bindNoCopy(2, a.task);
    put.bind(3, a.number);
    put.bind(4, a.started_at);
    put.bind(5, a.ended_at);
    put.bind(6, a.exit_code);
    put.bind(7, a.signal);
    put.bindNoCopy(8, a.end);
    put.bindNoCopy(9, a.failure_class);
    put.bindNoCopy(10, a.reason);
    put.bindNoCopy(11, a.log_path);
    put.bindNoCopy(12, a.log_tail);
    BindReported(put, 13, a.cost_usd);
    BindReported(put, 14, a.input_tokens);
    BindReported(put, 15, a.output_tokens);
    put.bind(16, a.process.pgid);
    put.bind(17, static_cast<int64_t>(a.process.start_time));
    put.bindNoCopy(18, a.process.boot_id);
    put.bind(19, a.duration_s);
    put.bindNoCopy(20, a.worktree);
    put.bindNoCopy(21, a.base_commit);
    put.bindNoCopy(22, a.result_commit);
    put.bindNoCopy(23, a.merge_commit);
    std::string changed;
    for (const std::string& path : a.changed_files) changed += path + "\n";
    put.bind(24, changed);
    Run(put);
    // An attempt's end is recorded once, and only an end carries what the agent reported.
    if (a.cost_usd >= 0 || a.input_tokens >= 0 || a.output_tokens >= 0) {
      SQLite::Statement& add = Fresh(s.add_usage);
      add.bind(1, std::max(a.cost_usd, 0.0));
      add.bind(2, std::max<int64_t>(a.input_tokens, 0));
      add.bind(3, std::max<int64_t>(a.output_tokens, 0));
      add.bindNoCopy(4, run_id_);
      Run(add);
    }
  });
}

void SqliteStore::GateScored(size_t phase, const GateRecord& gate) {
  Write([&](Statements& s) {
    SQLite::Statement& update = Fresh(s.phase_gate);
    update.bind(1, gate.score);
    update.bind(2, gate.min_score);
    update.bind(3, gate.passed ? 1 : 0);
    update.bindNoCopy(4, gate.detail);
    update.bindNoCopy(5, run_id_);
    update.bind(6, static_cast<int64_t>(phase));
    Run(update);
  });
  status_due_ = true;
}

std::vector<StoredPhase> SqliteStore::Phases(const std::string& run) {
  std::vector<StoredPhase> phases;
  try {
    SQLite::Statement query(*db_,
                            "SELECT name, weight, state, gate_score, gate_min_score, gate_passed, "
                            "gate_detail FROM phases WHERE run = ? ORDER BY idx");
    query.bind(1, run);
    while (query.executeStep()) {
      StoredPhase& p = phases.emplace_back();
      p.name = query.getColumn(0).getString();
      p.weight = query.getColumn(1).getDouble();
      p.state = query.getColumn(2).getString();
      p.scored = !query.isColumnNull(3);
      if (p.scored) {
        p.gate.score = query.getColumn(3).getDouble();
        p.gate.min_score = query.getColumn(4).getDouble();
        p.gate.passed = query.getColumn(5).getInt() != 0;
        p.gate.detail = query.getColumn(6).getString();
      }
    }
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    return {};
  }
  return phases;
}

std::vector<StoredEvent> SqliteStore::Events(const std::string& run) {
  std::vector<StoredEvent> events;
  try {
    SQLite::Statement query(
        *db_, "SELECT time, kind, coalesce(task, ''), body FROM events WHERE run = ? ORDER BY seq");
    query.bind(1, run);
    while (query.executeStep()) {
      StoredEvent& e = events.emplace_back();
      e.time = query.getColumn(0).getDouble();
      e.kind = query.getColumn(1).getString();
      e.task = query.getColumn(2).getString();
      e.body = query.getColumn(3).getString();
    }
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    return {};
  }
  return events;
}

double SqliteStore::SpentUsd(const std::string& run) {
  try {
    SQLite::Statement query(*db_, "SELECT cost_usd FROM runs WHERE id = ?");
    query.bind(1, run);
    return query.executeStep() ? query.getColumn(0).getDouble() : 0;
  } catch (const SQLite::Exception& e) {
    error_ = StateDbError(path_, e);
    return 0;
  }
}

void SqliteStore::Append(const Event& event) {
  Write([&](Statements& s) {
    SQLite::Statement& append = Fresh(s.append_event);
    append.bindNoCopy(1, run_id_);
    append.bind(2, event.time);
    append.bindNoCopy(3, EventKindName(event.kind).data());
    if (event.task.empty()) {
      append.bind(4);
    } else {
      append.bindNoCopy(4, event.task);
    }
    std::string body = EventToJson(event).dump();
    append.bindNoCopy(5, body);
    Run(append);
    switch (event.kind) {
      case EventKind::kPhaseStarted:
      case EventKind::kPhaseFinished: {
        SQLite::Statement& phase = Fresh(s.phase_state);
        bool started = event.kind == EventKind::kPhaseStarted;
        phase.bind(1, started ? "running" : event.passed ? "passed" : "failed");
        phase.bindNoCopy(2, run_id_);
        phase.bindNoCopy(3, event.phase);
        Run(phase);
        status_due_ = true;
        break;
      }
      case EventKind::kTaskStalled: {
        SQLite::Statement& stalled = Fresh(s.task_stalled);
        stalled.bindNoCopy(1, run_id_);
        stalled.bindNoCopy(2, event.task);
        Run(stalled);
        break;
      }
      case EventKind::kTaskRetry: {  // when its backoff ends, for the estimate of the time left
        SQLite::Statement& retry_at = Fresh(s.task_retry_at);
        retry_at.bind(1, event.time + event.delay_s);
        retry_at.bindNoCopy(2, run_id_);
        retry_at.bindNoCopy(3, event.task);
        Run(retry_at);
        break;
      }
      case EventKind::kRunFinished: {
        SQLite::Statement& finished = Fresh(s.run_finished);
        finished.bindNoCopy(1, event.reason);
        finished.bind(2, event.exit_code);
        finished.bind(3, event.time);
        finished.bindNoCopy(4, run_id_);
        Run(finished);
        status_due_ = true;
        finish_pending_ = true;
        break;
      }
      default:
        break;
    }
  });
}

bool SqliteStore::Commit() {
  if (failed_) return false;
  // Three stats a commit (the folder held, its path, state.db): a run must not go on, or report
  // success, in a folder that is gone.
  if (std::string err; !StillInPlace(&err)) {
    Fail(err);
    return false;
  }
  if (in_transaction_) {
    try {
      // runs.updated_at: when the engine last recorded something, to within kStatusIntervalS
      // (not at every commit: that would write one more page each time).
      double now = MonotonicSeconds();
      if (now >= touched_at_ + kStatusIntervalS) {
        SQLite::Statement& touch = Fresh(sql_->touch_run);
        touch.bind(1, WallClockSeconds());
        touch.bindNoCopy(2, run_id_);
        Run(touch);
        touched_at_ = now;
      }
      Run(sql_->commit);
      in_transaction_ = false;
    } catch (const SQLite::Exception& e) {
      Fail(e.what());
      return false;
    }
    if (finish_pending_) finished_ = true;
  }
  if (!status_path_.empty()) MaybeWriteStatus();
  return true;
}

void SqliteStore::MaybeWriteStatus() {
  if (run_id_.empty() || in_transaction_ || (finished_ && !status_due_)) return;
  double now = MonotonicSeconds();
  if (!status_due_ && now < status_written_at_ + status_interval_) return;
  status_due_ = false;
  status_written_at_ = now;
  std::string err;
  try {
    nlohmann::ordered_json status =
        mex::ReadStatus(*db_, run_id_, WallClockSeconds(), true, &eta_history_, &eta_);
    eta_at_ = now;
    // No fsync: readers see a whole file either way (rename), and after a power cut the next
    // session rewrites it from the database.
    bool written =
        state_->WriteAtomically(status_path_, status.dump(2) + "\n", &err, {.sync = false});
    status_interval_ = std::max(kStatusIntervalS, (MonotonicSeconds() - now) / kStatusShare);
    if (written) return;
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (!status_error_reported_) {
    fmt::print(stderr, "mex: warning: cannot update {}: {}\n", status_path_, err);
    status_error_reported_ = true;
  }
}

Eta SqliteStore::CurrentEta() const {
  Eta eta = eta_;
  if (!eta.known) return eta;
  double since = std::max(0.0, MonotonicSeconds() - eta_at_);
  eta.seconds = std::max(0.0, eta.seconds - since);
  eta.low = std::max(0.0, eta.low - since);
  eta.high = std::max(0.0, eta.high - since);
  return eta;
}

double SqliteStore::RefreshIn() const {
  if (status_path_.empty() || run_id_.empty() || finished_) return -1;
  if (status_due_) return 0;
  return std::max(0.0, status_written_at_ + status_interval_ - MonotonicSeconds());
}

}  // namespace mex
