// `mex report [FILE]`: the report of a run as Markdown, JSON, a Chrome trace or HTML
// (docs/report.md). Reads state.db read-only, as `mex status` does, and the run folder's
// roadmap.json beneath the state folder without following a symlink; writes only to stdout or the
// -o path.
#include "commands/report.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "commands/commands.h"
#include "commands/recorded_run.h"
#include "load/loader.h"
#include "model/diagnostics.h"
#include "model/progress.h"
#include "plan/graph.h"
#include "report/html_report.h"
#include "report/run_report.h"
#include "util/clock.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

// The agent a task's prompt goes to; "" for a command.
std::string AgentOf(const Milestone& m, const Task& task) {
  const TaskDetail* d = task.details();
  if (d == nullptr || d->prompt.empty()) return "";
  return d->agent.empty() ? m.defaults.agent : d->agent;
}

// What a task runs, as one line to read: the shell string, or the argv with words quoted where
// a space or quote would hide where they end.
std::string CommandText(const Task& task) {
  if (!task.run.shell.empty()) return task.run.shell;
  std::string text;
  for (const std::string& word : task.run.argv) {
    if (!text.empty()) text += ' ';
    bool plain = !word.empty() && word.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    if (plain) {
      text += word;
      continue;
    }
    text += '\'';
    for (char c : word) text += c == '\'' ? std::string("'\\''") : std::string(1, c);
    text += '\'';
  }
  return text;
}

// At most `max` bytes of `text`, cut at a character's start, "…" saying it was cut.
std::string Shortened(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

}  // namespace

bool ReadRunReport(SqliteStore* store, const Folder& state, const StoredRun& run,
                   const Milestone* m, nlohmann::ordered_json* report, std::string* err) {
  ReportInput in;
  in.run_id = run.id;
  in.milestone = run.name;
  in.milestone_file = run.milestone;
  in.started_at = run.started_at;
  in.ended_at = run.ended_at;
  in.exit_code = run.exit_code;
  in.cost_usd = run.cost_usd;
  in.input_tokens = run.input_tokens;
  in.output_tokens = run.output_tokens;
  in.now = WallClockSeconds();
  // The state as `mex status` tells it: a run recorded as running whose engine is gone was
  // interrupted.
  in.state = run.state == "running" && !RunIsLive(state.path(), run) ? "interrupted" : run.state;

  for (StoredPhase& p : store->Phases(run.id)) {
    in.phases.push_back(
        {std::move(p.name), p.weight, std::move(p.state), p.scored, std::move(p.gate)});
  }
  std::unordered_map<std::string, uint32_t> index;  // task id -> position in `m`
  std::unique_ptr<Graph> graph;
  if (m != nullptr) {
    graph = std::make_unique<Graph>(*m);
    for (uint32_t t = 0; t < m->tasks.size(); ++t) index.emplace(m->tasks[t].id, t);
  }
  for (const StoredTask& t : store->Tasks(run.id)) {
    ReportTask& r = in.tasks.emplace_back();
    r.id = t.id;
    r.seq = t.seq;
    r.phase = t.phase;
    r.effort = t.effort;
    r.state = TaskStateName(t.state);
    auto it = index.find(t.id);
    if (it != index.end() && it->second < graph->size()) {
      const Task& task = m->tasks[it->second];
      r.agent = AgentOf(*m, task);
      r.command = CommandText(task);
      if (task.has_prompt()) r.prompt = Shortened(task.details()->prompt, 4096);
      for (uint32_t d : graph->deps(it->second)) r.deps.emplace_back(m->tasks[d].id);
    }
  }
  // The weighted progress as `mex status` computes it (model/progress.h), from the rows read.
  std::vector<int> succeeded(in.phases.size(), 0), total(in.phases.size(), 0);
  for (const ReportTask& t : in.tasks) {
    if (t.phase >= in.phases.size()) continue;
    ++total[t.phase];
    succeeded[t.phase] += t.state == "succeeded" ? 1 : 0;
  }
  for (size_t p = 0; p < in.phases.size(); ++p) {
    in.progress += in.phases[p].weight *
                   PhaseDone(in.phases[p].state == "passed", succeeded[p], total[p]) / 100;
  }
  in.attempts = store->Attempts(run.id);
  for (StoredEvent& e : store->Events(run.id)) {
    in.events.push_back({e.time, std::move(e.kind), std::move(e.task), std::move(e.body)});
  }
  if (!store->error().empty()) {
    *err = store->error();
    return false;
  }
  // The planner's critical path, as the run's last session wrote it into roadmap.json.
  std::string roadmap = state.ReadFile(fmt::format("runs/{}/roadmap.json", run.id));
  // A plain json (a std::map): its objects keyed by task id parse in O(n log n), where an
  // ordered_json's linear lookups made it a quarter of a 10,000-task report's time.
  nlohmann::json parsed = nlohmann::json::parse(roadmap, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("critical_path")) {
    in.critical_path = nlohmann::ordered_json(parsed["critical_path"]);
  }
  *report = BuildReport(in);
  return true;
}

