#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agents/agent_cli.h"
#include "agents/agents.h"

namespace mex {
namespace {

// The shapes below follow what agent-lab measured on the real CLIs (findings/claude.md and
// findings/codex-gemini.md); the texts are our own.

std::string ClaudeResult(const std::string& fields) {
  return R"({"type":"result","subtype":"success",)" + fields + "}\n";
}

constexpr const char* kClaudeSuccess =
    R"({"type":"result","subtype":"success","is_error":false,"api_error_status":null,)"
    R"("duration_ms":312,"num_turns":1,"result":"Wrote the plan.","stop_reason":"end_turn",)"
    R"("session_id":"5c0d9a7e-1111","total_cost_usd":0.000235,"usage":{"input_tokens":12,)"
    R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7,)"
    R"("server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},)"
    R"("service_tier":"standard"},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":12,)"
    R"("outputTokens":7,"costUSD":0.000235,"contextWindow":1000000,"maxOutputTokens":64000}},)"
    R"("permission_denials":[],"terminal_reason":"completed","uuid":"9f1e"})"
    "\n";

std::string ClaudeApiError(const std::string& status, const std::string& text) {
  return ClaudeResult(R"("is_error":true,"api_error_status":)" + status +
                      R"(,"num_turns":1,"result":")" + text +
                      R"(","stop_reason":"stop_sequence","total_cost_usd":0,)"
                      R"("usage":{"input_tokens":0,"output_tokens":0},"permission_denials":[])");
}

class AgentResultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mex-agent-result-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    std::string err;
    ASSERT_TRUE(Folder::Open(dir_, false, &folder_, &err)) << err;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `log` as the attempt's log and reads it as `d` would have left it.
  AgentVerdict Read(AgentDialect d, int exit_code, const std::string& log) {
    std::string path = dir_ + "/1.log";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << log;
    return ReadAgentResult(d, exit_code, folder_, path);
  }

  std::string dir_;
  Folder folder_;
};

void ExpectFailed(const AgentVerdict& v, FailureClass c, const std::string& reason) {
  EXPECT_TRUE(v.judged);
  EXPECT_TRUE(v.failed);
  EXPECT_EQ(v.failure_class, c);
  EXPECT_EQ(v.reason, reason);
}

TEST(AgentDialectTest, ComesFromTheProgramsBasename) {
  auto dialect = [](std::vector<std::string> command) {
    return DialectOf(Agent{"a", std::move(command), PromptVia::kArg, {}, {}});
  };
  EXPECT_EQ(dialect({"claude", "-p", "--output-format", "json"}), AgentDialect::kClaude);
  EXPECT_EQ(dialect({"/usr/local/bin/claude", "-p"}), AgentDialect::kClaude);
  EXPECT_EQ(dialect({"node_modules/@anthropic-ai/claude-code/bin/claude.exe"}),
            AgentDialect::kClaude);
  EXPECT_EQ(dialect({"node_modules/.bin/codex", "exec", "--json"}), AgentDialect::kCodex);
  EXPECT_EQ(dialect({"gemini", "-o", "json", "-p"}), AgentDialect::kGemini);
  EXPECT_EQ(dialect({"mex-demo-agent"}), AgentDialect::kNone);
  EXPECT_EQ(dialect({"./claude-wrapper"}), AgentDialect::kNone);
  EXPECT_EQ(dialect({"/opt/claude/run"}), AgentDialect::kNone);
  EXPECT_EQ(dialect({}), AgentDialect::kNone);
}

TEST(AgentDialectTest, PresetsHaveTheirDialect) {
  EXPECT_EQ(DialectOf(*FindPreset("claude")), AgentDialect::kClaude);
  EXPECT_EQ(DialectOf(*FindPreset("codex")), AgentDialect::kCodex);
  EXPECT_EQ(DialectOf(*FindPreset("gemini")), AgentDialect::kGemini);
  EXPECT_EQ(DialectOf(*FindPreset("demo")), AgentDialect::kNone);
}

