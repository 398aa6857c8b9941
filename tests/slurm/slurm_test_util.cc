#include "tests/slurm/slurm_test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <sstream>

namespace mex::slurm_test {

using testing_util::Result;
using testing_util::RunProgram;

std::vector<std::string> Environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

Result Shell(const std::string& command) {
  return RunProgram({"/bin/sh", "-c", command}, "/", Environment());
}

Result Cluster(const std::string& command) {
  return RunProgram({testing_util::Source("scripts/slurm-local.sh").string(), command}, "/",
                    Environment());
}

std::string FakeCommand(const std::filesystem::path& bin, const std::string& name,
                        const std::string& body) {
  std::filesystem::create_directories(bin);
  std::string real = Shell("command -v " + name).out;
  if (!real.empty()) real.pop_back();
  testing_util::WriteFile(bin / name, "#!/bin/sh\nREAL=" + real + "\n" + body);
  std::filesystem::permissions(bin / name, std::filesystem::perms::owner_all);
  return bin.string() + ":" + getenv("PATH");
}

std::string SacctWithoutSlurmdbd(const std::filesystem::path& calls) {
  return "echo \"$*\" >> " + calls.string() +
         "\n"
         "case \" $* \" in *\" -c \"*) exec \"$REAL\" \"$@\" ;; esac\n"
         "echo 'sacct: error: Slurm accounting storage is disabled' >&2\nexit 1\n";
}

std::string ClusterNotUp() {
  Result up = Cluster("status");
  if (up.exit_code == 0) return "";
  return "the local Slurm cluster is not up: the fixture slurm.up (scripts/slurm-local.sh start) "
         "failed or did not run; its output says why. " +
         up.out + up.err;
}

std::vector<nlohmann::json> Of(const std::vector<nlohmann::json>& events, std::string_view kind,
                               std::string_view task) {
  std::vector<nlohmann::json> found;
  for (const auto& e : events) {
    if (e["event"] == kind && (task.empty() || e.value("task", "") == task)) found.push_back(e);
  }
  return found;
}

std::vector<std::string> QueuedJobs(const std::string& prefix, bool elements) {
  Result q = Shell(elements ? "squeue -h -r -o '%i|%j'" : "squeue -h -o '%i|%j'");
  std::vector<std::string> ids;
  std::istringstream in(q.out);
  for (std::string line; std::getline(in, line);) {
    size_t bar = line.find('|');
    if (bar != std::string::npos && line.substr(bar + 1).starts_with(prefix)) {
      ids.push_back(line.substr(0, bar));
    }
  }
  return ids;
}

}  // namespace mex::slurm_test
