#include "agents/gemini.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "agents/agent_log.h"

namespace mex::agents {
namespace {

// gemini exits 1 in text mode, for a bad flag and when nothing answers (with -o json an API error
// exits with its HTTP status mod 256).
constexpr KnownText kGeminiExitOneTexts[] = {
    {"fetch failed", FailureClass::kTransient, "connection failed (fetch failed)"},
    {"unknown arguments", FailureClass::kPermanent, "bad command-line arguments"},
    {"invalid values:", FailureClass::kPermanent, "bad command-line arguments"},
};

// With -o json gemini prints {session_id, response, stats} on stdout, or on an error
// {session_id?, error: {type, message, code}} on stderr; -o stream-json ends with a result event.
bool IsGeminiObject(const json& object) {
  const json* error = Field(object, "error");
  return Field(object, "response") != nullptr || Field(object, "stats") != nullptr ||
         (error != nullptr && error->is_object());
}

void ReadGeminiUsage(const json& object, AgentVerdict* v) {
  const json* stats = Field(object, "stats");
  if (stats == nullptr) return;
  // -o stream-json: the result event's stats have the totals.
  if (Field(*stats, "input_tokens") != nullptr || Field(*stats, "output_tokens") != nullptr) {
    v->input_tokens = TokenField(*stats, "input_tokens");
    v->output_tokens = TokenField(*stats, "output_tokens");
    return;
  }
  // -o json: per model, tokens {input, prompt, candidates, total, cached, thoughts}.
  const json* models = Field(*stats, "models");
  if (models == nullptr || !models->is_object()) return;
  bool any = false;
  int64_t in = 0;
  int64_t out = 0;
  for (const json& model : *models) {
    const json* tokens = Field(model, "tokens");
    if (tokens == nullptr || !tokens->is_object()) continue;
    std::optional<int64_t> input = TokenField(*tokens, "input");
    if (!input) input = TokenField(*tokens, "prompt");
    std::optional<int64_t> candidates = TokenField(*tokens, "candidates");
    if (!input && !candidates) continue;
    any = true;
    in = AddTokens(in, input.value_or(0));
    out = AddTokens(out, candidates.value_or(0));
  }
  if (any) {
    v->input_tokens = in;
    v->output_tokens = out;
  }
}

// The tools gemini refused in a run that still exited 0, or "". An approval mode that does not
// allow a tool removes it, and a call to it fails with `Tool "write_file" not found` on stderr
// (stats.tools.byName.write_file.fail counts it); a call a policy rejects counts in
// decisions.reject.
std::string GeminiRefusal(const json& result, std::string_view log) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  const json* stats = Field(result, "stats");
  const json* tools = stats ? Field(*stats, "tools") : nullptr;
  const json* by_name = tools ? Field(*tools, "byName") : nullptr;
  if (by_name == nullptr || !by_name->is_object()) return "";
  std::string lower;  // the log in lower case, made for the first failed call
  for (const auto& [name, tool] : by_name->items()) {
    const json* decisions = Field(tool, "decisions");
    bool rejected = decisions && IntField(*decisions, "reject").value_or(0) > 0;
    bool failed = IntField(tool, "fail").value_or(0) > 0;
    if (failed && lower.empty()) lower = Lower(log);
    if (rejected || (failed && Contains(lower, "tool \"" + Lower(name) + "\" not found"))) {
      add(name);
    }
  }
  if (names.empty()) return "";
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return "the approval mode refused " + joined +
         " (--approval-mode auto_edit allows file edits, yolo also shell commands)";
}

// gemini's own exit codes (its local checks), by what they mean.
std::optional<Cause> GeminiExitCause(int exit_code) {
  switch (exit_code) {
    case 41:
      return Cause{FailureClass::kPermanent,
                   "authentication failed (no usable auth method or API key)"};
    case 42:
      return Cause{FailureClass::kPermanent,
                   "no input (empty prompt, or a flag needing a terminal)"};
    case 52:
      return Cause{FailureClass::kPermanent, "bad configuration (settings.json)"};
    case 53:
      return Cause{FailureClass::kLogic, "turn limit reached (model.maxSessionTurns)"};
    case 54:
      return Cause{FailureClass::kLogic, "a tool failed fatally"};
    case 55:
      return Cause{FailureClass::kPermanent,
                   "folder not trusted (GEMINI_CLI_TRUST_WORKSPACE=true or --skip-trust)"};
    default:
      return std::nullopt;
  }
}

// The HTTP status behind an exit code: the error object's code when the exit code is that code
// mod 256, else the statuses measured (401→145, 429→173, 500→244).
int64_t GeminiHttpStatus(int exit_code, const json* error) {
  if (error != nullptr) {
    std::optional<int64_t> code = IntField(*error, "code");
    if (code && *code >= 400 && *code <= 599 && *code % 256 == exit_code) return *code;
  }
  switch (exit_code) {
    case 145:
      return 401;
    case 173:
      return 429;
    case 244:
      return 500;
    default:
      return 0;
  }
}

}  // namespace

// Only its settings.json can (gemini.h).
void CapGeminiRetries(std::vector<std::string>* /*argv*/, std::vector<std::string>* /*env*/) {}

AgentVerdict JudgeGemini(int exit_code, std::string_view log) {
  AgentVerdict v;
  std::optional<json> object = LastObject(log, IsGeminiObject);
  if (object) ReadGeminiUsage(*object, &v);
  if (exit_code < 0) return v;
  const json* error = object ? Field(*object, "error") : nullptr;
  if (error != nullptr && !error->is_object()) error = nullptr;
  if (exit_code == 0) {
    if (!object) return v;
    // A broken stream ends with exit 0, a partial response and error.type "INVALID_STREAM".
    if (error != nullptr) {
      std::string type = StringField(*error, "type");
      return Fail(
          v, FailureClass::kTransient,
          "gemini: exit 0 but the answer broke off (" + (type.empty() ? "error" : type) + ")");
    }
    if (std::string refused = GeminiRefusal(*object, log); !refused.empty()) {
      return Fail(v, FailureClass::kLogic, "gemini: " + refused + " (the work was not done)");
    }
    return Done(v, "gemini: done");
  }
  std::string prefix = "gemini: exit " + std::to_string(exit_code) + ": ";
  if (int64_t status = GeminiHttpStatus(exit_code, error); status != 0) {
    if (std::optional<Cause> cause = HttpCause(status)) {
      return Fail(v, cause->failure_class, prefix + cause->label);
    }
    return Fail(v, FailureClass::kLogic, prefix + "API error " + std::to_string(status));
  }
  if (std::optional<Cause> cause = GeminiExitCause(exit_code)) {
    return Fail(v, cause->failure_class, prefix + cause->label);
  }
  if (exit_code != 1) return v;
  return FailFor(v, FindLastText(Lower(log), kGeminiExitOneTexts, std::size(kGeminiExitOneTexts)),
                 prefix);
}

}  // namespace mex::agents
