// End-to-end tests of `mex logs`: the built binary prints the logs that `mex run` wrote, to a file,
// a pipe and a terminal, and follows them (-f) while the run goes on. The tests wait for what they
// can see (a line in a log, in mex's output), never for a fixed time.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "store/sqlite_store.h"
#include "store/state_lock.h"
#include "tests/test_util.h"
#include "util/clock.h"
#include "util/folder.h"

extern char** environ;

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ProcessGone;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::RunProgram;
using testing_util::StartMex;
using testing_util::TempDir;
using testing_util::WaitMex;
using testing_util::WriteFile;

// Polls `done` every 10 ms for at most a minute: for what a child process changes.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 6000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Waits for a process of StartMex to end by itself; kills it (and fails) after a minute.
int EndOf(pid_t pid) {
  if (!Eventually([&] { return ProcessGone(pid); })) {
    ADD_FAILURE() << "pid " << pid << " did not end";
    kill(pid, SIGKILL);
  }
  return WaitMex(pid);
}

// Every file under `dir`, with its content: what `mex logs` must leave as it found it.
std::set<std::pair<std::string, std::string>> Snapshot(const fs::path& dir) {
  std::set<std::pair<std::string, std::string>> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    files.insert({entry.path().string(), entry.is_regular_file() ? ReadFile(entry.path()) : ""});
  }
  return files;
}

// A shell loop that waits for the file `name` (in the task's folder, the milestone's).
std::string WaitFor(const std::string& name) {
  return "while [ ! -e " + name + " ]; do sleep 0.02; done";
}

// Escape sequences, a CRLF, a byte that is not UTF-8 and a NUL, without a final newline.
const std::string kRawLog = std::string("one\n\x1b[31mred\x1b[0m\r\n\xff\0end", 23);

class LogsTest : public ::testing::Test {
 protected:
  fs::path Dir() const { return dir_.path(); }
  void Milestone(const std::string& yaml) { WriteFile(Dir() / "m.yaml", yaml); }
  // Records in .mex/state.db a run r1 of m.yaml whose task `a` has one attempt logged at `log`:
  // over and succeeded when `ended`, else running. The store is returned open, all committed (kept
  // open, it stands for an engine that has not ended yet).
  std::unique_ptr<SqliteStore> RecordRun(const std::string& log, bool ended) {
    std::string err;
    auto store = SqliteStore::Open((Dir() / ".mex").string(), false, &err);
    EXPECT_TRUE(store) << err;
    if (!store) return store;
    StoredRun run;
    run.id = "r1";
    run.milestone = MilestoneKey((Dir() / "m.yaml").string());
    run.name = "m";
    run.started_at = WallClockSeconds();
    store->BeginRun(run, 1);
    store->SetPhases({{"execute", 100, ""}});
    store->PutTask({"a", 0, 0, 1, "ha", TaskState::kPending, 0, "", ""});
    AttemptRecord a;
    a.task = "a";
    a.number = 1;
    a.started_at = run.started_at;
    if (ended) {
      a.ended_at = run.started_at + 1;
      a.end = "exited";
    }
    a.log_path = log;
    store->AttemptChanged(a);
    store->TaskChanged("a", ended ? TaskState::kSucceeded : TaskState::kRunning, 1);
    EXPECT_TRUE(store->Commit()) << store->error();
    return store;
  }
  Result Mex(const std::vector<std::string>& args) { return RunMex(args, Dir().string()); }
  // The only run's folder.
  fs::path RunFolder() const {
    for (const auto& entry : fs::directory_iterator(Dir() / ".mex" / "runs")) return entry.path();
    return {};
  }
  std::string Log(const std::string& task, int attempt) const {
    if (!fs::exists(Dir() / ".mex" / "runs")) return "";
    return ReadFile(RunFolder() / "logs" / (task + "." + std::to_string(attempt) + ".log"));
  }
  // Starts `mex ARGS...` in the workspace, its stdout in OUT.out and stderr in OUT.out.err.
  pid_t Start(const std::vector<std::string>& args, const std::string& out) {
    return StartMex(args, Dir().string(), (Dir() / out).string());
  }
  std::string Out(const std::string& out) const { return ReadFile(Dir() / out); }
  std::string Err(const std::string& out) const { return ReadFile(Dir() / (out + ".err")); }
  void Touch(const std::string& name) { WriteFile(Dir() / name, ""); }

