// workspace: worktree on real repositories made here with the git CLI (issue 16): each attempt
// in a worktree of its own, merged into the run's integration branch mex/RUN_ID in the order
// tasks finish; conflicts retried from the merged head with the hunks in hand; the user's branch
// and working tree untouched throughout.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"
#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing_util::ParseNdjson;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::RunProgram;
using testing_util::StartMex;
using testing_util::TempDir;
using testing_util::WaitMex;
using testing_util::WriteFile;

// A repository with one commit on main: shared.txt (three lines), a.txt, and .gitignore (.mex/).
class Repo {
 public:
  Repo() {
    fs::create_directories(home());
    Git({"init", "-q", "-b", "main"});
    WriteFile(path() / "shared.txt", "one\ntwo\nthree\n");
    WriteFile(path() / "a.txt", "a\n");
    WriteFile(path() / ".gitignore", ".mex/\n");
    Git({"add", "-A"});
    Git({"commit", "-q", "-m", "init"});
  }
  const fs::path& path() const { return dir_.path(); }
  fs::path home() const { return dir_.path() / ".mex-test-home"; }

  // git -C REPO ARGS...; fails the test when git fails unless `may_fail`.
  Result Git(const std::vector<std::string>& args, bool may_fail = false) const {
    std::vector<std::string> words = {"/usr/bin/git", "-C", path().string()};
    words.insert(words.end(), args.begin(), args.end());
    Result r = RunProgram(words, path().string(),
                          {"PATH=/usr/bin:/bin", "HOME=" + home().string(), "GIT_CONFIG_NOSYSTEM=1",
                           "GIT_AUTHOR_NAME=user", "GIT_AUTHOR_EMAIL=user@example.com",
                           "GIT_COMMITTER_NAME=user", "GIT_COMMITTER_EMAIL=user@example.com"});
    if (!may_fail) {
      EXPECT_EQ(r.exit_code, 0) << "git " << args[0] << ": " << r.err;
    }
    return r;
  }
  std::string Line(const std::vector<std::string>& args) const {
    std::string out = Git(args).out;
    return out.substr(0, out.find('\n'));
  }

  // What the user has: main's commit, the index and tree's status, and every file's bytes.
  std::string Snapshot() const {
    std::string s = Line({"rev-parse", "main"}) + "\n" + Line({"symbolic-ref", "HEAD"}) + "\n" +
                    Git({"status", "--porcelain", "--untracked-files=all"}).out;
    for (const auto& entry : fs::recursive_directory_iterator(path())) {
      const std::string rel = fs::relative(entry.path(), path()).string();
      if (rel.starts_with(".git") || rel.starts_with(".mex")) continue;
      if (entry.is_regular_file()) s += rel + "=" + ReadFile(entry.path()) + "\n";
    }
    return s;
  }

  // Commits the milestone file m.yaml.
  void Milestone(const std::string& yaml) const {
    WriteFile(path() / "m.yaml", yaml);
    Git({"add", "m.yaml"});
    Git({"commit", "-q", "-m", "milestone"});
  }
  Result Run(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"run", "m.yaml", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunMex(args, path().string());
  }
  std::unique_ptr<SqliteStore> Db() const {
    std::string err;
    auto db = SqliteStore::Open((path() / ".mex").string(), true, &err);
    EXPECT_TRUE(db) << err;
    return db;
  }
  // The run's id and integration branch, from the run_started event.
  static std::string RunId(const Result& r) {
    for (const json& e : ParseNdjson(r.out)) {
      if (e["event"] == "run_started") return e["run"];
    }
    return "";
  }
  std::string Show(const std::string& branch, const std::string& file) const {
    Result r = Git({"show", branch + ":" + file}, true);
    return r.exit_code == 0 ? r.out : "<missing>";
  }

 private:
  TempDir dir_;
};

std::vector<json> Events(const Result& r, const std::string& kind) {
  std::vector<json> out;
  for (const json& e : ParseNdjson(r.out)) {
    if (e["event"] == kind) out.push_back(e);
  }
  return out;
}

// Waits in a task's script until `test` holds (at most a minute), then fails if it does not.
std::string Until(const std::string& test) {
  return "i=0; until " + test + "; do i=$((i+1)); [ $i -gt 1200 ] && exit 9; sleep 0.05; done";
}

