#include "report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "report/html_page.h"
#include "report/run_report.h"

namespace mex {

namespace {

using json = nlohmann::ordered_json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

double Num(const json& j, const char* key, double fallback = 0) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return fallback;
  return it->get<double>();
}

std::string HtmlEscaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The last `lines` lines of `text`, at most `max` bytes (cut at a character's start).
std::string TailOf(const std::string& text, size_t lines, size_t max) {
  size_t at = text.size();
  size_t end = at;
  while (end > 0 && text[end - 1] == '\n') --end;
  at = end;
  for (size_t n = 0; at > 0; --at) {
    if (text[at - 1] == '\n' && ++n == lines) break;
  }
  if (end - at > max) {
    at = end - max;
    while (at < end && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
  }
  return text.substr(at, end - at);
}

// How an attempt ended, as the timeline colours it.
const char* Outcome(const json& attempt, bool last, const std::string& task_state) {
  std::string end = Str(attempt, "end");
  if (end == "running") return "running";
  if (end == "cancelled" || end == "interrupted") return "cancelled";
  if (end == "exited" && Str(attempt, "class").empty()) return "succeeded";
  if (!last || task_state == "retry_wait" || task_state == "ready" || task_state == "running") {
    return "retried";
  }
  return "failed";
}

// The graph past kHtmlGraphTasks: one node per phase and band of layers, edges counted.
json GroupedGraph(const std::vector<int>& task_phase, const LayeredLayout& layout,
                  const std::vector<std::vector<uint32_t>>& deps, const std::vector<bool>& critical,
                  const std::vector<std::string>& states) {
  int band = std::max(1, (layout.layers + 199) / 200);  // at most 200 columns
  std::map<std::pair<int, int>, int> index;             // (phase, band) -> group
  std::vector<int> group_of(deps.size());
  json groups = json::array();
  struct Tally {
    int phase, column, tasks = 0, succeeded = 0, failed = 0, critical = 0;
  };
  std::vector<Tally> tallies;
  for (size_t v = 0; v < deps.size(); ++v) {
    std::pair<int, int> key{task_phase[v], layout.layer[v] / band};
    auto [it, added] = index.emplace(key, static_cast<int>(tallies.size()));
    if (added) tallies.push_back({key.first, key.second});
    Tally& t = tallies[it->second];
    ++t.tasks;
    t.succeeded += states[v] == "succeeded";
    t.failed += states[v] == "failed";
    t.critical += critical[v] ? 1 : 0;
    group_of[v] = it->second;
  }
  for (const Tally& t : tallies) {
    groups.push_back({t.phase, t.column * band, (t.column + 1) * band - 1, t.tasks, t.succeeded,
                      t.failed, t.critical});
  }
  std::map<std::pair<int, int>, int> edges;
  for (size_t v = 0; v < deps.size(); ++v) {
    for (uint32_t d : deps[v]) {
      if (group_of[d] != group_of[v]) ++edges[{group_of[d], group_of[v]}];
    }
  }
  json edge_list = json::array();
  for (const auto& [key, count] : edges) edge_list.push_back({key.first, key.second, count});
  return {{"mode", "groups"}, {"band", band}, {"groups", groups}, {"edges", edge_list}};
}

// What the page draws, from the report: tasks and attempts as arrays (the page's script names
// their fields), times in integer milliseconds from the run's start, the rows of the timeline
// and the layout of the graph worked out here.
json PageData(const json& r) {
  const json& run = r["run"];
  double t0 = Num(run, "started_at");
  double end =
      run["ended_at"].is_number() ? run["ended_at"].get<double>() : Num(r, "generated_at", t0);
  auto ms = [&](double t) { return static_cast<int64_t>(std::llround((t - t0) * 1000)); };
  int64_t end_ms = std::max<int64_t>(0, ms(end));

  std::vector<std::string> phase_names;
  std::unordered_map<std::string, int> phase_index;
  for (const json& p : r["phases"]) {
    phase_index.emplace(Str(p, "name"), static_cast<int>(phase_names.size()));
    phase_names.push_back(Str(p, "name"));
  }
  const json& tasks = r["tasks"];
  std::unordered_map<std::string, uint32_t> task_index;
  for (const json& t : tasks) task_index.emplace(Str(t, "id"), task_index.size());
  std::unordered_set<std::string> critical_ids;
  if (r["critical_path"].is_object()) {
    for (const json& id : r["critical_path"]["tasks"]) {
      if (id.is_string()) critical_ids.insert(id.get<std::string>());
    }
  }
  size_t n = tasks.size();
  std::vector<std::vector<uint32_t>> deps(n);
  std::vector<bool> critical(n);
  std::vector<int> task_phase(n, -1);
  std::vector<std::string> states(n);
  for (size_t v = 0; v < n; ++v) {
    const json& t = tasks[v];
    for (const json& d : t["deps"]) {
      auto it = task_index.find(d.is_string() ? d.get<std::string>() : "");
      if (it != task_index.end()) deps[v].push_back(it->second);
    }
    critical[v] = critical_ids.count(Str(t, "id")) > 0;
    auto it = phase_index.find(Str(t, "phase"));
    if (it != phase_index.end()) task_phase[v] = it->second;
    states[v] = Str(t, "state");
  }
  LayeredLayout layout = LayOutByLayer(deps);

  // The folder of the logs: an attempt's log is left out when it is LOG_DIR/TASK.N.log.
  std::string log_dir;
  for (const json& t : tasks) {
    for (const json& a : t["attempts"]) {
      std::string log = Str(a, "log");
      std::string suffix = fmt::format("/{}.{}.log", Str(t, "id"), a.value("number", 0));
      if (log.size() > suffix.size() && log.ends_with(suffix)) {
        log_dir = log.substr(0, log.size() - suffix.size());
      }
      break;
    }
    if (!log_dir.empty()) break;
  }

  json task_rows = json::array();
  json attempt_rows = json::array();
  std::vector<std::pair<int64_t, int64_t>> spans, wait_spans;
  json wait_rows = json::array();
  // The waits the events recorded, by task and the attempt that failed before them.
  std::map<std::pair<std::string, int>, const json*> wait_events;
  for (const json& w : r["waits"]) {
    if (Str(w, "kind") == "queue") continue;  // before its attempt, not after it (below)
    auto key = std::make_pair(Str(w, "task"), w.value("attempt", 0));
    auto [it, added] = wait_events.emplace(key, &w);
    if (!added && Str(w, "kind") == "resources") it->second = &w;
  }
  for (size_t v = 0; v < n; ++v) {
    const json& t = tasks[v];
    std::string id = Str(t, "id");
    const json& attempts = t["attempts"];
    for (size_t i = 0; i < attempts.size(); ++i) {
      const json& a = attempts[i];
      int number = a.value("number", 0);
      int64_t start = ms(Num(a, "started_at", t0));
      int64_t stop = a["ended_at"].is_number() ? ms(a["ended_at"].get<double>()) : end_ms;
      stop = std::max(start, stop);
      spans.emplace_back(start, stop);
      std::string log = Str(a, "log");
      if (!log_dir.empty() && log == fmt::format("{}/{}.{}.log", log_dir, id, number)) log.clear();
      attempt_rows.push_back({v, number, start, a["ended_at"].is_number() ? json(stop) : json(),
                              a["exit_code"], a.value("signal", 0), Str(a, "end"), Str(a, "class"),
                              Str(a, "reason"), Outcome(a, i + 1 == attempts.size(), states[v]), 0,
                              log, TailOf(Str(a, "log_tail"), 40, 6000)});
      // The wait after a failed attempt: until the next attempt starts, or now.
      bool next = i + 1 < attempts.size();
      bool waiting = !next && states[v] == "retry_wait" && !run["ended_at"].is_number();
      if ((next || waiting) && a["ended_at"].is_number()) {
        int64_t to = next ? ms(Num(attempts[i + 1], "started_at", t0)) : end_ms;
        if (to <= stop) continue;
        auto it = wait_events.find({id, number});
        const json* w = it == wait_events.end() ? nullptr : it->second;
        wait_spans.emplace_back(stop, to);
        wait_rows.push_back({v, number + 1, w ? Str(*w, "kind") : "retry",
                             w ? Str(*w, "class") : Str(a, "class"),
                             w ? Str(*w, "reason") : Str(a, "reason"), stop, to, 0});
      }
    }
    std::string prompt = Str(t, "prompt");
    if (prompt.size() > 2048) {  // its beginning, cut at a character's start
      size_t cut = 2048;
      while (cut > 0 && (static_cast<unsigned char>(prompt[cut]) & 0xC0) == 0x80) --cut;
      prompt = prompt.substr(0, cut) + "…";
    }
    task_rows.push_back({id, task_phase[v], states[v], Num(t, "effort", 1), Str(t, "agent"),
                         deps[v], Num(t, "seconds"), layout.layer[v], layout.order[v],
                         critical[v] ? 1 : 0, Str(t, "command"), prompt});
  }
  // A Slurm job's wait in the queue, before its attempt ran.
  for (const json& w : r["waits"]) {
    if (Str(w, "kind") != "queue") continue;
    auto it = task_index.find(Str(w, "task"));
    if (it == task_index.end()) continue;
    int64_t from = ms(Num(w, "at", t0));
    int64_t to = ms(Num(w, "at", t0) + Num(w, "queued_s"));
    if (to <= from) continue;
    wait_spans.emplace_back(from, to);
    wait_rows.push_back(
        {it->second, w.value("attempt", 0), "queue", "", Str(w, "reason"), from, to, 0});
  }
  std::vector<int> rows = LowestFreeRows(spans);
  for (size_t i = 0; i < rows.size(); ++i) attempt_rows[i][10] = rows[i];
  std::vector<int> wrows = LowestFreeRows(wait_spans);
  for (size_t i = 0; i < wrows.size(); ++i) wait_rows[i][7] = wrows[i];

  json stalls = json::array();
  for (const json& s : r.contains("stalls") ? r["stalls"] : json::array()) {
    auto it = task_index.find(Str(s, "task"));
    if (it == task_index.end()) continue;
    stalls.push_back({it->second, s.value("attempt", 0), ms(Num(s, "at", t0)), Num(s, "quiet_s")});
  }
  json phases = r["phases"];
  for (json& p : phases) {
    p["ended_ms"] = p["ended_at"].is_number() ? json(ms(p["ended_at"].get<double>())) : json();
  }
  json sessions = json::array();
  for (const json& s : r["sessions"]) {
    json copy = s;
    copy["at_ms"] = ms(Num(s, "started_at", t0));
    sessions.push_back(std::move(copy));
  }
  json interrupts = json::array();
  for (const json& i : r["interrupts"]) {
    json copy = i;
    copy["at_ms"] = ms(Num(i, "at", t0));
    interrupts.push_back(std::move(copy));
  }
  json graph = n <= kHtmlGraphTasks ? json{{"mode", "tasks"}}
                                    : GroupedGraph(task_phase, layout, deps, critical, states);
  graph["layers"] = layout.layers;
  return {{"version", r.value("version", 0)},
          {"generated_at", r["generated_at"]},
          {"run", run},
          {"counts", r["counts"]},
          {"cost", r["cost"]},
          {"sessions", std::move(sessions)},
          {"interrupts", std::move(interrupts)},
          {"phases", std::move(phases)},
          {"critical_path", r["critical_path"]},
          {"end_ms", end_ms},
          {"log_dir", log_dir},
          {"tasks", std::move(task_rows)},
          {"attempts", std::move(attempt_rows)},
          {"waits", std::move(wait_rows)},
          {"stalls", std::move(stalls)},
          {"graph", std::move(graph)}};
}

}  // namespace

LayeredLayout LayOutByLayer(const std::vector<std::vector<uint32_t>>& deps) {
  size_t n = deps.size();
  LayeredLayout out;
  out.layer.assign(n, 0);
  out.order.assign(n, 0);
  // Kahn's order: a node's layer is one past the highest of its deps'.
  std::vector<uint32_t> pending(n, 0);
  std::vector<uint32_t> first(n + 1, 0), children;
  for (size_t v = 0; v < n; ++v) {
    for (uint32_t d : deps[v]) {
      if (d < n) ++first[d + 1];
    }
  }
  for (size_t v = 0; v < n; ++v) first[v + 1] += first[v];
  children.resize(first[n]);
  std::vector<uint32_t> fill(first.begin(), first.end() - 1);
  for (size_t v = 0; v < n; ++v) {
    for (uint32_t d : deps[v]) {
      if (d < n) {
        children[fill[d]++] = static_cast<uint32_t>(v);
        ++pending[v];
      }
    }
  }
  std::vector<uint32_t> queue;
  queue.reserve(n);
  for (size_t v = 0; v < n; ++v) {
    if (pending[v] == 0) queue.push_back(static_cast<uint32_t>(v));
  }
  for (size_t head = 0; head < queue.size(); ++head) {
    uint32_t v = queue[head];
    for (uint32_t i = first[v]; i < first[v + 1]; ++i) {
      uint32_t c = children[i];
      out.layer[c] = std::max(out.layer[c], out.layer[v] + 1);
      if (--pending[c] == 0) queue.push_back(c);
    }
  }
  for (size_t v = 0; v < n; ++v) {
    if (pending[v] != 0) out.layer[v] = 0;  // on a cycle
    out.layers = std::max(out.layers, out.layer[v] + 1);
  }
  // Barycenter ordering, layer by layer from the top.
  std::vector<std::vector<uint32_t>> by_layer(out.layers);
  for (size_t v = 0; v < n; ++v) by_layer[out.layer[v]].push_back(static_cast<uint32_t>(v));
  std::vector<std::pair<double, uint32_t>> keyed;
  for (std::vector<uint32_t>& nodes : by_layer) {
    keyed.clear();
    for (uint32_t v : nodes) {
      double sum = 0;
      int count = 0;
      for (uint32_t d : deps[v]) {
        if (d < n && out.layer[d] < out.layer[v]) {
          sum += out.order[d];
          ++count;
        }
      }
      keyed.emplace_back(count > 0 ? sum / count : static_cast<double>(keyed.size()), v);
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < keyed.size(); ++i) out.order[keyed[i].second] = static_cast<int>(i);
  }
  return out;
}

std::string ScriptSafeJson(const json& j) {
  std::string text = DumpJson(j, -1);
  std::string out;
  out.reserve(text.size() + text.size() / 64);
  for (char c : text) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string ReportHtml(const json& report) {
  const json& run = report["run"];
  std::string title = fmt::format("mex report: {} — {}", Str(run, "milestone"), Str(run, "state"));
  std::string page;
  page.reserve(1 << 16);
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // Nothing is fetched: no network, no file beside it; only the inline style and script run.
  page +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<meta name=\"generator\" content=\"mex\">\n";
  page += "<title>" + HtmlEscaped(title) + "</title>\n<style>\n";
  page += kHtmlStyle;
  page += "</style>\n</head>\n<body>\n";
  page += kHtmlBody;
  page += "<script type=\"application/json\" id=\"mex-report\">";
  page += ScriptSafeJson(PageData(report));
  page += "</script>\n<script>\n";
  page += kHtmlScript;
  page += "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace mex
