// Tests of the state database: schema and refusals (the file is never changed by a refusal),
// group commit, the run setup API, and status.json's timing. Each test has its own mkdtemp
// folder.
#include "store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "store/state_db.h"
#include "tests/test_util.h"
#include "util/clock.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFile;
using testing_util::TempDir;
using testing_util::WriteFile;

std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string StateDir() const { return dir_.path().string(); }
  std::string DbPath() const { return (dir_.path() / "state.db").string(); }

  std::unique_ptr<SqliteStore> Open(bool read_only = false) {
    std::string err;
    auto store = SqliteStore::Open(StateDir(), read_only, &err);
    EXPECT_TRUE(store) << err;
    return store;
  }
  // The error of an open that must fail.
  std::string OpenError(bool read_only = false) {
    std::string err;
    auto store = SqliteStore::Open(StateDir(), read_only, &err);
    EXPECT_FALSE(store);
    return err;
  }
  // A second connection, as another process would have.
  SQLite::Database Raw(int flags = SQLite::OPEN_READONLY) const {
    return SQLite::Database(DbPath(), flags);
  }

  static StoredRun Run(const std::string& id, const std::string& milestone, double started_at) {
    StoredRun run;
    run.id = id;
    run.milestone = milestone;
    run.name = fs::path(milestone).stem().string();
    run.timestamp = "2026-01-01T00:00:00Z";
    run.started_at = started_at;
    return run;
  }
  static StoredTask Task(const std::string& id, uint32_t seq, TaskState state = TaskState::kPending,
                         int attempts = 0) {
    return StoredTask{id, seq, 0, 1.0, "h-" + id, state, attempts, "", ""};
  }
  static Event PhaseEvent(EventKind kind, const std::string& phase, bool passed = false) {
    Event event(kind);
    event.phase = phase;
    event.passed = passed;
    return event;
  }

  // Takes a file of the current schema back to schema 6: without what migration 7 added.
  static void DowngradeToSchemaSix(SQLite::Database& raw) {
    raw.exec("DROP INDEX events_queued");
    raw.exec("PRAGMA user_version = 6");
  }

  // Takes a file of the current schema back to schema 5: without what migrations 6 and 7 added.
  static void DowngradeToSchemaFive(SQLite::Database& raw) {
    DowngradeToSchemaSix(raw);
    raw.exec("DROP TABLE input_hashes");
    raw.exec("PRAGMA user_version = 5");
  }

  // Takes a file of the current schema back to schema 4: without what migrations 5 to 7 added.
  static void DowngradeToSchemaFour(SQLite::Database& raw) {
    DowngradeToSchemaFive(raw);
    for (const char* column : {"deps", "kind", "retry_at"}) {
      raw.exec(fmt::format("ALTER TABLE tasks DROP COLUMN {}", column));
    }
    raw.exec("ALTER TABLE phases DROP COLUMN tasks_from");
    raw.exec("PRAGMA user_version = 4");
  }

  // Takes a file of the current schema back to schema 3: without what migrations 4 and 5 added.
  static void DowngradeToSchemaThree(SQLite::Database& raw) {
    DowngradeToSchemaFour(raw);
    for (const char* column :
         {"worktree", "base_commit", "result_commit", "merge_commit", "changed_files"}) {
      raw.exec(fmt::format("ALTER TABLE attempts DROP COLUMN {}", column));
    }
    raw.exec("ALTER TABLE runs DROP COLUMN git_base");
    raw.exec("ALTER TABLE runs DROP COLUMN git_head");
    raw.exec("PRAGMA user_version = 3");
  }

  // Takes a file of the current schema back to schema 2: without what migrations 3 and 4 added.
  static void DowngradeToSchemaTwo(SQLite::Database& raw) {
    DowngradeToSchemaThree(raw);
    raw.exec("DROP INDEX runs_by_seq");
    raw.exec("DROP INDEX runs_by_milestone_seq");
    raw.exec("ALTER TABLE runs DROP COLUMN seq");
    for (const char* column : {"pgid", "start_time", "boot_id", "duration_s"}) {
      raw.exec(fmt::format("ALTER TABLE attempts DROP COLUMN {}", column));
    }
    raw.exec("PRAGMA user_version = 2");
  }

  // Overwrites page `page` (1-based) of state.db but its first 8 bytes with garbage, as a bad
  // sector or a stray write would.
  void DamagePage(int64_t page) {
    int64_t page_size = Raw().execAndGet("PRAGMA page_size").getInt64();
    std::string bytes = ReadFile(DbPath());
    ASSERT_LE(page * page_size, static_cast<int64_t>(bytes.size()));
    for (int64_t i = (page - 1) * page_size + 8; i < page * page_size; ++i) {
      bytes[static_cast<size_t>(i)] = static_cast<char>(0xa5 ^ (i & 0xff));
    }
    WriteFile(DbPath(), bytes);
  }
  int64_t RootPage(const std::string& table) {
    SQLite::Database raw = Raw();
    SQLite::Statement query(raw, "SELECT rootpage FROM sqlite_master WHERE name = ?");
    query.bind(1, table);
    EXPECT_TRUE(query.executeStep()) << table;
    return query.getColumn(0).getInt64();
  }

  TempDir dir_;
};

