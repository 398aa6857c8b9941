// Running `/bin/sh -c SCRIPT` without the shell when the shell would only run one program, as
// make does: the script is one simple command of plain words (no quotes, variables, globs,
// redirections, operators, assignments or comments) whose program is no shell builtin with
// meaning of its own. What is spawned directly must behave as `sh -c` would: the words split on
// blanks, the program found in the attempt's own PATH, and the environment dash gives its
// command (PWD set). Anything else, and any spawn that fails (not found, not executable, a script
// without #!), goes through the shell, which then prints its own message and exits 127 or 126.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mex {

// Whether `/bin/sh` is dash, whose behaviour the direct spawn reproduces; read once.
bool ShellIsDash();

// The words of `script` when a POSIX shell would run it as one program with exactly these
// arguments and nothing else, conservatively: a builtin (cd, export, exit, test, ...), a
// reserved word, an assignment or any character but [A-Za-z0-9] and -_./:,+=@% between blanks
// makes it false. `true`, `false` and `echo`, which dash runs as builtins, count only with
// arguments that do not start with '-' (their programs read --help, -n, -e) and `echo`'s without
// a backslash; their program must then be the system's (DirectCommand::Resolve checks).
bool SplitSimpleCommand(std::string_view script, std::vector<std::string>* words);

// The programs found in PATH, once per PATH value and name for the whole session (a program
// installed or removed later in a PATH folder before it is not seen; a removed one makes its
// spawn fail and go through the shell).
class ProgramPaths {
 public:
  // The file `name` (no '/') runs as under `path` (the value of PATH): the first regular file
  // of that name this user may execute in PATH's folders, in order. "" when there is none, or
  // when PATH has an empty or relative folder (found relative to the attempt's folder: not
  // cached, the shell finds it).
  const std::string& Find(const std::string& path, const std::string& name);

 private:
  std::unordered_map<std::string, std::string> found_;  // PATH + '\0' + name → file
};

// What to spawn instead of `argv` (["/bin/sh", "-c", SCRIPT]) in environment `env`: `program`
// (the file to execute) with `words` as its argv, and `env` with PWD as dash would export it for
// the folder `cwd`. False: run `argv` as it is.
struct DirectCommand {
  std::string program;
  std::vector<std::string> words;
  // REQUIRES: `cwd` is absolute (or empty: mex's own folder).
  bool Resolve(const std::vector<std::string>& argv, std::vector<std::string>* env,
               const std::string& cwd, ProgramPaths* paths);
};

}  // namespace mex
