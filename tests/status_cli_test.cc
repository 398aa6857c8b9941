// End-to-end tests of `mex status`: a run is recorded through SqliteStore in a mkdtemp folder, as
// the engine would record it, and the built binary reads it. `mex status` must change nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "store/sqlite_store.h"
#include "store/state_lock.h"
#include "tests/test_util.h"
#include "util/clock.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::TempDir;
using testing_util::WriteFile;

// Every file under `dir`, with its content: what a command must leave as it found it.
std::set<std::pair<std::string, std::string>> Snapshot(const fs::path& dir) {
  std::set<std::pair<std::string, std::string>> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    files.insert({entry.path().string(), entry.is_regular_file() ? ReadFile(entry.path()) : ""});
  }
  return files;
}

class StatusCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(Milestone(), "tasks:\n  - id: a\n    run: 'true'\n  - id: b\n    run: 'false'\n");
    fs::create_directory(StateDir());
  }
  fs::path Milestone() const { return dir_.path() / "m.yaml"; }
  fs::path StateDir() const { return dir_.path() / ".mex"; }

  // Records run r1 of m.yaml as `mex run` would, up to `finish` ("" leaves it running).
  std::unique_ptr<SqliteStore> Record(const std::string& finish) {
    std::string err;
    auto store = SqliteStore::Open(StateDir().string(), false, &err);
    EXPECT_TRUE(store) << err;
    if (!store) return nullptr;
    StoredRun run;
    run.id = "r1";
    run.milestone = MilestoneKey(Milestone().string());
    run.name = "m";
    run.timestamp = "2026-11-26T21:15:00Z";
    run.started_at = WallClockSeconds() - 60;
    store->BeginRun(run, 2);
    store->SetPhases({{"execute", 100, ""}});
    store->PutTask({"a", 0, 0, 1, "ha", TaskState::kPending, 0, "", ""});
    store->PutTask({"b", 1, 0, 1, "hb", TaskState::kPending, 0, "", ""});
    Event phase(EventKind::kPhaseStarted);
    phase.phase = "execute";
    store->Append(phase);
    AttemptRecord a;
    a.task = "a";
    a.number = 1;
    a.started_at = run.started_at;
    a.ended_at = run.started_at + 10;
    a.end = "exited";
    a.exit_code = 0;
    store->AttemptChanged(a);
    store->TaskChanged("a", TaskState::kSucceeded, 1);
    AttemptRecord b;
    b.task = "b";
    b.number = 1;
    b.started_at = run.started_at + 10;
    store->AttemptChanged(b);
    store->TaskChanged("b", TaskState::kRunning, 1);
    if (!finish.empty()) {
      b.ended_at = run.started_at + 20;
      b.end = "exited";
      b.exit_code = 1;
      b.failure_class = "logic";
      b.reason = "exit code 1";
      store->AttemptChanged(b);
      store->TaskChanged("b", TaskState::kFailed, 1);
      Event done(EventKind::kRunFinished);
      done.reason = finish;
      done.exit_code = finish == "succeeded" ? 0 : 1;
      store->Append(done);
    }
    EXPECT_TRUE(store->Commit()) << store->error();
    return store;
  }

  TempDir dir_;
};

TEST_F(StatusCliTest, PrintsTheLatestRunAsJsonAndAsText) {
  Record("failed").reset();
  auto before = Snapshot(dir_.path());

  Result json = RunMex({"status", "--json"}, dir_.path().string());
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.err, "");
  nlohmann::json status = nlohmann::json::parse(json.out);
  EXPECT_EQ(status["milestone"], "m");
  EXPECT_EQ(status["run"], "r1");
  EXPECT_EQ(status["state"], "failed");
  // a succeeded, b failed, the gate failed: 1 of 3 parts (model/progress.h)
  EXPECT_EQ(status["progress"]["weighted"], 0.3333);
  EXPECT_EQ(status["failed"][0]["id"], "b");
  EXPECT_EQ(status["failed"][0]["class"], "logic");
  EXPECT_TRUE(status["eta_seconds"].is_null());

  Result text = RunMex({"status"}, dir_.path().string());
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("milestone m, run r1: failed\n", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("b  1 attempt  logic: exit code 1"), std::string::npos) << text.out;

  // With FILE, from elsewhere: the state folder beside it, the latest run of that milestone.
  Result by_file = RunMex({"status", Milestone().string(), "--json"});
  EXPECT_EQ(by_file.exit_code, 0) << by_file.err;
  EXPECT_EQ(nlohmann::json::parse(by_file.out)["run"], "r1");
  Result relative = RunMex({"status", "./sub/../m.yaml", "--json"}, dir_.path().string());
  EXPECT_EQ(relative.exit_code, 0) << relative.err;

  Result state_dir = RunMex({"status", "--state-dir", StateDir().string()});
  EXPECT_EQ(state_dir.exit_code, 0) << state_dir.err;

  EXPECT_EQ(Snapshot(dir_.path()), before);
}