  TempDir dir_;
};

TEST_F(LogsTest, PrintsTheLatestAttemptsLogByteForByteAndChangesNothing) {
  WriteFile(Dir() / "raw.bin", kRawLog);
  Milestone("tasks:\n  - {id: build, run: 'cat raw.bin'}\n  - {id: other, run: 'echo other'}\n");
  Result run = Mex({"run", "m.yaml"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto before = Snapshot(Dir());

  Result logs = Mex({"logs", "build"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, kRawLog);
  EXPECT_EQ(logs.err, "");
  EXPECT_EQ(Mex({"logs", "other"}).out, "other\n");

  // With FILE, from another folder; with --state-dir; with the run's id.
  Result by_file = RunMex({"logs", "build", (Dir() / "m.yaml").string()});
  EXPECT_EQ(by_file.exit_code, 0) << by_file.err;
  EXPECT_EQ(by_file.out, kRawLog);
  EXPECT_EQ(RunMex({"logs", "build", "--state-dir", (Dir() / ".mex").string()}).out, kRawLog);
  Result by_run = Mex({"logs", "build", "m.yaml", "--run", RunFolder().filename().string()});
  EXPECT_EQ(by_run.exit_code, 0) << by_run.err;
  EXPECT_EQ(by_run.out, kRawLog);
  // -f of a finished run prints the log and ends.
  Result follow = Mex({"logs", "-f", "build"});
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_EQ(follow.out, kRawLog);

  // Through a pipe, the bytes as they are too.
  Result piped = RunProgram({"/bin/sh", "-c", std::string(MEX_BINARY) + " logs build | cat"},
                            Dir().string(), {"PATH=/usr/bin:/bin"});
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, kRawLog);
  EXPECT_EQ(Snapshot(Dir()), before);
}

// Runs `mex ARGS...` in `cwd` with its stdout on a new terminal (raw: no \n to \r\n), and returns
// what the terminal got. A shell runs mex and then prints its exit code as "\n[exit N]": the test
// reads up to that mark, while it still holds the terminal open, rather than until a hangup.
std::string OnATerminal(const std::vector<std::string>& args, const std::string& cwd,
                        int* exit_code) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    ADD_FAILURE() << "no pseudo-terminal: " << std::strerror(errno);
    return "";
  }
  std::string slave_path = ptsname(master);
  int slave = open(slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  struct termios raw {};
  tcgetattr(slave, &raw);
  cfmakeraw(&raw);
  tcsetattr(slave, TCSANOW, &raw);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, slave, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> words = {"/bin/sh", "-c", "\"$0\" \"$@\"; printf '\\n[exit %d]' $?",
                                    MEX_BINARY};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  std::string got;
  if (rc == 0) {
    char buffer[4096];
    size_t mark = std::string::npos;
    while ((mark = got.rfind("\n[exit ")) == std::string::npos || got.back() != ']') {
      ssize_t n = read(master, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got.append(buffer, static_cast<size_t>(n));
    }
    WaitMex(pid);
    if (mark != std::string::npos) {
      *exit_code = std::atoi(got.c_str() + mark + 7);
      got.erase(mark);
    }
  } else {
    ADD_FAILURE() << "posix_spawn: " << std::strerror(rc);
  }
  close(slave);
  close(master);
  return got;
}

// An attempt whose log is gone is an error with -f as without it.
TEST_F(LogsTest, ALogThatIsGoneExitsOneWithAndWithoutFollow) {
  Milestone("tasks:\n  - {id: build, run: 'echo built'}\n");
  Result run = Mex({"run", "m.yaml"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  fs::remove(RunFolder() / "logs" / "build.1.log");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"logs", "build"}, {"logs", "-f", "build"}}) {
    Result logs = Mex(args);
    EXPECT_EQ(logs.exit_code, 1) << args.size() << " " << logs.err;
    EXPECT_NE(logs.err.find("1.log"), std::string::npos) << logs.err;
    EXPECT_EQ(logs.out, "");
  }
}

TEST_F(LogsTest, OnATerminalControlCharactersShowAsQuestionMarks) {
  WriteFile(Dir() / "raw.bin", kRawLog);
  Milestone("tasks:\n  - {id: build, run: 'cat raw.bin'}\n");
  ASSERT_EQ(Mex({"run", "m.yaml"}).exit_code, 0);
  int exit_code = -1;
  EXPECT_EQ(OnATerminal({"logs", "build"}, Dir().string(), &exit_code),
            "one\n?[31mred?[0m\r\n??end");
  EXPECT_EQ(exit_code, 0);
}

TEST_F(LogsTest, AttemptNPrintsAnEarlierAttemptOfARetriedTask) {
  Milestone(
      "defaults: {retry: {max_attempts: 2, backoff: {initial: 0}}}\n"
      "tasks:\n"
      "  - id: flaky\n"
      "    run: 'if [ -e marker ]; then echo second; else touch marker; echo first; exit 1; fi'\n");
  Result run = Mex({"run", "m.yaml"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(Mex({"logs", "flaky"}).out, "second\n");
  EXPECT_EQ(Mex({"logs", "flaky", "--attempt", "2"}).out, "second\n");
  Result first = Mex({"logs", "flaky", "--attempt", "1"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "first\n");
  EXPECT_EQ(Mex({"logs", "flaky", "m.yaml", "-f", "--attempt", "1"}).out, "first\n");

  std::string run_id = RunFolder().filename().string();
  Result third = Mex({"logs", "flaky", "--attempt", "3"});
  EXPECT_EQ(third.exit_code, 1);
  EXPECT_EQ(third.out, "");
  EXPECT_EQ(third.err,
            "mex: task 'flaky' has no attempt 3 in run " + run_id + " (attempts 1 to 2)\n");
  EXPECT_EQ(Mex({"logs", "flaky", "--attempt", "0"}).exit_code, 2);
}

TEST_F(LogsTest, UnknownTaskNoAttemptAndNoRunAreErrors) {
  Milestone(
      "defaults: {retry: {max_attempts: 1}}\n"
      "tasks:\n  - {id: build, run: 'false'}\n  - {id: test, run: 'true', deps: [build]}\n");
  {
    Result none = Mex({"logs", "build"});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_EQ(none.err, "mex: no run recorded in .mex (start one with `mex run FILE`)\n");
    EXPECT_FALSE(fs::exists(Dir() / ".mex"));
  }
  ASSERT_EQ(Mex({"run", "m.yaml"}).exit_code, 1);
  std::string run_id = RunFolder().filename().string();

  Result typo = Mex({"logs", "biuld"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.out, "");
  EXPECT_EQ(typo.err, "mex: run " + run_id + " of m has no task 'biuld' (did you mean 'build'?)\n");
  Result unknown = Mex({"logs", "deploy", "-f"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "mex: run " + run_id + " of m has no task 'deploy'\n");

  // `test` was skipped: it has no attempt, with -f too (the run is over).
  for (const auto& args :
       {std::vector<std::string>{"logs", "test"}, std::vector<std::string>{"logs", "test", "-f"}}) {
    Result skipped = Mex(args);
    EXPECT_EQ(skipped.exit_code, 1);
    EXPECT_EQ(skipped.err, "mex: task 'test' has no attempt in run " + run_id + " (skipped)\n");
  }

  Result no_run = Mex({"logs", "build", "--run", "20990101T000000Z-0000"});
  EXPECT_EQ(no_run.exit_code, 2);
  EXPECT_EQ(no_run.err,
            "mex: no run 20990101T000000Z-0000 recorded in .mex (`mex status` shows the latest)\n");
  WriteFile(Dir() / "other.yaml", "tasks: []\n");
  Result other = Mex({"logs", "build", "other.yaml"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_EQ(other.err, "mex: no run of other.yaml recorded in " + (Dir() / ".mex").string() +
                           " (start one with `mex run other.yaml`)\n");
}

// -f started before the task's first attempt waits for it, prints its lines as they come, and
// ends when the task has.
TEST_F(LogsTest, FollowPrintsWhatARunningTaskWritesUntilItEnds) {
  Milestone("tasks:\n  - {id: first, run: '" + WaitFor("go0") +
            "'}\n"
            "  - {id: slow, deps: [first], run: 'echo line1; " +
            WaitFor("go") + "; echo line2'}\n");
  pid_t engine = Start({"run", "m.yaml"}, "run.out");
  ASSERT_TRUE(Eventually([&] {
    return fs::exists(Dir() / ".mex" / "runs") && !RunFolder().empty() &&
           fs::exists(RunFolder() / "logs" / "first.1.log");
  })) << Out("run.out");

  pid_t logs = Start({"logs", "slow", "--follow"}, "logs.out");
  ASSERT_TRUE(Eventually([&] { return !Err("logs.out").empty(); }));
  EXPECT_EQ(Err("logs.out"),
            "mex: task 'slow' has no attempt yet (pending); waiting for it to start\n");
  Touch("go0");
  EXPECT_TRUE(Eventually([&] { return Out("logs.out") == "line1\n"; })) << Out("logs.out");
  EXPECT_FALSE(ProcessGone(logs));
  Touch("go");
  EXPECT_EQ(EndOf(logs), 0) << Err("logs.out");
  EXPECT_EQ(Out("logs.out"), "line1\nline2\n");
  EXPECT_EQ(EndOf(engine), 0) << Out("run.out");
}

// -f goes on with the retry's log, after a separator line on stderr.
TEST_F(LogsTest, FollowGoesOnWithTheNextAttempt) {
  Milestone(
      "defaults: {retry: {max_attempts: 2, backoff: {initial: 0}}}\n"
      "tasks:\n"
      "  - id: flaky\n"
      "    run: 'if [ -e marker ]; then echo second; " +
      WaitFor("go2") + "; echo finished; else touch marker; echo first; " + WaitFor("go1") +
      "; exit 1; fi'\n");
  pid_t engine = Start({"run", "m.yaml"}, "run.out");
  ASSERT_TRUE(Eventually([&] { return Log("flaky", 1) == "first\n"; })) << Out("run.out");

  pid_t logs = Start({"logs", "-f", "flaky", "m.yaml"}, "logs.out");
  EXPECT_TRUE(Eventually([&] { return Out("logs.out") == "first\n"; })) << Out("logs.out");
  Touch("go1");
  EXPECT_TRUE(Eventually([&] { return Out("logs.out") == "first\nsecond\n"; })) << Out("logs.out");
  EXPECT_EQ(Err("logs.out"), "==> flaky: attempt 2 <==\n");
  EXPECT_FALSE(ProcessGone(logs));
  Touch("go2");
  EXPECT_EQ(EndOf(logs), 0) << Err("logs.out");
  EXPECT_EQ(Out("logs.out"), "first\nsecond\nfinished\n");
  EXPECT_EQ(EndOf(engine), 0) << Out("run.out");
}

TEST_F(LogsTest, CtrlCEndsFollowWith130) {
  Milestone("tasks:\n  - {id: slow, run: 'echo started; " + WaitFor("go") + "'}\n");
  pid_t engine = Start({"run", "m.yaml"}, "run.out");
  ASSERT_TRUE(Eventually([&] { return Log("slow", 1) == "started\n"; })) << Out("run.out");
  pid_t logs = Start({"logs", "-f", "slow"}, "logs.out");
  ASSERT_TRUE(Eventually([&] { return Out("logs.out") == "started\n"; }));
  kill(logs, SIGINT);
  EXPECT_EQ(EndOf(logs), 130);
  Touch("go");
  EXPECT_EQ(EndOf(engine), 0) << Out("run.out");
}

// A run of a mex before the flat logs, in a state folder that was moved since: the log recorded
// is not beneath it, the flat path has nothing, logs/TASK/N.log is read.
TEST_F(LogsTest, ARunWithTheOlderLayoutInAMovedStateFolderIsRead) {
  Milestone("tasks:\n  - {id: a, run: 'true'}\n");
  fs::path state_dir = Dir() / ".mex";
  fs::create_directories(state_dir / "runs" / "r1" / "logs" / "a");
  WriteFile(state_dir / "runs" / "r1" / "logs" / "a" / "1.log", "older layout\n");
  ASSERT_TRUE(RecordRun("/moved/away/.mex/runs/r1/logs/a/1.log", /*ended=*/true));
  pid_t logs = Start({"logs", "a"}, "logs.out");
  EXPECT_EQ(EndOf(logs), 0) << Err("logs.out");
  EXPECT_EQ(Out("logs.out"), "older layout\n") << Err("logs.out");
}

// A run whose engine is gone (its lock released) is over for -f, though the task is recorded as
// running: this process plays the engine, as in status_cli_test.cc.
TEST_F(LogsTest, FollowEndsWhenTheRunsEngineIsGone) {
  Milestone("tasks:\n  - {id: a, run: 'true'}\n");
  fs::path state_dir = Dir() / ".mex";
  fs::create_directories(state_dir / "runs" / "r1" / "logs");
  fs::path log = state_dir / "runs" / "r1" / "logs" / "a.1.log";
  WriteFile(log, "one\n");
  auto state = std::make_shared<Folder>();
  std::string err;
  ASSERT_TRUE(Folder::Open(state_dir.string(), false, state.get(), &err)) << err;
  StateLock lock;
  ASSERT_TRUE(lock.Acquire(state, &err)) << err;
  auto store = RecordRun(log.string(), /*ended=*/false);
  ASSERT_TRUE(store);
  pid_t logs = Start({"logs", "-f", "a"}, "logs.out");
  EXPECT_TRUE(Eventually([&] { return Out("logs.out") == "one\n"; })) << Err("logs.out");
  {
    std::ofstream append(log, std::ios::app);
    append << "two";  // a line not ended yet is printed too
  }
  EXPECT_TRUE(Eventually([&] { return Out("logs.out") == "one\ntwo"; })) << Err("logs.out");
  EXPECT_FALSE(ProcessGone(logs));
  store.reset();
  lock = StateLock();
  EXPECT_EQ(EndOf(logs), 0) << Err("logs.out");
  EXPECT_EQ(Out("logs.out"), "one\ntwo");
  EXPECT_EQ(Err("logs.out"), "");
}

// A log is read beneath the state folder only: a symlink planted in its place is refused.
TEST_F(LogsTest, ASymlinkInPlaceOfALogIsRefused) {
  WriteFile(Dir() / "secret", "secret\n");
  Milestone("tasks:\n  - {id: a, run: 'echo a'}\n");
  ASSERT_EQ(Mex({"run", "m.yaml"}).exit_code, 0);
  fs::path log = RunFolder() / "logs" / "a.1.log";
  fs::remove(log);
  fs::create_symlink(Dir() / "secret", log);
  Result logs = Mex({"logs", "a"});
  EXPECT_EQ(logs.exit_code, 1);
  EXPECT_EQ(logs.out, "");
  EXPECT_NE(logs.err.find("a symlink is on its way"), std::string::npos) << logs.err;
}

}  // namespace
}  // namespace mex
