// mex: runs a software milestone as a graph of tasks. CLI wiring only.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <map>
#include <string_view>

#include "commands/commands.h"
#include "commands/completion.h"
#include "commands/usage.h"
#include "util/metrics.h"
#include "util/terminal_text.h"

namespace {

constexpr const char* kVersion = "mex 0.1.0";

int UsageError(const std::string& message) {
  fmt::print(stderr, "mex: {}\n", message);
  return mex::kExitUsage;
}

// The names of `app`'s options as typed: "--jobs", "-j".
std::vector<std::string> OptionNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

// What CLI11 left over in a subcommand: an option it does not have, or one word too many.
int ExtraArgument(const CLI::App& command, const std::string& arg) {
  const std::string safe = mex::TerminalSafeLine(arg);
  if (arg.size() > 1 && arg[0] == '-') {
    std::string name = arg.substr(0, arg.find('='));
    return UsageError(fmt::format("{}: unknown option '{}'{}; 'mex {} --help' lists them",
                                  command.get_name(), mex::TerminalSafeLine(name),
                                  mex::Suggestion(name, OptionNames(command)), command.get_name()));
  }
  return UsageError(fmt::format("{}: unexpected argument '{}'; 'mex {} --help' shows the usage",
                                command.get_name(), safe, command.get_name()));
}

// The values of options that take one of a fixed set, for the completion scripts.
std::map<const CLI::Option*, std::vector<std::string>>& Choices() {
  static std::map<const CLI::Option*, std::vector<std::string>> choices;
  return choices;
}

// `option` takes one of `values`: checked by CLI11, and offered by the completion scripts.
CLI::Option* OneOf(CLI::Option* option, std::vector<std::string> values) {
  option->check(CLI::IsMember(values));
  Choices()[option] = std::move(values);
  return option;
}

mex::CliOptionSpec OptionSpec(const CLI::Option& option) {
  mex::CliOptionSpec spec;
  for (const std::string& name : option.get_lnames()) spec.names.push_back("--" + name);
  for (const std::string& name : option.get_snames()) spec.names.push_back("-" + name);
  std::string description = option.get_description();
  spec.description = description.substr(0, description.find('\n'));
  spec.takes_value = option.get_items_expected_min() > 0;  // a flag expects none
  if (auto it = Choices().find(&option); it != Choices().end()) spec.choices = it->second;
  return spec;
}

// The command line as the completion scripts need it.
mex::CliSpec SpecOf(CLI::App& app) {
  mex::CliSpec spec;
  for (const CLI::Option* option : app.get_options()) {
    if (!option->get_positional()) spec.global.push_back(OptionSpec(*option));
  }
  for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    mex::CliCommandSpec& c = spec.commands.emplace_back();
    c.name = command->get_name();
    c.description = command->get_description();
    for (const CLI::Option* option : command->get_options()) {
      if (option->get_positional()) {
        c.takes_file = c.takes_file || option->get_name() == "FILE";
        if (auto it = Choices().find(option); it != Choices().end()) {
          c.argument_choices = it->second;
        }
      } else {
        c.options.push_back(OptionSpec(*option));
      }
    }
  }
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mex: the milestone executor", "mex"};
  app.set_version_flag("--version", kVersion);
  app.footer(
      "FILE defaults to ./milestone.yaml (then milestone.yml, milestone.json).\n"
      "Exit codes: 0 success; 1 a run or gate failed (run), an output not written; 2 invalid\n"
      "input or usage (nothing run or written); 130 interrupted (run again to resume).\n"
      "'mex COMMAND --help' for each command. Example: mex init --agent demo && mex run");
  std::string debug;
  OneOf(app.add_option("-d", debug,
                       "Debugging mode: 'stats' prints where the time went; 'nostore' runs without "
                       "state.db (not resumable; to measure what the store costs)"),
        {"stats", "nostore"});

  std::string file;
  auto* validate = app.add_subcommand("validate", "Load and check a milestone file; run nothing");
  validate->add_option("FILE", file,
                       "Milestone file (.yaml, .yml or .json; default ./milestone.yaml)");
  validate->footer(
      "Exit codes: 0 valid (warnings, such as an agent program not in PATH, on stderr); 2\n"
      "invalid: every error as FILE:LINE:COL: error: MESSAGE.\n"
      "Example: mex validate milestone.yaml");

  mex::PlanOptions plan_options;
  auto* plan = app.add_subcommand(
      "plan", "Levels, critical path, total effort and estimated makespan; run nothing");
  plan->add_option("FILE", plan_options.file, "Milestone file (default ./milestone.yaml)");
  std::string plan_jobs;
  plan->add_option("-j,--jobs", plan_jobs,
                   "Slots for the makespan estimate (default: the milestone's max_parallel)");
  plan->add_flag("--json", plan_options.json, "Print the roadmap object as JSON");
  plan->footer("Exit codes: 0; 2 invalid input.\nExample: mex plan milestone.yaml -j 8 --json");

