#include "model/code_arguments.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace mex {

namespace {

using Words = std::vector<std::optional<std::string_view>>;

std::string_view Base(std::string_view word) {
  size_t slash = word.rfind('/');
  return slash == std::string_view::npos ? word : word.substr(slash + 1);
}

bool OneOf(std::string_view word, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), word) != names.end();
}

// "python3.11" is python: a name, then only digits and dots.
bool NameWithVersion(std::string_view name, std::string_view stem) {
  if (!name.starts_with(stem)) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(stem.size()), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

bool IsShortOption(std::string_view w) {
  return w.size() > 1 && (w[0] == '-' || w[0] == '+') && w[1] != '-';
}

CodeArgument Code(size_t index, std::string program, bool to_end = false, bool shell = false) {
  CodeArgument code;
  code.index = index;
  code.program = std::move(program);
  code.to_end = to_end;
  code.posix_shell = shell;
  return code;
}

// How a program's options are written: which short letters take a value (attached, "-n5", or
// the next word), which long ones do ("--name VALUE"; "--name=VALUE" is one word anyway).
struct OptionSyntax {
  std::string_view short_with_value;
  std::initializer_list<std::string_view> long_with_value;
};

// Moves `*i` past the options of the program at `start` (words start + 1 ...): on the first
// operand, after "--", or at a word whose text is unknown. Returns false when an option has
// `stop_letter` (a letter that ends the command, e.g. python -m).
size_t SkipOptions(const Words& words, size_t start, const OptionSyntax& syntax) {
  size_t i = start + 1;
  while (i < words.size() && words[i]) {
    std::string_view w = *words[i];
    if (w == "--") return i + 1;
    if (w.starts_with("--")) {
      bool takes = w.find('=') == std::string_view::npos &&
                   std::find(syntax.long_with_value.begin(), syntax.long_with_value.end(), w) !=
                       syntax.long_with_value.end();
      i += takes ? 2 : 1;
      continue;
    }
    if (!IsShortOption(w)) return i;
    size_t next = i + 1;
    for (size_t j = 1; j < w.size(); ++j) {
      if (syntax.short_with_value.find(w[j]) == std::string_view::npos) continue;
      if (j + 1 == w.size()) next = i + 2;  // its value is the next word
      break;                                // else the rest of this word is its value
    }
    i = next;
  }
  return i;
}

CodeArgument Find(const Words& words, size_t start, int depth);

// A shell: sh -c SCRIPT [NAME [ARG...]]; options may come in clusters (-ec, -euxo pipefail).
CodeArgument FindInShell(const Words& words, size_t start, std::string_view name) {
  bool dash_c = false;
  size_t i = start + 1;
  for (; i < words.size() && words[i]; ++i) {
    std::string_view w = *words[i];
    if (w == "--" || w == "-") {
      ++i;
      break;
    }
    if (w.starts_with("--")) {
      if (OneOf(w, {"--rcfile", "--init-file"})) ++i;
      if (w == "--command") dash_c = true;  // fish
      continue;
    }
    if (!IsShortOption(w)) break;
    bool value_next = false;
    for (size_t j = 1; j < w.size(); ++j) {
      if (w[j] == 'c') dash_c = true;
      if (w[j] == 'o' || w[j] == 'O') value_next = true;
    }
    if (value_next) ++i;
  }
  if (!dash_c || i >= words.size()) return {};
  bool fish = name == "fish";
  return Code(i, std::string(name) + " -c", false, !fish);
}

// An interpreter whose code comes with a flag: python -c CODE, perl -e CODE, node --eval CODE.
// The code may also be attached (-cCODE) or end a cluster (-Bc CODE, -lne CODE).
CodeArgument FindFlaggedCode(const Words& words, size_t start, std::string_view name,
                             std::string_view code_letters,
                             std::initializer_list<std::string_view> code_longs,
                             const OptionSyntax& syntax, std::string_view stop_letters) {
  for (size_t i = start + 1; i < words.size() && words[i]; ++i) {
    std::string_view w = *words[i];
    if (w == "--") return {};
    if (w.starts_with("--")) {
      for (std::string_view flag : code_longs) {
        if (w == flag) return Code(i + 1, std::string(name) + " " + std::string(flag));
        if (w.starts_with(flag) && w.size() > flag.size() && w[flag.size()] == '=') {
          return Code(i, std::string(name) + " " + std::string(flag));
        }
      }
      if (std::find(syntax.long_with_value.begin(), syntax.long_with_value.end(), w) !=
          syntax.long_with_value.end()) {
        ++i;
      }
      continue;
    }
    if (!IsShortOption(w)) return {};  // a script file: its arguments are data
    for (size_t j = 1; j < w.size(); ++j) {
      char c = w[j];
      if (code_letters.find(c) != std::string_view::npos) {
        std::string program = std::string(name) + " -" + c;
        return j + 1 < w.size() ? Code(i, program) : Code(i + 1, program);
      }
      if (stop_letters.find(c) != std::string_view::npos) return {};
      if (syntax.short_with_value.find(c) != std::string_view::npos) {
        if (j + 1 == w.size()) ++i;
        break;
      }
    }
  }
  return {};
}

// ssh [OPTIONS] DESTINATION COMMAND...: the command words are joined and run by the remote
// shell. A word not known before the run, where an option may stand, may be one that runs
// a command (-oProxyCommand=...): it counts as code too.
CodeArgument FindInSsh(const Words& words, size_t start) {
  constexpr std::string_view kWithValue = "BbcDEeFIiJLlmOoPpQRSWw";
  for (size_t i = start + 1; i < words.size(); ++i) {
    if (!words[i]) return Code(i, "ssh", true);
    std::string_view w = *words[i];
    if (w == "--") return i + 2 < words.size() ? Code(i + 2, "ssh", true) : CodeArgument{};
    if (!IsShortOption(w)) return i + 1 < words.size() ? Code(i + 1, "ssh", true) : CodeArgument{};
    for (size_t j = 1; j < w.size(); ++j) {
      if (kWithValue.find(w[j]) == std::string_view::npos) continue;
      if (j + 1 == w.size()) ++i;
      break;
    }
  }
  return {};
}

// An option with a value that is code: su -c CMD, script -c CMD, flock FILE -c CMD.
CodeArgument FindOptionValue(const Words& words, size_t start, std::string_view name,
                             std::string_view letter, std::string_view long_name) {
  for (size_t i = start + 1; i < words.size(); ++i) {
    if (!words[i]) continue;
    std::string_view w = *words[i];
    if (w == "--") break;
    if (w == letter || w == long_name) return Code(i + 1, std::string(name) + " " + std::string(w));
    if (w.starts_with(long_name) && w.size() > long_name.size() && w[long_name.size()] == '=') {
      return Code(i, std::string(name) + " " + std::string(long_name));
    }
  }
  return {};
}

// awk 'PROGRAM' and sed 'SCRIPT': the first operand is code unless a file gives it (-f), and
// every -e value is code.
CodeArgument FindProgramOperand(const Words& words, size_t start, std::string_view name, bool sed) {
  const OptionSyntax syntax =
      sed ? OptionSyntax{"efl", {"--file", "--line-length"}}
          : OptionSyntax{"Fvfe", {"--file", "--assign", "--field-separator"}};
  bool from_file = false;
  for (size_t i = start + 1; i < words.size(); ++i) {
    if (!words[i]) return from_file ? CodeArgument{} : Code(i, std::string(name));
    std::string_view w = *words[i];
    if (w == "--")
      return !from_file && i + 1 < words.size() ? Code(i + 1, std::string(name)) : CodeArgument{};
    if (OneOf(w, {"-e", "--expression", "--source"}))
      return Code(i + 1, std::string(name) + " " + std::string(w));
    if (w.starts_with("--expression=") || w.starts_with("--source="))
      return Code(i, std::string(name));
    if (w == "-f" || w.starts_with("--file")) from_file = true;
    if (w.starts_with("--")) {
      if (OneOf(w, syntax.long_with_value)) ++i;
      continue;
    }
    if (!IsShortOption(w)) return from_file ? CodeArgument{} : Code(i, std::string(name));
    for (size_t j = 1; j < w.size(); ++j) {
      char c = w[j];
      if (c == 'e')
        return j + 1 < w.size() ? Code(i, std::string(name) + " -e")
                                : Code(i + 1, std::string(name) + " -e");
      if (c == 'f') from_file = true;
      if (syntax.short_with_value.find(c) != std::string_view::npos) {
        if (j + 1 == w.size()) ++i;
        break;
      }
    }
  }
  return {};
}

// Wrappers that run the rest of their words as a command, and how their options look.
struct Wrapper {
  std::string_view name;
  OptionSyntax options;
  int operands_before_command;  // timeout DURATION COMMAND: 1
};

const std::array<Wrapper, 10>& Wrappers() {
  static const std::array<Wrapper, 10> kWrappers = {{
      {"nice", {"n", {"--adjustment"}}, 0},
      {"nohup", {"", {}}, 0},
      {"setsid", {"", {}}, 0},
      {"stdbuf", {"ioe", {"--input", "--output", "--error"}}, 0},
      {"timeout", {"sk", {"--signal", "--kill-after"}}, 1},
      {"time", {"fo", {"--format", "--output"}}, 0},
      {"command", {"", {}}, 0},
      {"exec", {"a", {}}, 0},
      {"xargs",
       {"adEIiLlnPs",
        {"--arg-file", "--delimiter", "--eof", "--replace", "--max-lines", "--max-args",
         "--max-procs", "--max-chars", "--process-slot-var"}},
       0},
      {"chrt", {"", {}}, 1},
  }};
  return kWrappers;
}

// env [OPTIONS] [NAME=VALUE]... COMMAND: -S splits its value into a command line.
CodeArgument FindInEnv(const Words& words, size_t start, int depth) {
  size_t i = start + 1;
  while (i < words.size() && words[i]) {
    std::string_view w = *words[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (w == "-S" || w == "--split-string") return Code(i + 1, "env " + std::string(w), true);
    if (w.starts_with("--split-string=") || (w.starts_with("-S") && w.size() > 2)) {
      return Code(i, "env -S", true);
    }
    if (OneOf(w, {"-u", "-C", "--unset", "--chdir"})) {
      i += 2;
      continue;
    }
    if (w.starts_with("-") || w.find('=') != std::string_view::npos) {
      ++i;
      continue;
    }
    break;
  }
  return Find(words, i, depth + 1);
}

CodeArgument Find(const Words& words, size_t start, int depth) {
  if (start >= words.size() || !words[start] || depth > 8) return {};
  std::string_view name = Base(*words[start]);
  if (name == "env") return FindInEnv(words, start, depth);
  if (name == "busybox") return Find(words, start + 1, depth + 1);
  for (const Wrapper& wrapper : Wrappers()) {
    if (name != wrapper.name) continue;
    size_t command = SkipOptions(words, start, wrapper.options);
    return Find(words, command + static_cast<size_t>(wrapper.operands_before_command), depth + 1);
  }
  if (OneOf(name,
            {"sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "ash", "yash", "posh", "fish"})) {
    return FindInShell(words, start, name);
  }
  if (OneOf(name, {"eval", "let"})) return Code(start + 1, std::string(name), true);
  if (name == "trap") return Code(start + 1, "trap");
  if (name == "ssh") return FindInSsh(words, start);
  if (name == "watch") {
    for (size_t i = start + 1; i < words.size() && words[i]; ++i) {
      if (OneOf(*words[i], {"-x", "--exec"})) return Find(words, i + 1, depth + 1);
    }
    size_t command = SkipOptions(words, start, {"nd", {"--interval", "--differences"}});
    return command < words.size() ? Code(command, "watch", true) : CodeArgument{};
  }
  if (name == "su") return FindOptionValue(words, start, name, "-c", "--command");
  if (name == "script") return FindOptionValue(words, start, name, "-c", "--command");
  if (name == "flock") return FindOptionValue(words, start, name, "-c", "--command");
  if (OneOf(name, {"awk", "gawk", "mawk", "nawk"})) {
    return FindProgramOperand(words, start, name, false);
  }
  if (name == "sed") return FindProgramOperand(words, start, name, true);
  if (NameWithVersion(name, "python") || NameWithVersion(name, "pypy")) {
    return FindFlaggedCode(words, start, name, "c", {}, {"WX", {}}, "m");
  }
  if (name == "perl") return FindFlaggedCode(words, start, name, "eE", {}, {"IMm", {}}, "");
  if (name == "ruby") return FindFlaggedCode(words, start, name, "e", {}, {"Ir", {}}, "");
  if (OneOf(name, {"node", "nodejs", "bun", "deno"})) {
    return FindFlaggedCode(words, start, name, "ep", {"--eval", "--print"}, {"r", {"--require"}},
                           "");
  }
  if (name == "php") return FindFlaggedCode(words, start, name, "r", {}, {"dcf", {}}, "");
  if (NameWithVersion(name, "lua") || name == "luajit") {
    return FindFlaggedCode(words, start, name, "e", {}, {"l", {}}, "");
  }
  if (name == "Rscript") return FindFlaggedCode(words, start, name, "e", {}, {"", {}}, "");
  return {};
}

}  // namespace

CodeArgument FindCodeArgument(const std::vector<std::optional<std::string_view>>& words) {
  CodeArgument code = Find(words, 0, 0);
  if (code.found() && code.index >= words.size()) return {};
  return code;
}

std::string CodeArgumentMessage(std::string_view placeholder, const CodeArgument& code) {
  if (code.posix_shell) {
    return fmt::format(
        "{} would be run as code by {} (a shell inside the command); pass it to that script as "
        "an argument and use \"$1\" there: {} '... \"$1\" ...' _ {}",
        placeholder, code.program, code.program, placeholder);
  }
  if (code.program == "let") {
    return fmt::format(
        "{} is given to let, which evaluates it as arithmetic and runs code it "
        "holds (a[$(cmd)]); check it is a number first",
        placeholder);
  }
  if (code.program == "eval" || code.program == "trap") {
    return fmt::format(
        "{} would be run as code by {}; run the command itself, with the value "
        "as one of its arguments",
        placeholder, code.program);
  }
  if (code.program == "ssh") {
    return fmt::format(
        "{} would be run by ssh's remote shell, or taken for an ssh option; give "
        "the value on ssh's standard input instead",
        placeholder);
  }
  return fmt::format(
      "{} would be run as code by {}; give the value as data instead, as an "
      "argument of its own that the program reads (sys.argv, ARGV, awk -v)",
      placeholder, code.program);
}

}  // namespace mex
