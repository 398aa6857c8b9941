// gemini (Gemini CLI), as the preset runs it: `gemini -o json -p PROMPT`, one object at the end
// of its output ({session_id, response, stats} on stdout, or {error} on stderr).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agents/agent_cli.h"

namespace mex::agents {

// AgentCli::cap_retries: nothing. gemini's retries are general.maxAttempts in a settings file only,
// and the two a caller could name (GEMINI_CLI_SYSTEM_SETTINGS_PATH,
// GEMINI_CLI_SYSTEM_DEFAULTS_PATH) are skipped unless root owns the file and every folder above it,
// none of them writable by others; the other two are the user's ~/.gemini/settings.json and the
// project's .gemini/settings.json, which mex does not write. docs/agents.md asks the user to set
// it.
void CapGeminiRetries(std::vector<std::string>* argv, std::vector<std::string>* env);

// AgentCli::judge, by what gemini was seen to print (docs/agents.md).
AgentVerdict JudgeGemini(int exit_code, std::string_view log);

}  // namespace mex::agents