TEST_F(SqliteStoreTest, FreshDatabaseGetsSchemaWalAndMode0600) {
  mode_t old_umask = umask(0);  // the mode must not depend on it
  auto store = Open();
  umask(old_umask);
  ASSERT_TRUE(store);
  struct stat st {};
  ASSERT_EQ(stat(DbPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  SQLite::Database raw = Raw();
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), kStateDbSchemaVersion);
  EXPECT_EQ(raw.execAndGet("PRAGMA application_id").getInt(), kStateDbApplicationId);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
  for (const char* table : {"runs", "phases", "tasks", "attempts", "events"}) {
    EXPECT_TRUE(raw.tableExists(table)) << table;
  }
}

TEST_F(SqliteStoreTest, ReopenKeepsRows) {
  {
    auto store = Open();
    store->BeginRun(Run("r1", "/w/m.yaml", 100), 4);
    store->SetPhases({{"design", 15, ""}, {"execute", 85, ""}});
    store->PutTask(Task("a", 0, TaskState::kSucceeded, 1));
    store->PutTask(Task("b", 1));
    AttemptRecord attempt;
    attempt.task = "a";
    attempt.number = 1;
    attempt.started_at = 100;
    attempt.ended_at = 101;
    attempt.exit_code = 0;
    attempt.end = "exited";
    attempt.log_path = "/w/.mex/runs/r1/logs/a/1.log";
    attempt.log_tail = "tail";
    store->AttemptChanged(attempt);
    ASSERT_TRUE(store->Commit()) << store->error();
  }
  auto store = Open();
  std::optional<StoredRun> run = store->LatestRun("/w/m.yaml");
  ASSERT_TRUE(run);
  EXPECT_EQ(run->id, "r1");
  EXPECT_EQ(run->name, "m");
  EXPECT_EQ(run->state, "running");
  EXPECT_EQ(run->pid, getpid());
  EXPECT_EQ(run->exit_code, -1);
  std::vector<StoredTask> tasks = store->Tasks("r1");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].id, "a");
  EXPECT_EQ(tasks[0].state, TaskState::kSucceeded);
  EXPECT_EQ(tasks[0].attempts, 1);
  EXPECT_EQ(tasks[0].hash, "h-a");
  EXPECT_EQ(tasks[1].id, "b");
  std::vector<AttemptRecord> attempts = store->Attempts("r1");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].end, "exited");
  EXPECT_EQ(attempts[0].log_tail, "tail");
  EXPECT_EQ(attempts[0].log_path, "/w/.mex/runs/r1/logs/a/1.log");
  EXPECT_EQ(store->error(), "");
}

TEST_F(SqliteStoreTest, CostAndUsageAreRecordedAndSummedPerRun) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  store->PutTask(Task("a", 0));
  AttemptRecord attempt;
  attempt.task = "a";
  attempt.number = 1;
  attempt.started_at = 100;
  store->AttemptChanged(attempt);  // its start: nothing reported yet
  attempt.ended_at = 101;
  attempt.end = "exited";
  attempt.cost_usd = 0.25;
  attempt.input_tokens = 100;
  attempt.output_tokens = 20;
  store->AttemptChanged(attempt);
  attempt.number = 2;
  attempt.cost_usd = 0.5;
  store->AttemptChanged(attempt);
  ASSERT_TRUE(store->Commit()) << store->error();
  EXPECT_DOUBLE_EQ(store->SpentUsd("r1"), 0.75);
  std::vector<AttemptRecord> attempts = store->Attempts("r1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_DOUBLE_EQ(attempts[0].cost_usd, 0.25);
  EXPECT_EQ(attempts[0].input_tokens, 100);
  nlohmann::ordered_json status;
  ASSERT_TRUE(store->ReadStatus("r1", 102, true, &status));
  EXPECT_DOUBLE_EQ(status["cost_usd"].get<double>(), 0.75);
  EXPECT_EQ(status["tokens"]["input"], 200);
  EXPECT_EQ(status["tokens"]["output"], 40);
}

TEST_F(SqliteStoreTest, SchemaOneIsUpgradedKeepingItsRows) {
  {
    auto store = Open();
    store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
    store->PutTask(Task("a", 0, TaskState::kSucceeded, 1));
    ASSERT_TRUE(store->Commit()) << store->error();
  }
  {
    // What schema 1 was: the same tables without the columns of migrations 2 to 5.
    SQLite::Database raw = Raw(SQLite::OPEN_READWRITE);
    DowngradeToSchemaTwo(raw);
    for (const char* column : {"cost_usd", "input_tokens", "output_tokens"}) {
      raw.exec(fmt::format("ALTER TABLE attempts DROP COLUMN {}", column));
      raw.exec(fmt::format("ALTER TABLE runs DROP COLUMN {}", column));
    }
    raw.exec("PRAGMA user_version = 1");
  }
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(Raw().execAndGet("PRAGMA user_version").getInt(), kStateDbSchemaVersion);
  std::vector<StoredTask> tasks = store->Tasks("r1");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].state, TaskState::kSucceeded);
  EXPECT_DOUBLE_EQ(store->SpentUsd("r1"), 0);
  EXPECT_EQ(store->error(), "");
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefusedAndTheFileLeftAsItWas) {
  Open().reset();
  Raw(SQLite::OPEN_READWRITE).exec("PRAGMA user_version = 8");
  std::string before = ReadFile(DbPath());
  std::set<std::string> files = Listing(dir_.path());
  std::string expected =
      DbPath() + " was written by a newer mex (schema 8; this mex reads up to 7)";
  EXPECT_EQ(OpenError(), expected);
  EXPECT_EQ(OpenError(/*read_only=*/true), expected);
  EXPECT_EQ(ReadFile(DbPath()), before);
  EXPECT_EQ(Listing(dir_.path()), files);
}

