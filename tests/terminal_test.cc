// End-to-end tests that what mex prints for a terminal holds no control character of a task's
// log, an agent's result or the milestone file (they show as '?'), while --json keeps the raw
// text; and that `mex graph` escapes what DOT and mermaid would misread.
#include <gtest/gtest.h>

#include <cstdlib>
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
using testing_util::RunProgram;
using testing_util::Source;
using testing_util::TempDir;
using testing_util::WriteFile;

// `text` with its control bytes as \xNN, for a failure message that a terminal shows as it is.
std::string Visible(const std::string& text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 && c != '\n') {
      out += "\\x" + std::string(1, "0123456789abcdef"[byte >> 4]) + "0123456789abcdef"[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

// ESC and BEL start and end escape sequences; 0x9b is CSI to an 8-bit terminal, alone or as the
// second byte of U+009B. (No text of these tests has a character whose UTF-8 holds 0x9b.)
void ExpectNoControlBytes(const Result& r) {
  for (const std::string* text : {&r.out, &r.err}) {
    for (char c : {'\x1b', '\x07', '\x9b'}) {
      EXPECT_EQ(text->find(c), std::string::npos)
          << "byte " << static_cast<int>(static_cast<unsigned char>(c)) << " in:\n"
          << Visible(*text);
    }
  }
}

// The milestone's id and title hold ESC, BEL, an OSC 52 clipboard write, U+009B (CSI), U+202E
// (right-to-left override) and a lone 0x9b byte, written raw after "raw".
const char* const kEvilHeader =
    "milestone:\n"
    "  id: \"M\\e[2J-1\\a\"\n"
    "  title: \"T\\x9b\\e]52;c;ZXZpbA==\\a\\u202Eevil raw \x9b end\"\n";
const char* const kCleanId = "M?[2J-1?";
const char* const kCleanTitle = "T??]52;c;ZXZpbA==??evil raw ? end";

TEST(TerminalTest, ValidateAndPlanShowTheMilestonesControlCharactersAsQuestionMarks) {
  TempDir dir;
  WriteFile(dir.path() / "m.yaml", std::string(kEvilHeader) + "tasks:\n  - {id: a, run: 'true'}\n");
  Result validate = RunMex({"validate", "m.yaml"}, dir.path().string());
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  EXPECT_EQ(validate.out, "m.yaml: ok: 1 task in 1 phase\n");
  ExpectNoControlBytes(validate);

  Result plan = RunMex({"plan", "m.yaml"}, dir.path().string());
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_EQ(plan.out.substr(0, plan.out.find('\n')),
            std::string("milestone ") + kCleanId + ": " + kCleanTitle)
      << Visible(plan.out);
  EXPECT_NE(plan.out.find("critical path: a\n"), std::string::npos) << Visible(plan.out);
  ExpectNoControlBytes(plan);

  // --json escapes as JSON does, and keeps the text.
  Result json = RunMex({"plan", "m.yaml", "--json"}, dir.path().string());
  EXPECT_EQ(nlohmann::json::parse(json.out)["milestone"], "M\x1b[2J-1\a");
}

TEST(TerminalTest, DiagnosticsShowTheFilesControlCharactersAsQuestionMarks) {
  TempDir dir;
  WriteFile(dir.path() / "bad.yaml",
            "milestone: {id: \"M\\e[2J\", \"k\\e]52;c;ZXZpbA==\\a\": 1}\n"
            "tasks:\n"
            "  - {id: \"a\\e[2Jb\\x9b\", run: 'true', \"\\u202Ex\": 2, title: \"raw \x9b\x1b\"}\n"
            "  - {id: c, run: 'true', deps: [\"\\ay\"]}\n");
  for (const char* command : {"validate", "plan", "graph", "run"}) {
    Result r = RunMex({command, "bad.yaml"}, dir.path().string());
    EXPECT_EQ(r.exit_code, 2) << command;
    EXPECT_EQ(r.out, "") << command;
    EXPECT_EQ(r.err,
              "bad.yaml:1:27: error: unknown key 'k?]52;c;ZXZpbA==?' in 'milestone'\n"
              "bad.yaml:3:10: error: invalid task id 'a?[2Jb?' (use letters, digits, '_', '.', "
              "'-')\n"
              "bad.yaml:3:38: error: unknown key '?x' in task\n"
              "bad.yaml:4:33: error: task 'c' depends on unknown task '?y'\n"
              "4 errors\n")
        << command << ":\n"
        << Visible(r.err);
    ExpectNoControlBytes(r);
  }
  EXPECT_FALSE(fs::exists(dir.path() / ".mex"));
}

TEST(TerminalTest, RunAndStatusShowALogMatchWithoutItsEscapes) {
  TempDir dir;
  // The log's line clears the screen, writes the clipboard (OSC 52 ended by BEL) and holds a
  // U+009B; the classify rule quotes it in the failure's reason.
  WriteFile(dir.path() / "m.yaml",
            std::string(kEvilHeader) +
                "classify:\n"
                "  - {pattern: 'fatal: .*wiped', class: permanent}\n"
                "tasks:\n"
                "  - {id: t, run: 'printf \"fatal: \\033[2J\\033]52;c;ZXZpbA==\\007 \\302\\233 "
                "wiped\\n\"; exit 1'}\n");
  const std::string reason =
      "permanent: classify rule at line 5: exit 1, log matched \"fatal: ?[2J?]52;c;ZXZpbA==? ? "
      "wiped\"";
  Result run = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.out.find("FAILED t (attempt 1/3), " + reason + "\n"), std::string::npos)
      << Visible(run.out);
  EXPECT_NE(run.out.find("\n  missing: task t failed: " + reason + "\n"), std::string::npos)
      << Visible(run.out);
  ExpectNoControlBytes(run);

  Result status = RunMex({"status", "m.yaml"}, dir.path().string());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.substr(0, status.out.find(',')), std::string("milestone ") + kCleanId)
      << Visible(status.out);
  EXPECT_NE(status.out.find("  t  1 attempt  " + reason + "\n"), std::string::npos)
      << Visible(status.out);
  ExpectNoControlBytes(status);

  // The database and --json keep the log's bytes.
  Result json = RunMex({"status", "m.yaml", "--json"}, dir.path().string());
  nlohmann::json object = nlohmann::json::parse(json.out);
  EXPECT_EQ(object["milestone"], "M\x1b[2J-1\a");
  EXPECT_NE(object["failed"][0]["reason"].get<std::string>().find(
                "fatal: \x1b[2J\x1b]52;c;ZXZpbA==\a \xc2\x9b wiped"),
            std::string::npos);
}