TEST_F(AgentResultTest, NoDialectIsNeverJudged) {
  AgentVerdict v = Read(AgentDialect::kNone, 1, ClaudeApiError("401", "Invalid API key"));
  EXPECT_FALSE(v.judged);
  EXPECT_FALSE(v.cost_usd);
}

TEST_F(AgentResultTest, ClaudeSuccessReadsCostAndTokens) {
  AgentVerdict v = Read(AgentDialect::kClaude, 0, kClaudeSuccess);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.reason, "claude: done");
  ASSERT_TRUE(v.cost_usd);
  EXPECT_DOUBLE_EQ(*v.cost_usd, 0.000235);
  EXPECT_EQ(v.input_tokens, 12);
  EXPECT_EQ(v.output_tokens, 7);
}

TEST_F(AgentResultTest, ClaudeRateLimitIsTransient) {
  AgentVerdict v = Read(AgentDialect::kClaude, 1,
                        ClaudeApiError("429", "API Error: Request rejected (429) · slow down"));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 429 (rate limited)");
  EXPECT_EQ(v.cost_usd, 0.0);
  EXPECT_EQ(v.input_tokens, 0);
}

TEST_F(AgentResultTest, ClaudeUnauthorizedIsPermanent) {
  AgentVerdict v = Read(AgentDialect::kClaude, 1,
                        ClaudeApiError("401", "Invalid API key · Fix external API key"));
  ExpectFailed(v, FailureClass::kPermanent,
               "claude: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, ClaudeForbiddenIsPermanent) {
  AgentVerdict v = Read(AgentDialect::kClaude, 1, ClaudeApiError("403", "API Error: 403"));
  ExpectFailed(v, FailureClass::kPermanent, "claude: API error 403 (forbidden)");
}

TEST_F(AgentResultTest, ClaudeServerErrorIsTransient) {
  AgentVerdict v =
      Read(AgentDialect::kClaude, 1,
           ClaudeApiError("500", "API Error: 500 internal server error. Try again in a moment."));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 500 (server error)");
}

TEST_F(AgentResultTest, ClaudeOverloadedWithoutStatusIsTransient) {
  // Repeated 529s end with api_error_status null; only the text says 529.
  AgentVerdict v =
      Read(AgentDialect::kClaude, 1,
           ClaudeApiError("null", "API Error: Repeated 529 Overloaded errors. The API is busy."));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 529 (overloaded)");
}

TEST_F(AgentResultTest, ClaudeOverloadedStatusIsTransient) {
  AgentVerdict v = Read(AgentDialect::kClaude, 1, ClaudeApiError("529", "Overloaded"));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 529 (overloaded)");
}

TEST_F(AgentResultTest, ClaudeOtherApiErrorIsLogicAndQuotesTheText) {
  AgentVerdict v =
      Read(AgentDialect::kClaude, 1, ClaudeApiError("400", "API Error: prompt is too long"));
  ExpectFailed(v, FailureClass::kLogic, "claude: API error 400: \"API Error: prompt is too long\"");
}

TEST_F(AgentResultTest, ClaudeIsErrorFailsEvenOnExitZero) {
  AgentVerdict v = Read(AgentDialect::kClaude, 0, ClaudeApiError("503", "API Error: 503"));
  ExpectFailed(v, FailureClass::kTransient, "claude: API error 503 (server error)");
}

TEST_F(AgentResultTest, ClaudePermissionDenialOnExitZeroIsLogicNamingTheTool) {
  std::string log = ClaudeResult(
      R"("is_error":false,"api_error_status":null,"num_turns":2,"result":"Done: wrote it",)"
      R"("total_cost_usd":0.0016,"usage":{"input_tokens":130,"output_tokens":38},)"
      R"("permission_denials":[{"tool_name":"Write","tool_use_id":"toolu_1",)"
      R"("tool_input":{"file_path":"/w/out/keep.json","content":"{}"}}])");
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
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
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
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
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 0.001);
  EXPECT_EQ(v.input_tokens, 100);
  EXPECT_EQ(v.output_tokens, 20);
}