  std::string format = "dot";
  auto* graph = app.add_subcommand("graph", "Print the task graph with the critical path marked");
  graph->add_option("FILE", file, "Milestone file (default ./milestone.yaml)");
  OneOf(graph->add_option("--format", format, "dot (default), mermaid or json"),
        {"dot", "mermaid", "json"});
  graph->footer(
      "Exit codes: 0; 2 invalid input.\nExample: mex graph milestone.yaml | dot -Tsvg > "
      "graph.svg");

  mex::RunOptions run_options;
  auto* run = app.add_subcommand("run", "Run the milestone's tasks");
  run->add_option("FILE", run_options.file, "Milestone file (default ./milestone.yaml)");
  run->add_option("TASK", run_options.targets,
                  "Run only these tasks and what they need: the phases before theirs whole, "
                  "then the targets and their deps (default: every task)");
  std::string run_jobs;
  run->add_option("-j,--jobs", run_jobs,
                  "Attempts running at once (default: the milestone's max_parallel)");
  run->add_flag("--new", run_options.new_run, "Start a fresh run");
  run->add_option("--force", run_options.force,
                  "Run TASK again whatever its state, and the tasks that need it (--force a "
                  "--force b, or --force a,b)")
      ->delimiter(',')
      ->allow_extra_args(false);
  run->add_flag("--force-all", run_options.force_all, "Run every task again");
  run->add_flag("-n,--dry-run", run_options.dry_run,
                "Print what would run and why (never run, definition changed, a dep changed, "
                "failed last time, forced); run and write nothing");
  std::string keep_going;
  run->add_option("-k,--keep-going", keep_going,
                  "Start nothing new once N tasks failed; 0: never stop (default: the "
                  "milestone's on_failure)");
  run->add_option("--state-dir", run_options.state_dir, "State folder (default .mex beside FILE)");
  OneOf(run->add_option("--executor", run_options.executor,
                        "Where tasks that name no executor run: local or slurm (default: the "
                        "milestone's defaults.executor)"),
        {"local", "slurm"});
  run->add_flag("--json", run_options.json, "Print events as NDJSON");
  run->add_flag("--quiet", run_options.quiet, "Print only failures and the summary");
  OneOf(run->add_option("--progress", run_options.progress,
                        "auto (default): a live view when stdout is a terminal (not TERM=dumb); "
                        "live; plain: one line per event"),
        {"auto", "live", "plain"});
  OneOf(run->add_option("--color", run_options.color,
                        "auto (default): colour the states on a terminal, unless NO_COLOR is "
                        "set; always; never"),
        {"auto", "always", "never"});
  run->add_flag("--apply", run_options.apply,
                "Once every gate passed, fast-forward your branch to the run's integration branch "
                "(workspace: worktree)");
  run->footer(
      "Exit codes: 0 every phase passed its gate; 1 a gate failed or the budget was spent; 2\n"
      "invalid input or usage, or the state folder in use (nothing run or written); 130\n"
      "interrupted: run the same command again to resume.\n"
      "Examples: mex run                       (./milestone.yaml)\n"
      "          mex run m.yaml -j 8 --new     (a fresh run, 8 attempts at once)");

  mex::StatusOptions status_options;
  auto* status = app.add_subcommand("status", "The latest run's status; changes nothing");
  status->add_option("FILE", status_options.file,
                     "Milestone file (default: the latest run of any milestone in .mex/)");
  status->add_option("--state-dir", status_options.state_dir,
                     "State folder (default .mex beside FILE, or in the current folder)");
  status->add_flag("--json", status_options.json, "Print the status object as JSON");
  status->footer(
      "Exit codes: 0; 2 no state folder or no run recorded.\n"
      "Example: mex status --json | jq .progress");

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
  logs->footer(
      "Exit codes: 0 printed; 1 no such attempt (yet), or its log cannot be read; 2 no run,\n"
      "no such run or task; 130 interrupted.\nExample: mex logs tests -f");

