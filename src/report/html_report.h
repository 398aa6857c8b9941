// The report of a run as one self-contained HTML page (docs/report.md): the summary, each phase
// with its gate, a timeline of every attempt, concurrency over time, the task graph and the
// failures, drawn by a small inline script from the report object embedded as JSON. Nothing is
// fetched (a Content-Security-Policy forbids it), and every text that tasks wrote reaches the
// page as text (textContent, attribute values), never as markup.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mex {

// Past this many tasks the page draws the graph by phase and layer, not task by task.
constexpr size_t kHtmlGraphTasks = 300;

// The page for `report` (BuildReport's object).
std::string ReportHtml(const nlohmann::ordered_json& report);

// Exposed for tests.

// A layered drawing of a DAG: each node's layer is the longest path to it from a node without
// deps; within a layer nodes are ordered by the mean position of their deps (one barycenter
// pass, top down), ties by index. O(V + E log E).
struct LayeredLayout {
  std::vector<int> layer;
  std::vector<int> order;  // position within its layer
  int layers = 0;
};
// `deps[v]`: the nodes v depends on. Nodes on a cycle (none in a valid milestone) stay in layer 0.
LayeredLayout LayOutByLayer(const std::vector<std::vector<uint32_t>>& deps);

// `json` as text that is safe inside a <script> element: '<', '>' and '&' written as \u escapes,
// so no "</script>" or "<!--" can appear; JSON.parse reads it back unchanged.
std::string ScriptSafeJson(const nlohmann::ordered_json& json);

}  // namespace mex
