// The milestone: plain structs filled by the loader (SPEC §2). No behaviour lives here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/diagnostics.h"

namespace re2 {
class RE2;
}

namespace mex {

// Whether `id` is a valid task, phase or pool name: [A-Za-z0-9_.-]+, but not "." or "..".
bool IsValidId(std::string_view id);

enum class Schema : uint8_t { kNone, kKiro, kSpec, kTasks };
enum class PromptVia : uint8_t { kStdin, kFile, kArg };
enum class StallAction : uint8_t { kWarn, kKill };
enum class ExecutorKind : uint8_t { kLocal, kSlurm };
enum class OnFailure : uint8_t { kContinue, kStop };
// Where a task's attempts run: the milestone's folder, shared by every task, or a git worktree
// of its own per attempt, merged into the run's integration branch (docs/worktrees.md).
enum class WorkspaceMode : uint8_t { kShared, kWorktree };
enum class FailureClass : uint8_t { kTransient, kResource, kLogic, kPermanent };

struct Backoff {
  double initial_s = 2;
  double factor = 2;
  double max_s = 300;
  double jitter = 0;  // fraction of the delay, 0..1
};

struct RetryPolicy {
  int max_attempts = 3;
  Backoff backoff;

  // A policy with every field unset (-1): a task's `retry:` fills in what it gives, and the rest
  // comes from `defaults` once the whole file is read (in JSON, `defaults` may follow the task).
  static RetryPolicy Unset();
  // Takes each field still unset from `defaults`.
  void InheritUnset(const RetryPolicy& defaults);
};

// Before a retry after a resource failure: wait until this much is free, at most `max_wait_s`.
struct ResourceWait {
  double memory_bytes = 256.0 * 1024 * 1024;  // MemAvailable
  double disk_bytes = 512.0 * 1024 * 1024;    // free space where the workspace is
  double max_wait_s = 600;
};

struct Defaults {
  std::string agent;
  Pos agent_pos;
  int max_parallel = 5;
  double timeout_s = 0;        // 0 = none
  double stall_after_s = 300;  // no output this long = stalled; 0 = never stalled
  StallAction stall_action = StallAction::kWarn;
  ExecutorKind executor = ExecutorKind::kLocal;
  OnFailure on_failure = OnFailure::kContinue;
  RetryPolicy retry;
  ResourceWait resource_wait;
  std::optional<double> budget_usd;
  // An attempt whose log reaches this size is ended (class logic; docs/reliability.md).
  double log_limit_bytes = 1024.0 * 1024 * 1024;
  WorkspaceMode workspace = WorkspaceMode::kShared;
};

struct Agent {
  std::string name;
  std::vector<std::string> command;
  PromptVia prompt_via = PromptVia::kStdin;
  // Set in the environment of each attempt, after mex's own and before the task's `env`.
  std::vector<std::pair<std::string, std::string>> env;
  Pos pos;
};

// A user rule placed before the default classification of SPEC §4. Every condition given must
// hold for the rule to apply.
struct ClassifyRule {
  std::vector<int> exit_codes;
  std::vector<int> signals;
  std::optional<bool> timeout;
  std::string pattern;  // searched in the attempt's log tail (model/classify_pattern.h)
  std::shared_ptr<const re2::RE2> regex;  // `pattern` as the loader compiled it, once
  FailureClass failure_class = FailureClass::kLogic;
  Pos pos;
};

struct OutputSpec {
  std::string path;  // relative to the run's artifact folder
  Schema schema = Schema::kNone;
  Pos pos;
};

// What a task's job asks the cluster for (executor: slurm); 0 or "" is the cluster's default.
struct Resources {
  int cpus = 0;
  std::string mem;  // "2G", "512M"
  double time_s = 0;
  int gpus = 0;
  // After an attempt that ran out of memory (class resource), the next asks for this much more
  // memory each time (mem × factor^n); 0: the same.
  double mem_retry_factor = 0;
};

// The milestone's `slurm:` block: where its jobs go.
struct SlurmDefaults {
  std::string partition;
  std::string account;
  std::string qos;
  std::vector<std::string> args;  // more sbatch options
  // Tasks of one turn that ask for the same go as one job array, array_limit of its elements
  // running at once (0: no limit). On unless the milestone says `arrays: false`: 500 short tasks
  // cost the controller 0.11-0.31 calls per task instead of 1.09-1.17 (docs/performance.md).
  bool arrays = true;
  int array_limit = 0;
};

// What a task runs: a shell string, an argv list, or an agent prompt.
struct Command {
  std::string shell;              // run: "..." (through /bin/sh -c; -ec when it has many lines)
  std::vector<std::string> argv;  // run: [prog, arg...]
  bool is_argv = false;
  Pos pos;
  // The task's `shell:`, the program that runs `shell`: one word (`bash`: `bash -c`, or
  // `bash -ec` for many lines), or the whole of its argv before the script (`[bash, -eo,
  // pipefail, -c]`). Empty: /bin/sh.
  std::vector<std::string> interpreter;
  Pos interpreter_pos;
};

// Fields most tasks of a large DAG do not have, kept apart so a million tasks stay small.
struct TaskDetail {
  std::string title;
  std::string description;
  std::string prompt;
  Pos prompt_pos;
  std::string agent;
  Pos agent_pos;
  std::optional<double> timeout_s;
  std::optional<RetryPolicy> retry;
  std::optional<double> stall_after_s;
  std::optional<StallAction> stall_action;
  std::vector<ClassifyRule> classify;  // tried before its phase's and the milestone's
  OutputSpec output;
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;
  std::string pool;
  Pos pool_pos;
  std::optional<ExecutorKind> executor;
  Resources resources;
  // Processes it leaves behind (a daemon it starts) outlive its attempt; by default they are
  // ended with it.
  bool leave_processes = false;
  std::optional<WorkspaceMode> workspace;  // else its phase's, else defaults'
  // Paths and globs relative to the workspace that the task expects to change
  // (plan/file_overlap.h): tasks whose files overlap are never run at the same time.
  std::vector<std::string> files;
  // Paths and globs relative to its cwd of the files it reads: their contents are part of its
  // definition (engine/inputs.h).
  std::vector<std::string> inputs;
};

// A reference to a task id as written in a file.
struct DepRef {
  uint32_t symbol;  // index into Milestone::symbols
  Pos pos;
};

struct Task {
  std::string_view id;  // owned by Milestone::symbols
  uint32_t symbol = 0;
  uint32_t phase = 0;
  Pos pos;      // where the task's id is written
  Command run;  // empty when the task has a prompt
  std::vector<DepRef> deps;
  bool deps_all = false;  // "all": every other task of the same phase
  Pos deps_all_pos;
  double effort = 1;
  std::unique_ptr<TaskDetail> detail;  // null when the task has none of its fields

