// One function per `mex` command. Each returns the process exit code (SPEC §6).
#pragma once

#include <string>
#include <vector>

namespace mex {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;

int ValidateCommand(const std::string& file);

struct PlanOptions {
  std::string file;
  int jobs = 0;  // 0: the milestone's max_parallel
  bool json = false;
};
int PlanCommand(const PlanOptions& options);

struct RunOptions {
  std::string file;
  int jobs = 0;  // 0: the milestone's max_parallel
  bool new_run = false;
  std::string state_dir;  // "": .mex beside the milestone file
  std::string executor;   // "": the milestone's
  bool json = false;
  bool quiet = false;
  // "auto": the live view when stdout is a terminal and TERM is not dumb; "live"; "plain".
  // --json prints NDJSON whatever this says.
  std::string progress = "auto";
  // "auto": coloured states when stdout is a terminal (TERM not dumb) and NO_COLOR is unset or
  // empty; "always"; "never". --json is never coloured.
  std::string color = "auto";
  bool durable = true;  // false (`-d nostore`): no state.db, no status.json, nothing resumable
  bool apply = false;   // fast-forward the user's branch to the integration branch at the end
  int keep_going = -1;  // -k N: stop starting after N failed tasks, 0 never; -1: on_failure
  std::vector<std::string> force;    // --force: run these (and what needs them) again
  bool force_all = false;            // --force-all: every task
  bool dry_run = false;              // -n: say what would run and why; run and write nothing
  std::vector<std::string> targets;  // TASK...: only these and what they need
};
int RunCommand(const RunOptions& options);

int GraphCommand(const std::string& file, const std::string& format);

struct StatusOptions {
  std::string file;       // "": the latest run of any milestone in .mex of the current folder
  std::string state_dir;  // "": .mex beside the milestone file, or of the current folder
  bool json = false;
};
int StatusCommand(const StatusOptions& options);

struct LogsOptions {
  std::string task;
  std::string file;       // "": the latest run of any milestone in .mex of the current folder
  std::string state_dir;  // "": .mex beside the milestone file, or of the current folder
  std::string run;        // "": the latest run
  int attempt = 0;        // 0: the latest attempt
  bool follow = false;
};
// Exit codes: 0 printed (with follow: until the task or the run ended); 1 the task has no such
// attempt (yet), its log cannot be read, or stdout failed; 2 no run, no such run or task;
// 130 interrupted.
int LogsCommand(const LogsOptions& options);

struct ReportOptions {
  std::string file;       // "": the latest run of any milestone in .mex of the current folder
  std::string state_dir;  // "": .mex beside the milestone file, or of the current folder
  std::string run;        // "": the latest run
  std::string format;     // md, json or trace; "": from the -o name, else md
  std::string output;     // "" or "-": stdout
};
// Exit codes: 0 written; 1 the output could not be written; 2 no run, no such run, or the state
// database cannot be read.
int ReportCommand(const ReportOptions& options);

struct InitOptions {
  std::string dir = ".";         // where milestone.yaml goes; made when missing
  std::string agent = "claude";  // claude, codex, gemini or demo (which also writes demo-agent)
};
int InitCommand(const InitOptions& options);

}  // namespace mex