TEST_F(AgentResultTest, ClaudeCostFromModelUsageWhenTotalIsMissing) {
  std::string log = ClaudeResult(
      R"("is_error":false,"result":"ok","modelUsage":{"a":{"inputTokens":1,"outputTokens":2,)"
      R"("costUSD":0.25},"b":{"inputTokens":3,"outputTokens":4,"costUSD":0.5}}})");
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
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
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
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
  AgentVerdict v = Read(AgentDialect::kClaude, 1, log);
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
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.output_tokens, 7);
}

TEST_F(AgentResultTest, ClaudeTruncatedResultIsNotJudged) {
  std::string full = kClaudeSuccess;
  AgentVerdict v = Read(AgentDialect::kClaude, 0, full.substr(0, full.size() / 2));
  EXPECT_FALSE(v.judged);
  EXPECT_FALSE(v.cost_usd);
  EXPECT_FALSE(v.input_tokens);
}

TEST_F(AgentResultTest, MissingLogIsNotJudged) {
  for (AgentDialect d : {AgentDialect::kClaude, AgentDialect::kCodex, AgentDialect::kGemini}) {
    AgentVerdict v = ReadAgentResult(d, 0, folder_, dir_ + "/no-such.log");
    EXPECT_FALSE(v.judged) << static_cast<int>(d);
    EXPECT_FALSE(v.cost_usd) << static_cast<int>(d);
    EXPECT_FALSE(v.input_tokens) << static_cast<int>(d);
  }
}

TEST_F(AgentResultTest, ClaudeTextOutputIsNotJudged) {
  AgentVerdict v = Read(AgentDialect::kClaude, 0, "Hi there!\n");
  EXPECT_FALSE(v.judged);
  v = Read(AgentDialect::kClaude, 1, "API Error: Request rejected (429) · slow down\n");
  EXPECT_FALSE(v.judged);  // text mode: the engine's default rules read it
}

TEST_F(AgentResultTest, ClaudeKilledBySignalKeepsOnlyUsage) {
  AgentVerdict v = Read(AgentDialect::kClaude, -1, ClaudeApiError("401", "Invalid API key"));
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.cost_usd, 0.0);
  v = Read(AgentDialect::kClaude, -1, kClaudeSuccess);
  EXPECT_FALSE(v.judged);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 0.000235);
}

TEST_F(AgentResultTest, ClaudeNonZeroExitWithoutErrorIsNotJudged) {
  AgentVerdict v = Read(AgentDialect::kClaude, 3, kClaudeSuccess);
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.input_tokens, 12);
}

