// Source positions and the errors found in a milestone file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mex {

// A place in a source file, 1-based. line == 0 means "unknown".
struct Pos {
  uint32_t line = 0;
  uint32_t col = 0;
};

struct Diagnostic {
  Pos pos;
  std::string message;
};

// Collects every error of one file so they can be reported in one pass.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void Error(Pos pos, std::string message);
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::string& file() const { return file_; }

  // Errors sorted by position, each as "FILE:LINE:COL: error: MESSAGE\n", for a terminal:
  // control characters of FILE and MESSAGE shown as '?' (util/terminal_text.h).
  std::string Format() const;

 private:
  std::string file_;
  std::vector<Diagnostic> errors_;
};

// Line and column of byte offsets in a source text, and back. Built on first use: only error
// paths need it.
class SourceText {
 public:
  explicit SourceText(std::string_view text) : text_(text) {}
  std::string_view text() const { return text_; }
  Pos PosOf(size_t offset);
  // The byte offset of `pos`, or npos when it is not in the text.
  size_t OffsetOf(Pos pos);

 private:
  void Index();
  std::string_view text_;
  std::vector<size_t> line_starts_;
};

// The candidate closest to `word` by edit distance, or "" when none is close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace mex
