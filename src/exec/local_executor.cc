#include "exec/local_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

#include "util/clock.h"

namespace mex {
namespace {

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
    : state_(state), workspace_(workspace), signals_(&init_error_) {}

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
}

ProcessRef LocalExecutor::Start(const AttemptSpec& spec) {
  if (!signals_.valid()) return FailSpawn(spec, EINVAL, init_error_);
  int err_no = 0;
  std::string error;
  UniqueFd log = OpenLog(spec.log_path, &err_no, &error);
  if (!log.valid()) return FailSpawn(spec, err_no, error);
  const std::string stdin_path = spec.stdin_path.empty() ? "/dev/null" : spec.stdin_path;
  UniqueFd input = OpenInput(stdin_path, &err_no, &error);
  if (!input.valid()) return FailSpawn(spec, err_no, error);
  UniqueFd cwd = OpenCwd(spec.cwd, &err_no, &error);
  if (!cwd.valid() && !error.empty()) return FailSpawn(spec, err_no, error);

  SpawnRequest request{spec.argv, spec.cwd, cwd.get(), spec.env, input.get(), log.get()};
  const pid_t pid = SpawnProcessGroup(request, &err_no, &error);
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
  if (spec.stall_after_s > 0) {
    attempt.next_stall_check = now + StallCheckInterval(spec.stall_after_s);
  }
  live_.push_back(std::move(attempt));
  return ProcessRef{pid, ProcessStartTime(pid), BootId()};
}

int LocalExecutor::EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) {
  return EndProcessGroups(leftovers, grace_s);
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

ProcessRef LocalExecutor::FailSpawn(const AttemptSpec& spec, int err_no,
                                    const std::string& error) {
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
    if (!attempt.ended_by_mex && now >= attempt.timeout_at) {
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
  if (size != attempt->log_size) {
    attempt->log_size = size;
    attempt->last_output_at = now;
    attempt->stall_reported = false;  // output resumed: a later silence is a new stall
  } else if (!attempt->stall_reported && now - attempt->last_output_at >= attempt->stall_after_s) {
    attempt->stall_reported = true;
    result->stalled.push_back(attempt->key);
    if (attempt->kill_on_stall) BeginEnd(attempt, EndReason::kStallKilled, now);
  }
  if (!attempt->ended_by_mex) {
    attempt->next_stall_check = now + StallCheckInterval(attempt->stall_after_s);
  }
}

void LocalExecutor::ReapEnded(WaitResult* result) {
  for (size_t i = 0; i < live_.size();) {
    Attempt& attempt = live_[i];
    if (!HasExited(attempt.pid)) {
      ++i;
      continue;
    }
    // Grandchildren that ignored SIGTERM must not outlive an attempt that mex ended.
    if (attempt.ended_by_mex) SignalGroup(attempt.pid, SIGKILL);
    const ExitStatus status = Reap(attempt.pid);
    AttemptEnd end;
    end.key = attempt.key;
    end.reason = attempt.reason;
    end.exit_code = status.exit_code;
    end.signal = status.signal;
    end.pid = attempt.pid;
    end.started_at = attempt.started_at;
    end.ended_at = WallClockSeconds();
    result->ended.push_back(std::move(end));
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
  }
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
  if (received.child) ReapEnded(result);
  return true;
}

}  // namespace mex
