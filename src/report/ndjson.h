// `mex run --json`: one JSON object per event and line (schema in docs/events.md).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/events.h"

namespace mex {

// One event as the JSON object of docs/events.md: NDJSON lines and the store's event log.
nlohmann::ordered_json EventToJson(const Event& event);

class NdjsonReporter : public EventSink {
 public:
  explicit NdjsonReporter(FILE* out) : out_(out) {}
  void OnEvent(const Event& event) override;

 private:
  FILE* out_;
};

}  // namespace mex
