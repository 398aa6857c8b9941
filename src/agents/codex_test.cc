#include "agents/codex.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agents/agent_test_util.h"
#include "tests/test_util.h"

namespace mex::agent_testing {
namespace {

using testing_util::TempDir;

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
  AgentVerdict v = Read(FindAgentCli("codex"), 1, kCodexBanner + error + error);
  ExpectFailed(v, FailureClass::kPermanent,
               "codex: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, CodexRateLimitTextIsTransient) {
  std::string error = "ERROR: exceeded retry limit, last status: 429 Too Many Requests\n";
  AgentVerdict v = Read(FindAgentCli("codex"), 1, kCodexBanner + error + error);
  ExpectFailed(v, FailureClass::kTransient, "codex: API error 429 (rate limited)");
}

TEST_F(AgentResultTest, CodexServerErrorTextIsTransient) {
  std::string error =
      "ERROR: We\xE2\x80\x99re currently experiencing high demand, which may cause temporary "
      "errors.\n";
  AgentVerdict v = Read(FindAgentCli("codex"), 1, kCodexBanner + error + error);
  ExpectFailed(v, FailureClass::kTransient, "codex: server error (high demand)");
  v = Read(FindAgentCli("codex"), 1, "ERROR: exceeded retry limit, last status: 502 Bad Gateway\n");
  ExpectFailed(v, FailureClass::kTransient, "codex: API error 502 (server error)");
}

TEST_F(AgentResultTest, CodexConnectionFailedIsTransient) {
  AgentVerdict v =
      Read(FindAgentCli("codex"), 1,
           std::string(kCodexBanner) + "ERROR: Connection failed: error sending request for url\n");
  ExpectFailed(v, FailureClass::kTransient, "codex: connection failed");
}

TEST_F(AgentResultTest, CodexLastCauseCounts) {
  std::string log = std::string(kCodexBanner) +
                    "ERROR: exceeded retry limit, last status: 429 Too Many Requests\n"
                    "ERROR: unexpected status 401 Unauthorized: Incorrect API key provided\n";
  ExpectFailed(Read(FindAgentCli("codex"), 1, log), FailureClass::kPermanent,
               "codex: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, CodexSetupErrorsArePermanent) {
  ExpectFailed(
      Read(FindAgentCli("codex"), 1, "ERROR: Missing environment variable: 'OPENAI_API_KEY'.\n"),
      FailureClass::kPermanent, "codex: missing environment variable (API key not set)");
  ExpectFailed(Read(FindAgentCli("codex"), 1,
                    "Not inside a trusted directory and --skip-git-repo-check was not "
                    "specified.\n"),
               FailureClass::kPermanent,
               "codex: not inside a trusted directory (--skip-git-repo-check)");
  ExpectFailed(Read(FindAgentCli("codex"), 2, "error: unexpected argument '--full-auto' found\n"),
               FailureClass::kPermanent, "codex: exit 2: bad command-line arguments");
}

TEST_F(AgentResultTest, CodexUnknownFailureIsNotJudged) {
  AgentVerdict v = Read(FindAgentCli("codex"), 1, std::string(kCodexBanner) + "panic: oops\n");
  EXPECT_FALSE(v.judged);
  v = Read(FindAgentCli("codex"), 143, "ERROR: Connection failed: error sending request\n");
  EXPECT_FALSE(v.judged);  // ended by SIGTERM: not an API failure of codex's own
}

TEST_F(AgentResultTest, CodexPlainSuccessIsNotJudged) {
  AgentVerdict v =
      Read(FindAgentCli("codex"), 0, std::string(kCodexBanner) + "codex\nhi\ntokens used 47\nhi\n");
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
  AgentVerdict v = Read(FindAgentCli("codex"), 0, log);
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
  AgentVerdict v = Read(FindAgentCli("codex"), 0, log);
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
  ExpectFailed(Read(FindAgentCli("codex"), 0, log), FailureClass::kLogic,
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
  ExpectFailed(Read(FindAgentCli("codex"), 1, log), FailureClass::kTransient,
               "codex: API error 429 (rate limited)");
  log =
      std::string(kCodexJsonStart) +
      R"({"type":"turn.failed","error":{"message":"unexpected status 401 Unauthorized: Incorrect API key"}})"
      "\n";
  ExpectFailed(Read(FindAgentCli("codex"), 1, log), FailureClass::kPermanent,
               "codex: API error 401 (unauthorized: credentials refused)");
}

TEST_F(AgentResultTest, CodexTurnFailedWithUnknownMessageIsLogic) {
  std::string log = std::string(kCodexJsonStart) +
                    R"({"type":"turn.failed","error":{"message":"the model refused"}})"
                    "\n";
  ExpectFailed(Read(FindAgentCli("codex"), 0, log), FailureClass::kLogic,
               "codex: turn failed: \"the model refused\"");
}

class AgentLaunchTest : public ::testing::Test {
 protected:
  // A codex attempt whose CODEX_HOME holds `config` (none when empty).
  Launch Codex(const std::string& config, Words argv = {"codex", "exec", "--json", "P"}) {
    if (!config.empty()) std::ofstream(home_ + "/config.toml") << config;
    Launch spec;
    spec.argv = std::move(argv);
    spec.env = {"PATH=/usr/bin", "CODEX_HOME=" + home_};
    agents::CapCodexRetries(&spec.argv, &spec.env);
    return spec;
  }

  TempDir dir_;
  std::string home_ = dir_.path().string();
};

TEST_F(AgentLaunchTest, CodexCustomProviderGetsBothCapsAfterExec) {
  Launch spec = Codex(
      "model = \"mock-model\"\n"
      "model_provider = \"mock\"  # a comment\n"
      "\n[model_providers.mock]\nname = \"Mock\"\nbase_url = \"http://127.0.0.1:1/v1\"\n");
  EXPECT_EQ(spec.argv, (Words{"codex", "exec", "-c", "features.unbounded_connection_retries=false",
                              "-c", "model_providers.mock.request_max_retries=1", "-c",
                              "model_providers.mock.stream_max_retries=1", "--json", "P"}));
}

TEST_F(AgentLaunchTest, CodexKeepsACapTheConfigSets) {
  Launch spec = Codex(
      "model_provider = 'corp'\n"
      "[model_providers.corp]\nstream_max_retries = 9\n"
      "[model_providers.other]\nrequest_max_retries = 9\n");
  EXPECT_EQ(spec.argv, (Words{"codex", "exec", "-c", "features.unbounded_connection_retries=false",
                              "-c", "model_providers.corp.request_max_retries=1", "--json", "P"}));
}

TEST_F(AgentLaunchTest, CodexKeepsACapTheCommandSets) {
  Words own = {"codex", "exec",
               "-c",    "features.unbounded_connection_retries=true",
               "-c",    "model_providers.mock.stream_max_retries=4",
               "-c",    "model_providers.mock.request_max_retries=0",
               "P"};
  EXPECT_EQ(Codex("model_provider = \"mock\"\n", own).argv, own);
}

TEST_F(AgentLaunchTest, CodexProviderChosenOnTheCommandLine) {
  Launch spec =
      Codex("model_provider = \"mock\"\n", {"codex", "exec", "-c", "model_provider=azure", "P"});
  EXPECT_EQ(spec.argv[4], "-c");
  EXPECT_EQ(spec.argv[5], "model_providers.azure.request_max_retries=1");
}

TEST_F(AgentLaunchTest, CodexBuiltInProvidersCannotBeCapped) {
  // codex refuses to start when a setting names a built-in provider; the reconnecting is bounded
  // all the same.
  for (const char* config :
       {"", "model = \"gpt-5.5\"\n", "model_provider = \"openai\"\n",
        "model_provider = \"ollama\"\n", "[model_providers.mock]\nmodel_provider = \"mock\"\n"}) {
    Launch spec = Codex(config);
    EXPECT_EQ(spec.argv, (Words{"codex", "exec", "-c",
                                "features.unbounded_connection_retries=false", "--json", "P"}))
        << config;
    std::filesystem::remove(home_ + "/config.toml");
  }
}

// An ordinary config (the built-in provider) with no server to reach: codex's reconnecting, which
// would otherwise go on for ever, is turned off.
TEST_F(AgentLaunchTest, CodexReconnectingIsBoundedForAnyProvider) {
  for (const char* config : {"", "model_provider = \"mock\"\n"}) {
    Launch spec = Codex(config);
    ASSERT_GE(spec.argv.size(), 4U) << config;
    EXPECT_EQ(spec.argv[2], "-c") << config;
    EXPECT_EQ(spec.argv[3], "features.unbounded_connection_retries=false") << config;
    std::filesystem::remove(home_ + "/config.toml");
  }
}

TEST_F(AgentLaunchTest, CodexConfigFromHomeWithoutCodexHome) {
  std::filesystem::create_directory(home_ + "/.codex");
  std::ofstream(home_ + "/.codex/config.toml") << "model_provider = \"mock\"\n";
  Launch spec;
  spec.argv = {"/opt/bin/codex", "P"};
  spec.env = {"HOME=" + home_};
  agents::CapCodexRetries(&spec.argv, &spec.env);
  EXPECT_EQ(spec.argv, (Words{"/opt/bin/codex", "-c", "features.unbounded_connection_retries=false",
                              "-c", "model_providers.mock.request_max_retries=1", "-c",
                              "model_providers.mock.stream_max_retries=1", "P"}));
}

}  // namespace
}  // namespace mex::agent_testing