TEST(WorktreeTest, TasksOnDifferentFilesRunTogetherAndBothAreMerged) {
  Repo repo;
  TempDir meeting;  // where the two tasks meet, outside the repository
  const std::string meet = meeting.path().string();
  repo.Milestone(
      "defaults: {workspace: worktree, max_parallel: 2}\n"
      "tasks:\n"
      "  - {id: left, title: Left side, run: 'touch " +
      meet + "/left; " + Until("[ -e " + meet + "/right ]") +
      "; echo left > left.txt'}\n"
      "  - {id: right, run: 'touch " +
      meet + "/right; " + Until("[ -e " + meet + "/left ]") + "; echo right >> a.txt'}\n");
  std::string before = repo.Snapshot();
  Result r = repo.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string branch = "mex/" + Repo::RunId(r);
  EXPECT_EQ(repo.Show(branch, "left.txt"), "left\n");
  EXPECT_EQ(repo.Show(branch, "a.txt"), "a\nright\n");
  std::string log = repo.Git({"log", "--format=%an %s", branch}).out;
  EXPECT_NE(log.find("mex left: Left side"), std::string::npos) << log;
  EXPECT_NE(log.find("mex right: right"), std::string::npos) << log;
  std::string trailers = repo.Git({"log", "-1", "--format=%B", branch + "^2"}, true).out +
                         repo.Git({"log", "-1", "--format=%B", branch}).out;
  EXPECT_NE(trailers.find("Mex-Run: " + Repo::RunId(r)), std::string::npos) << trailers;
  // The user's branch and working tree, byte for byte; no worktree left behind.
  EXPECT_EQ(repo.Snapshot(), before);
  EXPECT_EQ(repo.Git({"worktree", "list", "--porcelain"}).out.find("worktrees/"),
            std::string::npos);
  auto attempts = repo.Db()->Attempts(Repo::RunId(r));
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.base_commit, repo.Line({"rev-parse", "main"}));
    EXPECT_FALSE(a.result_commit.empty());
    EXPECT_FALSE(a.merge_commit.empty());
    EXPECT_EQ(a.worktree, "");
    // Each task_succeeded says where its changes went.
    bool told = false;
    for (const json& e : Events(r, "task_succeeded")) {
      if (e["task"] == a.task) {
        told =
            e.value("merge", "") == "merged into " + branch + " at " + a.merge_commit.substr(0, 12);
      }
    }
    EXPECT_TRUE(told) << a.task << "\n" << r.out;
  }
}

TEST(WorktreeTest, AConflictIsRetriedFromTheMergedHeadWithTheHunksInHand) {
  Repo repo;
  const std::string waits = Until("git -C " + repo.path().string() +
                                  " log --format=%s --branches='mex/*' | grep -q '^first:'");
  repo.Milestone(
      "defaults: {workspace: worktree, max_parallel: 2, retry: {max_attempts: 2, backoff: "
      "{initial: 0.1s}}}\n"
      "tasks:\n"
      "  - {id: first, run: 'sed -i s/^two$/TWO-first/ shared.txt'}\n"
      "  - id: second\n"
      "    run: |\n"
      "      if [ {{attempt.number}} = 1 ]; then\n"
      "        " +
      waits +
      "\n"
      "        sed -i s/^two$/two-second/ shared.txt\n"
      "      else\n"
      "        printf '%s' {{attempt.last_error}} > seen.txt\n"
      "        sed -i s/^three$/three-second/ shared.txt\n"
      "      fi\n");
  std::string before = repo.Snapshot();
  Result r = repo.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> retries = Events(r, "task_retry");
  ASSERT_EQ(retries.size(), 1u) << r.out;
  EXPECT_EQ(retries[0]["class"], "logic");
  const std::string reason = retries[0]["reason"];
  EXPECT_NE(reason.find("merge conflict"), std::string::npos) << reason;
  EXPECT_NE(reason.find("shared.txt"), std::string::npos) << reason;
  const std::string run = Repo::RunId(r);
  const std::string branch = "mex/" + run;
  EXPECT_EQ(repo.Show(branch, "shared.txt"), "one\nTWO-first\nthree-second\n");
  // The retry was told which lines clashed, both sides.
  std::string seen = repo.Show(branch, "seen.txt");
  EXPECT_NE(seen.find("<<<<<<<"), std::string::npos) << seen;
  EXPECT_NE(seen.find("TWO-first"), std::string::npos) << seen;
  EXPECT_NE(seen.find("two-second"), std::string::npos) << seen;
  // The conflicting commit stays reachable; its worktree is kept for inspection.
  auto attempts = repo.Db()->Attempts(run);
  std::map<std::string, AttemptRecord> by;
  for (const auto& a : attempts) by[a.task + "/" + std::to_string(a.number)] = a;
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(repo.Line({"rev-parse", "refs/mex/" + run + "/second/1"}),
            by["second/1"].result_commit);
  EXPECT_TRUE(fs::exists(by["second/1"].worktree)) << by["second/1"].worktree;
  EXPECT_EQ(by["second/2"].base_commit, by["first/1"].merge_commit);
  EXPECT_EQ(repo.Snapshot(), before);
}

