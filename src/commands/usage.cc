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

bool DefaultMilestoneFile(std::string* file, std::string* err) {
  for (const char* name : {"milestone.yaml", "milestone.yml", "milestone.json"}) {
    struct stat st {};
    if (stat(name, &st) == 0) {
      *file = name;
      return true;
    }
  }
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
  for (const char* name : {"/milestone.yaml", "/milestone.yml", "/milestone.json"}) {
    if (stat((word + name).c_str(), &st) == 0) return true;
  }
  return false;
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

bool ParseJobs(std::string_view option, std::string_view text, int* jobs, std::string* err) {
  return ParseCount(option, text, 1, jobs, err);
}

}  // namespace mex
