// End-to-end tests of `mex run` (SPEC §4): the built binary runs milestones whose tasks are the
// fixture agents of tests/agents/, and the tests read its NDJSON events and its run folder.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ProcessGone;
using testing_util::ReadFile;
constexpr auto Events = testing_util::ParseNdjson;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::Source;
using testing_util::TempDir;
using testing_util::WriteFile;

// Whether `pid` is gone within 5 s: the kernel may take a moment to clean up a killed group.
bool GoneWithin5s(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    if (ProcessGone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string Agent(const std::string& name) {
  return Source("tests/agents/" + name).string();
}

std::vector<nlohmann::json> Of(const std::vector<nlohmann::json>& events, const std::string& kind,
                               const std::string& task = "") {
  std::vector<nlohmann::json> out;
  for (const auto& e : events) {
    if (e["event"] == kind && (task.empty() || e.value("task", "") == task)) out.push_back(e);
  }
  return out;
}

// A workspace with the milestone `yaml` in it, run with `mex run m.yaml --json`.
struct MexRun {
  explicit MexRun(const std::string& yaml, std::vector<std::string> extra = {}) {
    WriteFile(dir.path() / "m.yaml", yaml);
    std::vector<std::string> args = {"run", "m.yaml", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    result = RunMex(args, dir.path().string());
    events = Events(result.out);
  }
  fs::path RunFolder() const {
    for (const auto& entry : fs::directory_iterator(dir.path() / ".mex" / "runs")) {
      return entry.path();
    }
    return {};
  }
  TempDir dir;
  Result result;
  std::vector<nlohmann::json> events;
};

TEST(RunTest, FlakyTaskSucceedsOnItsThirdAttemptAfterTheConfiguredBackoff) {
  MexRun run(
      "defaults: {retry: {max_attempts: 3, backoff: {initial: 1s, factor: 2}}}\n"
      "tasks:\n  - {id: flaky, run: [" +
      Agent("fail-until") + ", '3']}\n");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err;
  auto retries = Of(run.events, "task_retry", "flaky");
  auto starts = Of(run.events, "task_started", "flaky");
  ASSERT_EQ(retries.size(), 2u);
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(retries[0]["class"], "logic");
  double expected[] = {1.0, 2.0};
  for (int i = 0; i < 2; ++i) {
    EXPECT_DOUBLE_EQ(retries[i]["delay_s"].get<double>(), expected[i]);
    double waited = starts[i + 1]["time"].get<double>() - retries[i]["time"].get<double>();
    EXPECT_GE(waited, expected[i] * 0.8) << "retry " << i;
    EXPECT_LE(waited, expected[i] * 1.2) << "retry " << i;
  }
  EXPECT_EQ(Of(run.events, "task_succeeded", "flaky").at(0)["attempt"], 3);
  // Each attempt has its own log.
  for (int n = 1; n <= 3; ++n) {
    std::string log = ReadFile(run.RunFolder() / "logs" / ("flaky." + std::to_string(n) + ".log"));
    EXPECT_NE(log.find("attempt " + std::to_string(n)), std::string::npos) << log;
  }
}

TEST(RunTest, CommandNotFoundRunsOnceAsPermanent) {
  MexRun run("tasks:\n  - {id: missing, run: 'no-such-command-anywhere --flag'}\n");
  EXPECT_EQ(run.result.exit_code, 1);
  EXPECT_EQ(Of(run.events, "task_started", "missing").size(), 1u);
  auto failed = Of(run.events, "task_failed", "missing");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["class"], "permanent");
  auto report = nlohmann::json::parse(ReadFile(run.RunFolder() / "failures" / "missing.json"));
  EXPECT_EQ(report["task"], "missing");
  EXPECT_EQ(report["class"], "permanent");
  ASSERT_EQ(report["attempts"].size(), 1u);
  EXPECT_EQ(report["attempts"][0]["exit"], 127);
  EXPECT_NE(report["attempts"][0]["log_tail"].get<std::string>().find("not found"),
            std::string::npos);
}

// A plain command runs without /bin/sh (exec/direct_command.h) and behaves as through it: words
// split on blanks, the builtin's output, sh's own message and 127 for a program not found.
TEST(RunTest, PlainCommandsBehaveAsThroughTheShell) {
  MexRun run(
      "tasks:\n"
      "  - {id: plain, run: 'echo a   b'}\n"
      "  - {id: shell, run: 'echo \"$HOME\" >/dev/null; echo c'}\n"
      "  - {id: missing, run: 'no-such-command-anywhere a b'}\n");
  EXPECT_EQ(run.result.exit_code, 1);
  EXPECT_EQ(ReadFile(run.RunFolder() / "logs" / "plain.1.log"), "a b\n");
  EXPECT_EQ(ReadFile(run.RunFolder() / "logs" / "shell.1.log"), "c\n");
  EXPECT_EQ(ReadFile(run.RunFolder() / "logs" / "missing.1.log"),
            "/bin/sh: 1: no-such-command-anywhere: not found\n");
  auto failed = Of(run.events, "task_failed", "missing");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["class"], "permanent");
  EXPECT_EQ(failed[0]["reason"], "exit 127: command not found: no-such-command-anywhere");
}

TEST(RunTest, ClassifyPatternThatBacktracksExponentiallyStillClassifies) {
  // "(a+)+b" against a line of 44 a's: std::regex backtracked for days at 100% CPU and mex
  // answered no signal. RE2 finds no match at once, and the next rule classifies the attempt.
  MexRun run(
      "classify:\n"
      "  - {pattern: '(a+)+b', class: transient}\n"
      "  - {pattern: '^(a+)+$', class: permanent}\n"
      "tasks:\n  - {id: t, run: 'printf \"%044d\\n\" 0 | tr 0 a; exit 1'}\n");
  EXPECT_EQ(run.result.exit_code, 1) << run.result.err;
  auto failed = Of(run.events, "task_failed", "t");
  ASSERT_EQ(failed.size(), 1u) << run.result.out;
  EXPECT_EQ(failed[0]["class"], "permanent");
  EXPECT_EQ(failed[0]["attempt"], 1);
  EXPECT_EQ(failed[0]["reason"],
            "classify rule at line 3: exit 1, log matched \"" + std::string(44, 'a') + "\"");
}

TEST(RunTest, ArgvCommandThatDoesNotExistIsPermanent) {
  MexRun run("tasks:\n  - {id: missing, run: [no-such-program-anywhere]}\n");
  EXPECT_EQ(run.result.exit_code, 1);
  auto failed = Of(run.events, "task_failed", "missing");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["class"], "permanent");
  EXPECT_EQ(failed[0]["attempt"], 1);
}

