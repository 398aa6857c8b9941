// Tests of examples/quickstart/demo-agent, the offline agent of the quickstart: run directly, as
// mex runs it (prompt file as its argument, the MEX_* environment, cwd the workspace), on the
// prompts of the quickstart's milestone rendered here; its outputs are checked with mex's own
// schema checks (ValidateArtifact).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "flow/schemas.h"
#include "load/loader.h"
#include "model/template.h"
#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;

// ValidateArtifact of the file at `path`, read beneath its own folder.
std::string Validate(const fs::path& path, Schema schema) {
  Folder folder;
  std::string err;
  if (!Folder::Open(path.parent_path().string(), false, &folder, &err)) return err;
  return ValidateArtifact(folder, path.string(), schema);
}
using nlohmann::json;
using testing_util::ReadFile;
using testing_util::Source;
using testing_util::TempDir;
using testing_util::WriteFile;

const char* const kQuickstart = "examples/quickstart/milestone.yaml";
const std::vector<std::string> kDesign = {"keep", "improve", "remove", "originate"};
const std::vector<std::string> kStaticExecute = {"tests", "docs", "quality"};

using AgentRun = testing_util::Result;

// What mex appends to the prompt of a retry whose prompt does not use {{attempt.last_error}},
// after an attempt whose output was invalid.
std::string PreviousAttemptFailed(const std::string& error) {
  return "\n\n## Previous attempt failed\n\nAttempt 1 of this task failed. Fix the cause before "
         "anything else. What it reported:\n\n" +
         error + " (logic). End of its log:\ndemo-agent: done\n\n";
}

// A workspace and a run folder with the quickstart's milestone loaded; runs the demo agent in it.
class DemoWorld {
 public:
  DemoWorld() {
    workspace_ = dir_.path() / "workspace";
    run_ = dir_.path() / "run";
    artifacts_ = run_ / "artifacts";
    fs::create_directories(workspace_);
    fs::create_directories(artifacts_);
    fs::create_directories(run_ / "logs");
    Diagnostics diags(kQuickstart);
    loaded_ = LoadMilestone(Source(kQuickstart).string(), &m_, &diags);
    EXPECT_TRUE(loaded_) << diags.Format();
  }

  bool loaded() const { return loaded_; }
  const fs::path& root() const { return dir_.path(); }
  const fs::path& workspace() const { return workspace_; }
  const fs::path& artifacts() const { return artifacts_; }
  const Milestone& milestone() const { return m_; }

  // The path of static task `id`'s declared output, "" when it declares none.
  std::string Output(std::string_view id) const {
    const Task* task = m_.FindTask(id);
    if (task == nullptr || !task->details() || task->details()->output.path.empty()) return "";
    return (artifacts_ / task->details()->output.path).string();
  }

  // The first prompt of static task `id`, rendered as mex renders it.
  std::string Prompt(const std::string& id) const {
    const Task* task = m_.FindTask(id);
    EXPECT_NE(task, nullptr) << id;
    if (task == nullptr) return "";
    const TaskDetail& d = *task->details();
    return Render(d.prompt, [&](std::string_view name) -> std::string {
      if (name == "task.id") return id;
      if (name == "task.title") return d.title;
      if (name == "task.description") return d.description;
      if (name == "output") return Output(id);
      return "";
    });
  }

  // The first prompt of a task the execute phase adds from the breakdown.
  std::string DynamicPrompt(const json& task) const {
    const Phase& execute = m_.phases.back();
    EXPECT_TRUE(execute.task_template.has_value());
    if (!execute.task_template) return "";
    return Render(execute.task_template->prompt, [&](std::string_view name) -> std::string {
      if (name == "task.id") return task["id"].get<std::string>();
      if (name == "task.title") return task["title"].get<std::string>();
      if (name == "task.description") return task.value("description", "");
      return "";
    });
  }

