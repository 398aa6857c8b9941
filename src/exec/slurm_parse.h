// What Slurm's commands print, read into values: sbatch --parsable, squeue -O, sacct -P; and
// what a job's state means for an attempt. Pure functions, so recorded outputs can test them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/executor.h"

namespace mex {

// One job as squeue or sacct tells it.
struct SlurmJobRow {
  std::string id;         // "123", or "123_4" for element 4 of the job array 123
  std::string own_id;     // squeue's JobID: an array element's own job id once it ran ("130")
  std::string state;      // "PENDING", "RUNNING", "COMPLETED", "CANCELLED" ("CANCELLED by 0" cut)
  std::string reason;     // squeue's Reason: why it is pending ("Resources", "Priority", ...)
  int exit_code = -1;     // -1 when it did not exit normally (or is not over)
  int signal = 0;         // the signal that ended it, or 0
  std::string nodes;      // where it ran
  double started_at = 0;  // when it started running (squeue's StartTime, epoch seconds); 0: not
};

// The squeue fields SlurmExecutor asks for, '|' after each: JobArrayID ("123", "123_4"), State,
// Reason, exit_code (the raw wait status), NodeList, StartTime (local time, to the second), JobID
// (an array element's own id, which the completion log knows it by).
inline constexpr std::string_view kSqueueFormat =
    "JobArrayID:|,State:|,Reason:|,exit_code:|,NodeList:|,StartTime:|,JobID:|";
// sacct -P columns, in order.
inline constexpr std::string_view kSacctFormat = "JobID,State,ExitCode,NodeList";

// The job id sbatch --parsable printed ("123" or "123;cluster"), or "" when there is none.
std::string ParseSbatchJobId(std::string_view out);
// `squeue -h -r -O kSqueueFormat` lines; lines that do not parse are skipped, and so are the
// pending elements of an array that squeue without -r folds into one line ("123_[5-9%2]").
std::vector<SlurmJobRow> ParseSqueue(std::string_view out);
// `sacct -n -P -o kSacctFormat` lines ("3:0" exit codes); steps ("12.batch") are skipped.
std::vector<SlurmJobRow> ParseSacct(std::string_view out);

// A job of the user's as `squeue -h -r -t all -o '%i|%j|%T'` lists it.
struct NamedJob {
  std::string id;  // "123", or "123_4": an array's elements one by one
  std::string name;
  std::string state;
};
// Those lines, the jobs whose name starts with `prefix` only.
std::vector<NamedJob> ParseJobNames(std::string_view out, std::string_view prefix);

// The element of the job array whose script (ArrayScript) is `array_script` that appends its
// output to `log_path`; -1 when none does.
int ArrayElementOf(std::string_view array_script, std::string_view log_path);

// The job id a job's ProcessRef stands for ("123", or "123_4" for element 4 of array 123), ""
// when it is not a job's.
std::string JobIdOf(const ProcessRef& ref);

// Whether the state is one a job never leaves.
bool IsFinalJobState(std::string_view state);
// Whether sbatch's refusal (its stderr) is the controller's back-pressure: a submit limit of the
// QOS or association, or a busy controller. Then the job is submitted again later.
bool IsSubmitBackPressure(std::string_view err);

// Whether sbatch's refusal is a limit on the number of jobs submitted (an array of N counts N).
bool IsSubmitLimit(std::string_view err);

// MaxArraySize from `scontrol show config` ("MaxArraySize = 1001"): an array's indices go from 0
// to MaxArraySize - 1, and 0 turns arrays off. -1 when the line is not there.
int ParseMaxArraySize(std::string_view config);

// How a job in a final state ended, as an AttemptEnd's reason, exit code, signal and error.
// `cancelled_by_mex`: mex itself scancel'ed it (the caller then keeps its own reason).
struct JobEnd {
  EndReason reason = EndReason::kExited;
  int exit_code = -1;
  int signal = 0;
  std::string error;  // for the reasons that are not kExited: what Slurm said
};
JobEnd EndOfJob(const SlurmJobRow& row);

// `value` single-quoted for a POSIX shell: nothing in it is expanded.
std::string SingleQuoted(std::string_view value);

// The file beside an attempt's log ("logs/TASK.N.log") with `suffix` for ".log":
// "logs/TASK.N.sbatch", its job script; "logs/TASK.N.exit", its exit marker.
std::string BesideLog(std::string_view log_path, std::string_view suffix);

// The batch script that runs `spec` exactly: its argv and environment, each quoted, with stdin.
// It runs the command as its child, not by exec, so that once the command ends it can write its
// exit status (the shell's $?) to the exit marker beside the log (BesideLog(log, ".exit"); none
// without a log), through a temp file and a rename; then it ends as the command did: by the same
// exit code, or by the same signal when one that ends a process killed it (SIGSEGV, SIGKILL, ...).
// A job killed whole (scancel, Slurm's time limit) leaves no marker.
std::string BatchScript(const AttemptSpec& spec);

// How a job's command ended, from its exit marker: a row as sacct gives one, COMPLETED with exit
// 0, else FAILED with the exit code, or with the signal when the status is 128 plus a signal
// that the script passes on as such. False when `text` is no exit status.
bool ParseExitMarker(std::string_view text, SlurmJobRow* row);

// One element of a job array: the job script it runs and the log its output goes to.
struct ArrayElement {
  std::string script_path;
  std::string log_path;
};
// The script of a job array whose element i runs elements[i].script_path, its output and errors
// appended to elements[i].log_path (paths quoted: never shell code).
std::string ArrayScript(const std::vector<ArrayElement>& elements);

}  // namespace mex