TEST(RunTest, TimeoutLeavesNoGrandchildBehind) {
  TempDir pids;
  std::string pid_file = (pids.path() / "helper.pid").string();
  MexRun run("tasks:\n  - {id: hung, timeout: 500ms, retry: {max_attempts: 1}, run: [" +
             Agent("hang-with-child") + ", '" + pid_file + "']}\n");
  EXPECT_EQ(run.result.exit_code, 1);
  auto failed = Of(run.events, "task_failed", "hung");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["class"], "transient");
  pid_t helper = std::stoi(ReadFile(pid_file));
  bool gone = GoneWithin5s(helper);
  EXPECT_TRUE(gone) << "grandchild " << helper << " survived the timeout";
}

TEST(RunTest, NoSpaceLeftOnDeviceIsAResourceFailure) {
  // A short resource wait: a full disk on the test machine must not hold the test for minutes.
  MexRun run(
      "defaults: {retry: {backoff: {initial: 100ms}}, resource_wait: {max: 1s}}\n"
      "tasks:\n  - {id: copy, run: [" +
      Agent("no-space-once") + "]}\n");
  EXPECT_EQ(run.result.exit_code, 0) << run.result.out;
  auto retries = Of(run.events, "task_retry", "copy");
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0]["class"], "resource");
}

TEST(RunTest, ResourceRetryWaitsForFreeDiskAtMostMaxWait) {
  // No disk has a petabyte free: the retry waits the whole (short) bound, then runs anyway.
  MexRun run(
      "defaults:\n  retry: {backoff: {initial: 100ms}}\n"
      "  resource_wait: {disk: 1024T, max: 1500ms}\n"
      "tasks:\n  - {id: copy, run: [" +
      Agent("no-space-once") + "]}\n");
  EXPECT_EQ(run.result.exit_code, 0) << run.result.out;
  auto waiting = Of(run.events, "task_waiting", "copy");
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_NE(waiting[0]["reason"].get<std::string>().find("MiB of disk free"), std::string::npos);
  auto retries = Of(run.events, "task_retry", "copy");
  auto starts = Of(run.events, "task_started", "copy");
  ASSERT_EQ(starts.size(), 2u);
  double waited = starts[1]["time"].get<double>() - retries.at(0)["time"].get<double>();
  EXPECT_GE(waited, 1.5);
  EXPECT_LE(waited, 10.0);
}

TEST(RunTest, HundredMegabytesOfOutputKeepMexSmall) {
  MexRun small("tasks:\n  - {id: talk, run: 'echo hello'}\n");
  MexRun flood("tasks:\n  - {id: talk, run: [" + Agent("flood") + ", '100']}\n");
  ASSERT_EQ(flood.result.exit_code, 0) << flood.result.err;
  EXPECT_EQ(fs::file_size(flood.RunFolder() / "logs" / "talk.1.log"), 100u << 20);
  EXPECT_LT(flood.result.max_rss_kb, small.result.max_rss_kb + 8 * 1024)
      << "mex grew with its task's output";
}

TEST(RunTest, InvalidJsonOutputIsRetriedWithTheErrorInThePrompt) {
  MexRun run("agents: {writer: {command: [" + Agent("json-writer") +
             "], prompt_via: file}}\n"
             "defaults: {agent: writer, retry: {backoff: {initial: 100ms}}}\n"
             "tasks:\n  - id: keep\n    prompt: Write the KEEP decisions to {{output}}.\n"
             "    output: {path: design/keep.json, schema: kiro}\n");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err;
  auto retries = Of(run.events, "task_retry", "keep");
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0]["class"], "logic");
  std::string second = ReadFile(run.RunFolder() / "logs" / "keep.2.prompt");
  EXPECT_NE(second.find("Previous attempt failed"), std::string::npos) << second;
  EXPECT_NE(second.find("not valid JSON"), std::string::npos) << second;
  std::string first = ReadFile(run.RunFolder() / "logs" / "keep.1.prompt");
  EXPECT_EQ(first.find("Previous attempt failed"), std::string::npos);
  auto output =
      nlohmann::json::parse(ReadFile(run.RunFolder() / "artifacts" / "design" / "keep.json"));
  EXPECT_EQ(output["decisions"][0]["id"], "K-1");
}

TEST(RunTest, AgentEnvIsSetAndTheTasksEnvWinsAndAChangeRunsItAgain) {
  auto milestone = [](const std::string& value) {
    return "agents: {probe: {command: [" + Agent("show-env") +
           "], prompt_via: file, env: {MEX_PROBE: " + value +
           "}}}\n"
           "defaults: {agent: probe}\n"
           "tasks:\n  - {id: a, prompt: hi}\n  - {id: b, prompt: hi, env: {MEX_PROBE: task}}\n";
  };
  MexRun run(milestone("agent"));
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err;
  EXPECT_NE(ReadFile(run.RunFolder() / "logs" / "a.1.log").find("MEX_PROBE=agent\n"),
            std::string::npos);
  EXPECT_NE(ReadFile(run.RunFolder() / "logs" / "b.1.log").find("MEX_PROBE=task\n"),
            std::string::npos);
  // The agent's env is part of each task's definition: a new value runs them again.
  WriteFile(run.dir.path() / "m.yaml", milestone("changed"));
  Result again = RunMex({"run", "m.yaml", "--json"}, run.dir.path().string());
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(Of(Events(again.out), "task_started", "a").size(), 1u);
  EXPECT_NE(ReadFile(run.RunFolder() / "logs" / "a.2.log").find("MEX_PROBE=changed\n"),
            std::string::npos);
}

TEST(RunTest, HungAgentWithStallKillIsRetried) {
  MexRun run(
      "defaults: {stall_after: 500ms, stall_action: kill, retry: {backoff: {initial: 100ms}}}\n"
      "tasks:\n  - {id: agent, run: [" +
      Agent("hang-once") + "]}\n");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out;
  ASSERT_EQ(Of(run.events, "task_stalled", "agent").size(), 1u);
  EXPECT_EQ(Of(run.events, "task_stalled", "agent")[0]["quiet_s"], 0.5);
  auto retries = Of(run.events, "task_retry", "agent");
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0]["class"], "transient");
  EXPECT_EQ(Of(run.events, "task_succeeded", "agent").at(0)["attempt"], 2);
}

