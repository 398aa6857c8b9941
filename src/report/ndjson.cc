#include "report/ndjson.h"

#include <nlohmann/json.hpp>

namespace mex {

nlohmann::ordered_json EventToJson(const Event& e) {
  nlohmann::ordered_json j = {{"event", EventKindName(e.kind)}, {"time", e.time}, {"run", e.run}};
  if (!e.phase.empty()) j["phase"] = e.phase;
  if (!e.task.empty()) {
    j["task"] = e.task;
    j["attempt"] = e.attempt;
    j["max_attempts"] = e.max_attempts;
  }
  switch (e.kind) {
    case EventKind::kRunStarted:
      j["resumed"] = e.resumed;
      j["kept"] = e.succeeded;
      break;
    case EventKind::kTaskStarted:
      j["log"] = e.log;
      break;
    case EventKind::kTaskRetry:
      j["class"] = e.failure_class;
      j["reason"] = e.reason;
      j["delay_s"] = e.delay_s;
      j["elapsed_s"] = e.elapsed_s;
      break;
    case EventKind::kTaskFailed:
      j["class"] = e.failure_class;
      j["reason"] = e.reason;
      j["elapsed_s"] = e.elapsed_s;
      break;
    case EventKind::kTaskSucceeded:
      j["elapsed_s"] = e.elapsed_s;
      break;
    case EventKind::kTaskWaiting:
    case EventKind::kTaskSkipped:
    case EventKind::kTaskCancelled:
    case EventKind::kInterrupted:
      j["reason"] = e.reason;
      break;
    case EventKind::kPhaseStarted:
      j["progress"] = e.progress;
      j["added"] = e.added;
      if (e.added > 0) j["from"] = e.reason;
      j["kept"] = e.succeeded;
      break;
    case EventKind::kGateCommand:
      j["command"] = e.reason;
      j["log"] = e.log;
      break;
    case EventKind::kPhaseFinished:
      j["passed"] = e.passed;
      j["score"] = e.score;
      j["min_score"] = e.min_score;
      j["progress"] = e.progress;
      j["missing"] = e.missing;
      if (!e.reason.empty()) j["reason"] = e.reason;
      break;
    case EventKind::kPhaseRerun:
      j["rerun"] = e.attempt;
      j["max_reruns"] = e.max_attempts;
      j["reason"] = e.reason;
      break;
    case EventKind::kBudgetSpent:
      j["cost_usd"] = e.cost_usd;
      j["reason"] = e.reason;
      break;
    case EventKind::kRunFinished:
      j["result"] = e.reason;
      j["exit_code"] = e.exit_code;
      j["elapsed_s"] = e.elapsed_s;
      j["succeeded"] = e.succeeded;
      j["failed"] = e.failed;
      j["skipped"] = e.skipped;
      j["cancelled"] = e.cancelled;
      j["cost_usd"] = e.cost_usd;
      break;
    default:
      break;
  }
  return j;
}

void NdjsonReporter::OnEvent(const Event& e) {
  std::string line = EventToJson(e).dump() + "\n";
  fwrite(line.data(), 1, line.size(), out_);
  fflush(out_);
}

}  // namespace mex
