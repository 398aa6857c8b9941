#include "store/state_db.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>

namespace mex {

namespace {

constexpr int kStateDbPageSize = 2048;

// Script i takes the schema from version i to i + 1. Never edit a script once released: add one.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  milestone TEXT NOT NULL,  -- MilestoneKey of the milestone file
  name TEXT NOT NULL,       -- the milestone's id
  state TEXT NOT NULL,      -- running, succeeded, failed, interrupted
  jobs INTEGER,
  pid INTEGER,
  started_at REAL NOT NULL,  -- seconds since the Unix epoch
  timestamp TEXT NOT NULL,   -- ISO 8601 of started_at: the run's {{timestamp}}
  updated_at REAL,
  ended_at REAL,
  exit_code INTEGER
);
CREATE INDEX runs_by_milestone ON runs (milestone, started_at);

CREATE TABLE phases (
  run TEXT NOT NULL,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  weight REAL NOT NULL,
  state TEXT NOT NULL,  -- pending, running, passed, failed
  gate_score REAL,
  gate_min_score REAL,
  gate_passed INTEGER,
  gate_detail TEXT,
  PRIMARY KEY (run, idx)
);

CREATE TABLE tasks (
  run TEXT NOT NULL,
  id TEXT NOT NULL,
  seq INTEGER NOT NULL,    -- position in the file
  phase INTEGER NOT NULL,  -- phases.idx
  effort REAL NOT NULL,
  hash TEXT NOT NULL,      -- of the task's definition
  state TEXT NOT NULL,     -- TaskStateName
  attempts INTEGER NOT NULL,
  stalled INTEGER NOT NULL DEFAULT 0,
  seconds REAL NOT NULL DEFAULT 0,  -- run time of the attempt that succeeded (for the ETA)
  PRIMARY KEY (run, id)
) WITHOUT ROWID;
CREATE INDEX tasks_by_seq ON tasks (run, seq);

CREATE TABLE attempts (
  run TEXT NOT NULL,
  task TEXT NOT NULL,
  n INTEGER NOT NULL,
  started_at REAL NOT NULL,
  ended_at REAL NOT NULL,       -- 0 while running
  exit_code INTEGER NOT NULL,
  signal INTEGER NOT NULL,
  end_reason TEXT NOT NULL,     -- AttemptRecord::end; '' while running
  class TEXT NOT NULL,
  reason TEXT NOT NULL,
  log TEXT NOT NULL,
  log_tail TEXT NOT NULL,
  PRIMARY KEY (run, task, n)
) WITHOUT ROWID;

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  run TEXT NOT NULL,
  time REAL NOT NULL,
  kind TEXT NOT NULL,
  task TEXT,
  body TEXT NOT NULL  -- the event as `mex run --json` prints it
);
)sql",
    // 2: what an agent reported of its cost and usage, per attempt (NULL: nothing reported).
    R"sql(
ALTER TABLE attempts ADD COLUMN cost_usd REAL;
ALTER TABLE attempts ADD COLUMN input_tokens INTEGER;
ALTER TABLE attempts ADD COLUMN output_tokens INTEGER;
ALTER TABLE runs ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;  -- the sums over its attempts
ALTER TABLE runs ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: the process group an attempt ran as (ProcessRef; 0 and '': it never ran, or an older mex
    // ran it) and how long it ran (-1: unknown); the order in which runs were created, which
    // decides the latest run whatever the wall clock said. The runs there are take their rowid (the
    // order of their insertion), a new run max(seq) + 1: a rowid itself may change at a VACUUM.
    R"sql(
ALTER TABLE attempts ADD COLUMN pgid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN start_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN duration_s REAL NOT NULL DEFAULT -1;
ALTER TABLE runs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET seq = rowid;
CREATE INDEX runs_by_seq ON runs (seq);
CREATE INDEX runs_by_milestone_seq ON runs (milestone, seq);
)sql",
    // 4: worktrees (workspace: worktree, docs/worktrees.md): per attempt its worktree, the commit
    // it started from, the commit of its changes, the files it changed and the integration head
    // once merged; per run
    // the commit its integration branch started from and its head as last recorded.
    R"sql(
