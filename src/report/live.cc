#include "report/live.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>

#include "model/duration.h"
#include "model/eta.h"
#include "util/clock.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

// Set by SIGWINCH, read at the next frame: the block is then cut to the new width. The engine's
// wait (a ppoll) returns on the signal with EINTR and goes on; the frame comes within
// kFrameSeconds.
volatile sig_atomic_t g_resized = 0;
void OnResize(int) {
  g_resized = 1;
}

std::string Clock(double s) {
  if (s < 0) s = 0;
  if (s < 10) return fmt::format("{:.1f}s", s);
  return FormatDuration(std::round(s));
}

std::string Bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  int full = static_cast<int>(std::floor(fraction * width));
  return "[" + std::string(static_cast<size_t>(full), '#') +
         std::string(static_cast<size_t>(width - full), '-') + "]";
}

std::string GateText(const LiveView::PhaseRow& p) {
  switch (p.gate) {
    case LiveView::Gate::kPending:
      return "pending";
    case LiveView::Gate::kRunning:
      return "running";
    case LiveView::Gate::kGateRunning:
      return "gate running";
    case LiveView::Gate::kPassed:
      return fmt::format("passed {:.2f}", p.score);
    case LiveView::Gate::kFailed: {
      std::string text = fmt::format("FAILED {:.2f} < {:.2f}", p.score, p.min_score);
      if (!p.missing.empty()) {
        text += fmt::format(", missing {}", p.missing.front());
        if (p.missing.size() > 1) text += fmt::format(" +{}", p.missing.size() - 1);
      }
      return text;
    }
  }
  return "";
}

// (width, height) of the terminal on `fd`; 80x24 when it says nothing.
std::pair<int, int> TerminalSize(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
    return {size.ws_col, size.ws_row};
  }
  return {80, 24};
}

void WriteAll(int fd, const std::string& text) {
  size_t at = 0;
  while (at < text.size()) {
    ssize_t n = write(fd, text.data() + at, text.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a terminal gone: nothing left to show it to
    at += static_cast<size_t>(n);
  }
}

struct sigaction g_old_winch {};

}  // namespace

std::string FitWidth(const std::string& line, int width) {
  const int limit = std::max(width - 1, 1);  // the last column left free: no pending wrap
  int columns = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    // A UTF-8 character starts at each byte that is not a continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
    if (columns == limit) return line.substr(0, i);
    ++columns;
  }
  return line;
}

