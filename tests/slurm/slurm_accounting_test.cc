// mex on the local Slurm cluster with its accounting: slurmdbd and MariaDB, which
// `scripts/slurm-local.sh start` runs by default (the CTest fixture `slurm`), and the QOS
// "mex-submit2" (MaxSubmitJobsPerUser=2) it registers. A real submit limit, slurmdbd stopped
// while jobs run (their ends read from the exit markers their scripts write, or unknown without
// those), and the path of a cluster without slurmdbd (sacct -c on the real completion log). They
// wait for events (a line, a file, a job in squeue), never for a fixed time, save the one grace
// period that SlurmdbdDownMakesStatesUnknownNotFailures holds slurmdbd down to show that it
// fails nothing. Where the cluster or its accounting is not up, every test fails with why.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/slurm/slurm_test_util.h"
#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using slurm_test::Cluster;
using slurm_test::Eventually;
using slurm_test::FakeCommand;
using slurm_test::kSqueueWithoutEnded;
using slurm_test::Of;
using slurm_test::Shell;
using testing_util::ParseNdjson;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::StartMex;
using testing_util::TempDir;
using testing_util::WaitMex;
using testing_util::WriteFile;

// The QOS slurm-local.sh registers for these tests; no other job asks for it.
constexpr char kQos[] = "mex-submit2";

// The events whose kind is `kind` and whose reason starts with `prefix`.
std::vector<nlohmann::json> WithReason(const std::vector<nlohmann::json>& events,
                                       std::string_view kind, std::string_view prefix) {
  std::vector<nlohmann::json> found;
  for (const auto& e : Of(events, kind)) {
    if (e.value("reason", "").starts_with(prefix)) found.push_back(e);
  }
  return found;
}

std::string RunId(const std::vector<nlohmann::json>& events) {
  for (const auto& e : events) {
    if (e["event"] == "run_started") return e["run"];
  }
  return "";
}

// How many of the jobs (array elements one by one) whose name starts with `prefix` are running.
int RunningJobs(const std::string& prefix) {
  Result q = Shell("squeue -h -r -t R -o '%i|%j'");
  int n = 0;
  std::istringstream in(q.out);
  for (std::string line; std::getline(in, line);) {
    size_t bar = line.find('|');
    if (bar != std::string::npos && line.substr(bar + 1).starts_with(prefix)) ++n;
  }
  return n;
}

// A task of `id` that waits for the file `go`, then runs `then`: a job that runs until the test
// lets it end.
std::string GatedTask(const std::string& id, const fs::path& go, const std::string& then) {
  return fmt::format("  - {{id: {}, run: 'while [ ! -f {} ]; do sleep 0.2; done; {}'}}\n", id,
                     go.string(), then);
}

// Starts slurmdbd again when it goes out of scope, whatever the test's outcome, unless it was
// already brought back (Restore).
class SlurmdbdOutage {
 public:
  SlurmdbdOutage() { stopped_ = Cluster("stop-dbd"); }
  ~SlurmdbdOutage() {
    if (!restored_) Restore();
  }
  SlurmdbdOutage(const SlurmdbdOutage&) = delete;
  SlurmdbdOutage& operator=(const SlurmdbdOutage&) = delete;
  const Result& stopped() const { return stopped_; }
  // Whether slurmdbd stopped and sacct fails for it, or why not.
  ::testing::AssertionResult Down() const {
    if (stopped_.exit_code != 0) return ::testing::AssertionFailure() << stopped_.err;
    Result sacct = Shell("sacct -n -X -j 1 2>&1");
    if (sacct.exit_code == 0) {
      return ::testing::AssertionFailure()
             << "sacct still answers with slurmdbd stopped: " << sacct.out;
    }
    return ::testing::AssertionSuccess();
  }
  Result Restore() {
    restored_ = true;
    return Cluster("start");
  }

 private:
  Result stopped_;
  bool restored_ = false;
};

class SlurmAccountingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("MEX_SLURM_LOCAL_FOLDER", "1", 1);  // a one-node cluster shares /tmp with its node
    Result up = Cluster("status");
    ASSERT_EQ(up.exit_code, 0)
        << "the local Slurm cluster with slurmdbd is not up: the fixture slurm.up "
           "(scripts/slurm-local.sh start) failed or did not run, or started it without "
           "accounting (MEX_SLURM_DBD=0); its output says why. status: "
        << up.out << up.err;
    Result qos = Shell(std::string("sacctmgr -n -P show qos ") + kQos + " format=maxsubmitjobspu");
    ASSERT_EQ(qos.out, "2\n") << "no QOS " << kQos << " with MaxSubmitJobsPerUser=2: " << qos.err;
  }

  void Write(const std::string& yaml) { WriteFile(dir_.path() / "m.yaml", yaml); }
  // `mex run m.yaml --json` with PATH `path` (stand-ins first), its output in `out`.
  pid_t StartWithPath(const std::string& path, const fs::path& out) {
    const std::string old_path = getenv("PATH");
    setenv("PATH", path.c_str(), 1);
    pid_t mex = StartMex({"run", "m.yaml", "--json"}, dir_.path().string(), out.string());
    setenv("PATH", old_path.c_str(), 1);
    return mex;
  }

  // `mex run m.yaml --json` with squeue as after MinJobAge (kSqueueWithoutEnded): the run's id
  // once `jobs` of its jobs run, "" if they never do.
  std::string StartWithoutEnded(const fs::path& out, int jobs, pid_t* mex) {
    *mex = StartWithPath(FakeCommand(dir_.path() / "bin", "squeue", kSqueueWithoutEnded), out);
    std::string run;
    bool up = Eventually([&] {
      run = RunId(ParseNdjson(ReadFile(out)));
      return !run.empty() && RunningJobs("mex." + run + ".") == jobs;
    });
    return up ? run : "";
  }

  TempDir dir_;
};

// A QOS that lets the user have 2 jobs queued or running: the real controller refuses mex's
// sbatch (QOSMaxSubmitJobPerUserLimit). mex's first array of 6 is refused whole (an array counts
// as one job per element); the tasks wait and are submitted again as the limit lets them, every
// one on its first attempt, and where they wait shows in the events and in `mex status`.
TEST_F(SlurmAccountingTest, QosSubmitLimitIsBackPressure) {
  std::string yaml = fmt::format(
      "defaults: {{executor: slurm, retry: {{max_attempts: 1}}}}\n"
      "slurm: {{qos: {}}}\n"
      "tasks:\n",
      kQos);
  for (int i = 1; i <= 6; ++i)
    yaml += fmt::format("  - {{id: t{}, run: 'sleep 3; echo t{} done'}}\n", i, i);
  Write(yaml);
  fs::path out = dir_.path() / "out";
  pid_t mex = StartMex({"run", "m.yaml", "--json", "-j", "6"}, dir_.path().string(), out.string());
  // While some wait to be submitted, `mex status` says so.
  ASSERT_TRUE(Eventually([&] {
    return !WithReason(ParseNdjson(ReadFile(out)), "task_queued", "waiting to submit").empty();
  })) << ReadFile(out);
  std::string seen;
  EXPECT_TRUE(Eventually(
      [&] {
        Result status = RunMex({"status", "m.yaml", "--json"}, dir_.path().string());
        seen = status.out + status.err;
        return status.out.find("waiting to submit (QOSMaxSubmitJobPerUserLimit)") !=
               std::string::npos;
      },
      20))
      << seen;
  int code = WaitMex(mex);
  std::string text = ReadFile(out);
  ASSERT_EQ(code, 0) << text;
  auto events = ParseNdjson(text);
  EXPECT_TRUE(Of(events, "task_retry").empty()) << text;
  EXPECT_TRUE(Of(events, "task_failed").empty()) << text;
  for (int i = 1; i <= 6; ++i) {
    std::string task = fmt::format("t{}", i);
    auto done = Of(events, "task_succeeded", task);
    ASSERT_EQ(done.size(), 1u) << text;
    EXPECT_EQ(done[0]["attempt"], 1) << task;  // no attempt spent on a refusal
  }
  // The refusals are Slurm's own, told once per task and reason; a task told it waited is told
  // when it runs (its wait, in the reports, is a queue wait).
  auto refused = WithReason(events, "task_queued", "waiting to submit");
  ASSERT_GE(refused.size(), 4u) << text;
  for (const auto& e : refused) {
    EXPECT_EQ(e["reason"], "waiting to submit (QOSMaxSubmitJobPerUserLimit)") << e.dump();
    EXPECT_EQ(e["queue_state"], "submit_wait") << e.dump();
    EXPECT_EQ(WithReason(Of(events, "task_queued", e["task"].get<std::string>()), "task_queued",
                         "running")
                  .size(),
              1u)
        << e.dump();
  }
  // Slurm's accounting has all six, run under the QOS, and no more (nothing twice); slurmdbd
  // may hear of the last ends a moment after squeue showed them.
  const std::string run = RunId(events);
  std::string acct;
  EXPECT_TRUE(Eventually(
      [&] {
        Result r = Shell("sacct -n -P -X -S now-1hours -o JobID,JobName,QOS,State");
        acct = r.out + r.err;
        int completed = 0, mine = 0;
        std::istringstream in(r.out);
        for (std::string line; std::getline(in, line);) {
          if (line.find("|mex." + run + ".") == std::string::npos) continue;
          ++mine;
          completed += line.find(fmt::format("|{}|COMPLETED", kQos)) != std::string::npos;
        }
        return r.exit_code == 0 && mine == 6 && completed == 6;
      },
      30))
      << acct;
}

