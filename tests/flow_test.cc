// End-to-end tests of the milestone flow (SPEC §2, §3, §5): phases scored against their gates,
// validation files, gate re-runs with {{gate.missing}}, tasks_from, weighted progress, budget
// and the preflight of agents. The agent is tests/agents/artifact-agent, which writes the
// artifacts each test prepares.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flow/schemas.h"
#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::Source;
using testing_util::TempDir;
using testing_util::WriteFile;

// A spec whose first `filled` leaves (in the order of SPEC §3) are filled; the functional
// requirements carry acceptance criteria AC-1, AC-2, ...
json Spec(size_t filled) {
  json spec = json::object();
  int criterion = 0;
  for (size_t i = 0; i < filled; ++i) {
    const std::string& leaf = SpecLeaves()[i];
    json value = json::array({"filled"});
    if (leaf.starts_with("/acceptance_criteria/functional_requirements/")) {
      value = json::array({{{"id", "AC-" + std::to_string(++criterion)}, {"text", "works"}}});
    }
    spec[json::json_pointer(leaf)] = value;
  }
  return spec;
}

json Kiro() {
  return {{"decisions", {{{"id", "D-1"}, {"title", "Keep the API"}, {"rationale", "stable"}}}}};
}

json Task(const std::string& id, std::vector<std::string> deps = {},
          std::vector<std::string> covers = {}) {
  return {{"id", id},
          {"title", "Build " + id},
          {"description", "Make " + id + " work"},
          {"effort", 1},
          {"deps", deps},
          {"covers", covers},
          {"kind", "implementation"}};
}

// The three acceptance criteria of Spec(23) (or Spec(19)), covered by a chain a <- b <- c.
json Breakdown() {
  return {
      {"tasks", {Task("a", {}, {"AC-1"}), Task("b", {"a"}, {"AC-2"}), Task("c", {"b"}, {"AC-3"})}}};
}

constexpr const char* kDesign = R"(  - name: design
    weight: 15
    gate: {min_score: 0.75, criteria: [kiro_decisions]}
    tasks:
      - {id: keep, prompt: "keep", output: {path: design/keep.json, schema: kiro}}
      - {id: improve, prompt: "improve", output: {path: design/improve.json, schema: kiro}}
      - {id: remove, prompt: "remove", output: {path: design/remove.json, schema: kiro}}
      - {id: originate, prompt: "originate", output: {path: design/originate.json, schema: kiro}}
)";

constexpr const char* kSpec = R"(  - name: spec
    weight: 25
    gate: {min_score: 0.80, criteria: [spec_completeness]}
    tasks:
      - {id: spec, deps: [keep, improve, remove, originate], prompt: "spec",
         output: {path: spec.json, schema: spec}}
)";

constexpr const char* kTask = R"(  - name: task
    weight: 20
    gate: {min_score: 1.0, criteria: [task_coverage]}
    tasks:
      - {id: breakdown, deps: [spec], prompt: "breakdown", output: {path: tasks.json, schema: tasks}}
)";

constexpr const char* kExecute = R"(  - name: execute
    weight: 40
    tasks_from: breakdown
    task_template: {prompt: "Implement {{task.id}}: {{task.title}}. {{task.description}}"}
    gate: {min_score: 1.0, criteria: [tasks_succeeded]}
    tasks:
      - {id: check, run: "echo checked", deps: [all]}
)";

