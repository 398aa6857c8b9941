// From a task to the exact process of one attempt: templates rendered, the prompt delivered as
// its agent wants it, the environment and files prepared.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/executor.h"
#include "engine/inputs.h"
#include "model/milestone.h"
#include "model/run_files.h"
#include "util/environment.h"

namespace mex {

struct RunInfo {
  const Milestone* milestone = nullptr;
  RunPaths paths;
  std::string timestamp;              // when the run started, ISO 8601 UTC
  std::vector<std::string> base_env;  // mex's own environment, "NAME=value"
  double kill_grace_s = 5;
  // -k N: start nothing new once N tasks failed in this session; 0: never stop; -1: as the
  // milestone's on_failure says.
  int keep_going = -1;
  // --force, --force-all: these tasks run again whatever their state (and what depends on them).
  std::vector<std::string> force;
  bool force_all = false;
  // `mex run FILE TASK...`: only these tasks and what they need run: the phases before the last
  // of theirs whole, and in that phase the targets and their deps; the run ends with its gate.
  std::vector<std::string> targets;
  // The tasks' `inputs`, found and hashed once as the session starts (engine/inputs.h).
  TaskInputs inputs;
  // The XXH3-64 of each declared output (`output.path`) by task id, "" when the file is not
  // there: taken as the session starts, and again when its task succeeds. A dep's output is an
  // input of the tasks that need it (engine/definition.h).
  std::unordered_map<std::string, std::string> outputs;
};

// What an attempt knows of the ones before it.
struct AttemptHistory {
  int number = 1;            // this attempt's number, from 1
  std::string last_error;    // "" on the first attempt: the previous log tail and its class
  std::string gate_missing;  // "" unless the phase runs again after its gate failed
  // The folder it runs in: its worktree's (engine/workspaces.h), or "" for the milestone's.
  std::string workspace;
  // Earlier attempts of this session that failed for want of a resource (memory): a job asks
  // for more memory after them (resources.mem_retry_factor).
  int resource_failures = 0;
};

// Renders the attempt into `spec` (its key is left to the caller) and prepares its files beneath
// the state folder: the log folder, the prompt file, and the declared output, removed so that a
// stale one from an earlier attempt cannot pass for this one's. Returns false with `err` when
// the attempt cannot start: `err_no` 0 when the task cannot start at all (its command cannot be
// rendered), else the errno of the file operation that failed (ELOOP: a symlink on the way).
bool BuildAttempt(const RunInfo& run, const Task& task, const AttemptHistory& history,
                  AttemptSpec* spec, std::string* err, int* err_no);

// The part of `spec` that says where and how the attempt runs, not what: its log path, limits,
// placement and job request. Touches no file: what a resumed session gives Executor::Adopt for
// an attempt that an earlier one started.
void DescribeAttempt(const RunInfo& run, const Task& task, const AttemptHistory& history,
                     AttemptSpec* spec);

// What an attempt of `task` would run, as one string, without touching any file: the rendered
// command or prompt of a first attempt, the agent's command, the task's cwd, env and declared
// output. Two sessions of a run give the same text for a task exactly when it would do the same.
std::string DefinitionText(const RunInfo& run, const Task& task);

// The absolute path of a task's declared output, or "" when it declares none.
std::string OutputPath(const RunInfo& run, const Task& task);

}  // namespace mex
