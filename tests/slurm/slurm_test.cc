// mex on a real Slurm cluster: the one-node cluster of scripts/slurm-local.sh, which the CTest
// fixture `slurm` starts (CMakeLists.txt). Every test runs the built mex and reads
// its events, its run folder and what squeue says. They wait for events (a file, a line, a
// job in squeue), never for a fixed time. Where Slurm is not up, every test fails with why.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
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
using slurm_test::FakeCommand;
using slurm_test::Of;
using slurm_test::QueuedJobs;
using slurm_test::Shell;
using testing_util::ParseNdjson;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::RunProgram;
using testing_util::StartMex;
using testing_util::TempDir;
using testing_util::WaitMex;
using testing_util::WriteFile;

// How many times `mex -d stats` says the metric `name` ran ("slurm sbatch"); -1 if never.
int Calls(const std::string& stats, const std::string& name) {
  std::istringstream in(stats);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name + " ")) return std::stoi(line.substr(24, 9));
  }
  return -1;
}

class SlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A one-node cluster writes into a temporary folder the "nodes" share (docs/slurm.md).
    setenv("MEX_SLURM_LOCAL_FOLDER", "1", 1);
    ASSERT_EQ(ClusterNotUp(), "");
  }

  std::string Write(const std::string& yaml) {
    WriteFile(dir_.path() / "m.yaml", yaml);
    return (dir_.path() / "m.yaml").string();
  }
  Result Run(const std::vector<std::string>& more = {}) {
    std::vector<std::string> args{"run", "m.yaml", "--json"};
    args.insert(args.end(), more.begin(), more.end());
    return RunMex(args, dir_.path().string());
  }
  std::string RunId(const std::vector<nlohmann::json>& events) {
    for (const auto& e : events) {
      if (e["event"] == "run_started") return e["run"];
    }
    return "";
  }
  std::string Log(const std::string& run, const std::string& task, int attempt) {
    return ReadFile(dir_.path() / ".mex/runs" / run / "logs" /
                    fmt::format("{}.{}.log", task, attempt));
  }

  TempDir dir_;
};

// Two phases on Slurm, a failure retried, the second phase after the first one's gate; each task
// ran as a plain job (arrays: false; its log has the job id Slurm gave it), and one squeue per
// poll round covered them all: fewer squeue calls than jobs times rounds.
TEST_F(SlurmTest, PhasedMilestoneWithARetry) {
  Write(
      "milestone: {id: s, title: phased}\n"
      "defaults: {executor: slurm, retry: {max_attempts: 2, backoff: {initial: 100ms}}}\n"
      "slurm: {arrays: false}\n"
      "phases:\n"
      "  - name: build\n"
      "    weight: 50\n"
      "    tasks:\n"
      "      - {id: a, title: 'compile a', run: 'echo job $SLURM_JOB_ID ran a'}\n"
      "      - {id: b, run: 'echo job $SLURM_JOB_ID; test -f flaky || { touch flaky; exit 3; }'}\n"
      "      - {id: c, run: 'echo c', resources: {cpus: 2, mem: 64M, time: 5m}}\n"
      "  - name: test\n"
      "    weight: 50\n"
      "    tasks:\n"
      "      - {id: t, run: 'echo testing $MEX_TASK_ID', deps: [a, b, c]}\n");
  Result r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto events = ParseNdjson(r.out);
  auto retries = Of(events, "task_retry", "b");
  ASSERT_EQ(retries.size(), 1u) << r.out;
  EXPECT_EQ(retries[0]["class"], "logic");
  EXPECT_EQ(retries[0]["reason"], "exit 3");
  std::string run = RunId(events);
  EXPECT_TRUE(Log(run, "a", 1).starts_with("job ")) << Log(run, "a", 1);
  EXPECT_NE(Log(run, "a", 1).find(" ran a"), std::string::npos);
  EXPECT_NE(Log(run, "t", 1).find("testing t"), std::string::npos);
  // The job's comment is the task's title, its name marks the run, the task and the attempt.
  std::string id = Log(run, "a", 1).substr(4, Log(run, "a", 1).find(' ', 4) - 4);
  Result q = Shell("squeue -h -t all -j " + id + " -O 'Name:|,Comment:|'");
  EXPECT_EQ(q.out, "mex." + run + ".a.1|compile a|\n") << q.err;
}

