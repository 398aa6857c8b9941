// What the tests of src/agents/ share: a folder for the attempt's log, claude's result objects
// (the common tests read them with every CLI), and the check of a failed verdict.
#pragma once

#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agents/agent_cli.h"
#include "util/folder.h"

namespace mex::agent_testing {

using Words = std::vector<std::string>;

// What AgentCli::cap_retries changes of an attempt.
struct Launch {
  Words argv;
  Words env;
};

// The shapes below follow what agent-lab measured on the real CLIs (findings/claude.md and
// findings/codex-gemini.md); the texts are our own.

inline std::string ClaudeResult(const std::string& fields) {
  return R"({"type":"result","subtype":"success",)" + fields + "}\n";
}

inline constexpr const char* kClaudeSuccess =
    R"({"type":"result","subtype":"success","is_error":false,"api_error_status":null,)"
    R"("duration_ms":312,"num_turns":1,"result":"Wrote the plan.","stop_reason":"end_turn",)"
    R"("session_id":"5c0d9a7e-1111","total_cost_usd":0.000235,"usage":{"input_tokens":12,)"
    R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7,)"
    R"("server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},)"
    R"("service_tier":"standard"},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":12,)"
    R"("outputTokens":7,"costUSD":0.000235,"contextWindow":1000000,"maxOutputTokens":64000}},)"
    R"("permission_denials":[],"terminal_reason":"completed","uuid":"9f1e"})"
    "\n";

inline std::string ClaudeApiError(const std::string& status, const std::string& text) {
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

  // Writes `log` as the attempt's log and reads it as `cli` would have left it.
  AgentVerdict Read(const AgentCli* cli, int exit_code, const std::string& log) {
    std::string path = dir_ + "/1.log";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << log;
    return ReadAgentResult(*cli, exit_code, folder_, path);
  }

  std::string dir_;
  Folder folder_;
};

inline void ExpectFailed(const AgentVerdict& v, FailureClass c, const std::string& reason) {
  EXPECT_TRUE(v.judged);
  EXPECT_TRUE(v.failed);
  EXPECT_EQ(v.failure_class, c);
  EXPECT_EQ(v.reason, reason);
}

}  // namespace mex::agent_testing