TEST_F(AgentResultTest, ClaudeUsageErrorsArePermanent) {
  AgentVerdict v = Read(AgentDialect::kClaude, 1,
                        "--dangerously-skip-permissions cannot be used with root/sudo privileges "
                        "for security reasons\n");
  ExpectFailed(v, FailureClass::kPermanent,
               "claude: exit 1: --dangerously-skip-permissions is refused as root (IS_SANDBOX=1 "
               "allows it)");
  v = Read(AgentDialect::kClaude, 1,
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
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_DOUBLE_EQ(v.cost_usd.value_or(-1), 1.5);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(AgentResultTest, UnclosedBracesCostBoundedTime) {
  // Every line opens an object that never closes: each is scanned to the end, or as deep as an
  // object may nest, until the scan budget is spent.
  for (const std::string& line :
       {std::string("{ \"a\": [ {\n"), "{ " + std::string(200, 'a') + "\n"}) {
    std::string log;
    while (log.size() < (1u << 20)) log += line;
    auto start = std::chrono::steady_clock::now();
    AgentVerdict v = Read(AgentDialect::kGemini, 0, log);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(v.judged);
    EXPECT_LT(took, std::chrono::seconds(2));
  }
}

TEST_F(AgentResultTest, DeeplyNestedTextIsNoResult) {
  std::string log =
      std::string(100000, '[') + std::string(100000, ']') + "\n" + std::string(5000, '{') + "\n";
  AgentVerdict v = Read(AgentDialect::kClaude, 0, log);
  EXPECT_FALSE(v.judged);
}

constexpr const char* kCodexBanner =
    "Reading additional input from stdin...\n"
    "OpenAI Codex v0.171.0\n"
    "--------\n"
    "workdir: /w\n"
    "model: mock-model\n"
    "approval: never\n"
    "sandbox: read-only\n"
    "--------\n"
    "user\n"
    "write the plan\n";

TEST_F(AgentResultTest, CodexUnauthorizedTextIsPermanent) {
  std::string error =
      "ERROR: unexpected status 401 Unauthorized: Incorrect API key provided: sk-***abc. , url: "
      "http://127.0.0.1:40123/v1/responses\n";
  AgentVerdict v = Read(AgentDialect::kCodex, 1, kCodexBanner + error + error);
  ExpectFailed(v, FailureClass::kPermanent,
               "codex: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, CodexRateLimitTextIsTransient) {
  std::string error = "ERROR: exceeded retry limit, last status: 429 Too Many Requests\n";
  AgentVerdict v = Read(AgentDialect::kCodex, 1, kCodexBanner + error + error);
  ExpectFailed(v, FailureClass::kTransient, "codex: API error 429 (rate limited)");
}

TEST_F(AgentResultTest, CodexServerErrorTextIsTransient) {
  std::string error =
      "ERROR: We\xE2\x80\x99re currently experiencing high demand, which may cause temporary "
      "errors.\n";
  AgentVerdict v = Read(AgentDialect::kCodex, 1, kCodexBanner + error + error);
  ExpectFailed(v, FailureClass::kTransient, "codex: server error (high demand)");
  v = Read(AgentDialect::kCodex, 1, "ERROR: exceeded retry limit, last status: 502 Bad Gateway\n");
  ExpectFailed(v, FailureClass::kTransient, "codex: API error 502 (server error)");
}

TEST_F(AgentResultTest, CodexConnectionFailedIsTransient) {
  AgentVerdict v =
      Read(AgentDialect::kCodex, 1,
           std::string(kCodexBanner) + "ERROR: Connection failed: error sending request for url\n");
  ExpectFailed(v, FailureClass::kTransient, "codex: connection failed");
}

TEST_F(AgentResultTest, CodexLastCauseCounts) {
  std::string log = std::string(kCodexBanner) +
                    "ERROR: exceeded retry limit, last status: 429 Too Many Requests\n"
                    "ERROR: unexpected status 401 Unauthorized: Incorrect API key provided\n";
  ExpectFailed(Read(AgentDialect::kCodex, 1, log), FailureClass::kPermanent,
               "codex: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, CodexSetupErrorsArePermanent) {
  ExpectFailed(
      Read(AgentDialect::kCodex, 1, "ERROR: Missing environment variable: 'OPENAI_API_KEY'.\n"),
      FailureClass::kPermanent, "codex: missing environment variable (API key not set)");
  ExpectFailed(Read(AgentDialect::kCodex, 1,
                    "Not inside a trusted directory and --skip-git-repo-check was not "
                    "specified.\n"),
               FailureClass::kPermanent,
               "codex: not inside a trusted directory (--skip-git-repo-check)");
  ExpectFailed(Read(AgentDialect::kCodex, 2, "error: unexpected argument '--full-auto' found\n"),
               FailureClass::kPermanent, "codex: exit 2: bad command-line arguments");
}

TEST_F(AgentResultTest, CodexUnknownFailureIsNotJudged) {
  AgentVerdict v = Read(AgentDialect::kCodex, 1, std::string(kCodexBanner) + "panic: oops\n");
  EXPECT_FALSE(v.judged);
  v = Read(AgentDialect::kCodex, 143, "ERROR: Connection failed: error sending request\n");
  EXPECT_FALSE(v.judged);  // ended by SIGTERM: not an API failure of codex's own
}

TEST_F(AgentResultTest, CodexPlainSuccessIsNotJudged) {
  AgentVerdict v =
      Read(AgentDialect::kCodex, 0, std::string(kCodexBanner) + "codex\nhi\ntokens used 47\nhi\n");
  EXPECT_FALSE(v.judged);
  EXPECT_FALSE(v.input_tokens);
}

constexpr const char* kCodexJsonStart =
    R"({"type":"thread.started","thread_id":"0199-aaaa"})"
    "\n"
    R"({"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `mock-model` not found."}})"
    "\n"
    R"({"type":"turn.started"})"
    "\n";

TEST_F(AgentResultTest, CodexTurnCompletedReadsUsage) {
  std::string log =
      std::string("Reading additional input from stdin...\n") + kCodexJsonStart +
      R"({"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"done"}})"
      "\n"
      R"({"type":"turn.completed","usage":{"input_tokens":42,"cached_input_tokens":0,)"
      R"("cache_write_input_tokens":0,"output_tokens":5,"reasoning_output_tokens":0}})"
      "\n";
  AgentVerdict v = Read(AgentDialect::kCodex, 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);  // the error item is only a warning
  EXPECT_EQ(v.reason, "codex: done");
  EXPECT_EQ(v.input_tokens, 42);
  EXPECT_EQ(v.output_tokens, 5);
  EXPECT_FALSE(v.cost_usd);
}

// codex with its default read-only sandbox, asked to write a file: the patch is refused, the
// model says it is done, the turn completes and codex exits 0 (measured on 0.171.0).
TEST_F(AgentResultTest, CodexSandboxRefusalOnExitZeroIsLogicNamingApplyPatch) {
  std::string log =
      std::string("Reading additional input from stdin...\n") + kCodexJsonStart +
      "2026-11-27T04:52:05.614454Z ERROR codex_core::tools::router: error=patch rejected: "
      "writing is blocked by read-only sandbox; rejected by user approval settings\n"
      R"({"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"done"}})"
      "\n"
      R"({"type":"turn.completed","usage":{"input_tokens":200,"output_tokens":40}})"
      "\n";
  AgentVerdict v = Read(AgentDialect::kCodex, 0, log);
  ExpectFailed(v, FailureClass::kLogic,
               "codex: the sandbox refused a file write (apply_patch: writing is blocked by the "
               "read-only sandbox; -s workspace-write allows it) (the work was not done)");
  EXPECT_EQ(v.input_tokens, 200);
}

