#include "agents/claude.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "agents/agent_test_util.h"
#include "util/environment.h"

namespace mex::agent_testing {
namespace {

TEST_F(AgentResultTest, ClaudeSuccessReadsCostAndTokens) {
  AgentVerdict v = Read(FindAgentCli("claude"), 0, kClaudeSuccess);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.reason, "claude: done");
  ASSERT_TRUE(v.cost_usd);
  EXPECT_DOUBLE_EQ(*v.cost_usd, 0.000235);
  EXPECT_EQ(v.input_tokens, 12);
  EXPECT_EQ(v.output_tokens, 7);
}

TEST_F(AgentResultTest, ClaudeRateLimitIsTransient) {
  AgentVerdict v = Read(FindAgentCli("claude"), 1,
                        ClaudeApiError("429", "API Error: Request rejected (429) · slow down"));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 429 (rate limited)");
  EXPECT_EQ(v.cost_usd, 0.0);
  EXPECT_EQ(v.input_tokens, 0);
}

TEST_F(AgentResultTest, ClaudeUnauthorizedIsPermanent) {
  AgentVerdict v = Read(FindAgentCli("claude"), 1,
                        ClaudeApiError("401", "Invalid API key · Fix external API key"));
  ExpectFailed(v, FailureClass::kPermanent,
               "claude: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, ClaudeForbiddenIsPermanent) {
  AgentVerdict v = Read(FindAgentCli("claude"), 1, ClaudeApiError("403", "API Error: 403"));
  ExpectFailed(v, FailureClass::kPermanent, "claude: API error 403 (forbidden)");
}

TEST_F(AgentResultTest, ClaudeServerErrorIsTransient) {
  AgentVerdict v =
      Read(FindAgentCli("claude"), 1,
           ClaudeApiError("500", "API Error: 500 internal server error. Try again in a moment."));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 500 (server error)");
}

TEST_F(AgentResultTest, ClaudeOverloadedWithoutStatusIsTransient) {
  // Repeated 529s end with api_error_status null; only the text says 529.
  AgentVerdict v =
      Read(FindAgentCli("claude"), 1,
           ClaudeApiError("null", "API Error: Repeated 529 Overloaded errors. The API is busy."));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 529 (overloaded)");
}

TEST_F(AgentResultTest, ClaudeOverloadedStatusIsTransient) {
  AgentVerdict v = Read(FindAgentCli("claude"), 1, ClaudeApiError("529", "Overloaded"));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 529 (overloaded)");
}

TEST_F(AgentResultTest, ClaudeOtherApiErrorIsLogicAndQuotesTheText) {
  AgentVerdict v =
      Read(FindAgentCli("claude"), 1, ClaudeApiError("400", "API Error: prompt is too long"));
  ExpectFailed(v, FailureClass::kLogic, "claude: API error 400: \"API Error: prompt is too long\"");
}

TEST_F(AgentResultTest, ClaudeIsErrorFailsEvenOnExitZero) {
  AgentVerdict v = Read(FindAgentCli("claude"), 0, ClaudeApiError("503", "API Error: 503"));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 503 (server error)");
}

TEST_F(AgentResultTest, ClaudePermissionDenialOnExitZeroIsLogicNamingTheTool) {
  std::string log = ClaudeResult(
      R"("is_error":false,"api_error_status":null,"num_turns":2,"result":"Done: wrote it",)"
      R"("total_cost_usd":0.0016,"usage":{"input_tokens":130,"output_tokens":38},)"
      R"("permission_denials":[{"tool_name":"Write","tool_use_id":"toolu_1",)"
      R"("tool_input":{"file_path":"/w/out/keep.json","content":"{}"}}])");
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  ExpectFailed(v, FailureClass::kLogic,
               "claude: permission denied for Write (the work was not done)");
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 0.0016);
  EXPECT_EQ(v.input_tokens, 130);
  EXPECT_EQ(v.output_tokens, 38);
}

TEST_F(AgentResultTest, ClaudePermissionDenialNamesEachToolOnce) {
  std::string log = ClaudeResult(
      R"("is_error":false,"result":"ok","permission_denials":[{"tool_name":"Write"},)"
      R"({"tool_name":"Bash","tool_input":{"command":"python3 -c 1"}},{"tool_name":"Write"}])");
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  ExpectFailed(v, FailureClass::kLogic,
               "claude: permission denied for Write, Bash (the work was not done)");
}

TEST_F(AgentResultTest, ClaudeUsageFromModelUsageWhenUsageReadsZero) {
  // After its non-streaming fallback (a broken stream) claude reports usage 0/0.
  std::string log = ClaudeResult(
      R"("is_error":false,"result":"Recovered answer","total_cost_usd":0.001,)"
      R"("usage":{"input_tokens":0,"output_tokens":0},)"
      R"("modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":100,"outputTokens":20,"costUSD":0.001}},)"
      R"("permission_denials":[])");
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 0.001);
  EXPECT_EQ(v.input_tokens, 100);
  EXPECT_EQ(v.output_tokens, 20);
}

