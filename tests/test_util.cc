#include "tests/test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace mex::testing_util {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "mex-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

fs::path Source(const std::string& relative) {
  return fs::path(MEX_SOURCE_DIR) / relative;
}

namespace {

// Starts `words` (words[0]: the program's path) in `cwd` with `env` (null: this process's),
// stdin at /dev/null, in a process group of its own.
pid_t SpawnProgram(std::vector<std::string> words, const std::string& cwd,
                   const std::string& out_path, const std::string& err_path,
                   const std::vector<std::string>* env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.empty() ? MEX_SOURCE_DIR : cwd.c_str());
  // A process group of its own, as a shell would start it: a signal sent to the test's group
  // does not reach it, and the tests can signal it alone.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env ? *env : std::vector<std::string>{};
  std::vector<char*> envp;
  for (std::string& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, words[0].c_str(), &actions, &attr, argv.data(),
                       env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << words[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

pid_t Spawn(const std::vector<std::string>& args, const std::string& cwd,
            const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> words = {MEX_BINARY};
  words.insert(words.end(), args.begin(), args.end());
  return SpawnProgram(std::move(words), cwd, out_path, err_path, nullptr);
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` (-1: it did not start) and reads what it wrote.
Result Collect(pid_t pid, const std::string& out_path, const std::string& err_path) {
  Result result;
  if (pid < 0) return result;
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.exit_code = ExitCode(status);
  result.max_rss_kb = usage.ru_maxrss;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

}  // namespace

Result RunMex(const std::vector<std::string>& args, const std::string& cwd) {
  TempDir dir;
  std::string out_path = (dir.path() / "stdout").string();
  std::string err_path = (dir.path() / "stderr").string();
  return Collect(Spawn(args, cwd, out_path, err_path), out_path, err_path);
}

Result RunProgram(const std::vector<std::string>& words, const std::string& cwd,
                  const std::vector<std::string>& env) {
  TempDir dir;
  std::string out_path = (dir.path() / "stdout").string();
  std::string err_path = (dir.path() / "stderr").string();
  return Collect(SpawnProgram(words, cwd, out_path, err_path, &env), out_path, err_path);
}

pid_t StartMex(const std::vector<std::string>& args, const std::string& cwd,
               const std::string& out_path) {
  return Spawn(args, cwd, out_path, out_path + ".err");
}

int WaitMex(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return ExitCode(status);
}

std::vector<nlohmann::json> ParseNdjson(const std::string& ndjson) {
  std::vector<nlohmann::json> objects;
  std::istringstream in(ndjson);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) objects.push_back(nlohmann::json::parse(line));
  }
  return objects;
}

bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

}  // namespace mex::testing_util
