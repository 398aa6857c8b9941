#include "exec/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace mex {
namespace {

// The signals a child must not inherit as ignored or blocked from mex, and those mex handles
// (SIGWINCH: the live view), whose handlers must not run in a vfork child before its execve.
constexpr int kDefaultedSignals[] = {SIGINT,  SIGTERM, SIGPIPE, SIGCHLD,
                                     SIGQUIT, SIGHUP,  SIGTSTP, SIGWINCH};

std::string SpawnError(int err_no, const std::string& command) {
  switch (err_no) {
    case ENOENT:
      return "command not found: " + command;
    case EACCES:
      return "permission denied: " + command;
    case ENOEXEC:
      return "not an executable: " + command;
    default:
      return "cannot run " + command + ": " + std::strerror(err_no);
  }
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Makes `from` the child's descriptor `to`; dup2 of a descriptor onto itself would leave its
// close-on-exec flag set.
bool MoveDescriptor(int from, int to) {
  if (from != to) return dup2(from, to) == to;
  const int flags = fcntl(from, F_GETFD);
  return flags >= 0 && fcntl(from, F_SETFD, flags & ~FD_CLOEXEC) == 0;
}

// The files execve tries for `name`, in order: `name` itself when it has a '/', else `name` in
// each folder of mex's PATH (an empty folder is the attempt's own, as for execvp; no PATH:
// /bin:/usr/bin), as posix_spawnp would look it up.
std::vector<std::string> ExecCandidates(const std::string& name) {
  if (name.find('/') != std::string::npos) return {name};
  const char* env_path = getenv("PATH");
  const std::string_view path = env_path != nullptr ? env_path : "/bin:/usr/bin";
  std::vector<std::string> files;
  for (size_t at = 0; at <= path.size();) {
    size_t end = std::min(path.find(':', at), path.size());
    std::string_view folder = path.substr(at, end - at);
    files.push_back(folder.empty() ? name : std::string(folder) + "/" + name);
    at = end + 1;
  }
  return files;
}

// Starts the child with vfork(): glibc's posix_spawn maps a stack for its child and unmaps it
// after each spawn (5% of mex's perf samples); vfork's child runs on mex's own stack (10k tasks
// of `true` and `true;` at -j2: 0.94-0.98x the time, paired runs, docs/performance.md). The child
// does what posix_spawn's would with SETPGROUP, SETSIGDEF of kDefaultedSignals, an empty
// SETSIGMASK, a chdir and three dup2s, then tries `files` in order as execvp does (the next one
// after ENOENT, ENOTDIR or EACCES; EACCES is the error when none ran and one was denied). It shares
// mex's memory until execve, so it only makes system calls, and mex keeps all signals blocked
// across it: no handler of mex's may run in the child. Its errno comes back through
// `child_errno`.
pid_t VforkExec(const SpawnRequest& request, const std::vector<char*>& files, char* const* argv,
                char* const* envp, int* err_no, std::string* err) {
  sigset_t all, old, empty;
  sigfillset(&all);
  sigemptyset(&empty);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const int error_fd = request.error_fd >= 0 ? request.error_fd : request.output_fd;
  const char* cwd = request.cwd.empty() ? nullptr : request.cwd.c_str();
  volatile int child_errno = 0;
  // The analyzer's vfork checks forbid all but exec and _exit in the child; the calls below are
  // the system calls posix_spawn's child makes.
  const pid_t pid = vfork();  // NOLINT(clang-analyzer-security.insecureAPI.vfork)
  // NOLINTBEGIN(clang-analyzer-unix.Vfork)
  if (pid == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    bool ok = setpgid(0, 0) == 0;
    for (int sig : kDefaultedSignals) ok = ok && sigaction(sig, &dfl, nullptr) == 0;
    if (ok && request.cwd_fd >= 0) {
      ok = fchdir(request.cwd_fd) == 0;
    } else if (ok && cwd != nullptr) {
      ok = chdir(cwd) == 0;
    }
    ok = ok && MoveDescriptor(request.stdin_fd, 0) && MoveDescriptor(request.output_fd, 1) &&
         MoveDescriptor(error_fd, 2);
    ok = ok && sigprocmask(SIG_SETMASK, &empty, nullptr) == 0;
    int failure = errno;
    bool denied = false;
    for (size_t i = 0; ok && i < files.size(); ++i) {
      execve(files[i], argv, envp);
      failure = errno;
      denied = denied || failure == EACCES;
      ok = failure == ENOENT || failure == ENOTDIR || failure == EACCES;
    }
    child_errno = ok && denied ? EACCES : failure;
    _exit(127);
  }
  // NOLINTEND(clang-analyzer-unix.Vfork)
  const int vfork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  int rc = pid < 0 ? vfork_errno : child_errno;
  if (rc != 0) {
    if (pid > 0) {
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    *err_no = rc;
    *err = SpawnError(rc, request.argv[0]);
    return -1;
  }
  return pid;
}

}  // namespace

UniqueFd AboveStdio(UniqueFd fd, int* err_no) {
  if (!fd.valid() || fd.get() > 2) return fd;
  UniqueFd moved(fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  if (!moved.valid()) *err_no = errno;
  return moved;
}

UniqueFd OpenLogForAppend(const std::string& path, int* err_no) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) *err_no = errno;
  return AboveStdio(std::move(fd), err_no);
}

UniqueFd OpenForReading(const std::string& path, int* err_no) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) *err_no = errno;
  return AboveStdio(std::move(fd), err_no);
}