TEST(TerminalTest, RunAndStatusShowAClaudeErrorResultWithoutItsEscapes) {
  TempDir dir;
  // tests/agents/fake-claude/claude answers "escapes" with is_error and a result text holding
  // an OSC 52 clipboard write, a screen clear and U+009B.
  WriteFile(dir.path() / "m.yaml",
            "defaults: {agent: claude, retry: {max_attempts: 1}}\n"
            "agents:\n  claude: {command: [" +
                Source("tests/agents/fake-claude/claude").string() +
                ", -p, --output-format, json], prompt_via: stdin}\n"
                "tasks:\n  - {id: a, prompt: 'escapes'}\n");
  const std::string reason = "logic: claude: error: \"boom ?]52;c;ZXZpbA==? ?[2J ?6n done\"";
  Result run = RunMex({"run", "m.yaml"}, dir.path().string());
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.out.find("FAILED a (attempt 1/1), " + reason + "\n"), std::string::npos)
      << Visible(run.out);
  ExpectNoControlBytes(run);

  Result status = RunMex({"status", "m.yaml"}, dir.path().string());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("  a  1 attempt  " + reason + "\n"), std::string::npos)
      << Visible(status.out);
  ExpectNoControlBytes(status);
}

TEST(TerminalTest, InitShowsTheFoldersControlCharactersAsQuestionMarks) {
  TempDir dir;
  std::string folder = "d\x1b]52;c;ZXZpbA==\x07 x\x9b";
  Result init = RunMex({"init", folder, "--agent", "demo"}, dir.path().string());
  EXPECT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("wrote d?]52;c;ZXZpbA==? x?/milestone.yaml: "), std::string::npos)
      << Visible(init.out);
  EXPECT_NE(init.out.find("  mex validate 'd?]52;c;ZXZpbA==? x?/milestone.yaml'\n"),
            std::string::npos)
      << Visible(init.out);
  ExpectNoControlBytes(init);
  EXPECT_TRUE(fs::exists(dir.path() / folder / "milestone.yaml"));  // the name as given

  Result again = RunMex({"init", folder, "--agent", "\x1b[2Jdemo"}, dir.path().string());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err.substr(0, again.err.find('(')), "mex init: unknown agent '?[2Jdemo' ");
  ExpectNoControlBytes(again);
}

