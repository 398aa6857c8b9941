// claude (Claude Code), as the preset runs it: `claude -p --output-format stream-json`, its
// prompt on stdin, one result object at the end of its output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agents/agent_cli.h"

namespace mex {

// The cap of claude's own API retries, the number after the first request:
// CLAUDE_CODE_MAX_RETRIES (claude's default: 10).
inline constexpr int kClaudeMaxRetries = 2;

namespace agents {

// AgentCli::cap_retries: CLAUDE_CODE_MAX_RETRIES=2 in the environment, unless it is set there
// already.
void CapClaudeRetries(std::vector<std::string>* argv, std::vector<std::string>* env);

// AgentCli::judge, by what claude was seen to print (docs/agents.md).
AgentVerdict JudgeClaude(int exit_code, std::string_view log);

}  // namespace agents
}  // namespace mex
