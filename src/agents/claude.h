// claude (Claude Code), as the preset runs it: `claude -p --output-format stream-json`, its
// prompt on stdin, one result object at the end of its output.
#pragma once

#include "agents/agent_cli.h"

namespace mex {

// The cap of claude's own API retries, the number after the first request:
// CLAUDE_CODE_MAX_RETRIES (claude's default: 10).
inline constexpr int kClaudeMaxRetries = 2;

// CapRetries: CLAUDE_CODE_MAX_RETRIES=2 in the environment, unless it is set there already.
const AgentCli& ClaudeCli();

}  // namespace mex
