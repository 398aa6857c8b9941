// mex: runs a software milestone as a graph of tasks. CLI wiring only.
#include <CLI/CLI.hpp>
#include <csignal>

#include "commands/commands.h"
#include "util/metrics.h"

int main(int argc, char** argv) {
  CLI::App app{"mex: the milestone executor", "mex"};
  app.set_version_flag("--version", "mex 0.1.0");
  app.require_subcommand(1);
  std::string debug;
  app.add_option("-d", debug,
                 "Debugging mode: 'stats' prints where the time went; 'nostore' runs without "
                 "state.db (not resumable; to measure what the store costs)")
      ->check(CLI::IsMember({"stats", "nostore"}));

  std::string file;
  auto* validate = app.add_subcommand("validate", "Load and check a milestone file; run nothing");
  validate->add_option("FILE", file, "Milestone file (.yaml, .yml or .json)")->required();

  mex::PlanOptions plan_options;
  auto* plan = app.add_subcommand(
      "plan", "Levels, critical path, total effort and estimated makespan; run nothing");
  plan->add_option("FILE", plan_options.file, "Milestone file")->required();
  plan->add_option("-j,--jobs", plan_options.jobs, "Slots for the makespan estimate")
      ->check(CLI::PositiveNumber);
  plan->add_flag("--json", plan_options.json, "Print the roadmap object as JSON");

  std::string format = "dot";
  auto* graph = app.add_subcommand("graph", "Print the task graph with the critical path marked");
  graph->add_option("FILE", file, "Milestone file")->required();
  graph->add_option("--format", format, "Output format")
      ->check(CLI::IsMember({"dot", "mermaid", "json"}));

  mex::RunOptions run_options;
  auto* run = app.add_subcommand("run", "Run the milestone's tasks");
  run->add_option("FILE", run_options.file, "Milestone file")->required();
  run->add_option("-j,--jobs", run_options.jobs, "Attempts running at once")
      ->check(CLI::PositiveNumber);
  run->add_flag("--new", run_options.new_run, "Start a fresh run");
  run->add_option("--state-dir", run_options.state_dir, "State folder (default .mex beside FILE)");
  run->add_option("--executor", run_options.executor, "Where tasks run")
      ->check(CLI::IsMember({"local", "slurm"}));
  run->add_flag("--json", run_options.json, "Print events as NDJSON");
  run->add_flag("--quiet", run_options.quiet, "Print only failures and the summary");
  run->add_option("--progress", run_options.progress,
                  "auto (default): a live view when stdout is a terminal (not TERM=dumb); live; "
                  "plain: one line per event")
      ->check(CLI::IsMember({"auto", "live", "plain"}));
  run->add_flag("--apply", run_options.apply,
                "Once every gate passed, fast-forward your branch to the run's integration branch "
                "(workspace: worktree)");

  mex::StatusOptions status_options;
  auto* status = app.add_subcommand("status", "The latest run's status; changes nothing");
  status->add_option("FILE", status_options.file,
                     "Milestone file (default: the latest run of any milestone in .mex/)");
  status->add_option("--state-dir", status_options.state_dir,
                     "State folder (default .mex beside FILE, or in the current folder)");
  status->add_flag("--json", status_options.json, "Print the status object as JSON");

  mex::LogsOptions logs_options;
  auto* logs = app.add_subcommand(
      "logs",
      "Print a task's log (latest attempt of the latest run); -f follows it; changes nothing");
  logs->add_option("TASK", logs_options.task, "Task id")->required();
  logs->add_option("FILE", logs_options.file,
                   "Milestone file (default: the latest run of any milestone in .mex/)");
  logs->add_option("--state-dir", logs_options.state_dir,
                   "State folder (default .mex beside FILE, or in the current folder)");
  logs->add_option("--run", logs_options.run, "Run id (default: the latest run)");
  logs->add_option("--attempt", logs_options.attempt, "Attempt number (default: the latest)")
      ->check(CLI::PositiveNumber);
  logs->add_flag("-f,--follow", logs_options.follow,
                 "Keep printing what is written, and the logs of the task's next attempts, until "
                 "the task or the run ends");

  mex::ReportOptions report_options;
  auto* report = app.add_subcommand(
      "report", "Report a run (latest by default) as Markdown, JSON, a Chrome trace or HTML");
  report->add_option("FILE", report_options.file,
                     "Milestone file (default: the latest run of any milestone in .mex/)");
  report->add_option("--state-dir", report_options.state_dir,
                     "State folder (default .mex beside FILE, or in the current folder)");
  report->add_option("--run", report_options.run, "Run id (default: the latest run)");
  report
      ->add_option("--format", report_options.format,
                   "md, json, trace or html (default: from the -o name: .json json, "
                   ".trace.json trace, .html html; else md)")
      ->check(CLI::IsMember({"md", "json", "trace", "html"}));
  report->add_option("-o,--output", report_options.output, "Write to PATH (default: stdout)");

  mex::InitOptions init_options;
  auto* init = app.add_subcommand("init", "Write a KIRO milestone template: DIR/milestone.yaml");
  init->add_option("DIR", init_options.dir, "Folder to write into, made when missing (default .)");
  init->add_option("--agent", init_options.agent,
                   "Agent of the prompts: claude (default), codex, gemini, or demo (offline; "
                   "also writes DIR/demo-agent)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return mex::kExitUsage;
  }
  if (debug == "stats") mex::Metrics::Get().Enable();
  run_options.durable = debug != "nostore";
  // A reader that goes away (`mex run --json | head`) must not kill mex while its tasks run:
  // their process groups would be left behind. Tasks get SIGPIPE back (see LocalExecutor).
  signal(SIGPIPE, SIG_IGN);
  int code = mex::kExitUsage;
  {
    mex::ScopedMetric metric("total");
    if (*validate) code = mex::ValidateCommand(file);
    if (*plan) code = mex::PlanCommand(plan_options);
    if (*graph) code = mex::GraphCommand(file, format);
    if (*run) code = mex::RunCommand(run_options);
    if (*status) code = mex::StatusCommand(status_options);
    if (*logs) code = mex::LogsCommand(logs_options);
    if (*report) code = mex::ReportCommand(report_options);
    if (*init) code = mex::InitCommand(init_options);
  }
  if (mex::Metrics::Get().enabled()) mex::Metrics::Get().Report();
  return code;
}
