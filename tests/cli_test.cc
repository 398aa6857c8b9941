// End-to-end tests of the mex command line (SPEC §6): the built binary is run on the fixtures in
// tests/fixtures/ with posix_spawn (no shell), its stdout and stderr captured into files of a
// fresh mkdtemp folder, and its working directory set to the source root so that the file names
// it prints match the .expected files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;

constexpr size_t kMinBadFixtures = 45;
constexpr size_t kMinGoodFixtures = 6;
const char* const kBadDir = "tests/fixtures/bad";
const char* const kGoodDir = "tests/fixtures/good";

using mex::testing_util::ReadFile;
using mex::testing_util::Result;
using mex::testing_util::RunMex;
using mex::testing_util::Source;
using mex::testing_util::TempDir;

bool IsMilestoneFile(const fs::path& path) {
  std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// The milestone files of a fixture folder, as relative names ("tests/fixtures/bad/x.yaml"),
// sorted.
std::vector<std::string> Fixtures(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(Source(dir), ec)) {
    if (entry.is_regular_file() && IsMilestoneFile(entry.path())) {
      names.push_back(dir + "/" + entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Every name in a folder, hidden ones included: what a command must leave as it found it.
std::set<std::string> Listing(const std::string& dir) {
  std::set<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(Source(dir))) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

std::string TestName(const testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// --- bad fixtures ---------------------------------------------------------------------------

class CliBadFixture : public testing::TestWithParam<std::string> {};

TEST_P(CliBadFixture, ValidateExitsTwoPrintsExpectedErrorsAndWritesNothing) {
  const std::string& file = GetParam();
  fs::path expected_path = Source(file + ".expected");
  ASSERT_TRUE(fs::exists(expected_path)) << "missing " << expected_path;
  std::set<std::string> before = Listing(kBadDir);
  Result r = RunMex({"validate", file});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, ReadFile(expected_path));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Listing(kBadDir), before);
  EXPECT_FALSE(fs::exists(Source(std::string(kBadDir) + "/.mex")));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CliBadFixture, testing::ValuesIn(Fixtures(kBadDir)), TestName);

TEST(Cli, BadCorpusHasAtLeast45FixturesEachWithExpectation) {
  std::vector<std::string> files = Fixtures(kBadDir);
  EXPECT_GE(files.size(), kMinBadFixtures);
  size_t json = std::count_if(files.begin(), files.end(),
                              [](const std::string& f) { return f.ends_with(".json"); });
  EXPECT_GE(json * 4, files.size()) << "keep about a third of the corpus in JSON";
  for (const std::string& file : files) {
    EXPECT_TRUE(fs::exists(Source(file + ".expected"))) << file << " has no .expected";
  }
  // And no expectation without its fixture.
  for (const fs::directory_entry& entry : fs::directory_iterator(Source(kBadDir))) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".expected")) continue;
    std::string fixture = std::string(kBadDir) + "/" + name.substr(0, name.size() - 9);
    EXPECT_TRUE(fs::exists(Source(fixture))) << name << " has no fixture";
  }
}

// --- good fixtures --------------------------------------------------------------------------

class CliGoodFixture : public testing::TestWithParam<std::string> {};