TEST_F(SqliteStoreTest, GarbageFileIsDamagedAndLeftAsItWas) {
  std::string garbage;
  for (int i = 0; i < 300; ++i) garbage += "this is not a database, it is a text file\n";
  WriteFile(DbPath(), garbage);
  EXPECT_EQ(OpenError(), DbPath() +
                             ": cannot read the state database: file is not a database; it is "
                             "damaged — move it away to start afresh");
  EXPECT_EQ(OpenError(/*read_only=*/true).find(DbPath() + ": cannot read"), 0u);
  EXPECT_EQ(ReadFile(DbPath()), garbage);
  EXPECT_EQ(Listing(dir_.path()), std::set<std::string>{"state.db"});
}

TEST_F(SqliteStoreTest, ForeignDatabaseIsRefused) {
  Raw(SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE).exec("CREATE TABLE notes (text TEXT)");
  std::string before = ReadFile(DbPath());
  EXPECT_EQ(OpenError(), DbPath() + " is not a mex state database");
  EXPECT_EQ(ReadFile(DbPath()), before);
}

TEST_F(SqliteStoreTest, ForeignApplicationIdIsRefused) {
  Raw(SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE).exec("PRAGMA application_id = 42");
  EXPECT_EQ(OpenError(), DbPath() + " is not a mex state database");
  EXPECT_EQ(OpenError(/*read_only=*/true), DbPath() + " is not a mex state database");
}

TEST_F(SqliteStoreTest, SymlinkIsRefused) {
  WriteFile(dir_.path() / "elsewhere.db", "");
  fs::create_symlink(dir_.path() / "elsewhere.db", DbPath());
  EXPECT_EQ(OpenError(), DbPath() + " is a symlink; refusing to open it");
  EXPECT_EQ(ReadFile(dir_.path() / "elsewhere.db"), "");
}

TEST_F(SqliteStoreTest, ASymlinkBesideItIsRefusedAndNotWrittenThrough) {
  Open().reset();
  WriteFile(dir_.path() / "elsewhere", "precious");
  fs::create_symlink(dir_.path() / "elsewhere", DbPath() + "-wal");
  EXPECT_EQ(OpenError(), DbPath() + "-wal is a symlink; refusing to open " + DbPath());
  EXPECT_EQ(OpenError(/*read_only=*/true),
            DbPath() + "-wal is a symlink; refusing to open " + DbPath());
  EXPECT_EQ(ReadFile(dir_.path() / "elsewhere"), "precious");
}

TEST_F(SqliteStoreTest, ReadOnlyOpenOfAMissingDatabaseCreatesNothing) {
  EXPECT_EQ(OpenError(/*read_only=*/true),
            "no run recorded in " + StateDir() + " (start one with `mex run FILE`)");
  EXPECT_TRUE(Listing(dir_.path()).empty());
  std::string missing = (dir_.path() / "no" / ".mex").string();
  std::string err;
  EXPECT_FALSE(SqliteStore::Open(missing, true, &err));
  EXPECT_EQ(err, "no run recorded in " + missing + " (start one with `mex run FILE`)");
  EXPECT_TRUE(Listing(dir_.path()).empty());
}

TEST_F(SqliteStoreTest, ReadOnlyOpenOfAFinishedRunCreatesNothing) {
  {
    auto store = Open();
    store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
    ASSERT_TRUE(store->Commit());
  }
  std::set<std::string> files = Listing(dir_.path());
  auto reader = Open(/*read_only=*/true);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->LatestRun(""));
  reader.reset();
  EXPECT_EQ(Listing(dir_.path()), files);
}

TEST_F(SqliteStoreTest, OneCommitIsOneTransaction) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 2);
  for (int i = 0; i < 3; ++i) store->PutTask(Task("t" + std::to_string(i), i));
  ASSERT_TRUE(store->Commit());

  auto reader = Open(/*read_only=*/true);
  SQLite::Database raw = Raw();
  auto data_version = [&] { return raw.execAndGet("PRAGMA data_version").getInt64(); };
  int64_t version = data_version();
  store->TaskChanged("t0", TaskState::kRunning, 1);
  AttemptRecord attempt;
  attempt.task = "t0";
  attempt.number = 1;
  attempt.started_at = 101;
  store->AttemptChanged(attempt);
  store->TaskChanged("t1", TaskState::kSucceeded, 1);
  // Written, not committed: another connection sees none of it.
  EXPECT_EQ(reader->Tasks("r1")[0].state, TaskState::kPending);
  EXPECT_TRUE(reader->Attempts("r1").empty());
  EXPECT_EQ(data_version(), version);

  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(data_version(), version + 1);  // one transaction
  std::vector<StoredTask> tasks = reader->Tasks("r1");
  EXPECT_EQ(tasks[0].state, TaskState::kRunning);
  EXPECT_EQ(tasks[1].state, TaskState::kSucceeded);
  EXPECT_EQ(reader->Attempts("r1").size(), 1u);

  // Nothing pending: nothing happens.
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(data_version(), version + 1);
}

