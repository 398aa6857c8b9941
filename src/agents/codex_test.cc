#include "agents/codex.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "exec/environment.h"
#include "tests/test_util.h"

namespace mex {
namespace {

using testing_util::TempDir;
using Words = std::vector<std::string>;

class AgentLaunchTest : public ::testing::Test {
 protected:
  // A codex attempt whose CODEX_HOME holds `config` (none when empty).
  AttemptSpec Codex(const std::string& config, Words argv = {"codex", "exec", "--json", "P"}) {
    if (!config.empty()) std::ofstream(home_ + "/config.toml") << config;
    AttemptSpec spec;
    spec.argv = std::move(argv);
    spec.env = {"PATH=/usr/bin", "CODEX_HOME=" + home_};
    CapAgentRetries(AgentDialect::kCodex, &spec);
    return spec;
  }

  TempDir dir_;
  std::string home_ = dir_.path().string();
};

TEST(AgentLaunchEnvTest, ClaudeGetsItsRetryCapUnlessSet) {
  AttemptSpec spec;
  spec.env = {"HOME=/h"};
  CapAgentRetries(AgentDialect::kClaude, &spec);
  EXPECT_EQ(FindEnv(spec.env, "CLAUDE_CODE_MAX_RETRIES"), "2");

  spec.env = {"CLAUDE_CODE_MAX_RETRIES=7"};  // the user's own, from any of the env layers
  CapAgentRetries(AgentDialect::kClaude, &spec);
  EXPECT_EQ(spec.env, Words{"CLAUDE_CODE_MAX_RETRIES=7"});
}

TEST(AgentLaunchEnvTest, OtherAgentsAreLeftAlone) {
  for (AgentDialect d : {AgentDialect::kNone, AgentDialect::kGemini}) {
    AttemptSpec spec;
    spec.argv = {"gemini", "-p", "x"};
    spec.env = {"HOME=/h"};
    CapAgentRetries(d, &spec);
    EXPECT_EQ(spec.argv, (Words{"gemini", "-p", "x"}));
    EXPECT_EQ(spec.env, Words{"HOME=/h"});
  }
}

TEST_F(AgentLaunchTest, CodexCustomProviderGetsBothCapsAfterExec) {
  AttemptSpec spec = Codex(
      "model = \"mock-model\"\n"
      "model_provider = \"mock\"  # a comment\n"
      "\n[model_providers.mock]\nname = \"Mock\"\nbase_url = \"http://127.0.0.1:1/v1\"\n");
  EXPECT_EQ(spec.argv, (Words{"codex", "exec", "-c", "model_providers.mock.request_max_retries=1",
                              "-c", "model_providers.mock.stream_max_retries=1", "--json", "P"}));
}

TEST_F(AgentLaunchTest, CodexKeepsACapTheConfigSets) {
  AttemptSpec spec = Codex(
      "model_provider = 'corp'\n"
      "[model_providers.corp]\nstream_max_retries = 9\n"
      "[model_providers.other]\nrequest_max_retries = 9\n");
  EXPECT_EQ(spec.argv, (Words{"codex", "exec", "-c", "model_providers.corp.request_max_retries=1",
                              "--json", "P"}));
}

TEST_F(AgentLaunchTest, CodexKeepsACapTheCommandSets) {
  Words own = {"codex", "exec",
               "-c",    "model_providers.mock.stream_max_retries=4",
               "-c",    "model_providers.mock.request_max_retries=0",
               "P"};
  EXPECT_EQ(Codex("model_provider = \"mock\"\n", own).argv, own);
}

TEST_F(AgentLaunchTest, CodexProviderChosenOnTheCommandLine) {
  AttemptSpec spec =
      Codex("model_provider = \"mock\"\n", {"codex", "exec", "-c", "model_provider=azure", "P"});
  EXPECT_EQ(spec.argv[2], "-c");
  EXPECT_EQ(spec.argv[3], "model_providers.azure.request_max_retries=1");
}

TEST_F(AgentLaunchTest, CodexBuiltInProvidersCannotBeCapped) {
  // codex refuses to start when a setting names a built-in provider.
  for (const char* config :
       {"", "model = \"gpt-5.5\"\n", "model_provider = \"openai\"\n",
        "model_provider = \"ollama\"\n", "[model_providers.mock]\nmodel_provider = \"mock\"\n"}) {
    AttemptSpec spec = Codex(config);
    EXPECT_EQ(spec.argv, (Words{"codex", "exec", "--json", "P"})) << config;
    std::filesystem::remove(home_ + "/config.toml");
  }
}

TEST_F(AgentLaunchTest, CodexConfigFromHomeWithoutCodexHome) {
  std::filesystem::create_directory(home_ + "/.codex");
  std::ofstream(home_ + "/.codex/config.toml") << "model_provider = \"mock\"\n";
  AttemptSpec spec;
  spec.argv = {"/opt/bin/codex", "P"};
  spec.env = {"HOME=" + home_};
  CapAgentRetries(AgentDialect::kCodex, &spec);
  EXPECT_EQ(spec.argv, (Words{"/opt/bin/codex", "-c", "model_providers.mock.request_max_retries=1",
                              "-c", "model_providers.mock.stream_max_retries=1", "P"}));
}

TEST(EnvironmentTest, SetReplacesAndFindReads) {
  Words env = {"A=1", "AB=2"};
  SetEnv(&env, "A", "3");
  SetEnv(&env, "C", "x=y");
  EXPECT_EQ(env, (Words{"A=3", "AB=2", "C=x=y"}));
  EXPECT_EQ(FindEnv(env, "C"), "x=y");
  EXPECT_EQ(FindEnv(env, "AB"), "2");
  EXPECT_FALSE(FindEnv(env, "B"));
}

}  // namespace
}  // namespace mex