pid_t SpawnProcessGroup(const SpawnRequest& request, int* err_no, std::string* err) {
  if (request.argv.empty() || request.argv[0].empty()) {
    *err_no = EINVAL;
    *err = "empty command";
    return -1;
  }
  // Checked here because a failed chdir in the child reports ENOENT, like a missing command.
  if (!request.cwd.empty() && request.cwd_fd < 0) {
    struct stat st {};
    int cwd_errno = stat(request.cwd.c_str(), &st) != 0 ? errno : 0;
    if (cwd_errno == 0 && !S_ISDIR(st.st_mode)) cwd_errno = ENOTDIR;
    if (cwd_errno != 0) {
      *err_no = cwd_errno;
      *err = "cannot enter folder " + request.cwd + ": " + std::strerror(cwd_errno);
      return -1;
    }
  }
  std::vector<char*> argv = CStrings(request.argv);
  std::vector<char*> envp = CStrings(request.env);
  const std::vector<std::string> candidates = request.program.empty()
                                                  ? ExecCandidates(request.argv[0])
                                                  : std::vector<std::string>{request.program};
  std::vector<char*> files = CStrings(candidates);
  files.pop_back();  // no terminating null: VforkExec takes its size
  return VforkExec(request, files, argv.data(), envp.data(), err_no, err);
}

namespace {

// The fields of /proc/PID/stat that mex reads.
struct ProcStat {
  char state = 0;  // 'R', 'S', 'Z', ...
  pid_t pgrp = 0;
  uint64_t start_time = 0;  // clock ticks after boot
};

bool ReadProcStat(const char* path, ProcStat* out) {
  UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  char buf[1024];
  ssize_t n = read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  // "PID (COMM) STATE PPID PGRP ..." where COMM may hold spaces and ')': the fields start after
  // the last ')'. The state is field 3, the group field 5, the start time field 22.
  const char* at = std::strrchr(buf, ')');
  if (at == nullptr) return false;
  ++at;
  for (int field = 3; field <= 22; ++field) {
    while (*at == ' ') ++at;
    if (*at == '\0') return false;
    if (field == 3) out->state = *at;
    if (field == 5) out->pgrp = static_cast<pid_t>(std::strtol(at, nullptr, 10));
    if (field == 22) out->start_time = std::strtoull(at, nullptr, 10);
    while (*at != ' ' && *at != '\0') ++at;
  }
  return true;
}

std::string StatPath(pid_t pid) {
  return "/proc/" + std::to_string(pid) + "/stat";
}

}  // namespace