TEST_F(SqliteStoreTest, LatestRunByMilestone) {
  auto store = Open();
  store->BeginRun(Run("a-old", "/w/a.yaml", 100), 1);
  store->BeginRun(Run("a-new", "/w/a.yaml", 300), 1);
  store->BeginRun(Run("b", "/w/b.yaml", 200), 1);
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(store->LatestRun("/w/a.yaml")->id, "a-new");
  EXPECT_EQ(store->LatestRun("/w/b.yaml")->id, "b");
  EXPECT_EQ(store->LatestRun("")->id, "b");  // created last, though started before a-new
  EXPECT_FALSE(store->LatestRun("/w/c.yaml"));
  EXPECT_EQ(store->error(), "");
}

TEST_F(SqliteStoreTest, AnAttemptsProcessAndDurationAreKept) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  store->PutTask(Task("a", 0, TaskState::kSucceeded, 2));
  AttemptRecord started;
  started.task = "a";
  started.number = 1;
  started.started_at = 100;
  started.process = {.pgid = 4242, .start_time = 9876543210123ULL, .boot_id = "b0-07"};
  store->AttemptChanged(started);
  AttemptRecord never_ran;  // a spawn failure: no process, no run time
  never_ran.task = "a";
  never_ran.number = 2;
  never_ran.started_at = never_ran.ended_at = 120;
  never_ran.end = "spawn_failed";
  store->AttemptChanged(never_ran);
  ASSERT_TRUE(store->Commit()) << store->error();
  std::vector<AttemptRecord> attempts = store->Attempts("r1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].process.pgid, 4242);
  EXPECT_EQ(attempts[0].process.start_time, 9876543210123ULL);
  EXPECT_EQ(attempts[0].process.boot_id, "b0-07");
  EXPECT_EQ(attempts[0].duration_s, -1);
  EXPECT_TRUE(attempts[1].process.empty());
  EXPECT_EQ(attempts[1].process.boot_id, "");

  AttemptRecord ended = started;  // its end keeps its process, and adds how long it ran
  ended.ended_at = 160;
  ended.end = "exited";
  ended.exit_code = 0;
  ended.duration_s = 2.5;
  store->AttemptChanged(ended);
  store->TaskChanged("a", TaskState::kSucceeded, 2);
  ASSERT_TRUE(store->Commit()) << store->error();
  attempts = store->Attempts("r1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].process.pgid, 4242);
  EXPECT_EQ(attempts[0].process.start_time, 9876543210123ULL);
  EXPECT_EQ(attempts[0].process.boot_id, "b0-07");
  EXPECT_DOUBLE_EQ(attempts[0].duration_s, 2.5);
  // The task's run time is the attempt's duration, not the 60 s its wall clock times say.
  EXPECT_DOUBLE_EQ(Raw().execAndGet("SELECT seconds FROM tasks WHERE id = 'a'").getDouble(), 2.5);
}

// workspace: worktree: an attempt's worktree and commits, and the run's integration branch, as
// a resumed session reads them back; a file of schema 3 gets the columns, empty.
TEST_F(SqliteStoreTest, WorktreesAndTheIntegrationBranchAreKept) {
  {
    auto store = Open();
    store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
    store->SetIntegration("base0", "base0");
    AttemptRecord a;
    a.task = "a";
    a.number = 1;
    a.started_at = 100;
    a.worktree = "/s/runs/r1/worktrees/a/1";
    a.base_commit = "base0";
    store->AttemptChanged(a);
    a.ended_at = 110;
    a.end = "exited";
    a.exit_code = 0;
    a.result_commit = "c1";
    a.merge_commit = "m1";
    a.changed_files = {"src/a.py", "docs/a b.md"};
    a.worktree = "";
    store->AttemptChanged(a);
    store->IntegrationMoved("m1");
    ASSERT_TRUE(store->Commit()) << store->error();
  }
  {
    auto store = Open();
    std::optional<StoredRun> run = store->LatestRun("/w/m.yaml");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->git_base, "base0");
    EXPECT_EQ(run->git_head, "m1");
    std::vector<AttemptRecord> attempts = store->Attempts("r1");
    ASSERT_EQ(attempts.size(), 1u);
    EXPECT_EQ(attempts[0].worktree, "");
    EXPECT_EQ(attempts[0].base_commit, "base0");
    EXPECT_EQ(attempts[0].result_commit, "c1");
    EXPECT_EQ(attempts[0].merge_commit, "m1");
    EXPECT_EQ(attempts[0].changed_files, (std::vector<std::string>{"src/a.py", "docs/a b.md"}));
  }
  {
    SQLite::Database raw = Raw(SQLite::OPEN_READWRITE);
    DowngradeToSchemaThree(raw);
  }
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(Raw().execAndGet("PRAGMA user_version").getInt(), kStateDbSchemaVersion);
  EXPECT_EQ(store->LatestRun("/w/m.yaml")->git_head, "");
  EXPECT_EQ(store->Attempts("r1").at(0).merge_commit, "");
}

