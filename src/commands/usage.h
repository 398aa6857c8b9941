// What the command line needs besides CLI11: the messages of a usage error (an unknown command
// or option with the nearest one suggested, a `-j` that is no count of slots) and the milestone
// file a command reads when none is given.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mex {

// " (did you mean 'status'?)" when one of `candidates` is a plausible typo of `word`, else "".
std::string Suggestion(std::string_view word, const std::vector<std::string>& candidates);

// The milestone file of the current folder, for a command given none: milestone.yaml, else
// milestone.yml, else milestone.json. False with `err` when there is none.
bool DefaultMilestoneFile(std::string* file, std::string* err);

// Whether `word`, the first word after `mex run`, is the milestone file rather than a task: it
// names a file, or ends in .yaml, .yml or .json, or is `.`, `..` or a folder holding a
// milestone.yaml (a mistake the loader then explains). Any other folder is a task's id.
bool LooksLikeMilestoneFile(const std::string& word);

// `text` as a whole number of `least` or more. False with `err` saying so.
bool ParseCount(std::string_view option, std::string_view text, int least, int* count,
                std::string* err);

}  // namespace mex