// Before anything runs: Slurm's commands must be there, and the run folder where the nodes
// can write (not in a folder private to this machine, such as /tmp, the tests' own).
TEST_F(SlurmTest, ClearErrorsBeforeAnythingRuns) {
  Write("defaults: {executor: slurm}\ntasks:\n  - {id: a, run: 'true'}\n");
  char private_dir[] = "/tmp/mex-slurm-test-XXXXXX";  // /tmp whatever TMPDIR says
  ASSERT_NE(mkdtemp(private_dir), nullptr);
  fs::copy_file(dir_.path() / "m.yaml", fs::path(private_dir) / "m.yaml");
  unsetenv("MEX_SLURM_LOCAL_FOLDER");
  Result r = RunMex({"run", "m.yaml"}, private_dir);
  fs::remove_all(private_dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is in /tmp/, which the cluster's nodes do not share"), std::string::npos)
      << r.err;
  fs::path empty = dir_.path() / "empty-bin";
  fs::create_directories(empty);
  r = RunProgram({MEX_BINARY, "run", "m.yaml"}, dir_.path().string(),
                 {"PATH=" + empty.string(), "MEX_SLURM_LOCAL_FOLDER=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the slurm executor needs Slurm's commands (sbatch, squeue, sacct, "
                       "scancel) in PATH"),
            std::string::npos)
      << r.err;
}

// mex's own timeout ends the job with scancel: the attempt times out (transient) and the job is
// gone from the queue at once, long before Slurm's own limit. The command gets the SIGTERM,
// although the job script runs it as a child (not by exec); the script, killed with it, leaves
// no exit marker.
TEST_F(SlurmTest, MexTimeoutCancelsTheJob) {
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 1}}\n"
      "tasks:\n  - {id: slow, run: 'trap \"echo TERM > term\" TERM; sleep 300 & wait', "
      "timeout: 2s}\n");
  auto start = std::chrono::steady_clock::now();
  Result r = Run();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto failed = Of(ParseNdjson(r.out), "task_failed", "slow");
  ASSERT_EQ(failed.size(), 1u) << r.out;
  EXPECT_EQ(failed[0]["class"], "transient");
  EXPECT_EQ(failed[0]["reason"], "timed out");
  EXPECT_LT(took, 40);
  const std::string run = RunId(ParseNdjson(r.out));
  EXPECT_TRUE(QueuedJobs("mex." + run + ".").empty());
  EXPECT_EQ(ReadFile(dir_.path() / "term"), "TERM\n");
  EXPECT_FALSE(fs::exists(dir_.path() / ".mex/runs" / run / "logs/slow.1.exit"));
}

// A job whose log stops growing is stalled (read from the log on the shared filesystem); with
// stall_action: kill it is cancelled like a timed-out one.
TEST_F(SlurmTest, StalledJobIsKilled) {
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 1}}\n"
      "tasks:\n  - {id: quiet, run: 'echo started; sleep 300', stall_after: 2s, "
      "stall_action: kill}\n");
  Result r = Run();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto failed = Of(ParseNdjson(r.out), "task_failed", "quiet");
  ASSERT_EQ(failed.size(), 1u) << r.out;
  EXPECT_EQ(failed[0]["class"], "transient");
  EXPECT_EQ(failed[0]["reason"], "stalled (no output) and killed");
  EXPECT_TRUE(QueuedJobs("mex." + RunId(ParseNdjson(r.out)) + ".").empty());
}

