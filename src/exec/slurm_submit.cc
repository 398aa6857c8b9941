// How SlurmExecutor submits: an attempt's sbatch options, its job script and log made before
// Slurm sees it, one sbatch per job or per job array, and the controller's back-pressure.
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <map>

#include "exec/slurm_executor.h"
#include "util/clock.h"
#include "util/unique_fd.h"

namespace mex {
namespace {

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

}  // namespace

std::string SlurmExecutor::JobName(const std::string& task, int attempt) const {
  return "mex." + settings_.run_id + "." + JobNamePart(task) + "." + std::to_string(attempt);
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
  job.name = JobName(spec.job.name, spec.job.attempt);
  job.log_path = spec.log_path;
  job.script_path = BesideLog(spec.log_path, ".sbatch");
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
  // An exit marker there already is an earlier job's (attempt numbers do not repeat within a
  // run, so this is a guard only): Poll would take it for this job's end.
  state_->RemoveFile(BesideLog(spec.log_path, ".exit"), &err);
  job.own_args = OwnArgs(spec, job);
  job.shared_args = SharedArgs(spec, job);
  job.submit_at = now;
  jobs_.push_back(std::move(job));
  // With arrays, the next Wait submits it with the others of this turn: its ref comes then.
  if (settings_.arrays) return ProcessRef{};
  WaitResult submitted;
  SubmitDue(now, &submitted);
  for (AttemptEnd& end : submitted.ended) ended_.push_back(std::move(end));
  for (WaitResult::Queued& q : submitted.queued) queued_.push_back(std::move(q));
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
  // Once a submit limit refused a group, the others of this turn with the same options would be
  // refused too: they wait as long as it does, without an sbatch each.
  std::map<std::vector<std::string>, size_t> limited;  // by options: a refused job
  for (const std::vector<size_t>& group : groups) {
    const Job& first = jobs_[group[0]];
    if (auto hit = limited.find(first.shared_args); hit != limited.end()) {
      const Job& like = jobs_[hit->second];
      for (size_t i : group) {
        Job& job = jobs_[i];
        job.submit_at = like.submit_at;
        job.state = like.state;
        job.reason = like.reason;
        job.refusals = like.refusals;
        TellRefusal(&job, result);
      }
      continue;
    }
    Submit(group, now, result, &refused);
    if (first.state == "SUBMIT_WAIT" && IsSubmitLimit(first.reason)) {
      limited.emplace(first.shared_args, group[0]);
    }
  }
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
    // Taken: an array cap a submit limit lowered grows back, from plain jobs too (a cap of 1
    // makes no arrays, so only they can raise it again).
    if (max_array_size_ > 1) {
      array_cap_ =
          std::min(std::max<size_t>(2, array_cap_ * 2), static_cast<size_t>(max_array_size_));
    }
    return;
  }
  std::string why = r.err.empty() ? r.out : r.err;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  if (r.timed_out || IsSubmitBackPressure(why)) {
    // Back-pressure: the tasks stay queued here, their attempts not spent; later, jittered. An
    // array counts as one job per element against a submit limit (measured: MaxSubmitJobs=2
    // takes an array of 2, refuses one of 4): the next is half as big, and soon, so that the
    // free room is found in a few sbatch calls; only a plain job refused backs off further.
    const bool halved = array && IsSubmitLimit(why);
    if (halved) array_cap_ = std::max<size_t>(1, group.size() / 2);
    double delay = std::min(kRefusalMaxDelay, kRefusalDelay * std::pow(2.0, halved ? 0 : refusals));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const double at = now + delay * jitter(rng_);
    for (size_t i : group) {
      Job& job = jobs_[i];
      job.sbatch_timed_out = r.timed_out;
      job.submit_at = at;
      job.state = "SUBMIT_WAIT";
      job.reason = why.substr(0, why.find('\n'));
      if (!halved) ++job.refusals;
      TellRefusal(&job, result);
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

void SlurmExecutor::TellRefusal(Job* job, WaitResult* result) {
  // "waiting to submit (QOSMaxSubmitJobPerUserLimit)": where it waits, in the events and in
  // `mex status`, once per reason; the queue's own reason or "running" follows once submitted.
  std::string reason = job->reason;
  if (reason.starts_with("sbatch: error: ")) reason.erase(0, 15);
  if (job->sbatch_timed_out) reason = "sbatch timed out";
  job->Tell(QueueState::kSubmitWait, "waiting to submit (" + reason + ")", 0, result);
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

}  // namespace mex