std::vector<std::string> RenderBlock(const LiveView& view, int width, int max_lines) {
  max_lines = std::max(max_lines, 3);
  size_t name_width = 5;
  for (const auto& p : view.phases) name_width = std::max(name_width, p.name.size());
  name_width = std::min<size_t>(name_width, 16);
  const int bar_width = width >= 80 ? 20 : std::max(width / 4, 5);

  std::vector<std::string> phases;
  for (const auto& p : view.phases) {
    std::string name = p.name.size() > name_width ? p.name.substr(0, name_width) : p.name;
    double fraction = p.gate == LiveView::Gate::kPassed ? 1.0
                      : p.total > 0                     ? static_cast<double>(p.done) / p.total
                                                        : 0.0;
    phases.push_back(fmt::format("{:<{}} {:>3.0f}% {} {:>3}/{:<3} {}", name, name_width, p.weight,
                                 Bar(fraction, bar_width), p.done, p.total, GateText(p)));
  }
  std::string total = fmt::format("{:<{}} {:>3.0f}% {} elapsed {}", "total", name_width,
                                  std::floor(view.progress * 100), Bar(view.progress, bar_width),
                                  Clock(view.elapsed_s));
  if (view.eta_s >= 0) {
    total += fmt::format(", about {} left", Clock(view.eta_s));
    if (view.eta_low_s >= 0 && view.eta_high_s > view.eta_low_s) {
      total += fmt::format(" ({}–{})", Clock(view.eta_low_s), Clock(view.eta_high_s));
    }
    if (view.eta_provisional) total += ", provisional";
  }

  std::vector<LiveView::RunningRow> running = view.running;
  std::stable_sort(running.begin(), running.end(),
                   [](const auto& a, const auto& b) { return a.elapsed_s > b.elapsed_s; });
  std::vector<LiveView::RetryRow> retries = view.retries;
  std::stable_sort(retries.begin(), retries.end(),
                   [](const auto& a, const auto& b) { return a.remaining_s < b.remaining_s; });
  std::vector<std::string> tasks;
  for (const auto& r : running) {
    tasks.push_back(fmt::format("  run   {} (attempt {}/{}) {}{}", r.task, r.attempt,
                                r.max_attempts, Clock(r.elapsed_s), r.stalled ? " STALLED" : ""));
  }
  for (const auto& r : retries) {
    tasks.push_back(r.failure_class.empty()
                        ? fmt::format("  wait  {}: for memory or disk", r.task)
                        : fmt::format("  retry {} in {} (attempt {}/{} failed, {})", r.task,
                                      Clock(r.remaining_s), r.attempt, r.max_attempts,
                                      r.failure_class));
  }
  std::string cost;
  if (view.budget_usd) {
    cost = fmt::format("cost ${:.2f} of ${:.2f}", view.cost_usd, *view.budget_usd);
  } else if (view.cost_usd > 0) {
    cost = fmt::format("cost ${:.2f}", view.cost_usd);
  }

  // The total and the cost always show; then the phases, then the tasks, as many as fit.
  int room = max_lines - 1 - (cost.empty() ? 0 : 1);
  std::vector<std::string> lines;
  auto take = [&](const std::vector<std::string>& rows, const char* what) {
    if (static_cast<int>(rows.size()) <= room) {
      lines.insert(lines.end(), rows.begin(), rows.end());
      room -= static_cast<int>(rows.size());
      return;
    }
    int shown = std::max(room - 1, 0);
    lines.insert(lines.end(), rows.begin(), rows.begin() + shown);
    if (room > 0) lines.push_back(fmt::format("  +{} more {}", rows.size() - shown, what));
    room = 0;
  };
  take(phases, "phases");
  lines.push_back(total);
  take(tasks, "tasks");
  if (!cost.empty()) lines.push_back(cost);
  for (std::string& line : lines) line = FitWidth(line, width);
  return lines;
}

std::string LiveTitle(const LiveView& view) {
  std::string title = fmt::format("mex: {:.0f}%", std::floor(view.progress * 100));
  if (!view.current_phase.empty()) title += " phase " + view.current_phase;
  return TerminalSafeLine(title);
}

LiveReporter::LiveReporter(FILE* out, bool quiet) : out_(out), fd_(fileno(out)), lines_(quiet) {
  struct sigaction action {};
  action.sa_handler = OnResize;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &action, &g_old_winch);
  started_ = WallClockSeconds();
}

LiveReporter::~LiveReporter() {
  if (!finished_) {
    finished_ = true;
    Draw();  // erases the block
  }
  sigaction(SIGWINCH, &g_old_winch, nullptr);
}

void LiveReporter::OnEvent(const Event& e) {
  pending_ += lines_.Format(e);
  switch (e.kind) {
    case EventKind::kRunStarted:
      started_ = e.time;
      break;
    case EventKind::kPhaseStarted:
      current_phase_ = TerminalSafeLine(e.phase);
      gates_[e.phase].gate = LiveView::Gate::kRunning;
      break;
    case EventKind::kTaskStarted:
      retries_.erase(e.task);
      running_[e.task] = {e.attempt, e.max_attempts, e.time, false};
      break;
    case EventKind::kTaskStalled:
      if (auto it = running_.find(e.task); it != running_.end()) it->second.stalled = true;
      break;
    case EventKind::kTaskRetry:
      running_.erase(e.task);
      retries_[e.task] = {e.failure_class, e.attempt, e.max_attempts, e.time + e.delay_s};
      break;
    case EventKind::kTaskWaiting:
      retries_[e.task].failure_class.clear();
      break;
    case EventKind::kTaskSucceeded:
      running_.erase(e.task);
      break;
    case EventKind::kTaskFailed:
    case EventKind::kTaskSkipped:
    case EventKind::kTaskCancelled:
      running_.erase(e.task);
      retries_.erase(e.task);
      break;
    case EventKind::kGateCommand:
      gates_[e.phase].gate = LiveView::Gate::kGateRunning;
      break;
    case EventKind::kPhaseFinished: {
      PhaseGate& gate = gates_[e.phase];
      gate.gate = e.passed ? LiveView::Gate::kPassed : LiveView::Gate::kFailed;
      gate.score = e.score;
      gate.min_score = e.min_score;
      gate.missing.clear();
      for (const std::string& m : e.missing) gate.missing.push_back(TerminalSafeLine(m));
      break;
    }
    case EventKind::kPhaseRerun:
      gates_[e.phase].gate = LiveView::Gate::kRunning;
      break;
    case EventKind::kRunFinished:
      finished_ = true;
      current_phase_.clear();
      break;
    case EventKind::kBudgetSpent:
    case EventKind::kInterrupted:
      break;
  }
}

