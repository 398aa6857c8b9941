// How mex starts an agent CLI it knows (docs/agents.md, "Retries"): each CLI retries a failing
// API call on its own, by default for minutes (claude ~3 min on a 429 or a 401, gemini ~4 min).
// mex caps those retries so that a rate limit or a refused key ends the attempt within seconds
// and mex's own retry, with its classes and backoff, decides what happens next. A few retries
// inside the CLI are kept: they resume a turn without losing the turns before it.
#pragma once

#include <string>

#include "agents/agent_cli.h"
#include "exec/executor.h"

namespace mex {

// The caps, each the number of retries after the first request.
inline constexpr int kClaudeMaxRetries = 2;     // CLAUDE_CODE_MAX_RETRIES (claude's default: 10)
inline constexpr int kCodexRequestRetries = 1;  // request_max_retries (default 4: 5xx)
inline constexpr int kCodexStreamRetries = 1;   // stream_max_retries (default 5: 5xx, 401, 429)

// Caps the API retries of a `d` agent in the attempt `spec` (its argv and env already built),
// unless the user set the cap: in the environment (mex's own, the agent's or the task's env), in
// the command, or in the CLI's own config file.
//  - claude: CLAUDE_CODE_MAX_RETRIES=2 in the environment.
//  - codex: `-c model_providers.ID.request_max_retries=1` and `...stream_max_retries=1`, for the
//    provider its config.toml (CODEX_HOME, else HOME/.codex) selects; codex refuses any setting
//    of its built-in providers (openai, oss, ollama, lmstudio), so those keep their defaults.
//  - gemini: nothing. Its retries are general.maxAttempts in a settings file only, and the two
//    a caller could name (GEMINI_CLI_SYSTEM_SETTINGS_PATH, GEMINI_CLI_SYSTEM_DEFAULTS_PATH) are
//    skipped unless root owns the file and every folder above it, none of them writable by
//    others; the other two are the user's ~/.gemini/settings.json and the project's
//    .gemini/settings.json, which mex does not write. docs/agents.md asks the user to set it.
void CapAgentRetries(AgentDialect d, AttemptSpec* spec);

}  // namespace mex
