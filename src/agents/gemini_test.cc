#include "agents/gemini.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agents/agent_test_util.h"

namespace mex::agent_testing {
namespace {

constexpr const char* kGeminiSuccess =
    "Warning: 256-color support not detected. Using a terminal with at least 256-color support "
    "is recommended for a better experience.\n"
    "{\n"
    "  \"session_id\": \"7d1c-2222\",\n"
    "  \"response\": \"Wrote {plan}.json as asked\",\n"
    "  \"stats\": {\n"
    "    \"models\": {\n"
    "      \"gemini-2.5-flash\": {\n"
    "        \"api\": {\"totalRequests\": 1, \"totalErrors\": 0, \"totalLatencyMs\": 80,\n"
    "                \"errorsByType\": {}},\n"
    "        \"tokens\": {\"input\": 42, \"prompt\": 42, \"candidates\": 6, \"total\": 48,\n"
    "                   \"cached\": 0, \"thoughts\": 0, \"tool\": 0},\n"
    "        \"roles\": {\"main\": {\"totalRequests\": 1}}\n"
    "      }\n"
    "    },\n"
    "    \"tools\": {\"totalCalls\": 0, \"totalSuccess\": 0, \"totalFail\": 0, \"byName\": {}},\n"
    "    \"files\": {\"totalLinesAdded\": 0, \"totalLinesRemoved\": 0}\n"
    "  }\n"
    "}\n";

std::string GeminiError(int code, const std::string& message) {
  return "Error when talking to Gemini API Full report available at: /t/gemini-client-error.json\n"
         "    at Turn.run (file:///g/bundle/gemini.js:1234:15) {\n"
         "  status: " +
         std::to_string(code) +
         "\n"
         "}\n"
         R"({"session_id":"7d1c-3333","error":{"type":"Error","message":")" +
         message + R"(","code":)" + std::to_string(code) + "}}\n";
}

TEST_F(AgentResultTest, GeminiSuccessReadsTokenStats) {
  AgentVerdict v = Read(FindAgentCli("gemini"), 0, kGeminiSuccess);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.reason, "gemini: done");
  EXPECT_EQ(v.input_tokens, 42);
  EXPECT_EQ(v.output_tokens, 6);
  EXPECT_FALSE(v.cost_usd);
}

TEST_F(AgentResultTest, GeminiSumsTokensOverModels) {
  std::string log = R"({"session_id":"s","response":"ok","stats":{"models":{)"
                    R"("gemini-3.5-flash-lite":{"tokens":{"input":10,"prompt":10,"candidates":2}},)"
                    R"("gemini-3.8-flash":{"tokens":{"input":42,"prompt":42,"candidates":6}}}}})"
                    "\n";
  AgentVerdict v = Read(FindAgentCli("gemini"), 0, log);
  EXPECT_EQ(v.input_tokens, 52);
  EXPECT_EQ(v.output_tokens, 8);
}

TEST_F(AgentResultTest, GeminiStreamJsonResultReadsTokens) {
  std::string log =
      R"({"type":"init","session_id":"s","model":"gemini-2.5-flash"})"
      "\n"
      R"({"type":"message","role":"assistant","content":"hi","delta":true})"
      "\n"
      R"({"type":"result","status":"success","stats":{"total_tokens":48,"input_tokens":42,)"
      R"("output_tokens":6,"cached":0,"input":42,"duration_ms":900,"tool_calls":0,"models":{}}})"
      "\n";
  AgentVerdict v = Read(FindAgentCli("gemini"), 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.input_tokens, 42);
  EXPECT_EQ(v.output_tokens, 6);
}

