// One line per state change, for a terminal or a log (the live display comes later).
#pragma once

#include <cstdio>

#include "engine/events.h"

namespace mex {

class PlainReporter : public EventSink {
 public:
  explicit PlainReporter(FILE* out, bool quiet = false) : out_(out), quiet_(quiet) {}
  void OnEvent(const Event& event) override;

 private:
  FILE* out_;
  bool quiet_;  // only failures and the summary
};

}  // namespace mex
