// The quickstart end to end, as the README's first command runs it: examples/quickstart (the
// milestone `mex init --agent demo` writes, and its offline demo agent) through all four phases.
// It runs in a copy of the folder, so that the source tree gets no .mex/.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_util::ReadFile;
using testing_util::RunMex;
using testing_util::Source;
using testing_util::TempDir;

TEST(QuickstartTest, RunsAllFourPhasesOfflineAndEveryGatePasses) {
  TempDir dir;
  for (const char* file : {"milestone.yaml", "demo-agent"}) {
    fs::copy_file(Source("examples/quickstart") / file, dir.path() / file);
  }
  testing_util::Result r = RunMex({"run", "milestone.yaml", "--json"}, dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> events = testing_util::ParseNdjson(r.out);
  std::vector<std::string> passed;
  int retries = 0;
  for (const json& e : events) {
    if (e["event"] == "phase_finished" && e["passed"] == true) passed.push_back(e["phase"]);
    if (e["event"] == "task_retry") {
      ++retries;
      EXPECT_EQ(e["task"], "breakdown");
      EXPECT_EQ(e["class"], "logic");
    }
  }
  EXPECT_EQ(passed, (std::vector<std::string>{"design", "spec", "task", "execute"}));
  EXPECT_EQ(retries, 1);  // the demo's breakdown fails once, then reads why and fixes it

  fs::path run;
  for (const auto& entry : fs::directory_iterator(dir.path() / ".mex" / "runs")) run = entry;
  for (const char* phase : {"design", "spec", "task", "execute"}) {
    json validation = json::parse(ReadFile(run / "validation" / (std::string(phase) + ".json")));
    EXPECT_TRUE(validation["passed"]) << validation.dump(2);
    EXPECT_DOUBLE_EQ(validation["score"].get<double>(), 1.0);
  }
  std::string second_prompt = ReadFile(run / "logs" / "breakdown.2.prompt");
  EXPECT_NE(second_prompt.find("## Previous attempt failed"), std::string::npos);
  EXPECT_NE(second_prompt.find("/tasks/2/effort"), std::string::npos) << second_prompt;
  json status = json::parse(ReadFile(run / "status.json"));
  EXPECT_EQ(status["state"], "succeeded");
  EXPECT_DOUBLE_EQ(status["progress"]["weighted"].get<double>(), 1.0);
  json roadmap = json::parse(ReadFile(run / "roadmap.json"));
  std::vector<std::string> critical = roadmap["critical_path"]["tasks"];
  // Through every phase: the breakdown's chain, computed by the engine, ends the path.
  EXPECT_EQ(critical, (std::vector<std::string>{"keep", "spec", "breakdown", "limiter",
                                                "middleware", "limit-tests", "quality"}));
}

}  // namespace
}  // namespace mex
