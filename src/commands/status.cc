#include "store/status.h"

#include <fmt/format.h>

#include <filesystem>

#include "commands/commands.h"
#include "commands/recorded_run.h"
#include "store/sqlite_store.h"
#include "util/clock.h"
#include "util/terminal_text.h"

namespace mex {

int StatusCommand(const StatusOptions& options) {
  RecordedRun recorded;
  if (int code = OpenRecordedRun(options.file, options.state_dir, "", &recorded)) return code;
  const std::string& state_dir = recorded.state_dir;
  SqliteStore* store = recorded.store.get();
  const StoredRun* run = &recorded.run;
  bool live = RunIsLive(state_dir, *run);
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
