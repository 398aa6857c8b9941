// Tests of the status object (SPEC §5) on a run built by hand through the store, and of its text.
#include "store/status.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "tests/test_util.h"

namespace mex {
namespace {

using testing_util::TempDir;

constexpr double kNow = 1000;

// A run of three phases at kNow:
//   design (15): d1 succeeded in 10 s (effort 2), d2 succeeded in 20 s at its 2nd attempt
//                (effort 3); passed
//   spec (25):   s1 failed after 3 attempts (logic), s2 skipped, s3 running attempt 2 since 970
//                and stalled, s4 pending (effort 4)
//   execute (60): no tasks
class StatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    store_ = SqliteStore::Open(dir_.path().string(), false, &err);
    ASSERT_TRUE(store_) << err;
    StoredRun run;
    run.id = "r1";
    run.milestone = "/w/build.yaml";
    run.name = "build";
    run.timestamp = "1970-01-01T00:01:40Z";
    run.started_at = 100.25;
    store_->BeginRun(run, 2);
    store_->SetPhases({{"design", 15, ""}, {"spec", 25, ""}, {"execute", 60, ""}});
    Put("d1", 0, 0, 2, TaskState::kSucceeded, 1);
    Put("d2", 1, 0, 3, TaskState::kSucceeded, 2);
    Put("s1", 2, 1, 1, TaskState::kFailed, 3);
    Put("s2", 3, 1, 1, TaskState::kSkipped, 0);
    Put("s3", 4, 1, 1, TaskState::kRunning, 2);
    Put("s4", 5, 1, 4, TaskState::kPending, 0);
    // As the engine records a success: the attempt's end, then the task's state.
    Attempt("d1", 1, 200, 210, "exited", "", "");
    store_->TaskChanged("d1", TaskState::kSucceeded, 1);
    Attempt("d2", 1, 200, 205, "exited", "transient", "exit code 1");
    Attempt("d2", 2, 300, 320, "exited", "", "");
    store_->TaskChanged("d2", TaskState::kSucceeded, 2);
    Attempt("s1", 1, 400, 401, "exited", "logic", "exit code 2");
    Attempt("s1", 3, 500, 501, "exited", "logic", "exit code 3");
    Attempt("s3", 1, 900, 910, "timed_out", "transient", "timed out");
    Attempt("s3", 2, 970, 0, "", "", "");
    Phase(EventKind::kPhaseStarted, "design");
    Phase(EventKind::kPhaseFinished, "design", true);
    Phase(EventKind::kPhaseStarted, "spec");
    Event stalled(EventKind::kTaskStalled);
    stalled.task = "s3";
    store_->Append(stalled);
    ASSERT_TRUE(store_->Commit()) << store_->error();
  }