// A workspace with the fixture agent and the artifacts it writes.
class FlowTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(Fixtures()); }
  std::string Head(const std::string& extra_defaults = "") const {
    return "milestone: {id: M-1, title: Flow}\n"
           "defaults: {agent: fake, max_parallel: 4, retry: {max_attempts: 1}" +
           extra_defaults +
           "}\n"
           "agents:\n  fake: {command: [" +
           Source("tests/agents/artifact-agent").string() + ", " + Fixtures().string() +
           "], prompt_via: file}\n"
           "phases:\n";
  }
  fs::path Fixtures() const { return dir_.path() / "fixtures"; }
  void Artifact(const std::string& task, const json& content) const {
    WriteFile(Fixtures() / (task + ".json"), content.dump(2));
  }
  void ArtifactOfAttempt(const std::string& task, int attempt, const json& content) const {
    WriteFile(Fixtures() / (task + "." + std::to_string(attempt) + ".json"), content.dump(2));
  }
  void DesignArtifacts() const {
    for (const char* id : {"keep", "improve", "remove", "originate"}) Artifact(id, Kiro());
  }
  void AllArtifacts() const {
    DesignArtifacts();
    Artifact("spec", Spec(23));
    Artifact("breakdown", Breakdown());
  }
  Result Run(const std::string& milestone, std::vector<std::string> extra = {}) {
    WriteFile(dir_.path() / "m.yaml", milestone);
    std::vector<std::string> args = {"run", "m.yaml", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result result = RunMex(args, dir_.path().string());
    events_ = testing_util::ParseNdjson(result.out);
    return result;
  }
  fs::path RunFolder() const {
    for (const auto& entry : fs::directory_iterator(dir_.path() / ".mex" / "runs")) {
      return entry.path();
    }
    return {};
  }
  json Validation(const std::string& phase) const {
    return json::parse(ReadFile(RunFolder() / "validation" / (phase + ".json")));
  }
  std::vector<json> Events(const std::string& kind) const {
    std::vector<json> out;
    for (const json& e : events_) {
      if (e["event"] == kind) out.push_back(e);
    }
    return out;
  }
  std::string Prompt(const std::string& task, int attempt) const {
    return ReadFile(RunFolder() / "artifacts" / "prompts" /
                    (task + "." + std::to_string(attempt) + ".txt"));
  }

  TempDir dir_;
  std::vector<json> events_;
};

std::string Joined(const json& items) {
  std::string text;
  for (const json& item : items) text += item.get<std::string>() + "\n";
  return text;
}

TEST_F(FlowTest, AllFourPhasesPassTheirGatesAndProgressIsWeightedAtEachBoundary) {
  AllArtifacts();
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> finished = Events("phase_finished");
  ASSERT_EQ(finished.size(), 4u);
  std::vector<double> expected = {0.15, 0.40, 0.60, 1.0};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(finished[i]["passed"]) << finished[i];
    EXPECT_NEAR(finished[i]["progress"].get<double>(), expected[i], 1e-9) << finished[i];
    EXPECT_DOUBLE_EQ(finished[i]["score"].get<double>(), 1.0) << finished[i];
  }
  json status = json::parse(ReadFile(RunFolder() / "status.json"));
  EXPECT_EQ(status["state"], "succeeded");
  EXPECT_DOUBLE_EQ(status["progress"]["weighted"].get<double>(), 1.0);
  for (const json& phase : status["progress"]["phases"]) {
    EXPECT_TRUE(phase["gate"]["passed"]) << phase;
  }
}

TEST_F(FlowTest, TasksFromAddsTheBreakdownAndTheEngineWritesTheRoadmap) {
  AllArtifacts();
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> order;
  for (const json& e : Events("task_succeeded")) {
    if (e["phase"] == "execute") order.push_back(e["task"]);
  }
  // The breakdown's chain, then the static task that depends on all of them.
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "check"}));
  json execute = Events("phase_started")[3];
  EXPECT_EQ(execute["added"], 3) << execute;
  EXPECT_EQ(execute["from"], "breakdown");
  EXPECT_EQ(Prompt("b", 1), "Implement b: Build b. Make b work");
  json roadmap = json::parse(ReadFile(RunFolder() / "roadmap.json"));
  std::string text = roadmap.dump();
  EXPECT_NE(text.find("\"c\""), std::string::npos) << text;
  std::vector<std::string> critical = roadmap["critical_path"]["tasks"];
  EXPECT_EQ(critical.back(), "check");
  json validation = Validation("task");
  EXPECT_TRUE(validation["passed"]);
  EXPECT_NE(validation.dump().find("critical path a -> b -> c"), std::string::npos)
      << validation.dump(2);
}

