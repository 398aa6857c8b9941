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
// Back-pressure: the first wait before submitting again, and the bound.
constexpr double kRefusalDelay = 2;
constexpr double kRefusalMaxDelay = 60;

std::string JobNamePart(std::string_view text) {
  std::string part;
  for (char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
    part += plain ? c : '_';
  }
  return part;
}

// `path` as sbatch's --output takes it: '%' starts a pattern there (%j: the job id), "%%" is '%'.
std::string OutputPattern(std::string_view path) {
  std::string pattern;
  for (char c : path) pattern += c == '%' ? "%%" : std::string(1, c);
  return pattern;
}

// A comment on one line: sbatch keeps it as given, squeue prints it as it is.
std::string OneLine(std::string_view text) {
  std::string line(text);
  std::replace_if(
      line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return line;
}

std::string Joined(const std::vector<std::string>& ids) {
  std::string text;
  for (const std::string& id : ids) text += (text.empty() ? "" : ",") + id;
  return text;
}

// `path` with ".log" replaced by `suffix`.
std::string Beside(const std::string& path, std::string_view suffix) {
  std::string base = path.ends_with(".log") ? path.substr(0, path.size() - 4) : path;
  return base + std::string(suffix);
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

std::vector<std::string> SlurmExecutor::OwnArgs(const AttemptSpec& spec, const Job& job) const {
  std::vector<std::string> a = {
      "--job-name=" + job.name, "--output=" + OutputPattern(spec.log_path),
      "--error=" + OutputPattern(spec.log_path), "--open-mode=append", "--chdir=" + spec.cwd};
  if (!spec.job.title.empty()) a.push_back("--comment=" + OneLine(spec.job.title));
  return a;
}

std::vector<std::string> SlurmExecutor::SharedArgs(const AttemptSpec& spec, const Job& job) const {
  // The script sets the whole environment itself (env -i). ALL, because NONE (and NIL) make the
  // node load the user's login environment first: 60 short jobs took 10.5 s with NONE, 2.6-5 s
  // with ALL on the local cluster.
  std::vector<std::string> a = {"--export=ALL"};
  if (!settings_.partition.empty()) a.push_back("--partition=" + settings_.partition);
  if (!settings_.account.empty()) a.push_back("--account=" + settings_.account);
  if (!settings_.qos.empty()) a.push_back("--qos=" + settings_.qos);
  if (spec.job.cpus > 0) a.push_back("--cpus-per-task=" + std::to_string(spec.job.cpus));
  if (spec.job.mem_mb > 0) a.push_back("--mem=" + std::to_string(spec.job.mem_mb) + "M");
  if (spec.job.time_s > 0) {
    a.push_back("--time=" + std::to_string(static_cast<long>(std::ceil(spec.job.time_s / 60))));
  }
  if (spec.job.gpus > 0) a.push_back("--gpus=" + std::to_string(spec.job.gpus));
  if (auto bad = bad_nodes_.find(job.task); bad != bad_nodes_.end() && !bad->second.empty()) {
    std::string nodes;
    for (const std::string& node : bad->second) nodes += (nodes.empty() ? "" : ",") + node;
    a.push_back("--exclude=" + nodes);
  }
  a.insert(a.end(), settings_.args.begin(), settings_.args.end());
  return a;
}

ProcessRef SlurmExecutor::Start(const AttemptSpec& spec) {
  Job job;
  job.key = spec.key;
  job.task = spec.job.name;
  job.name = "mex." + settings_.run_id + "." + JobNamePart(spec.job.name) + "." +
             std::to_string(spec.job.attempt);
  job.log_path = spec.log_path;
  job.script_path = Beside(spec.log_path, ".sbatch");
  job.stall_after_s = spec.stall_after_s;
  job.kill_on_stall = spec.kill_on_stall;
  job.log_limit = static_cast<off_t>(spec.log_limit_bytes);
  const double now = MonotonicSeconds();
  if (spec.timeout_s > 0) job.timeout_at = now + spec.timeout_s;
  job.last_output_at = now;
  auto fail = [&](int err_no, std::string error) {
    AttemptEnd end = EndBase(job);
    end.reason = EndReason::kSpawnFailed;
    end.spawn_errno = err_no;
    end.error = std::move(error);
    ended_.push_back(std::move(end));
    return ProcessRef{};
  };
  if (spec.argv.empty()) return fail(EINVAL, "nothing to run");
  if (spec.argv[0].find('=') != std::string::npos) {
    return fail(EINVAL, "a job's program cannot have '=' in its name: " + spec.argv[0]);
  }
  // The log is made here, 0600 and never through a symlink, before Slurm appends to it; the
  // script beside it, 0700.
  std::string err;
  UniqueFd log = state_->OpenFile(spec.log_path, O_WRONLY | O_CREAT | O_APPEND, 0600, &err);
  if (!log.valid()) return fail(errno ? errno : EIO, err);
  if (!state_->WriteAtomically(job.script_path, BatchScript(spec), &err,
                               WriteOptions{.sync = false, .mode = 0700})) {
    return fail(errno ? errno : EIO, err);
  }
  job.own_args = OwnArgs(spec, job);
  job.shared_args = SharedArgs(spec, job);
  job.submit_at = now;
  jobs_.push_back(std::move(job));
  // With arrays, the next Wait submits it with the others of this turn: its ref comes then.
  if (settings_.arrays) return ProcessRef{};
  WaitResult submitted;
  SubmitDue(now, &submitted);
  for (AttemptEnd& end : submitted.ended) ended_.push_back(std::move(end));
  ProcessRef ref;
  for (WaitResult::Submitted& s : submitted.submitted) {
    if (s.key == spec.key) {
      ref = s.process;
    } else {
      submitted_.push_back(std::move(s));
    }
  }
  return ref;
}

size_t SlurmExecutor::ArrayCap() {
  if (max_array_size_ < 0) {
    ToolResult config = Run("slurm scontrol", {"scontrol", "show", "config"});
    max_array_size_ = config.exit_code == 0 ? ParseMaxArraySize(config.out) : -1;
    if (max_array_size_ < 0) max_array_size_ = 1001;  // Slurm's default
    array_cap_ = static_cast<size_t>(max_array_size_);
  }
  return arrays_refused_ ? 0 : array_cap_;
}

void SlurmExecutor::SubmitDue(double now, WaitResult* result) {
  std::vector<size_t> due;
  std::map<std::string, std::string> found;  // by job name: the id squeue knows it by, or ""
  for (size_t i = 0; i < jobs_.size(); ++i) {
    Job& job = jobs_[i];
    if (!job.id.empty() || job.cancelling || job.submit_at > now) continue;
    if (job.sbatch_timed_out) {
      // The controller may have taken the job (or its array) although sbatch gave up waiting
      // for its answer: found by its name, it is not submitted twice.
      auto look = found.find(job.submitted_as);
      if (look == found.end()) {
        ToolResult q =
            Run("slurm squeue", {"squeue", "-h", "--me", "-n", job.submitted_as, "-o", "%F"});
        if (q.exit_code != 0) {
          job.submit_at = now + kRefusalDelay;
          continue;
        }
        look = found.emplace(job.submitted_as, ParseSbatchJobId(q.out)).first;
      }
      if (!look->second.empty()) {
        MarkSubmitted(&job, look->second, now, result);
        continue;
      }
      job.sbatch_timed_out = false;
    }
    due.push_back(i);
  }
  // The groups to submit: each job alone, or, with arrays, those with the same shared options
  // together, as many as an array may hold.
  std::vector<std::vector<size_t>> groups;
  if (settings_.arrays && due.size() > 1 && ArrayCap() > 1) {
    std::map<std::vector<std::string>, size_t> by_options;  // the group being filled
    for (size_t i : due) {
      auto [it, added] = by_options.emplace(jobs_[i].shared_args, groups.size());
      if (!added && groups[it->second].size() >= ArrayCap()) {
        it->second = groups.size();
        added = true;
      }
      if (added) groups.emplace_back();
      groups[it->second].push_back(i);
    }
  } else {
    for (size_t i : due) groups.push_back({i});
  }
  std::vector<std::pair<uint64_t, std::string>> refused;
  for (const std::vector<size_t>& group : groups) Submit(group, now, result, &refused);
  for (auto& [key, why] : refused) {
    for (size_t i = 0; i < jobs_.size(); ++i) {
      if (jobs_[i].key != key) continue;
      AttemptEnd end = EndBase(jobs_[i]);
      end.reason = EndReason::kSpawnFailed;
      end.spawn_errno = EINVAL;
      end.error = std::move(why);
      End(i, std::move(end), result);
      break;
    }
  }
}

void SlurmExecutor::Submit(const std::vector<size_t>& group, double now, WaitResult* result,
                           std::vector<std::pair<uint64_t, std::string>>* refused) {
  const bool array = group.size() > 1;
  std::vector<std::string> argv;
  std::string name;
  if (array) {
    std::string err;
    if (!ArrayArgv(group, &argv, &name, &err)) {
      for (size_t i : group) refused->emplace_back(jobs_[i].key, err);
      return;
    }
  } else {
    const Job& job = jobs_[group[0]];
    argv = {"sbatch", "--parsable"};
    argv.insert(argv.end(), job.own_args.begin(), job.own_args.end());
    argv.insert(argv.end(), job.shared_args.begin(), job.shared_args.end());
    argv.push_back(job.script_path);
    name = job.name;
  }
  ToolResult r = Run("slurm sbatch", std::move(argv));
  const std::string id = r.exit_code == 0 ? ParseSbatchJobId(r.out) : "";
  int refusals = 0;
  for (size_t n = 0; n < group.size(); ++n) {
    Job& job = jobs_[group[n]];
    job.submitted_as = name;
    job.array_index = array ? static_cast<int>(n) : -1;
    refusals = std::max(refusals, job.refusals);
  }
  if (!id.empty()) {
    for (size_t i : group) MarkSubmitted(&jobs_[i], id, now, result);
    // Taken: an array cap a submit limit lowered grows back.
    if (array) array_cap_ = std::min(array_cap_ * 2, static_cast<size_t>(max_array_size_));
    return;
  }
  std::string why = r.err.empty() ? r.out : r.err;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  if (r.timed_out || IsSubmitBackPressure(why)) {
    // Back-pressure: the tasks stay queued here, their attempts not spent; later, jittered. An
    // array counts as many jobs against a submit limit: the next ones are smaller.
    if (array && IsSubmitLimit(why)) array_cap_ = std::max<size_t>(1, group.size() / 2);
    double delay = std::min(kRefusalMaxDelay, kRefusalDelay * std::pow(2.0, refusals));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const double at = now + delay * jitter(rng_);
    for (size_t i : group) {
      Job& job = jobs_[i];
      job.sbatch_timed_out = r.timed_out;
      job.submit_at = at;
      job.state = "SUBMIT_WAIT";
      job.reason = why.substr(0, why.find('\n'));
      ++job.refusals;
    }
    return;
  }
  if (array) {
    // Refused as an array (a site that does not allow them, say): each goes as a plain job, now.
    arrays_refused_ = true;
    for (size_t i : group) Submit({i}, now, result, refused);
    return;
  }
  refused->emplace_back(jobs_[group[0]].key, "sbatch refused the job: " + why);
}

bool SlurmExecutor::ArrayArgv(const std::vector<size_t>& group, std::vector<std::string>* argv,
                              std::string* name, std::string* err) {
  const Job& first = jobs_[group[0]];
  // "mex.RUN.@array.TASK.ATTEMPT" after its first element: it marks the run, and no task's job
  // has an '@' in its name.
  const std::string run_marker = "mex." + settings_.run_id + ".";
  const std::string after = first.name.substr(run_marker.size());
  *name = run_marker + "@array." + after;
  std::vector<ArrayElement> elements;
  std::string comment = std::to_string(group.size()) + " tasks:";
  for (size_t i : group) {
    elements.push_back({jobs_[i].script_path, jobs_[i].log_path});
    if (comment.size() < 200) comment += " " + jobs_[i].task;
  }
  if (comment.size() >= 200) comment += " ...";
  const std::string script = settings_.array_dir + "/" + after + ".sbatch";
  if (!state_->MakeFolders(settings_.array_dir, err) ||
      !state_->WriteAtomically(script, ArrayScript(elements), err,
                               WriteOptions{.sync = false, .mode = 0700})) {
    *err = "cannot write the script of a job array: " + *err;
    return false;
  }
  std::string range = "--array=0-" + std::to_string(group.size() - 1);
  if (settings_.array_limit > 0) range += "%" + std::to_string(settings_.array_limit);
  // Each element's output goes to its attempt's log (the script redirects it); what Slurm itself
  // would write to the array's, nowhere.
  *argv = {"sbatch",
           "--parsable",
           range,
           "--job-name=" + *name,
           "--output=/dev/null",
           "--error=/dev/null",
           "--chdir=" + settings_.array_dir,
           "--comment=" + OneLine(comment)};
  argv->insert(argv->end(), first.shared_args.begin(), first.shared_args.end());
  argv->push_back(script);
  return true;
}

void SlurmExecutor::MarkSubmitted(Job* job, const std::string& id, double now, WaitResult* result) {
  job->id = job->array_index >= 0 ? id + "_" + std::to_string(job->array_index) : id;
  job->submitted_wall = WallClockSeconds();
  job->state = "PENDING";
  job->refusals = 0;
  job->sbatch_timed_out = false;
  next_poll_ = std::min(next_poll_, now + 1);  // the scheduler's tick
  result->submitted.push_back(
      {job->key, ProcessRef{.pgid = std::stoll(id),
                            .start_time = static_cast<uint64_t>(job->array_index + 1),
                            .boot_id = std::string(ProcessRef::kJobMark)}});
}

void SlurmExecutor::End(size_t index, AttemptEnd end, WaitResult* result) {
  result->ended.push_back(std::move(end));
  jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(index));
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
                                                            bool* answered) {
  // -r: an array's pending elements one per line, not folded into one ("123_[5-9]").
  ToolResult q = Run("slurm squeue", {"squeue", "-h", "-r", "-t", "all", "-j", Joined(ids), "-O",
                                      std::string(kSqueueFormat)});
  // With none of the ids known any more squeue says so and fails; else it lists the known.
  *answered = q.exit_code == 0 || q.err.find("Invalid job id") != std::string::npos;
  std::map<std::string, SlurmJobRow> rows;
  for (SlurmJobRow& row : ParseSqueue(q.out)) rows[row.id] = std::move(row);
  return rows;
}

std::map<std::string, SlurmJobRow> SlurmExecutor::ReadAccounting(
    const std::vector<const Job*>& jobs) {
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
  std::map<std::string, SlurmJobRow> by_id;
  for (SlurmJobRow& row : ParseSacct(s.out)) by_id[row.id] = std::move(row);
  for (const Job* job : jobs) {
    if (auto row = by_id.find(asked_as(*job)); row != by_id.end()) rows[job->id] = row->second;
  }
  return rows;
}

bool SlurmExecutor::Track(Job* job, const SlurmJobRow& row, WaitResult* result) {
  job->missing_since = 0;
  if (!row.own_id.empty() && row.state != "PENDING") job->own_id = row.own_id;
  const bool changed = row.state != job->state || row.reason != job->reason;
  job->state = row.state;
  job->reason = row.reason;
  // Only a wait with a reason is told ("None" is the instant before the scheduler looks).
  if (job->state == "PENDING" && !job->reason.empty() && job->reason != "None" &&
      job->reason != job->told_reason) {
    job->told_reason = job->reason;
    result->queued.push_back({job->key, "pending (" + job->reason + ")", 0});
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
    if (!job->told_reason.empty()) {
      result->queued.push_back({job->key, "running", job->started_wall});
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
    bool answered = false;
    std::map<std::string, SlurmJobRow> rows = ReadQueue(ids, &answered);
    std::vector<const Job*> gone;
    for (Job& job : jobs_) {
      if (job.id.empty()) continue;
      if (auto row = rows.find(job.id); row != rows.end()) {
        changed = Track(&job, row->second, result) || changed;
      } else if (!answered) {
        job.state = "UNKNOWN";  // not a failure: the next round asks again
      } else if (!job.cancelling) {
        // A pending array element that mex scancel'ed leaves no trace: no need to ask sacct.
        gone.push_back(&job);
      }
    }
    std::map<std::string, SlurmJobRow> accounted = ReadAccounting(gone);
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

int SlurmExecutor::EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) {
  std::set<std::string> ids;
  for (const ProcessRef& ref : leftovers) {
    if (!ref.is_job() || ref.pgid <= 0) continue;
    std::string id = std::to_string(ref.pgid);
    if (ref.start_time > 0) id += "_" + std::to_string(ref.start_time - 1);  // an array's element
    ids.insert(id);
  }
  // Submitted just before a kill, before its id was recorded: found by its name. %F: an array's
  // id (its pending elements fold into one line), a plain job's own.
  const std::string marker = "mex." + settings_.run_id + ".";
  ToolResult mine = Run("slurm squeue", {"squeue", "-h", "--me", "-o", "%F|%j"});
  for (std::string_view out = mine.out; !out.empty();) {
    size_t nl = out.find('\n');
    std::string_view line = out.substr(0, nl);
    size_t bar = line.find('|');
    if (bar != std::string_view::npos && line.substr(bar + 1).starts_with(marker)) {
      ids.insert(std::string(line.substr(0, bar)));
    }
    if (nl == std::string_view::npos) break;
    out.remove_prefix(nl + 1);
  }
  if (ids.empty()) return 0;
  std::vector<std::string> list(ids.begin(), ids.end());
  std::vector<std::string> argv{"scancel"};
  argv.insert(argv.end(), list.begin(), list.end());
  Run("slurm scancel", std::move(argv));
  // Until none of them is queued or running any more (KillWait after the SIGTERM, and a margin).
  int ended = 0;
  const double deadline = MonotonicSeconds() + grace_s + 30;
  while (MonotonicSeconds() < deadline) {
    ToolResult q = Run("slurm squeue", {"squeue", "-h", "-j", Joined(list), "-o", "%i"});
    ended = static_cast<int>(list.size());
    if (q.exit_code == 0 && q.out.empty()) break;
    if (q.exit_code != 0 && q.err.find("Invalid job id") != std::string::npos) break;
    usleep(200000);
  }
  return ended;
}

}  // namespace mex
