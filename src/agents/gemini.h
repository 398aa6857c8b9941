// gemini (Gemini CLI), as the preset runs it: `gemini -o json -p PROMPT`, one object at the end
// of its output ({session_id, response, stats} on stdout, or {error} on stderr).
#pragma once

#include "agents/agent_cli.h"

namespace mex {

// CapRetries: nothing. gemini's retries are general.maxAttempts in a settings file only, and the
// two a caller could name (GEMINI_CLI_SYSTEM_SETTINGS_PATH, GEMINI_CLI_SYSTEM_DEFAULTS_PATH) are
// skipped unless root owns the file and every folder above it, none of them writable by others;
// the other two are the user's ~/.gemini/settings.json and the project's .gemini/settings.json,
// which mex does not write. docs/agents.md asks the user to set it.
const AgentCli& GeminiCli();

}  // namespace mex
