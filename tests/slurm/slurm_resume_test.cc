// Resuming a run whose mex was killed (kill -9) while its jobs were queued or running, on the
// local cluster of scripts/slurm-local.sh: the next `mex run` follows those jobs to their end
// instead of submitting the tasks again (docs/slurm.md, "Interrupting and resuming"), and cancels
// the job of a task whose definition changed meanwhile. Each test controls when its jobs end (a
// file they wait for) and waits for events, never for a fixed time. A stand-in sbatch first in
// PATH counts the submissions.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/slurm/slurm_test_util.h"
#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using slurm_test::ClusterNotUp;
using slurm_test::Eventually;
using slurm_test::Of;
using slurm_test::QueuedJobs;
using slurm_test::Shell;
using testing_util::ParseNdjson;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::StartMex;
using testing_util::TempDir;
using testing_util::WaitMex;
using testing_util::WriteFile;

// In a resumed session's `events` (`out` for the messages): `task`'s followed attempt 1 failed
// with exit 3, a logic failure retried once, and attempt 2 succeeded.
void ExpectExit3ThenSuccess(const std::vector<nlohmann::json>& events, const std::string& task,
                            const std::string& out) {
  auto retries = Of(events, "task_retry", task);
  ASSERT_EQ(retries.size(), 1u) << out;
  EXPECT_EQ(retries[0]["attempt"], 1);
  EXPECT_EQ(retries[0]["class"], "logic");
  EXPECT_EQ(retries[0]["reason"], "exit 3");
  auto succeeded = Of(events, "task_succeeded", task);
  ASSERT_EQ(succeeded.size(), 1u) << out;
  EXPECT_EQ(succeeded[0]["attempt"], 2);
}

// A task whose job writes its id to TASK.id, waits for the file `release`, then says which attempt
// of which job finished it.
std::string WaitingTask(const std::string& id) {
  return fmt::format(
      "  - id: {0}\n"
      "    run: |\n"
      "      echo $SLURM_JOB_ID > {0}.id\n"
      "      while [ ! -e release ]; do sleep 0.2; done\n"
      "      echo attempt $MEX_ATTEMPT done in job $SLURM_JOB_ID\n",
      id);
}

class SlurmResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("MEX_SLURM_LOCAL_FOLDER", "1", 1);
    ASSERT_EQ(ClusterNotUp(), "");
    old_path_ = getenv("PATH");
  }
  void TearDown() override {
    setenv("PATH", old_path_.c_str(), 1);
    // Nothing of this test's runs stays queued, whatever failed.
    for (const std::string& run : runs_) {
      std::vector<std::string> left = QueuedJobs("mex." + run + ".", /*elements=*/true);
      std::string ids;
      for (const std::string& id : left) ids += " " + id;
      if (!ids.empty()) Shell("scancel" + ids);
    }
  }

  void Write(const std::string& yaml) { WriteFile(dir_.path() / "m.yaml", yaml); }
  fs::path Path(const std::string& name) const { return dir_.path() / name; }

  // A stand-in sbatch first in PATH: it counts its calls in `sbatch.calls` and runs the real one;
  // `after` runs after the real one, with its output in $OUT.
  void StandInSbatch(const std::string& after = "") {
    fs::path bin = Path("bin");
    fs::create_directories(bin);
    std::string real = Shell("command -v sbatch").out;
    if (!real.empty()) real.pop_back();
    WriteFile(bin / "sbatch", "#!/bin/sh\necho call >> " + Path("sbatch.calls").string() +
                                  "\nOUT=$(" + real + " \"$@\")\ncode=$?\n" + after +
                                  "printf '%s\\n' \"$OUT\"\nexit $code\n");
    fs::permissions(bin / "sbatch", fs::perms::owner_all);
    setenv("PATH", (bin.string() + ":" + old_path_).c_str(), 1);
  }
  int SbatchCalls() const {
    std::string calls = ReadFile(Path("sbatch.calls"));
    return static_cast<int>(std::count(calls.begin(), calls.end(), '\n'));
  }

  pid_t Start(const std::string& out) {
    return StartMex({"run", "m.yaml", "--json"}, dir_.path().string(), Path(out).string());
  }
  std::vector<nlohmann::json> Events(const std::string& out) const {
    return ParseNdjson(ReadFile(Path(out)));
  }
  // The run id once the session at `out` reported it started.
  std::string RunOf(const std::string& out) {
    for (const auto& e : Events(out)) {
      if (e["event"] == "run_started") {
        std::string run = e["run"];
        if (std::find(runs_.begin(), runs_.end(), run) == runs_.end()) runs_.push_back(run);
        return run;
      }
    }
    return "";
  }
  // What state.db holds of attempt `n` of `task`: its job id ("" while none is recorded) and how
  // it ended ("" while in flight).
  struct Recorded {
    std::string job;
    std::string end;
  };
  Recorded Attempt(const std::string& task, int n) const {
    Recorded r;
    try {
      SQLite::Database db(Path(".mex/state.db").string(), SQLite::OPEN_READONLY);
      SQLite::Statement q(db,
                          "SELECT pgid, start_time, end_reason FROM attempts WHERE task = ? AND "
                          "n = ?");
      q.bind(1, task);
      q.bind(2, n);
      if (q.executeStep()) {
        int64_t id = q.getColumn(0).getInt64();
        int64_t element = q.getColumn(1).getInt64();
        if (id > 0) r.job = std::to_string(id);
        if (id > 0 && element > 0) r.job += "_" + std::to_string(element - 1);
        r.end = q.getColumn(2).getString();
      }
    } catch (const SQLite::Exception&) {
      // Not there yet: nothing recorded.
    }
    return r;
  }
  std::string Log(const std::string& run, const std::string& task, int attempt) const {
    return ReadFile(dir_.path() / ".mex/runs" / run / "logs" /
                    fmt::format("{}.{}.log", task, attempt));
  }
  // Starts mex (its output in out1), waits until `task`'s first attempt runs as a recorded job
  // that wrote its id to TASK.id, and kills mex with SIGKILL. The job's id ("" if it never ran),
  // and the run's in `run`.
  std::string KillWhileItRuns(const std::string& task, std::string* run) {
    pid_t mex = Start("out1");
    std::string id;
    const bool running = Eventually([&] {
      id = Attempt(task, 1).job;
      return !id.empty() && ReadFile(Path(task + ".id")) == id + "\n";
    });
    *run = RunOf("out1");
    kill(mex, SIGKILL);
    WaitMex(mex);
    EXPECT_TRUE(running) << ReadFile(Path("out1"));
    return running ? id : "";
  }
  // The attempt's start as state.db has it, seconds since the Unix epoch.
  double StartedAt(const std::string& task, int n) const {
    SQLite::Database db(Path(".mex/state.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT started_at FROM attempts WHERE task = ? AND n = ?");
    q.bind(1, task);
    q.bind(2, n);
    return q.executeStep() ? q.getColumn(0).getDouble() : 0;
  }
  static std::string JobState(const std::string& id) {
    return Shell("squeue -h -r -j " + id + " -o %T 2>/dev/null").out;
  }

  TempDir dir_;
  std::string old_path_;
  std::vector<std::string> runs_;
};

