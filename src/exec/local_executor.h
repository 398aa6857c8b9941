// Runs attempts as processes on this machine: each in its own process group, its output appended
// to its log file (never through mex), all of them watched by one ppoll() loop on a signalfd.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "exec/direct_command.h"
#include "exec/process.h"
#include "util/folder.h"

namespace mex {

class LocalExecutor : public Executor {
 public:
  // Blocks SIGCHLD, SIGINT and SIGTERM in the calling thread for the executor's lifetime; they
  // are read by Wait. REQUIRES: one LocalExecutor per process (two would steal each other's
  // SIGCHLD), and every other thread blocks these signals too, or they may be lost to it.
  // With `state` and `workspace`, logs and prompt files are opened beneath the state folder and
  // working directories beneath the workspace (or the workspace itself), never through a
  // symlink (util/folder.h); a path that is not beneath them is opened as it is.
  explicit LocalExecutor(const Folder* state = nullptr, const Folder* workspace = nullptr);
  // Kills and collects every attempt still running, then restores the signal mask.
  ~LocalExecutor() override;
  LocalExecutor(const LocalExecutor&) = delete;
  LocalExecutor& operator=(const LocalExecutor&) = delete;

  // Empty when the executor works; else why it cannot (every Start then fails to spawn).
  const std::string& init_error() const { return init_error_; }

  // The run the attempts belong to: their MEX_ATTEMPT_TAG names it, so that a later session of
  // the run finds what they leave behind if this engine is killed (EndLeftovers). Before Start.
  void set_run(std::string_view run_id);

  // Called when Ctrl-Z (SIGTSTP) stops mex, just before it stops (`stopping` true), and when it
  // is continued (false): a live view erases its block for the shell and draws it again.
  void set_on_stop(std::function<void(bool stopping)> on_stop) { on_stop_ = std::move(on_stop); }

  // REQUIRES: spec.key is not the key of an attempt still running.
  ProcessRef Start(const AttemptSpec& spec) override;
  // With nothing running and no limit (timeout_s < 0), returns at once instead of hanging.
  WaitResult Wait(double timeout_s) override;
  void Cancel(uint64_t key) override;
  void CancelAll() override;
  void KillAll() override;
  size_t running() const override { return live_.size() + spawn_failures_.size(); }
  // How many attempts of `/bin/sh -c SCRIPT` ran without the shell (exec/direct_command.h).
  uint64_t direct_spawns() const { return direct_spawns_; }
  // A process of an earlier mex is not this one's child: its end cannot be waited for. Never
  // follows it (EndLeftovers ends it).
  ProcessRef Adopt(const ProcessRef&, const AttemptSpec&) override { return {}; }
  int EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) override;

 private:
  static constexpr double kNever = 1e300;

  struct Attempt {
    uint64_t key = 0;
    pid_t pid = 0;  // also the process group id
    UniqueFd log;   // kept to fstat for stall detection
    double started_at = 0;
    double timeout_at = kNever;  // monotonic deadline of the attempt
    double kill_at = kNever;     // monotonic deadline of the SIGKILL after SIGTERM
    double kill_grace_s = 0;
    bool ended_by_mex = false;  // reason is then kept whatever the process exits with
    EndReason reason = EndReason::kExited;
    double stall_after_s = 0;
    bool kill_on_stall = false;
    off_t log_size = 0;
    double last_output_at = 0;         // monotonic
    double next_stall_check = kNever;  // the next look at the log: its growth, its cap
    bool stall_reported = false;
    double started_mono = 0;
    off_t log_limit = 0;    // 0: none
    double checked_at = 0;  // monotonic time of the last look at the log
    bool leave_processes = false;
    std::string tag;      // MEX_ATTEMPT_TAG in its environment, inherited by what it starts
    bool direct = false;  // `/bin/sh -c SCRIPT` spawned without the shell (DirectCommand)
  };

  Attempt* Find(uint64_t key);
  ProcessRef FailSpawn(const AttemptSpec& spec, int err_no, const std::string& error);
  // SIGTERM to the attempt's group, SIGKILL after its grace period; the reason is kept.
  void BeginEnd(Attempt* attempt, EndReason reason, double now);
  void EnforceDeadlines(double now);
  void CheckStalls(double now, WaitResult* result);
  void CheckStall(Attempt* attempt, double now, WaitResult* result);
  void ReapEnded(WaitResult* result);
  // Ends the processes an attempt left behind that escaped its group (setsid, a double fork
  // into a new group) and were adopted by mex (a child subreaper) once their parent ended:
  // those whose attempt is over and did not ask to leave them. Collects those that ended.
  // Returns the ones it signalled.
  std::vector<pid_t> EndStrays();
  bool IsLeader(pid_t pid) const;
  // Ctrl-Z: stops every attempt's group, then mex itself; once continued (fg, SIGCONT),
  // continues them and moves their deadlines by the time they were stopped.
  void StopAndContinue();
  double NextDeadline() const;
  // Waits on the signalfd until `deadline` (monotonic) or a signal; false on a poll error.
  bool PollUntil(double deadline, WaitResult* result);

  // The attempt's files and folder, opened beneath the run's folders when they hold them.
  UniqueFd OpenLog(const std::string& path, int* err_no, std::string* err) const;
  UniqueFd OpenInput(const std::string& path, int* err_no, std::string* err) const;
  UniqueFd OpenCwd(const std::string& path, int* err_no, std::string* err) const;

  const Folder* state_ = nullptr;
  const Folder* workspace_ = nullptr;
  std::string init_error_;
  std::function<void(bool)> on_stop_;
  SignalChannel signals_;
  std::vector<Attempt> live_;               // spawned and not yet reported as ended
  std::vector<AttemptEnd> spawn_failures_;  // reported by the next Wait
  std::string run_tag_;     // "mex:RUN_ID:": the tags of every session's attempts of the run
  std::string tag_prefix_;  // run_tag_ and "PID.": the tags of this executor's attempts
  uint64_t started_ = 0;    // attempts started, for their tags
  uint64_t direct_spawns_ = 0;
  ProgramPaths programs_;  // for `/bin/sh -c` scripts spawned without the shell
  UniqueFd dev_null_;      // the stdin of attempts without one, opened by the first
};

}  // namespace mex
