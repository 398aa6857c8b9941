#include "engine/attempt.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "agents/agent_cli.h"
#include "agents/agents.h"
#include "model/command_template.h"
#include "model/size.h"
#include "model/template.h"

namespace mex {

namespace {

class Renderer {
 public:
  Renderer(const RunInfo& run, const Task& task, const AttemptHistory& history)
      : run_(run), task_(task), history_(history) {}

  std::string Value(std::string_view name) const {
    const Milestone& m = *run_.milestone;
    const TaskDetail* d = task_.details();
    if (name == "milestone.id") return m.id;
    if (name == "milestone.title") return m.title;
    if (name == "milestone.goal") return m.goal;
    if (name == "run.id") return run_.paths.run_id;
    if (name == "timestamp") return run_.timestamp;
    if (name == "phase.name") return m.phases[task_.phase].name;
    if (name == "task.id") return std::string(task_.id);
    if (name == "task.title") return d ? d->title : "";
    if (name == "task.description") return d ? d->description : "";
    if (name == "task.effort") return fmt::format("{:g}", task_.effort);
    if (name == "output") return OutputPath(run_, task_);
    if (name == "attempt.number") return std::to_string(history_.number);
    if (name == "attempt.last_error") return history_.last_error;
    if (name == "gate.missing") return history_.gate_missing;
    if (name == "workspace") return history_.workspace.empty() ? m.workspace : history_.workspace;
    if (name.starts_with("artifact.")) {
      const Task* other = m.FindTask(name.substr(9));
      return other ? OutputPath(run_, *other) : "";
    }
    return "";
  }

  // Renders a prompt: the values as they are.
  bool Render(std::string_view text, std::string* out, std::string* err) const {
    std::vector<TemplatePiece> pieces;
    size_t offset = 0;
    if (!ParseTemplate(text, &pieces, err, &offset)) return false;
    *out = RenderTemplate(pieces, [this](std::string_view name) { return Value(name); });
    return true;
  }

  // Renders a `run:` command: a script refers to each value's environment variable, which
  // `cmd->values` holds (model/command_template.h).
  bool RenderRun(const Command& run, RenderedArgv* cmd, std::string* err) const {
    CommandPlan plan;
    CommandProblem problem;
    if (!PlanCommand(run, &plan, &problem)) {
      *err = problem.message;
      return false;
    }
    return RenderCommandPlan(
        plan, [this](std::string_view name) { return Value(name); }, cmd, err);
  }