// kill -9 of mex while its job runs, its id recorded: the next `mex run` follows the job (the
// same attempt, the same job id, its log), and the job's end finishes the task. One sbatch in all.
TEST_F(SlurmResumeTest, FollowsARunningJobAfterKill9) {
  StandInSbatch();
  Write("defaults: {executor: slurm}\ntasks:\n" + WaitingTask("long"));
  std::string run;
  const std::string id = KillWhileItRuns("long", &run);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(JobState(id), "RUNNING\n");
  // The dry run says so.
  Result dry = RunMex({"run", "m.yaml", "-n"}, dir_.path().string());
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("run   long: attempt 1 goes on: its Slurm job " + id + " is followed"),
            std::string::npos)
      << dry.out;

  pid_t again = Start("out2");
  ASSERT_TRUE(Eventually([&] { return !Of(Events("out2"), "task_started", "long").empty(); }))
      << ReadFile(Path("out2"));
  auto started = Of(Events("out2"), "task_started", "long")[0];
  EXPECT_EQ(started["attempt"], 1) << started;
  EXPECT_EQ(started.value("followed", false), true) << started;
  // `mex status` shows it running, as any attempt of the session.
  Result status = RunMex({"status", "m.yaml", "--json"}, dir_.path().string());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto running = nlohmann::json::parse(status.out)["running"];
  ASSERT_EQ(running.size(), 1u) << status.out;
  EXPECT_EQ(running[0]["id"], "long");
  EXPECT_EQ(running[0]["attempt"], 1);
  EXPECT_EQ(JobState(id), "RUNNING\n");

  WriteFile(Path("release"), "");
  EXPECT_EQ(WaitMex(again), 0) << ReadFile(Path("out2"));
  auto done = Of(Events("out2"), "task_succeeded", "long");
  ASSERT_EQ(done.size(), 1u) << ReadFile(Path("out2"));
  EXPECT_EQ(done[0]["attempt"], 1);
  EXPECT_EQ(Of(Events("out2"), "task_started", "long").size(), 1u);
  EXPECT_EQ(Log(run, "long", 1), "attempt 1 done in job " + id + "\n");
  EXPECT_FALSE(fs::exists(dir_.path() / ".mex/runs" / run / "logs/long.2.log"));
  EXPECT_EQ(SbatchCalls(), 1);
  EXPECT_EQ(Attempt("long", 1).job, id);
  EXPECT_EQ(Attempt("long", 1).end, "exited");
  EXPECT_TRUE(QueuedJobs("mex." + run + ".", /*elements=*/true).empty());
}

// mex killed after sbatch took the job and before it recorded the job's id (the stand-in sbatch
// kills it, once): the next `mex run` finds the job by its name, records its id and follows it.
// One job for the task, one sbatch in all.
TEST_F(SlurmResumeTest, FollowsAJobSubmittedButNotRecorded) {
  StandInSbatch("if [ $code = 0 ] && [ ! -e " + Path("killed").string() +
                " ]; then echo \"$OUT\" > " + Path("submitted").string() + "; touch " +
                Path("killed").string() + "; kill -9 $PPID; fi\n");
  Write("defaults: {executor: slurm}\ntasks:\n" + WaitingTask("early"));
  pid_t mex = Start("out1");
  EXPECT_EQ(WaitMex(mex), 128 + SIGKILL) << ReadFile(Path("out1"));
  const std::string run = RunOf("out1");
  std::string id = ReadFile(Path("submitted"));
  ASSERT_TRUE(id.ends_with("\n")) << id;
  id.pop_back();
  EXPECT_EQ(Attempt("early", 1).job, "");  // committed before sbatch, its id never recorded
  EXPECT_EQ(Attempt("early", 1).end, "");
  EXPECT_NE(JobState(id), "");

  pid_t again = Start("out2");
  ASSERT_TRUE(Eventually([&] { return Attempt("early", 1).job == id; })) << ReadFile(Path("out2"));
  auto started = Of(Events("out2"), "task_started", "early");
  ASSERT_EQ(started.size(), 1u) << ReadFile(Path("out2"));
  EXPECT_EQ(started[0].value("followed", false), true);
  EXPECT_EQ(QueuedJobs("mex." + run + ".", /*elements=*/true), std::vector<std::string>{id});
  WriteFile(Path("release"), "");
  EXPECT_EQ(WaitMex(again), 0) << ReadFile(Path("out2"));
  auto done = Of(Events("out2"), "task_succeeded", "early");
  ASSERT_EQ(done.size(), 1u) << ReadFile(Path("out2"));
  EXPECT_EQ(done[0]["attempt"], 1);
  EXPECT_EQ(Log(run, "early", 1), "attempt 1 done in job " + id + "\n");
  EXPECT_EQ(SbatchCalls(), 1);
}

