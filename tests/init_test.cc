// End-to-end tests of `mex init` (SPEC §6): the built binary writes a KIRO milestone into a fresh
// mkdtemp folder, and `mex validate` checks what it wrote.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::Source;
using testing_util::TempDir;
using testing_util::WriteFile;

const std::vector<std::string> kAgents = {"claude", "codex", "gemini", "demo"};

mode_t Mode(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

mode_t CurrentUmask() {
  mode_t mask = umask(022);
  umask(mask);
  return mask;
}

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(InitTest, WritesAMilestoneThatValidatesForEveryAgent) {
  for (const std::string& agent : kAgents) {
    TempDir dir;
    fs::path project = dir.path() / "project";
    Result init = RunMex({"init", project.string(), "--agent", agent});
    ASSERT_EQ(init.exit_code, 0) << agent << ": " << init.err;
    EXPECT_EQ(init.err, "") << agent;
    fs::path milestone = project / "milestone.yaml";
    EXPECT_NE(init.out.find("wrote " + milestone.string()), std::string::npos) << init.out;
    EXPECT_NE(init.out.find("mex validate " + milestone.string()), std::string::npos) << init.out;
    EXPECT_NE(init.out.find("mex run " + milestone.string()), std::string::npos) << init.out;

    std::string text = ReadFile(milestone);
    EXPECT_NE(text.find("  agent: " + agent + "\n"), std::string::npos) << agent;
    EXPECT_EQ(text.find("\nagents:") != std::string::npos, agent == "demo") << agent;
    EXPECT_EQ(fs::exists(project / "demo-agent"), agent == "demo") << agent;

    Result validate = RunMex({"validate", milestone.string()});
    EXPECT_EQ(validate.exit_code, 0) << agent << ": " << validate.err;
    EXPECT_EQ(validate.out, milestone.string() +
                                ": ok: 9 tasks in 4 phases, and phase execute adds tasks from "
                                "breakdown when it starts\n");
    Result plan = RunMex({"plan", milestone.string()});
    EXPECT_EQ(plan.exit_code, 0) << agent << ": " << plan.err;
  }
}

TEST(InitTest, DemoOutputIsTheQuickstartByteForByte) {
  TempDir dir;
  Result init = RunMex({"init", "--agent", "demo"}, dir.path().string());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("mex validate milestone.yaml"), std::string::npos) << init.out;
  EXPECT_EQ(ReadFile(dir.path() / "milestone.yaml"),
            ReadFile(Source("examples/quickstart/milestone.yaml")));
  EXPECT_EQ(ReadFile(dir.path() / "demo-agent"),
            ReadFile(Source("examples/quickstart/demo-agent")));
  EXPECT_EQ(Mode(dir.path() / "demo-agent"), 0755 & ~CurrentUmask());
  EXPECT_EQ(Mode(dir.path() / "milestone.yaml"), 0644 & ~CurrentUmask());
  EXPECT_EQ(access((dir.path() / "demo-agent").c_str(), X_OK), 0);
  EXPECT_EQ(access(Source("examples/quickstart/demo-agent").c_str(), X_OK), 0)
      << "the example's demo-agent must be executable";
  EXPECT_EQ(Names(dir.path()), (std::vector<std::string>{"demo-agent", "milestone.yaml"}))
      << "no temp file left behind";
}

TEST(InitTest, DefaultsToClaudeInTheCurrentFolder) {
  TempDir dir;
  Result init = RunMex({"init"}, dir.path().string());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"milestone.yaml"});
  EXPECT_NE(ReadFile(dir.path() / "milestone.yaml").find("  agent: claude\n"), std::string::npos);
}

