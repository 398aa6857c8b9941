// One line per state change, for a terminal or a log (the live view of report/live.h prints the
// same lines above its block). A failed task's line is followed by the end of its log and where
// its log and failure report are; the summary names every task that failed, was skipped or was
// cancelled.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "engine/events.h"

namespace mex {

// The SGR colours of the plain lines and the live block.
inline constexpr const char* kGreen = "32";
inline constexpr const char* kRed = "1;31";
inline constexpr const char* kYellow = "33";
// `text` in the SGR colour `sgr` ("32"), then back to the terminal's default.
std::string Colored(std::string_view text, const char* sgr);

// Turns events into the plain reporter's lines: one formatter for PlainReporter and LiveReporter.
class PlainLines {
 public:
  // `color`: the words that say how a task or a phase ended are coloured (SGR): done and passed
  // green, FAILED red, retry, stalled, skip and cancel yellow.
  explicit PlainLines(bool quiet = false, bool color = false) : quiet_(quiet), color_(color) {}
  // The lines `event` makes, each ended by '\n'; "" when it makes none. Remembers the tasks that
  // failed, were skipped or cancelled, for the run's summary.
  std::string Format(const Event& event);

 private:
  // `word` in `sgr`'s colour when colour is on.
  std::string Paint(std::string_view word, const char* sgr) const;

  bool quiet_;  // only failures and the summary
  bool color_;
  // The tasks that ended failed, skipped or cancelled, in the order they did, for the summary.
  std::vector<std::string> failed_, skipped_, cancelled_;
};

class PlainReporter : public EventSink {
 public:
  explicit PlainReporter(FILE* out, bool quiet = false, bool color = false)
      : out_(out), lines_(quiet, color) {}
  void OnEvent(const Event& event) override;

 private:
  FILE* out_;
  PlainLines lines_;
};

}  // namespace mex
