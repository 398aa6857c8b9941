// Where attempts run. The task runner talks only to this interface; the local executor (processes
// on this machine) and the Slurm executor (jobs on a cluster) are siblings behind it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mex {

// Who an attempt runs as, known once it is spawned: enough for a later mex to end it if the
// engine that started it was killed, and never to hit another process that reused its pid.
struct ProcessRef {
  int64_t pgid = 0;  // its process group (its leader's pid); 0: it never ran
  // The leader's start, in clock ticks after boot (/proc/PID/stat): read just before its spawn,
  // so no later than its start and, but for a spawn held up a second, within a second of it.
  uint64_t start_time = 0;
  std::string boot_id;  // the boot it ran in (/proc/sys/kernel/random/boot_id)
  bool empty() const { return pgid == 0; }
  // A batch system's job (the cluster executor) is recorded in the same fields: pgid holds its
  // job id and boot_id reads kJobMark; such a ref is never a process group of this machine. An
  // element of a job array has its array's id in pgid and its index + 1 in start_time.
  static constexpr std::string_view kJobMark = "batch-job";
  bool is_job() const { return boot_id == kJobMark; }
};

// Where an attempt runs: on this machine, or as a job of the cluster's batch system.
enum class Placement : uint8_t { kLocal, kCluster };

// What a job on the cluster asks for; 0 or "" is the cluster's default.
struct JobRequest {
  std::string name;   // the task's id, part of the job's name
  std::string title;  // the task's title, the job's comment
  int attempt = 1;
  int cpus = 0;
  uint64_t mem_mb = 0;
  double time_s = 0;
  int gpus = 0;
};

// One attempt of one task, fully rendered: nothing in here is interpreted by a shell unless
// argv itself says so (["/bin/sh", "-c", ...]).
struct AttemptSpec {
  uint64_t key = 0;               // the caller's handle for this attempt, echoed in AttemptEnd
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in PATH
  std::string cwd;                // absolute folder the attempt runs in
  std::vector<std::string> env;   // the complete environment, "NAME=value"
  std::string stdin_path;         // opened as stdin; empty: /dev/null
  std::string log_path;           // stdout and stderr appended here (created 0600, no symlinks)
  double timeout_s = 0;           // 0: no timeout
  double stall_after_s = 0;       // 0: never stalled
  bool kill_on_stall = false;     // else a stall is only reported
  double kill_grace_s = 5;        // between SIGTERM and SIGKILL to the process group
  // The log's cap: the attempt is ended when its log reaches it (EndReason::kLogFull). 0: none.
  uint64_t log_limit_bytes = 0;
  // Processes it leaves behind (a daemon) are left running when it ends; else they are ended
  // with it: its process group, and what escaped the group (setsid, double fork).
  bool leave_processes = false;
  Placement placement = Placement::kLocal;
  JobRequest job;  // placement kCluster
};

enum class EndReason : uint8_t {
  kExited,       // the process ended by itself: exit_code, or signal if a signal killed it
  kTimedOut,     // mex ended it: timeout_s passed
  kStallKilled,  // mex ended it: no output for stall_after_s, kill_on_stall set
  kCancelled,    // mex ended it: Cancel() or CancelAll()
  kSpawnFailed,  // it never ran: error says why
  kLogFull,      // mex ended it: its log reached log_limit_bytes
  // Not the attempt's doing, and another attempt may do better (error says what happened): the
  // cluster lost it (its node failed, it was preempted, cancelled by someone else than mex, or
  // it vanished), or the cluster's own time limit ended it.
  kLost,
  kOutOfMemory,  // the cluster ended it for using more memory than it asked for
};

struct AttemptEnd {
  uint64_t key = 0;
  EndReason reason = EndReason::kExited;
  int exit_code = -1;   // -1 when the process did not exit normally
  int signal = 0;       // the signal that ended the process, or 0
  int spawn_errno = 0;  // kSpawnFailed: errno of the failed spawn (ENOENT, EACCES, ...)
  std::string error;    // kSpawnFailed, kLost, kOutOfMemory: a sentence for a person
  pid_t pid = 0;
  double started_at = 0;  // seconds since the Unix epoch
  double ended_at = 0;
  double duration_s = 0;  // monotonic, without the time the attempt was stopped (Ctrl-Z)
};

