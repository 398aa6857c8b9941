// What a failed attempt means (SPEC §4): its class decides whether and how it is retried.
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/executor.h"
#include "model/milestone.h"

namespace mex {

std::string_view FailureClassName(FailureClass c);

// What is known of an attempt once it is over.
struct AttemptOutcome {
  AttemptEnd end;
  std::string log_tail;      // the last 4 KiB of the attempt's log (kLogTailBytes, task_runner.cc)
  std::string output_error;  // non-empty: exit 0 but the declared output is missing or invalid
  // Non-empty: the agent's own result says the attempt failed, whatever its exit code (claude's
  // "is_error": true, gemini's exit codes, ...), as `agent_class`.
  std::string agent_failure;
  FailureClass agent_class = FailureClass::kLogic;
};

struct Classification {
  bool succeeded = false;
  FailureClass failure_class = FailureClass::kLogic;
  std::string reason;  // one line for a person: "exit 127: command not found", "timed out"
};

// The user's rules first (every condition of a rule must hold; a pattern is searched with the
// RE2 the loader compiled, in time linear in the log tail), then what the agent's own result
// says (for an attempt that exited by itself), then the defaults of SPEC §4:
// timeout and stall kill → transient; spawn failure, exit 126/127 → permanent; exit 137, SIGKILL
// not sent by mex, or "No space left on device" / "Cannot allocate memory" / "Too many open
// files" / "Out of memory" in the log tail → resource; rate-limit and network text (429, "rate
// limit", "Connection refused", "Connection reset", "Temporary failure in name resolution",
// "503 Service Unavailable", ...) → transient; invalid output and any other failure → logic.
// An attempt mex cancelled is classed transient (it is not the task's fault).
Classification Classify(const AttemptOutcome& outcome, const std::vector<ClassifyRule>& rules);

// The wait before attempt `next_attempt` (>= 2): min(max, initial * factor^(next_attempt - 2)),
// moved by up to ±jitter of itself. With the defaults: 2 s before attempt 2, 4 s before 3.
double BackoffDelay(const Backoff& backoff, int next_attempt, std::mt19937_64* rng);

}  // namespace mex
