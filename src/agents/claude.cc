#include "agents/claude.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "agents/agent_log.h"
#include "util/environment.h"

namespace mex::agents {
namespace {

// claude prints one result object on stdout, API errors included; these usage errors come without
// one (exit 1).
constexpr KnownText kClaudeTexts[] = {
    {"cannot be used with root/sudo privileges", FailureClass::kPermanent,
     "--dangerously-skip-permissions is refused as root (IS_SANDBOX=1 allows it)"},
    {"input must be provided either through stdin or as a prompt argument",
     FailureClass::kPermanent, "no prompt reached it"},
    {"requires --verbose", FailureClass::kPermanent,
     "--output-format=stream-json requires --verbose"},
};

bool IsClaudeResult(const json& object) {
  return StringField(object, "type") == "result";
}

void ReadClaudeUsage(const json& result, AgentVerdict* v) {
  v->cost_usd = CostField(result, "total_cost_usd");
  if (const json* usage = Field(result, "usage")) {
    v->input_tokens = TokenField(*usage, "input_tokens");
    v->output_tokens = TokenField(*usage, "output_tokens");
  }
  // claude prices its cost from `modelUsage`, summed over its models, and that is what the tokens
  // are read from when it is there: after its non-streaming fallback (a stream cut mid-answer)
  // the result's `usage` reads 0/0, or only the re-fetched turn's share (300/12 against 1200/52).
  // inputTokens, like usage's input_tokens, leaves out the cache read and creation tokens.
  int64_t model_in = 0;
  int64_t model_out = 0;
  bool have_models = false;
  std::optional<double> model_cost;
  if (const json* models = Field(result, "modelUsage"); models && models->is_object()) {
    for (const json& model : *models) {
      if (!model.is_object()) continue;
      have_models = true;
      model_in = AddTokens(model_in, TokenField(model, "inputTokens").value_or(0));
      model_out = AddTokens(model_out, TokenField(model, "outputTokens").value_or(0));
      if (std::optional<double> cost = CostField(model, "costUSD")) {
        model_cost = model_cost.value_or(0) + *cost;
      }
    }
  }
  if (have_models) {
    v->input_tokens = model_in;
    v->output_tokens = model_out;
  }
  if (!v->cost_usd) v->cost_usd = model_cost;
}

// The names of the tools claude was refused, each once, in order.
std::string DeniedTools(const json& result) {
  const json* denials = Field(result, "permission_denials");
  if (denials == nullptr || !denials->is_array() || denials->empty()) return "";
  std::vector<std::string> names;
  for (const json& denial : *denials) {
    std::string name = StringField(denial, "tool_name");
    if (name.empty()) continue;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (names.empty()) return "a tool";
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

// is_error: true. The class comes from api_error_status, else from the text of the error.
void JudgeClaudeError(const json& result, AgentVerdict* v) {
  std::string text = StringField(result, "result");
  std::optional<int64_t> status = IntField(result, "api_error_status");
  if (status) {
    if (std::optional<Cause> cause = HttpCause(*status)) {
      Fail(*v, cause->failure_class, "claude: " + cause->label);
    } else {
      Fail(*v, FailureClass::kLogic,
           "claude: API error " + std::to_string(*status) + ": " + Quote(text));
    }
    return;
  }
  // Repeated 529s end with api_error_status null: "API Error: Repeated 529 Overloaded errors".
  std::string lower = Lower(text);
  std::optional<Cause> cause;
  if (Contains(lower, "overloaded")) {
    cause = HttpCause(529);
  } else if (Contains(lower, "(429)") || Contains(lower, "rate limit")) {
    cause = HttpCause(429);
  } else if (Contains(lower, "invalid api key")) {
    cause = HttpCause(401);
  }
  if (cause) {
    Fail(*v, cause->failure_class, "claude: " + cause->label);
    return;
  }
  std::string subtype = StringField(result, "subtype");
  std::string what = subtype.empty() || subtype == "success" ? "error" : "error (" + subtype + ")";
  Fail(*v, FailureClass::kLogic, "claude: " + what + ": " + Quote(text));
}

}  // namespace

void CapClaudeRetries(std::vector<std::string>* /*argv*/, std::vector<std::string>* env) {
  if (!FindEnv(*env, "CLAUDE_CODE_MAX_RETRIES")) {
    SetEnv(env, "CLAUDE_CODE_MAX_RETRIES", std::to_string(kClaudeMaxRetries));
  }
}

AgentVerdict JudgeClaude(int exit_code, std::string_view log) {
  AgentVerdict v;
  std::optional<json> result = LastObject(log, IsClaudeResult);
  if (result) ReadClaudeUsage(*result, &v);
  if (exit_code < 0) return v;
  if (!result) {
    if (exit_code == 0) return v;
    if (std::optional<Cause> cause =
            FindLastText(Lower(log), kClaudeTexts, std::size(kClaudeTexts))) {
      Fail(v, cause->failure_class,
           "claude: exit " + std::to_string(exit_code) + ": " + cause->label);
    }
    return v;
  }
  if (IsTrue(*result, "is_error")) {
    JudgeClaudeError(*result, &v);
    return v;
  }
  if (exit_code != 0) return v;  // not an outcome claude was seen to give: the defaults decide
  // Refused tools still give exit 0 and is_error false; the final text may claim the work done.
  if (std::string denied = DeniedTools(*result); !denied.empty()) {
    return Fail(v, FailureClass::kLogic,
                "claude: permission denied for " + denied + " (the work was not done)");
  }
  return Done(v, "claude: done");
}

}  // namespace mex::agents
