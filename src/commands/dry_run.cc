// `mex run -n`: for each task, whether `mex run` would run it and why, as `ninja -d explain` and
// Snakemake's dry run say it. Reads state.db read-only (as `mex status`); takes no lock, makes no
// folder, writes nothing.
#include "commands/dry_run.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <unordered_map>

#include "commands/commands.h"
#include "engine/definition.h"
#include "exec/slurm_parse.h"
#include "plan/targets.h"
#include "store/sqlite_store.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

// The tasks of `task`'s deps whose hash changed since `stored` recorded them, by id.
std::vector<std::string> ChangedDeps(const Milestone& m, const Graph& graph, uint32_t task,
                                     const std::vector<std::string>& hashes,
                                     const std::unordered_map<std::string, StoredTask>& stored) {
  std::vector<std::string> changed;
  for (uint32_t dep : graph.deps(task)) {
    auto it = stored.find(std::string(m.tasks[dep].id));
    if (it == stored.end() || it->second.hash != hashes[dep]) {
      changed.emplace_back(m.tasks[dep].id);
    }
  }
  return changed;
}

// What a session would say of a task whose Slurm job a killed session left in flight, which it
// follows rather than submits again (when the task is unchanged and not forced); "" for others.
std::string FollowedJob(const Milestone& m, const Task& task, const StoredTask& was,
                        const std::string& hash,
                        const std::unordered_map<std::string, AttemptRecord>& in_flight) {
  auto a = in_flight.find(std::string(task.id));
  if (a == in_flight.end() || !FollowsLeftAttempt(was, a->second.number, hash, false)) return "";
  const ProcessRef& ref = a->second.process;
  if (std::string id = JobIdOf(ref); !id.empty()) {
    return fmt::format(
        "attempt {} goes on: its Slurm job {} is followed, if the cluster still knows it",
        a->second.number, id);
  }
  if (ref.empty() && m.ExecutorOf(task) == ExecutorKind::kSlurm) {
    return fmt::format(
        "attempt {} goes on: its Slurm job, never recorded, is followed if found by its name",
        a->second.number);
  }
  return "";
}

}  // namespace

