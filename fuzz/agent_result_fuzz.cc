// What an agent CLI reported, read from an attempt's log by the rules of the CLI named
// MEX_FUZZ_CLI: fuzz/CMakeLists.txt builds one target per CLI (fuzz_agent_claude, _codex,
// _gemini), as each CLI has rules of its own and a corpus that grows toward them. The first byte
// of the input picks the exit code, the rest is the log.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "agents/agent_cli.h"
#include "fuzz/require.h"

namespace {

// The exit codes the rules of src/agents/ tell apart, and two they do not: 0, 1 and -1 (a
// signal) first, which fuzz/make_corpus.py gives each seed log as bytes 0, 1 and 2.
constexpr int kExitCodes[] = {0, 1, -1, 2, 41, 42, 52, 53, 54, 55, 145, 173, 244, 3, 130, 137};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mex::fuzz::Require;
  static const mex::AgentCli* const cli = mex::FindAgentCli(MEX_FUZZ_CLI);
  Require(cli != nullptr, "MEX_FUZZ_CLI names a CLI of the table");
  if (size == 0) return 0;
  const int exit_code = kExitCodes[data[0] % std::size(kExitCodes)];
  const std::string_view log(reinterpret_cast<const char*>(data) + 1, size - 1);
  mex::AgentVerdict v = cli->judge(exit_code, log);
  Require(exit_code >= 0 || !v.judged, "an attempt killed by a signal is left to the engine");
  Require(!v.judged || !v.reason.empty(), "a verdict gives its reason");
  Require(v.reason.find_first_of("\r\n") == std::string::npos, "a reason is one line");
  Require(!v.cost_usd || (std::isfinite(*v.cost_usd) && *v.cost_usd >= 0),
          "a cost is a finite amount >= 0");
  Require(v.input_tokens.value_or(0) >= 0 && v.output_tokens.value_or(0) >= 0,
          "token counts are >= 0");
  return 0;
}
