// End-to-end tests of what mex does with files a task or an agent may tamper with (SPEC §5,
// docs/security.md): a symlink planted in the run folder or the workspace never sends a read, a
// write or a removal of mex elsewhere, a FIFO planted at a log's name never blocks it, and the
// attempt that meets either fails (class logic, naming the path) while the run goes on.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::TempDir;
using testing_util::WriteFile;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(Workspace());
    fs::create_directories(Outside());
    WriteFile(Outside() / "keep.json", "precious");
  }
  fs::path Workspace() const { return dir_.path() / "ws"; }
  fs::path Outside() const { return dir_.path() / "outside"; }

  // Runs `mex run m.yaml --json` in the workspace; a mex that has not ended within 60 s (it
  // hangs) is killed and fails the test.
  Result Run(const std::string& milestone) {
    WriteFile(Workspace() / "m.yaml", milestone);
    std::string out = (dir_.path() / "mex.out").string();
    pid_t mex = testing_util::StartMex({"run", "m.yaml", "--json"}, Workspace().string(), out);
    Result result;
    for (int i = 0; i < 600 && result.exit_code < 0; ++i) {
      int status = 0;
      if (waitpid(mex, &status, WNOHANG) == mex) {
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    if (result.exit_code < 0) {
      kill(mex, SIGKILL);
      testing_util::WaitMex(mex);
      ADD_FAILURE() << "mex hung";
    }
    result.out = ReadFile(out);
    result.err = ReadFile(out + ".err");
    events_ = testing_util::ParseNdjson(result.out);
    return result;
  }
  // The events of `kind` for `task`.
  std::vector<nlohmann::json> Events(const std::string& kind, const std::string& task) const {
    std::vector<nlohmann::json> out;
    for (const nlohmann::json& e : events_) {
      if (e["event"] == kind && e.value("task", "") == task) out.push_back(e);
    }
    return out;
  }
  // What an earlier task of the milestone runs to plant `what` in its run folder.
  std::string Plant(const std::string& shell) const { return "{id: plant, run: '" + shell + "'}"; }
  std::string OutsideQuoted() const { return "\"" + Outside().string() + "\""; }

  TempDir dir_;
  std::vector<nlohmann::json> events_;
};

TEST_F(FilesTest, ASymlinkedArtifactFolderIsNotWhereTheOutputIsRemoved) {
  Result r =
      Run("defaults: {retry: {max_attempts: 2, backoff: {initial: 0}}}\n"
          "tasks:\n"
          "  - " +
          Plant("ln -s " + OutsideQuoted() + " \"$MEX_ARTIFACTS/design\"") +
          "\n"
          "  - {id: keep, deps: [plant], run: 'true', output: {path: design/keep.json}}\n"
          "  - {id: other, run: 'true'}\n");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(ReadFile(Outside() / "keep.json"), "precious");  // the old code deleted it
  std::vector<nlohmann::json> retry = Events("task_retry", "keep");
  ASSERT_EQ(retry.size(), 1u) << r.out;
  EXPECT_EQ(retry[0]["class"], "logic");
  EXPECT_NE(retry[0]["reason"].get<std::string>().find("artifacts/design: a symlink is on its way"),
            std::string::npos)
      << retry[0];
  EXPECT_EQ(Events("task_failed", "keep").size(), 1u);
  EXPECT_EQ(Events("task_succeeded", "other").size(), 1u);  // the run went on
}

TEST_F(FilesTest, LogsAndFailureReportsAreNotWrittenThroughSymlinkedFolders) {
  Result r =
      Run("defaults: {retry: {max_attempts: 1}}\n"
          "tasks:\n"
          "  - " +
          Plant("run=\"$MEX_ARTIFACTS/..\"; ln -s " + OutsideQuoted() +
                "/victim.log \"$run/logs/victim.1.log\"; rmdir \"$run/failures\"; ln -s " +
                OutsideQuoted() + " \"$run/failures\"") +
          "\n"
          "  - {id: victim, deps: [plant], run: 'echo into the log; exit 3'}\n");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Nothing but what the test put there: no log, no failure report.
  std::vector<std::string> outside;
  for (const auto& entry : fs::directory_iterator(Outside())) {
    outside.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(outside, std::vector<std::string>{"keep.json"});
  std::vector<nlohmann::json> failed = Events("task_failed", "victim");
  ASSERT_EQ(failed.size(), 1u) << r.out;
  EXPECT_EQ(failed[0]["class"], "logic");
  EXPECT_NE(
      failed[0]["reason"].get<std::string>().find("logs/victim.1.log: a symlink is on its way"),
      std::string::npos)
      << failed[0];
  EXPECT_NE(r.err.find("failures: a symlink is on its way"), std::string::npos) << r.err;
}

TEST_F(FilesTest, AFifoAtALogsNameFailsThatAttemptAndTheRetryRuns) {
  Result r =
      Run("defaults: {retry: {max_attempts: 2, backoff: {initial: 0}}}\n"
          "tasks:\n"
          "  - " +
          Plant("mkfifo \"$MEX_ARTIFACTS/../logs/next.1.log\"") +
          "\n"
          "  - {id: next, deps: [plant], run: 'echo hello'}\n");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;  // the old code blocked in open() forever
  std::vector<nlohmann::json> retry = Events("task_retry", "next");
  ASSERT_EQ(retry.size(), 1u) << r.out;
  EXPECT_EQ(retry[0]["class"], "logic");
  EXPECT_NE(retry[0]["reason"].get<std::string>().find("logs/next.1.log: it is not a regular file"),
            std::string::npos)
      << retry[0];
  EXPECT_EQ(Events("task_succeeded", "next").size(), 1u);
}

TEST_F(FilesTest, ATaskDoesNotRunInASymlinkedFolderOfTheWorkspace) {
  Result r =
      Run("defaults: {retry: {max_attempts: 1}}\n"
          "tasks:\n"
          "  - " +
          Plant("ln -s " + OutsideQuoted() + " sub") +
          "\n"
          "  - {id: inside, deps: [plant], cwd: sub, run: 'touch written-here'}\n");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_FALSE(fs::exists(Outside() / "written-here"));
  std::vector<nlohmann::json> failed = Events("task_failed", "inside");
  ASSERT_EQ(failed.size(), 1u) << r.out;
  EXPECT_NE(failed[0]["reason"].get<std::string>().find("sub: a symlink is on its way"),
            std::string::npos)
      << failed[0];
}

}  // namespace
}  // namespace mex