  // Runs the demo agent for `task_id` with `prompt`, as attempt `attempt`; `output` is
  // MEX_OUTPUT ("" = the task declares none).
  AgentRun Run(const std::string& task_id, const std::string& prompt, int attempt,
               const std::string& output) const {
    fs::path prompt_path = run_ / "logs" / (task_id + "." + std::to_string(attempt) + ".prompt");
    WriteFile(prompt_path, prompt);
    std::vector<std::string> env = {
        std::string("PATH=") + (getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"),
        "MEX_TASK_ID=" + task_id,
        "MEX_ATTEMPT=" + std::to_string(attempt),
        "MEX_RUN_ID=20261127T000000Z-demo",
        "MEX_ARTIFACTS=" + artifacts_.string(),
        "MEX_DEMO_PAUSE=0",
    };
    if (!output.empty()) env.push_back("MEX_OUTPUT=" + output);
    return testing_util::RunProgram(
        {Source("examples/quickstart/demo-agent").string(), prompt_path.string()},
        workspace_.string(), env);
  }

  // Runs static task `id` on its first prompt and expects it to succeed.
  void RunStatic(const std::string& id) const {
    AgentRun run = Run(id, Prompt(id), 1, Output(id));
    EXPECT_EQ(run.exit_code, 0) << id << ": " << run.out << run.err;
  }

  // The whole quickstart in dependency order, the breakdown's failed first attempt included.
  void RunAll() const {
    for (const std::string& id : kDesign) RunStatic(id);
    RunStatic("spec");
    RunStatic("breakdown");
    std::string error = Validate(Output("breakdown"), Schema::kTasks);
    AgentRun retry = Run("breakdown", Prompt("breakdown") + PreviousAttemptFailed(error), 2,
                         Output("breakdown"));
    EXPECT_EQ(retry.exit_code, 0) << retry.out << retry.err;
    json breakdown = json::parse(ReadFile(Output("breakdown")), nullptr, false);
    ASSERT_TRUE(breakdown.is_object());
    for (const json& task : breakdown["tasks"]) {
      std::string id = task["id"].get<std::string>();
      AgentRun run = Run(id, DynamicPrompt(task), 1, "");
      EXPECT_EQ(run.exit_code, 0) << id << ": " << run.out << run.err;
    }
    for (const std::string& id : kStaticExecute) RunStatic(id);
  }

  // Every file under the artifact folder: relative path -> bytes.
  std::map<std::string, std::string> Artifacts() const {
    std::map<std::string, std::string> files;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(artifacts_)) {
      if (entry.is_regular_file()) {
        files[fs::relative(entry.path(), artifacts_).string()] = ReadFile(entry.path());
      }
    }
    return files;
  }

 private:
  std::string Render(const std::string& text,
                     const std::function<std::string(std::string_view)>& task_value) const {
    std::vector<TemplatePiece> pieces;
    std::string err;
    size_t offset = 0;
    EXPECT_TRUE(ParseTemplate(text, &pieces, &err, &offset)) << err;
    auto lookup = [&](std::string_view name) -> std::string {
      if (name == "milestone.id") return m_.id;
      if (name == "milestone.title") return m_.title;
      if (name == "milestone.goal") return m_.goal;
      if (name == "attempt.number") return "1";
      if (name.starts_with("artifact.")) return Output(name.substr(9));
      return task_value(name);  // task.*, output; gate.missing is "" on a first run
    };
    return RenderTemplate(pieces, lookup);
  }

  TempDir dir_;
  fs::path workspace_, run_, artifacts_;
  Milestone m_;
  bool loaded_ = false;
};

json ReadJson(const std::string& path) {
  return json::parse(ReadFile(path), nullptr, false);
}

std::string FirstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// The AC ids of a spec: the ids of the objects in the functional_requirements leaves.
std::set<std::string> CriterionIds(const json& spec) {
  std::set<std::string> ids;
  for (const char* leaf : {"user_stories", "use_cases", "business_rules"}) {
    const json& items = spec["acceptance_criteria"]["functional_requirements"][leaf];
    if (!items.is_array()) continue;
    for (const json& item : items) {
      if (item.is_object()) ids.insert(item["id"].get<std::string>());
    }
  }
  return ids;
}

