#include "exec/direct_command.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace mex {
namespace {

bool Plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '/' || c == ':' || c == ',' || c == '+' || c == '=' ||
         c == '@' || c == '%';
}

// dash 0.5's builtins and reserved words: sh runs these itself, whatever PATH holds.
constexpr std::string_view kShellWords[] = {
    ".",       ":",        "[",        "alias",  "bg",    "break",   "cd",     "chdir",
    "command", "continue", "echo",     "eval",   "exec",  "exit",    "export", "false",
    "fc",      "fg",       "getopts",  "hash",   "jobs",  "kill",    "local",  "printf",
    "pwd",     "read",     "readonly", "return", "set",   "shift",   "test",   "times",
    "trap",    "true",     "type",     "ulimit", "umask", "unalias", "unset",  "wait",
    "!",       "case",     "do",       "done",   "elif",  "else",    "esac",   "fi",
    "for",     "if",       "in",       "then",   "until", "while",   "{"};

bool IsShellWord(std::string_view word) {
  for (std::string_view w : kShellWords) {
    if (w == word) return true;
  }
  return word == "}" || word == "function" || word == "select" || word == "time" ||
         word == "source" || word == "let" || word == "declare" || word == "typeset";
}

// Builtins whose programs do the same for plain arguments that are no option.
bool IsMirroredBuiltin(std::string_view word) {
  return word == "true" || word == "false" || word == "echo";
}

bool IsExecutableFile(const std::string& file) {
  struct stat st {};
  return stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(file.c_str(), X_OK) == 0;
}

const std::string* EnvValue(const std::vector<std::string>& env, std::string_view name) {
  for (const std::string& e : env) {
    if (e.size() > name.size() && e[name.size()] == '=' && e.starts_with(name)) return &e;
  }
  return nullptr;
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace

bool ShellIsDash() {
  static const bool dash = [] {
    char resolved[PATH_MAX];
    if (realpath("/bin/sh", resolved) == nullptr) return false;
    std::string_view path(resolved);
    return path.ends_with("/dash");
  }();
  return dash;
}

bool SplitSimpleCommand(std::string_view script, std::vector<std::string>* words) {
  words->clear();
  size_t at = 0;
  while (at < script.size()) {
    if (script[at] == ' ' || script[at] == '\t') {
      ++at;
      continue;
    }
    size_t end = at;
    while (end < script.size() && script[end] != ' ' && script[end] != '\t') {
      if (!Plain(script[end])) return false;
      ++end;
    }
    words->emplace_back(script.substr(at, end - at));
    at = end;
  }
  if (words->empty()) return false;
  const std::string& program = words->front();
  // NAME=value is an assignment; a '=' elsewhere in the first word is plain, but rare: refused.
  if (program.find('=') != std::string::npos || IsShellWord(program)) {
    if (!IsMirroredBuiltin(program)) return false;
    for (size_t i = 1; i < words->size(); ++i) {
      if ((*words)[i].starts_with('-')) return false;
    }
  }
  return true;
}

const std::string& ProgramPaths::Find(const std::string& path, const std::string& name) {
  std::string key = path;
  key += '\0';
  key += name;
  auto known = found_.find(key);
  if (known != found_.end()) return known->second;
  static const std::string kNone;
  std::string file;
  for (size_t at = 0; at <= path.size();) {
    size_t end = path.find(':', at);
    if (end == std::string::npos) end = path.size();
    std::string_view folder(path.data() + at, end - at);
    if (folder.empty() || folder.front() != '/') return kNone;  // relative to the attempt's cwd
    file.assign(folder);
    if (file.back() != '/') file += '/';
    file += name;
    if (IsExecutableFile(file)) return found_.emplace(std::move(key), file).first->second;
    at = end + 1;
  }
  return kNone;  // not cached: installed later, it is found then
}

bool DirectCommand::Resolve(const std::vector<std::string>& argv, std::vector<std::string>* env,
                            const std::string& cwd, ProgramPaths* paths) {
  if (argv.size() != 3 || argv[0] != "/bin/sh" || argv[1] != "-c" || cwd.empty() ||
      cwd.front() != '/' || !ShellIsDash() || !SplitSimpleCommand(argv[2], &words)) {
    return false;
  }
  // dash sets these itself, whatever the environment says.
  for (std::string_view own : {"IFS", "OPTIND", "PPID"}) {
    if (EnvValue(*env, own) != nullptr) return false;
  }
  const std::string& name = words.front();
  if (name.find('/') != std::string::npos) {
    program = name;  // relative to the attempt's folder, as the child sees it
  } else {
    const std::string* path = EnvValue(*env, "PATH");
    if (path == nullptr) return false;  // dash's default PATH: left to dash
    program = paths->Find(path->substr(5), name);
    if (program.empty()) return false;
    if (IsMirroredBuiltin(name) && program != "/usr/bin/" + name && program != "/bin/" + name) {
      return false;  // another `true` first in PATH: sh would still run its builtin
    }
  }
  // dash exports PWD: the environment's if it names the folder it runs in, else the physical one.
  const std::string* pwd = EnvValue(*env, "PWD");
  if (pwd != nullptr && std::string_view(*pwd).substr(4) == cwd) return true;
  std::string value;
  if (pwd != nullptr && (*pwd)[4] == '/' && SameFile(pwd->substr(4), cwd)) return true;
  char resolved[PATH_MAX];
  if (realpath(cwd.c_str(), resolved) == nullptr) return false;
  value = std::string("PWD=") + resolved;
  for (std::string& e : *env) {
    if (&e == pwd) {
      e = std::move(value);
      return true;
    }
  }
  env->push_back(std::move(value));
  return true;
}

}  // namespace mex