void LiveReporter::Flush() {
  if (finished_ || MonotonicSeconds() - last_draw_ >= kMinFrameSeconds) {
    Draw();
  } else {
    dirty_ = true;  // drawn by a Tick within kMinFrameSeconds
  }
}

double LiveReporter::TickIn() const {
  if (finished_) return -1;
  return std::max(0.0,
                  last_draw_ + (dirty_ ? kMinFrameSeconds : kFrameSeconds) - MonotonicSeconds());
}

void LiveReporter::Tick() {
  if (finished_) return;
  // A wait that returned early (an attempt ended) is followed by events and their frame.
  const double since = MonotonicSeconds() - last_draw_;
  if ((dirty_ && since >= kMinFrameSeconds) || since >= kFrameSeconds * 0.9 || g_resized) Draw();
}

LiveView LiveReporter::View(double now) const {
  LiveView view;
  view.current_phase = current_phase_;
  view.elapsed_s = now - started_;
  if (const Milestone* m = sources_.milestone) {
    for (const Phase& p : m->phases) {
      LiveView::PhaseRow row;
      row.name = TerminalSafeLine(p.name);
      row.weight = p.weight;
      row.total = static_cast<int>(p.tasks.size());
      for (uint32_t t : p.tasks) {
        TaskState state = sources_.state ? sources_.state(t) : TaskState::kPending;
        if (state == TaskState::kSucceeded) ++row.done;
      }
      if (auto it = gates_.find(p.name); it != gates_.end()) {
        row.gate = it->second.gate;
        row.score = it->second.score;
        row.min_score = it->second.min_score;
        row.missing = it->second.missing;
      }
      view.phases.push_back(std::move(row));
    }
    view.budget_usd = m->defaults.budget_usd;
  }
  if (sources_.progress) view.progress = sources_.progress();
  // The estimate of status.json (model/eta.h).
  if (sources_.eta && !finished_) {
    Eta eta = sources_.eta();
    view.eta_provisional = eta.provisional;
    if (eta.known) {
      view.eta_s = eta.seconds;
      view.eta_low_s = eta.low;
      view.eta_high_s = eta.high;
    }
  }
  for (const auto& [task, r] : running_) {
    view.running.push_back({task, r.attempt, r.max_attempts, now - r.started, r.stalled});
  }
  for (const auto& [task, r] : retries_) {
    view.retries.push_back({task, r.failure_class, r.attempt, r.max_attempts, r.due - now});
  }
  if (sources_.spent_usd) view.cost_usd = sources_.spent_usd();
  return view;
}

void LiveReporter::Draw() {
  fflush(out_);  // what was printed through `out_` goes before the frame
  std::string frame;
  if (drawn_ > 0) frame += fmt::format("\r\x1b[{}A\x1b[J", drawn_);
  frame += pending_;
  pending_.clear();
  drawn_ = 0;
  dirty_ = false;
  g_resized = 0;
  if (!finished_) {
    LiveView view = View(WallClockSeconds());
    auto [width, height] = TerminalSize(fd_);
    for (const std::string& line : RenderBlock(view, width, height / 2)) {
      frame += line;
      frame += '\n';
      ++drawn_;
    }
    std::string title = LiveTitle(view);
    if (title != title_) {
      // The terminal's own title is saved (xterm's title stack) and given back at the end.
      if (!title_pushed_) frame += "\x1b[22;0t";
      title_pushed_ = true;
      frame += "\x1b]0;" + title + "\x07";
      title_ = title;
    }
  } else if (title_pushed_) {
    frame += "\x1b]0;mex\x07\x1b[23;0t";
    title_pushed_ = false;
  }
  if (!frame.empty()) WriteAll(fd_, frame);
  last_draw_ = MonotonicSeconds();
}

}  // namespace mex