// mex killed after sbatch took a job array and before it recorded its id: the next `mex run`
// finds each element by the array's name and the line of the array's script that writes to the
// attempt's log, records it and follows it. One sbatch in all.
TEST_F(SlurmResumeTest, FollowsAnArraySubmittedButNotRecorded) {
  StandInSbatch("if [ $code = 0 ] && [ ! -e " + Path("killed").string() +
                " ]; then echo \"$OUT\" > " + Path("submitted").string() + "; touch " +
                Path("killed").string() + "; kill -9 $PPID; fi\n");
  Write(
      "defaults: {executor: slurm}\nslurm: {arrays: true}\ntasks:\n"
      "  - {id: r1, run: 'while [ ! -e release ]; do sleep 0.2; done; echo r1 $MEX_ATTEMPT'}\n"
      "  - {id: r2, run: 'while [ ! -e release ]; do sleep 0.2; done; echo r2 $MEX_ATTEMPT'}\n");
  pid_t mex =
      StartMex({"run", "m.yaml", "--json", "-j", "4"}, dir_.path().string(), Path("out1").string());
  EXPECT_EQ(WaitMex(mex), 128 + SIGKILL) << ReadFile(Path("out1"));
  const std::string run = RunOf("out1");
  std::string array = ReadFile(Path("submitted"));
  ASSERT_TRUE(array.ends_with("\n")) << array;
  array.pop_back();
  EXPECT_EQ(Attempt("r1", 1).job, "");
  EXPECT_EQ(Attempt("r2", 1).job, "");

  pid_t again =
      StartMex({"run", "m.yaml", "--json", "-j", "4"}, dir_.path().string(), Path("out2").string());
  ASSERT_TRUE(Eventually([&] {
    return !Attempt("r1", 1).job.empty() && !Attempt("r2", 1).job.empty();
  })) << ReadFile(Path("out2"));
  std::vector<std::string> ids = {Attempt("r1", 1).job, Attempt("r2", 1).job};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{array + "_0", array + "_1"}));
  WriteFile(Path("release"), "");
  EXPECT_EQ(WaitMex(again), 0) << ReadFile(Path("out2"));
  for (const char* task : {"r1", "r2"}) {
    auto started = Of(Events("out2"), "task_started", task);
    ASSERT_EQ(started.size(), 1u) << ReadFile(Path("out2"));
    EXPECT_EQ(started[0].value("followed", false), true);
    EXPECT_EQ(Of(Events("out2"), "task_succeeded", task)[0]["attempt"], 1);
    EXPECT_EQ(Log(run, task, 1), std::string(task) + " 1\n");
  }
  EXPECT_EQ(SbatchCalls(), 1);
  EXPECT_TRUE(QueuedJobs("mex." + run + ".", /*elements=*/true).empty());
}

