// One line per state change, for a terminal or a log (the live view of report/live.h prints the
// same lines above its block). A failed task's line is followed by the end of its log and where
// its log and failure report are; the summary names every task that failed, was skipped or was
// cancelled.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "engine/events.h"

namespace mex {

// Turns events into the plain reporter's lines: one formatter for PlainReporter and LiveReporter.
class PlainLines {
 public:
  explicit PlainLines(bool quiet = false) : quiet_(quiet) {}
  // The lines `event` makes, each ended by '\n'; "" when it makes none. Remembers the tasks that
  // failed, were skipped or cancelled, for the run's summary.
  std::string Format(const Event& event);

 private:
  bool quiet_;  // only failures and the summary
  // The tasks that ended failed, skipped or cancelled, in the order they did, for the summary.
  std::vector<std::string> failed_, skipped_, cancelled_;
};

class PlainReporter : public EventSink {
 public:
  explicit PlainReporter(FILE* out, bool quiet = false) : out_(out), lines_(quiet) {}
  void OnEvent(const Event& event) override;

 private:
  FILE* out_;
  PlainLines lines_;
};

}  // namespace mex
