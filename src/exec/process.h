// Process plumbing for the local executor (Linux): owned file descriptors, spawning a
// command into its own process group, signalling and reaping it, and receiving signals as a file
// descriptor so that one ppoll() loop can wait for children, Ctrl-C and timers alike.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/executor.h"
#include "util/unique_fd.h"

namespace mex {

// Opens `path` for appending: created 0600 if missing, never through a symlink, close-on-exec.
// Returns an invalid fd and sets *err_no on failure.
UniqueFd OpenLogForAppend(const std::string& path, int* err_no);
// Opens `path` read-only, close-on-exec. Returns an invalid fd and sets *err_no on failure.
UniqueFd OpenForReading(const std::string& path, int* err_no);
// Moves a descriptor above 2 (a child's stdio is dup2'ed onto 0-2; dup2 onto itself would keep
// close-on-exec and lose the stream). Invalid with *err_no set on failure.
UniqueFd AboveStdio(UniqueFd fd, int* err_no);

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in mex's PATH
  std::string cwd;                // empty: mex's own working directory
  int cwd_fd = -1;                // >= 0: this open folder instead of `cwd`
  std::vector<std::string> env;   // the complete environment of the child
  int stdin_fd = -1;              // becomes the child's fd 0
  int output_fd = -1;             // becomes the child's fds 1 and 2
  int error_fd = -1;              // >= 0: becomes the child's fd 2 instead
  std::string program{};          // not empty: the file to execute, argv[0] only its name
};

// Starts `request` as the leader of a new process group (pgid == pid) with an empty signal mask
// and default handlers for the signals mex blocks or ignores. Returns the pid, or -1 with
// *err_no set and *err a sentence naming what failed ("command not found: foo").
pid_t SpawnProcessGroup(const SpawnRequest& request, int* err_no, std::string* err);

// The children of this process (of its main thread): those it spawned, and, once it is a child
// subreaper (PR_SET_CHILD_SUBREAPER), the orphans of their descendants it adopted.
std::vector<pid_t> ChildrenOfThisProcess();
// The value of `name` in the environment process `pid` started with, or "".
std::string EnvironmentValue(pid_t pid, std::string_view name);

// Sends `sig` to the process group `pgid`. Returns false if no such group exists any more.
bool SignalGroup(pid_t pgid, int sig);

// How a reaped process ended.
struct ExitStatus {
  int exit_code = -1;  // -1 when it did not exit normally
  int signal = 0;      // the signal that killed it, or 0
  bool core_dumped = false;
};

// True if the child `pid` has ended; it stays a zombie (its pid and process group id cannot be
// reused) until Reap(pid).
bool HasExited(pid_t pid);
// Collects the ended child `pid`, blocking until it ends.
ExitStatus Reap(pid_t pid);

// The start time of process `pid` in clock ticks after boot (/proc/PID/stat), or 0 when there
// is no such process.
uint64_t ProcessStartTime(pid_t pid);
// Now, in the clock ticks of ProcessStartTime: read just before a spawn, no later than the
// child's start time, and within kStartSlackTicks of it unless the spawn was held up that long.
uint64_t BootTicksNow();
// How far after the ticks recorded before its spawn (ProcessRef::start_time) a process group's
// leader may have started and still be the one recorded. A pid is reused only after the kernel
// went through every other one (pid_max, 32768 at least): never within a second.
constexpr uint64_t kStartSlackTicks = 100;
// This boot's id (/proc/sys/kernel/random/boot_id), or "" when it cannot be read.
const std::string& BootId();

// Ends the process groups of `groups` that are still the ones recorded (ProcessRef): SIGTERM,
// then SIGKILL to those left after `grace_s`, and waits until they are gone (they are not
// children of this process: they cannot be reaped, only watched). Returns how many it ended.
int EndProcessGroups(const std::vector<ProcessRef>& groups, double grace_s);

// SIGKILL to every process of this user whose environment's MEX_ATTEMPT_TAG satisfies `match`
// (to its whole group when it leads one), then waits until they are gone or zombies, at most
// `wait_s`. Returns how many it signalled.
int KillTaggedProcesses(const std::function<bool(std::string_view tag)>& match, double wait_s);

// Blocks SIGCHLD, SIGINT, SIGTERM, SIGHUP and SIGTSTP in the calling thread and delivers them
// through a signalfd instead; restores the previous mask (and SIGCHLD disposition) when destroyed.
class SignalChannel {
 public:
  // Sets *err on failure; then valid() is false.
  explicit SignalChannel(std::string* err);
  ~SignalChannel();
  SignalChannel(const SignalChannel&) = delete;
  SignalChannel& operator=(const SignalChannel&) = delete;

  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }

  struct Received {
    bool child = false;  // at least one SIGCHLD: some child may have ended
    int interrupt = 0;   // the first SIGINT, SIGTERM or SIGHUP read, or 0
    bool stop = false;   // SIGTSTP (Ctrl-Z)
  };
  // Reads every pending signal without blocking.
  Received Drain();

 private:
  UniqueFd fd_;
  bool blocked_ = false;
  sigset_t old_mask_;
  struct sigaction old_chld_action_;
};

}  // namespace mex