ALTER TABLE attempts ADD COLUMN worktree TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN base_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN result_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN merge_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN changed_files TEXT NOT NULL DEFAULT '';  -- one path per line
ALTER TABLE runs ADD COLUMN git_base TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN git_head TEXT NOT NULL DEFAULT '';
)sql",
    // 5: what the estimate of the time left needs (model/eta.h): per task the ids of its deps
    // (one per line), its kind (the agent it runs; '' for a command) and, while it waits to
    // retry, when its backoff ends; per phase the task whose artifact gives its tasks
    // (tasks_from; '' for none).
    R"sql(
ALTER TABLE tasks ADD COLUMN deps TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN retry_at REAL NOT NULL DEFAULT 0;
ALTER TABLE phases ADD COLUMN tasks_from TEXT NOT NULL DEFAULT '';
)sql",
    // 6: the content hashes of tasks' inputs (engine/inputs.h) by workspace and path, with the
    // size, mtime and inode the file had: a no-op run reads no input whose stamp is unchanged.
    R"sql(
CREATE TABLE input_hashes (
  workspace TEXT NOT NULL,
  path TEXT NOT NULL,  -- relative to the workspace
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  hash TEXT NOT NULL,
  hashed_at_ns INTEGER NOT NULL,
  PRIMARY KEY (workspace, path)
) WITHOUT ROWID;
)sql",
    // 7: a run's task_queued events, which the estimate of the time left of a run with tasks on
    // a cluster reads at every status write (store/status.cc, AddQueueWaits): found by index
    // instead of a scan of every run's events. Partial: no other event gets an entry, so a run of
    // local tasks writes nothing more.
    R"sql(
CREATE INDEX events_queued ON events (run) WHERE kind = 'task_queued';
)sql",
};
static_assert(std::size(kMigrations) == kStateDbSchemaVersion);

// What the first page of the file says it is.
struct Header {
  int application_id = 0;
  int version = 0;
  int objects = 0;  // tables, indexes, views, triggers
};

Header ReadHeader(SQLite::Database& db) {
  Header h;
  h.application_id = db.execAndGet("PRAGMA application_id").getInt();
  h.version = db.execAndGet("PRAGMA user_version").getInt();
  h.objects = db.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
  return h;
}

bool IsFresh(const Header& h) {
  return h.application_id == 0 && h.version == 0 && h.objects == 0;
}

// Why the file cannot be used as a mex state database, or "".
std::string Refusal(const std::string& path, const Header& h) {
  if (IsFresh(h)) return "";
  if (h.application_id != kStateDbApplicationId) {
    return fmt::format("{} is not a mex state database", path);
  }
  if (h.version > kStateDbSchemaVersion) {
    return fmt::format("{} was written by a newer mex (schema {}; this mex reads up to {})", path,
                       h.version, kStateDbSchemaVersion);
  }
  return "";
}

std::string Damaged(const std::string& path, const std::string& what) {
  return fmt::format(
      "{}: cannot read the state database: {}; it is damaged — move it away to start afresh", path,
      what);
}

// PRAGMA quick_check: every b-tree page of every table and index is read and its structure
// checked (not the indexes against their tables: that is integrity_check, and costs more).
// Returns a refusal, or "".
std::string QuickCheck(const std::string& path, SQLite::Database& db) {
  SQLite::Statement check(db, "PRAGMA quick_check(1)");
  if (!check.executeStep() || check.getColumn(0).getString() == "ok") return "";
  return Damaged(path, sqlite3_errstr(SQLITE_CORRUPT));
}

std::string NoRunRecorded(const std::string& state_dir) {
  return fmt::format("no run recorded in {} (start one with `mex run FILE`)", state_dir);
}

// Takes the schema from its version to kStateDbSchemaVersion in one transaction. Returns a
// refusal, or "": another mex may have changed the file since it was first read, so it is read
// again under the write lock.
std::string Migrate(const std::string& path, SQLite::Database& db) {
  SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  Header h = ReadHeader(db);
  if (std::string refusal = Refusal(path, h); !refusal.empty()) return refusal;
  if (h.version == kStateDbSchemaVersion) return "";
  for (int v = h.version; v < kStateDbSchemaVersion; ++v) db.exec(kMigrations[v]);
  db.exec(fmt::format("PRAGMA application_id = {}", kStateDbApplicationId));
  db.exec(fmt::format("PRAGMA user_version = {}", kStateDbSchemaVersion));
  transaction.commit();
  return "";
}