TEST_F(AgentResultTest, CodexApprovalRejectionOnExitZeroIsLogic) {
  std::string log = std::string(kCodexJsonStart) +
                    "ERROR codex_core::tools::router: error=exec rejected by user approval "
                    "settings\n"
                    R"({"type":"turn.completed","usage":{"input_tokens":1,"output_tokens":1}})"
                    "\n";
  ExpectFailed(Read(AgentDialect::kCodex, 0, log), FailureClass::kLogic,
               "codex: a tool call was rejected by its approval settings (the work was not done)");
}

TEST_F(AgentResultTest, CodexTurnFailedIsJudgedFromItsMessage) {
  std::string log =
      std::string(kCodexJsonStart) +
      R"j({"type":"error","message":"Reconnecting... 1/5 (stream disconnected)"})j"
      "\n"
      R"({"type":"error","message":"exceeded retry limit, last status: 429 Too Many Requests"})"
      "\n"
      R"({"type":"turn.failed","error":{"message":"exceeded retry limit, last status: 429 Too Many Requests"}})"
      "\n";
  ExpectFailed(Read(AgentDialect::kCodex, 1, log), FailureClass::kTransient,
               "codex: API error 429 (rate limited)");
  log =
      std::string(kCodexJsonStart) +
      R"({"type":"turn.failed","error":{"message":"unexpected status 401 Unauthorized: Incorrect API key"}})"
      "\n";
  ExpectFailed(Read(AgentDialect::kCodex, 1, log), FailureClass::kPermanent,
               "codex: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, CodexTurnFailedWithUnknownMessageIsLogic) {
  std::string log = std::string(kCodexJsonStart) +
                    R"({"type":"turn.failed","error":{"message":"the model refused"}})"
                    "\n";
  ExpectFailed(Read(AgentDialect::kCodex, 0, log), FailureClass::kLogic,
               "codex: turn failed: \"the model refused\"");
}

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
  AgentVerdict v = Read(AgentDialect::kGemini, 0, kGeminiSuccess);
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
  AgentVerdict v = Read(AgentDialect::kGemini, 0, log);
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
  AgentVerdict v = Read(AgentDialect::kGemini, 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
  EXPECT_EQ(v.input_tokens, 42);
  EXPECT_EQ(v.output_tokens, 6);
}

TEST_F(AgentResultTest, GeminiUnauthorizedExitIsPermanent) {
  std::string message =
      R"({\"error\":{\"code\":401,\"message\":\"Request had invalid authentication credentials.\",\"status\":\"UNAUTHENTICATED\"}})";
  ExpectFailed(Read(AgentDialect::kGemini, 145, GeminiError(401, message)),
               FailureClass::kPermanent,
               "gemini: exit 145: API error 401 (unauthorized: credentials refused)");
  // Without the JSON the exit code alone says it.
  ExpectFailed(Read(AgentDialect::kGemini, 145, ""), FailureClass::kPermanent,
               "gemini: exit 145: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, GeminiRateLimitExitIsTransient) {
  ExpectFailed(Read(AgentDialect::kGemini, 173,
                    GeminiError(429, "You exceeded your current quota, please check your plan.")),
               FailureClass::kTransient, "gemini: exit 173: API error 429 (rate limited)");
}

TEST_F(AgentResultTest, GeminiServerErrorExitIsTransient) {
  ExpectFailed(Read(AgentDialect::kGemini, 244, "An unexpected critical error occurred\n"),
               FailureClass::kTransient, "gemini: exit 244: API error 500 (server error)");
  // Another 5xx, named by the error object's code: 503 mod 256 = 247.
  ExpectFailed(Read(AgentDialect::kGemini, 247, GeminiError(503, "unavailable")),
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
    ExpectFailed(Read(AgentDialect::kGemini, c.exit_code, "some text on stderr\n"), c.failure_class,
                 c.reason);
  }
}

TEST_F(AgentResultTest, GeminiTurnLimitJsonPrintedTwice) {
  std::string error =
      R"({"error":{"type":"FatalTurnLimitedError","message":"Reached max session turns for this session.","code":53}})";
  std::string log = error + "\n[ERROR] " + error + "\n";
  ExpectFailed(Read(AgentDialect::kGemini, 53, log), FailureClass::kLogic,
               "gemini: exit 53: turn limit reached (model.maxSessionTurns)");
}

TEST_F(AgentResultTest, GeminiBrokenStreamOnExitZeroIsTransient) {
  std::string log =
      R"({"session_id":"s","response":"Half an ans","error":{"type":"INVALID_STREAM",)"
      R"("message":"stream ended early"},"stats":{"models":{"m":{"tokens":{"input":9,"candidates":1}}}}})"
      "\n";
  AgentVerdict v = Read(AgentDialect::kGemini, 0, log);
  ExpectFailed(v, FailureClass::kTransient,
               "gemini: exit 0 but the answer broke off (INVALID_STREAM)");
  EXPECT_EQ(v.input_tokens, 9);
}

TEST_F(AgentResultTest, GeminiExitOneTexts) {
  ExpectFailed(
      Read(AgentDialect::kGemini, 1, "exception TypeError: fetch failed sending request\n"),
      FailureClass::kTransient, "gemini: exit 1: connection failed (fetch failed)");
  ExpectFailed(Read(AgentDialect::kGemini, 1, "Unknown arguments: bogus-flag, bogusFlag\n"),
               FailureClass::kPermanent, "gemini: exit 1: bad command-line arguments");
  EXPECT_FALSE(
      Read(AgentDialect::kGemini, 1, "An unexpected critical error occurred:[object Object]\n")
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
  AgentVerdict v = Read(AgentDialect::kGemini, 0, log);
  ExpectFailed(v, FailureClass::kLogic,
               "gemini: the approval mode refused write_file (--approval-mode auto_edit allows "
               "file edits, yolo also shell commands) (the work was not done)");
  EXPECT_EQ(v.input_tokens, 200);
}

TEST_F(AgentResultTest, GeminiRejectedDecisionIsLogic) {
  std::string log = GeminiWithTools(
      R"("run_shell_command":{"count":1,"success":0,"fail":1,"decisions":{"reject":1}})");
  AgentVerdict v = Read(AgentDialect::kGemini, 0, log);
  EXPECT_TRUE(v.failed);
  EXPECT_NE(v.reason.find("refused run_shell_command"), std::string::npos) << v.reason;
}

TEST_F(AgentResultTest, GeminiToolThatFailedOnItsOwnIsNoRefusal) {
  // A replace whose old text was not found fails without any refusal: the model goes on.
  std::string log = GeminiWithTools(R"("replace":{"count":2,"success":1,"fail":1})");
  AgentVerdict v = Read(AgentDialect::kGemini, 0, log);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed);
}

TEST_F(AgentResultTest, GeminiOtherOutcomesAreNotJudged) {
  EXPECT_FALSE(Read(AgentDialect::kGemini, 0, "hi from gemini in text mode\n").judged);
  EXPECT_FALSE(Read(AgentDialect::kGemini, 3, kGeminiSuccess).judged);
  AgentVerdict v = Read(AgentDialect::kGemini, -1, kGeminiSuccess);
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.input_tokens, 42);
}

TEST_F(AgentResultTest, LogInMemoryIsJudgedAsItsFileIs) {
  for (AgentDialect d : {AgentDialect::kClaude, AgentDialect::kCodex, AgentDialect::kGemini}) {
    for (int exit_code : {0, 1, -1}) {
      AgentVerdict from_file = Read(d, exit_code, kClaudeSuccess);
      AgentVerdict from_text = JudgeAgentLog(d, exit_code, kClaudeSuccess);
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
      Read(AgentDialect::kClaude, 1,
           ClaudeResult(R"("is_error":true,"subtype":"x\nphase passed","result":"r")"));
  EXPECT_EQ(subtype.reason, "claude: error (x phase passed): \"r\"");
  AgentVerdict tool =
      Read(AgentDialect::kClaude, 0,
           ClaudeResult(R"("is_error":false,"permission_denials":[{"tool_name":"W\r\nx"}])"));
  EXPECT_EQ(tool.reason, "claude: permission denied for W  x (the work was not done)");
  AgentVerdict type = Read(AgentDialect::kGemini, 0,
                           R"({"response":"","error":{"type":"A\nB","message":"m"}})"
                           "\n");
  EXPECT_EQ(type.reason, "gemini: exit 0 but the answer broke off (A B)");
  for (const AgentVerdict& v : {subtype, tool, type}) {
    EXPECT_TRUE(v.failed);
    EXPECT_EQ(v.reason.find_first_of("\r\n"), std::string::npos) << v.reason;
  }
}

}  // namespace
}  // namespace mex
