#include "agents/agents.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace mex {

namespace {

const std::vector<Agent>& Presets() {
  // Every agent runs with stdin at /dev/null or closed after the prompt: codex waits forever on
  // an open pipe. codex and gemini take the prompt as an argument, claude on stdin. Each may
  // write files in its workspace, none may run any command it likes (docs/agents.md): claude
  // edits files, codex writes inside its workspace sandbox, gemini's edit tools are approved.
  // claude prints stream-json, a line per message as it comes, so that a long session is not
  // taken for a stalled one; codex prints --json, the only form with its token usage.
  static const std::vector<Agent> kPresets = {
      {"claude",
       {"claude", "-p", "--output-format", "stream-json", "--verbose", "--permission-mode",
        "acceptEdits"},
       PromptVia::kStdin,
       {},
       {}},
      {"codex", {"codex", "exec", "--json", "-s", "workspace-write"}, PromptVia::kArg, {}, {}},
      {"gemini",
       {"gemini", "-o", "json", "--approval-mode", "auto_edit", "-p"},
       PromptVia::kArg,
       {},
       {}},
      // The quickstart's offline agent, beside the milestone (`mex init --agent demo` writes it).
      {"demo", {"./demo-agent"}, PromptVia::kFile, {}, {}},
  };
  return kPresets;
}

}  // namespace

std::vector<std::string_view> PresetNames() {
  std::vector<std::string_view> names;
  for (const Agent& preset : Presets()) names.push_back(preset.name);
  return names;
}

const Agent* FindPreset(std::string_view name) {
  for (const Agent& preset : Presets()) {
    if (preset.name == name) return &preset;
  }
  return nullptr;
}

std::string MissingProgram(const Agent& agent, const std::string& workspace) {
  if (agent.command.empty()) return fmt::format("agent '{}' has no command", agent.name);
  const std::string& program = agent.command.front();
  if (program.find('/') != std::string::npos) {
    std::string path = program.front() == '/' ? program : workspace + "/" + program;
    if (access(path.c_str(), X_OK) == 0) return "";
    return fmt::format("agent '{}': program {} is missing or not executable", agent.name, path);
  }
  const char* env = std::getenv("PATH");
  std::string_view dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string path = (dir.empty() ? workspace : dir) + "/" + program;
    if (access(path.c_str(), X_OK) == 0) return "";
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return fmt::format(
      "agent '{}': program '{}' is not in PATH (install it, or give the agent's "
      "command in the milestone's agents:)",
      agent.name, program);
}

const std::string& AgentName(const Milestone& m, const Task& task) {
  const std::string& own = task.details()->agent;
  return own.empty() ? m.defaults.agent : own;
}

const Agent* FindAgent(const Milestone& m, std::string_view name) {
  auto it = m.agents.find(std::string(name));
  if (it != m.agents.end()) return &it->second;
  return FindPreset(name);
}

}  // namespace mex
