// `mex run --json`: one JSON object per event and line (schema in docs/events.md).
#pragma once

#include <cstdio>

#include "engine/events.h"

namespace mex {

class NdjsonReporter : public EventSink {
 public:
  explicit NdjsonReporter(FILE* out) : out_(out) {}
  void OnEvent(const Event& event) override;

 private:
  FILE* out_;
};

}  // namespace mex
