// Agents: how each coding-agent CLI is called. The presets are what `agent: claude` (or codex,
// gemini, demo) means without an `agents:` entry; an entry of the same name replaces the preset.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/milestone.h"

namespace mex {

// The agent a milestone means by `name`: its own `agents:` entry, else the preset, else null.
const Agent* FindAgent(const Milestone& m, std::string_view name);

// The name of the agent a prompt task runs: its own `agent`, else the milestone's default.
// REQUIRES: task.has_prompt().
const std::string& AgentName(const Milestone& m, const Task& task);

// Why the program of `agent` cannot be started, or "" when it can: a program named with a slash
// must be executable relative to `workspace`, any other must be found in mex's PATH (as
// posix_spawnp looks for it). Checked when a phase starts, so that a missing agent CLI fails its
// tasks at once as permanent, not after a timeout.
std::string MissingProgram(const Agent& agent, const std::string& workspace);

// The names of the presets, for "did you mean".
std::vector<std::string_view> PresetNames();

// The preset of that name, or null.
const Agent* FindPreset(std::string_view name);

}  // namespace mex