 private:
  const RunInfo& run_;
  const Task& task_;
  const AttemptHistory& history_;
};

// Writes a file of the attempt beneath the state folder; false with `err` and `*err_no`.
bool WriteAttemptFile(const Folder& state, const std::string& path, std::string_view content,
                      std::string* err, int* err_no) {
  UniqueFd fd = state.OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0600, err);
  if (!fd.valid()) {
    *err_no = errno;
    return false;
  }
  for (size_t done = 0; done < content.size();) {
    ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err_no = errno;
      *err = fmt::format("cannot write {}: {}", path, std::strerror(errno));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// The prompt of this attempt: a retry after a failure gets the failure, in the prompt's own
// {{attempt.last_error}} or in a section added at the end.
bool RenderPrompt(const Renderer& r, const Task& task, const AttemptHistory& history,
                  std::string* prompt, std::string* err) {
  const std::string& text = task.details()->prompt;
  if (!r.Render(text, prompt, err)) return false;
  bool uses_error = text.find("attempt.last_error") != std::string::npos;
  if (!history.last_error.empty() && !uses_error) {
    *prompt += fmt::format(
        "\n\n## Previous attempt failed\n\nAttempt {} of this task failed. Fix the cause before "
        "anything else. What it reported:\n\n{}\n",
        history.number - 1, history.last_error);
  }
  if (!history.gate_missing.empty() && text.find("gate.missing") == std::string::npos) {
    *prompt += fmt::format(
        "\n\n## The phase did not pass its gate\n\nThis phase runs again because its validation "
        "gate failed. Make sure your output fixes this:\n\n{}",
        history.gate_missing);
  }
  return true;
}

// The command of an attempt before any file is written: argv, and for an agent task the prompt
// and how it goes in (the prompt file's path or the prompt itself is added by BuildCommand).
struct RenderedCommand {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> values;  // the environment a script refers to
  bool has_prompt = false;
  std::string prompt;
  PromptVia via = PromptVia::kStdin;
  const Agent* agent = nullptr;  // the agent of a prompt task
};

bool RenderCommand(const RunInfo& run, const Task& task, const Renderer& r,
                   const AttemptHistory& history, RenderedCommand* cmd, std::string* err) {
  if (!task.has_prompt()) {
    RenderedArgv rendered;
    if (!r.RenderRun(task.run, &rendered, err)) return false;
    cmd->argv = std::move(rendered.argv);
    cmd->values = std::move(rendered.values);
    return true;
  }
  const std::string& name = AgentName(*run.milestone, task);
  const Agent* agent = FindAgent(*run.milestone, name);
  if (agent == nullptr) {
    *err = fmt::format("undefined agent '{}'", name);
    return false;
  }
  if (!RenderPrompt(r, task, history, &cmd->prompt, err)) return false;
  cmd->argv = agent->command;
  cmd->agent = agent;
  cmd->has_prompt = true;
  cmd->via = agent->prompt_via;
  return true;
}

bool BuildCommand(const RunInfo& run, const Task& task, const Renderer& r,
                  const AttemptHistory& history, AttemptSpec* spec, const Agent** agent,
                  std::vector<std::pair<std::string, std::string>>* values, std::string* err,
                  int* err_no) {
  RenderedCommand cmd;
  if (!RenderCommand(run, task, r, history, &cmd, err)) return false;
  spec->argv = std::move(cmd.argv);
  *values = std::move(cmd.values);
  *agent = cmd.agent;
  if (!cmd.has_prompt) return true;
  std::string prompt_path = run.paths.PromptPath(task.id, history.number);
  if (!WriteAttemptFile(*run.paths.state, prompt_path, cmd.prompt, err, err_no)) return false;
  switch (cmd.via) {
    case PromptVia::kStdin:
      spec->stdin_path = prompt_path;
      break;
    case PromptVia::kFile:
      spec->argv.push_back(prompt_path);
      break;
    case PromptVia::kArg:
      spec->argv.push_back(std::move(cmd.prompt));
      break;
  }
  return true;
}

// Appends `text` with its length first, so that no two lists of fields give the same bytes.
void AppendField(std::string* out, std::string_view text) {
  *out += std::to_string(text.size());
  *out += ':';
  *out += text;
}

}  // namespace

std::string OutputPath(const RunInfo& run, const Task& task) {
  const TaskDetail* d = task.details();
  if (!d || d->output.path.empty()) return "";
  return run.paths.ArtifactPath(d->output.path);
}

std::string DefinitionText(const RunInfo& run, const Task& task) {
  AttemptHistory first;
  Renderer renderer(run, task, first);
  RenderedCommand cmd;
  std::string err;
  std::string text;
  if (!RenderCommand(run, task, renderer, first, &cmd, &err)) {
    AppendField(&text, "error");  // it cannot start; if the error changes, so does the text
    AppendField(&text, err);
    return text;
  }
  AppendField(&text, cmd.has_prompt ? "agent" : "command");
  for (const std::string& word : cmd.argv) AppendField(&text, word);
  for (const auto& [name, value] : cmd.values) {
    AppendField(&text, name);
    AppendField(&text, value);
  }
  if (cmd.has_prompt) {
    AppendField(&text, std::to_string(static_cast<int>(cmd.via)));
    AppendField(&text, cmd.prompt);
    for (const auto& [name, value] : cmd.agent->env) {
      AppendField(&text, name);
      AppendField(&text, value);
    }
  }
  const TaskDetail* d = task.details();
  AppendField(&text, d ? d->cwd : "");
  if (auto it = run.inputs.find(std::string(task.id)); it != run.inputs.end()) {
    for (const InputFile& file : it->second) {
      AppendField(&text, "input");
      AppendField(&text, file.path);
      AppendField(&text, file.hash);
    }
  }
  if (run.milestone->WorkspaceOf(task) == WorkspaceMode::kWorktree) AppendField(&text, "worktree");
  AppendField(&text, OutputPath(run, task));
  AppendField(&text, std::to_string(d ? static_cast<int>(d->output.schema) : 0));
  if (d) {
    for (const auto& [name, value] : d->env) {
      AppendField(&text, name);
      AppendField(&text, value);
    }
  }
  return text;
}

bool BuildAttempt(const RunInfo& run, const Task& task, const AttemptHistory& history,
                  AttemptSpec* spec, std::string* err, int* err_no) {
  const Milestone& m = *run.milestone;
  const TaskDetail* d = task.details();
  const Folder& state = *run.paths.state;
  *err_no = 0;
  auto file_failure = [&] {
    *err_no = errno ? errno : EIO;
    return false;
  };
  std::string output = OutputPath(run, task);
  if (!output.empty()) {
    if (!state.RemoveFile(output, err)) return file_failure();
    std::string folder = output.substr(0, output.rfind('/'));
    if (!state.MakeFolders(folder, err)) return file_failure();
  }
  Renderer renderer(run, task, history);
  const Agent* agent = nullptr;
  std::vector<std::pair<std::string, std::string>> values;
  if (!BuildCommand(run, task, renderer, history, spec, &agent, &values, err, err_no)) {
    return false;
  }
  const std::string& folder = history.workspace.empty() ? m.workspace : history.workspace;
  spec->cwd = folder;
  if (d && !d->cwd.empty()) spec->cwd = folder + "/" + d->cwd;
  spec->env = run.base_env;
  SetEnv(&spec->env, "MEX_RUN_ID", run.paths.run_id);
  SetEnv(&spec->env, "MEX_TASK_ID", task.id);
  SetEnv(&spec->env, "MEX_ATTEMPT", std::to_string(history.number));
  SetEnv(&spec->env, "MEX_ARTIFACTS", run.paths.artifacts_dir);
  if (!output.empty()) SetEnv(&spec->env, "MEX_OUTPUT", output);
  if (agent != nullptr) {
    for (const auto& [name, value] : agent->env) SetEnv(&spec->env, name, value);
  }
  if (d) {
    for (const auto& [name, value] : d->env) SetEnv(&spec->env, name, value);
  }
  // Last, so that a task's env cannot change what its script's placeholders stand for.
  for (const auto& [name, value] : values) SetEnv(&spec->env, name, value);
  if (const AgentCli* cli = agent ? AgentCliOf(*agent) : nullptr) {
    cli->cap_retries(&spec->argv, &spec->env);
  }
  DescribeAttempt(run, task, history, spec);
  return true;
}

void DescribeAttempt(const RunInfo& run, const Task& task, const AttemptHistory& history,
                     AttemptSpec* spec) {
  const Milestone& m = *run.milestone;
  const TaskDetail* d = task.details();
  spec->log_path = run.paths.LogPath(task.id, history.number);
  spec->timeout_s = m.TimeoutOf(task);
  spec->stall_after_s = m.StallAfterOf(task);
  spec->kill_on_stall = m.StallActionOf(task) == StallAction::kKill;
  spec->kill_grace_s = run.kill_grace_s;
  spec->log_limit_bytes = static_cast<uint64_t>(m.defaults.log_limit_bytes);
  spec->leave_processes = d && d->leave_processes;
  if (m.ExecutorOf(task) == ExecutorKind::kSlurm) {
    spec->placement = Placement::kCluster;
    JobRequest& job = spec->job;
    job.name = task.id;
    job.title = d ? d->title : "";
    job.attempt = history.number;
    if (d) {
      const Resources& r = d->resources;
      job.cpus = r.cpus;
      job.gpus = r.gpus;
      job.time_s = r.time_s;
      double bytes = 0;
      std::string ignored;
      if (!r.mem.empty() && ParseSize(r.mem, &bytes, &ignored)) {
        if (r.mem_retry_factor > 0)
          bytes *= std::pow(r.mem_retry_factor, history.resource_failures);
        job.mem_mb = static_cast<uint64_t>(std::ceil(bytes / (1024.0 * 1024.0)));
      }
    }
  }
}

}  // namespace mex