TEST_F(FlowTest, SpecWithNineteenOfTwentyThreeSectionsPassesAtPointEight) {
  DesignArtifacts();
  Artifact("spec", Spec(19));
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  json validation = Validation("spec");
  EXPECT_NEAR(validation["score"].get<double>(), 19.0 / 23, 1e-9);
  EXPECT_EQ(validation["min_score"], 0.8);
  EXPECT_TRUE(validation["passed"]);
  EXPECT_EQ(validation["criteria"][0]["detail"], "19 of 23 sections filled");
  EXPECT_EQ(validation["missing"].size(), 4u) << validation.dump(2);
  // Past the spec gate: the run goes on to the task phase (which fails, no breakdown written).
  EXPECT_EQ(Events("phase_finished")[1]["passed"], true);
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(FlowTest, SpecWithEighteenSectionsStopsAtItsGateNamingWhatIsMissing) {
  DesignArtifacts();
  Artifact("spec", Spec(18));
  Artifact("breakdown", Breakdown());
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json validation = Validation("spec");
  EXPECT_NEAR(validation["score"].get<double>(), 18.0 / 23, 1e-9);
  EXPECT_FALSE(validation["passed"]);
  std::string missing = Joined(validation["missing"]);
  EXPECT_EQ(validation["missing"].size(), 5u) << missing;
  EXPECT_NE(missing.find("/acceptance_criteria/non_functional_requirements/compatibility"),
            std::string::npos)
      << missing;
  EXPECT_NE(missing.find("/validation_specs/success_metrics"), std::string::npos) << missing;
  EXPECT_NE(missing.find("not_applicable"), std::string::npos) << missing;
  // Nothing after the spec gate ran.
  for (const json& e : Events("task_started")) EXPECT_NE(e["task"], "breakdown");
  json status = json::parse(ReadFile(RunFolder() / "status.json"));
  EXPECT_EQ(status["state"], "failed");
  EXPECT_FALSE(status["progress"]["phases"][1]["gate"]["passed"]);
  // The plain output names the missing sections too.
  Result plain = RunMex({"run", "m.yaml", "--new"}, dir_.path().string());
  EXPECT_NE(plain.out.find("phase spec FAILED: gate score 0.78 (needs 0.80)"), std::string::npos)
      << plain.out;
  EXPECT_NE(plain.out.find("missing: spec.json: section /validation_specs/success_metrics"),
            std::string::npos)
      << plain.out;
}

TEST_F(FlowTest, ThreeOfFourDecisionFilesPassTheDesignGateAtPointSevenFive) {
  DesignArtifacts();
  WriteFile(Fixtures() / "originate.json", R"({"decisions": []})");
  Artifact("spec", Spec(23));
  Artifact("breakdown", Breakdown());
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  json validation = Validation("design");
  EXPECT_DOUBLE_EQ(validation["score"].get<double>(), 0.75);
  EXPECT_TRUE(validation["passed"]);
  EXPECT_NE(Joined(validation["missing"]).find("design/originate.json (originate): /decisions"),
            std::string::npos)
      << validation.dump(2);
  // The failed analysis does not stop the milestone: every gate passed.
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(FlowTest, TwoOfFourDecisionFilesFailTheDesignGate) {
  DesignArtifacts();
  WriteFile(Fixtures() / "originate.json", R"({"decisions": []})");
  WriteFile(Fixtures() / "remove.json", "not json");
  std::string spec = kSpec;
  spec.replace(spec.find("weight: 25"), 10, "weight: 85");
  Result r = Run(Head() + kDesign + spec);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json validation = Validation("design");
  EXPECT_DOUBLE_EQ(validation["score"].get<double>(), 0.5);
  EXPECT_FALSE(validation["passed"]);
  EXPECT_EQ(validation["criteria"][0]["detail"], "2 of 4 decision files valid and non-empty");
  // The spec phase never started: its task is skipped, with its event, and the run is not done.
  std::vector<json> skipped = Events("task_skipped");
  ASSERT_EQ(skipped.size(), 1u) << r.out;
  EXPECT_EQ(skipped[0]["phase"], "spec");
  EXPECT_EQ(skipped[0]["reason"], "phase 'design' did not pass its gate");
  EXPECT_EQ(Events("run_finished").at(0)["skipped"], 1);
  // 2 of its 4 tasks, its gate not passed: 2 of 5 parts of the design phase's 15%.
  EXPECT_NEAR(Events("phase_finished").at(0)["progress"].get<double>(), 0.15 * 2 / 5, 1e-9);
}

TEST_F(FlowTest, BreakdownFilesArePredictedConflictsThatPassTheGateAndRunOneAtATime) {
  DesignArtifacts();
  Artifact("spec", Spec(23));
  json a = Task("a", {}, {"AC-1"}), b = Task("b", {}, {"AC-2"}), c = Task("c", {"a"}, {"AC-3"});
  a["files"] = {"src/x.py"};
  b["files"] = {"docs/", "src/*.py"};
  c["files"] = {"src/x.py"};  // after a: no conflict with it
  Artifact("breakdown", {{"tasks", {a, b, c}}});
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json validation = Validation("task");
  EXPECT_TRUE(validation["passed"]) << validation.dump(2);
  EXPECT_EQ(validation["criteria"][0]["detail"],
            "3 tasks; predicted conflicts, run one at a time: a and b may touch the same files: "
            "src/x.py and src/*.py; b and c may touch the same files: src/*.py and src/x.py");
  json roadmap = json::parse(ReadFile(RunFolder() / "roadmap.json"));
  EXPECT_EQ(roadmap["predicted_conflicts"].size(), 2u) << roadmap["predicted_conflicts"];
  // With 4 slots, b never ran beside a or c.
  std::vector<std::string> seen;
  for (const json& e : events_) {
    if ((e["event"] == "task_started" || e["event"] == "task_succeeded") &&
        e["phase"] == "execute") {
      seen.push_back(e["event"].get<std::string>().substr(5) + " " + e["task"].get<std::string>());
    }
  }
  std::string running;
  for (const std::string& s : seen) {
    if (s == "started a" || s == "started c") running += s.back();
    if (s == "succeeded a" || s == "succeeded c") running.erase(running.find(s.back()), 1);
    if (s == "started b") {
      EXPECT_EQ(running, "") << "b started beside " << running;
    }
  }
  size_t b_start = std::find(seen.begin(), seen.end(), "started b") - seen.begin();
  size_t b_end = std::find(seen.begin(), seen.end(), "succeeded b") - seen.begin();
  ASSERT_LT(b_start, b_end);
  for (size_t i = b_start + 1; i < b_end; ++i) {
    EXPECT_NE(seen[i].substr(0, 7), "started") << seen[i];
  }
}

TEST_F(FlowTest, BreakdownWithACycleFailsTheTaskGateNamingTheCycle) {
  DesignArtifacts();
  Artifact("spec", Spec(23));
  Artifact(
      "breakdown",
      {{"tasks",
        {Task("a", {"c"}, {"AC-1"}), Task("b", {"a"}, {"AC-2"}), Task("c", {"b"}, {"AC-3"})}}});
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json validation = Validation("task");
  EXPECT_FALSE(validation["passed"]);
  std::string missing = Joined(validation["missing"]);
  EXPECT_NE(missing.find("dependency cycle a -> c -> b -> a"), std::string::npos) << missing;
  for (const json& e : Events("phase_started")) EXPECT_NE(e["phase"], "execute");
}

TEST_F(FlowTest, BreakdownWithADanglingDepOrAnUncoveredCriterionFailsTheTaskGate) {
  DesignArtifacts();
  Artifact("spec", Spec(23));
  Artifact("breakdown",
           {{"tasks", {Task("a", {"zz"}, {"AC-1"}), Task("b", {}, {"AC-2", "AC-9"})}}});
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  EXPECT_EQ(r.exit_code, 1);
  json validation = Validation("task");
  std::string missing = Joined(validation["missing"]);
  EXPECT_NE(missing.find("'a' depends on 'zz', which is not in the breakdown"), std::string::npos)
      << missing;
  EXPECT_NE(missing.find("acceptance criterion AC-3 is covered by no task"), std::string::npos)
      << missing;
  EXPECT_NE(missing.find("task 'b' covers AC-9, which the spec does not define"), std::string::npos)
      << missing;
  // 6 checks: coverage and deps fail; valid, efforts, acyclic and roadmap (without 'zz') pass.
  EXPECT_NEAR(validation["score"].get<double>(), 4.0 / 6, 1e-9) << validation.dump(2);
}

TEST_F(FlowTest, GateRerunGivesTheMissingSectionsToTheNextPrompt) {
  DesignArtifacts();
  ArtifactOfAttempt("spec", 1, Spec(18));
  ArtifactOfAttempt("spec", 2, Spec(23));
  std::string spec = R"(  - name: spec
    weight: 85
    on_gate_fail: {rerun: 1}
    gate: {min_score: 0.80, criteria: [spec_completeness]}
    tasks:
      - {id: spec, prompt: "Write the spec. {{gate.missing}}", output: {path: spec.json, schema: spec}}
)";
  Result r = Run(Head() + kDesign + spec);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(Events("phase_rerun").size(), 1u);
  EXPECT_EQ(Prompt("spec", 1), "Write the spec. ");
  std::string second = Prompt("spec", 2);
  EXPECT_NE(second.find("The spec gate scored 0.78, below the 0.80 it needs"), std::string::npos)
      << second;
  EXPECT_NE(second.find("/validation_specs/success_metrics"), std::string::npos) << second;
  EXPECT_TRUE(Validation("spec")["passed"]);
}

TEST_F(FlowTest, GateRerunAppendsTheMissingPartToAPromptThatDoesNotAskForIt) {
  ArtifactOfAttempt("spec", 1, Spec(10));
  ArtifactOfAttempt("spec", 2, Spec(23));
  std::string spec = R"(  - name: spec
    weight: 100
    on_gate_fail: {rerun: 2}
    gate: {min_score: 0.80, criteria: [spec_completeness]}
    tasks:
      - {id: spec, prompt: "Write the spec.", output: {path: spec.json, schema: spec}}
)";
  Result r = Run(Head() + spec);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string second = Prompt("spec", 2);
  EXPECT_NE(second.find("## The phase did not pass its gate"), std::string::npos) << second;
  EXPECT_NE(second.find("/technical_specifications/integration_specs/retry_policies"),
            std::string::npos)
      << second;
}