// The task_queued events of a run (AddQueueWaits, at each status write of a run with cluster
// tasks) are found by index, not by a scan of every run's events; a file of schema 6 gets the
// index when mex run opens it.
TEST_F(SqliteStoreTest, ARunsQueuedEventsAreFoundByIndexAlsoInAnUpgradedFile) {
  const std::string query =
      "EXPLAIN QUERY PLAN SELECT task, body FROM events WHERE run = 'r1' AND kind = 'task_queued'";
  auto plan = [&] {
    SQLite::Database raw = Raw();
    SQLite::Statement explain(raw, query);
    std::string text;
    while (explain.executeStep()) text += explain.getColumn(3).getString() + "\n";
    return text;
  };
  Open().reset();
  EXPECT_NE(plan().find("USING INDEX events_queued"), std::string::npos) << plan();
  {
    SQLite::Database raw = Raw(SQLite::OPEN_READWRITE);
    DowngradeToSchemaSix(raw);
  }
  EXPECT_EQ(plan().find("events_queued"), std::string::npos) << plan();
  ASSERT_TRUE(Open());
  EXPECT_EQ(Raw().execAndGet("PRAGMA user_version").getInt(), kStateDbSchemaVersion);
  EXPECT_NE(plan().find("USING INDEX events_queued"), std::string::npos) << plan();
}

// A file of schema 6 differs from 7 by an index only: mex status and the other readers read it
// as it is, without upgrading it (only mex run writes), rather than asking for a mex run first.
TEST_F(SqliteStoreTest, ASchemaSixFileIsReadAsItIs) {
  {
    auto store = Open();
    store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
    ASSERT_TRUE(store->Commit());
  }
  {
    SQLite::Database raw = Raw(SQLite::OPEN_READWRITE);
    DowngradeToSchemaSix(raw);
  }
  const std::string before = ReadFile(DbPath());
  auto reader = Open(/*read_only=*/true);
  ASSERT_TRUE(reader) << OpenError(/*read_only=*/true);
  ASSERT_TRUE(reader->LatestRun(""));
  reader.reset();
  EXPECT_EQ(ReadFile(DbPath()), before);
  EXPECT_EQ(Raw().execAndGet("PRAGMA user_version").getInt(), 6);
  {
    SQLite::Database raw = Raw(SQLite::OPEN_READWRITE);
    raw.exec("DROP TABLE input_hashes");
    raw.exec("PRAGMA user_version = 5");
  }
  EXPECT_EQ(OpenError(/*read_only=*/true),
            DbPath() + " was written by an older mex (schema 5); `mex run` upgrades it");
}

TEST_F(SqliteStoreTest, SchemaTwoIsUpgradedKeepingItsRowsWithTheDefaults) {
  {
    auto store = Open();
    store->BeginRun(Run("r-late", "/w/m.yaml", 900), 1);  // created first, clock ahead
    store->BeginRun(Run("r-early", "/w/m.yaml", 100), 1);
    store->PutTask(Task("a", 0, TaskState::kSucceeded, 1));
    AttemptRecord a;
    a.task = "a";
    a.number = 1;
    a.started_at = 100;
    a.ended_at = 110;
    a.end = "exited";
    a.exit_code = 0;
    a.cost_usd = 0.5;
    a.process = {.pgid = 77, .start_time = 5, .boot_id = "x"};
    a.duration_s = 9;
    store->AttemptChanged(a);
    ASSERT_TRUE(store->Commit()) << store->error();
  }
  {
    SQLite::Database raw = Raw(SQLite::OPEN_READWRITE);
    DowngradeToSchemaTwo(raw);
  }
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(Raw().execAndGet("PRAGMA user_version").getInt(), kStateDbSchemaVersion);
  std::vector<AttemptRecord> attempts = store->Attempts("r-early");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].end, "exited");
  EXPECT_DOUBLE_EQ(attempts[0].ended_at, 110);
  EXPECT_DOUBLE_EQ(attempts[0].cost_usd, 0.5);
  EXPECT_TRUE(attempts[0].process.empty());
  EXPECT_EQ(attempts[0].process.start_time, 0u);
  EXPECT_EQ(attempts[0].process.boot_id, "");
  EXPECT_EQ(attempts[0].duration_s, -1);
  ASSERT_EQ(store->Tasks("r-early").size(), 1u);
  // The runs keep the order they were created in, and a new one comes after them.
  EXPECT_EQ(store->LatestRun("/w/m.yaml")->id, "r-early");
  store->BeginRun(Run("r-new", "/w/m.yaml", 50), 1);
  ASSERT_TRUE(store->Commit()) << store->error();
  EXPECT_EQ(store->LatestRun("/w/m.yaml")->id, "r-new");
  EXPECT_EQ(store->error(), "");
}

TEST_F(SqliteStoreTest, TheLatestRunIsTheOneCreatedLastWhateverTheClock) {
  auto store = Open();
  store->BeginRun(Run("today", "/w/a.yaml", 200000), 1);
  store->BeginRun(Run("other", "/w/b.yaml", 300000), 1);
  ASSERT_TRUE(store->Commit());
  // A `--new` run made with the clock a day behind.
  store->BeginRun(Run("yesterday", "/w/a.yaml", 200000 - 86400), 1);
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(store->LatestRun("/w/a.yaml")->id, "yesterday");
  EXPECT_EQ(store->LatestRun("")->id, "yesterday");
  EXPECT_EQ(store->LatestRun("/w/b.yaml")->id, "other");
  // Resuming a run does not make it a newer one.
  store->BeginRun(Run("today", "/w/a.yaml", 200000), 1);
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(store->LatestRun("/w/a.yaml")->id, "yesterday");
  store.reset();
  EXPECT_EQ(Open(/*read_only=*/true)->LatestRun("/w/a.yaml")->id, "yesterday");
}

