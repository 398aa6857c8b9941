#include "engine/events.h"

#include <nlohmann/json.hpp>

namespace mex {

std::string_view TaskStateName(TaskState state) {
  switch (state) {
    case TaskState::kPending:
      return "pending";
    case TaskState::kReady:
      return "ready";
    case TaskState::kRunning:
      return "running";
    case TaskState::kRetryWait:
      return "retry_wait";
    case TaskState::kSucceeded:
      return "succeeded";
    case TaskState::kFailed:
      return "failed";
    case TaskState::kSkipped:
      return "skipped";
    case TaskState::kCancelled:
      return "cancelled";
  }
  return "?";
}

bool ParseTaskState(std::string_view name, TaskState* state) {
  for (int s = 0; s <= static_cast<int>(TaskState::kCancelled); ++s) {
    if (TaskStateName(static_cast<TaskState>(s)) == name) {
      *state = static_cast<TaskState>(s);
      return true;
    }
  }
  return false;
}

bool IsFinal(TaskState state) {
  return state == TaskState::kSucceeded || state == TaskState::kFailed ||
         state == TaskState::kSkipped || state == TaskState::kCancelled;
}

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kRunStarted:
      return "run_started";
    case EventKind::kPhaseStarted:
      return "phase_started";
    case EventKind::kTaskStarted:
      return "task_started";
    case EventKind::kTaskStalled:
      return "task_stalled";
    case EventKind::kTaskRetry:
      return "task_retry";
    case EventKind::kTaskWaiting:
      return "task_waiting";
    case EventKind::kTaskQueued:
      return "task_queued";
    case EventKind::kTaskSucceeded:
      return "task_succeeded";
    case EventKind::kTaskFailed:
      return "task_failed";
    case EventKind::kTaskSkipped:
      return "task_skipped";
    case EventKind::kTaskCancelled:
      return "task_cancelled";
    case EventKind::kGateCommand:
      return "gate_command";
    case EventKind::kPhaseFinished:
      return "phase_finished";
    case EventKind::kPhaseRerun:
      return "phase_rerun";
    case EventKind::kBudgetSpent:
      return "budget_spent";
    case EventKind::kInterrupted:
      return "interrupted";
    case EventKind::kRunFinished:
      return "run_finished";
  }
  return "?";
}

std::string_view QueueStateName(QueueState state) {
  switch (state) {
    case QueueState::kPending:
      return "pending";
    case QueueState::kSubmitWait:
      return "submit_wait";
    case QueueState::kUnknown:
      return "unknown";
    case QueueState::kRunning:
      return "running";
  }
  return "?";
}

QueueState QueueStateOf(std::string_view queue_state, std::string_view reason) {
  if (!queue_state.empty()) {
    for (QueueState state : {QueueState::kPending, QueueState::kSubmitWait, QueueState::kUnknown,
                             QueueState::kRunning}) {
      if (QueueStateName(state) == queue_state) return state;
    }
    return QueueState::kUnknown;
  }
  // Written by a mex before `queue_state`: its reason said it.
  if (reason == "running") return QueueState::kRunning;
  if (reason.starts_with("pending")) return QueueState::kPending;
  if (reason.starts_with("waiting")) return QueueState::kSubmitWait;
  return QueueState::kUnknown;
}

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
      if (!e.rerun.empty()) j["rerun"] = e.rerun;
      if (e.followed) {
        j["followed"] = true;
        j["elapsed_s"] = e.elapsed_s;
      }
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
      if (!e.log.empty()) j["log"] = e.log;
      if (!e.report.empty()) j["report"] = e.report;
      break;
    case EventKind::kTaskStalled:
      j["quiet_s"] = e.quiet_s;
      break;
    case EventKind::kTaskQueued:
      j["reason"] = e.reason;
      j["queue_state"] = QueueStateName(e.queue_state);
      if (e.queue_state == QueueState::kRunning) j["queued_s"] = e.elapsed_s;
      break;
    case EventKind::kTaskSucceeded:
      j["elapsed_s"] = e.elapsed_s;
      if (!e.merge.empty()) j["merge"] = e.merge;
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

}  // namespace mex