TEST_F(FlowTest, GateThatStillFailsAfterItsRerunsStopsTheRun) {
  Artifact("spec", Spec(5));
  std::string spec = R"(  - name: spec
    weight: 100
    on_gate_fail: {rerun: 2}
    gate: {min_score: 0.80, criteria: [spec_completeness]}
    tasks:
      - {id: spec, prompt: "Write the spec.", output: {path: spec.json, schema: spec}}
)";
  Result r = Run(Head() + spec);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Events("phase_rerun").size(), 2u);
  EXPECT_EQ(Events("task_started").size(), 3u);  // the first run and two re-runs
}

TEST_F(FlowTest, ArtifactAndCommandCriteriaScoreWithTheirWeights) {
  Artifact("spec", Spec(23));
  std::string phase = R"(  - name: spec
    weight: 100
    gate:
      min_score: 0.5
      criteria:
        - {artifact: spec, weight: 2}
        - {command: "test -s nothing-here", weight: 1}
        - {command: "echo fine", weight: 1}
    tasks:
      - {id: spec, prompt: "Write the spec.", output: {path: spec.json, schema: spec}}
)";
  Result r = Run(Head() + phase);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json validation = Validation("spec");
  EXPECT_DOUBLE_EQ(validation["score"].get<double>(), 0.75);
  ASSERT_EQ(validation["criteria"].size(), 3u);
  EXPECT_TRUE(validation["criteria"][0]["passed"]);
  EXPECT_FALSE(validation["criteria"][1]["passed"]);
  EXPECT_NE(validation["criteria"][1]["detail"].get<std::string>().find("exit 1"),
            std::string::npos);
  EXPECT_TRUE(validation["criteria"][2]["passed"]);
  EXPECT_EQ(ReadFile(RunFolder() / "validation" / "spec.3.log"), "fine\n");
  EXPECT_EQ(Events("gate_command").size(), 2u);
}