TEST(DemoAgentTest, DesignTasksWriteValidDecisionsOfTheirOwn) {
  DemoWorld world;
  ASSERT_TRUE(world.loaded());
  std::set<std::string> ids;
  std::set<std::string> files;
  for (const std::string& id : kDesign) {
    std::string prompt = world.Prompt(id);
    AgentRun run = world.Run(id, prompt, 1, world.Output(id));
    ASSERT_EQ(run.exit_code, 0) << id << ": " << run.out << run.err;
    EXPECT_NE(run.out.find("asked: " + FirstLine(prompt)), std::string::npos) << run.out;
    EXPECT_EQ(Validate(world.Output(id), Schema::kKiro), "") << id;
    json doc = ReadJson(world.Output(id));
    ASSERT_TRUE(doc["decisions"].is_array()) << id;
    EXPECT_GE(doc["decisions"].size(), 2u) << id;
    for (const json& decision : doc["decisions"]) ids.insert(decision["id"].get<std::string>());
    files.insert(ReadFile(world.Output(id)));
  }
  EXPECT_EQ(files.size(), 4u) << "each analysis writes its own decisions";
  EXPECT_GE(ids.size(), 8u) << "decision ids are not shared between the four files";
}

TEST(DemoAgentTest, SpecFillsAll23SectionsAndNumbersItsAcceptanceCriteria) {
  DemoWorld world;
  ASSERT_TRUE(world.loaded());
  for (const std::string& id : kDesign) world.RunStatic(id);
  AgentRun run = world.Run("spec", world.Prompt("spec"), 1, world.Output("spec"));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("read 2 KEEP decisions from " + world.Output("keep")), std::string::npos)
      << "it reads its inputs, named in the prompt: " << run.out;
  EXPECT_EQ(Validate(world.Output("spec"), Schema::kSpec), "");
  json spec = ReadJson(world.Output("spec"));
  ASSERT_EQ(SpecLeaves().size(), 23u);
  for (const std::string& leaf : SpecLeaves()) {
    json::json_pointer pointer(leaf);
    ASSERT_TRUE(spec.contains(pointer)) << leaf;
    EXPECT_FALSE(spec[pointer].empty()) << leaf;
  }
  EXPECT_EQ(CriterionIds(spec), (std::set<std::string>{"AC-1", "AC-2", "AC-3", "AC-4", "AC-5"}));
  EXPECT_TRUE(spec["acceptance_criteria"]["non_functional_requirements"]["accessibility"].contains(
      "not_applicable"))
      << "the demo shows how a section that does not apply is written";
}

TEST(DemoAgentTest, BreakdownFailsOnceThenReadsTheFailureAndCoversEveryCriterion) {
  DemoWorld world;
  ASSERT_TRUE(world.loaded());
  for (const std::string& id : kDesign) world.RunStatic(id);
  world.RunStatic("spec");
  std::string output = world.Output("breakdown");

  AgentRun first = world.Run("breakdown", world.Prompt("breakdown"), 1, output);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("read the acceptance criteria of " + world.Output("spec") +
                           ": AC-1 AC-2 AC-3 AC-4 AC-5"),
            std::string::npos)
      << first.out;
  std::string error = Validate(output, Schema::kTasks);
  EXPECT_EQ(error, "/tasks/2/effort: missing, expected a number > 0");

  std::string prompt = world.Prompt("breakdown") + PreviousAttemptFailed(error);
  AgentRun second = world.Run("breakdown", prompt, 2, output);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("the previous attempt failed; it reported: " + error + " (logic).\n"),
            std::string::npos)
      << second.out;
  EXPECT_EQ(Validate(output, Schema::kTasks), "");

  json tasks = ReadJson(output)["tasks"];
  ASSERT_TRUE(tasks.is_array());
  EXPECT_EQ(tasks.size(), 4u);
  std::set<std::string> ids;
  for (const json& task : tasks) ids.insert(task["id"].get<std::string>());
  std::set<std::string> covered;
  std::map<std::string, std::vector<std::string>> deps;
  for (const json& task : tasks) {
    std::string id = task["id"].get<std::string>();
    EXPECT_EQ(world.milestone().FindTask(id), nullptr) << id << " clashes with a milestone task";
    EXPECT_GT(task["effort"].get<double>(), 0) << id;
    EXPECT_TRUE(task.contains("kind")) << id;
    for (const json& dep : task["deps"]) {
      EXPECT_TRUE(ids.count(dep.get<std::string>())) << id << " -> " << dep;
      deps[id].push_back(dep.get<std::string>());
    }
    for (const json& ac : task["covers"]) covered.insert(ac.get<std::string>());
  }
  EXPECT_EQ(covered, CriterionIds(ReadJson(world.Output("spec"))));
  // Acyclic: repeatedly take the tasks whose deps are all taken.
  std::set<std::string> taken;
  for (bool progress = true; progress;) {
    progress = false;
    for (const std::string& id : ids) {
      if (taken.count(id)) continue;
      bool ready = true;
      for (const std::string& dep : deps[id]) ready = ready && taken.count(dep);
      if (ready) progress = taken.insert(id).second;
    }
  }
  EXPECT_EQ(taken, ids) << "the breakdown has a cycle";
}