// A job scancel'ed by someone else is lost, not failed: the attempt is transient and the task's
// next attempt runs. Cancelled again, it is classified like a process killed by SIGTERM.
TEST_F(SlurmTest, JobCancelledFromOutsideIsRetried) {
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 3, backoff: {initial: 100ms}}}\n"
      "tasks:\n"
      "  - id: victim\n"
      "    run: |\n"
      "      [ \"$MEX_ATTEMPT\" = 3 ] && exit 0\n"
      "      echo $SLURM_JOB_ID > job.$MEX_ATTEMPT.id\n"
      "      sleep 300\n");
  pid_t mex =
      StartMex({"run", "m.yaml", "--json"}, dir_.path().string(), (dir_.path() / "out").string());
  for (int attempt : {1, 2}) {
    fs::path id_file = dir_.path() / fmt::format("job.{}.id", attempt);
    ASSERT_TRUE(Eventually([&] { return ReadFile(id_file).ends_with("\n"); }));
    std::string id = ReadFile(id_file);
    id.pop_back();
    ASSERT_EQ(Shell("scancel " + id).exit_code, 0);
  }
  ASSERT_EQ(WaitMex(mex), 0) << ReadFile(dir_.path() / "out");
  auto retries = Of(ParseNdjson(ReadFile(dir_.path() / "out")), "task_retry", "victim");
  ASSERT_EQ(retries.size(), 2u);
  EXPECT_EQ(retries[0]["class"], "transient");
  EXPECT_EQ(retries[0]["reason"], "slurm: CANCELLED outside mex (scancel)");
  EXPECT_EQ(retries[1]["class"], "logic");
  EXPECT_EQ(retries[1]["reason"], "killed by SIGTERM");
}

// A job over its memory request is killed by Slurm (without cgroups: FAILED 0:9 and "Exceeded
// job memory limit" in its log; with them OUT_OF_MEMORY): class resource, and the retry asks
// for mem × mem_retry_factor.
TEST_F(SlurmTest, MemoryOverrunRetriedWithMoreMemory) {
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 2, backoff: {initial: 100ms}}}\n"
      "tasks:\n"
      "  - id: hungry\n"
      "    run: python3 -c 'import os, time; b = bytearray(150 << 20); "
      "time.sleep(7 if os.environ[\"MEX_ATTEMPT\"] == \"1\" else 0)'\n"
      "    resources: {mem: 40M, mem_retry_factor: 8}\n");
  Result r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto retries = Of(ParseNdjson(r.out), "task_retry", "hungry");
  ASSERT_EQ(retries.size(), 1u) << r.out;
  EXPECT_EQ(retries[0]["class"], "resource") << retries[0].dump();
  std::string run = RunId(ParseNdjson(r.out));
  // The first job asked for 40M, the second for 8 times that.
  Result q = Shell("squeue -h -t all -n mex." + run + ".hungry.1,mex." + run +
                   ".hungry.2 -O 'Name:|,MinMemory:|' | sort");
  EXPECT_EQ(q.out, fmt::format("mex.{0}.hungry.1|40M|\nmex.{0}.hungry.2|320M|\n", run)) << q.err;
}

// sbatch refused for a submit limit (a fake sbatch first in PATH prints Slurm's real message
// twice, then hands over to the real one): the task waits and is submitted again; no attempt is
// spent on the refusals.
TEST_F(SlurmTest, SubmitLimitIsBackPressureNotFailure) {
  fs::path bin = dir_.path() / "bin";
  fs::create_directories(bin);
  std::string real = Shell("command -v sbatch").out;
  real.pop_back();
  WriteFile(bin / "sbatch",
            "#!/bin/sh\n"
            "n=$(cat " +
                (dir_.path() / "refusals").string() +
                " 2>/dev/null || echo 0)\n"
                "if [ \"$n\" -lt 2 ]; then\n"
                "  echo $((n + 1)) > " +
                (dir_.path() / "refusals").string() +
                "\n"
                "  echo 'sbatch: error: QOSMaxSubmitJobPerUserLimit' >&2\n"
                "  echo 'sbatch: error: Batch job submission failed: Job violates accounting/QOS "
                "policy (job submit limit, user'\"'\"'s size and/or time limits)' >&2\n"
                "  exit 1\n"
                "fi\n"
                "exec " +
                real + " \"$@\"\n");
  fs::permissions(bin / "sbatch", fs::perms::owner_all);
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 1}}\n"
      "tasks:\n  - {id: limited, run: 'echo through'}\n");
  std::string path = bin.string() + ":" + getenv("PATH");
  Result r = RunProgram(
      {MEX_BINARY, "run", "m.yaml", "--json"}, dir_.path().string(),
      {"PATH=" + path, "MEX_SLURM_LOCAL_FOLDER=1", "HOME=" + std::string(getenv("HOME"))});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadFile(dir_.path() / "refusals"), "2\n");
  auto done = Of(ParseNdjson(r.out), "task_succeeded", "limited");
  ASSERT_EQ(done.size(), 1u) << r.out;
  EXPECT_EQ(done[0]["attempt"], 1);
}

