// The KIRO milestone that `mex init` writes (SPEC §1, §2), and the offline demo agent it writes
// beside the milestone for `--agent demo`. examples/quickstart/ holds the demo variant: its
// milestone.yaml is KiroMilestone("demo") byte for byte, and its demo-agent is compiled in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mex {

// The agents `mex init --agent` takes: the presets claude, codex and gemini, and demo.
const std::vector<std::string_view>& InitAgentNames();

// The milestone file for `agent`, one of InitAgentNames() (anything else gets "").
std::string KiroMilestone(std::string_view agent);

// The bytes of examples/quickstart/demo-agent, embedded at build time.
std::string_view DemoAgentScript();

}  // namespace mex
