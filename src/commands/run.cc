#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <memory>

#include "commands/commands.h"
#include "commands/load.h"
#include "engine/scheduler.h"
#include "exec/local_executor.h"
#include "plan/roadmap.h"
#include "report/ndjson.h"
#include "report/plain.h"

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

// What this version cannot run yet: said before anything is written.
bool Supported(const Milestone& m, const RunOptions& options) {
  for (const Phase& phase : m.phases) {
    if (!phase.tasks_from.empty()) {
      fmt::print(stderr,
                 "{}: error: phase '{}' takes tasks from '{}': tasks_from is not supported by "
                 "this version of mex run yet\n",
                 m.file, phase.name, phase.tasks_from);
      return false;
    }
  }
  bool slurm = options.executor == "slurm" || m.defaults.executor == ExecutorKind::kSlurm;
  if (slurm) {
    fmt::print(stderr, "{}: error: the slurm executor is not available in this version\n", m.file);
    return false;
  }
  return true;
}

}  // namespace

int RunCommand(const RunOptions& options) {
  Milestone m;
  if (!LoadForCommand(options.file, &m)) return kExitUsage;
  if (!Supported(m, options)) return kExitUsage;
  Graph graph(m);
  int jobs = options.jobs > 0 ? options.jobs : m.defaults.max_parallel;
  Roadmap roadmap = ComputeRoadmap(m, graph, jobs);

  RunInfo run;
  run.milestone = &m;
  run.timestamp = IsoTimestamp();
  for (char** e = environ; *e != nullptr; ++e) run.base_env.emplace_back(*e);
  std::string state_dir = options.state_dir.empty() ? m.workspace + "/.mex" : options.state_dir;
  std::string err;
  if (!CreateRunFolder(state_dir, NewRunId(), &run.paths, &err)) {
    fmt::print(stderr, "mex: {}\n", err);
    return kExitUsage;
  }
  LocalExecutor executor;
  if (!executor.init_error().empty()) {
    fmt::print(stderr, "mex: {}\n", executor.init_error());
    return kExitFailed;
  }
  MemoryStore store;
  std::unique_ptr<EventSink> sink;
  if (options.json) {
    sink = std::make_unique<NdjsonReporter>(stdout);
  } else {
    sink = std::make_unique<PlainReporter>(stdout, options.quiet);
  }
  Scheduler scheduler(run, graph, roadmap.priority, jobs, &executor, &store, sink.get());
  int code = scheduler.Run();
  if (!options.json && !options.quiet) fmt::print("logs and artifacts: {}\n", run.paths.run_dir);
  return code;
}

}  // namespace mex
