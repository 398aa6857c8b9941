#include "commands/recorded_run.h"

#include <fmt/format.h>

#include <filesystem>

#include "commands/commands.h"
#include "store/state_lock.h"
#include "util/terminal_text.h"

namespace mex {

int OpenRecordedRun(const std::string& file, const std::string& state_dir,
                    const std::string& run_id, RecordedRun* out) {
  out->state_dir = state_dir;
  if (!file.empty()) {
    out->milestone_key = MilestoneKey(file);
    // As `mex run` finds it: .mex in the milestone file's folder.
    if (out->state_dir.empty()) {
      out->state_dir = (std::filesystem::path(out->milestone_key).parent_path() / ".mex").string();
    }
  }
  if (out->state_dir.empty()) out->state_dir = ".mex";

  std::string err;
  out->store = SqliteStore::Open(out->state_dir, /*read_only=*/true, &err);
  if (!out->store) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitUsage;
  }
  std::optional<StoredRun> run =
      run_id.empty() ? out->store->LatestRun(out->milestone_key) : out->store->FindRun(run_id);
  if (!out->store->error().empty()) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(out->store->error()));
    return kExitUsage;
  }
  const std::string shown_file = TerminalSafeLine(file);
  const std::string shown_dir = TerminalSafeLine(out->state_dir);
  if (!run) {
    if (!run_id.empty()) {
      fmt::print(stderr, "mex: no run {} recorded in {} (`mex status` shows the latest)\n",
                 TerminalSafeLine(run_id), shown_dir);
    } else if (file.empty()) {
      fmt::print(stderr, "mex: no run recorded in {} (start one with `mex run FILE`)\n", shown_dir);
    } else {
      fmt::print(stderr, "mex: no run of {} recorded in {} (start one with `mex run {}`)\n",
                 shown_file, shown_dir, shown_file);
    }
    return kExitUsage;
  }
  if (!out->milestone_key.empty() && run->milestone != out->milestone_key) {
    fmt::print(stderr, "mex: run {} is a run of {}, not of {}\n", TerminalSafeLine(run->id),
               TerminalSafeLine(run->milestone), shown_file);
    return kExitUsage;
  }
  if (!Folder::Open(out->state_dir, /*create=*/false, &out->state, &err)) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitUsage;
  }
  out->run = std::move(*run);
  return kExitOk;
}

bool RunIsLive(const std::string& state_dir, const StoredRun& run) {
  int holder = StateLock::Holder(state_dir);
  return holder != 0 && holder == run.pid;
}

}  // namespace mex