TEST(RunTest, DependentsOfAFailedTaskAreSkippedAndOthersGoOn) {
  MexRun run(
      "defaults: {retry: {max_attempts: 1}}\n"
      "tasks:\n"
      "  - {id: broken, run: 'exit 3'}\n"
      "  - {id: after, run: 'true', deps: [broken]}\n"
      "  - {id: after2, run: 'true', deps: [after]}\n"
      "  - {id: other, run: 'true'}\n");
  EXPECT_EQ(run.result.exit_code, 1);
  EXPECT_EQ(Of(run.events, "task_skipped", "after").size(), 1u);
  EXPECT_EQ(Of(run.events, "task_skipped", "after2").size(), 1u);
  EXPECT_EQ(Of(run.events, "task_succeeded", "other").size(), 1u);
  auto finished = Of(run.events, "run_finished").at(0);
  EXPECT_EQ(finished["failed"], 1);
  EXPECT_EQ(finished["skipped"], 2);
  EXPECT_EQ(finished["exit_code"], 1);
}

TEST(RunTest, OnFailureStopStartsNothingMore) {
  MexRun run(
      "defaults: {on_failure: stop, max_parallel: 1, retry: {max_attempts: 1}}\n"
      "tasks:\n"
      "  - {id: first, run: 'exit 1', effort: 5}\n"
      "  - {id: second, run: 'true'}\n");
  EXPECT_EQ(run.result.exit_code, 1);
  EXPECT_TRUE(Of(run.events, "task_started", "second").empty());
  EXPECT_EQ(Of(run.events, "run_finished").at(0)["cancelled"], 1);
}

TEST(RunTest, PoolOfOneRunsItsTasksOneAtATime) {
  TempDir side;
  std::string log = (side.path() / "order").string();
  std::string task = "sh -c 'echo start >> " + log + "; sleep 0.2; echo end >> " + log + "'";
  MexRun run(
      "pools: {serial: 1}\n"
      "tasks:\n"
      "  - {id: a, pool: serial, run: \"" +
          task +
          "\"}\n"
          "  - {id: b, pool: serial, run: \"" +
          task +
          "\"}\n"
          "  - {id: c, pool: serial, run: \"" +
          task + "\"}\n",
      {"-j", "3"});
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err;
  EXPECT_EQ(ReadFile(log), "start\nend\nstart\nend\nstart\nend\n");
}

TEST(RunTest, TasksDeclaringOverlappingFilesRunOneAtATimeAndOthersBesideThem) {
  // a and b touch src/api/v1.py: each writes "start X", waits until c and d have met, writes
  // "end X". c and d touch other files: each waits for the other to have started (at most 20 s),
  // which they can only do running at the same time, then they have met.
  TempDir side;
  std::string dir = side.path().string();
  WriteFile(side.path() / "task.sh",
            "dir=$1\n"
            "wait_for() {\n"
            "  i=0\n"
            "  while [ ! -e \"$dir/$1\" ]; do\n"
            "    i=$((i + 1)); [ $i -gt 2000 ] && { echo \"no $1 after 20 s\"; exit 1; }\n"
            "    sleep 0.01\n"
            "  done\n"
            "}\n"
            "case $2 in\n"
            "  a|b) echo \"start $2\" >> \"$dir/order\"; wait_for met; "
            "echo \"end $2\" >> \"$dir/order\" ;;\n"
            "  c) touch \"$dir/c\"; wait_for d; touch \"$dir/met\" ;;\n"
            "  d) touch \"$dir/d\"; wait_for c; touch \"$dir/met\" ;;\n"
            "esac\n");
  auto task = [&](const std::string& id, const std::string& files) {
    return "  - {id: " + id + ", run: [sh, '" + dir + "/task.sh', '" + dir + "', " + id +
           "], files: " + files + "}\n";
  };
  MexRun run("tasks:\n" + task("a", "[src/api/*.py]") + task("b", "[src/api/v1.py, docs/b.md]") +
                 task("c", "[docs/c.md]") + task("d", "[src/db/]"),
             {"-j", "4"});
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err;
  EXPECT_EQ(ReadFile(side.path() / "order"), "start a\nend a\nstart b\nend b\n");
  // As mex saw it: b started only once a had ended; c and d started beside a.
  std::vector<std::string> seen;
  for (const auto& e : run.events) {
    if (e["event"] == "task_started" || e["event"] == "task_succeeded") {
      seen.push_back(e["event"].get<std::string>().substr(5) + " " + e["task"].get<std::string>());
    }
  }
  auto at = [&](const std::string& what) {
    return std::find(seen.begin(), seen.end(), what) - seen.begin();
  };
  ASSERT_EQ(seen.size(), 8u);
  EXPECT_LT(at("succeeded a"), at("started b"));
  EXPECT_LT(at("started c"), at("succeeded a"));
  EXPECT_LT(at("started d"), at("succeeded a"));
}

TEST(RunTest, ReadyTasksStartByRemainingCriticalPath) {
  MexRun run(
      "defaults: {max_parallel: 1}\n"
      "tasks:\n"
      "  - {id: short, run: 'true', effort: 1}\n"
      "  - {id: long, run: 'true', effort: 1}\n"
      "  - {id: tail, run: 'true', effort: 5, deps: [long]}\n");
  ASSERT_EQ(run.result.exit_code, 0);
  auto starts = Of(run.events, "task_started");
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(starts[0]["task"], "long");  // remaining path 6 beats 1
}

// A later run orders ready tasks by the seconds the same definitions took before (state.db),
// where the plan's effort ties and the file order would start the short one first.
TEST(RunTest, ReadyTasksStartByTheCriticalPathOfAnEarlierRunsDurations) {
  MexRun run(
      "defaults: {max_parallel: 1}\n"
      "tasks:\n"
      "  - {id: short, run: 'true', effort: 1}\n"
      "  - {id: long, run: 'sleep 0.3', effort: 1}\n"
      "  - {id: other, run: 'true', effort: 1}\n");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  auto first = Of(run.events, "task_started");
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0]["task"], "short");  // no history: effort ties, file order
  Result again = RunMex({"run", "m.yaml", "--json", "--new"}, run.dir.path().string());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto second = Of(Events(again.out), "task_started");
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0]["task"], "long");
  EXPECT_EQ(second[1]["task"], "short");
}

