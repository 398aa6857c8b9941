// Templates: ParseTemplate on the input, then RenderTemplate and ShellQuote on what it parsed.
// A thin caller on purpose: how `run:` values reach the shell is being rewritten in
// model/template.{h,cc}; add a call here for each function that appears.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/require.h"
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
  for (const mex::TemplatePiece& piece : pieces) {
    Require(piece.offset >= end && piece.offset < size, "pieces come in order, inside the text");
    Require(piece.text.data() >= text.data() &&
                piece.text.data() + piece.text.size() <= text.data() + size,
            "a piece's text points into the template");
    if (!piece.is_variable) {
      Require(text.substr(piece.offset, piece.text.size()) == piece.text,
              "a literal piece is the text at its offset");
      literal += piece.text;
    }
    end = piece.offset + piece.text.size();
    std::string_view artifact_id;
    mex::IsKnownVariable(piece.text, &artifact_id);
  }
  auto name = [](std::string_view variable) { return std::string(variable); };
  auto nothing = [](std::string_view) { return std::string(); };
  Require(mex::RenderTemplate(pieces, nothing, nullptr) == literal,
          "rendering keeps the literal text and puts values in place of the variables");
  mex::RenderTemplate(pieces, name, mex::ShellQuote);
  return 0;
}
