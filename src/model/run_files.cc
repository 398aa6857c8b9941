#include "model/run_files.h"

#include <fmt/format.h>

#include <ctime>
#include <random>

namespace mex {

std::string RunPaths::LogPath(std::string_view task, int attempt) const {
  return fmt::format("{}/{}.{}.log", logs_dir, task, attempt);
}

std::string RunPaths::PromptPath(std::string_view task, int attempt) const {
  return fmt::format("{}/{}.{}.prompt", logs_dir, task, attempt);
}

std::string RunPaths::ArtifactPath(std::string_view relative) const {
  return fmt::format("{}/{}", artifacts_dir, relative);
}

std::string NewRunId() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::random_device random;
  return fmt::format("{}-{:04x}", stamp, random() & 0xffff);
}

RunPaths RunPathsOf(std::shared_ptr<const Folder> state, const std::string& run_id) {
  RunPaths paths;
  paths.run_id = run_id;
  paths.state_dir = state->path();
  paths.run_dir = paths.state_dir + "/runs/" + run_id;
  paths.logs_dir = paths.run_dir + "/logs";
  paths.artifacts_dir = paths.run_dir + "/artifacts";
  paths.failures_dir = paths.run_dir + "/failures";
  paths.validation_dir = paths.run_dir + "/validation";
  paths.state = std::move(state);
  return paths;
}

bool CreateRunFolder(std::shared_ptr<const Folder> state, const std::string& run_id,
                     RunPaths* paths, std::string* err) {
  *paths = RunPathsOf(std::move(state), run_id);
  for (const std::string* dir :
       {&paths->logs_dir, &paths->artifacts_dir, &paths->failures_dir, &paths->validation_dir}) {
    if (!paths->state->MakeFolders(*dir, err)) return false;
  }
  return true;
}

}  // namespace mex