TEST(WorktreeTest, ARetryStartsCleanAndDepsSeeTheirDepsWork) {
  Repo repo;
  repo.Milestone(
      "defaults: {workspace: worktree, retry: {max_attempts: 2, backoff: {initial: 0.1s}}}\n"
      "tasks:\n"
      "  - id: flaky\n"
      "    run: |\n"
      "      test -e junk.txt && exit 3\n"
      "      grep -q half a.txt && exit 4\n"
      "      if [ {{attempt.number}} = 1 ]; then echo junk > junk.txt; echo half >> a.txt; "
      "exit 1; fi\n"
      "      echo done > flaky.txt\n"
      "  - {id: after, deps: [flaky], run: 'test \"$(cat flaky.txt)\" = done && cp flaky.txt "
      "after.txt'}\n");
  Result r = repo.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string branch = "mex/" + Repo::RunId(r);
  EXPECT_EQ(repo.Show(branch, "after.txt"), "done\n");
  EXPECT_EQ(repo.Show(branch, "junk.txt"), "<missing>");
  EXPECT_EQ(repo.Show(branch, "a.txt"), "a\n");
  auto attempts = repo.Db()->Attempts(Repo::RunId(r));
  ASSERT_EQ(attempts.size(), 3u);  // after/1, flaky/1, flaky/2
  EXPECT_TRUE(fs::exists(attempts[1].worktree / fs::path("junk.txt")));  // kept as it was left
}