TEST_F(SqliteStoreTest, MarkInterruptedReturnsTheProcessOfEachAttempt) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 2);
  store->PutTask(Task("a", 0, TaskState::kRunning, 1));
  store->PutTask(Task("b", 1, TaskState::kRunning, 3));
  AttemptRecord a;
  a.task = "a";
  a.number = 1;
  a.started_at = 100;
  a.log_path = "logs/a/1.log";
  a.process = {.pgid = 1001, .start_time = 123456, .boot_id = "boot-1"};
  store->AttemptChanged(a);
  AttemptRecord b;
  b.task = "b";
  b.number = 3;
  b.started_at = 105;
  b.log_path = "logs/b/3.log";
  b.process = {.pgid = 1002, .start_time = 654321, .boot_id = "boot-1"};
  store->AttemptChanged(b);
  ASSERT_TRUE(store->Commit()) << store->error();

  std::vector<AttemptRecord> left = store->MarkInterrupted(500);
  ASSERT_TRUE(store->Commit()) << store->error();
  ASSERT_EQ(left.size(), 2u);
  std::sort(left.begin(), left.end(),
            [](const AttemptRecord& x, const AttemptRecord& y) { return x.task < y.task; });
  EXPECT_EQ(left[0].task, "a");
  EXPECT_EQ(left[0].number, 1);
  EXPECT_DOUBLE_EQ(left[0].started_at, 100);
  EXPECT_EQ(left[0].log_path, "logs/a/1.log");
  EXPECT_EQ(left[0].process.pgid, 1001);
  EXPECT_EQ(left[0].process.start_time, 123456u);
  EXPECT_EQ(left[0].process.boot_id, "boot-1");
  EXPECT_EQ(left[1].task, "b");
  EXPECT_EQ(left[1].number, 3);
  EXPECT_EQ(left[1].process.pgid, 1002);
  EXPECT_EQ(left[1].process.start_time, 654321u);
  EXPECT_EQ(left[1].process.boot_id, "boot-1");
  // The interrupted attempts keep their process in the database too.
  for (const AttemptRecord& r : store->Attempts("r1")) {
    EXPECT_EQ(r.end, "interrupted");
    EXPECT_FALSE(r.process.empty());
  }
}

// A state.db with enough rows that its attempts and events tables have pages of their own.
class DamagedStateDbTest : public SqliteStoreTest {
 protected:
  void SetUp() override {
    auto store = Open();
    store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
    for (int i = 0; i < 200; ++i) {
      std::string id = fmt::format("task-{:03}", i);
      store->PutTask(Task(id, static_cast<uint32_t>(i), TaskState::kSucceeded, 1));
      AttemptRecord a;
      a.task = id;
      a.number = 1;
      a.started_at = 100 + i;
      a.ended_at = 101 + i;
      a.end = "exited";
      a.exit_code = 0;
      a.log_path = "runs/r1/logs/" + id + "/1.log";
      store->AttemptChanged(a);
      Event event(EventKind::kTaskStarted);
      event.task = id;
      event.time = 100 + i;
      store->Append(event);
    }
    ASSERT_TRUE(store->Commit()) << store->error();
  }

  // Damages the root page of `table`; both opens must refuse the file and leave it as it was.
  void ExpectRefusedWhenDamaged(const std::string& table) {
    int64_t root = RootPage(table);
    ASSERT_GT(root, 1);
    DamagePage(root);
    std::string before = ReadFile(DbPath());
    std::set<std::string> files = Listing(dir_.path());
    std::string damaged = DbPath() +
                          ": cannot read the state database: database disk image is malformed; "
                          "it is damaged — move it away to start afresh";
    EXPECT_EQ(OpenError(), damaged);
    EXPECT_EQ(OpenError(/*read_only=*/true), damaged);
    EXPECT_TRUE(ReadFile(DbPath()) == before) << "the refused file was changed";
    EXPECT_EQ(Listing(dir_.path()), files);
  }
};

TEST_F(DamagedStateDbTest, ADamagedAttemptsPageIsRefusedAndTheFileLeftAsItWas) {
  ExpectRefusedWhenDamaged("attempts");
}

TEST_F(DamagedStateDbTest, ADamagedEventsPageIsRefusedAndTheFileLeftAsItWas) {
  ExpectRefusedWhenDamaged("events");
}

TEST_F(DamagedStateDbTest, ADamagedTasksPageIsRefusedAndTheFileLeftAsItWas) {
  ExpectRefusedWhenDamaged("tasks");
}

TEST_F(DamagedStateDbTest, AnUndamagedFileOpens) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Attempts("r1").size(), 200u);
}

TEST_F(SqliteStoreTest, MilestoneKeyIsAbsoluteAndNormal) {
  EXPECT_EQ(MilestoneKey("/w/x/../m.yaml"), "/w/m.yaml");
  EXPECT_EQ(MilestoneKey("m.yaml"), (fs::current_path() / "m.yaml").string());
}

