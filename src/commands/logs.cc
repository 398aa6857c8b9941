// `mex logs TASK [FILE]`: the log of an attempt of a task, as `kubectl logs` or `docker logs`
// print a container's; with -f, what it goes on writing, and then the logs of the attempts after
// it, until the task or the run ends. Reads state.db read-only, as `mex status` does, and each log
// beneath the state folder without following a symlink (util/folder.h): it writes nothing.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/commands.h"
#include "commands/recorded_run.h"
#include "engine/events.h"
#include "model/diagnostics.h"
#include "model/run_files.h"
#include "store/sqlite_store.h"
#include "util/folder.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

// How often -f looks for more of the log and for a change of the task or the run.
constexpr int kFollowPollMs = 100;
constexpr size_t kReadBytes = 64 * 1024;

volatile std::sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) {
  g_interrupted = 1;
}

// Ctrl-C sets g_interrupted; a read, write or wait under way returns EINTR (no SA_RESTART).
void CatchInterrupt() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
}

// stdout: the log's bytes as they are, or made safe line by line for a terminal.
class Output {
 public:
  explicit Output(bool terminal) : terminal_(terminal) {}

  // False when stdout is gone (a reader that quit: `mex logs -f T | head`), failed, or Ctrl-C
  // stopped a blocked write.
  bool Write(std::string_view bytes) {
    if (!terminal_) return WriteRaw(bytes);
    return WriteRaw(safe_.Feed(bytes));
  }
  // The end of one log: what the terminal stream kept back.
  bool EndOfLog() { return !terminal_ || WriteRaw(safe_.Finish()); }
  // A line on stderr between two logs; on a terminal, after a line break if the log ended
  // without one.
  bool Separator(const std::string& line) {
    if (!EndOfLog()) return false;
    if (terminal_ && !at_line_start_ && !WriteRaw("\n")) return false;
    fmt::print(stderr, "{}\n", line);
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  bool WriteRaw(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = write(STDOUT_FILENO, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR && !g_interrupted) continue;
      if (n <= 0) {
        // A reader that went away is no error of ours to report.
        if (errno != EPIPE && errno != EINTR) {
          error_ = fmt::format("cannot write to stdout: {}", std::strerror(errno));
        }
        return false;
      }
      at_line_start_ = bytes[static_cast<size_t>(n) - 1] == '\n';
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  bool terminal_;
  TerminalSafeStream safe_;
  bool at_line_start_ = true;
  std::string error_;
};

// Where the run is and what it recorded of the task.
class Source {
 public:
  Source(SqliteStore* store, const Folder* state, std::string state_dir, StoredRun run,
         std::string task)
      : store_(store),
        state_(state),
        state_dir_(std::move(state_dir)),
        run_(std::move(run)),
        task_(std::move(task)) {}

  const StoredRun& run() const { return run_; }
  const std::string& task_id() const { return task_; }
  const std::optional<StoredTask>& task() const { return task_row_; }
  const std::vector<AttemptRecord>& attempts() const { return attempts_; }

  // Reads the run, the task and its attempts again; false with error() on an SQLite error. The
  // lock is looked at first: a run found not live has recorded all it will.
  bool Refresh() {
    std::optional<StoredRun> run = store_->FindRun(run_.id);
    if (run) run_ = *run;
    live_ = RunIsLive(state_dir_, run_);
    task_row_ = store_->FindTask(run_.id, task_);
    attempts_ = store_->TaskAttempts(run_.id, task_);
    return store_->error().empty();
  }
  // Whether the run's engine holds the state folder's lock (as `mex status` decides it).
  bool live() const { return live_; }
  std::string error() const { return store_->error(); }

  // Attempt `number` as last read, or null.
  const AttemptRecord* Attempt(int number) const {
    for (const AttemptRecord& a : attempts_) {
      if (a.number == number) return &a;
    }
    return nullptr;
  }
  // The first attempt after `number`, or null.
  const AttemptRecord* After(int number) const {
    for (const AttemptRecord& a : attempts_) {
      if (a.number > number) return &a;
    }
    return nullptr;
  }
  bool TaskEnded() const { return task_row_ && IsFinal(task_row_->state); }
  std::string StateName() const {
    return task_row_ ? std::string(TaskStateName(task_row_->state)) : "removed from the run";
  }

  // The log of `attempt`, beneath the state folder: the path recorded, or, when the state folder
  // was reached by another path then, the one mex gives it there. Invalid with `err` and
  // `err_no` (ENOENT: there is none) when it cannot be opened.
  UniqueFd OpenLog(const AttemptRecord& attempt, std::string* err, int* err_no) const {
    std::string path = attempt.log_path;
    const std::string& root = state_->path();
    bool beneath =
        path.size() > root.size() + 1 && path.starts_with(root) && path[root.size()] == '/';
    if (!beneath) {
      RunPaths paths;
      paths.logs_dir = fmt::format("runs/{}/logs", run_.id);
      path = paths.LogPath(attempt.task, attempt.number);
    }
    errno = 0;
    UniqueFd log = state_->OpenFile(path, O_RDONLY, 0, err);
    *err_no = log.valid() ? 0 : errno != 0 ? errno : EINVAL;
    if (!beneath && *err_no == ENOENT) {
      // A run of a mex before the flat logs: logs/TASK/N.log.
      std::string older =
          fmt::format("runs/{}/logs/{}/{}.log", run_.id, attempt.task, attempt.number);
      std::string older_err;
      errno = 0;
      UniqueFd found = state_->OpenFile(older, O_RDONLY, 0, &older_err);
      if (found.valid()) {
        *err_no = 0;
        err->clear();
        return found;
      }
    }
    if (*err_no == ENOENT && attempt.ended_at != 0) {
      *err = fmt::format("attempt {} of task '{}' left no log at {}", attempt.number, attempt.task,
                         state_->Display(path));
      if (!attempt.reason.empty()) *err += fmt::format(" ({})", attempt.reason);
    }
    return log;
  }

 private:
  SqliteStore* store_;
  const Folder* state_;
  std::string state_dir_;
  StoredRun run_;
  std::string task_;
  std::optional<StoredTask> task_row_;
  std::vector<AttemptRecord> attempts_;
  bool live_ = false;
};

enum class Copy { kEnd, kInterrupted, kOutputFailed };

// Prints what `log` holds from its offset to its end.
Copy Drain(int log, Output* out) {
  std::string buffer(kReadBytes, '\0');
  for (;;) {
    if (g_interrupted) return Copy::kInterrupted;
    ssize_t n = read(log, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Copy::kEnd;  // an error reads as the end: what was there is printed
    if (!out->Write(std::string_view(buffer.data(), static_cast<size_t>(n)))) {
      return g_interrupted ? Copy::kInterrupted : Copy::kOutputFailed;
    }
  }
}

int OutputFailed(const Output& out) {
  if (!out.error().empty()) fmt::print(stderr, "mex: {}\n", TerminalSafeLine(out.error()));
  return kExitFailed;
}

std::string NoAttempt(const Source& source) {
  return fmt::format("task '{}' has no attempt in run {} ({})", TerminalSafeLine(source.task_id()),
                     TerminalSafeLine(source.run().id), source.StateName());
}

std::string NoAttemptNumber(const Source& source, int number) {
  const std::vector<AttemptRecord>& attempts = source.attempts();
  std::string have =
      attempts.empty() ? "none yet"
      : attempts.size() == 1
          ? fmt::format("only attempt {}", attempts.front().number)
          : fmt::format("attempts {} to {}", attempts.front().number, attempts.back().number);
  return fmt::format("task '{}' has no attempt {} in run {} ({})",
                     TerminalSafeLine(source.task_id()), number, TerminalSafeLine(source.run().id),
                     have);
}

// Prints the log of attempt `number` as it is now.
int PrintOnce(const Source& source, int number, Output* out) {
  const AttemptRecord* attempt = source.Attempt(number);
  std::string err;
  int err_no = 0;
  UniqueFd log = source.OpenLog(*attempt, &err, &err_no);
  // An attempt is recorded before it starts: one running without a log has printed nothing.
  if (!log.valid() && err_no == ENOENT && attempt->ended_at == 0) return kExitOk;
  if (!log.valid()) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitFailed;
  }
  Copy copy = Drain(log.get(), out);
  if (copy == Copy::kOutputFailed || !out->EndOfLog()) return OutputFailed(*out);
  return copy == Copy::kInterrupted ? kExitInterrupted : kExitOk;
}

// -f: prints attempt `number`'s log (0: the first attempt to start) as it grows; with `next`, the
// logs of the attempts after it as they start; until the attempt (without `next`) or the task has
// ended, or the run is no longer running.
int Follow(Source* source, int number, bool next, Output* out) {
  UniqueFd log;
  bool missing_said = false;  // that the current attempt left no log
  bool waiting_said = false;
  for (;;) {
    // What was recorded is read before the log: an attempt recorded as ended wrote all it will
    // before that, so the log is complete once read after it.
    if (!source->Refresh()) {
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(source->error()));
      return kExitUsage;
    }
    if (number == 0) {
      if (const AttemptRecord* first = source->After(0)) number = first->number;
    }
    const AttemptRecord* attempt = number == 0 ? nullptr : source->Attempt(number);
    bool ended = attempt && attempt->ended_at != 0;
    if (attempt && !log.valid() && !missing_said) {
      std::string err;
      int err_no = 0;
      log = source->OpenLog(*attempt, &err, &err_no);
      // ENOENT while it runs: the engine records an attempt before it starts it.
      if (!log.valid() && (err_no != ENOENT || ended)) {
        fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
        if (err_no != ENOENT) return kExitFailed;
        missing_said = true;
      }
    }
    if (log.valid()) {
      Copy copy = Drain(log.get(), out);
      if (copy == Copy::kInterrupted) break;
      if (copy == Copy::kOutputFailed) return OutputFailed(*out);
    }
    const AttemptRecord* later = next && attempt ? source->After(number) : nullptr;
    if (later) {
      number = later->number;
      log.Reset();
      missing_said = false;
      if (!out->Separator(
              fmt::format("==> {}: attempt {} <==", TerminalSafeLine(source->task_id()), number))) {
        return OutputFailed(*out);
      }
      continue;  // its log at once, without waiting
    }
    bool done = !source->live() || (!next && ended) || (source->TaskEnded() && (!attempt || ended));
    if (done) {
      if (!out->EndOfLog()) return OutputFailed(*out);
      if (!attempt) {
        fmt::print(stderr, "mex: {}\n",
                   number == 0 ? NoAttempt(*source) : NoAttemptNumber(*source, number));
        return kExitFailed;
      }
      return missing_said ? kExitFailed : kExitOk;  // as without -f: its log is gone
    }
    if (!attempt && !waiting_said) {
      fmt::print(stderr, "mex: task '{}' has no attempt {}yet ({}); waiting for it to start\n",
                 TerminalSafeLine(source->task_id()), number == 0 ? "" : fmt::format("{} ", number),
                 source->StateName());
      waiting_said = true;
    }
    if (g_interrupted) break;
    poll(nullptr, 0, kFollowPollMs);  // Ctrl-C cuts it short (EINTR)
    if (g_interrupted) break;
  }
  out->EndOfLog();
  return kExitInterrupted;
}

}  // namespace