// The same limit with one sbatch per attempt (arrays: false): an attempt refused as mex starts
// it (sbatch runs within Start then) is told in the next turn's events, and waits as with arrays.
TEST_F(SlurmAccountingTest, QosSubmitLimitWithPlainJobs) {
  std::string yaml = fmt::format(
      "defaults: {{executor: slurm, retry: {{max_attempts: 1}}}}\n"
      "slurm: {{qos: {}, arrays: false}}\n"
      "tasks:\n",
      kQos);
  for (int i = 1; i <= 4; ++i) yaml += fmt::format("  - {{id: p{}, run: 'sleep 2'}}\n", i);
  Write(yaml);
  Result r = RunMex({"run", "m.yaml", "--json", "-j", "4"}, dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto events = ParseNdjson(r.out);
  for (int i = 1; i <= 4; ++i) {
    auto done = Of(events, "task_succeeded", fmt::format("p{}", i));
    ASSERT_EQ(done.size(), 1u) << r.out;
    EXPECT_EQ(done[0]["attempt"], 1);
  }
  auto refused = WithReason(events, "task_queued", "waiting to submit");
  ASSERT_GE(refused.size(), 2u) << r.out;
  for (const auto& e : refused) {
    EXPECT_EQ(e["reason"], "waiting to submit (QOSMaxSubmitJobPerUserLimit)") << e.dump();
  }
}

// slurmdbd stopped while a run's jobs run, and the jobs ending meanwhile, gone from squeue (as
// after MinJobAge): sacct fails, but each job's script wrote how its command ended beside its
// log (its exit marker). mex reads that: a success and an exit code of 3 come through at once,
// while slurmdbd is still down, and no state is ever unknown. slurmdbd is started again even when
// the test fails.
TEST_F(SlurmAccountingTest, SlurmdbdDownJobsEndFromTheirExitMarkers) {
  fs::path go = dir_.path() / "go";
  Write("defaults: {executor: slurm, retry: {max_attempts: 1}}\ntasks:\n" +
        GatedTask("ok", go, "echo fine") + GatedTask("bad", go, "exit 3"));
  fs::path out = dir_.path() / "out";
  pid_t mex = 0;
  const std::string run = StartWithoutEnded(out, 2, &mex);
  ASSERT_FALSE(run.empty()) << ReadFile(out);

  SlurmdbdOutage outage;
  ASSERT_TRUE(outage.Down());
  WriteFile(go, "");
  ASSERT_TRUE(
      Eventually([&] { return !Of(ParseNdjson(ReadFile(out)), "run_finished").empty(); }, 30))
      << ReadFile(out);
  int code = WaitMex(mex);
  ASSERT_NE(Shell("sacct -n -X -j 1 2>&1").exit_code, 0) << "slurmdbd came back meanwhile";
  std::string text = ReadFile(out);
  EXPECT_EQ(code, 1) << text;  // `bad` failed
  auto events = ParseNdjson(text);
  auto done = Of(events, "task_succeeded", "ok");
  ASSERT_EQ(done.size(), 1u) << text;
  EXPECT_EQ(done[0]["attempt"], 1);
  auto failed = Of(events, "task_failed", "bad");
  ASSERT_EQ(failed.size(), 1u) << text;
  EXPECT_EQ(failed[0]["reason"], "exit 3");
  EXPECT_EQ(failed[0]["class"], "logic");
  EXPECT_TRUE(WithReason(events, "task_queued", "state unknown").empty()) << text;
  const fs::path logs = dir_.path() / ".mex/runs" / run / "logs";
  EXPECT_EQ(ReadFile(logs / "ok.1.exit"), "0\n");
  EXPECT_EQ(ReadFile(logs / "bad.1.exit"), "3\n");
  EXPECT_EQ(ReadFile(logs / "ok.1.log"), "fine\n");
  Result back = outage.Restore();
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
}

// As above, for jobs that leave no exit marker (a job killed by a signal leaves none; here a
// folder where each job's marker would go keeps it from being written): sacct failing, their
// states are unknown, shown as such in the events and in `mex status`; no task fails for it,
// however long it lasts (longer than the 15 s after which a job sacct does not know is lost).
// With slurmdbd back, the run finishes, every task on its first attempt. slurmdbd is started
// again even when the test fails.
TEST_F(SlurmAccountingTest, SlurmdbdDownMakesStatesUnknownNotFailures) {
  fs::path go = dir_.path() / "go";
  Write("defaults: {executor: slurm, retry: {max_attempts: 1}}\ntasks:\n" +
        GatedTask("a", go, "echo a done") + GatedTask("b", go, "echo b done") +
        GatedTask("c", go, "echo c done"));
  fs::path out = dir_.path() / "out";
  pid_t mex = 0;
  const std::string run = StartWithoutEnded(out, 3, &mex);
  ASSERT_FALSE(run.empty()) << ReadFile(out);

  for (const char* task : {"a", "b", "c"}) {
    fs::create_directory(dir_.path() / ".mex/runs" / run / "logs" / fmt::format("{}.1.exit", task));
  }
  SlurmdbdOutage outage;
  ASSERT_TRUE(outage.Down());
  WriteFile(go, "");
  ASSERT_TRUE(Eventually([&] {
    return WithReason(ParseNdjson(ReadFile(out)), "task_queued", "state unknown (sacct: ").size() ==
           3;
  })) << ReadFile(out);
  auto unknown = WithReason(ParseNdjson(ReadFile(out)), "task_queued", "state unknown");
  EXPECT_NE(unknown[0]["reason"].get<std::string>().find("Connection refused"), std::string::npos)
      << unknown[0].dump();
  EXPECT_EQ(unknown[0]["queue_state"], "unknown") << unknown[0].dump();
  std::string seen;
  EXPECT_TRUE(Eventually(
      [&] {
        Result status = RunMex({"status", "m.yaml", "--json"}, dir_.path().string());
        seen = status.out + status.err;
        if (status.exit_code != 0) return false;
        auto running = nlohmann::json::parse(status.out)["running"];
        int told = 0;
        for (const auto& r : running) {
          told += r.value("queue", "").starts_with("state unknown (sacct: ");
        }
        return running.size() == 3 && told == 3;
      },
      15))
      << seen;
  // Held down past the grace after which a job that sacct does not know is lost: nothing ends.
  auto held_until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < held_until) {
    auto events = ParseNdjson(ReadFile(out));
    ASSERT_TRUE(Of(events, "task_failed").empty() && Of(events, "task_retry").empty() &&
                Of(events, "task_succeeded").empty())
        << ReadFile(out);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  Result back = outage.Restore();
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  int code = WaitMex(mex);
  std::string text = ReadFile(out);
  ASSERT_EQ(code, 0) << text;
  auto events = ParseNdjson(text);
  for (const char* task : {"a", "b", "c"}) {
    auto done = Of(events, "task_succeeded", task);
    ASSERT_EQ(done.size(), 1u) << text;
    EXPECT_EQ(done[0]["attempt"], 1);
    EXPECT_EQ(ReadFile(dir_.path() / ".mex/runs" / run / "logs" / fmt::format("{}.1.log", task)),
              fmt::format("{} done\n", task));
  }
}

// A cluster without slurmdbd, as the accounting mode leaves its completion log on: plain sacct
// fails with "accounting storage is disabled" (a stand-in says so), and mex reads the ends of
// the jobs that left squeue from `sacct -c`, the real completion log, where an array's element
// is known by its own job id: a success and an exit code of 3 both come through.
TEST_F(SlurmAccountingTest, WithoutSlurmdbdTheCompletionLogIsRead) {
  fs::path go = dir_.path() / "go";
  fs::path calls = dir_.path() / "sacct.calls";
  fs::path bin = dir_.path() / "bin";
  FakeCommand(bin, "squeue", kSqueueWithoutEnded);
  std::string path = FakeCommand(bin, "sacct", slurm_test::SacctWithoutSlurmdbd(calls));
  Write("defaults: {executor: slurm, retry: {max_attempts: 1}}\ntasks:\n" +
        GatedTask("ok", go, "echo fine") + GatedTask("bad", go, "exit 3"));
  fs::path out = dir_.path() / "out";
  pid_t mex = StartWithPath(path, out);
  // Without slurmdbd, sacct -c knows an element only by its own job id, which mex learns from
  // squeue once the element runs: here, since squeue will hide the ends, only from a RUNNING row.
  // (On a real cluster squeue shows the end itself, with the id, for MinJobAge.)
  ASSERT_TRUE(Eventually([&] {
    std::istringstream seen(ReadFile(bin / "squeue.seen"));
    std::set<std::string> running;
    for (std::string line; std::getline(seen, line);) {
      if (line.find("|RUNNING|") != std::string::npos)
        running.insert(line.substr(0, line.find('|')));
    }
    return running.size() == 2;
  })) << ReadFile(out)
      << ReadFile(bin / "squeue.seen");
  WriteFile(go, "");
  int code = WaitMex(mex);
  std::string text = ReadFile(out);
  EXPECT_EQ(code, 1) << text;  // `bad` failed
  auto events = ParseNdjson(text);
  ASSERT_EQ(Of(events, "task_succeeded", "ok").size(), 1u) << text;
  auto failed = Of(events, "task_failed", "bad");
  ASSERT_EQ(failed.size(), 1u) << text;
  EXPECT_EQ(failed[0]["reason"], "exit 3");
  EXPECT_EQ(failed[0]["class"], "logic");
  // One plain sacct refused, then the completion log, asked by the elements' own job ids.
  std::string asked = ReadFile(calls);
  EXPECT_NE(asked.find("-c -n -P -j "), std::string::npos) << asked;
  std::istringstream lines(asked);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("-c ")) continue;
    EXPECT_EQ(line.find('_'), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace mex