TEST(RunTest, RunStringValuesAreShellQuoted) {
  MexRun run(
      "milestone: {id: M-1, title: \"it's $(touch pwned) `touch pwned2`\"}\n"
      "tasks:\n  - {id: say, run: 'echo {{milestone.title}}'}\n");
  ASSERT_EQ(run.result.exit_code, 0);
  EXPECT_FALSE(fs::exists(run.dir.path() / "pwned"));
  EXPECT_FALSE(fs::exists(run.dir.path() / "pwned2"));
  std::string log = ReadFile(run.RunFolder() / "logs" / "say.1.log");
  EXPECT_EQ(log, "it's $(touch pwned) `touch pwned2`\n");
}

TEST(RunTest, AScriptOfManyLinesStopsAtItsFirstFailingLineAndOneLineIsUnchanged) {
  // As a CI step: `false` on the first of many lines fails the task (set -e); one line runs as
  // `sh -c` always did (its status is its last command's).
  MexRun run(R"(defaults: {retry: {max_attempts: 1}}
tasks:
  - id: script
    run: |
      false
      echo after > after.txt
  - {id: line, run: "false; echo ran > line.txt"}
  - id: bash
    shell: [bash, -eo, pipefail, -c]
    run: "false | cat; echo after > bash.txt"
  - id: bash-lines
    shell: bash
    run: |
      echo "$BASH_VERSION" > bash-version.txt
      false
      echo after > bash-after.txt
)");
  EXPECT_EQ(run.result.exit_code, 1) << run.result.err;
  ASSERT_EQ(Of(run.events, "task_failed", "script").size(), 1u) << run.result.out;
  EXPECT_FALSE(fs::exists(run.dir.path() / "after.txt"));
  EXPECT_EQ(Of(run.events, "task_succeeded", "line").size(), 1u) << run.result.out;
  EXPECT_EQ(ReadFile(run.dir.path() / "line.txt"), "ran\n");
  // pipefail: the pipe fails with `false`, and -e stops there.
  ASSERT_EQ(Of(run.events, "task_failed", "bash").size(), 1u) << run.result.out;
  EXPECT_FALSE(fs::exists(run.dir.path() / "bash.txt"));
  // `shell: bash` on many lines: bash -ec.
  ASSERT_EQ(Of(run.events, "task_failed", "bash-lines").size(), 1u) << run.result.out;
  EXPECT_NE(ReadFile(run.dir.path() / "bash-version.txt"), "\n");
  EXPECT_FALSE(fs::exists(run.dir.path() / "bash-after.txt"));
}

TEST(RunTest, ShellOnAnArgvListOrAPromptIsAnError) {
  MexRun run(
      "tasks:\n  - {id: a, run: [make], shell: bash}\n  - {id: b, prompt: hi, shell: "
      "bash}\n  - {id: c, run: x, shell: []}\n");
  EXPECT_EQ(run.result.exit_code, 2);
  EXPECT_NE(
      run.result.err.find("m.yaml:2:33: error: task 'a': 'shell' runs a 'run' string; a 'run' "
                          "list is run directly (its first word is the program)"),
      std::string::npos)
      << run.result.err;
  EXPECT_NE(
      run.result.err.find(
          "m.yaml:3:32: error: task 'b': 'shell' runs a 'run' string; this task has a prompt"),
      std::string::npos)
      << run.result.err;
  EXPECT_NE(run.result.err.find("m.yaml:4:28: error: shell must not be empty"), std::string::npos)
      << run.result.err;
  EXPECT_FALSE(fs::exists(run.dir.path() / ".mex"));
}

TEST(RunTest, APhaseSetsStallRetryAndClassifyForItsTasksAndATaskOverridesThem) {
  MexRun run(R"(defaults: {retry: {max_attempts: 1}}
phases:
  - name: first
    weight: 50
    gate: {min_score: 0, criteria: [tasks_succeeded]}
    tasks:
      - {id: plain, run: "exit 7"}
  - name: second
    weight: 50
    stall_after: 1s
    stall_action: kill
    retry: {max_attempts: 2, backoff: {initial: 0.1s}}
    classify: [{exit: [7], class: permanent}]
    tasks:
      - {id: hangs, run: "sleep 60"}
      - {id: by-phase, run: "exit 7"}
      - id: own
        run: "exit 7"
        classify: [{exit: [7], class: transient}]
        retry: {max_attempts: 3}
      - {id: warns, run: "sleep 3", stall_action: warn, timeout: 30s}
)");
  EXPECT_EQ(run.result.exit_code, 1) << run.result.err;
  // The defaults: one attempt, exit 7 is a logic failure.
  ASSERT_EQ(Of(run.events, "task_failed", "plain").size(), 1u) << run.result.out;
  EXPECT_EQ(Of(run.events, "task_failed", "plain")[0]["class"], "logic");
  // The phase's stall_after and stall_action: each attempt ended after 1 s of silence; its retry.
  EXPECT_EQ(Of(run.events, "task_started", "hangs").size(), 2u) << run.result.out;
  auto stalled = Of(run.events, "task_stalled", "hangs");
  ASSERT_FALSE(stalled.empty()) << run.result.out;
  EXPECT_DOUBLE_EQ(stalled[0]["quiet_s"].get<double>(), 1.0);
  ASSERT_EQ(Of(run.events, "task_failed", "hangs").size(), 1u);
  // The phase's classify rule: exit 7 is permanent, no retry.
  EXPECT_EQ(Of(run.events, "task_started", "by-phase").size(), 1u);
  EXPECT_EQ(Of(run.events, "task_failed", "by-phase").at(0)["class"], "permanent");
  // The task's own rule comes first, and its retry (max_attempts 3, the phase's backoff).
  EXPECT_EQ(Of(run.events, "task_started", "own").size(), 3u);
  EXPECT_EQ(Of(run.events, "task_retry", "own").at(0)["class"], "transient");
  EXPECT_DOUBLE_EQ(Of(run.events, "task_retry", "own").at(0)["delay_s"].get<double>(), 0.1);
  // stall_action: warn on the task: stalled, not ended.
  EXPECT_EQ(Of(run.events, "task_stalled", "warns").size(), 1u) << run.result.out;
  EXPECT_EQ(Of(run.events, "task_succeeded", "warns").size(), 1u) << run.result.out;
}

