#include "commands/declared_files.h"

#include <fmt/format.h>

#include <map>

#include "plan/file_overlap.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

std::string JoinShown(const std::vector<std::string>& paths, size_t limit) {
  std::string out;
  for (size_t i = 0; i < paths.size() && i < limit; ++i) out += (i ? ", " : "") + paths[i];
  if (paths.size() > limit) out += fmt::format(" and {} more", paths.size() - limit);
  return out;
}

}  // namespace

DeclaredFilesReport CompareDeclaredFiles(const Milestone& m,
                                         const std::vector<AttemptRecord>& attempts) {
  std::map<std::string, const AttemptRecord*> merged;  // task -> its merged attempt
  for (const AttemptRecord& a : attempts) {
    if (!a.merge_commit.empty()) merged[a.task] = &a;
  }
  DeclaredFilesReport report;
  report.json["tasks"] = nlohmann::ordered_json::array();
  size_t declaring = 0, kept = 0;
  for (const Task& task : m.tasks) {
    auto found = merged.find(std::string(task.id));
    if (found == merged.end()) continue;
    const std::vector<std::string> none;
    const std::vector<std::string>& declared = task.details() ? task.details()->files : none;
    const std::vector<std::string>& changed = found->second->changed_files;
    std::vector<std::string> undeclared, untouched;
    for (const std::string& path : changed) {
      bool covered = false;
      for (const std::string& entry : declared) covered = covered || EntriesOverlap(path, entry);
      if (!covered) undeclared.push_back(path);
    }
    for (const std::string& entry : declared) {
      bool used = false;
      for (const std::string& path : changed) used = used || EntriesOverlap(path, entry);
      if (!used) untouched.push_back(entry);
    }
    report.json["tasks"].push_back({{"id", task.id},
                                    {"declared", declared},
                                    {"changed", changed},
                                    {"undeclared", undeclared},
                                    {"untouched", untouched}});
    if (declared.empty()) continue;
    ++declaring;
    if (undeclared.empty()) {
      ++kept;
    } else {
      report.lines.push_back(TerminalSafeLine(fmt::format("files: {} changed {}, not in its files",
                                                          task.id, JoinShown(undeclared, 5))));
    }
  }
  if (declaring > 0) {
    report.lines.insert(report.lines.begin(),
                        fmt::format("files: {} of {} task{} that declared files changed only "
                                    "those (RUN_DIR/files.json has each task's)",
                                    kept, declaring, declaring == 1 ? "" : "s"));
  }
  return report;
}

}  // namespace mex