// Ctrl-C while plain jobs are queued (held, so they stay queued): one scancel ends them all, and
// mex exits with nothing of the run left in the queue.
TEST_F(SlurmTest, CtrlCCancelsQueuedJobs) {
  Write(
      "defaults: {executor: slurm}\n"
      "slurm: {arrays: false, args: [--hold]}\n"
      "tasks:\n  - {id: q1, run: 'true'}\n  - {id: q2, run: 'true'}\n  - {id: q3, run: 'true'}\n");
  pid_t mex =
      StartMex({"run", "m.yaml", "--json"}, dir_.path().string(), (dir_.path() / "out").string());
  std::string run;
  ASSERT_TRUE(Eventually([&] {
    run = RunId(ParseNdjson(ReadFile(dir_.path() / "out")));
    return !run.empty() && QueuedJobs("mex." + run + ".").size() == 3;
  })) << ReadFile(dir_.path() / "out");
  // Where they wait, in the events and in `mex status`.
  ASSERT_TRUE(Eventually([&] {
    return Of(ParseNdjson(ReadFile(dir_.path() / "out")), "task_queued", "q3").size() == 1;
  })) << ReadFile(dir_.path() / "out");
  EXPECT_EQ(Of(ParseNdjson(ReadFile(dir_.path() / "out")), "task_queued", "q1")[0]["reason"],
            "pending (JobHeldUser)");
  Result status = RunMex({"status", "m.yaml", "--json"}, dir_.path().string());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto running = nlohmann::json::parse(status.out)["running"];
  ASSERT_EQ(running.size(), 3u) << status.out;
  EXPECT_EQ(running[0]["queue"], "pending (JobHeldUser)") << status.out;
  status = RunMex({"status", "m.yaml"}, dir_.path().string());
  EXPECT_NE(status.out.find("pending (JobHeldUser)"), std::string::npos) << status.out;
  kill(mex, SIGINT);
  int code = WaitMex(mex);
  EXPECT_EQ(code, 130) << ReadFile(dir_.path() / "out");
  EXPECT_TRUE(QueuedJobs("mex." + run + ".").empty());
}

// squeue failing (a controller restarting, a timeout) makes states unknown for a round; no task
// fails for it.
TEST_F(SlurmTest, SqueueFailingIsUnknownNotFailure) {
  fs::path count = dir_.path() / "squeue.calls";
  std::string path = FakeCommand(
      dir_.path() / "bin", "squeue",
      "n=$(cat " + count.string() + " 2>/dev/null || echo 0); echo $((n + 1)) > " + count.string() +
          "\n"
          "if [ \"$n\" -ge 1 ] && [ \"$n\" -le 4 ]; then\n"
          "  echo 'squeue: error: slurm_load_jobs error: Socket timed out on send/recv "
          "operation' >&2; exit 1\n"
          "fi\n"
          "exec \"$REAL\" \"$@\"\n");
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 1}}\n"
      "tasks:\n  - {id: patient, run: 'echo fine'}\n");
  const std::string old_path = getenv("PATH");
  setenv("PATH", path.c_str(), 1);
  Result r = Run();
  setenv("PATH", old_path.c_str(), 1);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GE(std::stoi(ReadFile(count)), 6);  // the check, four failures, then an answer
  EXPECT_EQ(Log(RunId(ParseNdjson(r.out)), "patient", 1), "fine\n");
  // Told once, as where the job is, until squeue answers.
  auto told = Of(ParseNdjson(r.out), "task_queued", "patient");
  ASSERT_GE(told.size(), 2u) << r.out;
  EXPECT_EQ(told[0]["reason"],
            "state unknown (squeue: slurm_load_jobs error: Socket timed out on send/recv "
            "operation)");
  EXPECT_EQ(told[1]["reason"], "running");
}