TEST_F(FlowTest, CtrlCDuringAGateCommandEndsItAndTheRunIsInterrupted) {
  std::string milestone = R"(phases:
  - name: only
    weight: 100
    gate: {criteria: [{command: "echo $$ > gate.pid; exec sleep 30"}]}
    tasks:
      - {id: a, run: "true"}
)";
  WriteFile(dir_.path() / "m.yaml", milestone);
  fs::path out = dir_.path() / "out.txt";
  pid_t mex = testing_util::StartMex({"run", "m.yaml", "--json"}, dir_.path().string(), out);
  fs::path pid_file = dir_.path() / "gate.pid";
  for (int i = 0; i < 200 && ReadFile(pid_file).empty(); ++i) usleep(25000);
  ASSERT_FALSE(ReadFile(pid_file).empty()) << ReadFile(out);
  pid_t gate = std::stoi(ReadFile(pid_file));
  kill(mex, SIGINT);
  EXPECT_EQ(testing_util::WaitMex(mex), 130) << ReadFile(out);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = testing_util::ProcessGone(gate);
    if (!gone) usleep(50000);
  }
  EXPECT_TRUE(gone) << "the gate's command is still running";
  EXPECT_FALSE(fs::exists(RunFolder() / "validation" / "only.json"));  // never scored
}