  mex::ReportOptions report_options;
  auto* report = app.add_subcommand(
      "report", "Report a run (latest by default) as Markdown, JSON, a Chrome trace or HTML");
  report->add_option("FILE", report_options.file,
                     "Milestone file (default: the latest run of any milestone in .mex/)");
  report->add_option("--state-dir", report_options.state_dir,
                     "State folder (default .mex beside FILE, or in the current folder)");
  report->add_option("--run", report_options.run, "Run id (default: the latest run)");
  OneOf(report->add_option("--format", report_options.format,
                           "md, json, trace or html (default: from the -o name: .json json, "
                           ".trace.json trace, .html html; else md)"),
        {"md", "json", "trace", "html"});
  report->add_option("-o,--output", report_options.output, "Write to PATH (default: stdout)");
  report->footer(
      "Exit codes: 0 written; 1 the output could not be written; 2 no run, no such run, or a\n"
      "database that cannot be read.\nExample: mex report -o run.trace.json");

  mex::InitOptions init_options;
  auto* init = app.add_subcommand("init", "Write a KIRO milestone template: DIR/milestone.yaml");
  init->add_option("DIR", init_options.dir, "Folder to write into, made when missing (default .)");
  Choices()[init->add_option("--agent", init_options.agent,
                             "Agent of the prompts: claude (default), codex, gemini, or demo "
                             "(offline; also writes DIR/demo-agent)")] = {"claude", "codex",
                                                                          "gemini", "demo"};
  init->footer(
      "Exit codes: 0 written; 2 DIR/milestone.yaml exists, or it cannot be written.\n"
      "Example: mex init demo --agent demo && cd demo && mex run");

  auto* version = app.add_subcommand("version", "Print mex's version (as mex --version)");

  std::string shell;
  auto* completion =
      app.add_subcommand("completion", "Print the shell completion script for bash, zsh or fish");
  OneOf(completion->add_option("SHELL", shell, "bash, zsh or fish")->required(),
        {"bash", "zsh", "fish"});
  completion->footer(
      "Exit codes: 0; 2 another shell.\n"
      "Example: source <(mex completion bash)   (cmake --install puts them where each shell "
      "looks)");

  // A command CLI11 does not know is an error of ours, with the nearest name; so is none.
  std::vector<std::string> commands;
  for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    commands.push_back(command->get_name());
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-d") {
      ++i;  // its value
      continue;
    }
    if (arg.rfind("-d", 0) == 0 && arg.rfind("--", 0) != 0) continue;  // -dstats
    if (arg == "-h" || arg == "--help" || arg == "--version") break;
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name(arg.substr(0, arg.find('=')));
      return UsageError(fmt::format("unknown option '{}'{}; 'mex --help' lists them",
                                    mex::TerminalSafeLine(name),
                                    mex::Suggestion(name, {"--help", "--version", "-d"})));
    }
    if (std::find(commands.begin(), commands.end(), arg) == commands.end()) {
      return UsageError(fmt::format("unknown command '{}'{}; the commands: {}",
                                    mex::TerminalSafeLine(arg), mex::Suggestion(arg, commands),
                                    fmt::join(commands, ", ")));
    }
    break;
  }
  if (argc < 2) {
    return UsageError(fmt::format("a command is required: {} ('mex --help' says more)",
                                  fmt::join(commands, ", ")));
  }
  app.require_subcommand(1);
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    command->allow_extras();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(fmt::format("{}; 'mex --help' says more", mex::TerminalSafeLine(e.what())));
  }
  for (const CLI::App* command : app.get_subcommands()) {
    std::vector<std::string> extra = command->remaining();
    if (!extra.empty()) return ExtraArgument(*command, extra.front());
  }
  std::string err;
  if (!plan_jobs.empty() && !mex::ParseCount("-j", plan_jobs, 1, &plan_options.jobs, &err)) {
    return UsageError(err);
  }
  if (!run_jobs.empty() && !mex::ParseCount("-j", run_jobs, 1, &run_options.jobs, &err)) {
    return UsageError(err);
  }
  if (!keep_going.empty() && !mex::ParseCount("-k", keep_going, 0, &run_options.keep_going, &err)) {
    return UsageError(err);
  }
  // `mex run build link`: FILE is left out when the first word is no file but a task's id.
  if (*run && !run_options.file.empty() && !mex::LooksLikeMilestoneFile(run_options.file)) {
    run_options.targets.insert(run_options.targets.begin(), run_options.file);
    run_options.file.clear();
  }
  // A command that reads a milestone file and was given none reads ./milestone.yaml.
  for (std::string* f : {&file, &plan_options.file, &run_options.file}) {
    const bool wanted = (f == &file && (*validate || *graph)) ||
                        (f == &plan_options.file && *plan) || (f == &run_options.file && *run);
    if (wanted && f->empty() && !mex::DefaultMilestoneFile(f, &err)) return UsageError(err);
  }
  if (*completion) {
    fmt::print("{}", mex::CompletionScript(SpecOf(app), shell));
    return mex::kExitOk;
  }
  if (*version) {
    fmt::print("{}\n", kVersion);
    return mex::kExitOk;
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
