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

// Replaces each variable by lookup(name). `quote` (may be null) is applied to each substituted
// value, e.g. shell quoting for `run:` strings.
std::string RenderTemplate(const std::vector<TemplatePiece>& pieces,
                           const std::function<std::string(std::string_view)>& lookup,
                           const std::function<std::string(std::string_view)>& quote);

// A single-quoted POSIX shell word that stands for exactly `value`.
std::string ShellQuote(std::string_view value);

}  // namespace mex
