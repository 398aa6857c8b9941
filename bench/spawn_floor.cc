// spawn_floor [--vfork [--logs DIR]] N J PROGRAM [ARG...]: runs PROGRAM N times, J at a time, and
// does nothing else: no graph, no state, no logs. Each run is spawned as mex and ninja spawn a task
// (posix_spawn, its own process group, output to /dev/null) and collected with wait(). Its wall
// time is the least any engine that starts one process per task can take on this machine for N
// tasks at -jJ: bench/run-speed.sh times it beside ninja and mex, as the floor of the "10k true"
// targets. --vfork spawns the cheapest way known here instead: vfork(), then setpgid, dup2 of a
// /dev/null opened once and execve in the child; no stack mapped and unmapped per spawn, no
// signal mask or rlimit calls (posix_spawn makes all three). --logs DIR (with --vfork) gives each
// run a log file of its own, created in DIR as mex creates an attempt's log (DIR/tK.1.log, new,
// 0600): the floor of an engine that keeps every task's output, as mex must and ninja does not.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern char** environ;

namespace {

// The child of vfork() shares the parent's memory until execve: it only makes system calls
// (which clang-analyzer's vfork checks do not know are safe there).
pid_t SpawnWithVfork(char** args, int dev_null, int out) {
  const pid_t pid = vfork();  // NOLINT(clang-analyzer-security.insecureAPI.vfork)
  // NOLINTBEGIN(clang-analyzer-unix.Vfork)
  if (pid == 0) {
    setpgid(0, 0);
    dup2(dev_null, 0);
    dup2(out, 1);
    dup2(out, 2);
    execve(args[0], args, environ);
    _exit(127);
  }
  // NOLINTEND(clang-analyzer-unix.Vfork)
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  const bool use_vfork = argc > 1 && std::strcmp(argv[1], "--vfork") == 0;
  if (use_vfork) {
    --argc;
    ++argv;
  }
  const char* logs = nullptr;
  if (use_vfork && argc > 2 && std::strcmp(argv[1], "--logs") == 0) {
    logs = argv[2];
    argc -= 2;
    argv += 2;
  }
  if (argc < 4) {
    std::fprintf(stderr, "usage: spawn_floor [--vfork [--logs DIR]] N J PROGRAM [ARG...]\n");
    return 2;
  }
  const long n = std::strtol(argv[1], nullptr, 10);
  const long j = std::strtol(argv[2], nullptr, 10);
  if (n < 0 || j < 1) {
    std::fprintf(stderr, "spawn_floor: N must be >= 0 and J >= 1\n");
    return 2;
  }
  std::vector<char*> args(argv + 3, argv + argc);
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (dev_null < 0) {
    std::perror("spawn_floor: /dev/null");
    return 1;
  }
  long started = 0, running = 0, failed = 0;
  while (started < n || running > 0) {
    while (running < j && started < n) {
      pid_t pid = 0;
      int rc = 0;
      if (use_vfork) {
        int out = dev_null;
        if (logs != nullptr) {
          char path[4096];
          std::snprintf(path, sizeof path, "%s/t%ld.1.log", logs, started);
          out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
          if (out < 0) {
            std::perror(path);
            return 1;
          }
        }
        pid = SpawnWithVfork(args.data(), dev_null, out);
        rc = pid < 0 ? errno : 0;
        if (out != dev_null) close(out);
      } else {
        rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
      }
      if (rc != 0) {
        std::fprintf(stderr, "spawn_floor: cannot spawn %s (error %d)\n", args[0], rc);
        return 1;
      }
      ++started;
      ++running;
    }
    int status = 0;
    if (wait(&status) > 0) {
      --running;
      failed += WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
    }
  }
  if (failed > 0) std::fprintf(stderr, "spawn_floor: %ld of %ld runs failed\n", failed, n);
  return failed > 0 ? 1 : 0;
}
