#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "commands/commands.h"
#include "commands/load.h"
#include "plan/roadmap.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

struct Marked {
  std::vector<bool> task;                        // on the critical path
  std::set<std::pair<uint32_t, uint32_t>> edge;  // (dep, dependent) along it
};

Marked MarkCriticalPath(const Milestone& m, const Roadmap& r) {
  Marked marked;
  marked.task.assign(m.tasks.size(), false);
  for (size_t i = 0; i < r.critical_path.size(); ++i) {
    marked.task[r.critical_path[i]] = true;
    if (i > 0) marked.edge.emplace(r.critical_path[i - 1], r.critical_path[i]);
  }
  return marked;
}

// `text` as a DOT string in double quotes. Inside them only '"' and '\' take a backslash: "\\" is
// one backslash in a label, and a lone one before the closing quote would swallow it. '<', '>',
// '{', '}' and '|' mean something only to record shapes and HTML labels, which mex does not use.
// A control character becomes '?': the output goes to a terminal as often as to dot.
std::string DotString(std::string_view text) {
  std::string out = "\"";
  for (char c : TerminalSafeLine(text)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// `text` inside a mermaid label in double quotes. Mermaid decodes entity codes ("#35;") there, so
// '#' is written as one, and so are '"' (it would end the label), '<', '>', '&' (labels are HTML)
// and '`' (it starts a markdown label).
std::string MermaidLabel(std::string_view text) {
  std::string out;
  for (char c : TerminalSafeLine(text)) {
    if (std::string_view("\"#<>&`").find(c) != std::string_view::npos) {
      out += fmt::format("#{};", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out;
}

void PrintDot(const Milestone& m, const Graph& g, const Marked& cp) {
  fmt::print("digraph {} {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", DotString(m.id));
  for (size_t p = 0; p < m.phases.size(); ++p) {
    const Phase& phase = m.phases[p];
    fmt::print("  subgraph {} {{\n    label={};\n", DotString("cluster_" + phase.name),
               DotString(fmt::format("{} ({:g}%)", phase.name, phase.weight)));
    for (uint32_t t : phase.tasks) {
      fmt::print("    {}{};\n", DotString(m.tasks[t].id),
                 cp.task[t] ? " [color=red, penwidth=2, fontcolor=red]" : "");
    }
    fmt::print("  }}\n");
  }
  for (uint32_t t = 0; t < g.size(); ++t) {
    for (uint32_t dep : g.deps(t)) {
      fmt::print("  {} -> {}{};\n", DotString(m.tasks[dep].id), DotString(m.tasks[t].id),
                 cp.edge.count({dep, t}) ? " [color=red, penwidth=2]" : "");
    }
  }
  fmt::print("}}\n");
}

void PrintMermaid(const Milestone& m, const Graph& g, const Marked& cp) {
  // Mermaid ids are generated (n0, n1, ...): task ids may hold '.' and '-'.
  fmt::print("flowchart LR\n");
  for (size_t p = 0; p < m.phases.size(); ++p) {
    fmt::print("  subgraph phase{}[\"{}\"]\n", p,
               MermaidLabel(fmt::format("{} ({:g}%)", m.phases[p].name, m.phases[p].weight)));
    for (uint32_t t : m.phases[p].tasks) {
      fmt::print("    n{}[\"{}\"]\n", t, MermaidLabel(m.tasks[t].id));
    }
    fmt::print("  end\n");
  }
  size_t edge_index = 0;
  std::vector<size_t> critical_edges;
  for (uint32_t t = 0; t < g.size(); ++t) {
    for (uint32_t dep : g.deps(t)) {
      fmt::print("  n{} --> n{}\n", dep, t);
      if (cp.edge.count({dep, t})) critical_edges.push_back(edge_index);
      ++edge_index;
    }
  }
  std::string nodes;
  for (uint32_t t = 0; t < m.tasks.size(); ++t) {
    if (cp.task[t]) nodes += fmt::format("{}n{}", nodes.empty() ? "" : ",", t);
  }
  fmt::print("  classDef critical stroke:#d00,stroke-width:3px\n");
  if (!nodes.empty()) fmt::print("  class {} critical\n", nodes);
  for (size_t e : critical_edges) fmt::print("  linkStyle {} stroke:#d00,stroke-width:3px\n", e);
}

void PrintJson(const Milestone& m, const Graph& g, const Roadmap& r, const Marked& cp) {
  using json = nlohmann::ordered_json;
  json nodes = json::array();
  json edges = json::array();
  for (uint32_t t = 0; t < m.tasks.size(); ++t) {
    nodes.push_back({{"id", m.tasks[t].id},
                     {"phase", m.phases[m.tasks[t].phase].name},
                     {"effort", m.tasks[t].effort},
                     {"level", r.level[t]},
                     {"critical", static_cast<bool>(cp.task[t])}});
    for (uint32_t dep : g.deps(t)) {
      edges.push_back({{"from", m.tasks[dep].id},
                       {"to", m.tasks[t].id},
                       {"critical", cp.edge.count({dep, t}) > 0}});
    }
  }
  json path = json::array();
  for (uint32_t t : r.critical_path) path.push_back(m.tasks[t].id);
  json out = {{"milestone", m.id},
              {"nodes", std::move(nodes)},
              {"edges", std::move(edges)},
              {"critical_path", {{"length", r.critical_path_length}, {"tasks", std::move(path)}}}};
  fmt::print("{}\n", out.dump(2));
}

}  // namespace

int GraphCommand(const std::string& file, const std::string& format) {
  Milestone m;
  if (!LoadForCommand(file, &m)) return kExitUsage;
  Graph graph(m);
  Roadmap roadmap = ComputeRoadmap(m, graph, m.defaults.max_parallel);
  Marked cp = MarkCriticalPath(m, roadmap);
  if (format == "dot") PrintDot(m, graph, cp);
  if (format == "mermaid") PrintMermaid(m, graph, cp);
  if (format == "json") PrintJson(m, graph, roadmap, cp);
  return kExitOk;
}

}  // namespace mex