TEST_F(StatusCliTest, ARunIsRunningWhileItsEngineHoldsTheLockElseInterrupted) {
  StateLock lock;
  std::string err;
  auto state = std::make_shared<Folder>();
  ASSERT_TRUE(Folder::Open(StateDir().string(), false, state.get(), &err)) << err;
  ASSERT_TRUE(lock.Acquire(state, &err)) << err;
  auto engine = Record("");  // this process is the run's engine: BeginRun recorded its pid
  Result live = RunMex({"status", "--json"}, dir_.path().string());
  EXPECT_EQ(live.exit_code, 0) << live.err;
  nlohmann::json status = nlohmann::json::parse(live.out);
  EXPECT_EQ(status["state"], "running");
  EXPECT_EQ(status["running"][0]["id"], "b");
  EXPECT_GE(status["running"][0]["elapsed_s"].get<double>(), 49.0);
  // a took 10 s; b, running for 50 s, past what a's rate says, is expected to run a third of its
  // time so far again (model/eta.h). The old estimate (1 effort left x 10 s / 2 jobs) said 5 s.
  ASSERT_TRUE(status["eta_seconds"].is_number());
  EXPECT_NEAR(status["eta_seconds"].get<double>(),
              status["running"][0]["elapsed_s"].get<double>() / 3, 0.11);
  EXPECT_EQ(status["eta_basis"], "this run");

  engine.reset();
  lock = StateLock();  // the engine is gone, its run still recorded as running
  Result gone = RunMex({"status", "--json"}, dir_.path().string());
  EXPECT_EQ(gone.exit_code, 0) << gone.err;
  status = nlohmann::json::parse(gone.out);
  EXPECT_EQ(status["state"], "interrupted");
  EXPECT_TRUE(status["running"].empty());
}

TEST_F(StatusCliTest, NoStateFolderIsAnErrorAndCreatesNothing) {
  TempDir empty;
  Result result = RunMex({"status"}, empty.path().string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "mex: no run recorded in .mex (start one with `mex run FILE`)\n");
  EXPECT_TRUE(fs::is_empty(empty.path()));

  fs::remove(StateDir());
  result = RunMex({"status", "m.yaml"}, dir_.path().string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "mex: no run recorded in " + StateDir().string() +
                            " (start one with `mex run FILE`)\n");
  EXPECT_FALSE(fs::exists(StateDir()));
}

TEST_F(StatusCliTest, NoRunOfThatMilestone) {
  Record("succeeded").reset();
  WriteFile(dir_.path() / "other.yaml", "tasks: []\n");
  Result result = RunMex({"status", "other.yaml"}, dir_.path().string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "mex: no run of other.yaml recorded in " + StateDir().string() +
                            " (start one with `mex run other.yaml`)\n");
}

TEST_F(StatusCliTest, ADamagedDatabaseIsAnErrorAndLeftAsItWas) {
  WriteFile(StateDir() / "state.db", std::string(8192, 'x'));
  auto before = Snapshot(dir_.path());
  Result result = RunMex({"status"}, dir_.path().string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err.rfind("mex: .mex/state.db: cannot read the state database: ", 0), 0u)
      << result.err;
  EXPECT_NE(result.err.find("it is damaged"), std::string::npos) << result.err;
  EXPECT_EQ(Snapshot(dir_.path()), before);
}

}  // namespace
}  // namespace mex
