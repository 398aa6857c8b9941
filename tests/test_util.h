// Shared by the end-to-end tests: private temp folders and running the built mex binary.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mex::testing_util {

// A folder made by mkdtemp under the system's temporary folder, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, const std::string& content);

// A path under the source tree.
std::filesystem::path Source(const std::string& relative);

struct Result {
  int exit_code = -1;  // 128 + signal when the process was killed by a signal (a crash)
  std::string out;
  std::string err;
  long max_rss_kb = 0;  // of mex and the children it waited for
};

// Runs `mex ARGS...` in `cwd` (default: the source root), stdin at /dev/null, and waits.
Result RunMex(const std::vector<std::string>& args, const std::string& cwd = "");

// Runs `words` (words[0]: the program's path) in `cwd` with exactly the environment `env`, stdin
// at /dev/null, and waits.
Result RunProgram(const std::vector<std::string>& words, const std::string& cwd,
                  const std::vector<std::string>& env);

// Starts `mex ARGS...` in `cwd` with stdout and stderr going to `out_path`; returns its pid.
pid_t StartMex(const std::vector<std::string>& args, const std::string& cwd,
               const std::string& out_path);
// Waits for a process started by StartMex; returns its exit code (128 + signal if killed).
int WaitMex(pid_t pid);

// The objects of an NDJSON text (`mex run --json`), one per non-empty line.
std::vector<nlohmann::json> ParseNdjson(const std::string& ndjson);

// Whether `pid` is gone (or a zombie waiting to be collected by init).
bool ProcessGone(pid_t pid);

}  // namespace mex::testing_util
