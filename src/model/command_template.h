// A task's `run:` as a template: which of its words a shell reads as a script, and how each
// placeholder's value reaches the program (SPEC §2, docs/security.md). A word of an argv list is
// the value itself, one argument; the script of `run: "..."` (run by /bin/sh -c) or of an argv
// list that runs a shell (`[bash, -c, SCRIPT]`) refers to the value's environment variable
// instead (model/shell_template.h); a placeholder in the code argument of another interpreter
// (`[python3, -c, CODE]`) is refused.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/milestone.h"
#include "model/shell_template.h"
#include "model/template.h"

namespace mex {

struct CommandWordPlan {
  std::vector<TemplatePiece> pieces;   // views into the command's strings
  bool script = false;                 // a shell reads this word: placeholders become references
  std::vector<ShellContext> contexts;  // per piece, when `script`
};

struct CommandPlan {
  bool shell_string = false;           // `run: "..."`: words[0] is the script of `shell`
  std::vector<std::string> shell;      // what runs the script: /bin/sh -c, /bin/sh -ec, ...
  std::vector<CommandWordPlan> words;  // as many as the argv list, or one for a string
};

struct CommandProblem {
  size_t word = 0;    // index of the word in the argv list (0 for a string)
  size_t offset = 0;  // in that word's text
  std::string message;
};

// Whether `script` has more than one line (its last line breaks left aside): such a `run:` runs
// with `set -e` (`/bin/sh -ec`), as a CI step does.
bool IsMultiLine(std::string_view script);

// Plans `run`. False with `problem` when a template does not parse or a placeholder stands
// where its value would be run as code. Unknown variable names are not checked here. `plan`
// points into `run`, which must outlive it.
bool PlanCommand(const Command& run, CommandPlan* plan, CommandProblem* problem);

// What an attempt runs: the argv, and the environment variables a script refers to.
struct RenderedArgv {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> values;  // NAME, value
};

// Renders a plan with `lookup` (a variable's name → its value). False with `err` when a value
// cannot be passed (longer than the kernel takes for one environment string).
bool RenderCommandPlan(const CommandPlan& plan,
                       const std::function<std::string(std::string_view)>& lookup,
                       RenderedArgv* out, std::string* err);

}  // namespace mex