bool RunReportsExist(const Folder& state, const std::string& run_id) {
  for (const char* name : {"report.md", "report.json", "report.html"}) {
    std::string err;
    if (!state.OpenFile(fmt::format("runs/{}/{}", run_id, name), O_RDONLY, 0, &err).valid()) {
      return false;
    }
  }
  return true;
}

bool WriteRunReports(SqliteStore* store, const Folder& state, const std::string& run_id,
                     const Milestone& m, std::string* err) {
  std::optional<StoredRun> run = store->FindRun(run_id);
  if (!run) {
    *err = store->error().empty() ? fmt::format("no run {}", run_id) : store->error();
    return false;
  }
  nlohmann::ordered_json report;
  if (!ReadRunReport(store, state, *run, &m, &report, err)) return false;
  std::string dir = fmt::format("runs/{}/", run_id);
  return state.WriteAtomically(dir + "report.json", DumpJson(report, 2) + "\n", err) &&
         state.WriteAtomically(dir + "report.md", ReportMarkdown(report), err) &&
         state.WriteAtomically(dir + "report.html", ReportHtml(report), err);
}

void PhaseEndReports::OnEvent(const Event& event) {
  switch (event.kind) {
    case EventKind::kRunStarted:
    case EventKind::kPhaseStarted:
    case EventKind::kRunFinished:
      break;
    case EventKind::kPhaseFinished:
      quiet_ = quiet_ && event.passed;
      break;
    default:
      quiet_ = false;
  }
  if (event.kind == EventKind::kPhaseFinished) phase_ended_ = true;
  if (event.kind == EventKind::kRunFinished) run_ended_ = true;
  inner_->OnEvent(event);
}

void PhaseEndReports::Flush() {
  inner_->Flush();
  if (phase_ended_ && !run_ended_) write_(quiet_);
  phase_ended_ = false;
}

int ReportCommand(const ReportOptions& options) {
  std::string format = options.format;
  if (format.empty()) {
    const std::string& o = options.output;
    if (o.ends_with(".trace.json") || o.ends_with(".trace")) {
      format = "trace";
    } else if (o.ends_with(".json")) {
      format = "json";
    } else if (o.ends_with(".html") || o.ends_with(".htm")) {
      format = "html";
    } else {
      format = "md";
    }
  }
  if (format != "md" && format != "json" && format != "trace" && format != "html") {
    fmt::print(stderr, "mex: unknown report format '{}' (md, json, trace or html)\n",
               TerminalSafeLine(format));
    return kExitUsage;
  }
  RecordedRun recorded;
  if (int code = OpenRecordedRun(options.file, options.state_dir, options.run, &recorded)) {
    return code;
  }
  SqliteStore* store = recorded.store.get();
  const StoredRun* run = &recorded.run;
  Folder& state = recorded.state;
  std::string err;
  // The milestone, when it still loads, for the tasks' deps and agents; a report goes without.
  Milestone m;
  Diagnostics diags(run->milestone);
  bool have_milestone = LoadMilestone(run->milestone, &m, &diags);
  nlohmann::ordered_json report;
  if (!ReadRunReport(store, state, *run, have_milestone ? &m : nullptr, &report, &err)) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitUsage;
  }
  std::string text = format == "json"    ? DumpJson(report, 2) + "\n"
                     : format == "trace" ? ReportTrace(report)
                     : format == "html"  ? ReportHtml(report)
                                         : ReportMarkdown(report);
  if (options.output.empty() || options.output == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout)) {
      fmt::print(stderr, "mex: cannot write to stdout: {}\n", std::strerror(errno));
      return kExitFailed;
    }
    return kExitOk;
  }
  std::ofstream out(options.output, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    fmt::print(stderr, "mex: cannot write {}: {}\n", TerminalSafeLine(options.output),
               std::strerror(errno));
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace mex