// A followed job that ended while mex was away (FAILED, exit 3) ends its attempt as a job of the
// session would: a logic failure, retried as attempt 2, a new job.
TEST_F(SlurmResumeTest, AJobThatFailedWhileMexWasAwayIsClassifiedAndRetried) {
  StandInSbatch();
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 2, backoff: {initial: 100ms}}}\n"
      "tasks:\n"
      "  - id: flaky\n"
      "    run: |\n"
      "      echo $SLURM_JOB_ID > flaky.id\n"
      "      while [ ! -e release ]; do sleep 0.2; done\n"
      "      [ \"$MEX_ATTEMPT\" = 1 ] && { echo failing; exit 3; }\n"
      "      echo attempt $MEX_ATTEMPT ok\n");
  std::string run;
  const std::string id = KillWhileItRuns("flaky", &run);
  ASSERT_FALSE(id.empty());
  WriteFile(Path("release"), "");
  ASSERT_TRUE(Eventually([&] { return JobState(id).empty(); }));  // over, mex away

  Result r = RunMex({"run", "m.yaml", "--json"}, dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto events = ParseNdjson(r.out);
  auto started = Of(events, "task_started", "flaky");
  ASSERT_EQ(started.size(), 2u) << r.out;
  EXPECT_EQ(started[0]["attempt"], 1);
  EXPECT_EQ(started[0].value("followed", false), true);
  ExpectExit3ThenSuccess(events, "flaky", r.out);
  EXPECT_EQ(Log(run, "flaky", 1), "failing\n");
  EXPECT_EQ(Log(run, "flaky", 2), "attempt 2 ok\n");
  EXPECT_EQ(Attempt("flaky", 1).end, "exited");
  EXPECT_EQ(SbatchCalls(), 2);
}

// A cluster without slurmdbd (a stand-in sacct fails as plain sacct does there, so mex reads the
// real completion log with sacct -c) and ends gone from squeue (a stand-in hides them, as once
// MinJobAge has passed): an array's elements that ran and ended while mex was dead are known to
// neither, since the completion log knows an element only by its own job id, which no session
// saw. Their job scripts wrote how their commands ended beside their logs: the resumed session
// ends them from that at once, r1 succeeded and r2 failed with exit 3 (logic, retried), neither
// lost nor run again. Two sbatch in all: the array, and r2's retry.
TEST_F(SlurmResumeTest, ArrayElementsThatEndedWhileMexWasAwayEndFromTheirExitMarkers) {
  StandInSbatch();
  const fs::path bin = Path("bin");
  slurm_test::FakeCommand(bin, "squeue", slurm_test::kSqueueWithoutEnded);
  slurm_test::FakeCommand(bin, "sacct", slurm_test::SacctWithoutSlurmdbd(Path("sacct.calls")));
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 2, backoff: {initial: 100ms}}}\n"
      "slurm: {arrays: true}\ntasks:\n"
      "  - {id: r1, run: 'echo $SLURM_JOB_ID > r1.id; while [ ! -e release ]; do sleep 0.2; "
      "done; echo r1 $MEX_ATTEMPT'}\n"
      "  - {id: r2, run: 'echo $SLURM_JOB_ID > r2.id; while [ ! -e release ]; do sleep 0.2; "
      "done; echo r2 $MEX_ATTEMPT; [ $MEX_ATTEMPT = 2 ] || exit 3'}\n");
  pid_t mex =
      StartMex({"run", "m.yaml", "--json", "-j", "4"}, dir_.path().string(), Path("out1").string());
  ASSERT_TRUE(Eventually([&] {
    return !Attempt("r1", 1).job.empty() && !Attempt("r2", 1).job.empty() &&
           ReadFile(Path("r1.id")).ends_with("\n") && ReadFile(Path("r2.id")).ends_with("\n");
  })) << ReadFile(Path("out1"));
  const std::string run = RunOf("out1");
  kill(mex, SIGKILL);
  WaitMex(mex);
  const std::string array = Attempt("r1", 1).job.substr(0, Attempt("r1", 1).job.find('_'));
  ASSERT_EQ(Attempt("r2", 1).job.substr(0, array.size() + 1), array + "_");  // one array
  EXPECT_EQ(Attempt("r1", 1).end, "");

  WriteFile(Path("release"), "");
  const fs::path logs = dir_.path() / ".mex/runs" / run / "logs";
  std::string states;
  ASSERT_TRUE(Eventually([&] {
    states = Shell("PATH=" + old_path_ + " squeue -h -r -t all -j " + Attempt("r1", 1).job + "," +
                   Attempt("r2", 1).job + " -o %T | sort")
                 .out;
    return states == "COMPLETED\nFAILED\n";
  })) << states;
  EXPECT_EQ(ReadFile(logs / "r1.1.exit"), "0\n");
  EXPECT_EQ(ReadFile(logs / "r2.1.exit"), "3\n");

  Result r = RunMex({"run", "m.yaml", "--json", "-j", "4"}, dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto events = ParseNdjson(r.out);
  for (const char* task : {"r1", "r2"}) {
    auto started = Of(events, "task_started", task);
    ASSERT_FALSE(started.empty()) << r.out;
    EXPECT_EQ(started[0]["attempt"], 1);
    EXPECT_EQ(started[0].value("followed", false), true) << started[0];
  }
  ASSERT_EQ(Of(events, "task_started", "r1").size(), 1u) << r.out;
  EXPECT_EQ(Of(events, "task_succeeded", "r1")[0]["attempt"], 1);
  ExpectExit3ThenSuccess(events, "r2", r.out);
  EXPECT_EQ(Log(run, "r1", 1), "r1 1\n");
  EXPECT_EQ(Log(run, "r2", 1), "r2 1\n");
  EXPECT_EQ(Log(run, "r2", 2), "r2 2\n");
  EXPECT_EQ(SbatchCalls(), 2);
  // The completion log was asked first, by the elements' ids, and knew neither.
  const std::string asked = ReadFile(Path("sacct.calls"));
  EXPECT_NE(asked.find("-c -n -P -j "), std::string::npos) << asked;
  EXPECT_NE(asked.find(Attempt("r1", 1).job), std::string::npos) << asked;
}