  bool has_prompt() const { return detail && !detail->prompt.empty(); }
  const TaskDetail* details() const { return detail.get(); }
  TaskDetail& mutable_detail() {
    if (!detail) detail = std::make_unique<TaskDetail>();
    return *detail;
  }
};

enum class CriterionKind : uint8_t {
  kKiroDecisions,
  kSpecCompleteness,
  kTaskCoverage,
  kTasksSucceeded,
  kArtifact,
  kCommand
};

struct Criterion {
  CriterionKind kind = CriterionKind::kTasksSucceeded;
  std::string argument;  // artifact task id, or the command
  double weight = 1;
  Pos pos;
};

struct Gate {
  double min_score = 1.0;
  std::vector<Criterion> criteria;
  Pos pos;
};

// A task template for dynamic tasks (tasks_from): only prompt/run/agent and friends.
struct TaskTemplate {
  std::string prompt;
  Pos prompt_pos;
  Command run;
  std::string agent;
  Pos agent_pos;
  std::string pool;
  Pos pool_pos;
  Pos pos;
};

struct Phase {
  std::string name;
  Pos pos;
  double weight = 0;
  bool has_weight = false;
  std::optional<Gate> gate;
  int gate_reruns = 0;  // on_gate_fail: {rerun: N}; 0 = stop
  std::string tasks_from;
  Pos tasks_from_pos;
  std::optional<TaskTemplate> task_template;
  std::optional<WorkspaceMode> workspace;  // its tasks', unless a task says otherwise
  std::vector<uint32_t> tasks;             // indices into Milestone::tasks, in file order
  // Its tasks' settings over `defaults`, under a task's own (Milestone::TimeoutOf, ...).
  std::optional<double> timeout_s;
  std::optional<RetryPolicy> retry;
  std::optional<double> stall_after_s;
  std::optional<StallAction> stall_action;
  std::vector<ClassifyRule> classify;  // tried after a task's own, before the milestone's
  std::optional<ExecutorKind> executor;
};

// Interns task ids so that a million of them cost one copy each and compare as integers.
// Names live in an arena as [symbol][length][characters]; the open-addressing table holds, per
// slot, half of the name's hash and the name's arena reference, so that a lookup touches one slot
// and one arena entry.
class SymbolTable {
 public:
  uint32_t Intern(std::string_view name);
  // Brings the slot where `name` goes toward the cache (`record`: the name it holds too, once its
  // slot is in). For a few lookups at once (a task's deps), each prefetched before the first of
  // them, so that their cache misses overlap instead of following one another.
  void Prefetch(std::string_view name, bool record) const;
  // Makes room for `count` more names without growing the table on the way.
  void Reserve(size_t count);
  // Returns the symbol for `name`, or kNone.
  uint32_t Find(std::string_view name) const;
  std::string_view Name(uint32_t symbol) const { return names_[symbol]; }
  size_t size() const { return names_.size(); }
  static constexpr uint32_t kNone = UINT32_MAX;