// A running job whose state squeue cannot tell for a while (it fails while the file `fail` is
// there): `mex status` and the events say so, and once squeue answers again the job is running
// as before, its clock and its report without a wait in the queue.
TEST_F(SlurmTest, ARunningJobWhoseStateIsUnknownAMomentRunsOn) {
  const fs::path fail = dir_.path() / "fail", calls = dir_.path() / "squeue.calls";
  const fs::path release = dir_.path() / "release", out = dir_.path() / "out";
  std::string path = FakeCommand(dir_.path() / "bin", "squeue",
                                 "echo call >> " + calls.string() + "\nif [ -e " + fail.string() +
                                     " ]; then echo 'squeue: error: Unable to contact slurm "
                                     "controller (connect failure)' >&2; exit 1; fi\n"
                                     "exec \"$REAL\" \"$@\"\n");
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 1}}\n"
      "slurm: {arrays: false}\n"
      "tasks:\n  - {id: steady, run: 'while [ ! -e " +
      release.string() + " ]; do sleep 0.2; done; echo done'}\n");
  const std::string old_path = getenv("PATH");
  setenv("PATH", path.c_str(), 1);
  pid_t mex = StartMex({"run", "m.yaml", "--json"}, dir_.path().string(), out.string());
  setenv("PATH", old_path.c_str(), 1);
  auto events = [&] { return ParseNdjson(ReadFile(out)); };
  auto squeue_calls = [&] {
    std::string text = ReadFile(calls);
    return std::count(text.begin(), text.end(), '\n');
  };
  // Running, and seen running by mex: a poll round after the job ran.
  std::string run;
  ASSERT_TRUE(Eventually([&] {
    run = RunId(events());
    return !run.empty() && !QueuedJobs("mex." + run + ".steady.").empty() &&
           Shell("squeue -h -n mex." + run + ".steady.1 -o %T").out == "RUNNING\n";
  })) << ReadFile(out);
  const auto seen_at = squeue_calls();
  ASSERT_TRUE(Eventually([&] { return squeue_calls() > seen_at; }));
  WriteFile(fail, "");
  const std::string unknown =
      "state unknown (squeue: Unable to contact slurm controller (connect failure))";
  ASSERT_TRUE(Eventually([&] {
    auto told = Of(events(), "task_queued", "steady");
    return !told.empty() && told.back()["reason"] == unknown;
  })) << ReadFile(out);
  Result status = RunMex({"status", "--json"}, dir_.path().string());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto s = nlohmann::json::parse(status.out);
  ASSERT_EQ(s["running"].size(), 1u) << status.out;
  EXPECT_EQ(s["running"][0]["queue"], unknown);
  fs::remove(fail);
  ASSERT_TRUE(Eventually([&] {
    auto told = Of(events(), "task_queued", "steady");
    return told.size() == 2 && told.back()["reason"] == "running";
  })) << ReadFile(out);
  auto again = Of(events(), "task_queued", "steady").back();
  EXPECT_EQ(again["queued_s"], 0.0) << again;  // no wait: it had been running all along
  WriteFile(release, "");
  EXPECT_EQ(WaitMex(mex), 0) << ReadFile(out);
  EXPECT_EQ(Of(events(), "task_succeeded", "steady").size(), 1u);
  EXPECT_EQ(Log(run, "steady", 1), "done\n");
  auto report = nlohmann::json::parse(ReadFile(dir_.path() / ".mex/runs" / run / "report.json"));
  for (const auto& w : report["waits"]) EXPECT_NE(w["kind"], "queue") << w;
}