// A real agent's tasks of the execute phase edit the project, each in a git worktree of its
// own; outside a repository `mex init` says what to do before `mex run` refuses.
TEST(InitTest, TheExecutePhaseOfARealAgentRunsInWorktrees) {
  TempDir dir;
  Result init = RunMex({"init", "--agent", "gemini"}, dir.path().string());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  std::string yaml = ReadFile(dir.path() / "milestone.yaml");
  size_t execute = yaml.find("  - name: execute\n");
  ASSERT_NE(execute, std::string::npos);
  EXPECT_NE(yaml.find("    workspace: worktree\n", execute), std::string::npos);
  EXPECT_NE(init.out.find("git init -q && git add -A && git commit -qm start"), std::string::npos)
      << init.out;
  // The demo agent (the quickstart, inside mex's own checkout) keeps the shared folder.
  TempDir demo;
  ASSERT_EQ(RunMex({"init", "--agent", "demo"}, demo.path().string()).exit_code, 0);
  EXPECT_EQ(ReadFile(demo.path() / "milestone.yaml").find("workspace: worktree"),
            std::string::npos);
}

TEST(InitTest, MakesMissingFoldersLikeMkdirP) {
  TempDir dir;
  fs::path project = dir.path() / "a" / "b" / "c";
  Result init = RunMex({"init", project.string(), "--agent", "codex"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(fs::is_regular_file(project / "milestone.yaml"));
  for (const fs::path& folder : {dir.path() / "a", dir.path() / "a" / "b", project}) {
    EXPECT_EQ(Mode(folder), 0755 & ~CurrentUmask()) << folder;
  }
}

TEST(InitTest, RefusesToOverwriteAndWritesNothing) {
  TempDir dir;
  WriteFile(dir.path() / "milestone.yaml", "mine\n");
  Result init = RunMex({"init", dir.path().string()});
  EXPECT_EQ(init.exit_code, 2);
  EXPECT_EQ(init.out, "");
  EXPECT_NE(init.err.find((dir.path() / "milestone.yaml").string() + " already exists"),
            std::string::npos)
      << init.err;
  EXPECT_EQ(ReadFile(dir.path() / "milestone.yaml"), "mine\n");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"milestone.yaml"});
}

TEST(InitTest, RefusesWhenOnlyTheDemoAgentExists) {
  TempDir dir;
  WriteFile(dir.path() / "demo-agent", "#!/bin/sh\n");
  Result init = RunMex({"init", dir.path().string(), "--agent", "demo"});
  EXPECT_EQ(init.exit_code, 2);
  EXPECT_NE(init.err.find((dir.path() / "demo-agent").string() + " already exists"),
            std::string::npos)
      << init.err;
  EXPECT_EQ(ReadFile(dir.path() / "demo-agent"), "#!/bin/sh\n");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"demo-agent"});
}

TEST(InitTest, NeverWritesThroughASymlink) {
  TempDir dir;
  fs::path target = dir.path() / "elsewhere.yaml";
  fs::create_directory(dir.path() / "project");
  fs::create_symlink(target, dir.path() / "project" / "milestone.yaml");  // dangling
  Result init = RunMex({"init", (dir.path() / "project").string()});
  EXPECT_EQ(init.exit_code, 2);
  EXPECT_NE(init.err.find("already exists"), std::string::npos) << init.err;
  EXPECT_FALSE(fs::exists(target));
}

TEST(InitTest, UnknownAgentExitsTwoWithTheList) {
  TempDir dir;
  fs::path project = dir.path() / "project";
  Result init = RunMex({"init", project.string(), "--agent", "gpt"});
  EXPECT_EQ(init.exit_code, 2);
  EXPECT_EQ(init.out, "");
  EXPECT_NE(init.err.find("unknown agent 'gpt'"), std::string::npos) << init.err;
  EXPECT_NE(init.err.find("claude, codex, gemini, demo"), std::string::npos) << init.err;
  EXPECT_FALSE(fs::exists(project));
}

TEST(InitTest, AFileInPlaceOfTheFolderExitsTwo) {
  TempDir dir;
  WriteFile(dir.path() / "project", "a file\n");
  Result init = RunMex({"init", (dir.path() / "project").string()});
  EXPECT_EQ(init.exit_code, 2);
  EXPECT_NE(init.err.find("is not a folder"), std::string::npos) << init.err;
  EXPECT_EQ(ReadFile(dir.path() / "project"), "a file\n");
}

}  // namespace
}  // namespace mex