TEST(RunTest, ColourIntoAPipeOnlyWhenAsked) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "defaults: {retry: {max_attempts: 1}}\ntasks:\n  - {id: ok, run: 'true'}\n"
            "  - {id: bad, run: 'exit 1'}\n");
  Result plain = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_NE(plain.out.find("done ok ("), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << plain.out;
  Result colored = RunMex({"run", "m.yaml", "--new", "--color=always"}, dir.path().string());
  EXPECT_EQ(colored.exit_code, 1);
  EXPECT_NE(colored.out.find("\x1b[32mdone\x1b[0m ok ("), std::string::npos) << colored.out;
  EXPECT_NE(colored.out.find("\x1b[1;31mFAILED\x1b[0m bad (attempt 1/1)"), std::string::npos)
      << colored.out;
  EXPECT_NE(colored.out.find("\x1b[1;31mfailed\x1b[0m: 1 succeeded, 1 failed"), std::string::npos)
      << colored.out;
  Result never = RunMex({"run", "m.yaml", "--new", "--color=never"}, dir.path().string());
  EXPECT_EQ(never.out.find('\x1b'), std::string::npos) << never.out;
}

TEST(RunTest, KeepGoingStopsStartingAfterNFailedTasksAndZeroNever) {
  const std::string yaml =
      "defaults: {max_parallel: 1, on_failure: stop, retry: {max_attempts: 1}}\ntasks:\n"
      "  - {id: a, run: 'exit 1'}\n  - {id: b, run: 'exit 1'}\n  - {id: c, run: 'exit 1'}\n"
      "  - {id: d, run: 'exit 1'}\n";
  MexRun two(yaml, {"-k", "2"});
  EXPECT_EQ(two.result.exit_code, 1);
  EXPECT_EQ(Of(two.events, "task_failed").size(), 2u) << two.result.out;
  EXPECT_EQ(Of(two.events, "task_cancelled").size(), 2u) << two.result.out;
  MexRun never(yaml, {"-k", "0"});  // over on_failure: stop
  EXPECT_EQ(Of(never.events, "task_failed").size(), 4u) << never.result.out;
  MexRun stop(yaml);  // on_failure: stop, as -k 1
  EXPECT_EQ(Of(stop.events, "task_failed").size(), 1u) << stop.result.out;
  Result bad = RunMex({"run", "m.yaml", "-k", "-1"}, stop.dir.path().string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "mex: -k must be a whole number of 0 or more, not '-1'\n");
}