// A milestone id with every character DOT or mermaid could misread.
const char* const kGraphMilestone =
    "milestone:\n"
    "  id: \"a\\\"b\\\\c\\nd<e>{f}|g\\\\\"\n"
    "  title: \"t\\\"i\\\\t\\nl<e>{}|#quot;\"\n"
    "tasks:\n"
    "  - {id: x, run: 'true'}\n"
    "  - {id: y, run: 'true', deps: [x]}\n";

TEST(TerminalTest, GraphDotEscapesQuotesAndBackslashesOfTheMilestoneId) {
  TempDir dir;
  WriteFile(dir.path() / "g.yaml", kGraphMilestone);
  Result r = RunMex({"graph", "g.yaml", "--format", "dot"}, dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected =
      "digraph \"a\\\"b\\\\c?d<e>{f}|g\\\\\" {\n"
      "  rankdir=LR;\n"
      "  node [shape=box, style=rounded];\n"
      "  subgraph \"cluster_execute\" {\n"
      "    label=\"execute (100%)\";\n"
      "    \"x\" [color=red, penwidth=2, fontcolor=red];\n"
      "    \"y\" [color=red, penwidth=2, fontcolor=red];\n"
      "  }\n"
      "  \"x\" -> \"y\" [color=red, penwidth=2];\n"
      "}\n";
  EXPECT_EQ(r.out, expected);
  // Graphviz's own parser reads it back with the same name (scripts/setup.sh installs dot).
  if (std::system("command -v dot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no dot on PATH";
  WriteFile(dir.path() / "g.dot", r.out);
  Result dot = RunProgram({"/bin/sh", "-c", "dot -Tcanon g.dot"}, dir.path().string(),
                          {"PATH=" + std::string(std::getenv("PATH"))});
  EXPECT_EQ(dot.exit_code, 0) << dot.err;
  EXPECT_EQ(dot.out.substr(0, dot.out.find('\n')), "digraph \"a\\\"b\\\\c?d<e>{f}|g\\\\\" {");
  EXPECT_NE(dot.out.find("x -> y"), std::string::npos) << dot.out;
}

TEST(TerminalTest, GraphMermaidIsUnchangedByTheMilestoneIdAndTitle) {
  // Mermaid's output names no milestone; its labels are phase names and task ids.
  TempDir dir;
  WriteFile(dir.path() / "g.yaml", kGraphMilestone);
  Result r = RunMex({"graph", "g.yaml", "--format", "mermaid"}, dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "flowchart LR\n"
            "  subgraph phase0[\"execute (100%)\"]\n"
            "    n0[\"x\"]\n"
            "    n1[\"y\"]\n"
            "  end\n"
            "  n0 --> n1\n"
            "  classDef critical stroke:#d00,stroke-width:3px\n"
            "  class n0,n1 critical\n"
            "  linkStyle 0 stroke:#d00,stroke-width:3px\n");
}

}  // namespace
}  // namespace mex