// After a stream cut mid-answer claude re-fetches the turn without streaming; the result's `usage`
// then holds a part of the figures its cost is priced from, `modelUsage` all of them.
TEST_F(AgentResultTest, ClaudeTokensFromModelUsageOverUsage) {
  std::string log = ClaudeResult(
      R"("is_error":false,"result":"Recovered answer","total_cost_usd":0.02,)"
      R"("usage":{"input_tokens":300,"output_tokens":12},)"
      R"("modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":1000,"outputTokens":50,"costUSD":0.019},)"
      R"("claude-haiku-4-5":{"inputTokens":200,"outputTokens":2,"costUSD":0.001}},)"
      R"("permission_denials":[])");
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.input_tokens, 1200);
  EXPECT_EQ(v.output_tokens, 52);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 0.02);
}

TEST_F(AgentResultTest, ClaudeTokensFromUsageWithoutModelUsage) {
  std::string log = ClaudeResult(
      R"("is_error":false,"result":"ok","usage":{"input_tokens":300,"output_tokens":12})");
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  EXPECT_EQ(v.input_tokens, 300);
  EXPECT_EQ(v.output_tokens, 12);
}

TEST_F(AgentResultTest, ClaudeCostFromModelUsageWhenTotalIsMissing) {
  std::string log = ClaudeResult(
      R"("is_error":false,"result":"ok","modelUsage":{"a":{"inputTokens":1,"outputTokens":2,)"
      R"("costUSD":0.25},"b":{"inputTokens":3,"outputTokens":4,"costUSD":0.5}}})");
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 0.75);
  EXPECT_EQ(v.input_tokens, 4);
  EXPECT_EQ(v.output_tokens, 6);
}

TEST_F(AgentResultTest, ClaudeResultAmongUnrelatedLines) {
  std::string log =
      "Warning: no stdin data received in 3s, proceeding without it.\n"
      "a line with {braces} and a \"quote\n"
      "{not json at all\n" +
      std::string(kClaudeSuccess) +
      "{\"type\":\"note\",\"text\":\"an unrelated object after the result\"}\n"
      "trailing text from a wrapper script\n";
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.input_tokens, 12);
}

TEST_F(AgentResultTest, ClaudePrettyPrintedResult) {
  std::string log =
      "starting\n"
      "{\n"
      "  \"type\": \"result\",\n"
      "  \"subtype\": \"success\",\n"
      "  \"is_error\": true,\n"
      "  \"api_error_status\": 429,\n"
      "  \"result\": \"API Error: Request rejected (429) {see docs}\",\n"
      "  \"usage\": {\n"
      "    \"input_tokens\": 0,\n"
      "    \"output_tokens\": 0\n"
      "  },\n"
      "  \"permission_denials\": []\n"
      "}\n"
      "done\n";
  AgentVerdict v = Read(FindAgentCli("claude"), 1, log);
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 429 (rate limited)");
}

