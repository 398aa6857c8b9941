#include "report/run_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <unordered_map>

#include "engine/events.h"
#include "model/duration.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

using json = nlohmann::ordered_json;

std::string Iso(double epoch_s) {
  if (epoch_s <= 0) return "";
  auto seconds = static_cast<std::time_t>(epoch_s);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

json ParseOr(const std::string& text, json fallback) {
  if (text.empty()) return fallback;
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? fallback : parsed;
}

double AttemptSeconds(const AttemptRecord& a, double now) {
  if (a.duration_s >= 0) return a.duration_s;
  double end = a.ended_at > 0 ? a.ended_at : now;
  return std::max(0.0, end - a.started_at);
}

json AttemptJson(const AttemptRecord& a, double now) {
  json j = {{"number", a.number},
            {"started_at", a.started_at},
            {"ended_at", a.ended_at > 0 ? json(a.ended_at) : json(nullptr)},
            {"duration_s", AttemptSeconds(a, now)},
            {"exit_code", a.ended_at > 0 ? json(a.exit_code) : json(nullptr)},
            {"signal", a.signal},
            {"end", a.end.empty() ? "running" : a.end},
            {"class", a.failure_class},
            {"reason", a.reason},
            {"log", a.log_path}};
  if (!a.log_tail.empty()) j["log_tail"] = a.log_tail;
  if (a.cost_usd >= 0) j["cost_usd"] = a.cost_usd;
  if (a.input_tokens >= 0) j["input_tokens"] = a.input_tokens;
  if (a.output_tokens >= 0) j["output_tokens"] = a.output_tokens;
  if (!a.base_commit.empty() || !a.worktree.empty()) {
    j["worktree"] = a.worktree;
    j["base_commit"] = a.base_commit;
    j["result_commit"] = a.result_commit;
    j["merge_commit"] = a.merge_commit;
    j["changed_files"] = a.changed_files;
  }
  return j;
}

struct Spend {
  double usd = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int attempts = 0;  // that reported anything
  void Add(const AttemptRecord& a) {
    if (a.cost_usd < 0 && a.input_tokens < 0 && a.output_tokens < 0) return;
    usd += std::max(0.0, a.cost_usd);
    input_tokens += std::max<int64_t>(0, a.input_tokens);
    output_tokens += std::max<int64_t>(0, a.output_tokens);
    ++attempts;
  }
  json ToJson(const char* key, const std::string& name) const {
    return {{key, name},
            {"cost_usd", usd},
            {"input_tokens", input_tokens},
            {"output_tokens", output_tokens},
            {"attempts", attempts}};
  }
};

const char* const kStates[] = {"succeeded", "failed",     "skipped", "cancelled",
                               "running",   "retry_wait", "ready",   "pending"};

}  // namespace