// NODE_FAIL (a fake squeue turns the first job's COMPLETED into NODE_FAIL on node17; a fake
// sbatch records its arguments and drops --exclude, which names no node of this cluster): the
// attempt is transient and the retry excludes the node.
TEST_F(SlurmTest, NodeFailRetriesElsewhere) {
  fs::path bin = dir_.path() / "bin";
  fs::path once = dir_.path() / "failed-once";
  fs::path args = dir_.path() / "sbatch-args";
  FakeCommand(bin, "squeue",
              "out=$(\"$REAL\" \"$@\") || exit $?\n"
              "if [ ! -f " +
                  once.string() +
                  " ] && printf '%s' \"$out\" | grep -q '|COMPLETED|'; then\n"
                  "  touch " +
                  once.string() +
                  "\n"
                  "  out=$(printf '%s\\n' \"$out\" | sed "
                  "'s/|COMPLETED|None|0|[^|]*|/|NODE_FAIL|None|0|node17|/')\n"
                  "fi\n"
                  "printf '%s\\n' \"$out\"\n");
  std::string path = FakeCommand(
      bin, "sbatch",
      "echo \"$*\" >> " + args.string() +
          "\n"
          "for a; do shift; case $a in --exclude=*) ;; *) set -- \"$@\" \"$a\" ;; esac; done\n"
          "exec \"$REAL\" \"$@\"\n");
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 2, backoff: {initial: 100ms}}}\n"
      "tasks:\n  - {id: unlucky, run: 'true'}\n");
  const std::string old_path = getenv("PATH");
  setenv("PATH", path.c_str(), 1);
  Result r = Run();
  setenv("PATH", old_path.c_str(), 1);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto retries = Of(ParseNdjson(r.out), "task_retry", "unlucky");
  ASSERT_EQ(retries.size(), 1u) << r.out;
  EXPECT_EQ(retries[0]["class"], "transient");
  EXPECT_EQ(retries[0]["reason"], "slurm: NODE_FAIL on node17");
  std::string lines = ReadFile(args);
  size_t second = lines.find('\n') + 1;
  EXPECT_EQ(lines.substr(0, second).find("--exclude"), std::string::npos) << lines;
  EXPECT_NE(lines.find("--exclude=node17", second), std::string::npos) << lines;
}