TEST_F(AgentResultTest, ClaudeTakesTheLastResult) {
  // stream-json: assistant and user lines, then the result; an older result before them.
  std::string log =
      ClaudeApiError("429", "API Error: Request rejected (429)") +
      R"({"type":"system","subtype":"init","cwd":"/w","session_id":"s","tools":["Write"]})"
      "\n"
      R"({"type":"assistant","message":{"content":[{"type":"text","text":"{\"type\":\"result\"}"}],)"
      R"("usage":{"input_tokens":100,"output_tokens":1}}})"
      "\n" +
      std::string(kClaudeSuccess);
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.output_tokens, 7);
}

TEST_F(AgentResultTest, ClaudeTruncatedResultIsNotJudged) {
  std::string full = kClaudeSuccess;
  AgentVerdict v = Read(FindAgentCli("claude"), 0, full.substr(0, full.size() / 2));
  EXPECT_FALSE(v.judged);
  EXPECT_FALSE(v.cost_usd);
  EXPECT_FALSE(v.input_tokens);
}

TEST_F(AgentResultTest, ClaudeTextOutputIsNotJudged) {
  AgentVerdict v = Read(FindAgentCli("claude"), 0, "Hi there!\n");
  EXPECT_FALSE(v.judged);
  v = Read(FindAgentCli("claude"), 1, "API Error: Request rejected (429) · slow down\n");
  EXPECT_FALSE(v.judged);  // text mode: the engine's default rules read it
}

TEST_F(AgentResultTest, ClaudeKilledBySignalKeepsOnlyUsage) {
  AgentVerdict v = Read(FindAgentCli("claude"), -1, ClaudeApiError("401", "Invalid API key"));
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.cost_usd, 0.0);
  v = Read(FindAgentCli("claude"), -1, kClaudeSuccess);
  EXPECT_FALSE(v.judged);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 0.000235);
}

TEST_F(AgentResultTest, ClaudeNonZeroExitWithoutErrorIsNotJudged) {
  AgentVerdict v = Read(FindAgentCli("claude"), 3, kClaudeSuccess);
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.input_tokens, 12);
}

TEST_F(AgentResultTest, ClaudeUsageErrorsArePermanent) {
  AgentVerdict v = Read(FindAgentCli("claude"), 1,
                        "--dangerously-skip-permissions cannot be used with root/sudo privileges "
                        "for security reasons\n");
  ExpectFailed(v, FailureClass::kPermanent,
               "claude: exit 1: --dangerously-skip-permissions is refused as root (IS_SANDBOX=1 "
               "allows it)");
  v = Read(FindAgentCli("claude"), 1,
           "Error: Input must be provided either through stdin or as a prompt argument when "
           "using --print\n");
  ExpectFailed(v, FailureClass::kPermanent, "claude: exit 1: no prompt reached it");
}

TEST_F(AgentResultTest, ClaudeHugeResultWithNoiseBeforeIt) {
  // A megabyte of output before the result, and a result text of 200 KB: the tail holds it.
  std::string noise;
  while (noise.size() < (1u << 20)) noise += "{ progress line without an end\n";
  std::string text(200 * 1024, 'x');
  std::string log = noise + ClaudeResult(R"("is_error":false,"result":")" + text +
                                         R"(","total_cost_usd":1.5,"permission_denials":[])");
  auto start = std::chrono::steady_clock::now();
  AgentVerdict v = Read(FindAgentCli("claude"), 0, log);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 1.5);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST(AgentLaunchEnvTest, ClaudeGetsItsRetryCapUnlessSet) {
  Launch spec;
  spec.env = {"HOME=/h"};
  agents::CapClaudeRetries(&spec.argv, &spec.env);
  EXPECT_EQ(FindEnv(spec.env, "CLAUDE_CODE_MAX_RETRIES"), "2");

  spec.env = {"CLAUDE_CODE_MAX_RETRIES=7"};  // the user's own, from any of the env layers
  agents::CapClaudeRetries(&spec.argv, &spec.env);
  EXPECT_EQ(spec.env, Words{"CLAUDE_CODE_MAX_RETRIES=7"});
}

}  // namespace
}  // namespace mex::agent_testing
