// Slurm's outputs, recorded from the local cluster (scripts/slurm-local.sh) and from the
// messages real controllers give, read into job states and attempt ends.
#include "exec/slurm_parse.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mex {
namespace {

// Runs `script` with `shell` as a job would, with SLURM_JOB_ID set and its output appended to
// `log`; its wait status. A script that stops (a signal it raised on itself) is killed, and that
// is its status.
int RunJobScript(const std::string& shell, const std::filesystem::path& script,
                 const std::filesystem::path& log) {
  std::string shell_arg = shell;
  std::string path = script.string();
  char* argv[] = {shell_arg.data(), path.data(), nullptr};
  char job_id[] = "SLURM_JOB_ID=77";
  char* envp[] = {job_id, nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, shell.c_str(), &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  waitpid(pid, &status, WUNTRACED);
  if (WIFSTOPPED(status)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  return status;
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(SlurmParse, SbatchParsableJobId) {
  EXPECT_EQ(ParseSbatchJobId("123\n"), "123");
  EXPECT_EQ(ParseSbatchJobId("4567;cluster2\n"), "4567");
  EXPECT_EQ(ParseSbatchJobId("sbatch: warning: something\n89\n"), "89");
  EXPECT_EQ(ParseSbatchJobId(""), "");
  EXPECT_EQ(ParseSbatchJobId("Submitted batch job 12\n"), "");
}

TEST(SlurmParse, SqueueStatesAndWaitStatuses) {
  // squeue -h -t all -j 1,2,3,4,5 -O 'JobID:|,State:|,Reason:|,exit_code:|,NodeList:|'
  const char* out =
      "1|FAILED|NonZeroExitCode|768|vm|\n"
      "2|CANCELLED|None|15|vm|\n"
      "3|FAILED|JobLaunchFailure|9|vm|\n"
      "4|PENDING|Resources|0||\n"
      "5|COMPLETED|None|0|vm|\n"
      "6|TIMEOUT|TimeLimit|15|vm|\n"
      "garbage line\n"
      "7|COMPLETED|None|0|vm|2026-12-04T22:04:49|\n"
      "8|PENDING|BeginTime|0||2026-12-04T23:00:00|\n"
      "9|RUNNING|None|0|vm|N/A|\n";
  std::vector<SlurmJobRow> rows = ParseSqueue(out);
  ASSERT_EQ(rows.size(), 9u);
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 4;
  tm.tm_hour = 22;
  tm.tm_min = 4;
  tm.tm_sec = 49;
  tm.tm_isdst = -1;
  EXPECT_EQ(rows[6].started_at, static_cast<double>(mktime(&tm)));  // local time, as squeue's
  EXPECT_EQ(rows[7].started_at, 0);  // a pending job's StartTime is only Slurm's guess
  EXPECT_EQ(rows[8].started_at, 0);
  EXPECT_EQ(rows[0].state, "FAILED");
  EXPECT_EQ(rows[0].exit_code, 3);
  EXPECT_EQ(rows[1].signal, SIGTERM);
  EXPECT_EQ(rows[2].signal, SIGKILL);
  EXPECT_EQ(rows[2].exit_code, -1);
  EXPECT_EQ(rows[3].state, "PENDING");
  EXPECT_EQ(rows[3].reason, "Resources");
  EXPECT_EQ(rows[3].exit_code, -1);  // not over: no exit code
  EXPECT_EQ(rows[4].exit_code, 0);
  EXPECT_EQ(rows[5].state, "TIMEOUT");
}

TEST(SlurmParse, SqueueArrayElements) {
  // squeue -h -r -t all -j 9459 -O kSqueueFormat, recorded: a job array of 6 with %2, element 1
  // failed with exit 3, 0 running as job 9460, the others pending, one per line (-r)
  const char* out =
      "9459_1|FAILED|NonZeroExitCode|768|vm|2026-12-04T23:17:22|9461|\n"
      "9459_2|PENDING|JobArrayTaskLimit|0||N/A|9459|\n"
      "9459_0|RUNNING|None|0|vm|2026-12-04T23:17:22|9460|\n"
      // without -r the pending elements fold into one line: no id of an element, skipped
      "9459_[3-5%2]|PENDING|JobArrayTaskLimit|0||N/A|9459|\n"
      "9459_|PENDING|None|0||N/A|9459|\n"
      "_4|PENDING|None|0||N/A|9459|\n";
  std::vector<SlurmJobRow> rows = ParseSqueue(out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, "9459_1");
  EXPECT_EQ(rows[0].own_id, "9461");
  EXPECT_EQ(rows[0].exit_code, 3);
  EXPECT_EQ(rows[1].id, "9459_2");
  EXPECT_EQ(rows[1].reason, "JobArrayTaskLimit");
  EXPECT_EQ(rows[1].started_at, 0);
  EXPECT_EQ(rows[2].id, "9459_0");
  EXPECT_EQ(rows[2].state, "RUNNING");
  EXPECT_EQ(rows[2].own_id, "9460");
  EXPECT_GT(rows[2].started_at, 0);
  // The completion log knows an element by its own id; slurmdbd's sacct as "ID_INDEX".
  rows = ParseSacct("9461|FAILED|3:0|vm\n9459_0|COMPLETED|0:0|vm\n9459_[3-5]|PENDING|0:0|\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, "9461");
  EXPECT_EQ(rows[1].id, "9459_0");
}

TEST(SlurmParse, MaxArraySizeFromTheConfig) {
  EXPECT_EQ(ParseMaxArraySize("Configuration data as of 2026-12-04T23:17:22\n"
                              "MaxArraySize            = 1001\nMaxJobCount             = 10000\n"),
            1001);
  EXPECT_EQ(ParseMaxArraySize("MaxArraySize = 0\n"), 0);  // arrays off
  EXPECT_EQ(ParseMaxArraySize("MaxArraySizeX = 7\nMaxJobCount = 10000\n"), -1);
  EXPECT_EQ(ParseMaxArraySize(""), -1);
}

TEST(SlurmParse, SacctCompletionLogAndSteps) {
  // sacct -c -n -P -j 1,2,3 -o JobID,State,ExitCode,NodeList; and slurmdbd's steps
  const char* out =
      "1|FAILED|3:0|vm\n"
      "1.batch|FAILED|3:0|vm\n"
      "2|CANCELLED by 0|0:0|vm\n"
      "3|FAILED|0:9|vm\n"
      "7|NODE_FAIL|0:0|node17\n";
  std::vector<SlurmJobRow> rows = ParseSacct(out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].exit_code, 3);
  EXPECT_EQ(rows[1].state, "CANCELLED");
  EXPECT_EQ(rows[2].signal, 9);
  EXPECT_EQ(rows[3].nodes, "node17");
}

TEST(SlurmParse, FinalStatesBecomeEnds) {
  SlurmJobRow row;
  row.state = "COMPLETED";
  row.exit_code = 0;
  JobEnd end = EndOfJob(row);
  EXPECT_EQ(end.reason, EndReason::kExited);
  EXPECT_EQ(end.exit_code, 0);

  row = {};
  row.state = "FAILED";
  row.exit_code = 2;
  end = EndOfJob(row);
  EXPECT_EQ(end.reason, EndReason::kExited);  // classified as any exit 2
  EXPECT_EQ(end.exit_code, 2);

  for (const char* state : {"TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "CANCELLED"}) {
    row = {};
    row.state = state;
    row.nodes = "n3";
    end = EndOfJob(row);
    EXPECT_EQ(end.reason, EndReason::kLost) << state;
    EXPECT_NE(end.error.find("slurm: "), std::string::npos) << end.error;
  }
  row = {};
  row.state = "TIMEOUT";
  EXPECT_EQ(EndOfJob(row).error, "slurm: TIMEOUT (the job's time limit)");
  row.state = "NODE_FAIL";
  row.nodes = "n3";
  EXPECT_EQ(EndOfJob(row).error, "slurm: NODE_FAIL on n3");
  row.state = "OUT_OF_MEMORY";
  EXPECT_EQ(EndOfJob(row).reason, EndReason::kOutOfMemory);
  EXPECT_FALSE(IsFinalJobState("PENDING"));
  EXPECT_FALSE(IsFinalJobState("RUNNING"));
  EXPECT_FALSE(IsFinalJobState("COMPLETING"));
  EXPECT_TRUE(IsFinalJobState("PREEMPTED"));
}

TEST(SlurmParse, SubmitRefusalsThatAreBackPressure) {
  EXPECT_TRUE(IsSubmitBackPressure(
      "sbatch: error: QOSMaxSubmitJobPerUserLimit\nsbatch: error: Batch job submission failed: "
      "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"));
  EXPECT_TRUE(IsSubmitBackPressure("sbatch: error: AssocMaxSubmitJobLimit"));
  EXPECT_TRUE(IsSubmitBackPressure(
      "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"));
  EXPECT_FALSE(IsSubmitBackPressure(
      "sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission "
      "failed: Invalid partition name specified"));
  EXPECT_TRUE(IsSubmitLimit("sbatch: error: AssocMaxSubmitJobLimit"));
  EXPECT_FALSE(IsSubmitLimit("sbatch: error: Socket timed out on send/recv operation"));
}

// The script runs exactly the argv and environment it was given: quotes, $, backticks and
// newlines stay text.
TEST(SlurmParse, BatchScriptQuotesEverything) {
  char dir_template[] = "/tmp/mex-slurm-script-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::filesystem::path dir = dir_template;
  AttemptSpec spec;
  spec.cwd = dir.string();
  spec.argv = {"/bin/sh", "-c", "printf '%s|%s|%s\\n' \"$1\" \"$V\" \"$(pwd)\"", "x",
               "a'b $(touch pwned) `id` \"q\"\nline2"};
  spec.env = {"V=it's $HOME; rm -rf /", "PATH=/usr/bin:/bin"};
  std::string script = BatchScript(spec);
  {
    std::ofstream file(dir / "job.sh");
    file << script;
  }
  std::string command = "SLURM_JOB_ID=77 /bin/sh " + (dir / "job.sh").string() + " > " +
                        (dir / "out").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << script;
  std::ifstream in(dir / "out");
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(out,
            "a'b $(touch pwned) `id` \"q\"\nline2|it's $HOME; rm -rf /|" + dir.string() + "\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "pwned"));
  std::filesystem::remove_all(dir);
}

// Once its command ended, the script writes the command's exit status beside the log (whose
// path is text, never shell code), and ends as the command did: its exit code, or its signal.
// The marker reads back as the job's end; a status of 128 + a signal that only stops a process
// (148: SIGTSTP) is an exit code, and does not stop the script. The log holds the command's
// output only, not the shell's word on a signal (bash's would quote the environment), with
// /bin/sh and with bash, which is /bin/sh on some clusters.
TEST(SlurmParse, BatchScriptWritesTheExitMarker) {
  char dir_template[] = "/tmp/mex-slurm-marker-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::filesystem::path dir = dir_template;
  const std::filesystem::path log = dir / "t'x $(touch pwned).1.log";
  const std::filesystem::path marker = dir / "t'x $(touch pwned).1.exit";
  struct Case {
    std::string command;
    int exit_code;  // of the script; -1: killed by `signal`
    int signal;
    std::string marker;
    std::string state;
    std::string log;
  };
  std::vector<std::string> shells = {"/bin/sh"};
  if (access("/bin/bash", X_OK) == 0) shells.push_back("/bin/bash");
  for (const std::string& shell : shells) {
    for (const Case& c : {Case{"echo fine", 0, 0, "0\n", "COMPLETED", "fine\n"},
                          Case{"echo no >&2; exit 3", 3, 0, "3\n", "FAILED", "no\n"},
                          Case{"kill -SEGV $$", -1, SIGSEGV, "139\n", "FAILED", ""},
                          Case{"kill -KILL $$", -1, SIGKILL, "137\n", "FAILED", ""},
                          Case{"exit 148", 148, 0, "148\n", "FAILED", ""}}) {
      const std::string what = shell + ": " + c.command;
      std::filesystem::remove(marker);
      std::filesystem::remove(log);
      AttemptSpec spec;
      spec.cwd = dir.string();
      spec.argv = {"/bin/sh", "-c", c.command};
      spec.env = {"PATH=/usr/bin:/bin", "SECRET=it's a secret"};
      spec.log_path = log.string();
      {
        std::ofstream file(dir / "job.sh");
        file << BatchScript(spec);
      }
      int status = RunJobScript(shell, dir / "job.sh", log);
      if (c.exit_code >= 0) {
        ASSERT_TRUE(WIFEXITED(status)) << what << ": " << status;
        EXPECT_EQ(WEXITSTATUS(status), c.exit_code) << what;
      } else {
        ASSERT_TRUE(WIFSIGNALED(status)) << what << ": " << status;
        EXPECT_EQ(WTERMSIG(status), c.signal) << what;
      }
      EXPECT_EQ(ReadAll(log), c.log) << what;
      std::string text = ReadAll(marker);
      EXPECT_EQ(text, c.marker) << what;
      SlurmJobRow row;
      ASSERT_TRUE(ParseExitMarker(text, &row)) << what;
      EXPECT_EQ(row.state, c.state) << what;
      EXPECT_EQ(row.exit_code, c.exit_code) << what;
      EXPECT_EQ(row.signal, c.signal) << what;
      EXPECT_EQ(std::filesystem::status(marker).permissions() & std::filesystem::perms::all,
                std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }
  }
  // Nothing else: no temp file left behind, nothing run from the path.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"job.sh", marker.filename().string(),
                                             log.filename().string()}));
  std::filesystem::remove_all(dir);
}

TEST(SlurmParse, ExitMarkers) {
  SlurmJobRow row;
  EXPECT_TRUE(ParseExitMarker("0\n", &row));
  EXPECT_EQ(row.state, "COMPLETED");
  EXPECT_EQ(EndOfJob(row).exit_code, 0);
  EXPECT_TRUE(ParseExitMarker("2", &row));
  EXPECT_EQ(row.state, "FAILED");
  EXPECT_EQ(EndOfJob(row).exit_code, 2);
  EXPECT_TRUE(ParseExitMarker("143\n", &row));
  EXPECT_EQ(EndOfJob(row).signal, SIGTERM);
  EXPECT_EQ(EndOfJob(row).exit_code, -1);
  EXPECT_TRUE(ParseExitMarker("128\n", &row));  // exit(128): no signal 0
  EXPECT_EQ(row.exit_code, 128);
  EXPECT_TRUE(ParseExitMarker("151\n", &row));  // 128 + SIGCHLD, which ends no process
  EXPECT_EQ(row.exit_code, 151);
  EXPECT_EQ(row.signal, 0);
  for (const char* text : {"", "\n", "-1\n", "3 \n", "256\n", "x\n", "3\n\n"}) {
    EXPECT_FALSE(ParseExitMarker(text, &row)) << text;
  }
}

// Element N of an array runs the Nth script, its output and errors appended to the Nth log;
// paths are text, never shell code.
TEST(SlurmParse, ArrayScriptDispatchesOnTheIndex) {
  char dir_template[] = "/tmp/mex-slurm-array-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::filesystem::path dir = dir_template;
  std::vector<ArrayElement> elements;
  for (std::string name : {"a", "b $(touch pwned)", "c'd"}) {
    std::filesystem::path script = dir / (name + ".sbatch");
    {
      std::ofstream file(script);
      file << "#!/bin/sh\necho out " << name.substr(0, 1) << "\necho err >&2\nexit 4\n";
    }
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    elements.push_back({script.string(), (dir / (name + ".log")).string()});
    std::ofstream(dir / (name + ".log")) << "before\n";
  }
  {
    std::ofstream file(dir / "array.sh");
    file << ArrayScript(elements);
  }
  auto run = [&](const std::string& index) {
    std::string command = "SLURM_ARRAY_TASK_ID=" + index + " /bin/sh " +
                          (dir / "array.sh").string() + " 2>" + (dir / "stderr").string();
    return WEXITSTATUS(std::system(command.c_str()));
  };
  auto read = [&](const std::string& name) {
    std::ifstream in(dir / name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(run("1"), 4);
  EXPECT_EQ(read("b $(touch pwned).log"), "before\nout b\nerr\n");
  EXPECT_EQ(read("a.log"), "before\n");
  EXPECT_EQ(run("2"), 4);
  EXPECT_EQ(read("c'd.log"), "before\nout c\nerr\n");
  EXPECT_EQ(run("3"), 127);
  EXPECT_EQ(read("stderr"), "mex: no element 3 in this array\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "pwned"));
  EXPECT_FALSE(std::filesystem::exists("pwned"));
  std::filesystem::remove_all(dir);
}

TEST(SlurmParse, JobNamesOfARun) {
  // squeue -h -r -t all --me -o '%i|%j|%T': a plain job, an array's elements one by one, another
  // run's job.
  const char* out =
      "140|mex.R1.build.1|RUNNING\n"
      "141_0|mex.R1.@array.t1.1|COMPLETED\n"
      "141_1|mex.R1.@array.t1.1|PENDING\n"
      "150|mex.R2.build.1|RUNNING\n"
      "151|other|RUNNING\n"
      "garbage\n";
  auto jobs = ParseJobNames(out, "mex.R1.");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].id, "140");
  EXPECT_EQ(jobs[0].name, "mex.R1.build.1");
  EXPECT_EQ(jobs[0].state, "RUNNING");
  EXPECT_EQ(jobs[1].state, "COMPLETED");
  EXPECT_EQ(jobs[2].id, "141_1");
  EXPECT_TRUE(ParseJobNames("", "mex.R1.").empty());
}

TEST(SlurmParse, ArrayElementOfALog) {
  std::string script = ArrayScript({{"/s/logs/a.1.sbatch", "/s/logs/a.1.log"},
                                    {"/s/logs/b.1.sbatch", "/s/logs/b.1.log"},
                                    {"/s/logs/it's.1.sbatch", "/s/logs/it's.1.log"}});
  EXPECT_EQ(ArrayElementOf(script, "/s/logs/a.1.log"), 0);
  EXPECT_EQ(ArrayElementOf(script, "/s/logs/b.1.log"), 1);
  EXPECT_EQ(ArrayElementOf(script, "/s/logs/it's.1.log"), 2);  // quoted in the script
  EXPECT_EQ(ArrayElementOf(script, "/s/logs/a.2.log"), -1);
  EXPECT_EQ(ArrayElementOf(script, "/s/logs/a.1"), -1);
  EXPECT_EQ(ArrayElementOf("", "/s/logs/a.1.log"), -1);
}

TEST(SlurmParse, JobIdOfARef) {
  const std::string mark(ProcessRef::kJobMark);
  EXPECT_EQ(JobIdOf({.pgid = 140, .start_time = 0, .boot_id = mark}), "140");
  EXPECT_EQ(JobIdOf({.pgid = 141, .start_time = 2, .boot_id = mark}), "141_1");     // element 1
  EXPECT_EQ(JobIdOf({.pgid = 140, .start_time = 99, .boot_id = "a-boot-id"}), "");  // a process
  EXPECT_EQ(JobIdOf({}), "");
}

}  // namespace
}  // namespace mex