TEST(DemoAgentTest, ExecuteTasksWriteANoteInTheArtifactFolderAndNothingElse) {
  DemoWorld world;
  ASSERT_TRUE(world.loaded());
  world.RunAll();
  json tasks = ReadJson(world.Output("breakdown"))["tasks"];
  std::vector<std::string> execute = kStaticExecute;
  for (const json& task : tasks) execute.push_back(task["id"].get<std::string>());
  for (const std::string& id : execute) {
    fs::path note = world.artifacts() / "work" / (id + ".txt");
    ASSERT_TRUE(fs::is_regular_file(note)) << id;
    std::string text = ReadFile(note);
    EXPECT_NE(text.find("task " + id + ", attempt 1"), std::string::npos) << text;
    EXPECT_NE(text.find("asked: You are "), std::string::npos) << text;
  }
  EXPECT_NE(ReadFile(world.artifacts() / "work" / "limiter.txt")
                .find("asked: You are implementing task limiter of milestone M-1"),
            std::string::npos);
  // The six declared outputs and one note per execute task: nothing else, nowhere else.
  EXPECT_EQ(world.Artifacts().size(), 6u + execute.size());
  EXPECT_TRUE(fs::is_empty(world.workspace())) << "the demo agent changed the workspace";
}

TEST(DemoAgentTest, WritesTheSameBytesEveryRun) {
  DemoWorld first;
  DemoWorld second;
  ASSERT_TRUE(first.loaded() && second.loaded());
  first.RunAll();
  second.RunAll();
  std::map<std::string, std::string> a = first.Artifacts();
  EXPECT_EQ(a.size(), 13u);
  EXPECT_EQ(a, second.Artifacts());
}

TEST(DemoAgentTest, NeverWritesThroughASymlink) {
  DemoWorld world;
  ASSERT_TRUE(world.loaded());
  fs::path outside = world.root() / "outside.json";
  WriteFile(outside, "untouched\n");
  fs::create_directories(fs::path(world.Output("keep")).parent_path());
  fs::create_symlink(outside, world.Output("keep"));
  AgentRun run = world.Run("keep", world.Prompt("keep"), 1, world.Output("keep"));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(ReadFile(outside), "untouched\n");
  EXPECT_FALSE(fs::is_symlink(world.Output("keep")));
  EXPECT_EQ(Validate(world.Output("keep"), Schema::kKiro), "");
}

TEST(DemoAgentTest, RefusesAnOutputOutsideTheArtifactFolder) {
  DemoWorld world;
  ASSERT_TRUE(world.loaded());
  std::string outside = (world.root() / "keep.json").string();
  AgentRun run = world.Run("keep", world.Prompt("keep"), 1, outside);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("not in the artifact folder"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(outside));
}

TEST(DemoAgentTest, AnArtifactPromptWithoutADeclaredOutputFails) {
  DemoWorld world;
  ASSERT_TRUE(world.loaded());
  AgentRun run = world.Run("spec", world.Prompt("spec"), 1, "");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("declares no output"), std::string::npos) << run.err;
  EXPECT_TRUE(world.Artifacts().empty());
}

}  // namespace
}  // namespace mex
