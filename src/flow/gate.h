// Gates (SPEC §3): a phase's score against its criteria once its tasks are over, and the
// validation file of SPEC §5 that says what is missing in words a person can act on.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/milestone.h"
#include "model/run_files.h"

namespace mex {

struct GateCheck {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct CriterionResult {
  std::string name;  // "kiro_decisions", "artifact: spec", "command: make test"
  double weight = 1;
  double score = 0;  // 0..1: the share of its checks that passed (tasks_succeeded: of the tasks)
  bool passed = false;
  std::string detail;
  std::vector<GateCheck> checks;  // tasks_succeeded: only the tasks that did not succeed
};

struct GateResult {
  std::string phase;
  double score = 0;  // passed weight / total weight
  double min_score = 1;
  bool passed = false;
  std::vector<CriterionResult> criteria;
  std::vector<std::string> missing;  // one sentence per thing to fix
};

// The gate a phase is scored against: its own, or, without one, all its tasks succeeded.
Gate EffectiveGate(const Phase& phase);

// A `command` criterion: the engine runs it (in the workspace, through /bin/sh -c) after the
// phase's tasks are over and before it scores the gate.
struct GateCommand {
  size_t criterion = 0;  // index into EffectiveGate(phase).criteria
  std::string command;
};
std::vector<GateCommand> GateCommands(const Phase& phase);

struct GateInputs {
  const Milestone* milestone = nullptr;
  const RunPaths* paths = nullptr;
  size_t phase = 0;
  struct TaskEnd {
    std::string id;
    bool succeeded = false;
    std::string state;   // its final state
    std::string reason;  // why it failed, was skipped or cancelled
  };
  std::vector<TaskEnd> tasks;  // the phase's tasks
  struct CommandEnd {
    bool passed = false;  // exited 0
    std::string detail;   // "exit 1, see validation/execute.2.log"
  };
  std::vector<CommandEnd> commands;  // one per GateCommands(phase), in its order
};

GateResult EvaluateGate(const GateInputs& in);

// The validation file: {"phase","score","min_score","passed","criteria":[{"name","weight",
// "score","passed","detail","checks"}],"missing"}.
nlohmann::ordered_json ValidationJson(const GateResult& result);

// What {{gate.missing}} says to the tasks of a phase run again after its gate failed.
std::string MissingText(const GateResult& result);

}  // namespace mex
