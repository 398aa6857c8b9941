// The live view of `mex run` on a terminal: the plain reporter's lines scroll above a block that
// is redrawn in place (one bar per phase, the weighted total, what runs and what waits to retry,
// the cost), so that the terminal's scrollback keeps the history, as Ninja and Cargo do. Each
// frame is one write: cursor up over the previous block, clear to the end of the screen, the new
// lines, the new block. Block lines never wrap (they are cut to the terminal's width), or the
// cursor-up would miss some; the block takes at most half the terminal's height ("+N more").
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/events.h"
#include "model/eta.h"
#include "model/milestone.h"
#include "report/plain.h"
#include "util/folder.h"

namespace mex {

// What the block shows, as plain data: RenderBlock turns it into lines.
struct LiveView {
  // A running task's quiet time shows from this many seconds on (a task that writes all the
  // time would show a number that never stands still).
  static constexpr double kQuietShownAfter = 5;
  enum class Gate : uint8_t { kPending, kRunning, kGateRunning, kPassed, kFailed };
  struct PhaseRow {
    std::string name;
    double weight = 0;  // percent of the milestone
    int done = 0;       // tasks succeeded
    int total = 0;
    Gate gate = Gate::kPending;
    double score = 0, min_score = 0;   // kPassed, kFailed
    std::vector<std::string> missing;  // kFailed: what the gate found missing
  };
  struct RunningRow {
    std::string task;
    int attempt = 0, max_attempts = 0;
    double elapsed_s = 0;
    bool stalled = false;   // a task_stalled event came for this attempt
    std::string agent;      // "" for a command
    double quiet_s = -1;    // since its log last grew (or since it started); < 0: not known
    std::string last_line;  // its log's last line, safe for a terminal; "" when none
    std::string queue;      // "pending (REASON)" while it waits in a batch queue
  };
  struct RetryRow {
    std::string task;
    std::string failure_class;          // "": waiting for memory or disk (task_waiting)
    int attempt = 0, max_attempts = 0;  // the attempt that failed
    double remaining_s = 0;             // of its backoff
  };
  std::vector<PhaseRow> phases;
  std::string current_phase;        // the phase that runs, for the title
  double progress = 0;              // weighted, 0..1
  double elapsed_s = 0;             // of this session
  double eta_s = -1;                // < 0: not known yet
  double eta_low_s = -1;            // its range, low
  double eta_high_s = -1;           // and high
  bool eta_provisional = false;     // a phase's tasks are not known yet
  std::vector<RunningRow> running;  // in any order: the block shows the longest-running first
  std::vector<RetryRow> retries;    // in any order: the block shows the soonest first
  double cost_usd = 0;
  std::optional<double> budget_usd;
  bool color = false;  // gate states and STALLED coloured (SGR)
};

// The block's lines, without line breaks, each shorter than `width` columns, at most
// max(`max_lines`, 3) of them: what does not fit is counted in a "+N more" line.
std::vector<std::string> RenderBlock(const LiveView& view, int width, int max_lines);
// The terminal's title for `view`: "mex: 42% phase execute".
std::string LiveTitle(const LiveView& view);
// The last line of `text` (a log's end) with something on it, as a terminal shows it: after its
// last '\r', tabs as spaces, safe for a terminal (TerminalSafeLine), leading blanks gone.
std::string LastLine(std::string_view text);
// The columns a terminal gives the character `c`: 2 for a wide one (CJK, most emoji), 0 for a
// combining mark, else 1.
int Columns(char32_t c);
// `line` (UTF-8) cut to fewer than `width` columns, never through a character.
std::string FitWidth(const std::string& line, int width);

class LiveReporter : public EventSink {
 public:
  // Where the block's data comes from besides the events, read at each frame.
  struct Sources {
    const Milestone* milestone = nullptr;      // its phases and tasks (tasks_from adds to them)
    std::function<TaskState(uint32_t)> state;  // a task's state now (the task runner's)
    std::function<double()> spent_usd;         // the agents' reported cost so far
    std::function<double()> progress;          // weighted progress now, 0..1 (PhaseFlow's)
    std::function<Eta()> eta;                  // the time left, as status.json has it
    // The state folder the attempts' logs are in, read (never through a symlink) for each
    // running task's last line and quiet time; nullptr: neither is shown.
    const Folder* logs = nullptr;
  };
  // Draws on `out`, a terminal (its size is read from it, and again on SIGWINCH). `quiet`: only
  // failures and the summary scroll above the block, as with PlainReporter.
  LiveReporter(FILE* out, bool quiet, bool color = false);
  // Erases a block still drawn (a run that ended without run_finished) and restores SIGWINCH.
  ~LiveReporter() override;
  LiveReporter(const LiveReporter&) = delete;
  LiveReporter& operator=(const LiveReporter&) = delete;

  // Before the run starts; until then the block shows no phases.
  void set_sources(Sources sources) { sources_ = std::move(sources); }

  // Ctrl-Z: Suspend() before mex stops erases the block (the shell's "Stopped" line and what the
  // user types then are below the history, not under a stale block) and gives the terminal its
  // title back; Resume() when mex is continued draws it again.
  void Suspend();
  void Resume();

  void OnEvent(const Event& event) override;
  void Flush() override;
  double TickIn() const override;
  void Tick() override;

  // The seconds between frames while tasks run, at most.
  static constexpr double kFrameSeconds = 0.5;
  // The seconds between two frames, at least: a frame costs O(tasks) (View), and a busy run ends
  // attempts many times a second; the lines of the batches between wait for the next frame.
  static constexpr double kMinFrameSeconds = 0.05;

 private:
  LiveView View(double now) const;
  // Writes one frame: erases the block drawn last, prints the pending lines, draws the block
  // (none once the run finished).
  void Draw();

  FILE* out_;
  int fd_;
  PlainLines lines_;
  Sources sources_;
  std::string pending_;     // lines to print above the next block
  int drawn_ = 0;           // lines of the block on the screen now
  double last_draw_ = 0;    // monotonic
  bool dirty_ = false;      // events came since the last frame
  double started_ = 0;      // wall clock: the run's start
  bool finished_ = false;   // run_finished came: no more block
  bool suspended_ = false;  // stopped by Ctrl-Z: no block until Resume()
  bool color_;
  bool title_pushed_ = false;
  std::string title_;
  std::string current_phase_;
  struct Running {
    int attempt = 0, max_attempts = 0;
    double started = 0;  // wall clock
    bool stalled = false;
    std::string agent;
    std::string log;  // its path
    // What the log showed when last read: read again only when its size changed.
    int64_t log_size = -1;
    double log_mtime = 0;  // wall clock; 0: nothing written yet
    std::string last_line;
    std::string queue;  // "pending (REASON)" while it waits in a batch queue; else ""
  };
  // Reads `r`'s log again when it grew: its last line and when it last changed.
  void Glance(Running* r) const;
  struct Retry {
    std::string failure_class;
    int attempt = 0, max_attempts = 0;
    double due = 0;  // wall clock
  };
  // mutable: View() glances at the logs of the running tasks, and keeps what it read.
  mutable std::unordered_map<std::string, Running> running_;
  std::unordered_map<std::string, Retry> retries_;
  struct PhaseGate {
    LiveView::Gate gate = LiveView::Gate::kPending;
    double score = 0, min_score = 0;
    std::vector<std::string> missing;
  };
  std::unordered_map<std::string, PhaseGate> gates_;
};

}  // namespace mex
