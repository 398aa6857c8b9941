// Prompt and command templates: text with {{variable}} placeholders.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mex {

// One piece of a parsed template: literal text, or the name of a variable.
struct TemplatePiece {
  bool is_variable = false;
  std::string_view text;  // points into the template's source text
  size_t offset = 0;      // byte offset of the piece in the source text
};

// Splits `text` into pieces. Returns false and fills `err` (and `*err_offset`) on an unclosed
// "{{" or an empty variable name. Whitespace inside the braces is ignored: {{ task.id }}.
bool ParseTemplate(std::string_view text, std::vector<TemplatePiece>* pieces, std::string* err,
                   size_t* err_offset);

// Whether `name` is a variable mex knows (SPEC §2). For "artifact.ID", `*artifact_id` gets ID.
bool IsKnownVariable(std::string_view name, std::string_view* artifact_id);

// Every variable name mex knows, for "did you mean" (artifact.ID shown as "artifact.").
const std::vector<std::string_view>& KnownVariables();

// Replaces each variable by lookup(name), as it is: for prompts and argv words, never for text a
// shell reads (model/command_template.h).
std::string RenderTemplate(const std::vector<TemplatePiece>& pieces,
                           const std::function<std::string(std::string_view)>& lookup);

// A single-quoted POSIX shell word that stands for exactly `value` (for text mex prints, such as
// the command lines `mex init` suggests).
std::string ShellQuote(std::string_view value);

}  // namespace mex