TEST_F(SqliteStoreTest, BeginRunResumesAnEndedRun) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  Event finished(EventKind::kRunFinished);
  finished.reason = "failed";
  finished.exit_code = 1;
  finished.time = 150;
  store->Append(finished);
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(store->LatestRun("")->state, "failed");
  EXPECT_EQ(store->LatestRun("")->exit_code, 1);

  store->BeginRun(Run("r1", "/w/m.yaml", 100), 3);
  ASSERT_TRUE(store->Commit());
  std::optional<StoredRun> run = store->LatestRun("");
  EXPECT_EQ(run->state, "running");
  EXPECT_EQ(run->exit_code, -1);
  EXPECT_EQ(run->started_at, 100);
}

TEST_F(SqliteStoreTest, MarkInterruptedEndsAttemptsLeftRunning) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 2);
  store->PutTask(Task("done", 0, TaskState::kSucceeded, 1));
  store->PutTask(Task("running", 1, TaskState::kRunning, 2));
  store->PutTask(Task("waiting", 2, TaskState::kRetryWait, 1));
  store->PutTask(Task("failed", 3, TaskState::kFailed, 3));
  AttemptRecord ended;
  ended.task = "done";
  ended.number = 1;
  ended.started_at = 100;
  ended.ended_at = 110;
  ended.end = "exited";
  store->AttemptChanged(ended);
  AttemptRecord first = ended;
  first.task = "running";
  store->AttemptChanged(first);
  AttemptRecord in_flight;
  in_flight.task = "running";
  in_flight.number = 2;
  in_flight.started_at = 120;
  store->AttemptChanged(in_flight);
  ASSERT_TRUE(store->Commit());

  EXPECT_EQ(store->MarkInterrupted(500).size(), 1u);
  ASSERT_TRUE(store->Commit());
  std::map<std::string, StoredTask> tasks;
  for (StoredTask& t : store->Tasks("r1")) tasks[t.id] = t;
  EXPECT_EQ(tasks["done"].state, TaskState::kSucceeded);
  EXPECT_EQ(tasks["running"].state, TaskState::kPending);
  EXPECT_EQ(tasks["running"].attempts, 2);
  EXPECT_EQ(tasks["waiting"].state, TaskState::kPending);
  EXPECT_EQ(tasks["failed"].state, TaskState::kFailed);
  for (const AttemptRecord& a : store->Attempts("r1")) {
    if (a.task == "running" && a.number == 2) {
      EXPECT_EQ(a.end, "interrupted");
      EXPECT_EQ(a.ended_at, 500);
      EXPECT_EQ(a.reason, "the engine stopped while it ran");
    } else {
      EXPECT_EQ(a.end, "exited") << a.task << " " << a.number;
      EXPECT_EQ(a.ended_at, 110);
    }
  }
  EXPECT_TRUE(store->MarkInterrupted(600).empty());
}

TEST_F(SqliteStoreTest, RemoveTaskKeepsItsAttempts) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  store->PutTask(Task("a", 0));
  store->PutTask(Task("b", 1));
  AttemptRecord attempt;
  attempt.task = "a";
  attempt.number = 1;
  store->AttemptChanged(attempt);
  store->RemoveTask("a");
  ASSERT_TRUE(store->Commit());
  ASSERT_EQ(store->Tasks("r1").size(), 1u);
  EXPECT_EQ(store->Tasks("r1")[0].id, "b");
  EXPECT_EQ(store->Attempts("r1").size(), 1u);
}

TEST_F(SqliteStoreTest, EventsAreLoggedAndInterpreted) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  store->SetPhases({{"design", 40, ""}, {"execute", 60, ""}});
  store->PutTask(Task("a", 0));
  store->Append(Event(EventKind::kRunStarted));
  store->Append(PhaseEvent(EventKind::kPhaseStarted, "design"));
  store->Append(PhaseEvent(EventKind::kPhaseFinished, "design", /*passed=*/true));
  store->Append(PhaseEvent(EventKind::kPhaseStarted, "execute"));
  Event stalled(EventKind::kTaskStalled);
  stalled.task = "a";
  stalled.attempt = 1;
  store->Append(stalled);
  ASSERT_TRUE(store->Commit());

  SQLite::Database raw = Raw();
  EXPECT_EQ(raw.execAndGet("SELECT stalled FROM tasks WHERE id = 'a'").getInt(), 1);
  EXPECT_EQ(
      raw.execAndGet("SELECT group_concat(state) FROM (SELECT state FROM phases ORDER BY idx)")
          .getString(),
      "passed,running");
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM events WHERE run = 'r1'").getInt(), 5);
  std::string body = raw.execAndGet("SELECT body FROM events WHERE kind = 'task_stalled'");
  EXPECT_EQ(nlohmann::json::parse(body)["task"], "a");

  store->TaskChanged("a", TaskState::kSucceeded, 1);  // a state change ends the stall
  store->Append(PhaseEvent(EventKind::kPhaseFinished, "execute", /*passed=*/false));
  Event finished(EventKind::kRunFinished);
  finished.reason = "failed";
  finished.exit_code = 1;
  finished.time = 200;
  store->Append(finished);
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(raw.execAndGet("SELECT stalled FROM tasks WHERE id = 'a'").getInt(), 0);
  EXPECT_EQ(raw.execAndGet("SELECT state FROM phases WHERE idx = 1").getString(), "failed");
  EXPECT_EQ(
      raw.execAndGet("SELECT state || ' ' || exit_code || ' ' || ended_at FROM runs").getString(),
      "failed 1 200.0");
}

