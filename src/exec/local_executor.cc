#include "exec/local_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

#include "exec/direct_command.h"
#include "util/clock.h"

namespace mex {
namespace {

// How soon the log of an attempt with a cap is first looked at, and the bounds of the interval
// between looks (it shrinks as the log grows fast towards its cap).
constexpr double kFirstLogCheck = 0.01;
constexpr double kMinLogCheck = 0.002;
constexpr double kMaxLogCheck = 1.0;
// Ends the MEX_ATTEMPT_TAG of an attempt that leaves its processes running (leave_processes).
constexpr std::string_view kLeaveMark = "+left";

// Often enough to see a stall soon after stall_after_s, rarely enough to cost nothing.
double StallCheckInterval(double stall_after_s) {
  return std::min(stall_after_s / 4, 1.0);
}

off_t LogSize(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_size : 0;
}

timespec ToTimespec(double seconds) {
  seconds = std::clamp(seconds, 0.0, 1e9);  // far deadlines need no precision, only no overflow
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(seconds);
  ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
  return ts;
}

std::string Describe(const std::string& what, const std::string& path, int err_no) {
  return "cannot open " + what + " " + path + ": " + std::strerror(err_no);
}

// Whether `path` is `folder` or beneath it.
bool Within(const Folder* folder, const std::string& path) {
  if (folder == nullptr) return false;
  const std::string& root = folder->path();
  return path == root ||
         (path.starts_with(root) && path.size() > root.size() && path[root.size()] == '/');
}

}  // namespace

LocalExecutor::LocalExecutor(const Folder* state, const Folder* workspace)
    : state_(state),
      workspace_(workspace),
      signals_(&init_error_),
      tag_prefix_(std::to_string(getpid()) + ".") {
  // Orphans of the attempts' descendants come to mex instead of init, so that what an attempt
  // left behind can be ended with it (EndStrays).
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

UniqueFd LocalExecutor::OpenLog(const std::string& path, int* err_no, std::string* err) const {
  if (!Within(state_, path)) {
    UniqueFd fd = OpenLogForAppend(path, err_no);
    if (!fd.valid()) *err = Describe("log", path, *err_no);
    return fd;
  }
  UniqueFd fd = state_->OpenFile(path, O_WRONLY | O_CREAT | O_APPEND, 0600, err);
  if (!fd.valid()) {
    *err_no = errno;
    return fd;
  }
  return AboveStdio(std::move(fd), err_no);
}

UniqueFd LocalExecutor::OpenInput(const std::string& path, int* err_no, std::string* err) const {
  if (!Within(state_, path)) {
    UniqueFd fd = OpenForReading(path, err_no);
    if (!fd.valid()) *err = Describe("stdin", path, *err_no);
    return fd;
  }
  UniqueFd fd = state_->OpenFile(path, O_RDONLY, 0, err);
  if (!fd.valid()) {
    *err_no = errno;
    return fd;
  }
  return AboveStdio(std::move(fd), err_no);
}

UniqueFd LocalExecutor::OpenCwd(const std::string& path, int* err_no, std::string* err) const {
  if (!Within(workspace_, path)) return UniqueFd();  // spawned by path, checked there
  UniqueFd fd = workspace_->OpenFolder(path, err);
  if (!fd.valid()) {
    *err_no = errno;
    *err = "cannot enter folder " + path + ": " + *err;
  }
  return fd;
}

LocalExecutor::~LocalExecutor() {
  KillAll();
  for (Attempt& attempt : live_) Reap(attempt.pid);
  live_.clear();
  for (pid_t pid : EndStrays()) Reap(pid);
}

ProcessRef LocalExecutor::Start(const AttemptSpec& spec) {
  if (!signals_.valid()) return FailSpawn(spec, EINVAL, init_error_);
  int err_no = 0;
  std::string error;
  UniqueFd log = OpenLog(spec.log_path, &err_no, &error);
  if (!log.valid()) return FailSpawn(spec, err_no, error);
  // No stdin: /dev/null, opened once for all of them.
  UniqueFd input;
  if (spec.stdin_path.empty() && !dev_null_.valid()) {
    dev_null_ = OpenInput("/dev/null", &err_no, &error);
  }
  if (!spec.stdin_path.empty()) input = OpenInput(spec.stdin_path, &err_no, &error);
  const int input_fd = spec.stdin_path.empty() ? dev_null_.get() : input.get();
  if (input_fd < 0) return FailSpawn(spec, err_no, error);
  // The workspace itself (most tasks) is the folder held open; another is opened beneath it.
  UniqueFd cwd;
  int cwd_fd = -1;
  if (workspace_ != nullptr && spec.cwd == workspace_->path()) {
    cwd_fd = workspace_->fd();
  } else {
    cwd = OpenCwd(spec.cwd, &err_no, &error);
    if (!cwd.valid() && !error.empty()) return FailSpawn(spec, err_no, error);
    cwd_fd = cwd.get();
  }

  // What it leaves running is left alone, in this session and later ones, by this mark.
  std::string tag = tag_prefix_ + std::to_string(++started_);
  if (spec.leave_processes) tag += kLeaveMark;
  SpawnRequest request{spec.argv, spec.cwd, cwd_fd, spec.env, input_fd, log.get()};
  // Its own tag, not one inherited from a mex that runs this one.
  std::erase_if(request.env,
                [](const std::string& e) { return e.starts_with("MEX_ATTEMPT_TAG="); });
  request.env.push_back("MEX_ATTEMPT_TAG=" + tag);
  pid_t pid = -1;
  bool direct = false;
  // Before the spawn: a lower bound of the leader's start time, without reading /proc.
  const uint64_t start_ticks = BootTicksNow();
  DirectCommand command;
  if (command.Resolve(request.argv, &request.env, request.cwd, &programs_)) {
    // Without the shell; a spawn that fails goes through it, which says why as sh -c would.
    std::swap(request.argv, command.words);
    request.program = std::move(command.program);
    pid = SpawnProcessGroup(request, &err_no, &error);
    if (pid < 0) {
      request.argv = spec.argv;
      request.program.clear();
    } else {
      ++direct_spawns_;
      direct = true;
    }
  }
  if (pid < 0) pid = SpawnProcessGroup(request, &err_no, &error);
  if (pid < 0) return FailSpawn(spec, err_no, error);

  const double now = MonotonicSeconds();
  Attempt attempt;
  attempt.key = spec.key;
  attempt.pid = pid;
  attempt.log_size = LogSize(log.get());
  attempt.log = std::move(log);
  attempt.started_at = WallClockSeconds();
  attempt.timeout_at = spec.timeout_s > 0 ? now + spec.timeout_s : kNever;
  attempt.kill_grace_s = std::max(spec.kill_grace_s, 0.0);
  attempt.stall_after_s = spec.stall_after_s;
  attempt.kill_on_stall = spec.kill_on_stall;
  attempt.last_output_at = now;
  attempt.started_mono = now;
  attempt.checked_at = now;
  attempt.log_limit = static_cast<off_t>(spec.log_limit_bytes);
  attempt.leave_processes = spec.leave_processes;
  attempt.tag = std::move(tag);
  attempt.direct = direct;
  if (spec.stall_after_s > 0) {
    attempt.next_stall_check = now + StallCheckInterval(spec.stall_after_s);
  }
  if (attempt.log_limit > 0) {
    attempt.next_stall_check = std::min(attempt.next_stall_check, now + kFirstLogCheck);
  }
  live_.push_back(std::move(attempt));
  return ProcessRef{pid, start_ticks, BootId()};
}

void LocalExecutor::set_run(std::string_view run_id) {
  run_tag_ = "mex:" + std::string(run_id) + ":";
  tag_prefix_ = run_tag_ + std::to_string(getpid()) + ".";
}

int LocalExecutor::EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) {
  const int groups = EndProcessGroups(leftovers, grace_s);
  if (run_tag_.empty()) return groups;
  // What EndProcessGroups cannot reach: what escaped the groups (setsid, a double fork), and an
  // attempt whose group was never recorded (the engine was killed between its spawn and that
  // commit). All carry the run's tag; those of this session and those left on purpose are kept.
  return groups + KillTaggedProcesses(
                      [&](std::string_view tag) {
                        return tag.starts_with(run_tag_) && !tag.starts_with(tag_prefix_) &&
                               !tag.ends_with(kLeaveMark);
                      },
                      std::max(grace_s, 1.0));
}

WaitResult LocalExecutor::Wait(double timeout_s) {
  WaitResult result;
  result.ended = std::move(spawn_failures_);
  spawn_failures_.clear();
  const double until = timeout_s < 0 ? kNever : MonotonicSeconds() + timeout_s;
  for (;;) {
    const double now = MonotonicSeconds();
    EnforceDeadlines(now);
    CheckStalls(now, &result);
    if (!result.ended.empty() || !result.stalled.empty() || result.interrupt != 0) break;
    if (now >= until || (live_.empty() && until == kNever)) break;
    if (!PollUntil(std::min(until, NextDeadline()), &result)) break;
  }
  return result;
}

void LocalExecutor::Cancel(uint64_t key) {
  if (Attempt* attempt = Find(key)) BeginEnd(attempt, EndReason::kCancelled, MonotonicSeconds());
}

void LocalExecutor::CancelAll() {
  const double now = MonotonicSeconds();
  for (Attempt& attempt : live_) BeginEnd(&attempt, EndReason::kCancelled, now);
}

void LocalExecutor::KillAll() {
  for (Attempt& attempt : live_) {
    if (!attempt.ended_by_mex) {
      attempt.ended_by_mex = true;
      attempt.reason = EndReason::kCancelled;
    }
    SignalGroup(attempt.pid, SIGKILL);
    attempt.kill_at = kNever;
    attempt.next_stall_check = kNever;
  }
}

LocalExecutor::Attempt* LocalExecutor::Find(uint64_t key) {
  for (Attempt& attempt : live_) {
    if (attempt.key == key) return &attempt;
  }
  return nullptr;
}

ProcessRef LocalExecutor::FailSpawn(const AttemptSpec& spec, int err_no, const std::string& error) {
  AttemptEnd end;
  end.key = spec.key;
  end.reason = EndReason::kSpawnFailed;
  end.spawn_errno = err_no;
  end.error = error;
  end.started_at = end.ended_at = WallClockSeconds();
  spawn_failures_.push_back(std::move(end));
  return {};
}

void LocalExecutor::BeginEnd(Attempt* attempt, EndReason reason, double now) {
  if (attempt->ended_by_mex) return;  // the first reason stands; its grace period runs on
  attempt->ended_by_mex = true;
  attempt->reason = reason;
  attempt->next_stall_check = kNever;
  SignalGroup(attempt->pid, SIGTERM);
  attempt->kill_at = now + attempt->kill_grace_s;
}

void LocalExecutor::EnforceDeadlines(double now) {
  for (Attempt& attempt : live_) {
    // One that ended in time and is not yet collected (mex was stopped, or busy) ended by itself.
    if (!attempt.ended_by_mex && now >= attempt.timeout_at && !HasExited(attempt.pid)) {
      BeginEnd(&attempt, EndReason::kTimedOut, now);
    }
    if (now >= attempt.kill_at) {
      // The leader is not yet collected, so the group id still names this attempt's group.
      SignalGroup(attempt.pid, SIGKILL);
      attempt.kill_at = kNever;
    }
  }
}

void LocalExecutor::CheckStalls(double now, WaitResult* result) {
  for (Attempt& attempt : live_) {
    if (now >= attempt.next_stall_check) CheckStall(&attempt, now, result);
  }
}

void LocalExecutor::CheckStall(Attempt* attempt, double now, WaitResult* result) {
  const off_t size = LogSize(attempt->log.get());
  if (attempt->log_limit > 0 && size >= attempt->log_limit) {
    // A runaway: a grace period would let it write on at the speed that brought it here.
    attempt->ended_by_mex = true;
    attempt->reason = EndReason::kLogFull;
    attempt->next_stall_check = kNever;
    attempt->kill_at = kNever;
    SignalGroup(attempt->pid, SIGKILL);
    return;
  }
  const double growth = static_cast<double>(size - attempt->log_size);
  const double since = now - attempt->checked_at;
  attempt->checked_at = now;
  if (size != attempt->log_size) {
    attempt->log_size = size;
    attempt->last_output_at = now;
    attempt->stall_reported = false;  // output resumed: a later silence is a new stall
  } else if (attempt->stall_after_s > 0 && !attempt->stall_reported &&
             now - attempt->last_output_at >= attempt->stall_after_s) {
    attempt->stall_reported = true;
    result->stalled.push_back(attempt->key);
    if (attempt->kill_on_stall) BeginEnd(attempt, EndReason::kStallKilled, now);
  }
  if (attempt->ended_by_mex) return;
  double next = attempt->stall_after_s > 0 ? StallCheckInterval(attempt->stall_after_s) : kNever;
  if (attempt->log_limit > 0) {
    // Soon enough that, at the rate it grew since the last look, it overshoots the cap little.
    const double rate = since > 0 ? growth / since : 0;
    const double left = static_cast<double>(attempt->log_limit - size);
    next = std::min(
        next, rate > 0 ? std::clamp(left / rate / 2, kMinLogCheck, kMaxLogCheck) : kMaxLogCheck);
  }
  attempt->next_stall_check = now + next;
}

void LocalExecutor::ReapEnded(WaitResult* result) {
  for (size_t i = 0; i < live_.size();) {
    Attempt& attempt = live_[i];
    if (!HasExited(attempt.pid)) {
      ++i;
      continue;
    }
    // What is left of its group (`cmd &`, a double fork; what ignored SIGTERM) ends with it,
    // while the leader, not yet collected, keeps the group's id from being reused.
    if (attempt.ended_by_mex || !attempt.leave_processes) SignalGroup(attempt.pid, SIGKILL);
    const ExitStatus status = Reap(attempt.pid);
    AttemptEnd end;
    end.key = attempt.key;
    end.reason = attempt.reason;
    end.exit_code = status.exit_code;
    end.signal = status.signal;
    if (attempt.direct && !attempt.ended_by_mex && status.signal != 0) {
      // sh -c would have forked it and exited 128 + N, printing the signal as dash does.
      end.exit_code = 128 + status.signal;
      end.signal = 0;
      if (status.signal != SIGINT && status.signal != SIGPIPE) {
        std::string line = strsignal(status.signal);
        line += status.core_dumped ? " (core dumped)\n" : "\n";
        if (write(attempt.log.get(), line.data(), line.size()) < 0) {
          // The log stays as it is.
        }
      }
    }
    end.pid = attempt.pid;
    end.started_at = attempt.started_at;
    end.ended_at = WallClockSeconds();
    end.duration_s = MonotonicSeconds() - attempt.started_mono;
    if (attempt.reason == EndReason::kLogFull) {
      end.error = "its log reached log_limit (" + std::to_string(attempt.log_limit) +
                  " bytes) and mex ended it";
      const std::string line = "\nmex: " + end.error + "\n";
      if (write(attempt.log.get(), line.data(), line.size()) < 0) {
        // The log stays as it is; the attempt's record says why it ended.
      }
    }
    result->ended.push_back(std::move(end));
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  EndStrays();
}

void LocalExecutor::StopAndContinue() {
  // Their own groups are not the terminal's foreground group: the terminal's SIGTSTP reached
  // mex alone. SIGSTOP, which no program can ignore: their clocks must stop with mex's.
  for (const Attempt& attempt : live_) SignalGroup(attempt.pid, SIGSTOP);
  if (on_stop_) on_stop_(true);
  const double stopped_at = MonotonicSeconds();
  kill(getpid(), SIGSTOP);  // returns once mex is continued
  const double paused = MonotonicSeconds() - stopped_at;
  if (on_stop_) on_stop_(false);
  for (Attempt& attempt : live_) {
    SignalGroup(attempt.pid, SIGCONT);
    attempt.started_mono += paused;  // durations leave the stopped time out
    attempt.last_output_at += paused;
    if (attempt.timeout_at < kNever) attempt.timeout_at += paused;
    if (attempt.kill_at < kNever) attempt.kill_at += paused;
    if (attempt.next_stall_check < kNever) attempt.next_stall_check += paused;
  }
}

bool LocalExecutor::IsLeader(pid_t pid) const {
  for (const Attempt& attempt : live_) {
    if (attempt.pid == pid) return true;
  }
  return false;
}

std::vector<pid_t> LocalExecutor::EndStrays() {
  std::vector<pid_t> signalled;
  for (pid_t pid : ChildrenOfThisProcess()) {
    if (IsLeader(pid)) continue;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) continue;  // a stray that ended: collected
    // Only what one of this executor's attempts started: a child mex did not start this way is
    // none of its business.
    const std::string tag = EnvironmentValue(pid, "MEX_ATTEMPT_TAG");
    if (!tag.starts_with(tag_prefix_)) continue;
    bool running = false;
    for (const Attempt& attempt : live_) running = running || attempt.tag == tag;
    if (running) continue;
    if (tag.ends_with(kLeaveMark)) continue;
    if (getpgid(pid) == pid) killpg(pid, SIGKILL);  // its own group (setsid): all of it
    kill(pid, SIGKILL);
    signalled.push_back(pid);
  }
  return signalled;
}

double LocalExecutor::NextDeadline() const {
  double next = kNever;
  for (const Attempt& attempt : live_) {
    if (!attempt.ended_by_mex) next = std::min(next, attempt.timeout_at);
    next = std::min({next, attempt.kill_at, attempt.next_stall_check});
  }
  return next;
}

bool LocalExecutor::PollUntil(double deadline, WaitResult* result) {
  pollfd pfd{signals_.fd(), POLLIN, 0};
  timespec wait_for{};
  const timespec* timeout = nullptr;  // no deadline: wait for a signal only
  if (deadline < kNever) {
    wait_for = ToTimespec(deadline - MonotonicSeconds());
    timeout = &wait_for;
  }
  const int ready = ppoll(&pfd, 1, timeout, nullptr);
  if (ready < 0) return errno == EINTR;
  if (ready == 0) return true;
  const SignalChannel::Received received = signals_.Drain();
  if (received.interrupt != 0 && result->interrupt == 0) result->interrupt = received.interrupt;
  if (received.stop) StopAndContinue();
  if (received.child) ReapEnded(result);
  return true;
}

}  // namespace mex
