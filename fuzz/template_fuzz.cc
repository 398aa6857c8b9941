// Templates: ParseTemplate on the input, then RenderTemplate and ShellQuote on what it parsed;
// then the input as a `run:` script (model/command_template.h): the shell reader, and the promise
// that no value is ever text of a script.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/require.h"
#include "model/command_template.h"
#include "model/template.h"

namespace {

// The word /bin/sh reads from `quoted`, or false when it is not one word made only of quoted
// text: outside quotes a backslash takes the next byte as it is, inside '...' every byte is itself.
bool ShellWord(std::string_view quoted, std::string* word) {
  bool in_quotes = false;
  for (size_t i = 0; i < quoted.size(); ++i) {
    char c = quoted[i];
    if (in_quotes) {
      if (c == '\'') {
        in_quotes = false;
      } else {
        *word += c;
      }
    } else if (c == '\'') {
      in_quotes = true;
    } else if (c == '\\' && i + 1 < quoted.size()) {
      *word += quoted[++i];
    } else {
      return false;  // a byte the shell would interpret: a space, $, `, ;, ...
    }
  }
  return !in_quotes;
}

constexpr std::string_view kValue = "\x01mex-value\x02";

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The input as the script of `run: "..."` and of `[sh, -c, SCRIPT, ARG]` with the script as ARG
// too: a script that plans renders every value as a reference, an argument as the value itself.
// `in_literals` is how often the value's bytes stand in the template's literal pieces, each counted
// on its own: the input may hold them inside a placeholder's name too, which renders as a
// reference.
void CheckAsCommand(std::string_view text, size_t in_literals) {
  using mex::fuzz::Require;
  auto value = [&](std::string_view) { return std::string(kValue); };
  mex::Command script;
  script.shell = std::string(text);
  mex::Command argv;
  argv.is_argv = true;
  argv.argv = {"sh", "-c", std::string(text), std::string(text)};
  for (const mex::Command* run : {&script, &argv}) {
    mex::CommandPlan plan;
    mex::CommandProblem problem;
    if (!mex::PlanCommand(*run, &plan, &problem)) {
      Require(!problem.message.empty(), "a refused command says why");
      continue;
    }
    mex::RenderedArgv out;
    std::string err;
    Require(mex::RenderCommandPlan(plan, value, &out, &err), "a small value can be rendered");
    const std::string& rendered = out.argv[2];
    Require(Count(rendered, kValue) == in_literals, "a script never holds a value");
    for (const auto& [name, v] : out.values) {
      Require(v == kValue && name.starts_with("MEX_"), "a script's values are in MEX_ variables");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mex::fuzz::Require;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string word;
  Require(ShellWord(mex::ShellQuote(text), &word) && word == text,
          "ShellQuote gives one shell word that stands for exactly its value");

  std::vector<mex::TemplatePiece> pieces;
  std::string err;
  size_t err_offset = 0;
  if (!mex::ParseTemplate(text, &pieces, &err, &err_offset)) {
    Require(!err.empty() && err_offset < size, "a template error says what and where");
    return 0;
  }
  size_t end = 0;
  std::string literal;
  size_t value_in_literals = 0;
  for (const mex::TemplatePiece& piece : pieces) {
    Require(piece.offset >= end && piece.offset < size, "pieces come in order, inside the text");
    Require(piece.text.data() >= text.data() &&
                piece.text.data() + piece.text.size() <= text.data() + size,
            "a piece's text points into the template");
    if (!piece.is_variable) {
      Require(text.substr(piece.offset, piece.text.size()) == piece.text,
              "a literal piece is the text at its offset");
      literal += piece.text;
      value_in_literals += Count(piece.text, kValue);
    }
    end = piece.offset + piece.text.size();
    std::string_view artifact_id;
    mex::IsKnownVariable(piece.text, &artifact_id);
  }
  auto name = [](std::string_view variable) { return std::string(variable); };
  auto nothing = [](std::string_view) { return std::string(); };
  Require(mex::RenderTemplate(pieces, nothing) == literal,
          "rendering keeps the literal text and puts values in place of the variables");
  mex::RenderTemplate(pieces, name);
  CheckAsCommand(text, value_in_literals);
  return 0;
}