TEST(RunTest, ForceRunsATaskAgainWithWhatNeedsItAndEachRerunSaysWhy) {
  TempDir dir;
  auto write = [&](const std::string& c_run) {
    WriteFile(dir.path() / "m.yaml",
              "defaults: {retry: {max_attempts: 1}}\ntasks:\n"
              "  - {id: a, run: 'true'}\n"
              "  - {id: b, run: 'true', deps: [a]}\n"
              "  - {id: c, run: '" +
                  c_run +
                  "', deps: [b]}\n"
                  "  - {id: d, run: 'true'}\n");
  };
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "m.yaml", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunMex(args, dir.path().string());
  };
  auto started = [](const Result& r) {
    std::map<std::string, std::string> why;  // task -> its rerun reason
    for (const auto& e : Events(r.out)) {
      if (e["event"] == "task_started") why[e["task"]] = e.value("rerun", "");
    }
    return why;
  };
  write("true");
  ASSERT_EQ(run({}).exit_code, 0);
  EXPECT_TRUE(started(run({})).empty());  // everything kept
  // b and c, which needs it; a and d kept.
  Result forced = run({"--force", "b"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(started(forced), (std::map<std::string, std::string>{{"b", "forced (--force)"},
                                                                 {"c", "forced (--force)"}}));
  EXPECT_EQ(started(run({"--force-all"})).size(), 4u);
  // A changed definition, said so; a failed task, said so next time.
  write("exit 3");
  Result changed = run({});
  EXPECT_EQ(started(changed),
            (std::map<std::string, std::string>{{"c", "its definition changed, or a dep's"}}));
  EXPECT_EQ(started(run({})),
            (std::map<std::string, std::string>{{"c", "it failed in an earlier session"}}));
  Result plain = RunMex({"run", "m.yaml", "--force", "a"}, dir.path().string());
  EXPECT_NE(plain.out.find("start a (attempt 3/3): runs again, forced (--force)"),
            std::string::npos)
      << plain.out;
  // An unknown task: said, with the nearest, and nothing run.
  Result unknown = run({"--force", "bb"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(unknown.err, "mex: --force: no task 'bb' in m.yaml (did you mean 'b'?)\n");
}

TEST(RunTest, DryRunSaysWhatWouldRunAndWhyAndWritesNothing) {
  TempDir dir;
  auto write = [&](const std::string& b_run) {
    WriteFile(dir.path() / "m.yaml",
              "defaults: {retry: {max_attempts: 1}}\ntasks:\n"
              "  - {id: a, run: 'true'}\n"
              "  - {id: b, run: '" +
                  b_run +
                  "', deps: [a]}\n"
                  "  - {id: c, run: 'true', deps: [b]}\n"
                  "  - {id: d, run: 'exit 1'}\n"
                  "  - {id: e, run: 'true'}\n");
  };
  write("true");
  Result fresh = RunMex({"run", "m.yaml", "-n"}, dir.path().string());
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(fresh.out,
            "run   a: never run\nrun   b: never run\nrun   c: never run\nrun   d: never run\n"
            "run   e: never run\n5 would run, 0 kept; nothing was run or written\n");
  EXPECT_FALSE(fs::exists(dir.path() / ".mex"));
  ASSERT_EQ(RunMex({"run", "m.yaml"}, dir.path().string()).exit_code, 1);
  // One definition changes (b), which changes its dependent (c); d failed; e is forced.
  write("echo changed");
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir.path() / ".mex")) {
      names.push_back(entry.path().string() + " " +
                      std::to_string(fs::last_write_time(entry.path()).time_since_epoch().count()));
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  std::vector<std::string> before = listing();
  Result dry = RunMex({"run", "m.yaml", "--dry-run", "--force", "e"}, dir.path().string());
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out,
            "keep  a: succeeded, unchanged\n"
            "run   b: its definition changed\n"
            "run   c: a dep changed: b\n"
            "run   d: it failed in an earlier session\n"
            "run   e: forced (--force)\n"
            "4 would run, 1 kept; nothing was run or written\n");
  EXPECT_EQ(listing(), before);  // nothing written, not even state.db's timestamp
  // The run does what the dry run said.
  Result real = RunMex({"run", "m.yaml", "--json", "--force", "e"}, dir.path().string());
  std::vector<std::string> started;
  for (const auto& e : Events(real.out)) {
    if (e["event"] == "task_started") started.push_back(e["task"]);
  }
  std::sort(started.begin(), started.end());
  EXPECT_EQ(started, (std::vector<std::string>{"b", "c", "d", "e"}));
}

TEST(RunTest, TargetsRunWhatTheyNeedAndALaterRunTheRest) {
  TempDir dir;
  WriteFile(dir.path() / "milestone.yaml", R"(phases:
  - name: build
    weight: 60
    tasks:
      - {id: gen, run: 'true'}
      - {id: lib, run: 'true'}
  - name: test
    weight: 40
    gate: {min_score: 1, criteria: [tasks_succeeded, {command: "echo ran >> gate.txt"}]}
    tasks:
      - {id: compile, run: 'true'}
      - {id: link, run: 'true', deps: [compile, lib]}
      - {id: tests, run: 'true', deps: [link]}
      - {id: docs, run: 'true'}
)");
  auto started = [](const Result& r) {
    std::vector<std::string> ids;
    for (const auto& e : Events(r.out)) {
      if (e["event"] == "task_started") ids.push_back(e["task"]);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  // Without FILE, as `ninja link`: the phase before whole, then link and what it needs. A folder
  // of the same name (as build/ beside a task `build`) does not make it a FILE.
  fs::create_directories(dir.path() / "link");
  Result link = RunMex({"run", "link", "--json"}, dir.path().string());
  EXPECT_EQ(link.exit_code, 0) << link.err;
  EXPECT_EQ(started(link), (std::vector<std::string>{"compile", "gen", "lib", "link"}));
  EXPECT_EQ(ReadFile(dir.path() / "gate.txt"), "ran\n");  // the gate as usual
  EXPECT_TRUE(Of(Events(link.out), "task_skipped").empty());
  EXPECT_TRUE(Of(Events(link.out), "task_cancelled").empty());
  EXPECT_EQ(Of(Events(link.out), "run_finished").at(0)["exit_code"], 0);
  // The rest, later; with FILE and a target already done: nothing.
  Result same = RunMex({"run", "milestone.yaml", "link", "--json"}, dir.path().string());
  EXPECT_EQ(same.exit_code, 0);
  EXPECT_TRUE(started(same).empty());
  Result rest = RunMex({"run", "--json"}, dir.path().string());
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(started(rest), (std::vector<std::string>{"docs", "tests"}));
  Result typo = RunMex({"run", "lnk"}, dir.path().string());
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.err, "mex: no task 'lnk' in milestone.yaml (did you mean 'link'?)\n");
}

// A small C project: a changed source rebuilds its object, the library and the tests that link
// it, and nothing else, as make would.
TEST(RunTest, AChangedInputRunsItsTaskAndWhatDependsOnItAndNothingElse) {
  TempDir dir;
  const fs::path p = dir.path();
  fs::create_directories(p / "src");
  fs::create_directories(p / "tests");
  fs::create_directories(p / "build");
  WriteFile(p / "src" / "calc.h", "int add(int, int);\nint mul(int, int);\n");
  WriteFile(p / "src" / "add.c", "#include \"calc.h\"\nint add(int a, int b) { return a + b; }\n");
  WriteFile(p / "src" / "mul.c", "#include \"calc.h\"\nint mul(int a, int b) { return a * b; }\n");
  WriteFile(p / "tests" / "test_add.c",
            "#include \"../src/calc.h\"\nint main(void) { return add(2, 3) != 5; }\n");
  WriteFile(p / "tests" / "test_mul.c",
            "#include \"../src/calc.h\"\nint main(void) { return mul(2, 3) != 6; }\n");
  WriteFile(p / "README.md", "calc\n");
  WriteFile(p / "m.yaml", R"(defaults: {retry: {max_attempts: 1}}
tasks:
  - {id: compile-add, inputs: [src/add.c, src/*.h], run: "cc -c src/add.c -o build/add.o"}
  - {id: compile-mul, inputs: [src/mul.c, src/*.h], run: "cc -c src/mul.c -o build/mul.o"}
  - id: lib
    deps: [compile-add, compile-mul]
    run: "ar rcs build/libcalc.a build/add.o build/mul.o"
  - id: test-add
    deps: [lib]
    inputs: [tests/test_add.c]
    run: "cc tests/test_add.c build/libcalc.a -o build/test_add && build/test_add"
  - id: test-mul
    deps: [lib]
    inputs: [tests/test_mul.c]
    run: "cc tests/test_mul.c build/libcalc.a -o build/test_mul && build/test_mul"
  - {id: docs, inputs: [README.md], run: "true"}
)");
  auto started = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", "m.yaml", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = RunMex(args, p.string());
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    std::vector<std::string> ids;
    for (const auto& e : Events(r.out)) {
      if (e["event"] == "task_started") ids.push_back(e["task"]);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(started().size(), 6u);
  EXPECT_TRUE(started().empty());  // a second run, as a second `make`: nothing
  WriteFile(p / "src" / "mul.c", "#include \"calc.h\"\nint mul(int a, int b) { return b * a; }\n");
  Result dry = RunMex({"run", "m.yaml", "-n"}, p.string());
  EXPECT_NE(dry.out.find("run   compile-mul: an input changed: src/mul.c\n"), std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find("run   lib: a dep changed: compile-mul\n"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("keep  compile-add: succeeded, unchanged\n"), std::string::npos)
      << dry.out;
  EXPECT_EQ(started(), (std::vector<std::string>{"compile-mul", "lib", "test-add", "test-mul"}));
  // A test's own source: only that test.
  WriteFile(p / "tests" / "test_add.c",
            "#include \"../src/calc.h\"\nint main(void) { return add(3, 2) != 5; }\n");
  EXPECT_EQ(started(), (std::vector<std::string>{"test-add"}));
  // The header that every compile reads (through the glob): both objects and all after them.
  WriteFile(p / "src" / "calc.h", "int add(int a, int b);\nint mul(int a, int b);\n");
  EXPECT_EQ(started(), (std::vector<std::string>{"compile-add", "compile-mul", "lib", "test-add",
                                                 "test-mul"}));
  EXPECT_TRUE(started().empty());
}

// The hashes of inputs are cached in state.db by size, mtime and inode, as make trusts a file's
// mtime: a file rewritten with the same size, mtime and inode is taken as unchanged (and is not
// read again), and any change of its stamp makes mex read it again.
TEST(RunTest, AnInputWhoseStampIsUnchangedIsNotReadAgainAndANewStampIs) {
  TempDir dir;
  const fs::path p = dir.path();
  fs::create_directories(p / "src");
  const fs::path source = p / "src" / "a.c";
  WriteFile(source, "int a = 1;\n");
  // An hour ago: long before mex hashes it, so that its cached hash is trusted afterwards.
  const auto old = fs::last_write_time(source) - std::chrono::hours(1);
  fs::last_write_time(source, old);
  WriteFile(p / "m.yaml", "tasks:\n  - {id: compile, inputs: [src/a.c], run: 'echo x >> ran'}\n");
  auto runs = [&] {
    Result r = RunMex({"run", "m.yaml"}, p.string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ReadFile(p / "ran").size() / 2;  // lines "x\n"
  };
  EXPECT_EQ(runs(), 1u);
  // The same size, written in place (the same inode), its mtime put back: the stamp is the one
  // cached, so the content is not read: nothing runs, as with make.
  WriteFile(source, "int a = 2;\n");
  fs::last_write_time(source, old);
  EXPECT_EQ(runs(), 1u);
  Result dry = RunMex({"run", "m.yaml", "-n"}, p.string());
  EXPECT_NE(dry.out.find("keep  compile: succeeded, unchanged\n"), std::string::npos) << dry.out;
  // A new mtime: read again, and the change found.
  fs::last_write_time(source, old + std::chrono::seconds(1));
  dry = RunMex({"run", "m.yaml", "-n"}, p.string());
  EXPECT_NE(dry.out.find("run   compile: an input changed: src/a.c\n"), std::string::npos)
      << dry.out;
  EXPECT_EQ(runs(), 2u);
  EXPECT_EQ(runs(), 2u);
  // A file written just before mex hashed it may be written again within the same tick of the
  // file system's clock: its cached hash is not trusted, whatever the stamp says.
  WriteFile(source, "int a = 3;\n");
  const auto now = fs::last_write_time(source);
  EXPECT_EQ(runs(), 3u);
  WriteFile(source, "int a = 4;\n");
  fs::last_write_time(source, now);
  EXPECT_EQ(runs(), 4u);
}

// A dep's declared output is an input of the tasks that need it: an artifact changed by hand runs
// them again, and a second run after a first changes nothing.
TEST(RunTest, ADepsOutputIsAnInputOfTheTasksThatNeedIt) {
  TempDir dir;
  const fs::path p = dir.path();
  WriteFile(p / "m.yaml", R"(tasks:
  - {id: design, output: {path: design.md}, run: 'echo "# design" > "$MEX_OUTPUT"; echo x >> design-ran'}
  - {id: spec, deps: [design], run: 'echo x >> spec-ran'}
  - {id: other, run: 'echo x >> other-ran'}
)");
  auto run = [&] {
    Result r = RunMex({"run", "m.yaml"}, p.string());
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    auto count = [&](const char* name) {
      return fs::exists(p / name) ? ReadFile(p / name).size() / 2 : 0;
    };
    return std::vector<size_t>{count("design-ran"), count("spec-ran"), count("other-ran")};
  };
  EXPECT_EQ(run(), (std::vector<size_t>{1, 1, 1}));
  EXPECT_EQ(run(), (std::vector<size_t>{1, 1, 1}));  // a no-op
  // The artifact changed by hand: what needs it runs again, not what made it.
  fs::path artifact;
  for (const auto& e : fs::recursive_directory_iterator(p / ".mex" / "runs")) {
    if (e.path().filename() == "design.md") artifact = e.path();
  }
  ASSERT_FALSE(artifact.empty());
  WriteFile(artifact, "# design, edited\n");
  EXPECT_EQ(run(), (std::vector<size_t>{1, 2, 1}));
  EXPECT_EQ(run(), (std::vector<size_t>{1, 2, 1}));
  // The artifact removed: the task that makes it runs again, then what needs it (its output is
  // new to them), and a run after that is a no-op again.
  fs::remove(artifact);
  Result dry = RunMex({"run", "m.yaml", "-n"}, p.string());
  EXPECT_NE(dry.out.find("run   design: its output design.md is missing\n"), std::string::npos)
      << dry.out;
  Result again = RunMex({"run", "m.yaml", "--json"}, p.string());
  EXPECT_NE(again.out.find(R"("rerun":"its output design.md is missing")"), std::string::npos)
      << again.out;
  EXPECT_EQ(run(), (std::vector<size_t>{2, 3, 1}));
  EXPECT_EQ(ReadFile(artifact), "# design\n");
}

TEST(RunTest, AMissingInputIsAnErrorNamingTheTaskAndThePathAndNothingRuns) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: a, run: 'touch ran'}\n"
            "  - {id: compile, inputs: [src/nope.c], run: 'touch ran'}\n");
  Result r = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "m.yaml:3:10: error: task 'compile': input 'src/nope.c' does not exist\n");
  EXPECT_FALSE(fs::exists(dir.path() / "ran"));
  EXPECT_FALSE(fs::exists(dir.path() / ".mex"));
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: compile, inputs: ['src/*.c'], run: 'touch ran'}\n");
  r = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "m.yaml:2:10: error: task 'compile': input 'src/*.c' matches no file\n");
  // Inside a glob only what is there matches: a folder without main.c is no error.
  fs::create_directories(dir.path() / "one");
  fs::create_directories(dir.path() / "two");
  WriteFile(dir.path() / "one" / "main.c", "int main(void) { return 0; }\n");
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: compile, inputs: ['*/main.c'], run: 'touch ran'}\n");
  r = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(dir.path() / "ran"));
  fs::remove(dir.path() / "ran");
  // A symlink is never followed.
  fs::create_directories(dir.path() / "src");
  fs::create_symlink("/etc/hostname", dir.path() / "src" / "link.c");
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: compile, inputs: [src/link.c], run: 'touch ran'}\n");
  r = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("m.yaml:2:10: error: task 'compile': input 'src/link.c' cannot be read"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "ran"));
}

TEST(RunTest, PromptGoesToTheAgentOnStdin) {
  MexRun run(
      "agents: {cat: {command: [cat], prompt_via: stdin}}\n"
      "defaults: {agent: cat}\n"
      "tasks:\n  - {id: ask, prompt: 'Hello {{task.id}} from {{milestone.id}}'}\n");
  ASSERT_EQ(run.result.exit_code, 0);
  EXPECT_EQ(ReadFile(run.RunFolder() / "logs" / "ask.1.log"), "Hello ask from m");
}

// Out of descriptors (ulimit -n 20 with 16 slots): attempts that cannot be spawned are class
// resource, cost no attempt while others hold what they need, and the slots shrink to what
// the limit allows: every task succeeds, as it would with -j 4.
TEST(RunTest, RunningOutOfDescriptorsShrinksTheSlotsInsteadOfFailingTasks) {
  TempDir dir;
  std::string yaml = "defaults: {max_parallel: 16, retry: {max_attempts: 2}}\ntasks:\n";
  for (int i = 0; i < 40; ++i) yaml += "  - {id: t" + std::to_string(i) + ", run: 'sleep 0.1'}\n";
  WriteFile(dir.path() / "m.yaml", yaml);
  const char* path = std::getenv("PATH");
  Result r = testing_util::RunProgram(
      {"/bin/sh", "-c", "ulimit -n 20 && exec \"$0\" run m.yaml --json", MEX_BINARY},
      dir.path().string(), {std::string("PATH=") + (path ? path : "/usr/bin:/bin")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto events = Events(r.out);
  EXPECT_EQ(Of(events, "task_succeeded").size(), 40u) << r.out;
  EXPECT_TRUE(Of(events, "task_failed").empty());
}

TEST(RunTest, CtrlCEndsEveryChildAndExits130) {
  TempDir dir;
  std::string pid_file = (dir.path() / "helper.pid").string();
  WriteFile(dir.path() / "m.yaml", "tasks:\n  - {id: hung, run: [" + Agent("hang-with-child") +
                                       ", '" + pid_file +
                                       "']}\n  - {id: later, run: 'true', "
                                       "deps: [hung]}\n");
  std::string out = (dir.path() / "out").string();
  pid_t mex = testing_util::StartMex({"run", "m.yaml", "--json"}, dir.path().string(), out);
  for (int i = 0; i < 200 && !fs::exists(pid_file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(pid_file)) << "the task never started";
  pid_t helper = std::stoi(ReadFile(pid_file));
  kill(mex, SIGINT);
  int code = testing_util::WaitMex(mex);
  EXPECT_EQ(code, 130);
  bool gone = GoneWithin5s(helper);
  EXPECT_TRUE(gone) << "a task's process survived Ctrl-C";
  auto events = Events(ReadFile(out));
  EXPECT_EQ(Of(events, "interrupted").size(), 1u);
  EXPECT_EQ(Of(events, "task_cancelled", "hung").size(), 1u);
  EXPECT_TRUE(Of(events, "task_started", "later").empty());
  // The task that never started has its event too, and the summary counts both.
  auto never = Of(events, "task_cancelled", "later");
  ASSERT_EQ(never.size(), 1u) << ReadFile(out);
  EXPECT_EQ(never[0]["reason"], "never started: interrupted");
  ASSERT_EQ(Of(events, "run_finished").size(), 1u);
  EXPECT_EQ(Of(events, "run_finished")[0]["cancelled"], 2);
}

// What a person needs when a task fails, on the screen: the end of its log, where its log and
// its failure report are, the command a shell could not find; and at the end, every task that
// did not succeed by name. A failed run is not shown as done.
TEST(RunTest, AFailedTaskShowsTheEndOfItsLogAndTheSummaryNamesIt) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "defaults: {retry: {max_attempts: 1}}\ntasks:\n"
            "  - {id: broken, run: 'for i in 1 2 3 4 5 6 7 8 9 10 11; do echo line $i; done; "
            "echo oops >&2; exit 1'}\n"
            "  - {id: after, deps: [broken], run: 'true'}\n"
            "  - {id: typo, run: 'no-such-program-here --flag'}\n"
            "  - {id: fine, run: 'true'}\n");
  Result r = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string& out = r.out;
  size_t failed = out.find("FAILED broken (attempt 1/1), logic: exit 1\n");
  ASSERT_NE(failed, std::string::npos) << out;
  // The last 10 lines of its log, in order, then the paths.
  std::string tail;
  for (int i = 3; i <= 11; ++i) tail += "  | line " + std::to_string(i) + "\n";
  tail += "  | oops\n  log:    ";
  EXPECT_EQ(out.find(tail), out.find('\n', failed) + 1) << out;
  EXPECT_EQ(out.find("  | line 2\n"), std::string::npos) << out;
  auto path_after = [&](const std::string& label) {
    size_t at = out.find(label, failed);
    if (at == std::string::npos) return fs::path();
    at += label.size();
    return fs::path(out.substr(at, out.find('\n', at) - at));
  };
  fs::path log = path_after("  log:    ");
  fs::path report = path_after("  report: ");
  EXPECT_EQ(log.filename(), "broken.1.log") << out;
  EXPECT_NE(ReadFile(log).find("line 11\noops\n"), std::string::npos) << log;
  EXPECT_EQ(report.filename(), "broken.json") << out;
  EXPECT_NE(ReadFile(report).find("\"class\": \"logic\""), std::string::npos) << report;
  EXPECT_NE(out.find("FAILED typo (attempt 1/1), permanent: exit 127: command not found: "
                     "no-such-program-here\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1 succeeded, 2 failed, 1 skipped, 0 cancelled"), std::string::npos) << out;
  EXPECT_NE(out.find("\n  failed:    broken, typo\n") == std::string::npos
                ? out.find("\n  failed:    typo, broken\n")
                : 0,
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\n  skipped:   after\n"), std::string::npos) << out;
  // One of four tasks succeeded, the gate failed: a fifth done (the gate is the last part).
  EXPECT_NE(out.find("gate score 0.25 (needs 1.00), 20% of the milestone done"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace mex
