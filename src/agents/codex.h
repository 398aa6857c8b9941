// codex (OpenAI Codex CLI), as the preset runs it: `codex exec --json PROMPT`, a JSONL event per
// line, the last one turn.completed or turn.failed.
#pragma once

#include "agents/agent_cli.h"

namespace mex {

// The caps of codex's own API retries, each the number of retries after the first request.
inline constexpr int kCodexRequestRetries = 1;  // request_max_retries (default 4: 5xx)
inline constexpr int kCodexStreamRetries = 1;   // stream_max_retries (default 5: 5xx, 401, 429)

// CapRetries: `-c model_providers.ID.request_max_retries=1` and `...stream_max_retries=1`, for
// the provider its config.toml (CODEX_HOME, else HOME/.codex) selects, unless that file or the
// command sets them; codex refuses any setting of its built-in providers (openai, oss, ollama,
// lmstudio), so those keep their defaults.
const AgentCli& CodexCli();

}  // namespace mex