uint64_t ProcessStartTime(pid_t pid) {
  ProcStat stat;
  return pid > 0 && ReadProcStat(StatPath(pid).c_str(), &stat) ? stat.start_time : 0;
}

uint64_t BootTicksNow() {
  static const long ticks_per_s = sysconf(_SC_CLK_TCK);
  timespec now{};
  if (ticks_per_s <= 0 || clock_gettime(CLOCK_BOOTTIME, &now) != 0) return 0;
  // As the kernel turns a start time in nanoseconds into ticks: truncated.
  const auto ns =
      static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now.tv_nsec);
  return ns / (1000000000ULL / static_cast<uint64_t>(ticks_per_s));
}

const std::string& BootId() {
  static const std::string id = [] {
    std::string text;
    UniqueFd fd(open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
    char buf[64];
    ssize_t n = fd.valid() ? read(fd.get(), buf, sizeof(buf)) : -1;
    if (n > 0) text.assign(buf, static_cast<size_t>(n));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }();
  return id;
}

namespace {

// Whether `ref` still names the process group it was recorded as. Its leader alive, started
// within kStartSlackTicks after the ticks recorded before its spawn, is the same process (a ref
// of an older mex holds the exact start time, which passes too); its leader gone while the group
// lives on is the same group, since Linux reuses no pid that is still some group's id.
bool StillThere(const ProcessRef& ref) {
  if (ref.pgid <= 0 || ref.boot_id.empty() || ref.boot_id != BootId()) return false;
  const auto pgid = static_cast<pid_t>(ref.pgid);
  ProcStat leader;
  if (ReadProcStat(StatPath(pgid).c_str(), &leader)) {
    return leader.start_time >= ref.start_time &&
           leader.start_time <= ref.start_time + kStartSlackTicks && leader.pgrp == pgid;
  }
  return killpg(pgid, 0) == 0;
}

// Whether a process of group `pgid` still runs: a zombie, which whoever adopted it has yet to
// collect, does not count.
bool GroupRuns(pid_t pgid) {
  if (killpg(pgid, 0) != 0) return false;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return true;
  bool runs = false;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    ProcStat stat;
    const std::string path = std::string("/proc/") + entry->d_name + "/stat";
    if (ReadProcStat(path.c_str(), &stat) && stat.pgrp == pgid && stat.state != 'Z') {
      runs = true;
      break;
    }
  }
  closedir(proc);
  return runs;
}

void SleepSeconds(double seconds) {
  timespec ts{
      static_cast<time_t>(seconds),
      static_cast<long>((seconds - static_cast<double>(static_cast<time_t>(seconds))) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

}  // namespace

int EndProcessGroups(const std::vector<ProcessRef>& groups, double grace_s) {
  std::vector<pid_t> ended;
  for (const ProcessRef& ref : groups) {
    if (StillThere(ref) && killpg(static_cast<pid_t>(ref.pgid), SIGTERM) == 0) {
      ended.push_back(static_cast<pid_t>(ref.pgid));
    }
  }
  // They are not this process's children: their end shows only as the group's disappearance
  // (reaped by whoever adopted them). A group that outlives the grace is killed.
  constexpr double kPoll = 0.02;
  bool killed = false;
  for (double waited = 0;; waited += kPoll) {
    bool any = false;
    for (pid_t pgid : ended) any = any || GroupRuns(pgid);
    if (!any) break;
    if (!killed && waited >= grace_s) {
      for (pid_t pgid : ended) killpg(pgid, SIGKILL);
      killed = true;
    }
    SleepSeconds(kPoll);
  }
  return static_cast<int>(ended.size());
}

std::vector<pid_t> ChildrenOfThisProcess() {
  std::vector<pid_t> children;
  const std::string path = "/proc/self/task/" + std::to_string(getpid()) + "/children";
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return children;
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  const char* at = text.c_str();
  char* end = nullptr;
  for (long pid = std::strtol(at, &end, 10); end != at; pid = std::strtol(at, &end, 10)) {
    children.push_back(static_cast<pid_t>(pid));
    at = end;
  }
  return children;
}

std::string EnvironmentValue(pid_t pid, std::string_view name) {
  const std::string path = "/proc/" + std::to_string(pid) + "/environ";
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  std::string text;
  char buf[8192];
  constexpr size_t kMaxEnvironment = size_t{1} << 20;
  while (text.size() < kMaxEnvironment) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  const std::string key = std::string(name) + "=";
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\0', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, key.size(), key) == 0)
      return text.substr(at + key.size(), end - at - key.size());
    at = end + 1;
  }
  return "";
}

int KillTaggedProcesses(const std::function<bool(std::string_view tag)>& match, double wait_s) {
  std::vector<pid_t> killed;
  if (DIR* proc = opendir("/proc")) {
    const pid_t self = getpid();
    while (const dirent* entry = readdir(proc)) {
      char* end = nullptr;
      const long pid = std::strtol(entry->d_name, &end, 10);
      if (pid <= 0 || *end != '\0' || pid == self) continue;
      const auto p = static_cast<pid_t>(pid);
      if (!match(EnvironmentValue(p, "MEX_ATTEMPT_TAG"))) continue;
      if (getpgid(p) == p) killpg(p, SIGKILL);
      if (kill(p, SIGKILL) == 0) killed.push_back(p);
    }
    closedir(proc);
  }
  constexpr double kPoll = 0.005;
  for (double waited = 0; waited < wait_s; waited += kPoll) {
    bool any = false;
    for (pid_t pid : killed) {
      ProcStat stat;
      any = any || (ReadProcStat(StatPath(pid).c_str(), &stat) && stat.state != 'Z');
    }
    if (!any) break;
    SleepSeconds(kPoll);
  }
  return static_cast<int>(killed.size());
}

bool SignalGroup(pid_t pgid, int sig) {
  return pgid > 0 && killpg(pgid, sig) == 0;
}

bool HasExited(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT leaves the zombie in place, so the group id stays reserved for a final killpg.
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;  // already collected elsewhere: nothing left to wait for
  }
  return info.si_pid != 0;
}

ExitStatus Reap(pid_t pid) {
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  ExitStatus out;
  if (got != pid) return out;
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
    out.core_dumped = WCOREDUMP(status);
  }
  return out;
}

