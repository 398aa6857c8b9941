#include "model/command_template.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "tests/test_util.h"

namespace mex {
namespace {

namespace fs = std::filesystem;

Command Shell(std::string script) {
  Command run;
  run.shell = std::move(script);
  return run;
}

Command Argv(std::vector<std::string> words) {
  Command run;
  run.argv = std::move(words);
  run.is_argv = true;
  return run;
}

// Plans and renders `run` with every variable standing for `value`; fails the test when either
// fails.
RenderedArgv Render(const Command& run, const std::string& value) {
  CommandPlan plan;
  CommandProblem problem;
  EXPECT_TRUE(PlanCommand(run, &plan, &problem)) << problem.message;
  RenderedArgv out;
  std::string err;
  EXPECT_TRUE(RenderCommandPlan(
      plan, [&](std::string_view) { return value; }, &out, &err))
      << err;
  return out;
}

std::string Problem(const Command& run, size_t* word = nullptr) {
  CommandPlan plan;
  CommandProblem problem;
  if (PlanCommand(run, &plan, &problem)) return "";
  if (word) *word = problem.word;
  return problem.message;
}

TEST(CommandTemplateTest, AScriptRefersToTheValueItsEnvironmentHolds) {
  RenderedArgv out =
      Render(Shell("git commit -m \"{{task.title}}\" && echo '{{task.id}}'"), "x'; rm -rf ~; '");
  EXPECT_EQ(out.argv, (std::vector<std::string>{
                          "/bin/sh", "-c",
                          "git commit -m \"${MEX_TASK_TITLE}\" && echo ''\"${MEX_TASK_ID}\"''"}));
  EXPECT_EQ(out.values,
            (std::vector<std::pair<std::string, std::string>>{{"MEX_TASK_TITLE", "x'; rm -rf ~; '"},
                                                              {"MEX_TASK_ID", "x'; rm -rf ~; '"}}));
}

TEST(CommandTemplateTest, AnArgvWordIsTheValueItself) {
  RenderedArgv out = Render(Argv({"git", "commit", "-m", "{{task.title}}: done"}), "$(x) 'y'");
  EXPECT_EQ(out.argv, (std::vector<std::string>{"git", "commit", "-m", "$(x) 'y': done"}));
  EXPECT_TRUE(out.values.empty());
}

TEST(CommandTemplateTest, AnArgvListThatRunsAShellHasItsScriptRead) {
  RenderedArgv out = Render(Argv({"/usr/bin/env", "-i", "bash", "-euo", "pipefail", "-c",
                                  "echo {{task.id}}", "{{task.id}}"}),
                            "a b");
  EXPECT_EQ(out.argv[6], "echo \"${MEX_TASK_ID}\"");
  EXPECT_EQ(out.argv[7], "a b");  // $0 of the script: data
  EXPECT_EQ(out.values.size(), 1u);

  size_t word = 0;
  EXPECT_NE(Problem(Argv({"bash", "-c", "echo $(( {{task.effort}} ))"}), &word)
                .find("arithmetic expression"),
            std::string::npos);
  EXPECT_EQ(word, 2u);
  EXPECT_NE(Problem(Argv({"python3", "-c", "print('{{task.title}}')"}), &word)
                .find("run as code by python3 -c"),
            std::string::npos);
  EXPECT_NE(Problem(Argv({"env", "-S", "sh -c {{task.title}}"})).find("env -S"), std::string::npos);
  EXPECT_NE(Problem(Argv({"ssh", "{{task.title}}", "make"})).find("ssh"), std::string::npos);
  EXPECT_EQ(Problem(Argv({"python3", "-c", "import sys; print(sys.argv[1])", "{{task.title}}"})),
            "");
  EXPECT_EQ(Problem(Argv({"echo", "sh", "-c", "{{task.title}}"})), "");
}

TEST(CommandTemplateTest, ArtifactsWhoseNamesMeetGetVariablesOfTheirOwn) {
  CommandPlan plan;
  CommandProblem problem;
  Command run = Shell("cat {{artifact.a-b}} {{artifact.a_b}} {{artifact.a-b}}");
  ASSERT_TRUE(PlanCommand(run, &plan, &problem));
  RenderedArgv out;
  std::string err;
  ASSERT_TRUE(RenderCommandPlan(
      plan, [](std::string_view name) { return std::string(name); }, &out, &err));
  EXPECT_EQ(out.argv[2],
            "cat \"${MEX_ARTIFACT_A_B}\" \"${MEX_ARTIFACT_A_B_2}\" \"${MEX_ARTIFACT_A_B}\"");
  EXPECT_EQ(out.values,
            (std::vector<std::pair<std::string, std::string>>{
                {"MEX_ARTIFACT_A_B", "artifact.a-b"}, {"MEX_ARTIFACT_A_B_2", "artifact.a_b"}}));
}

TEST(CommandTemplateTest, AValueTooLongForTheEnvironmentIsRefusedByName) {
  CommandPlan plan;
  CommandProblem problem;
  Command run = Shell("echo {{attempt.last_error}}");
  ASSERT_TRUE(PlanCommand(run, &plan, &problem));
  RenderedArgv out;
  std::string err;
  EXPECT_FALSE(RenderCommandPlan(
      plan, [](std::string_view) { return std::string(200000, 'x'); }, &out, &err));
  EXPECT_NE(err.find("'{{attempt.last_error}}' is 200000 bytes"), std::string::npos) << err;
}

// Hostile values, built from pieces of shell syntax, quotes of both kinds, expansions, newlines
// and arbitrary bytes (no NUL: no argv or environment string can hold one).
std::string HostileValue(std::mt19937* rng) {
  static const std::vector<std::string> kPieces = {"'",
                                                   "\"",
                                                   "$(touch pwned)",
                                                   "`touch pwned`",
                                                   "${IFS}",
                                                   "$HOME",
                                                   "\\",
                                                   "\\\\",
                                                   "\n",
                                                   ";touch pwned;",
                                                   "&& touch pwned",
                                                   "| touch pwned >",
                                                   "$((1+1))",
                                                   "a[$(touch pwned)]",
                                                   "EOF",
                                                   "\nEOF\n",
                                                   "*",
                                                   "?",
                                                   "[a]",
                                                   "~",
                                                   "#",
                                                   "!",
                                                   "{a,b}",
                                                   "%s",
                                                   "-n",
                                                   " ",
                                                   "\t",
                                                   "\r",
                                                   "'\"'\"'",
                                                   "\"$(touch pwned)\"",
                                                   "'$(touch pwned)'",
                                                   "$'\\x41'",
                                                   "}}",
                                                   "{{",
                                                   "$",
                                                   "${"};
  std::uniform_int_distribution<int> count(0, 12), pick(0, static_cast<int>(kPieces.size())),
      byte(1, 255);
  std::string value;
  for (int n = count(*rng); n > 0; --n) {
    int i = pick(*rng);
    if (i == static_cast<int>(kPieces.size())) {
      value += static_cast<char>(byte(*rng));
    } else {
      value += kPieces[static_cast<size_t>(i)];
    }
  }
  return value;
}

// SPEC §2 and docs/security.md: whatever a value holds, in whatever quoting context its
// placeholder stands, the program gets the value byte for byte and nothing else runs.
TEST(CommandTemplateTest, HostileValuesArriveByteForByteInEveryContext) {
  struct Context {
    Command run;
    std::string before, after;  // what the script prints around the value
  };
  const std::vector<Context> contexts = {
      {Shell("printf '%s' {{task.title}} > out"), "", ""},
      {Shell("printf '%s' \"<{{task.title}}>\" > out"), "<", ">"},
      {Shell("printf '%s' '<{{task.title}}>' > out"), "<", ">"},
      {Shell("printf '%s' x{{task.title}}'y'\"z\" > out"), "x", "yz"},
      {Shell("cat > out <<EOF\n[{{task.title}}]\nEOF\n"), "[", "]\n"},
      {Shell("cat > out <<-EOF\n\t[{{task.title}}]\n\tEOF\n"), "[", "]\n"},
      {Shell("printf '%s' \"$(printf '%s.' {{task.title}})\" > out"), "", "."},
      {Shell("# {{task.title}}\ncase {{task.title}} in *) printf '%s' \"{{task.title}}\";; "
             "esac > out"),
       "", ""},
      {Shell("x={{task.title}}; export Y=\"{{task.title}}\"; [ \"$x\" = \"$Y\" ] && "
             "printf '%s' \"$x\" > out"),
       "", ""},
      {Argv({"/bin/bash", "-c", "printf '%s' \"{{task.title}}\" > out"}), "", ""},
      {Argv({"/usr/bin/env", "X=1", "/bin/bash", "-ec", "printf '%s' '{{task.title}}' > out"}), "",
       ""},
      {Argv({"/bin/bash", "-c", "printf '%s' \"$1\" > out", "_", "{{task.title}}"}), "", ""},
  };
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("MEX_PROPERTY_SEED")) seed = std::stoul(fixed);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (set MEX_PROPERTY_SEED to repeat)");
  std::mt19937 rng(seed);
  std::vector<std::string> values = {"", "plain", "it's", std::string(100000, '\'') + "$(x)"};
  while (values.size() < 40) values.push_back(HostileValue(&rng));
  testing_util::TempDir dir;
  int runs = 0;
  for (const std::string& value : values) {
    for (const Context& c : contexts) {
      RenderedArgv out = Render(c.run, value);
      std::vector<std::string> env = {"PATH=/usr/bin:/bin"};
      for (const auto& [name, v] : out.values) env.push_back(name + "=" + v);
      testing_util::Result result = testing_util::RunProgram(out.argv, dir.path().string(), env);
      ++runs;
      ASSERT_EQ(result.exit_code, 0) << out.argv.back() << "\n" << result.err;
      EXPECT_EQ(result.err, "") << out.argv.back();
      std::string got = testing_util::ReadFile(dir.path() / "out");
      EXPECT_EQ(got, c.before + value + c.after) << out.argv.back();
      ASSERT_FALSE(fs::exists(dir.path() / "pwned")) << "a value ran as code: " << out.argv.back();
      fs::remove(dir.path() / "out");
    }
  }
  RecordProperty("runs", runs);
}

}  // namespace
}  // namespace mex
