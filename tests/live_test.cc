// The live view of `mex run` (report/live.h): the block's rendering, and the built binary on a
// real terminal, a detached tmux session of 80x24 whose screen the tests read with capture-pane.
#include "report/live.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"
#include "util/clock.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::Result;
using testing_util::RunProgram;
using testing_util::TempDir;
using testing_util::WriteFile;

size_t Columns(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

LiveView::RunningRow Running(std::string task, int attempt, int max_attempts, double elapsed_s,
                             bool stalled) {
  LiveView::RunningRow row;
  row.task = std::move(task);
  row.attempt = attempt;
  row.max_attempts = max_attempts;
  row.elapsed_s = elapsed_s;
  row.stalled = stalled;
  return row;
}

LiveView SomeView() {
  LiveView view;
  LiveView::PhaseRow spec{"spec", 20, 1, 1, LiveView::Gate::kPassed, 1.0, 1.0, {}};
  LiveView::PhaseRow design{"design",          30, 2, 4, LiveView::Gate::kFailed, 0.5, 0.75,
                            {"d.md", "api.md"}};
  LiveView::PhaseRow execute{"execute", 50, 0, 3, LiveView::Gate::kRunning, 0, 0, {}};
  view.phases = {spec, design, execute};
  view.progress = 0.35;
  view.elapsed_s = 65;
  view.eta_s = 120;
  view.running = {Running("short", 1, 3, 2.5, false), Running("long", 2, 3, 95, true)};
  view.retries = {{"flaky", "transient", 1, 3, 4.2}};
  view.cost_usd = 0.5;
  view.budget_usd = 10;
  return view;
}

TEST(LiveRenderTest, ShowsPhasesTotalTasksLongestFirstRetriesAndCost) {
  std::vector<std::string> lines = RenderBlock(SomeView(), 80, 12);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[0].rfind("spec", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(" 20% [####################]   1/1   passed 1.00"), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("2/4   FAILED 0.50 < 0.75, missing d.md +1"), std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find("0/3   running"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("total    35% [#######-------------] elapsed 1m5s, about 2m left"),
            std::string::npos)
      << lines[3];
  EXPECT_EQ(lines[4], "  run   long (attempt 2/3) 1m35s STALLED");
  EXPECT_EQ(lines[5], "  run   short (attempt 1/3) 2.5s");
  EXPECT_EQ(lines[6], "  retry flaky in 4.2s (attempt 1/3 failed, transient)");
  EXPECT_EQ(lines[7], "cost $0.50 of $10.00");
  for (const std::string& line : lines) EXPECT_LT(Columns(line), 80u) << line;
}

TEST(LiveRenderTest, TheTotalShowsTheEstimatesRangeAndWhetherItIsProvisional) {
  LiveView view = SomeView();
  view.eta_low_s = 90;
  view.eta_high_s = 180;
  view.eta_provisional = true;
  std::vector<std::string> lines = RenderBlock(view, 100, 12);
  EXPECT_NE(lines[3].find("elapsed 1m5s, about 2m left (1m30s–3m), provisional"), std::string::npos)
      << lines[3];
  // No estimate yet: nothing about the time left, provisional or not.
  view.eta_s = view.eta_low_s = view.eta_high_s = -1;
  lines = RenderBlock(view, 100, 12);
  EXPECT_EQ(lines[3].find("left"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[3].find("provisional"), std::string::npos) << lines[3];
}

TEST(LiveRenderTest, CutsLinesToTheWidthAndCountsWhatDoesNotFit) {
  LiveView view = SomeView();
  view.running.clear();
  for (int i = 0; i < 30; ++i) {
    view.running.push_back(Running("task-" + std::string(100, 'x') + std::to_string(i), 1, 1,
                                   static_cast<double>(i), false));
  }
  std::vector<std::string> lines = RenderBlock(view, 80, 12);
  ASSERT_EQ(lines.size(), 12u);
  for (const std::string& line : lines) EXPECT_LT(Columns(line), 80u) << line;
  // 3 phases, the total, 6 tasks, "+25 more" (24 running and the retry), the cost.
  EXPECT_EQ(lines[10], "  +25 more tasks");
  EXPECT_EQ(lines[11], "cost $0.50 of $10.00");
  EXPECT_NE(lines[4].find("xxx"), std::string::npos);  // the longest-running (29) first, cut
  EXPECT_EQ(Columns(lines[4]), 79u);

  // A narrow terminal and no room: the total and the cost stay.
  lines = RenderBlock(view, 40, 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "  +3 more phases");
  EXPECT_EQ(lines[1].rfind("total", 0), 0u);
  for (const std::string& line : lines) EXPECT_LT(Columns(line), 40u) << line;
}

TEST(LiveRenderTest, ARunningTaskShowsItsAgentQuietTimeAndLastLine) {
  LiveView view = SomeView();
  view.running = {Running("review", 2, 3, 400, true), Running("lint", 1, 1, 3, false)};
  view.running[0].agent = "claude";
  view.running[0].quiet_s = 310;
  view.running[0].last_line = "Reading src/engine/session.cc";
  view.running[1].quiet_s = 1;  // under kQuietShownAfter: not shown
  view.running[1].last_line = "ok";
  std::vector<std::string> lines = RenderBlock(view, 100, 12);
  EXPECT_EQ(lines[4],
            "  run   review (attempt 2/3, claude) 6m40s STALLED quiet 5m10s | Reading "
            "src/engine/session.cc");
  EXPECT_EQ(lines[5], "  run   lint (attempt 1/1) 3.0s | ok");
}

TEST(LiveRenderTest, LastLineIsWhatATerminalWouldShowLast) {
  EXPECT_EQ(LastLine("one\ntwo\n\n  \n"), "two");
  EXPECT_EQ(LastLine("building\r 10%\r 55%"), "55%");  // a progress bar redrawn with \r
  EXPECT_EQ(LastLine("done\n 80%\r   \r"), "80%");     // cleared with blanks after the \r
  EXPECT_EQ(LastLine("\tindented\x1b[31mred\n"), "indented?[31mred");  // no escape gets through
  EXPECT_EQ(LastLine(""), "");
  EXPECT_EQ(LastLine("\n\n"), "");
}

TEST(LiveRenderTest, FitWidthCountsColumnsAsATerminalDoes) {
  EXPECT_EQ(FitWidth("abcdef", 4), "abc");
  EXPECT_EQ(FitWidth("ééééé", 4), "ééé");
  EXPECT_EQ(FitWidth("abc", 80), "abc");
  // Wide characters take two columns, a combining mark none; a cut never splits a character.
  EXPECT_EQ(FitWidth("日本語テキスト", 8), "日本語");
  EXPECT_EQ(FitWidth("e\u0301e\u0301e\u0301e\u0301", 4), "e\u0301e\u0301e\u0301");
  EXPECT_EQ(FitWidth("ab日", 4), "ab");
  // A colour takes no column; a line cut inside one ends with a reset.
  EXPECT_EQ(FitWidth("\x1b[32mpassed\x1b[0m 1.00", 80), "\x1b[32mpassed\x1b[0m 1.00");
  EXPECT_EQ(FitWidth("\x1b[32mpassed\x1b[0m 1.00", 5), "\x1b[32mpass\x1b[0m");
  EXPECT_EQ(LiveTitle(SomeView()), "mex: 35%");
}

// The block the live view draws into `events` at `now` (wall clock, on frozen clocks): its
// frame as written to a file, which has no terminal size (80x24).
std::string DrawnAt(const std::vector<Event>& events, double now) {
  static double frozen = 0;
  frozen = now;
  SetClocksForTesting([] { return frozen; }, [] { return frozen; });
  std::string drawn;
  {
    TempDir dir;
    const fs::path file = dir.path() / "frame";
    FILE* out = std::fopen(file.c_str(), "w+");
    {
      LiveReporter live(out, /*quiet=*/true);
      for (const Event& e : events) live.OnEvent(e);
      live.Flush();
      std::fflush(out);
      drawn = testing_util::ReadFile(file);
    }
    std::fclose(out);
  }
  SetClocksForTesting(nullptr, nullptr);
  return drawn;
}

Event TaskEventAt(EventKind kind, double time, const std::string& reason = "") {
  Event e(kind);
  e.time = time;
  e.run = "r1";
  e.task = "long";
  e.attempt = 1;
  e.max_attempts = 1;
  e.reason = reason;
  return e;
}

// A Slurm job a killed session left running is followed by the next one (TaskRunner::Adopt):
// its time counts from its start, told in its task_started, not from the resume; one that
// started while mex was away counts from the job's start, its wait in the queue apart.
TEST(LiveReporterTest, AFollowedAttemptCountsFromItsStartNotFromTheResume) {
  const double resume = 1.8e9;
  Event run = TaskEventAt(EventKind::kRunStarted, resume);
  run.task.clear();
  Event started = TaskEventAt(EventKind::kTaskStarted, resume);
  started.followed = true;
  started.elapsed_s = 125;  // started 125 s before this session followed it
  std::string frame = DrawnAt({run, started}, resume + 2);
  EXPECT_NE(frame.find("  run   long (attempt 1/1) 2m7s\n"), std::string::npos) << frame;
  // Submitted 125 s before the resume, pending then; the first look finds it running, after 35 s
  // in the queue: it has run 90 s, and 92 s two seconds later.
  Event queued = TaskEventAt(EventKind::kTaskQueued, resume, "running");
  queued.queue_state = QueueState::kRunning;
  queued.elapsed_s = 35;
  frame = DrawnAt({run, started, queued}, resume + 2);
  EXPECT_NE(frame.find("  run   long (attempt 1/1) 1m32s\n"), std::string::npos) << frame;
  // While it still waits, the time shown is its wait so far, with its reason, as for any job.
  Event pending = TaskEventAt(EventKind::kTaskQueued, resume, "pending (Priority)");
  frame = DrawnAt({run, started, pending}, resume + 2);
  EXPECT_NE(frame.find("  run   long (attempt 1/1) 2m7s pending (Priority)"), std::string::npos)
      << frame;
}

// A private tmux server (its socket and TMUX_TMPDIR in a TempDir) with one 80x24 window that runs
// `mex run m.yaml` in `dir`; its pane stays after mex exits, so that its last screen can be read.
class Tmux {
 public:
  explicit Tmux(const fs::path& dir) : dir_(dir), socket_((dir / "tmux.sock").string()) {
    WriteFile(dir / "tmux.conf", "set -g remain-on-exit on\nset -g status off\n");
    const char* path = std::getenv("PATH");
    env_ = {"PATH=" + std::string(path ? path : "/usr/bin:/bin"), "HOME=" + dir.string(),
            "TMUX_TMPDIR=" + dir.string(), "TERM=xterm-256color"};
  }
  ~Tmux() { Run({"kill-server"}); }

  Result Run(std::vector<std::string> args) {
    std::vector<std::string> words = {"/usr/bin/tmux", "-S", socket_};
    words.insert(words.end(), args.begin(), args.end());
    return RunProgram(words, dir_.string(), env_);
  }
  // Starts the session on `command`, run by sh, which writes its exit status to a file when it
  // ends: tmux's own record of a pane's exit status was not always there (with an ASan build,
  // the pane's process once stayed a zombie tmux had not collected). sh traps SIGINT, so that
  // Ctrl-C ends only mex (whose disposition exec resets) and sh goes on to write the status.
  bool Start(const std::string& command) {
    const std::string script =
        "trap true INT; " + command + "; echo $? > " + (dir_ / "exit-status").string() +
        ".new && mv " + (dir_ / "exit-status").string() + ".new " + (dir_ / "exit-status").string();
    Result r = Run({"-f", (dir_ / "tmux.conf").string(), "new-session", "-d", "-s", "t", "-x", "80",
                    "-y", "24", "-c", dir_.string(), script});
    return r.exit_code == 0;
  }
  std::string Screen() { return Run({"capture-pane", "-p", "-t", "t"}).out; }
  // Polls the screen until it shows `text`, at most 60 s; returns the last screen.
  std::string WaitFor(const std::string& text) {
    std::string screen;
    for (int i = 0; i < 600; ++i) {
      screen = Screen();
      if (screen.find(text) != std::string::npos) return screen;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the screen never showed '" << text << "':\n" << screen;
    return screen;
  }
  std::string Format(const std::string& format) {
    return Run({"display-message", "-p", "-t", "t", format}).out;
  }
  // Waits until mex exited (polling for the file sh writes, at most 60 s); returns its exit
  // status as sh reports it ("130\n").
  std::string WaitForExit() {
    const fs::path status = dir_ / "exit-status";
    for (int i = 0; i < 600; ++i) {
      if (fs::exists(status)) return testing_util::ReadFile(status);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "mex never exited:\n" << Screen();
    return "";
  }

 private:
  fs::path dir_;
  std::string socket_;
  std::vector<std::string> env_;
};

// No line of the live block is left on the screen.
void ExpectNoBlock(const std::string& screen) {
  EXPECT_EQ(screen.find("\ntotal "), std::string::npos) << screen;
  EXPECT_EQ(screen.find("% ["), std::string::npos) << screen;
  EXPECT_EQ(screen.find("  run   "), std::string::npos) << screen;
}

std::string MexCommand() {
  return std::string(MEX_BINARY) + " run m.yaml";
}

TEST(LiveTerminalTest, BlockWhileRunningThenOnlyTheLinesAndTheSummary) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml", R"(milestone: {id: M-live, title: Live}
defaults: {max_parallel: 4, stall_after: 1s, retry: {max_attempts: 2, backoff: {initial: 5s}}}
phases:
  - name: build
    weight: 60
    gate: {min_score: 0.5, criteria: [tasks_succeeded]}
    tasks:
      - {id: slow, run: "printf 'compiling\\tslow.c\\n'; while [ ! -e go ]; do sleep 0.1; done"}
      - {id: flaky, run: "if [ -e flaked ]; then exit 0; fi; touch flaked; exit 1"}
      - {id: broken, run: "echo boom; exit 3", retry: {max_attempts: 1}}
  - name: check
    weight: 40
    tasks:
      - {id: after, run: "true"}
)");
  Tmux tmux(dir.path());
  ASSERT_TRUE(tmux.Start(MexCommand()));
  // While `slow` waits for its marker: the phase's bar, the running task, the retry's backoff,
  // and above the block the plain lines of what ended.
  std::string screen = tmux.WaitFor("(attempt 1/2 failed, logic)");
  screen = tmux.WaitFor("FAILED broken (attempt 1/1), logic: exit 3");
  EXPECT_NE(screen.find("build  60% ["), std::string::npos) << screen;
  EXPECT_NE(screen.find("0/3   running"), std::string::npos) << screen;
  EXPECT_NE(screen.find("check  40% [--------------------]   0/1   pending"), std::string::npos)
      << screen;
  EXPECT_NE(screen.find("  run   slow (attempt 1/2) "), std::string::npos) << screen;
  EXPECT_NE(screen.find("retry flaky in 5.00s: attempt 1/2 failed, logic: exit 1"),
            std::string::npos)
      << screen;
  EXPECT_EQ(tmux.Format("#{pane_title}").rfind("mex: 0% phase build", 0), 0u);
  // `slow` wrote one line, then nothing: after stall_after it is marked, with its last line; from
  // 5 s on, with its quiet time.
  screen = tmux.WaitFor("STALLED quiet ");
  EXPECT_NE(screen.find("stalled slow: no output for 1s (attempt 1/2); it goes on"),
            std::string::npos)
      << screen;
  EXPECT_NE(screen.find(" | compiling slow.c"), std::string::npos) << screen;
  tmux.WaitFor("done flaky");
  WriteFile(dir.path() / "go", "");
  EXPECT_EQ(tmux.WaitForExit(), "0\n");  // the gate passed: 2 of 3
  screen = tmux.Screen();
  EXPECT_NE(screen.find("done slow"), std::string::npos) << screen;
  EXPECT_NE(screen.find("phase build passed: gate score 0.67"), std::string::npos) << screen;
  EXPECT_NE(screen.find("1 failed, 0 skipped, 0 cancelled"), std::string::npos) << screen;
  EXPECT_NE(screen.find("run folder: "), std::string::npos) << screen;
  ExpectNoBlock(screen);
}

TEST(LiveTerminalTest, CtrlCLeavesACleanScreenWithTheInterruptedSummary) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: slow, run: \"while [ ! -e go ]; do sleep 0.1; done\"}\n");
  Tmux tmux(dir.path());
  ASSERT_TRUE(tmux.Start(MexCommand()));
  std::string screen = tmux.WaitFor("  run   slow (attempt 1/3)");
  EXPECT_NE(screen.find("execute 100% ["), std::string::npos) << screen;
  tmux.Run({"send-keys", "-t", "t", "C-c"});
  EXPECT_EQ(tmux.WaitForExit(), "130\n");
  screen = tmux.Screen();
  EXPECT_NE(screen.find("interrupted (SIGINT)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("1 cancelled"), std::string::npos) << screen;
  ExpectNoBlock(screen);
}

TEST(LiveTerminalTest, CtrlZErasesTheBlockAndContinuingDrawsItAgain) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "tasks:\n  - {id: slow, run: \"while [ ! -e go ]; do sleep 0.1; done\"}\n");
  Tmux tmux(dir.path());
  ASSERT_TRUE(tmux.Start(MexCommand()));
  tmux.WaitFor("  run   slow (attempt 1/3)");
  tmux.Run({"send-keys", "-t", "t", "C-z"});
  // Stopped (with the sh that waits for it, in the same process group): the block is gone.
  std::string screen;
  for (int i = 0; i < 600; ++i) {
    screen = tmux.Screen();
    if (screen.find("% [") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ExpectNoBlock(screen);
  EXPECT_NE(screen.find("start slow"), std::string::npos) << screen;
  EXPECT_EQ(tmux.Format("#{pane_title}").rfind("mex: ", 0), std::string::npos);
  // `fg`: SIGCONT to the pane's process group (its sh leads it).
  const int group = std::atoi(tmux.Format("#{pane_pid}").c_str());
  ASSERT_GT(group, 1);
  ASSERT_EQ(kill(-group, SIGCONT), 0);
  screen = tmux.WaitFor("  run   slow (attempt 1/3)");
  EXPECT_NE(screen.find("execute 100% ["), std::string::npos) << screen;
  EXPECT_EQ(tmux.Format("#{pane_title}").rfind("mex: 0%", 0), 0u);
  WriteFile(dir.path() / "go", "");
  EXPECT_EQ(tmux.WaitForExit(), "0\n");
  ExpectNoBlock(tmux.Screen());
}

// The screen with its colours, as SGR sequences.
std::string ColoredScreen(Tmux* tmux) {
  return tmux->Run({"capture-pane", "-p", "-e", "-t", "t"}).out;
}

TEST(LiveTerminalTest, StatesAreColouredOnATerminalUnlessNoColorIsSet) {
  for (bool no_color : {false, true}) {
    TempDir dir;
    WriteFile(dir.path() / "m.yaml", R"(defaults: {retry: {max_attempts: 1}}
phases:
  - name: build
    gate: {min_score: 0.5, criteria: [tasks_succeeded]}
    tasks:
      - {id: ok, run: "true"}
      - {id: bad, run: "exit 1"}
      - {id: slow, run: "while [ ! -e go ]; do sleep 0.1; done", deps: [ok]}
)");
    Tmux tmux(dir.path());
    ASSERT_TRUE(tmux.Start((no_color ? "NO_COLOR=1 " : "") + MexCommand()));
    tmux.WaitFor("  run   slow");
    std::string screen = ColoredScreen(&tmux);
    WriteFile(dir.path() / "go", "");
    EXPECT_EQ(tmux.WaitForExit(), "0\n");
    std::string end = ColoredScreen(&tmux);
    if (no_color) {
      EXPECT_EQ(screen.find("\x1b["), std::string::npos) << screen;
      EXPECT_EQ(end.find("\x1b["), std::string::npos) << end;
      continue;
    }
    // tmux gives a colour back as it keeps it: green 32, red 31 (bold as its own 1).
    EXPECT_NE(screen.find("\x1b[32mdone"), std::string::npos) << screen;
    EXPECT_NE(screen.find("31mFAILED"), std::string::npos) << screen;
    EXPECT_NE(end.find("\x1b[32mpassed"), std::string::npos) << end;
  }
}

TEST(LiveTerminalTest, PlainLinesWithProgressPlainOrTermDumb) {
  for (const std::string& how : {std::string(MexCommand() + " --progress=plain"),
                                 std::string("TERM=dumb " + MexCommand())}) {
    TempDir dir;
    WriteFile(dir.path() / "m.yaml",
              "tasks:\n  - {id: slow, run: \"while [ ! -e go ]; do sleep 0.1; done\"}\n");
    Tmux tmux(dir.path());
    ASSERT_TRUE(tmux.Start(how));
    // While slow runs: a live view would have drawn its block in the write of this line.
    std::string running = tmux.WaitFor("start slow");
    EXPECT_EQ(running.find("% ["), std::string::npos) << how << "\n" << running;
    WriteFile(dir.path() / "go", "");
    EXPECT_EQ(tmux.WaitForExit(), "0\n") << how;
    std::string screen = tmux.Screen();
    EXPECT_NE(screen.find("done slow"), std::string::npos) << how << "\n" << screen;
    EXPECT_EQ(screen.find("% ["), std::string::npos) << how << "\n" << screen;
  }
}

}  // namespace
}  // namespace mex
