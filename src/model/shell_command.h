// What a shell does with the words of one simple command, for the placeholders standing in them
// (model/shell_template.h): where even an expanded value runs as code. Bash evaluates a value as
// arithmetic in `let`, in a `declare -i` variable and in [[ ... -eq ... ]], and evaluates the
// subscript of a variable name (a[$(cmd)]) in `export NAME`, `unset NAME`, `read NAME`,
// `printf -v NAME`; a program may run an argument as code (model/code_arguments.h).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mex {

// One word of a simple command, as the shell reader saw it.
struct ShellWord {
  std::optional<std::string_view> text;  // quotes removed; nullopt when not known before the run
  std::string_view raw;                  // the unquoted literal characters it starts with
  size_t placeholder = std::string_view::npos;  // offset of its first placeholder, or npos
  bool has_placeholder() const { return placeholder != std::string_view::npos; }
};

// Whether `c` may start, or stand in, a shell variable name.
inline bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
inline bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}

// NAME of a word whose unquoted start `raw` is NAME=..., NAME+=... or NAME[...]=..., or "".
std::string_view AssignedName(std::string_view raw);
// Whether `text` is a shell variable name.
bool IsShellName(std::string_view text);

// Checks the simple commands of one script in order: it remembers the variables an earlier one
// declared integer.
class ShellCommandChecker {
 public:
  struct Problem {
    size_t offset = 0;  // of the placeholder
    std::string message;
  };
  // `placeholder(offset)` names the placeholder at `offset` as written ("'{{task.title}}'").
  // `arithmetic_test`: the command is [[ ... ]] with -eq, -lt, ...
  bool Check(const std::vector<ShellWord>& words, bool arithmetic_test,
             const std::function<std::string(size_t)>& placeholder, Problem* problem);

 private:
  bool CheckBuiltin(std::string_view name, const std::vector<ShellWord>& words, size_t first,
                    const std::function<std::string(size_t)>& placeholder, Problem* problem);

  std::set<std::string> integer_names_;  // declared with -i so far
};

}  // namespace mex
