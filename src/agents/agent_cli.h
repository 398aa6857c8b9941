// What an agent CLI's result really means (SPEC §4, "Agent presets"): claude, codex and gemini
// exit 0 after work that was not done and exit 1 for causes that need different handling, so the
// attempt's log is read with the rules measured on each CLI (docs/agents.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/milestone.h"
#include "util/folder.h"

namespace mex {

enum class AgentDialect : uint8_t { kNone, kClaude, kCodex, kGemini };

// The dialect of an agent: from the basename of command[0] ("claude", "codex", "gemini"; also a
// path like /usr/local/bin/claude or node_modules/.bin/codex), else kNone (plain exit codes).
AgentDialect DialectOf(const Agent& agent);

struct AgentVerdict {
  bool judged = false;  // true: the dialect's rules decided success/failure and the class below
  bool failed = false;  // with judged: the attempt failed (even on exit 0); false: the agent
                        // reported its work done (a declared output is still to be checked)
  FailureClass failure_class = FailureClass::kLogic;
  std::string reason;  // one line for a person, naming the agent: "claude: API error 429 (rate
                       // limited)", "gemini: exit 53: turn limit reached (model.maxSessionTurns)";
                       // "claude: done" when it reported its work done
  std::optional<double> cost_usd;
  std::optional<int64_t> input_tokens, output_tokens;
};

// Reads the attempt's log (the file at log_path beneath `folder`: at most its last 256 KiB, robust
// to other lines around the JSON, to partial or huge output and to a missing file) for the result
// of `d`. exit_code is -1 when the process did not exit normally (killed by a signal): then only
// cost and usage may be filled and judged stays false. judged stays false too when the dialect
// finds nothing to judge (kNone, text it does not know, exit 0 without a result object), so that
// the engine's default rules apply.
AgentVerdict ReadAgentResult(AgentDialect d, int exit_code, const Folder& folder,
                             const std::string& log_path);

// ReadAgentResult for a log already in memory (the fuzz targets): `log` stands for the tail
// ReadAgentResult would read, so it should hold at most 256 KiB.
AgentVerdict JudgeAgentLog(AgentDialect d, int exit_code, std::string_view log);

}  // namespace mex
