#include "flow/agents.h"

#include <vector>

namespace mex {

namespace {

const std::vector<Agent>& Presets() {
  // Every agent runs with stdin at /dev/null or closed after the prompt: codex waits forever on
  // an open pipe. codex and gemini take the prompt as an argument, claude on stdin.
  static const std::vector<Agent> kPresets = {
      {"claude", {"claude", "-p", "--output-format", "json"}, PromptVia::kStdin, {}},
      {"codex", {"codex", "exec"}, PromptVia::kArg, {}},
      {"gemini", {"gemini", "-o", "json", "-p"}, PromptVia::kArg, {}},
      {"demo", {"mex-demo-agent"}, PromptVia::kFile, {}},
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

const Agent* FindAgent(const Milestone& m, std::string_view name) {
  auto it = m.agents.find(std::string(name));
  if (it != m.agents.end()) return &it->second;
  return FindPreset(name);
}

}  // namespace mex
