#include "commands/usage.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <charconv>

#include "model/diagnostics.h"
#include "util/terminal_text.h"

namespace mex {

std::string Suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string_view> views(candidates.begin(), candidates.end());
  return DidYouMean(word, views);
}

namespace {

// The milestone file in `folder` ("" for the current one) that a command given none reads: its
// path, or "" when there is none.
std::string MilestoneIn(const std::string& folder) {
  for (const char* name : {"milestone.yaml", "milestone.yml", "milestone.json"}) {
    std::string path = folder.empty() ? name : folder + "/" + name;
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) return path;
  }
  return "";
}

}  // namespace

bool DefaultMilestoneFile(std::string* file, std::string* err) {
  *file = MilestoneIn("");
  if (!file->empty()) return true;
  *err =
      "no FILE given, and no milestone.yaml, milestone.yml or milestone.json in this folder "
      "('mex init' writes one)";
  return false;
}

bool LooksLikeMilestoneFile(const std::string& word) {
  for (std::string_view suffix : {".yaml", ".yml", ".json"}) {
    if (word.size() > suffix.size() && word.ends_with(suffix)) return true;
  }
  struct stat st {};
  if (stat(word.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode) || word == "." || word == "..") return true;
  // A folder is a task's id (`mex run build` beside a build/ folder) unless it holds a milestone
  // file: then it was meant as FILE, and the loader says to name the file in it.
  return !MilestoneIn(word).empty();
}

bool ParseCount(std::string_view option, std::string_view text, int least, int* count,
                std::string* err) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size() && value >= least) {
    *count = value;
    return true;
  }
  *err = fmt::format("{} must be a whole number of {} or more, not '{}'", option, least,
                     TerminalSafeLine(text));
  return false;
}

}  // namespace mex