int LogsCommand(const LogsOptions& options) {
  RecordedRun recorded;
  if (int code = OpenRecordedRun(options.file, options.state_dir, options.run, &recorded)) {
    return code;
  }
  const std::string& state_dir = recorded.state_dir;
  SqliteStore* store = recorded.store.get();
  const StoredRun* run = &recorded.run;
  Folder& state = recorded.state;
  Source source(store, &state, state_dir, *run, options.task);
  if (!source.Refresh()) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(source.error()));
    return kExitUsage;
  }
  if (!source.task() && source.attempts().empty()) {
    std::vector<StoredTask> tasks = store->Tasks(run->id);
    std::vector<std::string_view> ids;
    for (const StoredTask& t : tasks) ids.push_back(t.id);
    fmt::print(stderr, "mex: run {} of {} has no task '{}'{}\n", TerminalSafeLine(run->id),
               TerminalSafeLine(run->name), TerminalSafeLine(options.task),
               TerminalSafeLine(DidYouMean(options.task, ids)));
    return kExitUsage;
  }

  CatchInterrupt();
  Output out(isatty(STDOUT_FILENO) == 1);
  if (options.follow) {
    // The latest attempt, or the first to start.
    int number = options.attempt;
    if (number == 0 && !source.attempts().empty()) number = source.attempts().back().number;
    return Follow(&source, number, options.attempt == 0, &out);
  }

  int number = options.attempt;
  if (number == 0) {
    if (source.attempts().empty()) {
      fmt::print(stderr, "mex: {}\n", NoAttempt(source));
      return kExitFailed;
    }
    number = source.attempts().back().number;
  } else if (!source.Attempt(number)) {
    fmt::print(stderr, "mex: {}\n", NoAttemptNumber(source, number));
    return kExitFailed;
  }
  return PrintOnce(source, number, &out);
}

}  // namespace mex