TEST_F(FlowTest, TasksSucceededScoresTheShareThatSucceeded) {
  WriteFile(Fixtures() / "b.fail", "broken\n");
  std::string phase = R"(  - name: execute
    weight: 100
    gate: {min_score: 0.5, criteria: [tasks_succeeded]}
    tasks:
      - {id: a, prompt: "a"}
      - {id: b, prompt: "b"}
      - {id: c, prompt: "c"}
      - {id: d, prompt: "d", deps: [b]}
)";
  Result r = Run(Head() + phase);
  json validation = Validation("execute");
  EXPECT_DOUBLE_EQ(validation["score"].get<double>(), 0.5) << validation.dump(2);
  EXPECT_TRUE(validation["passed"]);
  std::string missing = Joined(validation["missing"]);
  EXPECT_NE(missing.find("task b failed: logic: exit 1"), std::string::npos) << missing;
  EXPECT_NE(missing.find("task d skipped: 'b' failed"), std::string::npos) << missing;
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(FlowTest, MissingAgentProgramFailsItsTasksAtPhaseStart) {
  std::string milestone =
      "defaults: {agent: ghost, timeout: 10m}\n"
      "agents: {ghost: {command: [mex-no-such-agent-cli, -p]}}\n"
      "tasks:\n  - {id: a, prompt: hi}\n  - {id: b, run: 'true'}\n";
  Result r = Run(milestone);
  EXPECT_EQ(r.exit_code, 1);
  std::vector<json> failed = Events("task_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["task"], "a");
  EXPECT_EQ(failed[0]["class"], "permanent");
  EXPECT_EQ(failed[0]["attempt"], 0);  // never started
  EXPECT_NE(failed[0]["reason"].get<std::string>().find(
                "agent 'ghost': program 'mex-no-such-agent-cli' is not in PATH"),
            std::string::npos)
      << failed[0];
  EXPECT_EQ(Events("task_succeeded").size(), 1u);  // b is independent of it
}

TEST_F(FlowTest, BreakdownIdThatClashesWithATaskStopsTheExecutePhase) {
  AllArtifacts();
  Artifact("breakdown", {{"tasks", {Task("check", {}, {"AC-1", "AC-2", "AC-3"})}}});
  Result r = Run(Head() + kDesign + kSpec + kTask + kExecute);
  EXPECT_EQ(r.exit_code, 1);
  std::vector<json> finished = Events("phase_finished");
  ASSERT_EQ(finished.size(), 4u);
  EXPECT_FALSE(finished[3]["passed"]);
  EXPECT_NE(finished[3]["reason"].get<std::string>().find(
                "breakdown task 'check' has the id of a task of phase 'execute'"),
            std::string::npos)
      << finished[3];
}

TEST_F(FlowTest, FinishedFlowRunsNothingTheSecondTime) {
  AllArtifacts();
  ASSERT_EQ(Run(Head() + kDesign + kSpec + kTask + kExecute).exit_code, 0);
  Result again = Run(Head() + kDesign + kSpec + kTask + kExecute);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(Events("task_started").size(), 0u) << again.out;
  // The tasks of the execute phase are decided when it starts, after the breakdown is read.
  EXPECT_EQ(Events("run_started")[0]["kept"], 6);
  EXPECT_EQ(Events("phase_started")[3]["kept"], 4);
  json status = json::parse(ReadFile(RunFolder() / "status.json"));
  EXPECT_EQ(status["progress"]["phases"][3]["total"], 4);
  EXPECT_EQ(status["progress"]["phases"][3]["succeeded"], 4);
}

TEST_F(FlowTest, PhaseAfterTheDynamicOneRunsAfterItAndIsKeptOnResume) {
  AllArtifacts();
  std::string execute = kExecute;
  execute.replace(execute.find("weight: 40"), 10, "weight: 30");
  std::string release = R"(  - name: release
    weight: 10
    tasks:
      - {id: ship, run: "echo shipped", deps: [check]}
)";
  std::string milestone = Head() + kDesign + kSpec + kTask + execute + release;
  ASSERT_EQ(Run(milestone).exit_code, 0);
  std::vector<std::string> last;
  for (const json& e : Events("task_succeeded")) last.push_back(e["task"]);
  EXPECT_EQ(last.back(), "ship");
  Result again = Run(milestone);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(Events("task_started").size(), 0u) << again.out;
  // A breakdown task that changed (here, edited in the artifact) runs again, and so does
  // everything downstream of it, into the phase after.
  json changed = Breakdown();
  changed["tasks"][2]["description"] = "Make c work better";
  WriteFile(RunFolder() / "artifacts" / "tasks.json", changed.dump());
  Result edited = Run(milestone);
  ASSERT_EQ(edited.exit_code, 0) << edited.out << edited.err;
  std::vector<std::string> started;
  for (const json& e : Events("task_started")) started.push_back(e["task"]);
  EXPECT_EQ(started, (std::vector<std::string>{"c", "check", "ship"}));
}