TEST_F(AgentResultTest, GeminiUnauthorizedExitIsPermanent) {
  std::string message =
      R"({\"error\":{\"code\":401,\"message\":\"Request had invalid authentication credentials.\",\"status\":\"UNAUTHENTICATED\"}})";
  ExpectFailed(Read(FindAgentCli("gemini"), 145, GeminiError(401, message)),
               FailureClass::kPermanent,
               "gemini: exit 145: API error 401 (unauthorized: credentials refused)");
  // Without the JSON the exit code alone says it.
  ExpectFailed(Read(FindAgentCli("gemini"), 145, ""), FailureClass::kPermanent,
               "gemini: exit 145: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, GeminiRateLimitExitIsTransient) {
  ExpectFailed(Read(FindAgentCli("gemini"), 173,
                    GeminiError(429, "You exceeded your current quota, please check your plan.")),
               FailureClass::kTransient, "gemini: exit 173: API error 429 (rate limited)");
}

TEST_F(AgentResultTest, GeminiServerErrorExitIsTransient) {
  ExpectFailed(Read(FindAgentCli("gemini"), 244, "An unexpected critical error occurred\n"),
               FailureClass::kTransient, "gemini: exit 244: API error 500 (server error)");
  // Another 5xx, named by the error object's code: 503 mod 256 = 247.
  ExpectFailed(Read(FindAgentCli("gemini"), 247, GeminiError(503, "unavailable")),
               FailureClass::kTransient, "gemini: exit 247: API error 503 (server error)");
}

TEST_F(AgentResultTest, GeminiLocalExitCodes) {
  struct Case {
    int exit_code;
    FailureClass failure_class;
    std::string reason;
  };
  const Case cases[] = {
      {41, FailureClass::kPermanent,
       "gemini: exit 41: authentication failed (no usable auth method or API key)"},
      {42, FailureClass::kPermanent,
       "gemini: exit 42: no input (empty prompt, or a flag needing a terminal)"},
      {52, FailureClass::kPermanent, "gemini: exit 52: bad configuration (settings.json)"},
      {53, FailureClass::kLogic, "gemini: exit 53: turn limit reached (model.maxSessionTurns)"},
      {54, FailureClass::kLogic, "gemini: exit 54: a tool failed fatally"},
      {55, FailureClass::kPermanent,
       "gemini: exit 55: folder not trusted (GEMINI_CLI_TRUST_WORKSPACE=true or --skip-trust)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.exit_code);
    ExpectFailed(Read(FindAgentCli("gemini"), c.exit_code, "some text on stderr\n"),
                 c.failure_class, c.reason);
  }
}

TEST_F(AgentResultTest, GeminiTurnLimitJsonPrintedTwice) {
  std::string error =
      R"({"error":{"type":"FatalTurnLimitedError","message":"Reached max session turns for this session.","code":53}})";
  std::string log = error + "\n[ERROR] " + error + "\n";
  ExpectFailed(Read(FindAgentCli("gemini"), 53, log), FailureClass::kLogic,
               "gemini: exit 53: turn limit reached (model.maxSessionTurns)");
}

TEST_F(AgentResultTest, GeminiBrokenStreamOnExitZeroIsTransient) {
  std::string log =
      R"({"session_id":"s","response":"Half an ans","error":{"type":"INVALID_STREAM",)"
      R"("message":"stream ended early"},"stats":{"models":{"m":{"tokens":{"input":9,"candidates":1}}}}})"
      "\n";
  AgentVerdict v = Read(FindAgentCli("gemini"), 0, log);
  ExpectFailed(v, FailureClass::kTransient,
               "gemini: exit 0 but the answer broke off (INVALID_STREAM)");
  EXPECT_EQ(v.input_tokens, 9);
}

TEST_F(AgentResultTest, GeminiExitOneTexts) {
  ExpectFailed(
      Read(FindAgentCli("gemini"), 1, "exception TypeError: fetch failed sending request\n"),
      FailureClass::kTransient, "gemini: exit 1: connection failed (fetch failed)");
  ExpectFailed(Read(FindAgentCli("gemini"), 1, "Unknown arguments: bogus-flag, bogusFlag\n"),
               FailureClass::kPermanent, "gemini: exit 1: bad command-line arguments");
  EXPECT_FALSE(
      Read(FindAgentCli("gemini"), 1, "An unexpected critical error occurred:[object Object]\n")
          .judged);
}

// gemini in its default approval mode, asked to write a file: write_file is not offered, the
// call fails, the model answers "done" and gemini exits 0 (measured on 0.61.0).
std::string GeminiWithTools(const std::string& by_name) {
  return R"({"session_id":"7d1c-4444","response":"done, wrote out.txt","stats":{"models":{)"
         R"("gemini-2.5-flash":{"tokens":{"input":200,"candidates":40}}},"tools":{)"
         R"("totalCalls":1,"totalSuccess":0,"totalFail":1,"byName":{)" +
         by_name + "}}}}\n";
}

TEST_F(AgentResultTest, GeminiToolMissingInItsApprovalModeIsLogicNamingIt) {
  std::string log =
      "Warning: 256-color support not detected.\n"
      "Error executing tool write_file: Tool \"write_file\" not found. Did you mean one of: "
      "\"read_file\", \"update_topic\", \"grep_search\"?\n" +
      GeminiWithTools(R"("write_file":{"count":1,"success":0,"fail":1,"decisions":{)"
                      R"("accept":0,"reject":0,"modify":0,"auto_accept":0}})");
  AgentVerdict v = Read(FindAgentCli("gemini"), 0, log);
  ExpectFailed(v, FailureClass::kLogic,
               "gemini: the approval mode refused write_file (--approval-mode auto_edit allows "
               "file edits, yolo also shell commands) (the work was not done)");
  EXPECT_EQ(v.input_tokens, 200);
}

TEST_F(AgentResultTest, GeminiRejectedDecisionIsLogic) {
  std::string log = GeminiWithTools(
      R"("run_shell_command":{"count":1,"success":0,"fail":1,"decisions":{"reject":1}})");
  AgentVerdict v = Read(FindAgentCli("gemini"), 0, log);
  EXPECT_TRUE(v.failed);
  EXPECT_NE(v.reason.find("refused run_shell_command"), std::string::npos) << v.reason;
}

TEST_F(AgentResultTest, GeminiToolThatFailedOnItsOwnIsNoRefusal) {
  // A replace whose old text was not found fails without any refusal: the model goes on.
  std::string log = GeminiWithTools(R"("replace":{"count":2,"success":1,"fail":1})");
  AgentVerdict v = Read(FindAgentCli("gemini"), 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
}

TEST_F(AgentResultTest, GeminiOtherOutcomesAreNotJudged) {
  EXPECT_FALSE(Read(FindAgentCli("gemini"), 0, "hi from gemini in text mode\n").judged);
  EXPECT_FALSE(Read(FindAgentCli("gemini"), 3, kGeminiSuccess).judged);
  AgentVerdict v = Read(FindAgentCli("gemini"), -1, kGeminiSuccess);
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.input_tokens, 42);
}

TEST(AgentLaunchEnvTest, OtherAgentsAreLeftAlone) {
  Launch spec;
  spec.argv = {"gemini", "-p", "x"};
  spec.env = {"HOME=/h"};
  FindAgentCli("gemini")->cap_retries(&spec.argv, &spec.env);
  EXPECT_EQ(spec.argv, (Words{"gemini", "-p", "x"}));
  EXPECT_EQ(spec.env, Words{"HOME=/h"});
}

}  // namespace
}  // namespace mex::agent_testing
