// codex (OpenAI Codex CLI), as the preset runs it: `codex exec --json PROMPT`, a JSONL event per
// line, the last one turn.completed or turn.failed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agents/agent_cli.h"

namespace mex {

// The caps of codex's own API retries, each the number of retries after the first request.
inline constexpr int kCodexRequestRetries = 1;  // request_max_retries (default 4: 5xx)
inline constexpr int kCodexStreamRetries = 1;   // stream_max_retries (default 5: 5xx, 401, 429)

// The -c setting that, off, stops codex reconnecting for ever when nothing answers.
inline constexpr std::string_view kCodexUnboundedReconnect =
    "features.unbounded_connection_retries=";

namespace agents {

// AgentCli::cap_retries: `-c model_providers.ID.request_max_retries=1` and
// `...stream_max_retries=1`, for the provider its config.toml (CODEX_HOME, else HOME/.codex)
// selects, unless that file or the command sets them; codex refuses any setting of its built-in
// providers (openai, oss, ollama, lmstudio), so those keep their defaults. And, for any provider
// unless the command sets it, `-c features.unbounded_connection_retries=false`: without it codex
// with no server to reach reconnects for ever.
void CapCodexRetries(std::vector<std::string>* argv, std::vector<std::string>* env);

// AgentCli::judge, by what codex was seen to print (docs/agents.md).
AgentVerdict JudgeCodex(int exit_code, std::string_view log);

}  // namespace agents
}  // namespace mex
