#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agents/agent_cli.h"

namespace mex {
namespace {

using nlohmann::json;

constexpr size_t kTailBytes = 256 * 1024;
// How many bytes the search for JSON objects may walk and parse in all: a log full of braces that
// never close costs 32 passes over the tail, not one per line.
constexpr size_t kScanBudget = 32 * kTailBytes;
// A result object nests a few levels; text that nests deeper is not one.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxQuote = 80;
constexpr size_t kNpos = std::string_view::npos;

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != kNpos;
}

// `text` as one line of at most kMaxQuote bytes in quotes, for a reason.
std::string Quote(std::string_view text) {
  size_t length = std::min(text.size(), kMaxQuote);
  if (length < text.size()) {  // never cut inside a UTF-8 sequence
    while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
  }
  std::string quoted(text.substr(0, length));
  for (char& c : quoted) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (length < text.size()) quoted += "...";
  return "\"" + quoted + "\"";
}

// One past the brace that closes the object opening at text[open], or kNpos when it does not
// close in `text`, nests deeper than kMaxDepth, breaks a string across lines or uses up *budget.
size_t ObjectEnd(std::string_view text, size_t open, size_t* budget) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = open; i < text.size(); ++i) {
    if (*budget == 0) return kNpos;
    --*budget;
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      } else if (c == '\n') {
        return kNpos;  // JSON strings hold no raw newline: the quote was someone's text
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return kNpos;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return kNpos;
}

// The last JSON object in `text` for which `wanted` holds. An object is looked for at the first
// '{' of each line, last line first: the agents print their objects at the start of a line (one
// line, or pretty-printed) or after a prefix ("[ERROR] {...}"), between lines of other text.
template <typename Wanted>
std::optional<json> LastObject(std::string_view text, const Wanted& wanted) {
  std::vector<size_t> line_starts = {0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts.push_back(i + 1);
  }
  size_t budget = kScanBudget;
  for (size_t k = line_starts.size(); k-- > 0;) {
    size_t start = line_starts[k];
    size_t end = k + 1 < line_starts.size() ? line_starts[k + 1] : text.size();
    size_t brace = text.substr(start, end - start).find('{');
    if (brace == kNpos) continue;
    size_t open = start + brace;
    size_t close = ObjectEnd(text, open, &budget);
    if (close == kNpos) {
      if (budget == 0) break;
      continue;
    }
    if (close - open > budget) break;
    budget -= close - open;
    json object = json::parse(text.begin() + static_cast<std::ptrdiff_t>(open),
                              text.begin() + static_cast<std::ptrdiff_t>(close), nullptr, false);
    if (!object.is_discarded() && object.is_object() && wanted(object)) return object;
  }
  return std::nullopt;
}