std::string DumpJson(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

json BuildReport(const ReportInput& in) {
  // The attempts by task (the store gives them by task, then number).
  std::unordered_map<std::string, std::vector<const AttemptRecord*>> by_task;
  for (const AttemptRecord& a : in.attempts) by_task[a.task].push_back(&a);
  std::vector<ReportTask> tasks = in.tasks;
  std::sort(tasks.begin(), tasks.end(),
            [](const ReportTask& a, const ReportTask& b) { return a.seq < b.seq; });
  {
    std::unordered_map<std::string, bool> known;
    for (const ReportTask& t : tasks) known[t.id] = true;
    std::vector<std::string> removed;
    for (const auto& [id, attempts] : by_task) {
      if (!known.count(id)) removed.push_back(id);
    }
    std::sort(removed.begin(), removed.end());
    for (const std::string& id : removed) {
      ReportTask t;
      t.id = id;
      t.seq = UINT32_MAX;
      t.state = "removed";
      t.phase = UINT32_MAX;
      tasks.push_back(std::move(t));
    }
  }
  auto phase_name = [&](uint32_t phase) -> json {
    return phase < in.phases.size() ? json(in.phases[phase].name) : json(nullptr);
  };

  json counts = {{"tasks", tasks.size()}, {"attempts", in.attempts.size()}};
  for (const char* s : kStates) counts[s] = 0;
  counts["removed"] = 0;
  std::vector<json> phase_counts(in.phases.size(), json::object());
  for (auto& c : phase_counts) {
    c["tasks"] = 0;
    for (const char* s : kStates) c[s] = 0;
  }
  Spend total;
  std::vector<Spend> phase_spend(in.phases.size());
  std::map<std::string, Spend> agent_spend;
  json task_list = json::array();
  task_list.get_ref<json::array_t&>().reserve(tasks.size());
  for (const ReportTask& t : tasks) {
    if (counts.contains(t.state)) counts[t.state] = counts[t.state].get<int>() + 1;
    if (t.phase < phase_counts.size()) {
      json& c = phase_counts[t.phase];
      c["tasks"] = c["tasks"].get<int>() + 1;
      if (c.contains(t.state)) c[t.state] = c[t.state].get<int>() + 1;
    }
    json attempts = json::array();
    double seconds = 0;
    auto it = by_task.find(t.id);
    if (it != by_task.end()) {
      for (const AttemptRecord* a : it->second) {
        attempts.push_back(AttemptJson(*a, in.now));
        seconds += AttemptSeconds(*a, in.now);
        total.Add(*a);
        if (t.phase < phase_spend.size()) phase_spend[t.phase].Add(*a);
        agent_spend[t.agent.empty() ? "(command)" : t.agent].Add(*a);
      }
    }
    json task = {{"id", t.id},         {"phase", phase_name(t.phase)},
                 {"state", t.state},   {"effort", t.effort},
                 {"agent", t.agent},   {"deps", t.deps},
                 {"seconds", seconds}, {"attempts", std::move(attempts)}};
    if (!t.command.empty()) task["command"] = t.command;
    if (!t.prompt.empty()) task["prompt"] = t.prompt;
    task_list.push_back(std::move(task));
  }

  // Sessions, phase ends, reruns and waits, from the event log.
  json sessions = json::array();
  json waits = json::array();
  json interrupts = json::array();
  json stalls = json::array();
  std::map<std::pair<std::string, int>, std::string> queue_reasons;  // the last pending reason
  std::map<std::pair<std::string, int>, double> attempt_starts;      // made at the first wait
  std::vector<int> reruns(in.phases.size(), 0);
  std::vector<double> phase_ended(in.phases.size(), 0);
  std::unordered_map<std::string, size_t> phase_index;
  for (size_t p = 0; p < in.phases.size(); ++p) phase_index[in.phases[p].name] = p;
  for (const ReportEvent& e : in.events) {
    // Most events (a task started, succeeded) say nothing the report takes from the log: their
    // bodies are not parsed.
    if (e.kind != "run_started" && e.kind != "task_retry" && e.kind != "task_waiting" &&
        e.kind != "task_stalled" && e.kind != "interrupted" && e.kind != "phase_rerun" &&
        e.kind != "phase_finished" && e.kind != "task_queued") {
      continue;
    }
    json body = ParseOr(e.body, json::object());
    if (e.kind == "run_started") {
      sessions.push_back({{"number", sessions.size() + 1},
                          {"started_at", e.time},
                          {"resumed", body.value("resumed", false)},
                          {"kept", body.value("kept", 0)}});
    } else if (e.kind == "task_retry" || e.kind == "task_waiting") {
      json w = {{"task", e.task},
                {"attempt", body.value("attempt", 0)},
                {"at", e.time},
                {"kind", e.kind == "task_retry" ? "retry" : "resources"},
                {"reason", body.value("reason", "")}};
      if (e.kind == "task_retry") {
        w["class"] = body.value("class", "");
        w["delay_s"] = body.value("delay_s", 0.0);
      }
      waits.push_back(std::move(w));
    } else if (e.kind == "task_queued") {
      // A Slurm job's wait in the queue, once it started: `attempt` is the attempt that waited.
      std::pair<std::string, int> key{e.task, body.value("attempt", 0)};
      std::string reason = body.value("reason", "");
      if (QueueStateOf(body.value("queue_state", ""), reason) != QueueState::kRunning) {
        queue_reasons[key] = reason;
        continue;
      }
      // It ended when its attempt started (state.db has when the job started running), which
      // mex noticed at most a poll round before this event.
      double queued = body.value("queued_s", 0.0);
      if (queued <= 0) continue;  // running again after its state was unknown: no wait
      if (attempt_starts.empty()) {
        for (const AttemptRecord& a : in.attempts)
          attempt_starts[{a.task, a.number}] = a.started_at;
      }
      auto start = attempt_starts.find(key);
      double started = start != attempt_starts.end() ? start->second : e.time;
      waits.push_back({{"task", e.task},
                       {"attempt", key.second},
                       {"at", started - queued},
                       {"kind", "queue"},
                       {"reason", queue_reasons[key]},
                       {"queued_s", queued}});
    } else if (e.kind == "task_stalled") {
      stalls.push_back({{"task", e.task},
                        {"attempt", body.value("attempt", 0)},
                        {"at", e.time},
                        {"quiet_s", body.value("quiet_s", 0.0)}});
    } else if (e.kind == "interrupted") {
      interrupts.push_back({{"at", e.time}, {"reason", body.value("reason", "")}});
    } else if (e.kind == "phase_rerun" || e.kind == "phase_finished") {
      auto it = phase_index.find(body.value("phase", ""));
      if (it == phase_index.end()) continue;
      if (e.kind == "phase_rerun") {
        ++reruns[it->second];
      } else {
        phase_ended[it->second] = e.time;
      }
    }
  }

  json phases = json::array();
  for (size_t p = 0; p < in.phases.size(); ++p) {
    const ReportPhase& ph = in.phases[p];
    json gate = nullptr;
    if (ph.scored) {
      json detail = ParseOr(ph.gate.detail, json::object());
      gate = {{"score", ph.gate.score},
              {"min_score", ph.gate.min_score},
              {"passed", ph.gate.passed},
              {"criteria", detail.value("criteria", json::array())},
              {"missing", detail.value("missing", json::array())}};
    }
    phases.push_back({{"name", ph.name},
                      {"weight", ph.weight},
                      {"state", ph.state},
                      {"ended_at", phase_ended[p] > 0 ? json(phase_ended[p]) : json(nullptr)},
                      {"reruns", reruns[p]},
                      {"counts", std::move(phase_counts[p])},
                      {"gate", std::move(gate)},
                      {"cost", phase_spend[p].ToJson("phase", ph.name)}});
  }
  json by_agent = json::array();
  for (const auto& [agent, spend] : agent_spend) {
    if (spend.attempts > 0) by_agent.push_back(spend.ToJson("agent", agent));
  }
  double end = in.ended_at > 0 ? in.ended_at : in.now;
  return {{"version", kReportVersion},
          {"generated_at", in.now},
          {"run",
           {{"id", in.run_id},
            {"milestone", in.milestone},
            {"milestone_file", in.milestone_file},
            {"state", in.state},
            {"started_at", in.started_at},
            {"started", Iso(in.started_at)},
            {"ended_at", in.ended_at > 0 ? json(in.ended_at) : json(nullptr)},
            {"ended", Iso(in.ended_at)},
            {"duration_s", std::max(0.0, end - in.started_at)},
            {"exit_code", in.exit_code >= 0 ? json(in.exit_code) : json(nullptr)},
            {"progress", in.progress}}},
          {"counts", std::move(counts)},
          {"cost",
           {{"usd", std::max(in.cost_usd, total.usd)},
            {"input_tokens", std::max(in.input_tokens, total.input_tokens)},
            {"output_tokens", std::max(in.output_tokens, total.output_tokens)},
            {"by_agent", std::move(by_agent)}}},
          {"sessions", std::move(sessions)},
          {"interrupts", std::move(interrupts)},
          {"phases", std::move(phases)},
          {"critical_path", in.critical_path},
          {"waits", std::move(waits)},
          {"stalls", std::move(stalls)},
          {"tasks", std::move(task_list)}};
}

// ---------------------------------------------------------------------------------------------
// Markdown

namespace {

// Text of tasks and agents as mex prints it on a terminal (util/terminal_text.h): controls, C1,
// invalid UTF-8 and bidi overrides shown as '?', line breaks kept ("\r\n" as "\n").
std::string Printable(std::string_view text) {
  TerminalSafeStream safe;
  std::string out = safe.Feed(text) + safe.Finish();
  std::erase(out, '\r');
  return out;
}

std::string Usd(double usd) {
  return fmt::format("${:.4f}", usd);
}

std::string Plural(int64_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

// The last `lines` lines of `text`.
std::string LastLines(const std::string& text, size_t lines) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '\n') --end;
  size_t at = end;
  for (size_t n = 0; at > 0; --at) {
    if (text[at - 1] == '\n' && ++n == lines) break;
  }
  return text.substr(at, end - at);
}

std::string Truncated(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "…";
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// The text of Markdown with a byte budget: a part is added only if it fits, keeping `reserve`
// bytes for the lines that say what was left out.
class Budget {
 public:
  explicit Budget(size_t limit) : limit_(limit) {}
  bool Fits(size_t bytes, size_t reserve = 4096) const {
    return out_.size() + bytes + reserve <= limit_;
  }
  // Adds `text` when it fits; false otherwise.
  bool Add(const std::string& text, size_t reserve = 4096) {
    if (!Fits(text.size(), reserve)) return false;
    out_ += text;
    return true;
  }
  // Adds `text` whatever its size, up to the hard limit.
  void Force(const std::string& text) {
    if (out_.size() + text.size() <= limit_) out_ += text;
  }
  std::string Take() { return std::move(out_); }

 private:
  size_t limit_;
  std::string out_;
};

std::string MermaidLabel(std::string_view text) {
  std::string out;
  for (char c : Printable(text)) {
    switch (c) {
      case '"':
        out += "#quot;";
        break;
      case '<':
        out += "#lt;";
        break;
      case '>':
        out += "#gt;";
        break;
      case '#':
        out += "#35;";
        break;
      case '&':
        out += "#amp;";
        break;
      case '\n':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string MarkdownText(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : Printable(text)) {
    switch (c) {
      case '\n':
      case '\t':
        out += ' ';
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '(':
      case ')':
      case '#':
      case '!':
      case '|':
      case '~':
      case '$':
      case '{':
      case '}':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string MarkdownFence(std::string_view text, std::string_view info) {
  std::string body = Printable(text);
  size_t longest = 0;
  for (size_t i = 0, run = 0; i < body.size(); ++i) {
    run = body[i] == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(std::max<size_t>(3, longest + 1), '`');
  if (!body.empty() && body.back() != '\n') body += '\n';
  return fmt::format("{}{}\n{}{}\n", fence, info, body, fence);
}

std::string ReportMarkdown(const json& r, size_t limit) {
  Budget md(limit);
  const json& run = r["run"];
  const json& counts = r["counts"];
  const json& cost = r["cost"];
  auto count = [&](const char* key) { return counts.value(key, 0); };
  int not_run = count("pending") + count("ready") + count("running") + count("retry_wait");

  std::string head = fmt::format("## mex report: {} — {}\n\n", MarkdownText(Str(run, "milestone")),
                                 MarkdownText(Str(run, "state")));
  head += "| | |\n|---|---|\n";
  head += fmt::format("| Run | {} |\n", MarkdownText(Str(run, "id")));
  std::string state = Str(run, "state");
  if (run["exit_code"].is_number()) state += fmt::format(" (exit {})", run["exit_code"].get<int>());
  head += fmt::format("| State | {} |\n", MarkdownText(state));
  head += fmt::format("| Started | {} |\n", MarkdownText(Str(run, "started")));
  head += fmt::format("| Duration | {} |\n", FormatDuration(run.value("duration_s", 0.0)));
  head += fmt::format("| Progress | {:.0f}% |\n", 100 * run.value("progress", 0.0));
  head += fmt::format(
      "| Tasks | {}: {} succeeded, {} failed, {} skipped, {} cancelled, {} not run{} |\n",
      count("tasks"), count("succeeded"), count("failed"), count("skipped"), count("cancelled"),
      not_run, count("removed") > 0 ? fmt::format(", {} removed", count("removed")) : "");
  head += fmt::format("| Attempts | {} |\n", count("attempts"));
  head +=
      fmt::format("| Cost | {} ({} input, {} output tokens) |\n", Usd(cost.value("usd", 0.0)),
                  cost.value("input_tokens", int64_t{0}), cost.value("output_tokens", int64_t{0}));
  const json& sessions = r["sessions"];
  if (sessions.size() > 1) {
    std::string starts;
    for (const json& s : sessions) {
      if (!starts.empty()) starts += ", ";
      starts += MarkdownText(fmt::format("#{} {}{}", s.value("number", 0),
                                         Iso(s.value("started_at", 0.0)),
                                         s.value("resumed", false) ? " resumed" : ""));
    }
    head += fmt::format("| Sessions | {} ({}) |\n", sessions.size(), starts);
  }
  head += "\n";
  md.Force(head);

  // Phases and their gates.
  if (!r["phases"].empty()) {
    md.Force(
        "### Phases\n\n| Phase | State | Tasks | Gate | Reruns | Missing |\n"
        "|---|---|---|---|---|---|\n");
    size_t shown = 0;
    for (const json& p : r["phases"]) {
      const json& gate = p["gate"];
      std::string score = "—";
      std::string missing;
      if (gate.is_object()) {
        score = fmt::format("{:.2f} {} {:.2f} {}", gate.value("score", 0.0),
                            gate.value("passed", false) ? "≥" : "<", gate.value("min_score", 0.0),
                            gate.value("passed", false) ? "passed" : "failed");
        for (const json& m : gate["missing"]) {
          if (!missing.empty()) missing += "; ";
          missing += m.is_string() ? m.get<std::string>() : m.dump();
        }
      }
      const json& c = p["counts"];
      std::string row = fmt::format("| {} | {} | {}/{} succeeded | {} | {} | {} |\n",
                                    MarkdownText(Str(p, "name")), MarkdownText(Str(p, "state")),
                                    c.value("succeeded", 0), c.value("tasks", 0), score,
                                    p.value("reruns", 0), MarkdownText(Truncated(missing, 500)));
      if (!md.Add(row)) break;
      ++shown;
    }
    if (shown < r["phases"].size()) {
      md.Force(fmt::format("\n{} more phases not shown (see report.json).\n",
                           r["phases"].size() - shown));
    }
    md.Force("\n");
  }

  // Failures, with the end of their logs.
  std::vector<const json*> failed;
  for (const json& t : r["tasks"]) {
    if (Str(t, "state") == "failed") failed.push_back(&t);
  }
  if (!failed.empty()) {
    md.Force("### Failures\n\n");
    size_t shown = 0;
    for (const json* t : failed) {
      const json& attempts = (*t)["attempts"];
      std::string part = fmt::format("#### {}\n\n", MarkdownText(Str(*t, "id")));
      if (!attempts.empty()) {
        const json& a = attempts.back();
        part += fmt::format(
            "Attempt {} of phase {}: {}{}{}.", a.value("number", 0), MarkdownText(Str(*t, "phase")),
            MarkdownText(Str(a, "end")),
            a["exit_code"].is_number() ? fmt::format(", exit {}", a["exit_code"].get<int>()) : "",
            Str(a, "class").empty() ? "" : fmt::format(", {}", MarkdownText(Str(a, "class"))));
        if (!Str(a, "reason").empty()) {
          part += fmt::format(" {}", MarkdownText(Truncated(Str(a, "reason"), 1000)));
        }
        part += fmt::format("\nLog: {}\n\n", MarkdownText(Str(a, "log")));
        std::string tail = LastLines(Str(a, "log_tail"), 30);
        if (!tail.empty()) part += MarkdownFence(Truncated(tail, 8000)) + "\n";
      }
      if (!md.Add(part)) break;
      ++shown;
    }
    if (shown < failed.size()) {
      md.Force(fmt::format("{} more failed tasks not shown (see report.json).\n\n",
                           failed.size() - shown));
    }
  }

  // Waits before retries, and in a batch queue.
  size_t retry_waits = 0, queue_waits = 0;
  double waited = 0, queued = 0;
  for (const json& w : r["waits"]) {
    if (w.value("kind", "") == "queue") {
      ++queue_waits;
      queued += w.value("queued_s", 0.0);
    } else {
      ++retry_waits;
      waited += w.value("delay_s", 0.0);
    }
  }
  if (retry_waits > 0) {
    md.Force(fmt::format("Retries: {}, {} of backoff.\n\n", Plural(retry_waits, "wait"),
                         FormatDuration(waited)));
  }
  if (queue_waits > 0) {
    md.Force(fmt::format("Slurm's queue: {} waited, {} in all.\n\n", Plural(queue_waits, "attempt"),
                         FormatDuration(queued)));
  }

  // Critical path.
  const json& path = r["critical_path"];
  if (path.is_object() && !path["tasks"].empty()) {
    std::string line = fmt::format("### Critical path\n\n{} (planned length {:g}): ",
                                   Plural(path["tasks"].size(), "task"), path.value("length", 0.0));
    size_t n = 0;
    for (const json& id : path["tasks"]) {
      if (n == 20) {
        line += fmt::format(" → … {} more", path["tasks"].size() - n);
        break;
      }
      line += (n++ ? " → " : "") + MarkdownText(id.is_string() ? id.get<std::string>() : "");
    }
    md.Add(line + "\n\n");
  }

  // Cost per agent and per phase.
  bool any_cost = !cost["by_agent"].empty();
  if (any_cost) {
    std::string part =
        "### Cost\n\n| By | Cost | Input tokens | Output tokens |\n|---|---|---|---|\n";
    for (const json& a : cost["by_agent"]) {
      part += fmt::format("| agent {} | {} | {} | {} |\n", MarkdownText(Str(a, "agent")),
                          Usd(a.value("cost_usd", 0.0)), a.value("input_tokens", int64_t{0}),
                          a.value("output_tokens", int64_t{0}));
    }
    for (const json& p : r["phases"]) {
      const json& c = p["cost"];
      if (c.value("attempts", 0) == 0) continue;
      part += fmt::format("| phase {} | {} | {} | {} |\n", MarkdownText(Str(p, "name")),
                          Usd(c.value("cost_usd", 0.0)), c.value("input_tokens", int64_t{0}),
                          c.value("output_tokens", int64_t{0}));
    }
    md.Add(part + "\n");
  }

  // Every task, as far as the budget goes.
  const json& tasks = r["tasks"];
  if (!tasks.empty()) {
    md.Force("### Tasks\n\n| Task | Phase | State | Attempts | Time |\n|---|---|---|---|---|\n");
    size_t shown = 0;
    for (const json& t : tasks) {
      std::string row = fmt::format("| {} | {} | {} | {} | {} |\n", MarkdownText(Str(t, "id")),
                                    MarkdownText(Str(t, "phase")), MarkdownText(Str(t, "state")),
                                    t["attempts"].size(), FormatDuration(t.value("seconds", 0.0)));
      if (!md.Add(row, 16384)) break;
      ++shown;
    }
    if (shown < tasks.size()) {
      md.Force(fmt::format("\n{} more tasks not shown (of {}; see report.json).\n",
                           tasks.size() - shown, tasks.size()));
    }
    md.Force("\n");
  }

  // The graph, when small enough to read.
  constexpr size_t kGraphMax = 50;
  if (tasks.size() > kGraphMax) {
    md.Force(fmt::format("No task graph: {} tasks (drawn up to {}).\n", tasks.size(), kGraphMax));
  } else if (!tasks.empty()) {
    std::unordered_map<std::string, size_t> node;
    for (const json& t : tasks) node.emplace(Str(t, "id"), node.size());
    std::string g = "### Graph\n\n```mermaid\nflowchart LR\n";
    for (const json& t : tasks) {
      g += fmt::format("  t{}[\"{}\"]:::{}\n", node[Str(t, "id")], MermaidLabel(Str(t, "id")),
                       Str(t, "state") == "retry_wait" ? "running" : Str(t, "state"));
    }
    for (const json& t : tasks) {
      for (const json& d : t["deps"]) {
        auto it = node.find(d.is_string() ? d.get<std::string>() : "");
        if (it != node.end()) g += fmt::format("  t{} --> t{}\n", it->second, node[Str(t, "id")]);
      }
    }
    g += "  classDef succeeded fill:#cfc,stroke:#393\n"
         "  classDef failed fill:#fcc,stroke:#c33\n"
         "  classDef skipped fill:#eee,stroke:#999,stroke-dasharray:3\n"
         "  classDef cancelled fill:#eee,stroke:#999\n"
         "  classDef running fill:#ffc,stroke:#cc3\n"
         "  classDef pending fill:#fff,stroke:#999\n"
         "  classDef ready fill:#fff,stroke:#999\n"
         "  classDef removed fill:#fff,stroke:#ccc\n"
         "```\n";
    md.Add(g);
  }
  return md.Take();
}

// ---------------------------------------------------------------------------------------------
// Chrome trace

std::vector<int> LowestFreeRows(const std::vector<std::pair<int64_t, int64_t>>& spans) {
  std::vector<size_t> order(spans.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return spans[a].first < spans[b].first; });
  std::vector<int> rows(spans.size(), 0);
  std::vector<int64_t> free_at;  // per row: when its last span ends
  for (size_t i : order) {
    size_t row = 0;
    while (row < free_at.size() && free_at[row] > spans[i].first) ++row;
    if (row == free_at.size()) free_at.push_back(0);
    free_at[row] = std::max(spans[i].first, spans[i].second);
    rows[i] = static_cast<int>(row);
  }
  return rows;
}

std::string ReportTrace(const json& r) {
  const json& run = r["run"];
  double start = run.value("started_at", 0.0);
  double end =
      run["ended_at"].is_number() ? run["ended_at"].get<double>() : r.value("generated_at", start);
  auto us = [&](double t) { return static_cast<int64_t>(std::llround((t - start) * 1e6)); };
  struct Slice {
    int64_t ts, dur;
    const json* task;
    const json* attempt;
  };
  std::vector<Slice> slices;
  for (const json& t : r["tasks"]) {
    for (const json& a : t["attempts"]) {
      double s = a.value("started_at", 0.0);
      double e = a["ended_at"].is_number() ? a["ended_at"].get<double>() : end;
      int64_t ts = us(s);
      slices.push_back({ts, std::max<int64_t>(0, us(e) - ts), &t, &a});
    }
  }
  std::stable_sort(slices.begin(), slices.end(),
                   [](const Slice& a, const Slice& b) { return a.ts < b.ts; });
  std::vector<std::pair<int64_t, int64_t>> spans;
  spans.reserve(slices.size());
  for (const Slice& s : slices) spans.emplace_back(s.ts, s.ts + s.dur);
  std::vector<int> rows = LowestFreeRows(spans);
  json events = json::array();
  const int pid = 1;
  events.push_back({{"name", "process_name"},
                    {"ph", "M"},
                    {"pid", pid},
                    {"tid", 0},
                    {"args", {{"name", fmt::format("mex run {}", Str(run, "id"))}}}});
  int named_rows = 0;
  for (size_t i = 0; i < slices.size(); ++i) {
    const Slice& s = slices[i];
    int row = rows[i];
    if (row == named_rows) {
      ++named_rows;
      events.push_back({{"name", "thread_name"},
                        {"ph", "M"},
                        {"pid", pid},
                        {"tid", row + 1},
                        {"args", {{"name", fmt::format("slot {}", row + 1)}}}});
    }
    const json& a = *s.attempt;
    events.push_back({{"name", fmt::format("{} #{}", Str(*s.task, "id"), a.value("number", 0))},
                      {"cat", Str(*s.task, "phase")},
                      {"ph", "X"},
                      {"ts", s.ts},
                      {"dur", s.dur},
                      {"pid", pid},
                      {"tid", row + 1},
                      {"args",
                       {{"task", Str(*s.task, "id")},
                        {"attempt", a.value("number", 0)},
                        {"end", Str(a, "end")},
                        {"exit_code", a["exit_code"]},
                        {"class", Str(a, "class")},
                        {"reason", Str(a, "reason")},
                        {"log", Str(a, "log")}}}});
  }
  auto instant = [&](const std::string& name, double at, json args) {
    events.push_back({{"name", name},
                      {"ph", "i"},
                      {"s", "p"},
                      {"ts", us(at)},
                      {"pid", pid},
                      {"tid", 0},
                      {"args", std::move(args)}});
  };
  for (const json& s : r["sessions"]) {
    instant(fmt::format("session {} started", s.value("number", 0)), s.value("started_at", 0.0),
            {{"resumed", s.value("resumed", false)}, {"kept", s.value("kept", 0)}});
  }
  for (const json& p : r["phases"]) {
    if (!p["ended_at"].is_number()) continue;
    json args = {{"state", Str(p, "state")}};
    if (p["gate"].is_object()) {
      args["score"] = p["gate"]["score"];
      args["min_score"] = p["gate"]["min_score"];
    }
    instant(fmt::format("phase {} ended", Str(p, "name")), p["ended_at"].get<double>(), args);
  }
  for (const json& i : r["interrupts"]) {
    instant("interrupted", i.value("at", 0.0), {{"reason", Str(i, "reason")}});
  }
  if (run["ended_at"].is_number()) {
    instant(fmt::format("run {}", Str(run, "state")), end, {{"exit_code", run["exit_code"]}});
  }
  return DumpJson({{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}}, -1) + "\n";
}

}  // namespace mex
