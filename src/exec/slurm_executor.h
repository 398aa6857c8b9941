// Runs attempts as jobs of a Slurm cluster: each attempt one `sbatch --parsable` of a script mex
// writes (argv and environment quoted, never shell code), or, with `arrays`, the attempts of one
// turn that ask for the same resources as the elements of one job array; all of a run's jobs
// followed by one `squeue` per poll round (and one `sacct` for those that left it), cancelled by
// one `scancel` for many. docs/slurm.md says what it asks of the controller.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/executor.h"
#include "exec/slurm_parse.h"
#include "util/folder.h"

namespace mex {

struct SlurmSettings {
  std::string run_id;  // in every job's name: "mex.RUN_ID.TASK.ATTEMPT"
  std::string partition;
  std::string account;
  std::string qos;
  std::vector<std::string> args;  // more sbatch options, as given
  // Attempts due in the same turn with the same sbatch options but their own name, log and
  // script go as one job array (`--array=0-N`, split at MaxArraySize), `%array_limit` of its
  // elements running at once when > 0. Their scripts are written in `array_dir`.
  bool arrays = false;
  int array_limit = 0;
  std::string array_dir;
  // The bounds of the poll interval: short while jobs change, backing off to the longest while
  // nothing does.
  double poll_min_s = 0.5;
  double poll_max_s = 5;
  // How long a job may be gone from squeue without a final state in sacct before it is lost.
  double vanish_grace_s = 15;
};

// What one run of a Slurm command gave.
struct ToolResult {
  int exit_code = -1;  // -1: it could not run, or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

class SlurmExecutor : public Executor {
 public:
  // `waiter` is the executor whose Wait sleeps between poll rounds (the local one): it returns
  // on SIGINT and SIGTERM and on its own attempts' ends, which this Wait passes on with its own.
  // Job scripts and logs are made beneath `state` (never through a symlink). REQUIRES: `state`
  // is not null and holds the attempts' log paths.
  SlurmExecutor(const Folder* state, Executor* waiter, SlurmSettings settings);
  // Cancels what is still queued or running.
  ~SlurmExecutor() override;
  SlurmExecutor(const SlurmExecutor&) = delete;
  SlurmExecutor& operator=(const SlurmExecutor&) = delete;

  // Why jobs cannot be submitted ("" when they can): sbatch and squeue not found, no controller
  // answering, or a run folder the nodes cannot write to.
  std::string Check(const std::string& run_dir);

  ProcessRef Start(const AttemptSpec& spec) override;
  WaitResult Wait(double timeout_s) override;
  void Cancel(uint64_t key) override;
  void CancelAll() override;
  void KillAll() override;
  size_t running() const override { return jobs_.size() + ended_.size(); }
  bool Has(uint64_t key) const;
  // Follows a job of the run that an earlier, killed mex submitted: by its recorded id (an array's
  // element by its array's id and index), or, unrecorded, by its name: the attempt's own
  // "mex.RUN.TASK.ATTEMPT" for a plain job; for an element, its array's name, and its index
  // from the array's script (the line that appends to the attempt's log). The polls then find
  // it in squeue, or ended in sacct, or lost (kLost) when neither knows it within
  // vanish_grace_s. Returns its ref, empty when it has no recorded id and none of the run's jobs
  // that squeue still lists is its.
  ProcessRef Adopt(const ProcessRef& ref, const AttemptSpec& spec) override;
  // Cancels the jobs of the run that an earlier, killed mex left queued or running and that this
  // one does not follow: those whose ids it recorded, and those whose name marks this run
  // (submitted but not yet recorded).
  int EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) override;

  // The reason Slurm gives for each queued job ("Resources", "Priority"), by attempt key.
  std::map<uint64_t, std::string> Pending() const;

 private:
  struct Job {
    uint64_t key = 0;
    std::string id;      // "" until submitted; "123", or "123_4" for an element of a job array
    std::string own_id;  // an array element's own job id, once squeue showed it running
    std::string name;
    std::string task;  // the task's id, for its nodes to exclude on retry
    std::string log_path;
    std::string script_path;
    std::vector<std::string> own_args;     // its name, log, folder and comment
    std::vector<std::string> shared_args;  // the rest: an array's elements share them
    double submit_at = 0;                  // monotonic: when to (re)submit, while id is ""
    int refusals = 0;                      // back-pressure refusals in a row
    bool sbatch_timed_out = false;         // the last sbatch gave no answer: look before submitting
    std::string submitted_as;              // the job name of its last sbatch (its array's)
    int array_index = -1;                  // its element in that sbatch's array; -1: a plain job
    std::string state = "SUBMITTING";
    std::string reason;
    // Its place in the queue as last told in a WaitResult (none yet: nothing told), and why.
    std::optional<QueueState> told;
    std::string told_reason;
    // Adopt()ed from a killed session: its start is told ("running", with its wait) at the first
    // look that sees it run, though this session told nothing of it before.
    bool adopted = false;
    bool running_seen = false;
    double submitted_wall = 0;
    double started_wall = 0;
    double started_mono = 0;
    double timeout_at = 0;  // monotonic; 0: none
    double stall_after_s = 0;
    bool kill_on_stall = false;
    bool stall_reported = false;
    off_t log_size = 0;
    off_t log_limit = 0;
    double last_output_at = 0;
    bool cancelling = false;  // mex scancel'ed it: its end is `mex_reason`
    EndReason mex_reason = EndReason::kCancelled;
    double missing_since = 0;  // monotonic: gone from squeue, not yet found by sacct

