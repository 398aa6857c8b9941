#include "model/template.h"

namespace mex {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool ParseTemplate(std::string_view text, std::vector<TemplatePiece>* pieces, std::string* err,
                   size_t* err_offset) {
  pieces->clear();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    if (open > pos) pieces->push_back({false, text.substr(pos, open - pos), pos});
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      *err = "unclosed '{{' in template";
      *err_offset = open;
      return false;
    }
    std::string_view name = Trim(text.substr(open + 2, close - open - 2));
    if (name.empty()) {
      *err = "empty template variable '{{}}'";
      *err_offset = open;
      return false;
    }
    pieces->push_back({true, name, open});
    pos = close + 2;
  }
  if (pos < text.size()) pieces->push_back({false, text.substr(pos), pos});
  return true;
}

const std::vector<std::string_view>& KnownVariables() {
  static const std::vector<std::string_view> kNames = {
      "milestone.id",       "milestone.title", "milestone.goal", "run.id",
      "timestamp",          "phase.name",      "task.id",        "task.title",
      "task.description",   "task.effort",     "output",         "attempt.number",
      "attempt.last_error", "gate.missing",    "workspace",      "artifact."};
  return kNames;
}

bool IsKnownVariable(std::string_view name, std::string_view* artifact_id) {
  constexpr std::string_view kArtifact = "artifact.";
  if (name.starts_with(kArtifact)) {
    *artifact_id = name.substr(kArtifact.size());
    return !artifact_id->empty();
  }
  for (std::string_view known : KnownVariables()) {
    if (known == name && known != kArtifact) return true;
  }
  return false;
}

std::string RenderTemplate(const std::vector<TemplatePiece>& pieces,
                           const std::function<std::string(std::string_view)>& lookup) {
  std::string out;
  for (const TemplatePiece& piece : pieces) {
    if (piece.is_variable) {
      out += lookup(piece.text);
    } else {
      out += piece.text;
    }
  }
  return out;
}

std::string ShellQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

}  // namespace mex
