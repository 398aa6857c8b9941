// Slurm's outputs, recorded from the local cluster (scripts/slurm-local.sh) and from the
// messages real controllers give, read into job states and attempt ends.
#include "exec/slurm_parse.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace mex {
namespace {

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

}  // namespace
}  // namespace mex
