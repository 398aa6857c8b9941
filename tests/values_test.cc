// End-to-end tests of how template values reach a task (SPEC §2, docs/security.md): values a
// model or a failed attempt wrote arrive in the program byte for byte, whatever quoting context
// their placeholder stands in, and never run as code; a placeholder where a value would be code
// is refused by `mex validate` with its place.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;
using testing_util::ReadFile;
using testing_util::Result;
using testing_util::RunMex;
using testing_util::TempDir;
using testing_util::WriteFile;

// A value written as an attacker would: quotes of both kinds, command substitution, backquotes,
// a command separator; each would create `pwned` if a shell read it as code.
constexpr char kHostile[] = R"v(it's "$(touch pwned)" `touch pwned`; touch pwned ' $HOME)v";

class ValuesTest : public ::testing::Test {
 protected:
  Result Run(const std::string& milestone) {
    WriteFile(dir_.path() / "m.yaml", milestone);
    return RunMex({"run", "m.yaml", "--quiet"}, dir_.path().string());
  }
  // Runs a milestone whose task phase copies tasks.json as its breakdown, and whose execute phase
  // makes a task of each entry with `task_template`.
  Result RunBreakdown(const std::string& task_template) {
    return Run(
        "phases:\n"
        "  - name: task\n"
        "    weight: 50\n"
        "    tasks:\n"
        "      - {id: breakdown, run: 'cp tasks.json {{output}}', output: {path: tasks.json, "
        "schema: tasks}}\n"
        "  - name: execute\n"
        "    weight: 50\n"
        "    tasks_from: breakdown\n"
        "    task_template: " +
        task_template + "\n");
  }
  std::string File(const std::string& name) const { return ReadFile(dir_.path() / name); }
  bool Pwned() const { return fs::exists(dir_.path() / "pwned"); }
  // The YAML of kHostile: a double-quoted scalar.
  static std::string Yaml() { return nlohmann::json(kHostile).dump(); }
  // A breakdown of one task `x` titled kHostile, with the fields of `more` besides.
  static nlohmann::json Breakdown(const nlohmann::json& more) {
    nlohmann::json task = {{"id", "x"},
                           {"title", kHostile},
                           {"description", "d"},
                           {"effort", 1},
                           {"deps", nlohmann::json::array()},
                           {"covers", nlohmann::json::array()},
                           {"kind", "implementation"}};
    task.update(more);
    return {{"tasks", nlohmann::json::array({task})}};
  }

  TempDir dir_;
};

// The three cases of the security issue, each of which ran the value on the old code.
TEST_F(ValuesTest, APlaceholderInsideQuotesGetsTheValueAsItIs) {
  Result r = Run("milestone: {id: M, title: " + Yaml() + ", goal: " + Yaml() +
                 "}\n"
                 "tasks:\n"
                 "  - {id: single, run: \"echo '{{milestone.goal}}' > single.txt\"}\n"
                 "  - {id: double, run: \"echo \\\"{{milestone.title}}\\\" > double.txt\"}\n"
                 "  - {id: argv, run: [bash, -c, \"echo {{milestone.title}} > argv.txt\"]}\n"
                 "  - {id: commit, run: \"printf '%s' \\\"fix: {{milestone.title}}\\\" > "
                 "commit.txt\"}\n");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(Pwned());
  std::string line = std::string(kHostile) + "\n";
  EXPECT_EQ(File("single.txt"), line);
  EXPECT_EQ(File("double.txt"), line);
  EXPECT_EQ(File("argv.txt"), line);
  EXPECT_EQ(File("commit.txt"), "fix: " + std::string(kHostile));
}

TEST_F(ValuesTest, ABreakdownTitleReachesItsTaskTemplateAsData) {
  WriteFile(dir_.path() / "tasks.json", Breakdown(nlohmann::json::object()).dump());
  Result r = RunBreakdown("{run: \"echo \\\"working on {{task.title}}\\\" > '{{task.id}}.txt'\"}");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(Pwned());
  EXPECT_EQ(File("x.txt"), "working on " + std::string(kHostile) + "\n");
}

TEST_F(ValuesTest, TheLastErrorATaskPrintedIsDataInItsRetry) {
  // The first attempt prints the hostile text and fails; the retry is given it.
  WriteFile(dir_.path() / "error.txt", kHostile);
  Result r =
      Run("defaults: {retry: {max_attempts: 2, backoff: {initial: 0}}}\n"
          "tasks:\n"
          "  - id: flaky\n"
          "    run: |\n"
          "      if [ {{attempt.number}} = 1 ]; then cat error.txt; exit 1; fi\n"
          "      printf '%s' \"{{attempt.last_error}}\" > seen.txt\n");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(Pwned());
  EXPECT_NE(File("seen.txt").find(kHostile), std::string::npos) << File("seen.txt");
}

TEST_F(ValuesTest, ValidateRefusesAPlaceholderWhereItsValueWouldBeCode) {
  WriteFile(dir_.path() / "m.yaml",
            "tasks:\n"
            "  - {id: nested, run: \"bash -c 'echo {{task.title}}'\"}\n"
            "  - {id: argv, run: [sh, -ec, 'echo $(( {{task.effort}} ))']}\n"
            "  - {id: python, run: [python3, -c, \"print('{{task.title}}')\"]}\n"
            "  - {id: quoted, run: \"cat <<'EOF'\\n{{task.id}}\\nEOF\"}\n");
  for (const char* command : {"validate", "run"}) {
    Result r = RunMex({command, "m.yaml"}, dir_.path().string());
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("m.yaml:2:38: error: '{{task.title}}' would be run as code by bash -c"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("m.yaml:3:41: error: '{{task.effort}}' stands in an arithmetic"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("m.yaml:4:45: error: '{{task.title}}' would be run as code by python3 -c"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("m.yaml:5:37: error: '{{task.id}}' stands in a here-document whose "
                         "delimiter is quoted"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("4 errors"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_.path() / ".mex"));  // nothing written
}

TEST_F(ValuesTest, ABreakdownTaskWhoseOwnRunWouldRunAValueStopsItsPhase) {
  WriteFile(dir_.path() / "tasks.json",
            Breakdown({{"run", "sh -c \"echo {{task.title}}\""}}).dump());
  Result r = RunBreakdown("{run: 'true'}");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_FALSE(Pwned());
  EXPECT_NE(r.out.find("breakdown task 'x': '{{task.title}}' would be run as code by sh -c"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace mex
