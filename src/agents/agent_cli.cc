#include "agents/agent_cli.h"

#include "agents/claude.h"
#include "agents/codex.h"
#include "agents/gemini.h"

namespace mex {
namespace {

// The CLIs mex knows, a line each; each CLI's own file says the rest.
constexpr AgentCli kClis[] = {
    {"claude", agents::CapClaudeRetries, agents::JudgeClaude},
    {"codex", agents::CapCodexRetries, agents::JudgeCodex},
    {"gemini", agents::CapGeminiRetries, agents::JudgeGemini},
};

}  // namespace

const AgentCli* FindAgentCli(std::string_view name) {
  for (const AgentCli& cli : kClis) {
    if (cli.name == name) return &cli;
  }
  return nullptr;
}

const AgentCli* AgentCliOf(const Agent& agent) {
  if (agent.command.empty()) return nullptr;
  std::string_view program = agent.command.front();
  if (size_t slash = program.rfind('/'); slash != std::string_view::npos) {
    program.remove_prefix(slash + 1);
  }
  // npm links node_modules/.bin/claude to bin/claude.exe.
  if (program.ends_with(".exe")) program.remove_suffix(4);
  return FindAgentCli(program);
}

AgentVerdict ReadAgentResult(const AgentCli& cli, int exit_code, const Folder& folder,
                             const std::string& log_path) {
  return cli.judge(exit_code, folder.ReadTail(log_path, kAgentLogTailBytes));
}

}  // namespace mex
