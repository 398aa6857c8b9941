#include "model/command_template.h"

#include <fmt/format.h>

#include <map>
#include <optional>

#include "model/code_arguments.h"

namespace mex {

namespace {

// The kernel's limit on one "NAME=value" string of an environment (MAX_ARG_STRLEN).
constexpr size_t kMaxEnvString = size_t{32} * 4096;

bool HasVariable(const CommandWordPlan& word) {
  for (const TemplatePiece& piece : word.pieces) {
    if (piece.is_variable) return true;
  }
  return false;
}

size_t FirstVariableOffset(const CommandWordPlan& word) {
  for (const TemplatePiece& piece : word.pieces) {
    if (piece.is_variable) return piece.offset;
  }
  return 0;
}

bool PlanScript(std::string_view text, size_t index, CommandWordPlan* word,
                CommandProblem* problem) {
  word->script = true;
  TemplateProblem shell;
  if (ReadShellContexts(text, word->pieces, &word->contexts, &shell)) return true;
  *problem = {index, shell.offset, std::move(shell.message)};
  return false;
}

}  // namespace

bool IsMultiLine(std::string_view script) {
  while (!script.empty() && (script.back() == '\n' || script.back() == '\r')) {
    script.remove_suffix(1);
  }
  return script.find('\n') != std::string_view::npos;
}

bool PlanCommand(const Command& run, CommandPlan* plan, CommandProblem* problem) {
  plan->shell_string = !run.is_argv;
  plan->shell.clear();
  if (plan->shell_string) {
    if (run.interpreter.size() > 1) {
      plan->shell = run.interpreter;
    } else {
      plan->shell = {run.interpreter.empty() ? "/bin/sh" : run.interpreter[0],
                     IsMultiLine(run.shell) ? "-ec" : "-c"};
    }
  }
  plan->words.clear();
  std::vector<std::string_view> texts;
  if (run.is_argv) {
    texts.assign(run.argv.begin(), run.argv.end());
  } else {
    texts.push_back(run.shell);
  }
  plan->words.resize(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string err;
    size_t offset = 0;
    if (!ParseTemplate(texts[i], &plan->words[i].pieces, &err, &offset)) {
      *problem = {i, offset, std::move(err)};
      return false;
    }
  }
  if (!run.is_argv) return PlanScript(texts[0], 0, &plan->words[0], problem);

  std::vector<std::optional<std::string_view>> known;
  for (size_t i = 0; i < texts.size(); ++i) {
    known.push_back(HasVariable(plan->words[i]) ? std::nullopt
                                                : std::optional<std::string_view>(texts[i]));
  }
  CodeArgument code = FindCodeArgument(known);
  if (!code.found()) return true;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!code.IsCode(i)) continue;
    CommandWordPlan& word = plan->words[i];
    if (code.posix_shell) {
      if (!PlanScript(texts[i], i, &word, problem)) return false;
      continue;
    }
    if (!HasVariable(word)) continue;
    size_t at = FirstVariableOffset(word);
    std::string_view placeholder = texts[i].substr(at, texts[i].find("}}", at) + 2 - at);
    *problem = {i, at, CodeArgumentMessage(fmt::format("'{}'", placeholder), code)};
    return false;
  }
  return true;
}

bool RenderCommandPlan(const CommandPlan& plan,
                       const std::function<std::string(std::string_view)>& lookup,
                       RenderedArgv* out, std::string* err) {
  out->argv.clear();
  out->values.clear();
  if (plan.shell_string) out->argv = plan.shell;
  std::map<std::string_view, std::string> env_of;  // variable → its environment variable
  std::map<std::string, std::string_view> taken;   // environment variable → its variable
  for (const CommandWordPlan& word : plan.words) {
    std::string& text = out->argv.emplace_back();
    for (size_t i = 0; i < word.pieces.size(); ++i) {
      const TemplatePiece& piece = word.pieces[i];
      if (!piece.is_variable) {
        text += piece.text;
        continue;
      }
      if (!word.script) {
        text += lookup(piece.text);
        continue;
      }
      auto known = env_of.find(piece.text);
      if (known == env_of.end()) {
        // artifact.a-b and artifact.a_b would share a name: the later one gets a suffix.
        std::string base = ValueVariableName(piece.text), name = base;
        for (int n = 2; taken.count(name) && taken[name] != piece.text; ++n) {
          name = fmt::format("{}_{}", base, n);
        }
        std::string value = lookup(piece.text);
        if (name.size() + 2 + value.size() > kMaxEnvString) {
          *err = fmt::format(
              "the value of '{{{{{}}}}}' is {} bytes, more than an environment variable can "
              "hold ({} bytes); pass it in a file instead",
              piece.text, value.size(), kMaxEnvString - name.size() - 2);
          return false;
        }
        taken[name] = piece.text;
        known = env_of.emplace(piece.text, name).first;
        out->values.emplace_back(name, std::move(value));
      }
      text += ShellReference(word.contexts[i], known->second);
    }
  }
  return true;
}

}  // namespace mex
