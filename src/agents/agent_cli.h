// The coding-agent CLIs mex knows (SPEC §4, "Agent presets"): how mex starts each one and what
// its result really means. claude, codex and gemini exit 0 after work that was not done and exit
// 1 for causes that need different handling, so the attempt's log is read with the rules measured
// on each CLI (docs/agents.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/milestone.h"
#include "util/folder.h"

namespace mex {

struct AgentVerdict {
  bool judged = false;  // true: the CLI's rules decided success/failure and the class below
  bool failed = false;  // with judged: the attempt failed (even on exit 0); false: the agent
                        // reported its work done (a declared output is still to be checked)
  FailureClass failure_class = FailureClass::kLogic;
  std::string reason;  // one line for a person, naming the agent: "claude: API error 429 (rate
                       // limited)", "gemini: exit 53: turn limit reached (model.maxSessionTurns)";
                       // "claude: done" when it reported its work done
  std::optional<double> cost_usd;
  std::optional<int64_t> input_tokens, output_tokens;
};

// How much of an attempt's log ReadAgentResult reads: its last 256 KiB.
inline constexpr size_t kAgentLogTailBytes = 256 * 1024;

// One coding-agent CLI mex knows: how to start it and how to read what it reported. Each is a
// file of its own (claude.cc, codex.cc, gemini.cc) with these two functions, and a line in the
// table of agent_cli.cc.
struct AgentCli {
  std::string_view name;  // the basename of command[0]: "claude"

  // Caps the CLI's own API retries in an attempt whose argv and env are built, unless the user
  // set the cap: in the environment (mex's own, the agent's or the task's env), in the command,
  // or in the CLI's own config file (docs/agents.md, "Retries"). Each CLI retries a failing API
  // call on its own, by default for minutes (claude ~3 min on a 429 or a 401, gemini ~4 min);
  // capped, a rate limit or a refused key ends the attempt within seconds and mex's own retry,
  // with its classes and backoff, decides what happens next. A few retries inside the CLI are
  // kept: they resume a turn without losing the turns before it. Each CLI's header says what it
  // sets.
  void (*cap_retries)(std::vector<std::string>* argv, std::vector<std::string>* env);

  // Judges the tail of an attempt's log, robust to other lines around the JSON, to partial or
  // huge output and to an empty log. `log` stands for the tail ReadAgentResult reads, so it
  // should hold at most kAgentLogTailBytes (the fuzz targets call this on text in memory).
  // exit_code is -1 when the process did not exit normally (killed by a signal): then only cost
  // and usage may be filled and judged stays false. judged stays false too when the CLI finds
  // nothing to judge (text it does not know, exit 0 without a result object), so that the
  // engine's default rules apply.
  AgentVerdict (*judge)(int exit_code, std::string_view log);
};

// The CLI an agent runs, from the basename of its command[0] ("claude", "codex", "gemini"; also a
// path like /usr/local/bin/claude or node_modules/.bin/codex), or null: plain exit codes.
const AgentCli* AgentCliOf(const Agent& agent);

// The CLI of that name, or null.
const AgentCli* FindAgentCli(std::string_view name);

// Reads the attempt's log (the file at log_path beneath `folder`: at most its last
// kAgentLogTailBytes; a file that cannot be read reads as empty) and judges it with `cli`.
AgentVerdict ReadAgentResult(const AgentCli& cli, int exit_code, const Folder& folder,
                             const std::string& log_path);

}  // namespace mex
