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

  // Errors sorted by position, each as "FILE:LINE:COL: error: MESSAGE\n".
  std::string Format() const;

 private:
  std::string file_;
  std::vector<Diagnostic> errors_;
};

// The candidate closest to `word` by edit distance, or "" when none is close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace mex