TEST_F(FlowTest, ExecuteTaskThatFailedRunsAgainOnResumeAndTheOthersAreKept) {
  AllArtifacts();
  WriteFile(Fixtures() / "b.fail", "broken\n");
  ASSERT_EQ(Run(Head() + kDesign + kSpec + kTask + kExecute).exit_code, 1);
  fs::remove(Fixtures() / "b.fail");
  Result again = Run(Head() + kDesign + kSpec + kTask + kExecute);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  std::vector<std::string> started;
  for (const json& e : Events("task_started")) started.push_back(e["task"]);
  EXPECT_EQ(started, (std::vector<std::string>{"b", "c", "check"}));
  EXPECT_EQ(Events("task_started")[0]["attempt"], 2);  // b's numbering goes on
}

// A milestone of agent tasks run one at a time by tests/agents/fake-claude/claude, which the
// claude rules read (is_error, permission_denials, total_cost_usd).
std::string ClaudeMilestone(const std::string& defaults, const std::string& tasks) {
  return "defaults: {agent: claude, max_parallel: 1, retry: {max_attempts: 2, backoff: {initial: "
         "0.1s}}" +
         defaults +
         "}\n"
         "agents:\n  claude: {command: [" +
         Source("tests/agents/fake-claude/claude").string() +
         ", -p, --output-format, json], prompt_via: stdin}\n"
         "tasks:\n" +
         tasks;
}

