#include "report/live.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <clocale>
#include <cmath>
#include <csignal>
#include <cwchar>

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

std::string Paint(bool color, std::string_view text, const char* sgr) {
  return color ? Colored(text, sgr) : std::string(text);
}

std::string GateText(const LiveView::PhaseRow& p, bool color) {
  switch (p.gate) {
    case LiveView::Gate::kPending:
      return "pending";
    case LiveView::Gate::kRunning:
      return "running";
    case LiveView::Gate::kGateRunning:
      return "gate running";
    case LiveView::Gate::kPassed:
      return fmt::format("{} {:.2f}", Paint(color, "passed", kGreen), p.score);
    case LiveView::Gate::kFailed: {
      std::string text =
          fmt::format("{} {:.2f} < {:.2f}", Paint(color, "FAILED", kRed), p.score, p.min_score);
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

// The bytes a frame reads at most from the end of a running task's log.
constexpr size_t kGlanceBytes = 1024;

}  // namespace

std::string LastLine(std::string_view text) {
  // The last line with something on it; of a line a progress bar redraws with '\r', what shows.
  size_t end = text.size();
  while (true) {
    while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    if (end == 0) return "";
    size_t start = text.rfind('\n', end - 1);
    start = start == std::string_view::npos ? 0 : start + 1;
    std::string_view line = text.substr(start, end - start);
    size_t cr = line.rfind('\r');
    if (cr != std::string_view::npos) line = line.substr(cr + 1);
    std::string safe;
    for (char c : line) safe += c == '\t' ? ' ' : c;
    safe = TerminalSafeLine(safe);
    size_t first = safe.find_first_not_of(' ');
    if (first != std::string::npos) return safe.substr(first);
    end = start;  // only blanks after the '\r': the line before
  }
}

int Columns(char32_t c) {
  // wcwidth() reads the locale's character table; mex never calls setlocale, so this thread
  // borrows glibc's built-in C.UTF-8 for the call. Without it, one column each.
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  if (c < 0x80 || utf8 == static_cast<locale_t>(nullptr)) return 1;
  locale_t before = uselocale(utf8);
  int width = wcwidth(static_cast<wchar_t>(c));
  uselocale(before);
  return width < 0 ? 1 : width;
}

std::string FitWidth(const std::string& line, int width) {
  const int limit = std::max(width - 1, 1);  // the last column left free: no pending wrap
  int columns = 0;
  size_t i = 0;
  bool colored = false;  // an SGR sequence came: a cut line ends with a reset
  while (i < line.size()) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      // A colour (CSI ... m, mex's own): no column. Up to its final byte, 0x40-0x7E.
      size_t end = i + 2;
      while (end < line.size() && (line[end] < 0x40 || line[end] > 0x7E)) ++end;
      i = end + 1;
      colored = true;
      continue;
    }
    // One UTF-8 character: its lead byte, then continuation bytes (10xxxxxx).
    auto lead = static_cast<unsigned char>(line[i]);
    size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    size_t j = i + 1;
    for (; j < i + length && j < line.size(); ++j) {
      c = (c << 6) | (static_cast<unsigned char>(line[j]) & 0x3F);
    }
    int w = Columns(c);
    if (columns + w > limit) return line.substr(0, i) + (colored ? "\x1b[0m" : "");
    columns += w;
    i = j;
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
    std::string name = FitWidth(p.name, static_cast<int>(name_width) + 1);
    double fraction = p.gate == LiveView::Gate::kPassed ? 1.0
                      : p.total > 0                     ? static_cast<double>(p.done) / p.total
                                                        : 0.0;
    phases.push_back(fmt::format("{:<{}} {:>3.0f}% {} {:>3}/{:<3} {}", name, name_width, p.weight,
                                 Bar(fraction, bar_width), p.done, p.total,
                                 GateText(p, view.color)));
  }
  std::string total = fmt::format("{:<{}} {:>3.0f}% {} elapsed {}", "total", name_width,
                                  std::floor(view.progress * 100), Bar(view.progress, bar_width),
                                  Clock(view.elapsed_s));
  if (view.eta_s >= 0) {
    total += fmt::format(", about {} left", Clock(view.eta_s));
    // A range as wide as the clock's last digit says nothing more than the estimate.
    const std::string low = Clock(view.eta_low_s), high = Clock(view.eta_high_s);
    if (view.eta_low_s >= 0 && low != high) total += fmt::format(" ({}–{})", low, high);
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
    std::string row =
        fmt::format("  run   {} (attempt {}/{}{}{}) {}{}", r.task, r.attempt, r.max_attempts,
                    r.agent.empty() ? "" : ", ", r.agent, Clock(r.elapsed_s),
                    r.stalled ? " " + Paint(view.color, "STALLED", kYellow) : "");
    if (!r.queue.empty()) {
      row += " " + r.queue;
    } else if (r.quiet_s >= LiveView::kQuietShownAfter) {
      row += " quiet " + Clock(r.quiet_s);
    }
    if (!r.last_line.empty()) row += " | " + r.last_line;
    tasks.push_back(std::move(row));
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

LiveReporter::LiveReporter(FILE* out, bool quiet, bool color)
    : out_(out), fd_(fileno(out)), lines_(quiet, color), color_(color) {
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
    case EventKind::kTaskStarted: {
      retries_.erase(e.task);
      Running& r = running_[e.task] = {};
      r.attempt = e.attempt;
      r.max_attempts = e.max_attempts;
      r.started = e.time - e.elapsed_s;  // a followed attempt has run since before this session
      r.log = e.log;
      if (sources_.milestone != nullptr) {
        if (const Task* task = sources_.milestone->FindTask(e.task)) {
          const TaskDetail* d = task->details();
          if (d != nullptr && !d->prompt.empty()) {
            r.agent =
                TerminalSafeLine(d->agent.empty() ? sources_.milestone->defaults.agent : d->agent);
          }
        }
      }
      break;
    }
    case EventKind::kTaskStalled:
      if (auto it = running_.find(e.task); it != running_.end()) it->second.stalled = true;
      break;
    case EventKind::kTaskQueued:
      if (auto it = running_.find(e.task); it != running_.end()) {
        // Its clock counts its run, not its wait in the queue: from the job's start, which may
        // be long before this event (a followed job that started while mex was away). A job
        // whose state was unknown a moment waited nothing more and keeps its clock.
        const bool running = e.queue_state == QueueState::kRunning;
        if (running) it->second.started += e.elapsed_s;
        it->second.queue = running ? "" : TerminalSafeLine(e.reason);
      }
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

void LiveReporter::Suspend() {
  suspended_ = true;
  Draw();
}

void LiveReporter::Resume() {
  suspended_ = false;
  Draw();
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
  view.color = color_;
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
  for (auto& [task, r] : running_) {
    Glance(&r);
    double changed = r.log_mtime > r.started ? r.log_mtime : r.started;
    view.running.push_back({task, r.attempt, r.max_attempts, now - r.started, r.stalled, r.agent,
                            sources_.logs != nullptr ? std::max(now - changed, 0.0) : -1,
                            r.last_line, r.queue});
  }
  for (const auto& [task, r] : retries_) {
    view.retries.push_back({task, r.failure_class, r.attempt, r.max_attempts, r.due - now});
  }
  if (sources_.spent_usd) view.cost_usd = sources_.spent_usd();
  return view;
}

void LiveReporter::Glance(Running* r) const {
  if (sources_.logs == nullptr || r->log.empty()) return;
  std::string err;
  UniqueFd fd = sources_.logs->OpenFile(r->log, O_RDONLY, 0, &err);
  struct stat st {};
  if (!fd.valid() || fstat(fd.get(), &st) != 0 || st.st_size == r->log_size) return;
  r->log_size = st.st_size;
  r->log_mtime = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9;
  r->last_line = LastLine(sources_.logs->ReadTail(r->log, kGlanceBytes));
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
  if (!finished_ && !suspended_) {
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
    title_.clear();
  }
  if (!frame.empty()) WriteAll(fd_, frame);
  last_draw_ = MonotonicSeconds();
}

}  // namespace mex
