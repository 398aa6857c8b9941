#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>

#include "commands/commands.h"
#include "commands/declared_files.h"
#include "commands/dry_run.h"
#include "commands/load.h"
#include "commands/report.h"
#include "engine/journal.h"
#include "engine/phase_flow.h"
#include "engine/session.h"
#include "engine/task_runner.h"
#include "exec/local_executor.h"
#include "exec/placing_executor.h"
#include "exec/slurm_executor.h"
#include "git/worktrees.h"
#include "model/diagnostics.h"
#include "model/run_files.h"
#include "plan/roadmap.h"
#include "report/live.h"
#include "report/ndjson.h"
#include "report/plain.h"
#include "report/roadmap_json.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "store/state_lock.h"
#include "util/clock.h"
#include "util/metrics.h"
#include "util/terminal_text.h"

extern char** environ;

namespace mex {

namespace {

std::string IsoTimestamp() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Targets or --force naming no task of the file: said before anything is written.
bool OptionsFitTheFile(const Milestone& m, const RunOptions& options) {
  // Targets and --force name tasks of the file (a task that tasks_from adds does not exist yet).
  std::vector<std::string_view> ids;
  for (const auto& [what, names] :
       {std::pair{"--force: ", &options.force}, std::pair{"", &options.targets}}) {
    for (const std::string& id : *names) {
      if (m.FindTask(id) != nullptr) continue;
      if (ids.empty()) {
        for (const Task& t : m.tasks) ids.push_back(t.id);
      }
      fmt::print(stderr, "mex: {}no task '{}' in {}{}\n", what, TerminalSafeLine(id),
                 TerminalSafeLine(m.file), DidYouMean(id, ids));
      return false;
    }
  }
  return true;
}

// Where the merged result of a run with worktrees is, and how to take it (or --apply).
void ReportResult(const GitWorktrees& worktrees, int code, const RunOptions& options) {
  const bool say = !options.json && !options.quiet;
  if (code != 0) {
    if (options.apply) {
      fmt::print(stderr,
                 "mex: not applied: the run did not pass every gate (what merged so far is "
                 "on branch {})\n",
                 worktrees.branch());
    }
    return;
  }
  if (say) {
    std::vector<std::string> commits = worktrees.Log();
    fmt::print("result: branch {}, {} commit{} on top of {} (HEAD when the run began)\n",
               worktrees.branch(), commits.size(), commits.size() == 1 ? "" : "s",
               worktrees.base().substr(0, 12));
    if (!options.apply) fmt::print("  take it:    git merge {}\n", worktrees.branch());
  }
  if (options.apply) {
    std::string message;
    bool applied = worktrees.Apply(&message);
    // Standard output holds only events with --json.
    fmt::print(applied && !options.json ? stdout : stderr, "{}{}\n",
               applied ? "" : "mex: ", TerminalSafeLine(message));
  }
}

// Whether stdout is a terminal that can move its cursor and show colours (TERM set, not dumb).
bool CapableTerminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) == 1 && term != nullptr && *term != '\0' &&
         std::string(term) != "dumb";
}

// --progress: the live view (report/live.h) on a capable terminal.
bool LiveWanted(const std::string& progress) {
  return progress == "live" || (progress != "plain" && CapableTerminal());
}

// --color: on a capable terminal unless NO_COLOR is set (https://no-color.org).
bool ColorWanted(const std::string& color) {
  if (color == "always" || color == "never") return color == "always";
  const char* no_color = std::getenv("NO_COLOR");
  return (no_color == nullptr || *no_color == '\0') && CapableTerminal();
}

}  // namespace