const json* Field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringField(const json& object, const char* key) {
  const json* value = Field(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : "";
}

bool IsTrue(const json& object, const char* key) {
  const json* value = Field(object, key);
  return value != nullptr && value->is_boolean() && value->get<bool>();
}

// A whole number in the range of int64_t, or nullopt.
std::optional<int64_t> IntField(const json& object, const char* key) {
  const json* value = Field(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_number_unsigned()) {
    auto u = value->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_number_float()) {
    double d = value->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

// A token count: a whole number >= 0.
std::optional<int64_t> TokenField(const json& object, const char* key) {
  std::optional<int64_t> n = IntField(object, key);
  if (n && *n < 0) return std::nullopt;
  return n;
}

// An amount of money: a finite number >= 0.
std::optional<double> CostField(const json& object, const char* key) {
  const json* value = Field(object, key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  double d = value->get<double>();
  if (!std::isfinite(d) || d < 0) return std::nullopt;
  return d;
}

int64_t AddTokens(int64_t a, int64_t b) {
  return b > std::numeric_limits<int64_t>::max() - a ? std::numeric_limits<int64_t>::max() : a + b;
}

// What a failure was caused by, as read from a status, an exit code or a known text.
struct Cause {
  FailureClass failure_class = FailureClass::kLogic;
  std::string label;  // "API error 429 (rate limited)"
};

// HTTP statuses of the model APIs: a refused credential does not get better by waiting; a rate
// limit, an overloaded or failing server does.
std::optional<Cause> HttpCause(int64_t status) {
  std::string api = "API error " + std::to_string(status);
  switch (status) {
    case 401:
      return Cause{FailureClass::kPermanent, api + " (unauthorized: credentials refused)"};
    case 403:
      return Cause{FailureClass::kPermanent, api + " (forbidden)"};
    case 408:
      return Cause{FailureClass::kTransient, api + " (request timeout)"};
    case 429:
      return Cause{FailureClass::kTransient, api + " (rate limited)"};
    case 529:
      return Cause{FailureClass::kTransient, api + " (overloaded)"};
    default:
      break;
  }
  if (status >= 500 && status <= 599) {
    return Cause{FailureClass::kTransient, api + " (server error)"};
  }
  return std::nullopt;
}

// A text an agent prints for a cause, matched in lower case.
struct KnownText {
  std::string_view needle;
  FailureClass failure_class;
  std::string_view label;
};

// The known text found last in `lower`, the most recent cause.
std::optional<Cause> FindLastText(std::string_view lower, const KnownText* texts, size_t count,
                                  size_t* found_at = nullptr) {
  std::optional<Cause> best;
  size_t best_pos = 0;
  for (size_t i = 0; i < count; ++i) {
    size_t pos = lower.rfind(texts[i].needle);
    if (pos == kNpos || (best && pos <= best_pos)) continue;
    best = Cause{texts[i].failure_class, std::string(texts[i].label)};
    best_pos = pos;
  }
  if (best && found_at != nullptr) *found_at = best_pos;
  return best;
}

AgentVerdict& Fail(AgentVerdict& v, FailureClass c, std::string reason) {
  v.judged = true;
  v.failed = true;
  v.failure_class = c;
  // A reason names what the agent's JSON says (claude's subtype and refused tools, gemini's error
  // type and tools), where "\n" is a newline: the reason stays one line, as Quote keeps a text.
  for (char& ch : reason) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  v.reason = std::move(reason);
  return v;
}

AgentVerdict& Done(AgentVerdict& v, std::string reason) {
  v.judged = true;
  v.failed = false;
  v.reason = std::move(reason);
  return v;
}

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
  // After its non-streaming fallback claude reports `usage` 0/0 while `modelUsage` and
  // `total_cost_usd` hold the numbers.
  int64_t model_in = 0;
  int64_t model_out = 0;
  std::optional<double> model_cost;
  if (const json* models = Field(result, "modelUsage"); models && models->is_object()) {
    for (const json& model : *models) {
      model_in = AddTokens(model_in, TokenField(model, "inputTokens").value_or(0));
      model_out = AddTokens(model_out, TokenField(model, "outputTokens").value_or(0));
      if (std::optional<double> cost = CostField(model, "costUSD")) {
        model_cost = model_cost.value_or(0) + *cost;
      }
    }
  }
  bool usage_empty = v->input_tokens.value_or(0) == 0 && v->output_tokens.value_or(0) == 0;
  if (usage_empty && (model_in > 0 || model_out > 0)) {
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

// codex exits 1 for every API failure and names the cause only in its text (with --json also in
// the turn.failed event that ends its JSONL).
constexpr KnownText kCodexTexts[] = {
    {"connection failed", FailureClass::kTransient, "connection failed"},
    {"currently experiencing high demand", FailureClass::kTransient, "server error (high demand)"},
    {"missing environment variable", FailureClass::kPermanent,
     "missing environment variable (API key not set)"},
    {"not inside a trusted directory", FailureClass::kPermanent,
     "not inside a trusted directory (--skip-git-repo-check)"},
    {"no prompt provided", FailureClass::kPermanent, "no prompt reached it"},
};

// Where codex names an HTTP status: "unexpected status 401 Unauthorized", "exceeded retry limit,
// last status: 429 Too Many Requests".
constexpr std::string_view kCodexStatusWords[] = {"unexpected status ", "last status: "};

// The HTTP status codex names last in `lower`, with its position.
std::optional<int64_t> FindLastCodexStatus(std::string_view lower, size_t* found_at) {
  std::optional<int64_t> best;
  for (std::string_view words : kCodexStatusWords) {
    for (size_t pos = lower.rfind(words); pos != kNpos;
         pos = pos == 0 ? kNpos : lower.rfind(words, pos - 1)) {
      size_t digits = pos + words.size();
      if (digits + 3 > lower.size()) continue;
      std::string_view number = lower.substr(digits, 3);
      bool three =
          std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!three ||
          (digits + 3 < lower.size() && lower[digits + 3] >= '0' && lower[digits + 3] <= '9')) {
        continue;
      }
      if (!best || pos > *found_at) {
        best = std::stoll(std::string(number));
        *found_at = pos;
      }
      break;  // the last of this form
    }
  }
  return best;
}

// The cause codex printed last in `text`.
std::optional<Cause> FindCodexCause(std::string_view text) {
  std::string lower = Lower(text);
  size_t text_at = 0;
  std::optional<Cause> cause = FindLastText(lower, kCodexTexts, std::size(kCodexTexts), &text_at);
  size_t status_at = 0;
  std::optional<int64_t> status = FindLastCodexStatus(lower, &status_at);
  if (!status || (cause && text_at > status_at)) return cause;
  if (std::optional<Cause> http = HttpCause(*status)) return http;
  return Cause{FailureClass::kLogic, "API error " + std::to_string(*status)};
}

// What codex's sandbox or approval policy refused during the turn, as a few words, or "".
std::string CodexRefusal(std::string_view log) {
  std::string lower = Lower(log);
  if (Contains(lower, "patch rejected") || Contains(lower, "blocked by read-only sandbox")) {
    return "the sandbox refused a file write (apply_patch: writing is blocked by the read-only "
           "sandbox; -s workspace-write allows it)";
  }
  if (Contains(lower, "rejected by user approval settings")) {
    return "a tool call was rejected by its approval settings";
  }
  return "";
}

bool IsCodexTurnEnd(const json& object) {
  std::string type = StringField(object, "type");
  return type == "turn.completed" || type == "turn.failed";
}

AgentVerdict JudgeCodex(int exit_code, std::string_view log) {
  AgentVerdict v;
  std::optional<json> turn = LastObject(log, IsCodexTurnEnd);
  bool failed_turn = turn && StringField(*turn, "type") == "turn.failed";
  if (turn && !failed_turn) {
    if (const json* usage = Field(*turn, "usage")) {
      v.input_tokens = TokenField(*usage, "input_tokens");
      v.output_tokens = TokenField(*usage, "output_tokens");
    }
  }
  if (exit_code < 0) return v;
  if (failed_turn) {
    std::string message;
    if (const json* error = Field(*turn, "error")) message = StringField(*error, "message");
    std::optional<Cause> cause = FindCodexCause(message);
    if (!cause) cause = FindCodexCause(log);
    if (cause) return Fail(v, cause->failure_class, "codex: " + cause->label);
    return Fail(v, FailureClass::kLogic, "codex: turn failed: " + Quote(message));
  }
  if (exit_code == 0) {
    if (!turn) return v;
    // A write refused by the sandbox still completes the turn with exit 0; only a line on
    // stderr tells ("ERROR codex_core::tools::router: error=patch rejected: writing is blocked
    // by read-only sandbox; rejected by user approval settings").
    if (std::string refused = CodexRefusal(log); !refused.empty()) {
      return Fail(v, FailureClass::kLogic, "codex: " + refused + " (the work was not done)");
    }
    return Done(v, "codex: done");
  }
  if (exit_code == 2) {
    return Fail(v, FailureClass::kPermanent, "codex: exit 2: bad command-line arguments");
  }
  if (exit_code != 1) return v;
  if (std::optional<Cause> cause = FindCodexCause(log)) {
    Fail(v, cause->failure_class, "codex: " + cause->label);
  }
  return v;
}

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
  auto add = [&](std::string name) {
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
  if (std::optional<Cause> cause =
          FindLastText(Lower(log), kGeminiExitOneTexts, std::size(kGeminiExitOneTexts))) {
    Fail(v, cause->failure_class, prefix + cause->label);
  }
  return v;
}

}  // namespace

AgentDialect DialectOf(const Agent& agent) {
  if (agent.command.empty()) return AgentDialect::kNone;
  std::string_view program = agent.command.front();
  if (size_t slash = program.rfind('/'); slash != kNpos) program.remove_prefix(slash + 1);
  // npm links node_modules/.bin/claude to bin/claude.exe.
  if (program.ends_with(".exe")) program.remove_suffix(4);
  if (program == "claude") return AgentDialect::kClaude;
  if (program == "codex") return AgentDialect::kCodex;
  if (program == "gemini") return AgentDialect::kGemini;
  return AgentDialect::kNone;
}

AgentVerdict ReadAgentResult(AgentDialect d, int exit_code, const Folder& folder,
                             const std::string& log_path) {
  if (d == AgentDialect::kNone) return AgentVerdict{};
  return JudgeAgentLog(d, exit_code, folder.ReadTail(log_path, kTailBytes));
}

AgentVerdict JudgeAgentLog(AgentDialect d, int exit_code, std::string_view log) {
  switch (d) {
    case AgentDialect::kClaude:
      return JudgeClaude(exit_code, log);
    case AgentDialect::kCodex:
      return JudgeCodex(exit_code, log);
    case AgentDialect::kGemini:
      return JudgeGemini(exit_code, log);
    case AgentDialect::kNone:
      break;
  }
  return AgentVerdict{};
}

}  // namespace mex