// Where an attempt placed on a batch system is, as the executor tells it (WaitResult::Queued):
// the reports decide by it whether its time so far is a wait or a run.
enum class QueueState : uint8_t {
  kPending,     // submitted, waiting in the queue: "pending (REASON)" with the queue's reason
  kSubmitWait,  // not submitted yet: the batch system refused it for now (back-pressure)
  kUnknown,     // where it is cannot be read for now (its commands fail); it may be running
  kRunning,     // it runs, after it was told in one of the states above
};

struct WaitResult {
  std::vector<AttemptEnd> ended;  // attempts that are over, in the order they ended
  std::vector<uint64_t> stalled;  // attempts first seen stalled during this wait
  // Attempts waiting in a batch system's queue whose place changed, `reason` saying it for a
  // person: kPending "pending (Priority)", kSubmitWait "waiting to submit (REASON)", kUnknown
  // "state unknown (squeue: ...)", and kRunning "running" once one told in another state starts
  // (then `since` is when it started, seconds since the Unix epoch; 0 when it was running
  // already and only its state could not be read for a while).
  struct Queued {
    uint64_t key = 0;
    QueueState state = QueueState::kPending;
    std::string reason;
    double since = 0;
  };
  std::vector<Queued> queued;
  // Attempts whose job was submitted after their Start returned (with the others of their turn
  // as one job array, or once the controller took it after refusing it), and who they run as.
  struct Submitted {
    uint64_t key = 0;
    ProcessRef process;
  };
  std::vector<Submitted> submitted;
  int interrupt = 0;  // SIGINT, SIGTERM or SIGHUP received by mex during this wait, or 0
};

class Executor {
 public:
  virtual ~Executor() = default;

  // Starts an attempt and returns who it runs as. A spawn that fails returns an empty ref and is
  // reported by the next Wait as kSpawnFailed, so that every attempt ends through the same path.
  virtual ProcessRef Start(const AttemptSpec& spec) = 0;

  // Blocks until an attempt ends, a stall is first seen, a queued attempt's place changes
  // (WaitResult::queued), mex receives SIGINT, SIGTERM or SIGHUP, or
  // timeout_s passes (< 0: no limit). Never busy-waits.
  virtual WaitResult Wait(double timeout_s) = 0;

  // Ends the attempt's whole process group: SIGTERM, then SIGKILL after its grace period. Its
  // end is reported by Wait as kCancelled, whatever the process then exits with.
  virtual void Cancel(uint64_t key) = 0;
  virtual void CancelAll() = 0;
  // SIGKILL to every running attempt's process group now (a second Ctrl-C).
  virtual void KillAll() = 0;

  virtual size_t running() const = 0;

  // Follows an attempt that an earlier, killed engine started, as if this one had started it
  // with `spec` (its key, log, limits and placement; its timeout what is left of it): its end is
  // then reported by Wait, classified like any other. `ref` is who it ran as, as recorded;
  // empty when it was not recorded (killed between submitting and recording), then found by
  // what marks it where the executor has such a mark. Returns who it runs as, or an empty ref
  // when this executor cannot follow it (LocalExecutor: a process that is not its child) or
  // found nothing: the caller then ends it with EndLeftovers and runs the task again.
  virtual ProcessRef Adopt(const ProcessRef& ref, const AttemptSpec& spec) = 0;

  // Ends what attempts of an earlier, killed engine may have left running, each only if it is
  // still the same process group (its leader's start time and boot match, or the leader is
  // gone and the group lives on, whose id then cannot have been reused). Waits until they are
  // gone (SIGTERM, SIGKILL after `grace_s`). And what else the run's earlier sessions left
  // running where it can tell (LocalExecutor: the run's tag in their environment), even with
  // no group recorded; never what it follows (Adopt). An empty ref in `leftovers` is an attempt
  // whose process or job was never recorded: the executor looks for it by what marks it (the
  // Slurm executor lists the run's jobs by name only then). Called as each session starts, after
  // Adopt. Returns how many it ended.
  virtual int EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) = 0;
};

}  // namespace mex