// Creates `path` 0600 whatever the umask, unless it exists; never through a symlink.
bool CreateDatabaseFile(const std::string& path, std::string* err) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    *err = fmt::format("cannot create {}: {}", path, std::strerror(errno));
    return false;
  }
  if (fd >= 0) close(fd);
  return true;
}

}  // namespace

std::string StateDbPath(const std::string& state_dir) {
  return state_dir + "/state.db";
}

std::string StateDbError(const std::string& path, const SQLite::Exception& e) {
  int code = e.getErrorCode() & 0xff;
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) return Damaged(path, e.what());
  return fmt::format("{}: cannot read the state database: {}", path, e.what());
}

std::unique_ptr<SQLite::Database> OpenStateDb(const std::string& state_dir, bool read_only,
                                              std::string* err) {
  std::string path = StateDbPath(state_dir);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) {
      *err = fmt::format("cannot read {}: {}", path, std::strerror(errno));
      return nullptr;
    }
    if (read_only) {
      *err = NoRunRecorded(state_dir);
      return nullptr;
    }
    if (!CreateDatabaseFile(path, err)) return nullptr;
  } else if (S_ISLNK(st.st_mode)) {
    *err = fmt::format("{} is a symlink; refusing to open it", path);
    return nullptr;
  } else if (!S_ISREG(st.st_mode)) {
    *err = fmt::format("{} is not a mex state database", path);
    return nullptr;
  }
  // SQLite refuses these through a symlink too (OPEN_NOFOLLOW), but only as "unable to open".
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    if (lstat((path + suffix).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      *err = fmt::format("{}{} is a symlink; refusing to open {}", path, suffix, path);
      return nullptr;
    }
  }
  try {
    // Never OPEN_CREATE: a read-only open must create nothing, and a read-write one made the file
    // above with the mode it must have.
    // The file is read and checked through a read-only connection first: a file refused is left
    // byte for byte as it was. (A read-write connection puts it in WAL mode, and the store's close
    // back in rollback mode: that bumps the change counter and version-valid-for of its header.)
    auto db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READONLY | SQLite::OPEN_NOFOLLOW | SQLite::OPEN_NOMUTEX,
        /*busy timeout ms=*/5000);
    Header header = ReadHeader(*db);
    std::string refusal = Refusal(path, header);
    if (refusal.empty() && !IsFresh(header)) refusal = QuickCheck(path, *db);
    if (!refusal.empty()) {
      *err = refusal;
      return nullptr;
    }
    if (read_only) {
      if (IsFresh(header)) {
        *err = NoRunRecorded(state_dir);
        return nullptr;
      }
      if (header.version < kStateDbOldestReadable) {
        *err = fmt::format("{} was written by an older mex (schema {}); `mex run` upgrades it",
                           path, header.version);
        return nullptr;
      }
    } else {
      // WAL: readers (`mex status`) read while the engine writes. synchronous=NORMAL syncs the
      // WAL at checkpoints, not at each commit: a committed transaction survives the engine being
      // killed (kill -9 too: it is in the file, through the OS), which is what mex promises; on
      // a power loss or kernel crash the last commits may be lost, but never the file's
      // consistency.
      db = std::make_unique<SQLite::Database>(
          path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOFOLLOW | SQLite::OPEN_NOMUTEX,
          /*busy timeout ms=*/5000);
      // A new file gets 2 KB pages (an existing one keeps its own): each commit writes every page
      // it changed whole to the WAL, and an attempt's start and end change a few rows of as many
      // tables: 19.5 KB of WAL per task of `true` with 4 KB pages, 12.5 KB with 2 KB (and 11.4
      // writes instead of 9.2), 9.0 KB with 1 KB (15.9 writes; overflow pages, deeper trees).
      db->exec(fmt::format("PRAGMA page_size = {}", kStateDbPageSize));
      db->execAndGet("PRAGMA journal_mode = WAL");
      db->exec("PRAGMA synchronous = NORMAL");
      if (refusal = Migrate(path, *db); !refusal.empty()) {
        *err = refusal;
        return nullptr;
      }
    }
    return db;
  } catch (const SQLite::Exception& e) {
    *err = StateDbError(path, e);
    return nullptr;
  }
}

}  // namespace mex