// The quickstart (`mex init --agent demo`) with every task on the cluster: `--executor slurm`
// overrides the template's `executor: local`.
TEST_F(SlurmTest, QuickstartRunsOnSlurm) {
  Result init = RunMex({"init", "--agent", "demo"}, dir_.path().string());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  Result r = RunMex({"run", "--executor", "slurm", "--json"}, dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string run = RunId(ParseNdjson(r.out));
  EXPECT_EQ(Of(ParseNdjson(r.out), "task_succeeded", "quality").size(), 1u);
  // Each task ran as a job: its script is beside its log, and its job is in the queue's record.
  EXPECT_TRUE(fs::exists(dir_.path() / ".mex/runs" / run / "logs/keep.1.sbatch"));
  Result q = Shell("squeue -h -t all -n mex." + run + ".quality.1 -o %T");
  EXPECT_EQ(q.out, "COMPLETED\n") << q.err;
}

// A job that waits in the queue (held, then released by the test; Slurm's reason JobHeldUser):
// the wait is told, and kept apart from the run: the attempt starts when the job does, and the
// report draws the wait on its own.
TEST_F(SlurmTest, QueueWaitIsKeptApartFromRunTime) {
  Write(
      "defaults: {executor: slurm}\n"
      "slurm: {args: [--hold]}\n"
      "tasks:\n  - {id: later, run: 'echo ran'}\n");
  pid_t mex =
      StartMex({"run", "m.yaml", "--json"}, dir_.path().string(), (dir_.path() / "out").string());
  ASSERT_TRUE(Eventually([&] {
    return Of(ParseNdjson(ReadFile(dir_.path() / "out")), "task_queued", "later").size() == 1;
  })) << ReadFile(dir_.path() / "out");
  std::vector<std::string> held =
      QueuedJobs("mex." + RunId(ParseNdjson(ReadFile(dir_.path() / "out"))));
  ASSERT_EQ(held.size(), 1u);
  ASSERT_EQ(Shell("scontrol release " + held[0]).exit_code, 0);
  ASSERT_EQ(WaitMex(mex), 0) << ReadFile(dir_.path() / "out");
  Result r;
  r.out = ReadFile(dir_.path() / "out");
  auto events = ParseNdjson(r.out);
  auto queued = Of(events, "task_queued", "later");
  // Held, then (once released) perhaps waiting for resources a moment on a busy cluster, then
  // running.
  ASSERT_GE(queued.size(), 2u) << r.out;
  EXPECT_EQ(queued.front()["reason"], "pending (JobHeldUser)");
  for (size_t i = 0; i + 1 < queued.size(); ++i) {
    EXPECT_EQ(queued[i]["reason"].get<std::string>().rfind("pending (", 0), 0u) << r.out;
    EXPECT_EQ(queued[i]["queue_state"], "pending") << r.out;
  }
  const auto& running = queued.back();
  EXPECT_EQ(running["reason"], "running");
  EXPECT_EQ(running["queue_state"], "running");
  EXPECT_GE(running["queued_s"].get<double>(), 0);
  std::string run = RunId(events);
  auto report = nlohmann::json::parse(ReadFile(dir_.path() / ".mex/runs" / run / "report.json"));
  ASSERT_GE(report["waits"].size(), 1u) << report["waits"].dump();
  for (const auto& wait : report["waits"]) EXPECT_EQ(wait["kind"], "queue");
  EXPECT_EQ(report["waits"][0]["reason"], "pending (JobHeldUser)");
  const auto& attempt = report["tasks"][0]["attempts"][0];
  // The attempt starts when the job started running, after its wait.
  EXPECT_NEAR(attempt["started_at"].get<double>(),
              report["waits"][0]["at"].get<double>() + running["queued_s"].get<double>(), 0.01);
  EXPECT_LT(attempt["started_at"].get<double>(), running["time"].get<double>() + 0.01);
  EXPECT_GE(attempt["started_at"].get<double>(),
            Of(events, "task_started", "later")[0]["time"].get<double>());
  EXPECT_NE(ReadFile(dir_.path() / ".mex/runs" / run / "report.md")
                .find("Slurm's queue: 1 attempt waited"),
            std::string::npos);
}

// Agent tasks on this machine, test tasks on the cluster, in one milestone.
TEST_F(SlurmTest, MixedMilestoneAgentsLocalTestsOnSlurm) {
  Write("agents: {probe: {command: [" + testing_util::Source("tests/agents/show-env").string() +
        "], prompt_via: file}}\n"
        "defaults: {agent: probe, executor: local}\n"
        "phases:\n"
        "  - name: write\n"
        "    weight: 50\n"
        "    tasks:\n"
        "      - {id: draft, prompt: 'write it'}\n"
        "  - name: check\n"
        "    weight: 50\n"
        "    executor: slurm\n"
        "    tasks:\n"
        "      - {id: test, run: 'echo on-cluster=${SLURM_JOB_ID:+yes}', deps: [draft]}\n"
        "      - {id: here, run: 'echo on-cluster=${SLURM_JOB_ID:+yes}', executor: local}\n");
  Result r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string run = RunId(ParseNdjson(r.out));
  EXPECT_NE(Log(run, "draft", 1).find("MEX_PROBE=unset"), std::string::npos);
  EXPECT_EQ(Log(run, "test", 1), "on-cluster=yes\n");
  EXPECT_EQ(Log(run, "here", 1), "on-cluster=\n");
  EXPECT_FALSE(fs::exists(dir_.path() / ".mex/runs" / run / "logs/draft.1.sbatch"));
}

// Arrays (on unless `arrays: false`): twelve tasks due at once go as one job array (one sbatch),
// each element's output in its own task's log, at most array_limit of them running at once; the
// one that fails is retried alone, as a plain job.
TEST_F(SlurmTest, ArrayOfATurnAndAnElementRetriedAlone) {
  std::string yaml =
      "defaults: {executor: slurm, max_parallel: 20, retry: {max_attempts: 2, backoff: {initial: "
      "100ms}}}\n"
      "slurm: {array_limit: 5}\n"
      "tasks:\n"
      "  - {id: flaky, run: 'echo array ${SLURM_ARRAY_JOB_ID:-none}; test -f flaky || { touch "
      "flaky; exit 3; }'}\n";
  for (int i = 0; i < 11; ++i) {
    yaml +=
        fmt::format("  - {{id: t{}, run: 'echo array ${{SLURM_ARRAY_JOB_ID}} $MEX_TASK_ID'}}\n", i);
  }
  Write(yaml);
  Result r = RunMex({"-d", "stats", "run", "m.yaml", "--json"}, dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Calls(r.err, "slurm sbatch"), 2) << r.err;    // the array, then the retry
  EXPECT_EQ(Calls(r.err, "slurm scontrol"), 1) << r.err;  // MaxArraySize, once
  auto events = ParseNdjson(r.out);
  auto retries = Of(events, "task_retry", "flaky");
  ASSERT_EQ(retries.size(), 1u) << r.out;
  EXPECT_EQ(retries[0]["reason"], "exit 3");
  std::string run = RunId(events);
  std::string first = Log(run, "flaky", 1);
  ASSERT_TRUE(first.starts_with("array ")) << first;
  std::string array = first.substr(6, first.find('\n') - 6);
  EXPECT_NE(array, "none");
  for (int i = 0; i < 11; ++i) {
    EXPECT_EQ(Log(run, fmt::format("t{}", i), 1), fmt::format("array {} t{}\n", array, i));
  }
  EXPECT_EQ(Log(run, "flaky", 2), "array none\n");  // a plain job
  // One job of the run's arrays in the queue's record, named after its first element.
  Result q = Shell("squeue -h -t all -r -n mex." + run + ".@array.flaky.1 -o %F | sort -u");
  EXPECT_EQ(q.out, array + "\n") << q.err;
  q = Shell("scontrol show job " + array + " | grep -o 'ArrayTaskThrottle=[0-9]*' | sort -u");
  EXPECT_EQ(q.out, "ArrayTaskThrottle=5\n") << q.err;
}

// mex's timeout of one element cancels that element only (scancel ID_INDEX); the others of its
// array run to their end.
TEST_F(SlurmTest, TimeoutCancelsOneElementOfAnArray) {
  Write(
      "defaults: {executor: slurm, retry: {max_attempts: 1}}\n"
      "slurm: {arrays: true}\n"
      "tasks:\n"
      "  - {id: slow, run: 'sleep 300', timeout: 3s}\n"
      "  - {id: quick, run: 'echo quick'}\n"
      "  - {id: slower, run: 'sleep 5; echo slower'}\n");
  Result r = RunMex({"-d", "stats", "run", "m.yaml", "--json"}, dir_.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Calls(r.err, "slurm sbatch"), 1) << r.err;
  EXPECT_EQ(Calls(r.err, "slurm scancel"), 1) << r.err;
  auto events = ParseNdjson(r.out);
  auto failed = Of(events, "task_failed", "slow");
  ASSERT_EQ(failed.size(), 1u) << r.out;
  EXPECT_EQ(failed[0]["reason"], "timed out");
  EXPECT_EQ(Of(events, "task_succeeded", "quick").size(), 1u) << r.out;
  EXPECT_EQ(Of(events, "task_succeeded", "slower").size(), 1u) << r.out;
  std::string run = RunId(events);
  EXPECT_EQ(Log(run, "slower", 1), "slower\n");
  EXPECT_TRUE(QueuedJobs("mex." + run + ".", /*elements=*/true).empty());
}

// Ctrl-C while an array's elements are queued (held): one scancel ends them, and mex exits with
// nothing of the run left in the queue.
TEST_F(SlurmTest, CtrlCCancelsAnArraysQueuedElements) {
  Write(
      "defaults: {executor: slurm}\n"
      "slurm: {arrays: true, args: [--hold]}\n"
      "tasks:\n  - {id: q1, run: 'true'}\n  - {id: q2, run: 'true'}\n  - {id: q3, run: 'true'}\n"
      "  - {id: q4, run: 'true'}\n");
  pid_t mex = StartMex({"-d", "stats", "run", "m.yaml", "--json"}, dir_.path().string(),
                       (dir_.path() / "out").string());
  std::string run;
  ASSERT_TRUE(Eventually([&] {
    run = RunId(ParseNdjson(ReadFile(dir_.path() / "out")));
    return !run.empty() &&
           Of(ParseNdjson(ReadFile(dir_.path() / "out")), "task_queued", "q4").size() == 1;
  })) << ReadFile(dir_.path() / "out");
  std::vector<std::string> queued = QueuedJobs("mex." + run + ".", /*elements=*/true);
  ASSERT_EQ(queued.size(), 4u);
  for (const std::string& id : queued) {
    EXPECT_EQ(id.substr(0, id.find('_')), queued[0].substr(0, queued[0].find('_'))) << id;
  }
  EXPECT_EQ(Of(ParseNdjson(ReadFile(dir_.path() / "out")), "task_queued", "q2")[0]["reason"],
            "pending (JobHeldUser)");
  kill(mex, SIGINT);
  EXPECT_EQ(WaitMex(mex), 130) << ReadFile(dir_.path() / "out");
  EXPECT_TRUE(QueuedJobs("mex." + run + ".", /*elements=*/true).empty());
  EXPECT_EQ(Of(ParseNdjson(ReadFile(dir_.path() / "out")), "task_cancelled", "q3").size(), 1u);
}

}  // namespace
}  // namespace mex