TEST_P(CliGoodFixture, ValidatesWithExitZero) {
  std::set<std::string> before = Listing(kGoodDir);
  Result r = RunMex({"validate", GetParam()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // No error; at most warnings (an agent CLI this machine lacks).
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(line.find(": warning: agent '"), std::string::npos) << line;
  }
  EXPECT_EQ(Listing(kGoodDir), before);
}

TEST_P(CliGoodFixture, PlansAndGraphsWithExitZero) {
  for (std::vector<std::string> args : {std::vector<std::string>{"plan"},
                                        {"plan", "--json"},
                                        {"graph", "--format", "dot"},
                                        {"graph", "--format", "mermaid"},
                                        {"graph", "--format", "json"}}) {
    args.push_back(GetParam());
    Result r = RunMex(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << r.err;
    EXPECT_EQ(r.err, "") << args[0];
    EXPECT_FALSE(r.out.empty()) << args[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CliGoodFixture, testing::ValuesIn(Fixtures(kGoodDir)), TestName);

TEST(Cli, GoodCorpusHasAtLeast6FixturesInBothFormats) {
  std::vector<std::string> files = Fixtures(kGoodDir);
  EXPECT_GE(files.size(), kMinGoodFixtures);
  EXPECT_TRUE(std::any_of(files.begin(), files.end(),
                          [](const std::string& f) { return f.ends_with(".json"); }));
  EXPECT_TRUE(std::any_of(files.begin(), files.end(),
                          [](const std::string& f) { return f.ends_with(".yaml"); }));
}

// --- plan and graph -------------------------------------------------------------------------

// dag.json: fetch(1) -> compile-core(3) -> unit-tests(2) -> package(1) is the longest chain.
const char* const kDag = "tests/fixtures/good/dag.json";
const std::vector<std::string> kDagCriticalPath = {"fetch", "compile-core", "unit-tests",
                                                   "package"};

TEST(Cli, PlanJsonPrintsTheRoadmap) {
  Result r = RunMex({"plan", kDag, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json plan = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(plan.is_discarded()) << r.out;
  ASSERT_TRUE(plan.contains("batches"));
  ASSERT_TRUE(plan["batches"].is_array());
  ASSERT_TRUE(plan.contains("critical_path"));
  ASSERT_TRUE(plan["critical_path"].contains("length"));
  ASSERT_TRUE(plan["critical_path"].contains("tasks"));
  ASSERT_TRUE(plan.contains("total_effort"));
  ASSERT_TRUE(plan.contains("makespan_estimate"));
  ASSERT_TRUE(plan.contains("levels"));
  EXPECT_EQ(plan["batches"].size(), 4u);  // fetch | both compiles | tests, link | package
  size_t scheduled = 0;
  for (const nlohmann::json& batch : plan["batches"]) scheduled += batch.size();
  EXPECT_EQ(scheduled, 6u);
  EXPECT_EQ(plan["critical_path"]["length"].get<double>(), 7);
  EXPECT_EQ(plan["critical_path"]["tasks"].get<std::vector<std::string>>(), kDagCriticalPath);
  EXPECT_EQ(plan["total_effort"].get<double>(), 10);
  EXPECT_TRUE(plan["makespan_estimate"].is_number());
  EXPECT_EQ(plan["levels"].size(), 6u);
}

// files.yaml: tasks that declare the files they change.
const char* const kFiles = "tests/fixtures/good/files.yaml";

TEST(Cli, PlanNamesTheTasksThatCouldRunAtOnceAndTouchTheSameFiles) {
  Result r = RunMex({"plan", kFiles});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\npredicted conflicts (tasks that could run at once declare the same "
                       "files; mex runs each pair one at a time):\n"
                       "  api and handlers may touch the same files: src/api/*.py and "
                       "src/api/v1.py\n"
                       "  api and docs may touch the same files: docs/api.md and docs/\n"
                       "  handlers and api-tests may touch the same files: src/api/v1.py and "
                       "src/api/*.py\n"),
            std::string::npos)
      << r.out;
  // api-tests waits for api, and release for every task: they never run beside them.
  size_t section = r.out.find("predicted conflicts");
  ASSERT_NE(section, std::string::npos) << r.out;
  std::string conflicts = r.out.substr(section);
  EXPECT_EQ(conflicts.find("api and api-tests"), std::string::npos) << conflicts;
  EXPECT_EQ(conflicts.find("release"), std::string::npos) << conflicts;

  Result json = RunMex({"plan", kFiles, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(plan.is_discarded()) << json.out;
  nlohmann::json expected = nlohmann::json::parse(R"([
    {"tasks": ["api", "handlers"], "files": ["src/api/*.py", "src/api/v1.py"]},
    {"tasks": ["api", "docs"], "files": ["docs/api.md", "docs/"]},
    {"tasks": ["handlers", "api-tests"], "files": ["src/api/v1.py", "src/api/*.py"]}])");
  EXPECT_EQ(plan["predicted_conflicts"], expected);
}

TEST(Cli, PlanOfTasksWithoutFilesPredictsNoConflict) {
  Result r = RunMex({"plan", kDag});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("predicted conflicts"), std::string::npos) << r.out;
  Result json = RunMex({"plan", kDag, "--json"});
  nlohmann::json plan = nlohmann::json::parse(json.out, nullptr, false);
  EXPECT_EQ(plan["predicted_conflicts"], nlohmann::json::array());
}

TEST(Cli, GraphDotMarksTheCriticalPath) {
  Result r = RunMex({"graph", kDag, "--format", "dot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("digraph"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("color=red"), std::string::npos) << r.out;
}

TEST(Cli, GraphMermaidMarksTheCriticalPath) {
  Result r = RunMex({"graph", kDag, "--format", "mermaid"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\\bclass [^\\n]* critical\\b"))) << r.out;
}

TEST(Cli, GraphJsonMarksTheCriticalPath) {
  Result r = RunMex({"graph", kDag, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"critical\": true"), std::string::npos) << r.out;
  nlohmann::json graph = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(graph.is_discarded()) << r.out;
  ASSERT_TRUE(graph.contains("nodes"));
  std::set<std::string> critical;
  for (const nlohmann::json& node : graph["nodes"]) {
    if (node.value("critical", false)) critical.insert(node.value("id", ""));
  }
  EXPECT_EQ(critical, std::set<std::string>(kDagCriticalPath.begin(), kDagCriticalPath.end()));
}

TEST(Cli, GraphUnknownFormatExitsTwo) {
  Result r = RunMex({"graph", kDag, "--format", "svg"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("svg"), std::string::npos) << r.err;
}

// --- usage ----------------------------------------------------------------------------------

TEST(Cli, MissingFileExitsTwoNamingTheFile) {
  for (const char* file :
       {"tests/fixtures/no-such-milestone.yaml", "tests/fixtures/no-such-milestone.json"}) {
    for (const char* command : {"validate", "plan", "graph"}) {
      Result r = RunMex({command, file});
      EXPECT_EQ(r.exit_code, 2) << command << " " << file;
      EXPECT_EQ(r.out, "") << command << " " << file;
      EXPECT_NE(r.err.find(file), std::string::npos) << command << ": " << r.err;
    }
  }
}

TEST(Cli, NoSubcommandExitsTwo) {
  Result r = RunMex({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.err.empty());
}

TEST(Cli, HelpExitsZero) {
  Result r = RunMex({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("validate"), std::string::npos) << r.out;
}

// A usage error: exit 2, nothing on stdout, one line on stderr saying what is wrong.
void ExpectUsageError(const std::vector<std::string>& args, const std::string& line,
                      const std::string& cwd = "") {
  Result r = RunMex(args, cwd);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, line + "\n");
}

TEST(Cli, AnUnknownCommandOrOptionNamesItselfAndTheNearestOne) {
  ExpectUsageError({"stauts"},
                   "mex: unknown command 'stauts' (did you mean 'status'?); the commands: "
                   "validate, plan, graph, run, status, logs, report, init, version, completion");
  ExpectUsageError({"--foo"}, "mex: unknown option '--foo'; 'mex --help' lists them");
  ExpectUsageError({"--verison"},
                   "mex: unknown option '--verison' (did you mean '--version'?); 'mex --help' "
                   "lists them");
  ExpectUsageError({"run", "--jbos", "3", kDag},
                   "mex: run: unknown option '--jbos' (did you mean '--jobs'?); 'mex run --help' "
                   "lists them");
  ExpectUsageError({"validate", kDag, "link"},
                   "mex: validate: unexpected argument 'link'; 'mex validate --help' shows the "
                   "usage");
  ExpectUsageError({},
                   "mex: a command is required: validate, plan, graph, run, status, logs, "
                   "report, init, version, completion ('mex --help' says more)");
}

TEST(Cli, JobsMustBeAWholeNumberOfOneOrMore) {
  for (const char* command : {"run", "plan"}) {
    for (const char* jobs : {"0", "abc", "2.5", "-1", "99999999999999999999"}) {
      ExpectUsageError(
          {command, kDag, "-j", jobs},
          std::string("mex: -j must be a whole number of 1 or more, not '") + jobs + "'");
    }
  }
  EXPECT_EQ(RunMex({"plan", kDag, "-j", "3"}).exit_code, 0);
}

TEST(Cli, VersionAsACommandAndAsAnOption) {
  for (const char* how : {"version", "--version"}) {
    Result r = RunMex({how});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "mex 0.1.0\n");
  }
}

TEST(Cli, WithoutAFileACommandReadsTheMilestoneOfTheCurrentFolder) {
  TempDir dir;
  ExpectUsageError({"validate"},
                   "mex: no FILE given, and no milestone.yaml, milestone.yml or milestone.json in "
                   "this folder ('mex init' writes one)",
                   dir.path().string());
  mex::testing_util::WriteFile(dir.path() / "milestone.json",
                               R"({"tasks": [{"id": "a", "run": "true"}]})");
  Result r = RunMex({"validate"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "milestone.json: ok: 1 task in 1 phase\n");
  // milestone.yaml comes first.
  mex::testing_util::WriteFile(dir.path() / "milestone.yaml",
                               "tasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true'}\n");
  for (const char* command : {"validate", "plan", "graph"}) {
    r = RunMex({command}, dir.path().string());
    EXPECT_EQ(r.exit_code, 0) << command << r.err;
  }
  EXPECT_EQ(RunMex({"validate"}, dir.path().string()).out,
            "milestone.yaml: ok: 2 tasks in 1 phase\n");
  r = RunMex({"run", "--progress=plain"}, dir.path().string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path() / ".mex" / "state.db"));
}

TEST(Cli, AFolderAsTheFileIsSaidToBeOne) {
  TempDir dir;
  for (const char* command : {"validate", "plan", "graph", "run"}) {
    ExpectUsageError({command, "."},
                     "mex: . is a folder; give the milestone file in it (./milestone.yaml)",
                     dir.path().string());
  }
  EXPECT_FALSE(fs::exists(dir.path() / ".mex"));
}

TEST(Cli, ValidateWarnsOfAnAgentProgramNotInPath) {
  TempDir dir;
  mex::testing_util::WriteFile(dir.path() / "m.yaml",
                               "defaults: {agent: claude}\ntasks:\n  - {id: a, prompt: hi}\n"
                               "  - {id: b, prompt: ho}\n  - {id: c, run: 'true'}\n");
  Result r = mex::testing_util::RunProgram({MEX_BINARY, "validate", "m.yaml"}, dir.path().string(),
                                           {"PATH=" + dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "m.yaml: ok: 3 tasks in 1 phase\n");
  EXPECT_EQ(r.err,
            "m.yaml:3:10: warning: agent 'claude': program 'claude' is not in PATH (install it, or "
            "give the agent's command in the milestone's agents:); 2 tasks would fail at once\n");
}

TEST(Cli, EachCommandsHelpGivesItsExitCodesAndAnExample) {
  for (const char* command :
       {"validate", "plan", "graph", "run", "status", "logs", "report", "init"}) {
    Result r = RunMex({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command << r.err;
    EXPECT_NE(r.out.find("Exit codes: 0"), std::string::npos) << command << "\n" << r.out;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << command << "\n" << r.out;
  }
  // --executor offers both places an attempt can run.
  EXPECT_NE(RunMex({"run", "--help"}).out.find("local or slurm"), std::string::npos);
}

}  // namespace