  // A later run of the same milestone, started at 900 with `jobs` slots and these phases.
  void BeginLaterRun(const std::string& id, int jobs, std::vector<PhaseRow> phases) {
    StoredRun run;
    run.id = id;
    run.milestone = "/w/build.yaml";
    run.name = "build";
    run.timestamp = "1970-01-01T00:15:00Z";
    run.started_at = 900;
    store_->BeginRun(run, jobs);
    store_->SetPhases(phases);
  }
  void Put(const std::string& id, uint32_t seq, uint32_t phase, double effort, TaskState state,
           int attempts) {
    store_->PutTask({id, seq, phase, effort, "h", state, attempts, "", ""});
  }
  void Attempt(const std::string& task, int n, double started, double ended, const char* end,
               const char* failure_class, const char* reason) {
    AttemptRecord a;
    a.task = task;
    a.number = n;
    a.started_at = started;
    a.ended_at = ended;
    a.end = end;
    a.failure_class = failure_class;
    a.reason = reason;
    store_->AttemptChanged(a);
  }
  void Phase(EventKind kind, const std::string& name, bool passed = false) {
    Event event(kind);
    event.phase = name;
    event.passed = passed;
    store_->Append(event);
  }
  // A task_queued event of attempt 1 of `task`, as the engine appends it (`waited`: its queued_s).
  void Queued(const std::string& task, QueueState state, const std::string& reason,
              double waited = 0) {
    Event e(EventKind::kTaskQueued);
    e.task = task;
    e.attempt = 1;
    e.queue_state = state;
    e.reason = reason;
    e.elapsed_s = waited;
    store_->Append(e);
  }
  void ExpectQueueWaitsApartFromRunTime(bool older_events);
  nlohmann::ordered_json Status(bool live) {
    nlohmann::ordered_json status;
    EXPECT_TRUE(store_->ReadStatus("r1", kNow, live, &status)) << store_->error();
    return status;
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(StatusTest, LiveRun) {
  nlohmann::ordered_json s = Status(/*live=*/true);
  EXPECT_EQ(s["milestone"], "build");
  EXPECT_EQ(s["run"], "r1");
  EXPECT_EQ(s["state"], "running");
  EXPECT_EQ(s["started_at"], "1970-01-01T00:01:40.250Z");
  EXPECT_EQ(s["updated_at"], "1970-01-01T00:16:40.000Z");

  const auto& phases = s["progress"]["phases"];
  ASSERT_EQ(phases.size(), 3u);
  EXPECT_EQ(phases[0], nlohmann::ordered_json::parse(R"({"name": "design", "weight": 15.0,
      "total": 2, "succeeded": 2, "failed": 0, "skipped": 0, "running": 0, "progress": 1.0,
      "gate": null})"));
  EXPECT_EQ(phases[1], nlohmann::ordered_json::parse(R"({"name": "spec", "weight": 25.0,
      "total": 4, "succeeded": 0, "failed": 1, "skipped": 1, "running": 1, "progress": 0.0,
      "gate": null})"));
  EXPECT_EQ(phases[2]["total"], 0);
  EXPECT_EQ(phases[2]["progress"], 0.0);  // no tasks, not passed
  // 15 × 1 + 25 × 0 + 60 × 0, over 100: only work that succeeded is done
  EXPECT_DOUBLE_EQ(s["progress"]["weighted"].get<double>(), 0.15);

  // The time left (model/eta.h): d1 and d2 took (10 + 20) s for (2 + 3) effort, 6 s per unit;
  // s3 (effort 1) has run 30 s, past its 6 s, so it counts as evidence too: (10 + 20 + 30) s over
  // 6 units, 10 s per unit. s3 is expected to run a third of its 30 s again (10 s); s4 (effort 4)
  // takes 40 s, beside it on the second slot. 5 of the 7 attempts that ended failed: each task
  // still to run is expected to take 1.5 times as long (the most counted): s3 10 + 0.5 x 10, s4
  // 60 s. The old estimate (effort left x 6 s / 2 jobs) said 15 s.
  EXPECT_DOUBLE_EQ(s["eta_seconds"].get<double>(), 60.0);
  // Two ratios (d1 0.5, d2 0.67 of the 10 s per unit) are thin evidence: the range runs from the
  // 20th percentile of the ratios (0.533) to x1.5.
  EXPECT_EQ(s["eta_range"], nlohmann::ordered_json::parse("[32.0, 90.0]"));
  EXPECT_EQ(s["eta_basis"], "this run");
  EXPECT_EQ(s["eta_provisional"], false);

  EXPECT_EQ(s["running"],
            nlohmann::ordered_json::parse(
                R"([{"id": "s3", "attempt": 2, "elapsed_s": 30.0, "stalled": true}])"));
  EXPECT_EQ(s["stalled"],
            nlohmann::ordered_json::parse(R"([{"id": "s3", "attempt": 2, "elapsed_s": 30.0}])"));
  EXPECT_EQ(s["failed"], nlohmann::ordered_json::parse(R"([{"id": "s1", "attempts": 3,
      "class": "logic", "reason": "exit code 3"}])"));
}

TEST_F(StatusTest, KeysInTheOrderOfTheSpec) {
  nlohmann::ordered_json status = Status(true);
  std::vector<std::string> keys;
  for (const auto& [key, value] : status.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"milestone", "run", "state", "started_at", "updated_at",
                                            "progress", "eta_seconds", "eta_range", "eta_basis",
                                            "eta_provisional", "cost_usd", "tokens", "running",
                                            "failed", "stalled"}));
}

TEST_F(StatusTest, ARunningRunWhoseEngineIsGoneIsInterrupted) {
  nlohmann::ordered_json s = Status(/*live=*/false);
  EXPECT_EQ(s["state"], "interrupted");
  // Not kNow: when the engine last recorded something (BeginRun, at the real clock's time).
  SQLite::Database db((dir_.path() / "state.db").string(), SQLite::OPEN_READONLY);
  double recorded = db.execAndGet("SELECT updated_at FROM runs WHERE id = 'r1'").getDouble();
  EXPECT_EQ(s["updated_at"], IsoTimeMs(recorded));
  EXPECT_TRUE(s["eta_seconds"].is_null());
  EXPECT_TRUE(s["running"].empty());
  EXPECT_TRUE(s["stalled"].empty());
  EXPECT_EQ(s["progress"]["phases"][1]["running"], 0);
  EXPECT_EQ(s["failed"].size(), 1u);
  EXPECT_DOUBLE_EQ(s["progress"]["weighted"].get<double>(), 0.15);
}

