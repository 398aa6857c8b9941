#include "model/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/terminal_text.h"

namespace mex {

void Diagnostics::Error(Pos pos, std::string message) {
  errors_.push_back({pos, std::move(message)});
}

std::string Diagnostics::Format() const {
  std::vector<Diagnostic> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.col < b.pos.col;
  });
  // Messages quote the file's own text (ids, values, patterns): each error stays one clean line.
  std::string file = TerminalSafeLine(file_);
  std::string out;
  for (const Diagnostic& d : sorted) {
    std::string message = TerminalSafeLine(d.message);
    if (d.pos.line == 0) {
      out += fmt::format("{}: error: {}\n", file, message);
    } else {
      out += fmt::format("{}:{}:{}: error: {}\n", file, d.pos.line, d.pos.col, message);
    }
  }
  return out;
}

void SourceText::Index() {
  if (!line_starts_.empty()) return;
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

Pos SourceText::PosOf(size_t offset) {
  Index();
  auto next = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line = static_cast<size_t>(next - line_starts_.begin());  // 1-based
  return {static_cast<uint32_t>(line), static_cast<uint32_t>(offset - line_starts_[line - 1] + 1)};
}

size_t SourceText::OffsetOf(Pos pos) {
  Index();
  if (pos.line == 0 || pos.line > line_starts_.size()) return std::string_view::npos;
  size_t offset = line_starts_[pos.line - 1] + pos.col - 1;
  return offset <= text_.size() ? offset : std::string_view::npos;
}

namespace {

// A suggestion is for a typo in a name: a longer word gets none, which bounds the work (a cell
// per pair of letters) whatever the file holds; two task ids of 10 KB took 2.9 s and 790 MB.
constexpr size_t kMaxSuggestedLength = 256;

// Optimal string alignment distance: like Levenshtein, and a swap of two neighbours ("dpes" for
// "deps") costs one edit, as a typo does.
size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the table: a swap looks two rows back.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, row);
  }
  return previous[b.size()];
}

}  // namespace

std::string ClosestMatch(std::string_view word, const std::vector<std::string_view>& candidates) {
  if (word.size() > kMaxSuggestedLength) return "";
  // A suggestion only when it is plausibly a typo: one edit per three letters, at least one.
  size_t limit = std::max<size_t>(1, word.size() / 3);
  size_t best = limit + 1;
  std::string_view match;
  for (std::string_view c : candidates) {
    // The distance is at least the difference in length: most candidates need no table.
    size_t gap = word.size() > c.size() ? word.size() - c.size() : c.size() - word.size();
    if (gap >= best) continue;
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
