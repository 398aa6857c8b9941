#include "exec/slurm_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "exec/process.h"
#include "util/clock.h"
#include "util/metrics.h"

extern char** environ;

namespace mex {
namespace {

// A Slurm command that takes longer is ended and its answer taken as "unknown".
constexpr double kToolTimeout = 30;
// How long a resumed session asks for the run's jobs while squeue fails.
constexpr double kQueueListWait = 60;

std::string Joined(const std::vector<std::string>& ids) {
  std::string text;
  for (const std::string& id : ids) text += (text.empty() ? "" : ",") + id;
  return text;
}

// How a job whose state mex cannot read is told, followed by the command and why: "state unknown
// (squeue: Socket timed out on send/recv operation)".
constexpr std::string_view kStateUnknown = "state unknown (";

// Why a Slurm command failed, in one line: the last of its stderr without "NAME: error: ".
std::string FailureOf(const ToolResult& r, std::string_view name) {
  std::string why = r.err.empty() ? "exit " + std::to_string(r.exit_code) : r.err;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  why = why.substr(why.rfind('\n') + 1);
  if (const std::string prefix = std::string(name) + ": error: "; why.starts_with(prefix)) {
    why.erase(0, prefix.size());
  }
  return why;
}

off_t SizeOf(const std::string& path) {
  struct stat st {};
  return fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_size : 0;
}

}  // namespace

SlurmExecutor::SlurmExecutor(const Folder* state, Executor* waiter, SlurmSettings settings)
    : state_(state),
      waiter_(waiter),
      settings_(std::move(settings)),
      interval_(settings_.poll_min_s) {}

SlurmExecutor::~SlurmExecutor() {
  std::vector<std::string> ids;
  for (const Job& job : jobs_) {
    if (!job.id.empty()) ids.push_back(job.id);
  }
  if (!ids.empty()) {
    std::vector<std::string> argv{"scancel"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    Run("slurm scancel", std::move(argv));
  }
}

ToolResult SlurmExecutor::Run(const char* metric, std::vector<std::string> argv) {
  ScopedMetric timer(metric);
  ToolResult result;
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  SpawnRequest request;
  request.argv = std::move(argv);
  for (char** e = environ; *e != nullptr; ++e) request.env.emplace_back(*e);
  int null_errno = 0;
  UniqueFd null_in = OpenForReading("/dev/null", &null_errno);
  request.stdin_fd = null_in.get();
  request.output_fd = out_write.get();
  request.error_fd = err_write.get();
  int err_no = 0;
  std::string err;
  pid_t pid = SpawnProcessGroup(request, &err_no, &err);
  out_write.Reset();
  err_write.Reset();
  if (pid < 0) {
    result.err = err;
    return result;
  }
  const double deadline = MonotonicSeconds() + kToolTimeout;
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    double left = deadline - MonotonicSeconds();
    if (left <= 0) {
      timed_out = true;
      SignalGroup(pid, SIGKILL);
      break;
    }
    int ready = poll(fds, 2, static_cast<int>(std::ceil(left * 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[65536];
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  ExitStatus status = Reap(pid);
  result.exit_code = timed_out ? -1 : status.exit_code;
  result.timed_out = timed_out;
  if (timed_out) result.err += "timed out after 30 s";
  return result;
}

std::string SlurmExecutor::Check(const std::string& run_dir) {
  ToolResult ping = Run("slurm squeue", {"squeue", "-h", "-j", "0"});
  if (ping.exit_code < 0) {
    return "the slurm executor needs Slurm's commands (sbatch, squeue, sacct, scancel) in PATH: " +
           ping.err;
  }
  if (ping.err.find("Invalid job id") == std::string::npos && ping.exit_code != 0) {
    std::string why = ping.err.substr(0, ping.err.find('\n'));
    return "the Slurm controller does not answer (squeue: " + why + ")";
  }
  // The nodes write the logs into the run folder and read the job scripts from it: it must be
  // on a filesystem they share. mex cannot see the nodes' mounts from here; it checks that the
  // folder is there and writable, and that it is not in a folder private to this machine.
  if (access(run_dir.c_str(), W_OK | X_OK) != 0) {
    return "the run folder " + run_dir + " is not writable: " + std::strerror(errno);
  }
  for (std::string_view local : {"/tmp/", "/var/tmp/", "/dev/shm/", "/run/"}) {
    if (run_dir.starts_with(local) && std::getenv("MEX_SLURM_LOCAL_FOLDER") == nullptr) {
      return "the run folder " + run_dir + " is in " + std::string(local) +
             ", which the cluster's nodes do not share; run mex from a folder on a shared "
             "filesystem (home, project or scratch) or set MEX_SLURM_LOCAL_FOLDER=1 for a "
             "one-node cluster";
    }
  }
  return "";
}

bool SlurmExecutor::Has(uint64_t key) const {
  return std::any_of(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.key == key; });
}

SlurmExecutor::Job* SlurmExecutor::Find(uint64_t key) {
  for (Job& job : jobs_) {
    if (job.key == key) return &job;
  }
  return nullptr;
}

AttemptEnd SlurmExecutor::EndBase(const Job& job) const {
  AttemptEnd end;
  end.key = job.key;
  double now = WallClockSeconds();
  end.started_at = job.running_seen ? job.started_wall : now;
  end.ended_at = now;
  end.duration_s = job.running_seen ? MonotonicSeconds() - job.started_mono : 0;
  return end;
}

void SlurmExecutor::End(size_t index, AttemptEnd end, WaitResult* result) {
  result->ended.push_back(std::move(end));
  const bool was_submitted = !jobs_[index].id.empty();
  jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(index));
  // One of the run's jobs left: what a submit limit refused may fit now, before its backoff.
  for (Job& job : jobs_) {
    if (was_submitted && job.id.empty() && job.state == "SUBMIT_WAIT" &&
        IsSubmitLimit(job.reason)) {
      job.submit_at = std::min(job.submit_at, MonotonicSeconds());
    }
  }
}

void SlurmExecutor::BeginCancel(const std::vector<size_t>& indices, EndReason reason) {
  std::vector<std::string> argv{"scancel"};
  for (size_t i : indices) {
    Job& job = jobs_[i];
    if (job.cancelling) continue;
    job.cancelling = true;
    job.mex_reason = reason;
    if (!job.id.empty()) argv.push_back(job.id);
  }
  if (argv.size() > 1) Run("slurm scancel", std::move(argv));
  next_poll_ = MonotonicSeconds() + settings_.poll_min_s;
  interval_ = settings_.poll_min_s;
}

std::map<std::string, SlurmJobRow> SlurmExecutor::ReadQueue(const std::vector<std::string>& ids,
                                                            std::string* failure) {
  // -r: an array's pending elements one per line, not folded into one ("123_[5-9]").
  ToolResult q = Run("slurm squeue", {"squeue", "-h", "-r", "-t", "all", "-j", Joined(ids), "-O",
                                      std::string(kSqueueFormat)});
  // With none of the ids known any more squeue says so and fails; else it lists the known.
  failure->clear();
  if (q.exit_code != 0 && q.err.find("Invalid job id") == std::string::npos) {
    *failure = FailureOf(q, "squeue");
  }
  std::map<std::string, SlurmJobRow> rows;
  for (SlurmJobRow& row : ParseSqueue(q.out)) rows[row.id] = std::move(row);
  return rows;
}

std::map<std::string, SlurmJobRow> SlurmExecutor::ReadAccounting(
    const std::vector<const Job*>& jobs, std::string* failure) {
  failure->clear();
  std::map<std::string, SlurmJobRow> rows;
  if (jobs.empty()) return rows;
  // The job completion log (no slurmdbd) knows an array's element by its own job id only.
  auto asked_as = [&](const Job& job) {
    return sacct_mode_ == 1 && !job.own_id.empty() ? job.own_id : job.id;
  };
  auto argv = [&] {
    std::vector<std::string> ids;
    for (const Job* job : jobs) ids.push_back(asked_as(*job));
    // Without slurmdbd, the job completion log (-c): ended jobs only, and no steps to leave out.
    return sacct_mode_ == 1
               ? std::vector<std::string>{"sacct", "-c",        "-n", "-P",
                                          "-j",    Joined(ids), "-o", std::string(kSacctFormat)}
               : std::vector<std::string>{"sacct", "-n",        "-P", "-X",
                                          "-j",    Joined(ids), "-o", std::string(kSacctFormat)};
  };
  ToolResult s = Run("slurm sacct", argv());
  if (s.exit_code != 0 && sacct_mode_ == 0 && s.err.find("disabled") != std::string::npos) {
    sacct_mode_ = 1;
    s = Run("slurm sacct", argv());
  }
  if (s.exit_code != 0) {
    // slurmdbd down ("Problem talking to the database: Connection refused"), a timeout: no word
    // on these jobs, which is not "not found". Its last line says why.
    *failure = FailureOf(s, "sacct");
    return rows;
  }
  std::map<std::string, SlurmJobRow> by_id;
  for (SlurmJobRow& row : ParseSacct(s.out)) by_id[row.id] = std::move(row);
  for (const Job* job : jobs) {
    if (auto row = by_id.find(asked_as(*job)); row != by_id.end()) rows[job->id] = row->second;
  }
  return rows;
}

void SlurmExecutor::Job::Tell(QueueState place, std::string why, double since, WaitResult* result) {
  if (told == place && told_reason == why) return;
  told = place;
  told_reason = why;
  result->queued.push_back({key, place, std::move(why), since});
}

bool SlurmExecutor::Track(Job* job, const SlurmJobRow& row, WaitResult* result) {
  job->missing_since = 0;
  if (!row.own_id.empty() && row.state != "PENDING") job->own_id = row.own_id;
  const bool changed = row.state != job->state || row.reason != job->reason;
  job->state = row.state;
  job->reason = row.reason;
  // Only a wait with a reason is told ("None" is the instant before the scheduler looks).
  if (job->state == "PENDING" && !job->reason.empty() && job->reason != "None") {
    job->Tell(QueueState::kPending, "pending (" + job->reason + ")", 0, result);
  }
  // Known again after rounds that could not tell, and past its start: running, told again.
  if (job->running_seen && job->state != "PENDING" && job->told == QueueState::kUnknown) {
    job->Tell(QueueState::kRunning, "running", 0, result);  // since 0: it ran all along
  }
  // Running, or over already without a round that saw it run (a short job): it started.
  if ((job->state == "RUNNING" || IsFinalJobState(job->state)) && !job->running_seen) {
    job->running_seen = true;
    const double now = WallClockSeconds();
    // Slurm's start time (to the second) when it has one not in the future; else now. Never
    // before its submission: the second is cut, not rounded.
    job->started_wall = row.started_at > 0 && row.started_at <= now ? row.started_at : now;
    job->started_wall = std::max(job->started_wall, job->submitted_wall);
    job->started_mono = MonotonicSeconds() - (now - job->started_wall);
    job->last_output_at = job->started_mono;
    if (job->told.has_value() || job->adopted) {
      job->Tell(QueueState::kRunning, "running", job->started_wall, result);
    }
  }
  return changed;
}

AttemptEnd SlurmExecutor::EndOf(const Job& job, const SlurmJobRow& row) {
  AttemptEnd end = EndBase(job);
  if (job.cancelling) {
    end.reason = job.mex_reason;  // whatever Slurm makes of mex's own scancel
    return end;
  }
  if (row.state == "VANISHED") {
    end.reason = EndReason::kLost;
    end.error = "slurm: job " + job.id + " left the queue with no final state in sacct";
    return end;
  }
  JobEnd how = EndOfJob(row);
  end.reason = how.reason;
  end.exit_code = how.exit_code;
  end.signal = how.signal;
  end.error = how.error;
  if (row.state == "NODE_FAIL" && !row.nodes.empty()) bad_nodes_[job.task].insert(row.nodes);
  // Cancelled by someone else: not the task's fault once; a second time, it is ended like a
  // process killed by SIGTERM, and classified as such.
  if (row.state == "CANCELLED" && ++outside_cancels_[job.task] > 1) {
    end.reason = EndReason::kExited;
    end.exit_code = -1;
    end.signal = SIGTERM;
    end.error.clear();
  }
  return end;
}

bool SlurmExecutor::ReadExitMarker(const Job& job, SlurmJobRow* row) const {
  // Beneath the state folder, never through a symlink nor blocking on a FIFO, as the logs.
  if (!ParseExitMarker(state_->ReadFile(BesideLog(job.log_path, ".exit")), row)) return false;
  row->id = job.id;
  return true;
}

void SlurmExecutor::Poll(double now, WaitResult* result) {
  bool changed = false;
  std::vector<std::string> ids;
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (!jobs_[i].id.empty()) {
      ids.push_back(jobs_[i].id);
    } else if (jobs_[i].cancelling) {  // withdrawn before it was submitted: over at once
      AttemptEnd end = EndBase(jobs_[i]);
      end.reason = jobs_[i].mex_reason;
      End(i--, std::move(end), result);
      changed = true;
    }
  }
  if (!ids.empty()) {
    // One squeue for all of the run's jobs; one sacct for those that left it.
    std::string queue_failure;
    std::map<std::string, SlurmJobRow> rows = ReadQueue(ids, &queue_failure);
    const bool answered = queue_failure.empty();
    std::vector<const Job*> gone;
    for (Job& job : jobs_) {
      if (job.id.empty()) continue;
      if (auto row = rows.find(job.id); row != rows.end()) {
        changed = Track(&job, row->second, result) || changed;
      } else if (!answered) {
        // Not a failure: the next round asks again. Told once, as its queue state.
        job.state = "UNKNOWN";
        job.Tell(QueueState::kUnknown,
                 std::string(kStateUnknown) + "squeue: " + queue_failure + ")", 0, result);
      } else if (!job.cancelling) {
        // A pending array element that mex scancel'ed leaves no trace: no need to ask sacct.
        gone.push_back(&job);
      }
    }
    std::string accounting_failure;
    std::map<std::string, SlurmJobRow> accounted = ReadAccounting(gone, &accounting_failure);
    for (size_t i = 0; i < jobs_.size(); ++i) {
      Job& job = jobs_[i];
      if (job.id.empty()) continue;
      SlurmJobRow row;
      if (auto r = rows.find(job.id); r != rows.end()) {
        row = r->second;
      } else if (!answered) {
        continue;
      } else if (job.cancelling) {
        row.state = "CANCELLED";  // out of the queue after mex's scancel: over
      } else if (auto a = accounted.find(job.id); a != accounted.end()) {
        row = a->second;
      } else if (ReadExitMarker(job, &row)) {
        // Out of the queue, and the accounting has no word on it (slurmdbd down; or none, and an
        // element that the completion log knows by its own id only): its script wrote how its
        // command ended. The accounting's word, when there is one, knows more (OUT_OF_MEMORY).
      } else if (!accounting_failure.empty()) {
        // Out of the queue and sacct failing (slurmdbd down): its end is unknown, not lost. The
        // wait for it to turn up starts again once sacct answers; told once, as its queue state.
        job.missing_since = 0;
        job.state = "UNKNOWN";
        job.Tell(QueueState::kUnknown,
                 std::string(kStateUnknown) + "sacct: " + accounting_failure + ")", 0, result);
        continue;
      } else {
        if (job.missing_since == 0) job.missing_since = now;
        if (now - job.missing_since < settings_.vanish_grace_s) continue;
        row.state = "VANISHED";
      }
      if (row.state != "VANISHED" && !IsFinalJobState(row.state)) continue;
      changed = true;
      End(i--, EndOf(job, row), result);
    }
  }
  // Shorter while jobs change, down to the bound; backing off while nothing does.
  interval_ = changed ? std::max(settings_.poll_min_s, interval_ / 2)
                      : std::min(settings_.poll_max_s, interval_ * 1.5);
  next_poll_ = now + interval_;
}

void SlurmExecutor::CheckLogs(double now, WaitResult* result) {
  std::vector<size_t> timed_out, stall_killed, full;
  for (size_t i = 0; i < jobs_.size(); ++i) {
    Job& job = jobs_[i];
    if (job.cancelling) continue;
    if (job.timeout_at > 0 && now >= job.timeout_at) {
      timed_out.push_back(i);
      continue;
    }
    if (!job.running_seen) continue;
    off_t size = SizeOf(job.log_path);
    if (size != job.log_size) {
      job.log_size = size;
      job.last_output_at = now;
      job.stall_reported = false;
    }
    if (job.log_limit > 0 && size >= job.log_limit) {
      full.push_back(i);
    } else if (job.stall_after_s > 0 && now - job.last_output_at >= job.stall_after_s) {
      if (job.kill_on_stall) {
        stall_killed.push_back(i);
      } else if (!job.stall_reported) {
        job.stall_reported = true;
        result->stalled.push_back(job.key);
      }
    }
  }
  if (!timed_out.empty()) BeginCancel(timed_out, EndReason::kTimedOut);
  if (!stall_killed.empty()) BeginCancel(stall_killed, EndReason::kStallKilled);
  if (!full.empty()) BeginCancel(full, EndReason::kLogFull);
}

double SlurmExecutor::NextDeadline(double now) const {
  double next = next_poll_;
  for (const Job& job : jobs_) {
    if (job.id.empty() && !job.cancelling) next = std::min(next, job.submit_at);
    if (job.cancelling) continue;
    if (job.timeout_at > 0) next = std::min(next, job.timeout_at);
    if (job.running_seen && (job.stall_after_s > 0 || job.log_limit > 0)) {
      next = std::min(next, now + 1.0);  // a stat of each running job's log, once a second
    }
  }
  return next;
}

WaitResult SlurmExecutor::Wait(double timeout_s) {
  WaitResult result;
  for (AttemptEnd& end : ended_) result.ended.push_back(std::move(end));
  ended_.clear();
  result.submitted = std::move(submitted_);
  submitted_.clear();
  result.queued = std::move(queued_);
  queued_.clear();
  const double start = MonotonicSeconds();
  const double deadline = timeout_s < 0 ? 1e300 : start + timeout_s;
  for (;;) {
    double now = MonotonicSeconds();
    SubmitDue(now, &result);
    CheckLogs(now, &result);
    if (now >= next_poll_) Poll(now, &result);
    if (!result.ended.empty() || !result.stalled.empty() || !result.queued.empty() ||
        !result.submitted.empty()) {
      return result;
    }
    if (jobs_.empty() && timeout_s < 0) return result;
    now = MonotonicSeconds();
    if (now >= deadline) return result;
    double until = std::min(deadline, NextDeadline(now));
    double wait = std::max(0.0, until - now);
    if (waiter_ == nullptr) {
      usleep(static_cast<useconds_t>(std::min(wait, 1.0) * 1e6));
      continue;
    }
    WaitResult other = waiter_->Wait(wait);
    bool any = !other.ended.empty() || !other.stalled.empty() || other.interrupt != 0;
    for (AttemptEnd& end : other.ended) result.ended.push_back(std::move(end));
    for (uint64_t key : other.stalled) result.stalled.push_back(key);
    for (WaitResult::Queued& q : other.queued) result.queued.push_back(std::move(q));
    if (result.interrupt == 0) result.interrupt = other.interrupt;
    if (any) return result;
  }
}

void SlurmExecutor::Cancel(uint64_t key) {
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (jobs_[i].key == key) BeginCancel({i}, EndReason::kCancelled);
  }
}

void SlurmExecutor::CancelAll() {
  std::vector<size_t> all;
  for (size_t i = 0; i < jobs_.size(); ++i) all.push_back(i);
  if (!all.empty()) BeginCancel(all, EndReason::kCancelled);
}

void SlurmExecutor::KillAll() {
  std::vector<std::string> argv{"scancel", "--signal=KILL", "--full"};
  for (const Job& job : jobs_) {
    if (!job.id.empty()) argv.push_back(job.id);
  }
  CancelAll();
  if (argv.size() > 3) Run("slurm scancel", std::move(argv));
}

std::map<uint64_t, std::string> SlurmExecutor::Pending() const {
  std::map<uint64_t, std::string> pending;
  for (const Job& job : jobs_) {
    if (job.state == "PENDING" || job.state == "SUBMIT_WAIT") pending[job.key] = job.reason;
  }
  return pending;
}

const std::vector<NamedJob>& SlurmExecutor::RunQueue(double wait_s) {
  if (!run_queue_read_) {
    run_queue_read_ = true;
    // -r: an array's elements one by one ("123_4"), so that one followed is told from the rest;
    // -t all: those that ended while mex was away too (squeue keeps them for MinJobAge). Asked
    // again for `wait_s` while the controller does not answer (a restart): a job it would not
    // list would be submitted a second time.
    const double until = MonotonicSeconds() + wait_s;
    for (;;) {
      ToolResult mine =
          Run("slurm squeue", {"squeue", "-h", "-r", "-t", "all", "--me", "-o", "%i|%j|%T"});
      if (mine.exit_code == 0 || MonotonicSeconds() >= until) {
        run_queue_ = ParseJobNames(mine.out, "mex." + settings_.run_id + ".");
        break;
      }
      usleep(1000000);
    }
  }
  return run_queue_;
}

const std::string& SlurmExecutor::ArrayScriptOf(const std::string& name) {
  auto [it, added] = array_scripts_.emplace(name, "");
  const std::string prefix = "mex." + settings_.run_id + ".@array.";
  if (added && name.starts_with(prefix)) {
    it->second =
        state_->ReadFile(settings_.array_dir + "/" + name.substr(prefix.size()) + ".sbatch");
  }
  return it->second;
}

ProcessRef SlurmExecutor::Adopt(const ProcessRef& ref, const AttemptSpec& spec) {
  Job job;
  job.key = spec.key;
  job.task = spec.job.name;
  job.name = JobName(spec.job.name, spec.job.attempt);
  job.id = JobIdOf(ref);
  if (ref.start_time > 0) job.array_index = static_cast<int>(ref.start_time - 1);
  ProcessRef followed = ref;
  if (job.id.empty()) {
    // Submitted just before the kill, its id not recorded: its name says whose it is, or, for an
    // array's element, its array's script does.
    for (const NamedJob& queued : RunQueue(kQueueListWait)) {
      const size_t bar = queued.id.find('_');
      int index = -1;
      if (bar == std::string::npos) {
        if (queued.name != job.name) continue;
      } else {
        index = ArrayElementOf(ArrayScriptOf(queued.name), spec.log_path);
        if (index < 0 || queued.id.substr(bar + 1) != std::to_string(index)) continue;
      }
      job.id = queued.id;
      job.array_index = index;
      followed = ProcessRef{.pgid = std::stoll(queued.id.substr(0, bar)),
                            .start_time = static_cast<uint64_t>(index + 1),
                            .boot_id = std::string(ProcessRef::kJobMark)};
      break;
    }
    if (job.id.empty()) return {};
  }
  job.log_path = spec.log_path;
  job.stall_after_s = spec.stall_after_s;
  job.kill_on_stall = spec.kill_on_stall;
  job.log_limit = static_cast<off_t>(spec.log_limit_bytes);
  job.log_size = SizeOf(spec.log_path);
  const double now = MonotonicSeconds();
  if (spec.timeout_s > 0) job.timeout_at = now + spec.timeout_s;
  job.last_output_at = now;
  // Until the next poll, at once. Its wait is told as any job's: pending with a reason, then
  // running. Running at the first look too: it may have waited while mex was away (pending at the
  // kill, started since), and its start moves the attempt's start off its submission (for one
  // that ran before the kill, to where the killed session had it, within Slurm's second).
  job.state = "UNKNOWN";
  job.adopted = true;
  jobs_.push_back(std::move(job));
  next_poll_ = 0;
  return followed;
}

int SlurmExecutor::EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) {
  std::set<std::string> followed;
  for (const Job& job : jobs_) followed.insert(job.id);
  std::set<std::string> ids;
  bool unrecorded = false;
  for (const ProcessRef& ref : leftovers) {
    unrecorded = unrecorded || ref.empty();
    if (std::string id = JobIdOf(ref); !id.empty() && !followed.contains(id)) ids.insert(id);
  }
  // Submitted just before a kill, before its id was recorded: found by its name (an array's
  // elements one by one: the array of a followed element is not cancelled whole), and so is a
  // job of the run that no attempt claims. The controller is waited for only when an attempt
  // was left unrecorded: else a session does not wait on a controller that does not answer.
  for (const NamedJob& queued : RunQueue(unrecorded ? kQueueListWait : 0)) {
    if (!followed.contains(queued.id) && !IsFinalJobState(queued.state)) ids.insert(queued.id);
  }
  run_queue_.clear();
  run_queue_read_ = false;
  array_scripts_.clear();
  if (ids.empty()) return 0;
  std::vector<std::string> list(ids.begin(), ids.end());
  std::vector<std::string> argv{"scancel"};
  argv.insert(argv.end(), list.begin(), list.end());
  Run("slurm scancel", std::move(argv));
  // Until none of them is queued or running any more (KillWait after the SIGTERM, and a margin).
  int ended = 0;
  const double deadline = MonotonicSeconds() + grace_s + 30;
  while (MonotonicSeconds() < deadline) {
    ToolResult q = Run("slurm squeue", {"squeue", "-h", "-r", "-j", Joined(list), "-o", "%i"});
    ended = static_cast<int>(list.size());
    if (q.exit_code == 0 && q.out.empty()) break;
    if (q.exit_code != 0 && q.err.find("Invalid job id") != std::string::npos) break;
    usleep(200000);
  }
  return ended;
}

}  // namespace mex