int RunCommand(const RunOptions& options) {
  Milestone m;
  if (!LoadForCommand(options.file, &m)) return kExitUsage;
  if (!OptionsFitTheFile(m, options)) return kExitUsage;
  // --executor: where the tasks that name none run.
  if (!options.executor.empty()) {
    m.defaults.executor = options.executor == "slurm" ? ExecutorKind::kSlurm : ExecutorKind::kLocal;
  }
  std::string err;
  if (m.UsesWorktrees() && !GitWorktrees::Check(m.workspace, &err)) {
    fmt::print(stderr, "{}: error: {}\n", TerminalSafeLine(m.file), TerminalSafeLine(err));
    return kExitUsage;
  }
  Graph graph(m);
  int jobs = options.jobs > 0 ? options.jobs : m.defaults.max_parallel;
  Roadmap roadmap = ComputeRoadmap(m, graph, jobs);
  // The tasks' inputs are found before anything is written: a missing one is an error of the
  // file. They are hashed once state.db, which caches their hashes, is open.
  TaskInputs inputs;
  Folder sources;
  {
    ScopedMetric metric("find inputs");
    Pos pos;
    if (!Folder::Open(m.workspace, false, &sources, &err)) {
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
      return kExitUsage;
    }
    if (!FindInputs(m, sources, &inputs, &err, &pos)) {
      fmt::print(stderr, "{}:{}:{}: error: {}\n", TerminalSafeLine(m.file), pos.line, pos.col,
                 TerminalSafeLine(err));
      return kExitUsage;
    }
  }
  if (options.dry_run) return DryRun(options, m, graph, roadmap, std::move(inputs), sources);

  std::string state_dir = options.state_dir.empty() ? m.workspace + "/.mex" : options.state_dir;
  // Every file of the run is made beneath these two, held open from here (util/folder.h).
  auto state = std::make_shared<Folder>();
  Folder workspace;
  StateLock lock;
  if (!Folder::Open(state_dir, true, state.get(), &err) || !lock.Acquire(state, &err) ||
      !Folder::Open(m.workspace, false, &workspace, &err)) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitUsage;
  }
  std::unique_ptr<SqliteStore> db;
  std::optional<StoredRun> earlier;
  std::string milestone_path = MilestoneKey(options.file);
  if (options.durable) {
    {
      ScopedMetric metric("open state.db");
      db = SqliteStore::Open(state_dir, false, &err);
    }
    if (!db) {
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
      return kExitUsage;
    }
    if (!options.new_run) earlier = db->LatestRun(milestone_path);
    if (!db->error().empty()) {  // a read failed: never mistake it for "no earlier run"
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(db->error()));
      return kExitUsage;
    }
  }

  InputHashCache fresh_hashes;
  if (!inputs.empty()) {
    ScopedMetric metric("hash inputs");
    InputHashCache cache;
    if (db) cache = db->InputHashes(m.workspace);
    if (!HashInputs(sources, cache, &inputs, &fresh_hashes, &err)) {
      fmt::print(stderr, "{}: error: {}\n", TerminalSafeLine(m.file), TerminalSafeLine(err));
      return kExitUsage;
    }
  }

  RunInfo run;
  run.milestone = &m;
  run.inputs = std::move(inputs);
  run.timestamp = earlier ? earlier->timestamp : IsoTimestamp();
  run.keep_going = options.keep_going;
  run.force = options.force;
  run.force_all = options.force_all;
  run.targets = options.targets;
  for (char** e = environ; *e != nullptr; ++e) run.base_env.emplace_back(*e);
  if (!CreateRunFolder(state, earlier ? earlier->id : NewRunId(), &run.paths, &err)) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitUsage;
  }
  LocalExecutor local(state.get(), &workspace);
  local.set_run(run.paths.run_id);
  if (!local.init_error().empty()) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(local.init_error()));
    return kExitFailed;
  }
  // Tasks placed on Slurm (executor: slurm) go to the cluster, the others run here.
  std::unique_ptr<SlurmExecutor> slurm;
  if (m.UsesSlurm()) {
    SlurmSettings settings{.run_id = run.paths.run_id,
                           .partition = m.slurm.partition,
                           .account = m.slurm.account,
                           .qos = m.slurm.qos,
                           .args = m.slurm.args,
                           .arrays = m.slurm.arrays,
                           .array_limit = m.slurm.array_limit,
                           .array_dir = run.paths.run_dir + "/arrays"};
    slurm = std::make_unique<SlurmExecutor>(state.get(), &local, std::move(settings));
    if (std::string why = slurm->Check(run.paths.run_dir); !why.empty()) {
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(why));
      return kExitFailed;
    }
  }
  PlacingExecutor executor(&local, slurm.get());
  std::unique_ptr<EventSink> sink;
  LiveReporter* live = nullptr;
  if (options.json) {
    sink = std::make_unique<NdjsonReporter>(stdout);
  } else if (LiveWanted(options.progress)) {
    auto reporter =
        std::make_unique<LiveReporter>(stdout, options.quiet, ColorWanted(options.color));
    live = reporter.get();
    sink = std::move(reporter);
  } else {
    sink = std::make_unique<PlainReporter>(stdout, options.quiet, ColorWanted(options.color));
  }
  MemoryStore memory;
  Store* store = db ? static_cast<Store*>(db.get()) : &memory;
  // The reports at each phase's end (docs/report.md); the run's end writes them below.
  // A no-op session after one that succeeded leaves its reports as they are: they would say the
  // same (and at 10,000 tasks writing them is most of a no-op run's time).
  const bool earlier_succeeded = earlier && earlier->state == "succeeded";
  // `quiet`: the session did nothing so far (PhaseEndReports::quiet).
  auto write_reports = [&](bool quiet) {
    if (!db || (earlier_succeeded && quiet && RunReportsExist(*state, run.paths.run_id))) return;
    ScopedMetric metric("write report");
    std::string report_err;
    if (!WriteRunReports(db.get(), *state, run.paths.run_id, m, &report_err)) {
      fmt::print(stderr, "mex: report not written: {}\n", TerminalSafeLine(report_err));
    }
  };
  PhaseEndReports reporting(sink.get(), write_reports);
  Journal journal(run.paths.run_id, store, &reporting);
  TaskRunner runner(run, graph, roadmap.priority, jobs, &executor, &journal);
  // workspace: worktree: the run's integration branch, made or found again before anything of the
  // run is written.
  std::unique_ptr<GitWorktrees> worktrees;
  if (m.UsesWorktrees()) {
    std::vector<std::string> notes;
    worktrees = GitWorktrees::Open(m.workspace, run.paths.run_id, run.paths.run_dir + "/worktrees",
                                   earlier ? earlier->git_base : "",
                                   earlier ? earlier->git_head : "", &notes, &err);
    if (!worktrees) {
      fmt::print(stderr, "{}: error: {}\n", TerminalSafeLine(m.file), TerminalSafeLine(err));
      return kExitUsage;
    }
    for (const std::string& note : notes) fmt::print(stderr, "mex: {}\n", TerminalSafeLine(note));
    runner.set_workspaces(worktrees.get());
  }
  PhaseFlow flow(run, &runner, &journal);
  if (live) {
    local.set_on_stop([live](bool stopping) {
      if (stopping) {
        live->Suspend();
      } else {
        live->Resume();
      }
    });
    live->set_sources({&m, [&runner](uint32_t task) { return runner.state(task); },
                       [&flow] { return flow.spent_usd(); },
                       [&flow] { return flow.WeightedProgress(); },
                       [&db] { return db ? db->CurrentEta() : Eta{}; }, state.get()});
  }
  Session session(&run, &m, &graph, &roadmap, jobs, db.get(), &runner,
                  [&](const Roadmap& r, std::string* error) {
                    return WriteRoadmapJson(run.paths, m, r, error);
                  });
  flow.set_hooks(&session);
  runner.set_on_started([&session](uint32_t task) { session.TaskStarting(task); });
  runner.set_on_succeeded([&session](uint32_t task) { session.TaskSucceeded(task); });
  if (db) {
    StoredRun row;
    row.id = run.paths.run_id;
    row.milestone = milestone_path;
    row.name = m.id;
    row.timestamp = run.timestamp;
    row.started_at = earlier ? earlier->started_at : WallClockSeconds();
    db->BeginRun(row, jobs);
    if (worktrees) db->SetIntegration(worktrees->base(), worktrees->head());
    db->PutInputHashes(m.workspace, fresh_hashes);
    {
      ScopedMetric metric("prepare session");
      session.Prepare();
    }
    flow.set_spent_usd(db->SpentUsd(run.paths.run_id));
    if (!db->error().empty()) {  // unread rows would make finished tasks run again
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(db->error()));
      return kExitUsage;
    }
    flow.set_resumed(earlier.has_value());
    // Left by a session killed mid-write; this one holds the lock, so nobody else writes here.
    state->RemoveStaleTempFiles(run.paths.run_dir);
    state->RemoveStaleTempFiles(run.paths.failures_dir);
    state->RemoveStaleTempFiles(run.paths.validation_dir);
    db->SetRunFiles(state, run.paths.run_dir + "/status.json");
  }
  if (!session.WriteRoadmap(&err)) {
    fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
    return kExitFailed;
  }
  int code = 0;
  {
    ScopedMetric metric("scheduler");
    code = flow.Run();
  }
  if (worktrees) worktrees->Close();
  std::vector<std::string> files_lines;
  if (worktrees && db) {
    DeclaredFilesReport files = CompareDeclaredFiles(m, db->Attempts(run.paths.run_id));
    files_lines = std::move(files.lines);
    std::string ignored;  // a report: the run's outcome does not depend on it
    state->WriteAtomically(run.paths.run_dir + "/files.json", files.json.dump(2) + "\n", &ignored);
  }
  // The run's report, whatever its outcome (docs/report.md); the outcome does not depend on it.
  write_reports(reporting.quiet());
  {
    ScopedMetric metric("close state.db");
    db.reset();
  }
  if (!options.json && !options.quiet) {
    std::string run_dir = TerminalSafeLine(run.paths.run_dir);
    fmt::print("run folder: {}\n", run_dir);
    if (options.durable) {
      fmt::print("  status:     {}/status.json (or: mex status {})\n", run_dir,
                 TerminalSafeLine(options.file));
    }
    fmt::print("  gates:      {}/\n", TerminalSafeLine(run.paths.validation_dir));
    fmt::print("  roadmap:    {}/roadmap.json\n", run_dir);
  }
  if (!options.json && !options.quiet) {
    for (const std::string& line : files_lines) fmt::print("{}\n", line);
  }
  if (worktrees) ReportResult(*worktrees, code, options);
  return code;
}

}  // namespace mex