// A recorded job that neither squeue nor sacct knows (here state.db is made to name a job id the
// cluster never gave) ends as lost after the grace period: transient, retried. The run's real job,
// which no attempt claims any more, is cancelled by its name as the session starts.
TEST_F(SlurmResumeTest, AJobNothingKnowsIsLostAndRetried) {
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 2, backoff: {initial: 100ms}}}\n"
      "tasks:\n"
      "  - id: long\n"
      "    run: |\n"
      "      [ \"$MEX_ATTEMPT\" = 2 ] && { echo second; exit 0; }\n"
      "      echo $SLURM_JOB_ID > long.id\n"
      "      while [ ! -e release ]; do sleep 0.2; done\n");
  std::string run;
  const std::string id = KillWhileItRuns("long", &run);
  ASSERT_FALSE(id.empty());
  {
    SQLite::Database db(Path(".mex/state.db").string(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE attempts SET pgid = 60000000 WHERE task = 'long' AND n = 1");
  }
  Result r = RunMex({"run", "m.yaml", "--json"}, dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto events = ParseNdjson(r.out);
  auto started = Of(events, "task_started", "long");
  ASSERT_EQ(started.size(), 2u) << r.out;
  EXPECT_EQ(started[0].value("followed", false), true);
  auto retries = Of(events, "task_retry", "long");
  ASSERT_EQ(retries.size(), 1u) << r.out;
  EXPECT_EQ(retries[0]["class"], "transient");
  EXPECT_EQ(retries[0]["reason"],
            "slurm: job 60000000 left the queue with no final state in sacct");
  EXPECT_EQ(Of(events, "task_succeeded", "long")[0]["attempt"], 2);
  EXPECT_EQ(Log(run, "long", 2), "second\n");
  EXPECT_EQ(JobState(id), "");  // the real job: cancelled, claimed by no attempt
}

// A task whose definition changed while its job ran is not followed: the next `mex run` cancels
// the job and runs the task again, as the new definition says.
TEST_F(SlurmResumeTest, CancelsTheJobOfATaskWhoseDefinitionChanged) {
  StandInSbatch();
  Write("defaults: {executor: slurm}\ntasks:\n" + WaitingTask("long"));
  std::string run;
  const std::string id = KillWhileItRuns("long", &run);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(JobState(id), "RUNNING\n");
  Write(
      "defaults: {executor: slurm}\n"
      "tasks:\n  - {id: long, run: 'echo new attempt $MEX_ATTEMPT in job $SLURM_JOB_ID'}\n");
  Result r = RunMex({"run", "m.yaml", "--json"}, dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JobState(id), "");  // cancelled, gone before the task ran again
  auto started = Of(ParseNdjson(r.out), "task_started", "long");
  ASSERT_EQ(started.size(), 1u) << r.out;
  EXPECT_EQ(started[0]["attempt"], 2);
  EXPECT_FALSE(started[0].contains("followed"));
  EXPECT_EQ(started[0]["rerun"], "its definition changed, or a dep's");
  std::string log = Log(run, "long", 2);
  EXPECT_TRUE(log.starts_with("new attempt 2 in job ")) << log;
  EXPECT_EQ(log.find("job " + id + "\n"), std::string::npos) << log;
  EXPECT_EQ(Attempt("long", 1).end, "interrupted");
  EXPECT_EQ(SbatchCalls(), 2);
}

// --force names the task: its job is cancelled rather than followed, and the task runs again.
TEST_F(SlurmResumeTest, ForceCancelsTheJobInsteadOfFollowingIt) {
  Write("defaults: {executor: slurm}\ntasks:\n" + WaitingTask("long"));
  std::string run;
  const std::string id = KillWhileItRuns("long", &run);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(JobState(id), "RUNNING\n");
  pid_t again = StartMex({"run", "m.yaml", "--json", "--force", "long"}, dir_.path().string(),
                         Path("out2").string());
  std::string second;
  ASSERT_TRUE(Eventually([&] {
    second = Attempt("long", 2).job;
    return !second.empty() && ReadFile(Path("long.id")) == second + "\n";
  })) << ReadFile(Path("out2"));
  EXPECT_EQ(JobState(id), "");  // cancelled before the new job was submitted
  EXPECT_EQ(Attempt("long", 1).end, "interrupted");
  WriteFile(Path("release"), "");
  EXPECT_EQ(WaitMex(again), 0) << ReadFile(Path("out2"));
  auto started = Of(Events("out2"), "task_started", "long");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["rerun"], "forced (--force)");
  EXPECT_EQ(Log(run, "long", 2), "attempt 2 done in job " + second + "\n");
}

// kill -9 of mex while an array's elements wait (held): the next `mex run` follows each element by
// the array id and index state.db holds; released, they finish their tasks as attempt 1.
TEST_F(SlurmResumeTest, FollowsTheElementsOfAnArray) {
  StandInSbatch();
  Write(
      "defaults: {executor: slurm}\nslurm: {arrays: true, args: [--hold]}\n"
      "tasks:\n  - {id: r1, run: 'echo $MEX_ATTEMPT'}\n  - {id: r2, run: 'echo $MEX_ATTEMPT'}\n");
  pid_t mex = Start("out1");
  ASSERT_TRUE(Eventually([&] {
    return !Attempt("r1", 1).job.empty() && !Attempt("r2", 1).job.empty();
  })) << ReadFile(Path("out1"));
  const std::string run = RunOf("out1");
  std::vector<std::string> held = QueuedJobs("mex." + run + ".", /*elements=*/true);
  ASSERT_EQ(held.size(), 2u);
  kill(mex, SIGKILL);
  WaitMex(mex);
  EXPECT_EQ(Attempt("r1", 1).job, held[0]);

  pid_t again = Start("out2");
  ASSERT_TRUE(Eventually([&] {
    auto events = Events("out2");
    return !Of(events, "task_started", "r1").empty() && !Of(events, "task_started", "r2").empty();
  })) << ReadFile(Path("out2"));
  // Followed, not cancelled: still there, still held.
  EXPECT_EQ(QueuedJobs("mex." + run + ".", /*elements=*/true), held);
  Result release = Shell("scontrol release " + held[0].substr(0, held[0].find('_')));
  EXPECT_EQ(release.exit_code, 0) << release.err;
  EXPECT_EQ(WaitMex(again), 0) << ReadFile(Path("out2"));
  for (const char* task : {"r1", "r2"}) {
    auto done = Of(Events("out2"), "task_succeeded", task);
    ASSERT_EQ(done.size(), 1u) << ReadFile(Path("out2"));
    EXPECT_EQ(done[0]["attempt"], 1);
    EXPECT_EQ(Log(run, task, 1), "1\n");
  }
  EXPECT_EQ(SbatchCalls(), 1);
  EXPECT_TRUE(QueuedJobs("mex." + run + ".", /*elements=*/true).empty());
}

// A job pending at the kill (held) that started while mex was away: the resumed session sees it
// running at its first look, and its wait is kept apart from its run as for a job it saw wait:
// `running` with the time it waited, and the attempt's start moved to the job's.
TEST_F(SlurmResumeTest, AJobThatStartedWhileMexWasAwayKeepsItsWaitApart) {
  StandInSbatch();
  Write("defaults: {executor: slurm}\nslurm: {args: [--hold]}\ntasks:\n" + WaitingTask("long"));
  pid_t mex = Start("out1");
  ASSERT_TRUE(Eventually([&] { return !Attempt("long", 1).job.empty(); }))
      << ReadFile(Path("out1"));
  const std::string run = RunOf("out1");
  const std::string id = Attempt("long", 1).job;
  kill(mex, SIGKILL);
  WaitMex(mex);
  auto now = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  // Held 2 s past its submission, so that its wait shows at Slurm's resolution of a second.
  const double submitted = StartedAt("long", 1);
  ASSERT_TRUE(Eventually([&] { return now() > submitted + 2; }));
  const double released_at = std::floor(now()) - 1;  // Slurm's start is to the second
  Result release = Shell("scontrol release " + id);
  ASSERT_EQ(release.exit_code, 0) << release.err;
  ASSERT_TRUE(Eventually([&] { return ReadFile(Path("long.id")) == id + "\n"; }));

  pid_t again = Start("out2");
  ASSERT_TRUE(Eventually([&] {
    auto told = Of(Events("out2"), "task_queued", "long");
    return !told.empty() && told.back()["reason"] == "running";
  })) << ReadFile(Path("out2"));
  auto running = Of(Events("out2"), "task_queued", "long").back();
  EXPECT_GE(running["queued_s"].get<double>(), 1) << running;
  WriteFile(Path("release"), "");
  EXPECT_EQ(WaitMex(again), 0) << ReadFile(Path("out2"));
  EXPECT_GE(StartedAt("long", 1), released_at);  // its run, without its wait
  EXPECT_EQ(SbatchCalls(), 1);
}

// Ctrl-C of the session that follows a job cancels that job too, and leaves the run resumable.
TEST_F(SlurmResumeTest, CtrlCCancelsAFollowedJob) {
  Write("defaults: {executor: slurm}\ntasks:\n" + WaitingTask("long"));
  std::string run;  // for TearDown
  const std::string id = KillWhileItRuns("long", &run);
  ASSERT_FALSE(id.empty());
  pid_t again = Start("out2");
  ASSERT_TRUE(Eventually([&] { return !Of(Events("out2"), "task_started", "long").empty(); }))
      << ReadFile(Path("out2"));
  kill(again, SIGINT);
  EXPECT_EQ(WaitMex(again), 130) << ReadFile(Path("out2"));
  EXPECT_EQ(JobState(id), "");
  EXPECT_EQ(Of(Events("out2"), "task_cancelled", "long").size(), 1u) << ReadFile(Path("out2"));
  EXPECT_EQ(Attempt("long", 1).end, "cancelled");
}

}  // namespace
}  // namespace mex
