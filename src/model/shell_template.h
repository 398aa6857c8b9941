// How a template's values reach a shell (SPEC §2, docs/security.md): never as text of the
// script. Where a {{placeholder}} stands in a script that a shell runs, the rendered script refers
// to an environment variable instead, in the form its quoting context needs to keep the value one
// exact word ("${MEX_TASK_TITLE}", with quotes where they are missing), and the attempt's
// environment holds the value. Whatever the value holds (quotes, $(...), backquotes, newlines),
// the shell only ever expands it; it never reads it as code. A placeholder where even an
// expansion runs code (arithmetic, eval, the script of a nested `sh -c`, a variable name) or where
// no expansion happens (a quoted here-document) is refused, with how to write it instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/template.h"

namespace mex {

// Where a placeholder stands in a shell script, which decides what replaces it.
enum class ShellContext : uint8_t {
  kUnquoted,      // a word of a command: "${MEX_X}"
  kDoubleQuoted,  // "...{{x}}...": ${MEX_X}
  kSingleQuoted,  // '...{{x}}...': '"${MEX_X}"' (the quotes closed, the value expanded, reopened)
  kHereDocument,  // the body of a here-document whose delimiter is not quoted: ${MEX_X}
  kComment,       // after #: ${MEX_X}, never expanded
};

struct TemplateProblem {
  size_t offset = 0;  // in the template's text: the placeholder's "{{", or what is wrong
  std::string message;
};

// Reads `text`, parsed into `pieces`, as a script of a POSIX-family shell (sh, dash, bash, zsh;
// bash's syntax is known too) and gives the context of each piece in `contexts` (text pieces get
// kUnquoted). False with `problem` for the first placeholder that stands where its value could
// become code or could not arrive as it is.
bool ReadShellContexts(std::string_view text, const std::vector<TemplatePiece>& pieces,
                       std::vector<ShellContext>* contexts, TemplateProblem* problem);

// The environment variable that carries `variable`'s value into a script: "task.title" →
// MEX_TASK_TITLE, "attempt.number" → MEX_ATTEMPT, "artifact.design-keep" →
// MEX_ARTIFACT_DESIGN_KEEP.
std::string ValueVariableName(std::string_view variable);

// What stands in the script, in `context`, for the value of the environment variable `name`.
std::string ShellReference(ShellContext context, std::string_view name);

}  // namespace mex
