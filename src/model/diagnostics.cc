#include "model/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>

namespace mex {

void Diagnostics::Error(Pos pos, std::string message) {
  errors_.push_back({pos, std::move(message)});
}

std::string Diagnostics::Format() const {
  std::vector<Diagnostic> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.col < b.pos.col;
  });
  std::string out;
  for (const Diagnostic& d : sorted) {
    if (d.pos.line == 0) {
      out += fmt::format("{}: error: {}\n", file_, d.message);
    } else {
      out += fmt::format("{}:{}:{}: error: {}\n", file_, d.pos.line, d.pos.col, d.message);
    }
  }
  return out;
}

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string ClosestMatch(std::string_view word, const std::vector<std::string_view>& candidates) {
  // Like Ninja's SpellcheckString: a suggestion only when it is plausibly a typo.
  size_t limit = std::max<size_t>(2, word.size() / 3);
  size_t best = limit + 1;
  std::string_view match;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best) {
      best = d;
      match = c;
    }
  }
  return std::string(match);
}

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string match = ClosestMatch(word, candidates);
  return match.empty() ? "" : fmt::format(" (did you mean '{}'?)", match);
}

}  // namespace mex
