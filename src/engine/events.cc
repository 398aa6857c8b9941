#include "engine/events.h"

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

}  // namespace mex