TEST(WorktreeTest, TheGateTestsTheMergedTreeAndApplyFastForwardsTheUsersBranch) {
  Repo repo;
  repo.Milestone(
      "defaults: {workspace: worktree}\n"
      "phases:\n"
      "  - name: build\n"
      "    gate: {criteria: [tasks_succeeded, {command: 'test -f x.txt && test -f y.txt && "
      "! test -e gate-was-here'}]}\n"
      "    tasks:\n"
      "      - {id: x, run: 'echo x > x.txt'}\n"
      "      - {id: y, run: 'echo y > y.txt'}\n");
  Result r = repo.Run({"--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("applied: refs/heads/main fast-forwarded"), std::string::npos) << r.err;
  EXPECT_EQ(repo.Line({"rev-parse", "main"}), repo.Line({"rev-parse", "mex/" + Repo::RunId(r)}));
  EXPECT_EQ(ReadFile(repo.path() / "x.txt"), "x\n");
  // The gate's checkout is gone with the run.
  EXPECT_EQ(repo.Git({"worktree", "list", "--porcelain"}).out.find("+gate"), std::string::npos);
  EXPECT_EQ(repo.Git({"status", "--porcelain", "--untracked-files=no"}).out, "");
}

TEST(WorktreeTest, ApplyLeavesADirtyTreeAloneAndSaysHowToTakeTheResult) {
  Repo repo;
  WriteFile(repo.path() / "m.yaml",
            "defaults: {workspace: worktree}\ntasks:\n  - {id: x, run: 'echo x > x.txt'}\n");
  repo.Git({"add", "m.yaml"});
  repo.Git({"commit", "-q", "-m", "milestone"});
  WriteFile(repo.path() / "a.txt", "mine, not committed\n");
  std::string before = repo.Snapshot();
  Result r = RunMex({"run", "m.yaml", "--apply"}, repo.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("uncommitted changes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not applied"), std::string::npos) << r.err;
  EXPECT_EQ(repo.Snapshot(), before);
  EXPECT_NE(r.out.find("result: branch mex/"), std::string::npos) << r.out;
}

TEST(WorktreeTest, WhatEachTaskChangedIsComparedWithItsDeclaredFiles) {
  Repo repo;
  repo.Milestone(
      "defaults: {workspace: worktree}\n"
      "tasks:\n"
      "  - {id: kept, files: [a.txt, docs/], run: 'echo more >> a.txt'}\n"
      "  - {id: strayed, files: [docs/], run: 'mkdir -p docs src && echo d > docs/x.md && echo s "
      "> src/y.py'}\n"
      "  - {id: silent, run: 'echo c > c.txt'}\n"
      "  - {id: broken, files: [b.txt], run: 'echo b > b.txt; exit 1', retry: {max_attempts: "
      "1}}\n");
  Result r = RunMex({"run", "m.yaml"}, repo.path().string());
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("files: 1 of 2 tasks that declared files changed only those"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("files: strayed changed src/y.py, not in its files"), std::string::npos)
      << r.out;
  std::string run;
  for (const auto& entry : fs::directory_iterator(repo.path() / ".mex" / "runs")) {
    run = entry.path().filename().string();
  }
  json files = json::parse(ReadFile(repo.path() / ".mex" / "runs" / run / "files.json"));
  ASSERT_EQ(files["tasks"].size(), 3u) << files;  // broken never merged
  EXPECT_EQ(files["tasks"][0]["id"], "kept");
  EXPECT_EQ(files["tasks"][0]["changed"], json({"a.txt"}));
  EXPECT_EQ(files["tasks"][0]["untouched"], json({"docs/"}));
  EXPECT_EQ(files["tasks"][1]["undeclared"], json({"src/y.py"}));
  EXPECT_EQ(files["tasks"][2]["declared"], json::array());
  EXPECT_EQ(files["tasks"][2]["changed"], json({"c.txt"}));
  // The failed task's worktree is kept, and `mex status` says where.
  Result status = RunMex({"status", "m.yaml"}, repo.path().string());
  EXPECT_NE(status.out.find("its worktree: "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("worktrees/broken/1"), std::string::npos) << status.out;
  EXPECT_TRUE(
      fs::exists(repo.path() / ".mex" / "runs" / run / "worktrees" / "broken" / "1" / "b.txt"));
}

// examples/worktrees: five tasks of a scripted coding agent on a small repository, one conflict
// that `files:` predicts (kept apart) and one it does not (retried on top of the merge), the
// gate running the project's tests on the merged result.
TEST(WorktreeTest, TheExampleHandlesAPredictedAndAnUnpredictedConflict) {
  TempDir tmp;
  Result r = RunProgram(
      {testing_util::Source("examples/worktrees/run.sh").string()}, tmp.path().string(),
      {"PATH=/usr/bin:/bin", "HOME=" + tmp.path().string(), "TMPDIR=" + tmp.path().string(),
       "GIT_CONFIG_NOSYSTEM=1", std::string("MEX=") + MEX_BINARY});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("mul and div both touch calc.sh"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("attempt 1/2 failed, logic: merge conflict"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gate execute: run sh test.sh"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gate score 1.00"), std::string::npos) << r.out;
  // Whichever of add and sub merged second was redone on top of the other.
  EXPECT_TRUE(r.out.find("Operations: add, sub\n") != std::string::npos ||
              r.out.find("Operations: sub, add\n") != std::string::npos)
      << r.out;
  // div's commit is on the branch (merged, or fast-forwarded when nothing merged while it ran).
  EXPECT_NE(r.out.find(" div: Division (mex)\n"), std::string::npos) << r.out;
  // mul and div never ran at once: one started after the other was done.
  size_t done_first = std::min(r.out.find("done mul"), r.out.find("done div"));
  size_t start_second = std::max(r.out.find("start mul"), r.out.find("start div"));
  EXPECT_LT(done_first, start_second) << r.out;
}

// The gate's worktree is free once the next phase starts: its task reuses it, so a run holds no
// more worktrees than tasks run at once.
TEST(WorktreeTest, TheNextPhaseReusesTheGatesWorktree) {
  Repo repo;
  TempDir outs;
  const std::string count = (outs.path() / "count").string();
  repo.Milestone(
      "defaults: {workspace: worktree, max_parallel: 1}\n"
      "phases:\n"
      "  - name: build\n"
      "    weight: 50\n"
      "    gate: {criteria: [tasks_succeeded, {command: 'test -f x.txt'}]}\n"
      "    tasks:\n"
      "      - {id: x, run: 'echo x > x.txt'}\n"
      "  - name: check\n"
      "    weight: 50\n"
      "    tasks:\n"
      "      - {id: y, run: 'git -C " +
      repo.path().string() + " worktree list --porcelain | grep -c \"^worktree \" > " + count +
      "'}\n");
  Result r = repo.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The user's own and y's: the gate's was moved to y.
  EXPECT_EQ(ReadFile(outs.path() / "count"), "2\n");
}

// A merged attempt's worktree is reused by the next attempt (reset to the integration head): the
// next one sees the merged work and nothing else of it, not even ignored files; at the end of
// the run no worktree is left.
TEST(WorktreeTest, AReusedWorktreeHoldsNothingOfTheTaskBefore) {
  Repo repo;
  TempDir outs;
  const std::string out = outs.path().string();
  repo.Milestone(
      "defaults: {workspace: worktree, max_parallel: 1}\ntasks:\n"
      "  - {id: a, run: 'stat -c \"%i %y\" shared.txt > " +
      out +
      "/a.stat && echo made > made.txt && echo x >> a.txt && "
      "mkdir -p .mex && echo junk > .mex/ignored'}\n"
      "  - {id: nothing, deps: [a], run: 'true'}\n"
      "  - {id: b, deps: [nothing], run: 'stat -c \"%i %y\" shared.txt > " +
      out +
      "/b.stat && "
      "test -e made.txt && "
      "test ! -e .mex && git status --porcelain > " +
      out + "/b.status'}\n");
  std::string before = repo.Snapshot();
  Result r = repo.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The same worktree: a file neither changed is the very file a had (inode, time to the ns).
  EXPECT_EQ(ReadFile(outs.path() / "a.stat"), ReadFile(outs.path() / "b.stat"));
  EXPECT_EQ(ReadFile(outs.path() / "b.status"), "");
  // An attempt that changed nothing is told apart from one that was merged.
  auto done = Events(r, "task_succeeded");
  ASSERT_EQ(done.size(), 3u) << r.out;
  EXPECT_EQ(done[1]["task"], "nothing");
  EXPECT_EQ(done[1]["merge"], "it changed nothing: nothing to merge");
  std::string branch = "mex/" + Repo::RunId(r);
  EXPECT_EQ(repo.Show(branch, "a.txt"), "a\nx\n");
  EXPECT_EQ(repo.Git({"worktree", "list", "--porcelain"}).out.find("worktree ", 1),
            std::string::npos)
      << repo.Git({"worktree", "list"}).out;
  EXPECT_FALSE(fs::exists(repo.path() / ".mex" / "runs" / Repo::RunId(r) / "worktrees" / "+idle"));
  EXPECT_EQ(repo.Snapshot(), before);
}

// What an attempt does to its worktree's .git file never points mex's commit at the user's
// repository: git in a worktree always names the worktree's own git folder.
TEST(WorktreeTest, AnAttemptThatRemovesItsGitFileCannotReachTheUsersRepository) {
  Repo repo;
  repo.Milestone(
      "defaults: {workspace: worktree}\ntasks:\n"
      "  - {id: gone, run: 'rm .git && echo one > one.txt'}\n"
      "  - {id: elsewhere, run: 'printf \"gitdir: %s\\n\" \"$(git rev-parse "
      "--git-common-dir)\" > .git.new && mv .git.new .git && echo two > two.txt'}\n");
  // The user's own work in progress: an untracked file and a change not staged.
  WriteFile(repo.path() / "notes.txt", "mine\n");
  WriteFile(repo.path() / "a.txt", "a\nmine\n");
  std::string before = repo.Snapshot();
  Result r = repo.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string branch = "mex/" + Repo::RunId(r);
  EXPECT_EQ(repo.Show(branch, "one.txt"), "one\n");
  EXPECT_EQ(repo.Show(branch, "two.txt"), "two\n");
  EXPECT_EQ(repo.Show(branch, "notes.txt"), "<missing>");
  EXPECT_EQ(repo.Show(branch, "a.txt"), "a\n");
  EXPECT_EQ(repo.Snapshot(), before);
}

// Ctrl-C while an attempt runs: an agent that answers the interrupt by exiting 0 is not taken
// as done (its work may be half made): its worktree goes, and the next session runs it again
// and merges it.
TEST(WorktreeTest, AnAttemptThatExitsZeroOnCtrlCRunsAgainAndIsMerged) {
  Repo repo;
  TempDir outs;
  const std::string started = (outs.path() / "started").string();
  repo.Milestone(
      "defaults: {workspace: worktree}\ntasks:\n"
      "  - {id: x, run: 'echo half > x.txt; if [ ! -e " +
      started +
      " ]; then "
      "trap \"exit 0\" TERM INT; touch " +
      started +
      "; "
      "while :; do sleep 0.05; done; fi; echo whole > x.txt'}\n");
  const std::string out = (outs.path() / "first.out").string();
  pid_t engine = StartMex({"run", "m.yaml", "--json"}, repo.path().string(), out);
  for (int i = 0; i < 2400 && !fs::exists(started); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(fs::exists(started)) << ReadFile(out);
  kill(engine, SIGINT);
  EXPECT_EQ(WaitMex(engine), 130) << ReadFile(out);
  EXPECT_EQ(ReadFile(out).find("task_succeeded"), std::string::npos) << ReadFile(out);
  std::string branch = repo.Line({"for-each-ref", "--format=%(refname:short)", "refs/heads/mex/"});
  EXPECT_EQ(repo.Show(branch, "x.txt"), "<missing>");
  // Its half-done worktree is gone.
  EXPECT_EQ(repo.Git({"worktree", "list", "--porcelain"}).out.find("worktree ", 1),
            std::string::npos)
      << repo.Git({"worktree", "list"}).out;

  Result again = repo.Run();
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(Events(again, "task_succeeded").size(), 1u) << again.out;
  EXPECT_EQ(repo.Show(branch, "x.txt"), "whole\n");
}

TEST(WorktreeTest, OutsideARepositoryItIsAnErrorAndNothingIsWritten) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml",
            "defaults: {workspace: worktree}\ntasks:\n  - {id: x, run: 'true'}\n");
  Result r = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("git repository"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / ".mex"));
}

// kill -9 while merges go on, then resume: every task merged once, the branch sound; a merge
// the killed engine made but never recorded is undone and its task merged again.
TEST(WorktreeTest, AKilledRunResumesWithItsBranchAsRecorded) {
  Repo repo;
  std::string yaml = "defaults: {workspace: worktree, max_parallel: 3}\ntasks:\n";
  for (int i = 0; i < 12; ++i) {
    yaml += "  - {id: t" + std::to_string(i) + ", run: 'echo " + std::to_string(i) + " > t" +
            std::to_string(i) + ".txt; sleep 0.1'}\n";
  }
  repo.Milestone(yaml);
  std::string before = repo.Snapshot();
  TempDir outs;
  const std::string out = (outs.path() / "first.out").string();
  pid_t engine = StartMex({"run", "m.yaml", "--json"}, repo.path().string(), out);
  // Killed once a few merges are in.
  for (int i = 0; i < 2400; ++i) {
    Result log = repo.Git({"log", "--format=%s", "--branches=mex/*"}, true);
    int merged = 0;
    for (size_t at = log.out.find("mex: merge"); at != std::string::npos;
         at = log.out.find("mex: merge", at + 1)) {
      ++merged;
    }
    if (merged >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  kill(engine, SIGKILL);
  WaitMex(engine);
  std::string branch = repo.Line({"for-each-ref", "--format=%(refname:short)", "refs/heads/mex/"});
  ASSERT_FALSE(branch.empty());
  // As if the engine had merged once more and died before recording it.
  std::string tree = repo.Line({"rev-parse", branch + "^{tree}"});
  std::string stray = repo.Line({"commit-tree", tree, "-p", branch, "-m", "unrecorded"});
  repo.Git({"update-ref", "refs/heads/" + branch, stray});

  Result again = repo.Run();
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("past the last merge state.db recorded"), std::string::npos)
      << again.err;
  EXPECT_EQ(repo.Git({"fsck", "--no-progress"}, true).exit_code, 0);
  std::string subjects = repo.Git({"log", "--format=%s", branch}).out;
  EXPECT_EQ(subjects.find("unrecorded"), std::string::npos);
  for (int i = 0; i < 12; ++i) {
    const std::string id = "t" + std::to_string(i);
    EXPECT_EQ(repo.Show(branch, id + ".txt"), std::to_string(i) + "\n");
    size_t first = subjects.find(id + ": " + id + "\n");
    ASSERT_NE(first, std::string::npos) << subjects;
    EXPECT_EQ(subjects.find(id + ": " + id + "\n", first + 1), std::string::npos)
        << id << " merged twice:\n"
        << subjects;
  }
  // Every recorded merge is on the branch.
  for (const auto& a : repo.Db()->Attempts(Repo::RunId(again))) {
    if (a.merge_commit.empty()) continue;
    EXPECT_EQ(repo.Git({"merge-base", "--is-ancestor", a.merge_commit, branch}, true).exit_code, 0)
        << a.task;
  }
  EXPECT_EQ(repo.Snapshot(), before);
}

}  // namespace
}  // namespace mex