SignalChannel::SignalChannel(std::string* err) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);   // the terminal closed, an SSH drop: an interrupt like SIGTERM
  sigaddset(&mask, SIGTSTP);  // Ctrl-Z: the attempts are stopped with mex (LocalExecutor)
  sigemptyset(&old_mask_);
  // An ignored SIGCHLD makes the kernel reap children itself, leaving no exit status to collect.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGCHLD, &dfl, &old_chld_action_);
  if (sigprocmask(SIG_BLOCK, &mask, &old_mask_) != 0) {
    *err = std::string("cannot block signals: ") + std::strerror(errno);
    return;
  }
  blocked_ = true;
  fd_.Reset(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_.valid()) *err = std::string("cannot open a signalfd: ") + std::strerror(errno);
}

SignalChannel::~SignalChannel() {
  fd_.Reset();
  if (blocked_) sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  sigaction(SIGCHLD, &old_chld_action_, nullptr);
}

SignalChannel::Received SignalChannel::Drain() {
  Received received;
  signalfd_siginfo info[8];
  for (;;) {
    ssize_t n = read(fd_.get(), info, sizeof(info));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(info[0]); ++i) {
      int sig = static_cast<int>(info[i].ssi_signo);
      if (sig == SIGCHLD) received.child = true;
      if (sig == SIGTSTP) received.stop = true;
      if ((sig == SIGINT || sig == SIGTERM || sig == SIGHUP) && received.interrupt == 0) {
        received.interrupt = sig;
      }
    }
  }
  return received;
}

}  // namespace mex