 private:
  struct Entry;  // arena record header
  const Entry* EntryAt(uint32_t ref) const;
  size_t Slot(std::string_view name, uint64_t hash) const;
  void Grow(size_t min_slots);

  std::vector<std::unique_ptr<char[]>> arena_;  // chunks; names never move
  size_t chunk_used_ = 0, chunk_size_ = 0;
  std::vector<std::string_view> names_;
  std::vector<uint64_t> slots_;  // (hash >> 32) << 32 | (arena reference + 1); 0 = empty
};

struct Milestone {
  std::string file;       // as given on the command line
  std::string workspace;  // the file's folder
  std::string id;
  std::string title;
  std::string goal;
  Defaults defaults;
  std::map<std::string, int> pools;
  std::map<std::string, Agent> agents;  // as declared in the file (presets are added at use)
  SlurmDefaults slurm;
  std::vector<ClassifyRule> classify;
  std::vector<Phase> phases;
  std::vector<Task> tasks;      // every static task, in file order
  bool implicit_phase = false;  // top-level tasks: one "execute" phase of weight 100
  SymbolTable symbols;
  std::vector<uint32_t> task_of_symbol;  // symbol -> task index, or SymbolTable::kNone

  // The task with this id, or null.
  const Task* FindTask(std::string_view task_id) const;
  // Per phase, one past its last task index. Tasks of a phase are contiguous and phases come in
  // file order, so a task of phase p depends on a later phase exactly when the dep's index is at
  // or past PhaseEnds()[p].
  std::vector<uint32_t> PhaseEnds() const;
  // The first phase at or after `from` whose tasks come from another's artifact (tasks_from): its
  // tasks, and those of the phases after it, are known only once it starts. phases.size() if none.
  uint32_t NextPhaseWithTasksFrom(uint32_t from) const;
  // Where `task`'s attempts run: its own `workspace`, else its phase's, else defaults'.
  WorkspaceMode WorkspaceOf(const Task& task) const;
  // The same for `timeout`, `retry` (field by field: the loader fills a task's or a phase's
  // unset fields in from the level above), `stall_after` and `stall_action`.
  double TimeoutOf(const Task& task) const;
  const RetryPolicy& RetryOf(const Task& task) const;
  double StallAfterOf(const Task& task) const;
  StallAction StallActionOf(const Task& task) const;
  // Where `task`'s attempts run: its own `executor`, else its phase's, else defaults'.
  ExecutorKind ExecutorOf(const Task& task) const;
  // Whether some task's attempts run on Slurm.
  bool UsesSlurm() const;
  // The rules that classify `task`'s failures, in the order they are tried: its own, its
  // phase's, the milestone's. `classify` itself when neither the task nor its phase has any.
  const std::vector<ClassifyRule>& ClassifyRulesOf(const Task& task,
                                                   std::vector<ClassifyRule>* scratch) const;
  // Whether some task runs in worktrees.
  bool UsesWorktrees() const;
};

}  // namespace mex
