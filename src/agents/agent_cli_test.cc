#include "agents/agent_cli.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "agents/agent_test_util.h"
#include "agents/agents.h"
#include "agents/claude.h"
#include "agents/codex.h"
#include "agents/gemini.h"

namespace mex::agent_testing {
namespace {

TEST(AgentDialectTest, ComesFromTheProgramsBasename) {
  auto cli_of = [](std::vector<std::string> command) {
    return AgentCliOf(Agent{"a", std::move(command), PromptVia::kArg, {}, {}});
  };
  EXPECT_EQ(cli_of({"claude", "-p", "--output-format", "json"}), FindAgentCli("claude"));
  EXPECT_EQ(cli_of({"/usr/local/bin/claude", "-p"}), FindAgentCli("claude"));
  EXPECT_EQ(cli_of({"node_modules/@anthropic-ai/claude-code/bin/claude.exe"}),
            FindAgentCli("claude"));
  EXPECT_EQ(cli_of({"node_modules/.bin/codex", "exec", "--json"}), FindAgentCli("codex"));
  EXPECT_EQ(cli_of({"gemini", "-o", "json", "-p"}), FindAgentCli("gemini"));
  EXPECT_EQ(cli_of({"mex-demo-agent"}), nullptr);
  EXPECT_EQ(cli_of({"./claude-wrapper"}), nullptr);
  EXPECT_EQ(cli_of({"/opt/claude/run"}), nullptr);
  EXPECT_EQ(cli_of({}), nullptr);
}

TEST(AgentDialectTest, PresetsHaveTheirDialect) {
  EXPECT_EQ(AgentCliOf(*FindPreset("claude")), FindAgentCli("claude"));
  EXPECT_EQ(AgentCliOf(*FindPreset("codex")), FindAgentCli("codex"));
  EXPECT_EQ(AgentCliOf(*FindPreset("gemini")), FindAgentCli("gemini"));
  EXPECT_EQ(AgentCliOf(*FindPreset("demo")), nullptr);
  // The table finds each CLI by its name.
  for (const AgentCli* cli :
       {FindAgentCli("claude"), FindAgentCli("codex"), FindAgentCli("gemini")}) {
    EXPECT_EQ(FindAgentCli(cli->name), cli);
  }
  EXPECT_EQ(FindAgentCli("demo"), nullptr);
}

TEST_F(AgentResultTest, MissingLogIsNotJudged) {
  for (const AgentCli* cli :
       {FindAgentCli("claude"), FindAgentCli("codex"), FindAgentCli("gemini")}) {
    AgentVerdict v = ReadAgentResult(*cli, 0, folder_, dir_ + "/no-such.log");
    EXPECT_FALSE(v.judged) << cli->name;
    EXPECT_FALSE(v.cost_usd) << cli->name;
    EXPECT_FALSE(v.input_tokens) << cli->name;
  }
}

TEST_F(AgentResultTest, UnclosedBracesCostBoundedTime) {
  // Every line opens an object that never closes: each is scanned to the end, or as deep as an
  // object may nest, until the scan budget is spent.
  for (const std::string& line :
       {std::string("{ \"a\": [ {\n"), "{ " + std::string(200, 'a') + "\n"}) {
    std::string log;
    while (log.size() < (1u << 20)) log += line;
    auto start = std::chrono::steady_clock::now();
    AgentVerdict v = Read(FindAgentCli("gemini"), 0, log);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(v.judged);
    EXPECT_LT(took, std::chrono::seconds(2));
  }
}

TEST_F(AgentResultTest, DeeplyNestedTextIsNoResult) {
  std::string log =
      std::string(100000, '[') + std::string(100000, ']') + "\n" + std::string(5000, '{') + "\n";
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  EXPECT_FALSE(v.judged);
}

TEST_F(AgentResultTest, LogInMemoryIsJudgedAsItsFileIs) {
  for (const AgentCli* cli :
       {FindAgentCli("claude"), FindAgentCli("codex"), FindAgentCli("gemini")}) {
    for (int exit_code : {0, 1, -1}) {
      AgentVerdict from_file = Read(cli, exit_code, kClaudeSuccess);
      AgentVerdict from_text = cli->judge(exit_code, kClaudeSuccess);
      EXPECT_EQ(from_text.judged, from_file.judged);
      EXPECT_EQ(from_text.failed, from_file.failed);
      EXPECT_EQ(from_text.reason, from_file.reason);
      EXPECT_EQ(from_text.cost_usd, from_file.cost_usd);
    }
  }
}

TEST_F(AgentResultTest, ReasonIsOneLineWhateverTheJsonNames) {
  // Checked by the fuzz targets (a reason is one line) and shown on hand-made logs: the names
  // and types a reason quotes come from the agent's JSON, where "\n" is a newline, and one
  // reached the reason whole (a line of its own in mex's output and in attempt.last_error).
  AgentVerdict subtype =
      Read(FindAgentCli("claude"), 1,
           ClaudeResult(R"("is_error":true,"subtype":"x\nphase passed","result":"r")"));
  EXPECT_EQ(subtype.reason, "claude: error (x phase passed): \"r\"");
  AgentVerdict tool =
      Read(FindAgentCli("claude"), 0,
           ClaudeResult(R"("is_error":false,"permission_denials":[{"tool_name":"W\r\nx"}])"));
  EXPECT_EQ(tool.reason, "claude: permission denied for W  x (the work was not done)");
  AgentVerdict type = Read(FindAgentCli("gemini"), 0,
                           R"({"response":"","error":{"type":"A\nB","message":"m"}})"
                           "\n");
  EXPECT_EQ(type.reason, "gemini: exit 0 but the answer broke off (A B)");
  for (const AgentVerdict& v : {subtype, tool, type}) {
    EXPECT_TRUE(v.failed);
    EXPECT_EQ(v.reason.find_first_of("\r\n"), std::string::npos) << v.reason;
  }
}

}  // namespace
}  // namespace mex::agent_testing
