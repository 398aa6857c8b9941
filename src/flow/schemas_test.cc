#include "flow/schemas.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace mex {
namespace {

::testing::AssertionResult StartsWith(const std::string& text, const std::string& prefix) {
  if (text.starts_with(prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not start with \"" << prefix << "\"";
}

::testing::AssertionResult HasSubstr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "mex-schema-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    std::string err;
    ASSERT_TRUE(Folder::Open(dir_, false, &folder_, &err)) << err;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` to a file of the test folder and validates it against `schema`.
  std::string Check(Schema schema, const std::string& text) {
    std::string path = dir_ + "/artifact.json";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return ValidateArtifact(folder_, path, schema);
  }

  std::string dir_;
  Folder folder_;
};

TEST(SchemaNameTest, NamesEverySchema) {
  EXPECT_EQ(SchemaName(Schema::kNone), "none");
  EXPECT_EQ(SchemaName(Schema::kKiro), "kiro");
  EXPECT_EQ(SchemaName(Schema::kSpec), "spec");
  EXPECT_EQ(SchemaName(Schema::kTasks), "tasks");
}

TEST(SchemaLeavesTest, SpecHas23LeavesInSpecOrder) {
  const std::vector<std::string>& leaves = SpecLeaves();
  ASSERT_EQ(leaves.size(), 23u);
  EXPECT_EQ(leaves.front(), "/technical_specifications/api_contracts/endpoints");
  EXPECT_EQ(leaves[12], "/acceptance_criteria/functional_requirements/user_stories");
  EXPECT_EQ(leaves.back(), "/validation_specs/success_metrics");
  EXPECT_EQ(std::set<std::string>(leaves.begin(), leaves.end()).size(), 23u);
}

TEST_F(SchemaTest, MissingFileSaysTheAgentDidNotWriteIt) {
  std::string path = dir_ + "/design/keep.json";
  for (Schema schema : {Schema::kNone, Schema::kKiro, Schema::kSpec, Schema::kTasks}) {
    EXPECT_EQ(ValidateArtifact(folder_, path, schema), "missing: the task did not write " + path);
  }
}

TEST_F(SchemaTest, NoneNeedsOnlyAFile) {
  EXPECT_EQ(Check(Schema::kNone, "not json at all"), "");
  EXPECT_EQ(Check(Schema::kNone, ""), "");
}

TEST_F(SchemaTest, NoneRejectsAFolder) {
  EXPECT_TRUE(HasSubstr(ValidateArtifact(folder_, dir_, Schema::kNone), "not a regular file"));
}

TEST_F(SchemaTest, TextThatIsNotJsonIsRejected) {
  for (Schema schema : {Schema::kKiro, Schema::kSpec, Schema::kTasks}) {
    std::string error = Check(schema, "{\"decisions\": [");
    EXPECT_TRUE(StartsWith(error, "not valid JSON: ")) << error;
    EXPECT_FALSE(HasSubstr(error, "[json.exception"));
  }
  EXPECT_TRUE(StartsWith(Check(Schema::kKiro, ""), "not valid JSON: "));
}

TEST_F(SchemaTest, KiroAcceptsDecisions) {
  EXPECT_EQ(Check(Schema::kKiro, R"({"decisions": [
    {"id": "K-1", "title": "Keep the token bucket", "rationale": "It works", "risk": "low"},
    {"id": "K-2", "title": "Keep Redis", "rationale": "Already deployed"}]})"),
            "");
}

TEST_F(SchemaTest, KiroRejectsAnArrayAtTheTop) {
  EXPECT_TRUE(StartsWith(Check(Schema::kKiro, R"([{"id": "K-1"}])"), "(root): "));
}

TEST_F(SchemaTest, KiroRejectsMissingDecisions) {
  EXPECT_TRUE(StartsWith(Check(Schema::kKiro, R"({"keep": []})"), "/decisions: missing"));
}

TEST_F(SchemaTest, KiroRejectsEmptyDecisions) {
  EXPECT_TRUE(StartsWith(Check(Schema::kKiro, R"({"decisions": []})"), "/decisions: "));
}

TEST_F(SchemaTest, KiroRejectsADecisionThatIsNotAnObject) {
  EXPECT_TRUE(StartsWith(Check(Schema::kKiro, R"({"decisions": ["keep it"]})"), "/decisions/0: "));
}

TEST_F(SchemaTest, KiroRejectsAnEmptyRationale) {
  EXPECT_EQ(Check(Schema::kKiro, R"({"decisions": [
    {"id": "K-1", "title": "a", "rationale": "b"},
    {"id": "K-2", "title": "a", "rationale": "b"},
    {"id": "K-3", "title": "a", "rationale": "  "}]})"),
            "/decisions/2/rationale: expected a non-empty string");
}

TEST_F(SchemaTest, KiroRejectsAMissingTitle) {
  EXPECT_EQ(Check(Schema::kKiro, R"({"decisions": [{"id": "K-1", "rationale": "b"}]})"),
            "/decisions/0/title: missing, expected a non-empty string");
}

TEST_F(SchemaTest, KiroRejectsANumericId) {
  EXPECT_TRUE(StartsWith(
      Check(Schema::kKiro, R"({"decisions": [{"id": 1, "title": "a", "rationale": "b"}]})"),
      "/decisions/0/id: "));
}

TEST_F(SchemaTest, SpecAcceptsAFullSpec) {
  EXPECT_EQ(Check(Schema::kSpec, R"({
    "technical_specifications": {
      "api_contracts": {"endpoints": [{"path": "/v1/items"}], "schemas": {"Item": {}},
                        "authentication": "bearer token", "rate_limiting": "100/min"},
      "data_models": {"entities": ["Bucket"], "relationships": "none",
                      "constraints": ["tokens >= 0"], "migrations": {"not_applicable": "new"}},
      "integration_specs": {"external_services": ["redis"], "message_formats": "json",
                            "error_handling": ["429 with Retry-After"], "retry_policies": "none"}},
    "acceptance_criteria": {
      "functional_requirements": {
        "user_stories": [{"id": "AC-1", "text": "As a client I get 429"}],
        "use_cases": ["burst of requests"],
        "business_rules": [{"id": "AC-2", "rule": "free tier 60/min"}]},
      "non_functional_requirements": {"performance": "p99 < 1ms", "security": ["no bypass"],
        "accessibility": {"not_applicable": "no UI"}, "compatibility": "HTTP/1.1"}},
    "validation_specs": {"test_scenarios": ["burst"], "edge_cases": ["clock skew"],
      "error_conditions": ["redis down"], "success_metrics": "no 5xx"}})"),
            "");
}

TEST_F(SchemaTest, SpecAcceptsMissingLeaves) {
  EXPECT_EQ(Check(Schema::kSpec, R"({"technical_specifications": {"api_contracts": {}}})"), "");
  EXPECT_EQ(Check(Schema::kSpec, "{}"), "");
}

TEST_F(SchemaTest, SpecRejectsAnArrayAtTheTop) {
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, "[]"), "(root): "));
}

TEST_F(SchemaTest, SpecRejectsAnEmptyLeaf) {
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, R"({"validation_specs": {"edge_cases": []}})"),
                         "/validation_specs/edge_cases: expected a non-empty array"));
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, R"({"validation_specs": {"edge_cases": ""}})"),
                         "/validation_specs/edge_cases: "));
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, R"({"validation_specs": {"edge_cases": {}}})"),
                         "/validation_specs/edge_cases: "));
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, R"({"validation_specs": {"edge_cases": null}})"),
                         "/validation_specs/edge_cases: "));
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, R"({"validation_specs": {"edge_cases": 3}})"),
                         "/validation_specs/edge_cases: "));
}

TEST_F(SchemaTest, SpecRejectsNotApplicableWithoutAReason) {
  EXPECT_EQ(Check(Schema::kSpec,
                  R"({"technical_specifications": {"data_models": {"migrations":
                       {"not_applicable": ""}}}})"),
            "/technical_specifications/data_models/migrations/not_applicable: expected a "
            "non-empty string saying why");
}

TEST_F(SchemaTest, SpecRejectsAGroupThatIsNotAnObject) {
  EXPECT_EQ(Check(Schema::kSpec, R"({"technical_specifications": {"api_contracts": ["x"]}})"),
            "/technical_specifications/api_contracts: expected an object");
}

TEST_F(SchemaTest, SpecRejectsACriterionWithoutAnId) {
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, R"({"acceptance_criteria": {"functional_requirements":
                {"use_cases": [{"id": "AC-1", "text": "a"}, {"text": "b"}]}}})"),
                         "/acceptance_criteria/functional_requirements/use_cases/1/id: missing"));
}

TEST_F(SchemaTest, SpecRejectsACriterionIdNotLikeAC1) {
  EXPECT_TRUE(StartsWith(Check(Schema::kSpec, R"({"acceptance_criteria": {"functional_requirements":
                {"user_stories": [{"id": "story one", "text": "a"}]}}})"),
                         "/acceptance_criteria/functional_requirements/user_stories/0/id: "));
}

TEST_F(SchemaTest, SpecRejectsADuplicateCriterionId) {
  std::string error = Check(Schema::kSpec, R"({"acceptance_criteria": {"functional_requirements":
      {"user_stories": [{"id": "AC-1"}], "business_rules": [{"id": "AC-1"}]}}})");
  EXPECT_TRUE(StartsWith(error,
                         "/acceptance_criteria/functional_requirements/business_rules/0/id: "
                         "duplicate"));
  EXPECT_TRUE(HasSubstr(error, "user_stories/0/id"));
}

TEST_F(SchemaTest, SpecAcceptsCriteriaAsStrings) {
  EXPECT_EQ(Check(Schema::kSpec, R"({"acceptance_criteria": {"functional_requirements":
                {"user_stories": ["AC-1: a client over the limit gets 429"]}}})"),
            "");
}

TEST_F(SchemaTest, TasksAcceptsABreakdown) {
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [
    {"id": "bucket", "title": "Token bucket", "description": "core", "effort": 3,
     "covers": ["AC-1"], "kind": "implementation"},
    {"id": "middleware", "title": "Middleware", "effort": 1.5, "deps": ["bucket"],
     "kind": "implementation", "run": ["make", "mw"]},
    {"id": "tests.unit", "title": "Unit tests", "effort": 1, "deps": ["bucket", "middleware"],
     "kind": "test", "run": "ctest", "extra": {"anything": true}}]})"),
            "");
}

TEST_F(SchemaTest, TasksRejectsMissingTasks) {
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"items": []})"), "/tasks: missing"));
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": {}})"), "/tasks: "));
}

TEST_F(SchemaTest, TasksRejectsZeroEffort) {
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [
    {"id": "a", "title": "A", "effort": 1}, {"id": "b", "title": "B", "effort": 1},
    {"id": "c", "title": "C", "effort": 1}, {"id": "d", "title": "D", "effort": 0}]})"),
            "/tasks/3/effort: expected a number > 0");
}

TEST_F(SchemaTest, TasksRejectsEffortAsText) {
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": "2h"}]})"),
            "/tasks/0/effort: expected a number > 0");
}

TEST_F(SchemaTest, TasksRejectsMissingEffort) {
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A"}]})"),
                         "/tasks/0/effort: missing"));
}

TEST_F(SchemaTest, TasksRejectsAnInvalidId) {
  EXPECT_TRUE(StartsWith(
      Check(Schema::kTasks, R"({"tasks": [{"id": "build api", "title": "A", "effort": 1}]})"),
      "/tasks/0/id: "));
  EXPECT_TRUE(
      StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "all", "title": "A", "effort": 1}]})"),
                 "/tasks/0/id: "));
}

TEST_F(SchemaTest, TasksRejectsADuplicateId) {
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [
    {"id": "a", "title": "A", "effort": 1}, {"id": "a", "title": "A again", "effort": 1}]})"),
            "/tasks/1/id: duplicate task id \"a\" (first at /tasks/0)");
}

TEST_F(SchemaTest, TasksRejectsAMissingTitle) {
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "effort": 1}]})"),
                         "/tasks/0/title: missing"));
}

TEST_F(SchemaTest, TasksRejectsDepsThatAreNotStrings) {
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                   "deps": ["b", 2]}]})"),
                         "/tasks/0/deps/1: "));
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                   "deps": "b"}]})"),
                         "/tasks/0/deps: "));
}

TEST_F(SchemaTest, TasksRejectsCoversThatIsNotAnArray) {
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                   "covers": "AC-1"}]})"),
                         "/tasks/0/covers: "));
}

TEST_F(SchemaTest, TasksAcceptsFilesAndRejectsThoseOutsideTheWorkspace) {
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                 "files": ["src/api/*.py", "docs/"]}]})"),
            "");
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                 "files": ["src/a.py", "/etc/hosts"]}]})"),
            "/tasks/0/files/1: \"/etc/hosts\" is absolute: write it relative to the workspace");
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                 "files": ["src/../../x"]}]})"),
            "/tasks/0/files/0: \"src/../../x\" leaves the workspace: write it without '..'");
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                   "files": "src/a.py"}]})"),
                         "/tasks/0/files: "));
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                   "files": ["src/a.py", ""]}]})"),
                         "/tasks/0/files/1: "));
}

TEST_F(SchemaTest, TasksRejectsAnUnknownKind) {
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                 "kind": "refactor"}]})"),
            "/tasks/0/kind: expected one of implementation, test, quality, docs");
}

TEST_F(SchemaTest, TasksRejectsABadRun) {
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                   "run": []}]})"),
                         "/tasks/0/run: "));
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                   "run": ["make", 1]}]})"),
                         "/tasks/0/run/1: "));
}

TEST_F(SchemaTest, TasksRejectsADescriptionThatIsNotText) {
  EXPECT_EQ(Check(Schema::kTasks, R"({"tasks": [{"id": "a", "title": "A", "effort": 1,
                                                 "description": ["x"]}]})"),
            "/tasks/0/description: expected a string");
}

TEST_F(SchemaTest, TasksRejectsANumberAtTheTop) {
  EXPECT_TRUE(StartsWith(Check(Schema::kTasks, "42"), "(root): "));
}

TEST_F(SchemaTest, TextInMemoryIsCheckedAsItsFileIs) {
  for (const char* text :
       {R"({"decisions": [{"id": "K-1", "title": "a", "rationale": "b"}]})", R"({"decisions": []})",
        R"({"tasks": [{"id": "a", "title": "A"}]})", "{\"decisions\": [", ""}) {
    for (Schema schema : {Schema::kKiro, Schema::kSpec, Schema::kTasks}) {
      nlohmann::json doc;
      EXPECT_EQ(ParseArtifact(text, schema, &doc), Check(schema, text)) << text;
    }
    std::string path = dir_ + "/artifact.json";
    SpecContent from_file = ReadSpec(folder_, path);
    SpecContent from_text = ParseSpec(text);
    EXPECT_EQ(from_text.error, from_file.error) << text;
    EXPECT_EQ(from_text.leaf_problems, from_file.leaf_problems) << text;
  }
}

}  // namespace
}  // namespace mex