TEST_F(SqliteStoreTest, AWriteFailureFailsCommitForGood) {
  auto store = Open();
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  store->PutTask(Task("a", 0));
  ASSERT_TRUE(store->Commit());
  Raw(SQLite::OPEN_READWRITE).exec("DROP TABLE events");  // every Append fails from now on
  store->TaskChanged("a", TaskState::kRunning, 1);
  store->Append(Event(EventKind::kRunStarted));
  EXPECT_FALSE(store->Commit());
  EXPECT_EQ(store->error().find("cannot record the run's state in " + DbPath() + ": "), 0u)
      << store->error();
  store->TaskChanged("a", TaskState::kSucceeded, 1);
  EXPECT_FALSE(store->Commit());
  // What was written with the failed write was rolled back.
  EXPECT_EQ(Open(/*read_only=*/true)->Tasks("r1")[0].state, TaskState::kPending);
}

TEST_F(SqliteStoreTest, ReadOnlyStoreRefusesWrites) {
  {
    auto store = Open();
    store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
    ASSERT_TRUE(store->Commit());
  }
  auto reader = Open(/*read_only=*/true);
  reader->BeginRun(Run("r2", "/w/m.yaml", 200), 1);
  EXPECT_FALSE(reader->Commit());
  EXPECT_EQ(reader->LatestRun("")->id, "r1");
}

// --- status.json ---------------------------------------------------------------------------

class StatusFileTest : public SqliteStoreTest {
 protected:
  std::string StatusPath() const { return (dir_.path() / "status.json").string(); }
  // Replaces status.json with a marker: whether the store rewrote it since is then plain.
  void Mark() const { WriteFile(StatusPath(), "marker"); }
  bool Rewritten() const { return ReadFile(StatusPath()) != "marker"; }
  // The state folder, held open as `mex run` holds it.
  std::shared_ptr<const Folder> State() const {
    auto folder = std::make_shared<Folder>();
    std::string err;
    EXPECT_TRUE(Folder::Open(StateDir(), false, folder.get(), &err)) << err;
    return folder;
  }
};

TEST_F(StatusFileTest, WrittenAtFirstCommitThenAtMostEvery500msOrAtAPhaseChange) {
  auto store = Open();
  EXPECT_EQ(store->RefreshIn(), -1);  // no status path
  store->SetRunFiles(State(), StatusPath());
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  store->SetPhases({{"execute", 100, ""}});
  store->PutTask(Task("a", 0));
  EXPECT_EQ(store->RefreshIn(), 0);
  ASSERT_TRUE(store->Commit());
  double written_at = MonotonicSeconds();
  nlohmann::json status = nlohmann::json::parse(ReadFile(StatusPath()));
  EXPECT_EQ(status["run"], "r1");
  EXPECT_EQ(status["state"], "running");

  Mark();
  store->TaskChanged("a", TaskState::kRetryWait, 1);
  ASSERT_TRUE(store->Commit());
  // Unless this machine stalled for most of the interval (then a rewrite is right):
  if (MonotonicSeconds() - written_at < 0.4) {
    EXPECT_GT(store->RefreshIn(), 0);  // 500 ms after the write, or more if it took long
    EXPECT_FALSE(Rewritten()) << "rewritten within 500 ms though no phase changed";
  }

  store->Append(PhaseEvent(EventKind::kPhaseStarted, "execute"));
  EXPECT_EQ(store->RefreshIn(), 0);
  ASSERT_TRUE(store->Commit());
  EXPECT_TRUE(Rewritten());
  EXPECT_EQ(nlohmann::json::parse(ReadFile(StatusPath()))["progress"]["phases"][0]["total"], 1);

  Mark();
  std::this_thread::sleep_for(std::chrono::duration<double>(store->RefreshIn() + 0.02));
  EXPECT_EQ(store->RefreshIn(), 0);
  ASSERT_TRUE(store->Commit());  // nothing written, but the status is due
  EXPECT_TRUE(Rewritten());

  Mark();
  Event finished(EventKind::kRunFinished);
  finished.reason = "succeeded";
  finished.exit_code = 0;
  store->Append(finished);
  ASSERT_TRUE(store->Commit());
  EXPECT_TRUE(Rewritten());
  EXPECT_EQ(nlohmann::json::parse(ReadFile(StatusPath()))["state"], "succeeded");
  EXPECT_EQ(store->RefreshIn(), -1);
}

TEST_F(StatusFileTest, AStatusFileThatCannotBeWrittenIsNotFatal) {
  auto store = Open();
  fs::create_directory(dir_.path() / "status.json");  // a folder where the file should go
  store->SetRunFiles(State(), StatusPath());
  store->BeginRun(Run("r1", "/w/m.yaml", 100), 1);
  testing::internal::CaptureStderr();
  EXPECT_TRUE(store->Commit());
  store->Append(PhaseEvent(EventKind::kPhaseStarted, "execute"));
  EXPECT_TRUE(store->Commit());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("mex: warning: cannot update " + StatusPath()), std::string::npos) << err;
  EXPECT_EQ(err.find("warning", err.find("warning") + 1), std::string::npos) << "reported twice";
}

}  // namespace
}  // namespace mex