TEST_F(FlowTest, BudgetStopsNewAttemptsOnceTheReportedCostReachesIt) {
  std::string tasks =
      "  - {id: a, prompt: 'cost=0.03'}\n"
      "  - {id: b, prompt: 'cost=0.03', deps: [a]}\n"
      "  - {id: c, prompt: 'cost=0.03', deps: [b]}\n";
  Result r = Run(ClaudeMilestone(", budget_usd: 0.05", tasks));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  ASSERT_EQ(Events("budget_spent").size(), 1u) << r.out;
  EXPECT_NEAR(Events("budget_spent")[0]["cost_usd"].get<double>(), 0.06, 1e-9);
  EXPECT_EQ(Events("task_succeeded").size(), 2u);
  json finished = Events("run_finished")[0];
  EXPECT_EQ(finished["result"], "budget spent");
  EXPECT_EQ(finished["cancelled"], 1);  // c never started
  ASSERT_EQ(Events("task_cancelled").size(), 1u) << r.out;
  EXPECT_EQ(Events("task_cancelled")[0]["task"], "c");
  EXPECT_EQ(Events("task_cancelled")[0]["reason"], "never started: the budget is spent");
  json status = json::parse(ReadFile(RunFolder() / "status.json"));
  EXPECT_NEAR(status["cost_usd"].get<double>(), 0.06, 1e-9);
  EXPECT_EQ(status["tokens"]["input"], 200);

  // Resumed with the same budget: spent already, nothing starts.
  Result again = Run(ClaudeMilestone(", budget_usd: 0.05", tasks));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(Events("task_started").size(), 0u);
  EXPECT_EQ(Events("budget_spent").size(), 1u);
  // A larger budget lets the rest run.
  Result more = Run(ClaudeMilestone(", budget_usd: 1", tasks));
  EXPECT_EQ(more.exit_code, 0) << more.out;
  ASSERT_EQ(Events("task_started").size(), 1u);
  EXPECT_EQ(Events("task_started")[0]["task"], "c");
}

TEST_F(FlowTest, ClaudeErrorResultWithExitZeroIsATransientFailure) {
  Result r = Run(ClaudeMilestone("", "  - {id: a, prompt: 'rate-limit-once'}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> retries = Events("task_retry");
  ASSERT_EQ(retries.size(), 1u) << r.out;
  EXPECT_EQ(retries[0]["class"], "transient");
  EXPECT_NE(retries[0]["reason"].get<std::string>().find("429"), std::string::npos) << retries[0];
}

TEST_F(FlowTest, ClaudePermissionDenialWithExitZeroIsALogicFailure) {
  Result r = Run(ClaudeMilestone("", "  - {id: a, prompt: 'denied', retry: {max_attempts: 1}}\n"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  std::vector<json> failed = Events("task_failed");
  ASSERT_EQ(failed.size(), 1u) << r.out;
  EXPECT_EQ(failed[0]["class"], "logic");
  EXPECT_NE(failed[0]["reason"].get<std::string>().find("Write"), std::string::npos) << failed[0];
}

}  // namespace
}  // namespace mex
