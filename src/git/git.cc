#include "git/git.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "exec/process.h"

extern char** environ;

namespace mex {

namespace {

// What would point git at another repository, index or object store than the one given.
bool Redirects(std::string_view entry) {
  for (std::string_view name :
       {"GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_OBJECT_DIRECTORY=",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_COMMON_DIR=", "GIT_NAMESPACE=", "GIT_PREFIX=",
        "GIT_CONFIG_PARAMETERS=", "GIT_CONFIG_COUNT=", "LC_ALL=", "LANGUAGE=",
        "GIT_TERMINAL_PROMPT="}) {
    if (entry.starts_with(name)) return true;
  }
  return false;
}

// Reads both pipes until both are closed.
void Drain(int out_fd, int err_fd, std::string* out, std::string* err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {out, err};
  int open = 2;
  char buf[65536];
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      sinks[i]->append(buf, static_cast<size_t>(n));
    }
  }
}

}  // namespace

std::string GitResult::Line() const {
  return out.substr(0, out.find('\n'));
}

std::string GitResult::Describe(const std::vector<std::string>& args) const {
  std::string what = "git";
  for (size_t i = 0; i < args.size() && i < 2; ++i) what += " " + args[i];
  std::string last = err;
  while (!last.empty() && (last.back() == '\n' || last.back() == ' ')) last.pop_back();
  if (size_t nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  if (last.empty())
    last = exit_code < 0 ? "did not end normally" : "exit " + std::to_string(exit_code);
  return what + ": " + last;
}

GitResult RunGit(const std::string& dir, const std::vector<std::string>& args,
                 const std::vector<std::string>& extra_env) {
  GitResult result;
  SpawnRequest request;
  request.argv = {"git", "-C", dir, "-c", "core.hooksPath=/dev/null"};
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  // Ours win: an entry of mex's environment that `extra_env` sets again is left out (the first
  // of two entries of a name is the one a program sees).
  auto overridden = [&](std::string_view entry) {
    for (const std::string& extra : extra_env) {
      size_t eq = extra.find('=');
      if (entry.starts_with(std::string_view(extra).substr(0, eq + 1))) return true;
    }
    return false;
  };
  for (char** e = environ; *e != nullptr; ++e) {
    if (!Redirects(*e) && !overridden(*e)) request.env.emplace_back(*e);
  }
  request.env.emplace_back("LC_ALL=C");
  request.env.emplace_back("GIT_TERMINAL_PROMPT=0");
  request.env.insert(request.env.end(), extra_env.begin(), extra_env.end());

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    return result;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  int err_no = 0;
  UniqueFd null_in = OpenForReading("/dev/null", &err_no);
  UniqueFd out_write(out_pipe[1]), err_write(err_pipe[1]);
  UniqueFd out_read(out_pipe[0]), err_read(err_pipe[0]);
  int out_fd_err = 0;
  UniqueFd out_high = AboveStdio(std::move(out_write), &out_fd_err);
  UniqueFd err_high = AboveStdio(std::move(err_write), &out_fd_err);
  request.stdin_fd = null_in.get();
  request.output_fd = out_high.get();
  request.error_fd = err_high.get();
  std::string spawn_error;
  const pid_t pid = SpawnProcessGroup(request, &err_no, &spawn_error);
  out_high.Reset();
  err_high.Reset();
  if (pid < 0) {
    result.err = spawn_error;
    return result;
  }
  Drain(out_read.get(), err_read.get(), &result.out, &result.err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace mex
