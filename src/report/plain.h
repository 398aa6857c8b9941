// One line per state change, for a terminal or a log (the live display comes later). A failed
// task's line is followed by the end of its log and where its log and failure report are; the
// summary names every task that failed, was skipped or was cancelled.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "engine/events.h"

namespace mex {

class PlainReporter : public EventSink {
 public:
  explicit PlainReporter(FILE* out, bool quiet = false) : out_(out), quiet_(quiet) {}
  void OnEvent(const Event& event) override;

 private:
  FILE* out_;
  bool quiet_;  // only failures and the summary
  // The tasks that ended failed, skipped or cancelled, in the order they did, for the summary.
  std::vector<std::string> failed_, skipped_, cancelled_;
};

}  // namespace mex