int DryRun(const RunOptions& options, const Milestone& m, const Graph& graph,
           const Roadmap& roadmap, TaskInputs inputs, const Folder& workspace) {
  const std::string state_dir =
      options.state_dir.empty() ? m.workspace + "/.mex" : options.state_dir;
  std::unordered_map<std::string, StoredTask> stored;
  std::unordered_map<std::string, AttemptRecord> in_flight;  // by task: left by a killed session
  InputHashCache cache;                                      // read, never written
  std::string run_id = "dry-run", err;
  struct stat st {};
  auto state = std::make_shared<Folder>();
  bool have_state = !options.new_run && stat((state_dir + "/state.db").c_str(), &st) == 0;
  if (have_state) {
    std::unique_ptr<SqliteStore> db = SqliteStore::Open(state_dir, /*read_only=*/true, &err);
    if (!db || !Folder::Open(state_dir, /*create=*/false, state.get(), &err)) {
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(err));
      return kExitUsage;
    }
    if (!inputs.empty()) cache = db->InputHashes(m.workspace);
    std::optional<StoredRun> run = db->LatestRun(MilestoneKey(options.file));
    if (run) {
      run_id = run->id;
      bool killed = false;  // a session was killed while some task ran
      for (StoredTask& t : db->Tasks(run->id)) {
        killed = killed || t.state == TaskState::kRunning;
        std::string id = t.id;
        stored.emplace(std::move(id), std::move(t));
      }
      for (AttemptRecord& a : killed ? db->Attempts(run->id) : std::vector<AttemptRecord>{}) {
        if (a.ended_at == 0) {
          std::string id = a.task;
          in_flight[id] = std::move(a);
        }
      }
    }
    if (!db->error().empty()) {
      fmt::print(stderr, "mex: {}\n", TerminalSafeLine(db->error()));
      return kExitUsage;
    }
  }
  if (!HashInputs(workspace, cache, &inputs, nullptr, &err)) {
    fmt::print(stderr, "{}: error: {}\n", TerminalSafeLine(m.file), TerminalSafeLine(err));
    return kExitUsage;
  }
  RunInfo info;
  info.milestone = &m;
  info.force = options.force;
  info.force_all = options.force_all;
  info.inputs = std::move(inputs);
  if (state->valid()) {
    info.paths = RunPathsOf(state, run_id);
    HashOutputs(&info);
  }
  std::vector<std::string> hashes = DefinitionHashes(info, graph, roadmap);
  std::vector<bool> forced = ForcedTasks(info, graph, roadmap);

  // As the session decides it (engine/session.cc): the tasks from the first phase with
  // tasks_from on are decided when that phase starts.
  const uint32_t first_dynamic = m.NextPhaseWithTasksFrom(0);
  std::vector<bool> needed(m.tasks.size(), true);
  if (!options.targets.empty()) needed = TasksForTargets(m, graph, options.targets);
  int would_run = 0, kept = 0, later = 0, not_needed = 0;
  std::string out;
  for (uint32_t t = 0; t < m.tasks.size(); ++t) {
    const Task& task = m.tasks[t];
    std::string why;
    bool runs = true;
    auto it = stored.find(std::string(task.id));
    if (!needed[t]) {
      out += fmt::format("skip  {}: not needed by the targets\n", task.id);
      ++not_needed;
      continue;
    }
    if (task.phase >= first_dynamic) {
      why = fmt::format("decided when phase {} starts ({} adds tasks then)",
                        m.phases[first_dynamic].name, m.phases[first_dynamic].tasks_from);
      runs = false;
      ++later;
    } else if (forced[t]) {
      why = "forced (--force)";
    } else if (it == stored.end() || it->second.attempts == 0) {
      why = "never run";
    } else if (KeptAsItWas(it->second, hashes[t], false, MissingOutput(info, task))) {
      why = "succeeded, unchanged";
      runs = false;
      ++kept;
    } else if (it->second.hash != hashes[t]) {
      std::vector<std::string> deps = ChangedDeps(m, graph, t, hashes, stored);
      auto files = info.inputs.find(std::string(task.id));
      // The inputs whose content is not the one cached: what the last run saw of them.
      std::vector<std::string> changed;
      bool known = files != info.inputs.end();
      for (size_t i = 0; known && i < files->second.size(); ++i) {
        const InputFile& file = files->second[i];
        auto was = cache.find(file.path);
        known = was != cache.end();
        if (known && was->second.hash != file.hash) changed.push_back(file.path);
      }
      if (!deps.empty()) {
        why = fmt::format("a dep changed: {}", fmt::join(deps, ", "));
      } else if (!changed.empty()) {
        why = fmt::format("{} changed: {}", changed.size() == 1 ? "an input" : "inputs",
                          fmt::join(changed, ", "));
      } else if (files != info.inputs.end() && !known) {
        why = "its definition or one of its inputs changed";
      } else {
        why = "its definition changed";
      }
    } else if (std::string job = FollowedJob(m, task, it->second, hashes[t], in_flight);
               !job.empty()) {
      // As the session decides it (Session::Prepare, Executor::Adopt): the attempt goes on.
      why = job;
    } else {
      why = RerunReason(it->second, hashes[t], false, MissingOutput(info, task));
    }
    if (runs) ++would_run;
    out += fmt::format("{} {}: {}\n",
                       task.phase >= first_dynamic ? "later"
                       : runs                      ? "run  "
                                                   : "keep ",
                       task.id, why);
  }
  out += fmt::format("{} would run, {} kept{}{}; nothing was run or written\n", would_run, kept,
                     later > 0 ? fmt::format(", {} decided later", later) : "",
                     not_needed > 0 ? fmt::format(", {} not needed", not_needed) : "");
  fmt::print("{}", out);  // ids and phase names are [A-Za-z0-9_.-]
  return kExitOk;
}

}  // namespace mex
