#include "store/status.h"

#include <fmt/format.h>

#include <filesystem>

#include "commands/commands.h"
#include "store/sqlite_store.h"
#include "store/state_lock.h"
#include "util/clock.h"
#include "util/terminal_text.h"

namespace mex {

int StatusCommand(const StatusOptions& options) {
  std::string milestone_key;  // "": any milestone
  std::string state_dir = options.state_dir;
  if (!options.file.empty()) {
    milestone_key = MilestoneKey(options.file);
    // As `mex run` finds it: .mex in the milestone file's folder.
    if (state_dir.empty()) {
      state_dir = (std::filesystem::path(milestone_key).parent_path() / ".mex").string();
    }
  }
  if (state_dir.empty()) state_dir = ".mex";

  std::string err;
  std::unique_ptr<SqliteStore> store = SqliteStore::Open(state_dir, /*read_only=*/true, &err);
  if (!store) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitUsage;
  }
  std::optional<StoredRun> run = store->LatestRun(milestone_key);
  if (!run) {
    if (!store->error().empty()) {
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(store->error()));
    } else {
      std::string file = TerminalSafeLine(options.file);
      fmt::print(stderr, "mex: no run of {} recorded in {} (start one with `mex run {}`)\n", file,
                 TerminalSafeLine(state_dir), file);
    }
    return kExitUsage;
  }
  // The run is live when its own engine holds the state folder's lock: another run of the same
  // folder holding it says nothing about this one.
  int holder = StateLock::Holder(state_dir);
  bool live = holder != 0 && holder == run->pid;
  nlohmann::ordered_json status;
  if (!store->ReadStatus(run->id, WallClockSeconds(), live, &status)) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(store->error()));
    return kExitUsage;
  }
  if (options.json) {
    fmt::print("{}\n", status.dump(2));
  } else {
    fmt::print("{}", FormatStatus(status));
  }
  return kExitOk;
}

}  // namespace mex