    // Tells its place in the queue in `result`, unless that is what was told last.
    void Tell(QueueState place, std::string reason, double since, WaitResult* result);
  };

  ToolResult Run(const char* metric, std::vector<std::string> argv);
  // "mex.RUN_ID.TASK.ATTEMPT": the name of an attempt's own job.
  std::string JobName(const std::string& task, int attempt) const;
  // The run's jobs that squeue lists, ended ones included (an array's elements one by one), read
  // once per session start; asked again for up to `wait_s` while squeue fails.
  const std::vector<NamedJob>& RunQueue(double wait_s);
  // The script of the job array named `name` ("mex.RUN.@array.TASK.N": arrays/TASK.N.sbatch),
  // read once; "" when it cannot be read.
  const std::string& ArrayScriptOf(const std::string& name);
  // The sbatch options of an attempt that are its own: its job's name, log, folder, comment.
  std::vector<std::string> OwnArgs(const AttemptSpec& spec, const Job& job) const;
  // The others: the milestone's slurm: settings, the resources, the nodes to avoid.
  std::vector<std::string> SharedArgs(const AttemptSpec& spec, const Job& job) const;
  // Submits the jobs due, those with the same shared options as one array when `arrays`;
  // back-pressure leaves them queued with a jittered backoff.
  void SubmitDue(double now, WaitResult* result);
  // One sbatch for the jobs at `group` (indices into jobs_): a plain job for one, else an array.
  // Jobs sbatch refused for good are added to `refused` with why.
  void Submit(const std::vector<size_t>& group, double now, WaitResult* result,
              std::vector<std::pair<uint64_t, std::string>>* refused);
  // Tells once per reason, as `job`'s queue state, that sbatch refused it for back-pressure.
  void TellRefusal(Job* job, WaitResult* result);
  // The sbatch command line of the array of `group`, its job's name; false with why when its
  // script cannot be written.
  bool ArrayArgv(const std::vector<size_t>& group, std::vector<std::string>* argv,
                 std::string* name, std::string* err);
  // Records that `job` is in Slurm's hands as job `id` (its element, in an array).
  void MarkSubmitted(Job* job, const std::string& id, double now, WaitResult* result);
  // The most elements an array may have: MaxArraySize, read once from `scontrol show config`,
  // lowered after a submit limit refused an array; 0 or 1: no arrays.
  size_t ArrayCap();
  // One poll round: the queue's word on every job of the run, the accounting's on those that
  // left the queue, and the ends they make.
  void Poll(double now, WaitResult* result);
  // The rows squeue gives for `ids`; `failure` says why it gave none ("" when it answered).
  std::map<std::string, SlurmJobRow> ReadQueue(const std::vector<std::string>& ids,
                                               std::string* failure);
  // sacct of `jobs` (with -c when there is no slurmdbd), by their ids. *failure: why sacct gave
  // no answer (slurmdbd down, say), "" when it answered.
  std::map<std::string, SlurmJobRow> ReadAccounting(const std::vector<const Job*>& jobs,
                                                    std::string* failure);
  // Takes the queue's row of a job in: its state, and what to tell of its wait. Returns whether
  // its state or reason changed.
  bool Track(Job* job, const SlurmJobRow& row, WaitResult* result);
  // How `job`'s command ended, from the exit marker its script wrote beside its log (BatchScript);
  // false when there is none: the command runs still, or the job was killed whole.
  bool ReadExitMarker(const Job& job, SlurmJobRow* row) const;
  // The end of a job in a final state (or "VANISHED").
  AttemptEnd EndOf(const Job& job, const SlurmJobRow& row);
  void CheckLogs(double now, WaitResult* result);
  void End(size_t index, AttemptEnd end, WaitResult* result);
  AttemptEnd EndBase(const Job& job) const;
  void BeginCancel(const std::vector<size_t>& indices, EndReason reason);
  Job* Find(uint64_t key);
  double NextDeadline(double now) const;

  const Folder* state_;
  Executor* waiter_;
  SlurmSettings settings_;
  std::vector<Job> jobs_;
  std::vector<AttemptEnd> ended_;                 // ended outside a Wait (a refused submission)
  std::vector<WaitResult::Submitted> submitted_;  // submitted outside a Wait, for the next one
  std::vector<WaitResult::Queued> queued_;        // refused outside a Wait: told in the next one
  std::map<std::string, std::set<std::string>> bad_nodes_;  // by task: NODE_FAIL'ed nodes
  std::map<std::string, int> outside_cancels_;              // by task: scancel'ed by others
  double next_poll_ = 0;
  double interval_;
  int sacct_mode_ = 0;       // 0: plain sacct; 1: sacct -c (no slurmdbd)
  int max_array_size_ = -1;  // MaxArraySize; -1: not read yet
  size_t array_cap_ = 0;
  bool arrays_refused_ = false;  // sbatch refused an array for another reason than back-pressure
  std::vector<NamedJob> run_queue_;  // RunQueue()
  bool run_queue_read_ = false;
  std::map<std::string, std::string> array_scripts_;  // ArrayScriptOf(), by array name
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace mex