TEST_F(StatusTest, NoEtaBeforeATaskSucceeded) {
  Put("d1", 0, 0, 2, TaskState::kRunning, 1);
  Put("d2", 1, 0, 3, TaskState::kFailed, 2);
  ASSERT_TRUE(store_->Commit());
  nlohmann::ordered_json s = Status(true);
  EXPECT_TRUE(s["eta_seconds"].is_null());
  EXPECT_TRUE(s["eta_range"].is_null());
  EXPECT_TRUE(s["eta_basis"].is_null());
  EXPECT_EQ(FormatStatus(s).find("left"), std::string::npos);
}

// A phase with tasks_from not yet started, and no earlier run: its weight at the seconds per
// unit of weight of the phases that passed.
TEST_F(StatusTest, AnUnexpandedPhaseWithoutHistoryTakesItsWeightsShare) {
  {
    SQLite::Database raw((dir_.path() / "state.db").string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE phases SET tasks_from = 's4' WHERE run = 'r1' AND name = 'execute'");
  }
  nlohmann::ordered_json s = Status(true);
  // design (weight 15) passed, its attempts from 200 to 320: 8 s per unit of weight; execute
  // (60) is expected to take 480 s after the 60 s of LiveRun.
  EXPECT_DOUBLE_EQ(s["eta_seconds"].get<double>(), 60 + 480);
  EXPECT_EQ(s["eta_provisional"], true);
}

// Tasks of equal priority start in file order, as the task runner starts them, not in the order of
// their ids.
TEST_F(StatusTest, TheScheduleFollowsTheFileOrder) {
  {
    SQLite::Database raw((dir_.path() / "state.db").string(), SQLite::OPEN_READWRITE);
    raw.exec(
        "INSERT INTO tasks (run, id, seq, phase, effort, hash, state, attempts, seconds) VALUES "
        "('r1', 'z-long', 10, 0, 1, 'hz', 'succeeded', 1, 10), "
        "('r1', 'a1', 11, 0, 1, 'ha1', 'succeeded', 1, 1), "
        "('r1', 'a2', 12, 0, 1, 'ha2', 'succeeded', 1, 1)");
  }
  BeginLaterRun("r2", 2, {{"execute", 100, ""}});
  store_->PutTask({"z-long", 0, 0, 1, "hz", TaskState::kPending, 0, "", ""});
  store_->PutTask({"a1", 1, 0, 1, "ha1", TaskState::kPending, 0, "", ""});
  store_->PutTask({"a2", 2, 0, 1, "ha2", TaskState::kPending, 0, "", ""});
  ASSERT_TRUE(store_->Commit()) << store_->error();
  nlohmann::ordered_json s;
  ASSERT_TRUE(store_->ReadStatus("r2", kNow, true, &s)) << store_->error();
  // z-long and a1 first, a2 after a1, on two slots: 10 s. In the order of the ids (a1 and a2
  // first, then z-long) it would be 11.
  EXPECT_DOUBLE_EQ(s["eta_seconds"].get<double>(), 10);
}

// Queue time is not run time: a cluster job still pending has not started its run, and the tasks
// of the cluster yet to run are expected to wait in the queue as this run's jobs did. Where an
// attempt is comes from its last task_queued event's `queue_state`; with `older_events`, the
// events are as a mex before that field wrote them, and their reasons say the same, and bodies
// that are not JSON objects (no mex wrote them) are passed over.
void StatusTest::ExpectQueueWaitsApartFromRunTime(bool older_events) {
  BeginLaterRun("r3", 3, {{"execute", 100, ""}});
  const std::string cluster(kClusterKindSuffix);
  store_->PutTask({"c1", 0, 0, 1, "h1", TaskState::kRunning, 1, "", cluster});
  store_->PutTask({"c2", 1, 0, 1, "h2", TaskState::kRunning, 1, "", cluster});
  store_->PutTask({"c3", 2, 0, 1, "h3", TaskState::kPending, 0, "", cluster});
  // c1 waited 20 s in the queue, then ran 10 s (its start is when it left the queue).
  Queued("c1", QueueState::kPending, "pending (Priority)");
  Queued("c1", QueueState::kRunning, "running", 20);
  Attempt("c1", 1, 930, 940, "exited", "", "");
  store_->TaskChanged("c1", TaskState::kSucceeded, 1);
  // c2 was submitted at 990 and still waits.
  Queued("c2", QueueState::kSubmitWait, "waiting to submit (QOSMaxSubmitJobPerUserLimit)");
  Queued("c2", QueueState::kPending, "pending (Resources)");
  Attempt("c2", 1, 990, 0, "", "", "pending (Resources)");
  ASSERT_TRUE(store_->Commit()) << store_->error();
  auto read = [&] {
    if (older_events) {
      SQLite::Database raw((dir_.path() / "state.db").string(), SQLite::OPEN_READWRITE);
      raw.exec(
          "UPDATE events SET body = json_remove(body, '$.queue_state') WHERE json_valid(body)");
      raw.exec(
          "INSERT INTO events (run, time, kind, task, body) VALUES "
          "('r3', 950, 'task_queued', 'c1', '{\"queued_s\": 500, '), "
          "('r3', 951, 'task_queued', 'c1', '[\"running\", 500]'), "
          "('r3', 952, 'task_queued', 'c1', '')");
      EXPECT_EQ(
          raw.execAndGet("SELECT count(*) FROM events WHERE body LIKE '%queue_state%'").getInt(),
          0);
    }
    nlohmann::ordered_json s;
    EXPECT_TRUE(store_->ReadStatus("r3", kNow, true, &s)) << store_->error();
    return s;
  };
  nlohmann::ordered_json s = read();
  EXPECT_EQ(s["running"][0]["queue"], "pending (Resources)");
  // A wait of (20 + 10) s over the 2 attempts so far: 15 s each. c2: 5 s more in the queue, then
  // its 10 s run; c3: 15 s in the queue, then 10 s. Its 10 s in the queue taken as run time, c2
  // would be nearly done, and the estimate 10 s.
  EXPECT_DOUBLE_EQ(s["eta_seconds"].get<double>(), 25);
  // A job whose state mex cannot read may be running: its time counts as run time.
  Queued("c2", QueueState::kUnknown, "state unknown (sacct: Connection refused)");
  Attempt("c2", 1, 990, 0, "", "", "state unknown (sacct: Connection refused)");
  ASSERT_TRUE(store_->Commit()) << store_->error();
  s = read();
  EXPECT_EQ(s["running"][0]["queue"], "state unknown (sacct: Connection refused)");
  // c2: its 10 s taken as run, a third of that again; the mean wait is c1's 20 s over 2
  // attempts, 10 s: c3 waits 10 s and runs 10 s.
  EXPECT_DOUBLE_EQ(s["eta_seconds"].get<double>(), 20);
}

TEST_F(StatusTest, TheEstimateKeepsQueueWaitsApartFromRunTime) {
  ExpectQueueWaitsApartFromRunTime(/*older_events=*/false);
}

// A state.db of an earlier run, whose task_queued events have no `queue_state`, reads alike.
TEST_F(StatusTest, QueueWaitsOfEventsWithoutQueueStateReadAlike) {
  ExpectQueueWaitsApartFromRunTime(/*older_events=*/true);
}

// A later run of the same milestone: its tasks take, first, the seconds they took in r1 (by
// definition hash, else by id), and a phase with tasks_from not yet started makes the estimate
// provisional, with that phase's time in r1 added.
TEST_F(StatusTest, HistoryOfEarlierRunsAndProvisionalPhases) {
  store_.reset();
  std::string err;
  store_ = SqliteStore::Open(dir_.path().string(), false, &err);
  ASSERT_TRUE(store_) << err;
  {
    SQLite::Database raw((dir_.path() / "state.db").string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE phases SET tasks_from = 'd2' WHERE run = 'r1' AND name = 'spec'");
    raw.exec("UPDATE tasks SET hash = 'hd1' WHERE run = 'r1' AND id = 'd1'");
  }
  BeginLaterRun("r2", 2, {{"design", 15, ""}, {"spec", 85, "d2"}});
  // r1's d1 renamed (the same hash); d2 has another hash but the same id.
  store_->PutTask({"e1", 0, 0, 2, "hd1", TaskState::kRunning, 1, "", ""});
  store_->PutTask({"d2", 1, 0, 3, "other", TaskState::kPending, 0, "e1", ""});
  Attempt("e1", 1, 996, 0, "", "", "");
  ASSERT_TRUE(store_->Commit()) << store_->error();
  nlohmann::ordered_json s;
  ASSERT_TRUE(store_->ReadStatus("r2", kNow, true, &s)) << store_->error();
  // e1 (d1) took 10 s in r1 and has run 4: 6 s left; then d2, 20 s in r1; then the spec phase,
  // whose attempts ran from 400 to 910 in r1: 510 s.
  EXPECT_DOUBLE_EQ(s["eta_seconds"].get<double>(), 6 + 20 + 510);
  EXPECT_EQ(s["eta_basis"], "history");
  EXPECT_EQ(s["eta_provisional"], true);
  std::string text = FormatStatus(s);
  EXPECT_NE(text.find("about 8m56s left"), std::string::npos) << text;
  EXPECT_NE(text.find("provisional"), std::string::npos) << text;
}

TEST_F(StatusTest, AFinishedRunHasNoEtaAndAPassedEmptyPhaseIsDone) {
  Phase(EventKind::kPhaseFinished, "spec", false);
  Phase(EventKind::kPhaseStarted, "execute");
  Phase(EventKind::kPhaseFinished, "execute", true);
  Event finished(EventKind::kRunFinished);
  finished.reason = "failed";
  finished.exit_code = 1;
  store_->Append(finished);
  ASSERT_TRUE(store_->Commit());
  for (bool live : {true, false}) {
    nlohmann::ordered_json s = Status(live);
    EXPECT_EQ(s["state"], "failed");
    EXPECT_TRUE(s["eta_seconds"].is_null());
    EXPECT_EQ(s["progress"]["phases"][2]["progress"], 1.0);
    // 15 × 1 + 25 × 0 (failed, none of its tasks succeeded) + 60 × 1 (passed)
    EXPECT_DOUBLE_EQ(s["progress"]["weighted"].get<double>(), 0.75);
  }
}

TEST_F(StatusTest, GateScoresWhenRecorded) {
  SQLite::Database raw((dir_.path() / "state.db").string(), SQLite::OPEN_READWRITE);
  raw.exec(
      "UPDATE phases SET gate_score = 0.92, gate_min_score = 0.8, gate_passed = 1 "
      "WHERE name = 'design'");
  nlohmann::ordered_json s = Status(true);
  EXPECT_EQ(s["progress"]["phases"][0]["gate"],
            nlohmann::ordered_json::parse(R"({"score": 0.92, "min_score": 0.8, "passed": true})"));
  EXPECT_TRUE(s["progress"]["phases"][1]["gate"].is_null());
  EXPECT_NE(FormatStatus(s).find("passed (score 0.92, min 0.80)"), std::string::npos)
      << FormatStatus(s);
}

TEST_F(StatusTest, UnknownRunIsAnError) {
  nlohmann::ordered_json status;
  EXPECT_FALSE(store_->ReadStatus("r9", kNow, true, &status));
  EXPECT_NE(store_->error().find("no run 'r9' recorded"), std::string::npos) << store_->error();
}

TEST_F(StatusTest, Text) {
  std::string text = FormatStatus(Status(true));
  EXPECT_EQ(text,
            "milestone build, run r1: running\n"
            "started 1970-01-01 00:01:40 UTC, 15.0% done, about 1m00s left (32.0s–1m30s)\n"
            "\n"
            "  phase    weight  progress  ended  succeeded  failed  skipped  running\n"
            "  design      15%      100%    2/2          2       0        0        0\n"
            "  spec        25%        0%    2/4          0       1        1        1\n"
            "  execute     60%        0%    0/0          0       0        0        0\n"
            "\n"
            "running (1)\n"
            "  s3  attempt 2  30.0s  stalled\n"
            "\n"
            "failed (1)\n"
            "  s1  3 attempts  logic: exit code 3\n")
      << text;
}

TEST(IsoTimeMsTest, Formats) {
  EXPECT_EQ(IsoTimeMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTimeMs(1.5), "1970-01-01T00:00:01.500Z");
  EXPECT_EQ(IsoTimeMs(1.9996), "1970-01-01T00:00:02.000Z");
  EXPECT_EQ(IsoTimeMs(1795727700.123), "2026-11-26T21:15:00.123Z");
}

}  // namespace
}  // namespace mex
