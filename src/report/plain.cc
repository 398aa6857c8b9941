#include "report/plain.h"

#include <fmt/format.h>

#include <cmath>

#include "model/duration.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

std::string Seconds(double s) {
  return s < 10 ? fmt::format("{:.2f}s", s) : FormatDuration(s);
}

// "\n  failed:    a, b, c" (at most kNamed of them, then how many more), "" for none.
std::string Names(const char* what, const std::vector<std::string>& tasks) {
  constexpr size_t kNamed = 20;  // status.json and `mex status` list them all
  if (tasks.empty()) return "";
  std::string line = fmt::format("\n  {:<10} ", std::string(what) + ":");
  for (size_t i = 0; i < tasks.size() && i < kNamed; ++i) line += (i ? ", " : "") + tasks[i];
  if (tasks.size() > kNamed) line += fmt::format(" and {} more", tasks.size() - kNamed);
  return line;
}

}  // namespace

std::string Colored(std::string_view text, const char* sgr) {
  return fmt::format("\x1b[{}m{}\x1b[0m", sgr, text);
}

std::string PlainLines::Paint(std::string_view word, const char* sgr) const {
  return color_ ? Colored(word, sgr) : std::string(word);
}

std::string PlainLines::Format(const Event& e) {
  // A reason can quote an agent's result or a task's log, and a gate's missing items come from
  // artifacts: free text. Ids, phase names and classes are mex's own or [A-Za-z0-9_.-].
  std::string reason = TerminalSafeLine(e.reason);
  std::string line;
  switch (e.kind) {
    case EventKind::kRunStarted:
      if (!quiet_) {
        line = !e.resumed        ? fmt::format("run {}", e.run)
               : e.succeeded > 0 ? fmt::format("resume {}: {} task{} that succeeded earlier kept",
                                               e.run, e.succeeded, e.succeeded == 1 ? "" : "s")
                                 : fmt::format("resume {}", e.run);
      }
      break;
    case EventKind::kPhaseStarted:
      if (!quiet_) {
        line = fmt::format("phase {}", e.phase);
        std::string added = e.added > 0 ? fmt::format("{} task{} added from {}", e.added,
                                                      e.added == 1 ? "" : "s", reason)
                                        : "";
        std::string kept = e.succeeded > 0 ? fmt::format("{} kept", e.succeeded) : "";
        if (!added.empty() || !kept.empty()) {
          line += ": " + added + (!added.empty() && !kept.empty() ? ", " : "") + kept;
        }
      }
      break;
    case EventKind::kTaskStarted:
      if (!quiet_) {
        line = e.attempt > 1
                   ? fmt::format("start {} (attempt {}/{})", e.task, e.attempt, e.max_attempts)
                   : fmt::format("start {}", e.task);
        if (!e.rerun.empty()) line += ": runs again, " + e.rerun;
        if (e.followed) line += ": left running by an interrupted session, followed";
      }
      break;
    case EventKind::kTaskStalled:
      line = fmt::format("{} {}: no output for {} (attempt {}/{}); it goes on",
                         Paint("stalled", kYellow), e.task, FormatDuration(e.quiet_s), e.attempt,
                         e.max_attempts);
      break;
    case EventKind::kTaskRetry:
      line =
          fmt::format("{} {} in {}: attempt {}/{} failed, {}: {}", Paint("retry", kYellow), e.task,
                      Seconds(e.delay_s), e.attempt, e.max_attempts, e.failure_class, reason);
      break;
    case EventKind::kTaskWaiting:
      line = fmt::format("wait {}: {}", e.task, reason);
      break;
    case EventKind::kTaskQueued:
      if (!quiet_) {
        // Running after no wait to speak of: its state was unknown a moment (squeue failing).
        line = e.queue_state != QueueState::kRunning ? fmt::format("queued {}: {}", e.task, reason)
               : e.elapsed_s > 0 ? fmt::format("queued {}: running after {} in the queue", e.task,
                                               Seconds(e.elapsed_s))
                                 : fmt::format("queued {}: running", e.task);
      }
      break;
    case EventKind::kTaskSucceeded:
      if (!quiet_) {
        line = fmt::format("{} {} ({})", Paint("done", kGreen), e.task, Seconds(e.elapsed_s));
        if (!e.merge.empty()) line += ": " + TerminalSafeLine(e.merge);
      }
      break;
    case EventKind::kTaskFailed:
      failed_.push_back(e.task);
      line = e.attempt == 0  // failed before it could start (its agent's program is missing)
                 ? fmt::format("{} {} (not started), {}: {}", Paint("FAILED", kRed), e.task,
                               e.failure_class, reason)
                 : fmt::format("{} {} (attempt {}/{}), {}: {}", Paint("FAILED", kRed), e.task,
                               e.attempt, e.max_attempts, e.failure_class, reason);
      for (const std::string& tail : e.tail) line += "\n  | " + TerminalSafeLine(tail);
      if (!e.log.empty()) line += "\n  log:    " + TerminalSafeLine(e.log);
      if (!e.report.empty()) line += "\n  report: " + TerminalSafeLine(e.report);
      break;
    case EventKind::kTaskSkipped:
      skipped_.push_back(e.task);
      if (!e.at_end) line = fmt::format("{} {}: {}", Paint("skip", kYellow), e.task, reason);
      break;
    case EventKind::kTaskCancelled:
      cancelled_.push_back(e.task);
      if (!e.at_end) line = fmt::format("{} {}: {}", Paint("cancel", kYellow), e.task, reason);
      break;
    case EventKind::kGateCommand:
      if (!quiet_) line = fmt::format("gate {}: run {}", e.phase, reason);
      break;
    case EventKind::kPhaseFinished:
      if (!quiet_ || !e.passed) {
        line = fmt::format(
            "phase {} {}: gate score {:.2f} (needs {:.2f}), {:.0f}% of the milestone "
            "done",
            e.phase, e.passed ? Paint("passed", kGreen) : Paint("FAILED", kRed), e.score,
            e.min_score, std::floor(e.progress * 100));
        if (!reason.empty()) line += "\n  " + reason;
        if (!e.passed) {
          constexpr size_t kShown = 10;  // the validation file has them all
          for (size_t i = 0; i < e.missing.size() && i < kShown; ++i) {
            line += "\n  missing: " + TerminalSafeLine(e.missing[i]);
          }
          if (e.missing.size() > kShown) {
            line += fmt::format("\n  ... and {} more", e.missing.size() - kShown);
          }
        }
      }
      break;
    case EventKind::kPhaseRerun:
      line = fmt::format("rerun phase {} ({}/{}): {}", e.phase, e.attempt, e.max_attempts, reason);
      break;
    case EventKind::kBudgetSpent:
      line = fmt::format("budget spent: {}; no new attempt starts", reason);
      break;
    case EventKind::kInterrupted:
      line = reason.starts_with("SIG")
                 ? fmt::format(
                       "interrupted ({}): ending running tasks; press Ctrl-C again to "
                       "kill them",
                       reason)
                 : fmt::format("stopping: {}; ending running tasks", reason);
      break;
    case EventKind::kRunFinished:
      line = fmt::format("{}: {} succeeded, {} failed, {} skipped, {} cancelled in {}",
                         Paint(reason, e.passed ? kGreen : kRed), e.succeeded, e.failed, e.skipped,
                         e.cancelled, Seconds(e.elapsed_s));
      line +=
          Names("failed", failed_) + Names("skipped", skipped_) + Names("cancelled", cancelled_);
      break;
  }
  if (!line.empty()) line += '\n';
  return line;
}

void PlainReporter::OnEvent(const Event& event) {
  std::string line = lines_.Format(event);
  if (line.empty()) return;
  fwrite(line.data(), 1, line.size(), out_);
  fflush(out_);
}

}  // namespace mex
