#include "model/shell_command.h"

#include <fmt/format.h>

#include <map>

#include "model/code_arguments.h"

namespace mex {

namespace {

bool IsOption(const ShellWord& w) {
  return w.text && w.text->size() > 1 && w.text->front() == '-' && *w.text != "--";
}

std::string IntegerMessage(const std::string& placeholder) {
  return fmt::format(
      "{} is given to an integer variable (declare -i) or to let, which bash evaluates as "
      "arithmetic, running code the value holds; check it is a number first",
      placeholder);
}

std::string NameMessage(const std::string& placeholder, std::string_view program) {
  return fmt::format(
      "{} is taken as a variable name by {}, and bash evaluates an array subscript in a name "
      "(a[$(cmd)]); write the name itself",
      placeholder, program);
}

}  // namespace

bool IsShellName(std::string_view text) {
  if (text.empty() || !IsNameStart(text[0])) return false;
  for (char c : text) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

std::string_view AssignedName(std::string_view raw) {
  size_t end = 0;
  while (end < raw.size() && IsNameChar(raw[end])) ++end;
  if (end == 0 || !IsNameStart(raw[0]) || end == raw.size()) return "";
  char next = raw[end];
  bool assigns =
      next == '=' || next == '[' || (next == '+' && end + 1 < raw.size() && raw[end + 1] == '=');
  return assigns ? raw.substr(0, end) : "";
}

bool ShellCommandChecker::Check(const std::vector<ShellWord>& words, bool arithmetic_test,
                                const std::function<std::string(size_t)>& placeholder,
                                Problem* problem) {
  auto fail = [&](size_t at, std::string message) {
    *problem = {at, std::move(message)};
    return false;
  };
  if (arithmetic_test) {
    for (const ShellWord& w : words) {
      if (!w.has_placeholder()) continue;
      return fail(w.placeholder,
                  fmt::format("{} stands in [[ ... ]] with an arithmetic comparison (-eq, -lt, "
                              "...), where bash evaluates the value and runs code it holds; "
                              "compare with [ ... ] (test), which does not",
                              placeholder(w.placeholder)));
    }
  }
  static const std::set<std::string_view> kReserved = {
      "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "time"};
  size_t first = 0;
  for (; first < words.size(); ++first) {
    const ShellWord& w = words[first];
    std::string_view assigned = AssignedName(w.raw);
    if (!assigned.empty()) {
      if (w.has_placeholder() && integer_names_.count(std::string(assigned))) {
        return fail(w.placeholder, IntegerMessage(placeholder(w.placeholder)));
      }
      continue;
    }
    if (!w.text || !kReserved.count(*w.text)) break;
  }
  if (first == words.size()) return true;
  if (words[first].text && !CheckBuiltin(*words[first].text, words, first, placeholder, problem)) {
    return false;
  }
  std::vector<std::optional<std::string_view>> texts;
  for (size_t i = first; i < words.size(); ++i) texts.push_back(words[i].text);
  CodeArgument code = FindCodeArgument(texts);
  if (!code.found()) return true;
  for (size_t i = 0; i < texts.size(); ++i) {
    const ShellWord& w = words[first + i];
    if (!code.IsCode(i) || !w.has_placeholder()) continue;
    return fail(w.placeholder, CodeArgumentMessage(placeholder(w.placeholder), code));
  }
  return true;
}

bool ShellCommandChecker::CheckBuiltin(std::string_view name, const std::vector<ShellWord>& words,
                                       size_t first,
                                       const std::function<std::string(size_t)>& placeholder,
                                       Problem* problem) {
  auto fail = [&](size_t at, std::string message) {
    *problem = {at, std::move(message)};
    return false;
  };
  static const std::set<std::string_view> kDeclare = {"declare", "typeset", "local", "export",
                                                      "readonly"};
  if (kDeclare.count(name)) {
    bool integer = false;
    for (size_t i = first + 1; i < words.size(); ++i) {
      integer |= IsOption(words[i]) && words[i].text->find('i') != std::string_view::npos;
    }
    for (size_t i = first + 1; i < words.size(); ++i) {
      const ShellWord& w = words[i];
      std::string_view assigned = AssignedName(w.raw);
      if (integer && !assigned.empty()) integer_names_.insert(std::string(assigned));
      if (integer && w.text && IsShellName(*w.text)) integer_names_.insert(std::string(*w.text));
      if (!w.has_placeholder()) continue;
      if (integer) return fail(w.placeholder, IntegerMessage(placeholder(w.placeholder)));
      if (assigned.empty() || w.raw.find('[') != std::string_view::npos) {
        return fail(w.placeholder, NameMessage(placeholder(w.placeholder), name));
      }
    }
    return true;
  }
  // Builtins whose operands are variable names, and their options that take a value.
  static const std::map<std::string_view, std::string_view> kNameTakers = {{"unset", ""},
                                                                           {"read", "adinNptu"},
                                                                           {"mapfile", "dnOsuCc"},
                                                                           {"readarray", "dnOsuCc"},
                                                                           {"printf", "v"}};
  auto takes = kNameTakers.find(name);
  if (takes == kNameTakers.end()) return true;
  for (size_t i = first + 1; i < words.size(); ++i) {
    const ShellWord& w = words[i];
    if (IsOption(w)) {
      char letter = w.text->back();
      if (takes->second.find(letter) == std::string_view::npos) continue;
      bool names = letter == 'v' || (letter == 'a' && name == "read");  // printf -v, read -a
      if (++i < words.size() && names && words[i].has_placeholder()) {
        return fail(words[i].placeholder, NameMessage(placeholder(words[i].placeholder), name));
      }
      continue;
    }
    if (name == "printf") return true;  // the format and its arguments are data
    if (w.has_placeholder())
      return fail(w.placeholder, NameMessage(placeholder(w.placeholder), name));
  }
  return true;
}

}  // namespace mex
