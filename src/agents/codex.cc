#include "agents/codex.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "agents/agent_log.h"
#include "util/environment.h"
#include "util/folder.h"  // ReadRegularFile

namespace mex::agents {
namespace {

// How codex is started: its retries capped (codex.h).

constexpr std::string_view kWhitespace = " \t\r";

std::string_view Trim(std::string_view text) {
  size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(kWhitespace);
  return text.substr(first, last - first + 1);
}

// `"value"` or `'value'` without its quotes; a bare word as it is.
std::string_view Unquote(std::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
    size_t close = value.find(value.front(), 1);
    if (close != std::string_view::npos) return value.substr(1, close - 1);
  }
  size_t comment = value.find('#');
  return Trim(value.substr(0, comment));
}

// What codex's config.toml says of the provider it uses. Read line by line: the top-level key
// `model_provider` and the keys of the table [model_providers.ID]; anything else is ignored.
struct CodexConfig {
  std::string provider;                    // "" when the file does not choose one (codex: "openai")
  std::vector<std::string> provider_keys;  // keys set in the chosen provider's table
};

CodexConfig ReadCodexConfig(const std::string& text, std::string_view forced_provider) {
  CodexConfig config;
  config.provider = forced_provider;
  // TOML puts the top-level keys before the first table: the provider is known by its table.
  std::string table;  // the table the current line is in, "" at the top level
  bool in_provider = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line = Trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      table = close == std::string_view::npos ? "" : std::string(Trim(line.substr(1, close - 1)));
      in_provider =
          !config.provider.empty() && (table == "model_providers." + config.provider ||
                                       table == "model_providers.\"" + config.provider + "\"");
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, eq));
    if (table.empty() && key == "model_provider" && forced_provider.empty()) {
      config.provider = Unquote(Trim(line.substr(eq + 1)));
    } else if (in_provider) {
      config.provider_keys.emplace_back(key);
    }
  }
  return config;
}

// The provider a `-c model_provider=ID` in the command chooses, or "".
std::string ProviderInArgs(const std::vector<std::string>& argv) {
  std::string provider;
  for (size_t i = 1; i + 1 < argv.size(); ++i) {
    if (argv[i] != "-c" && argv[i] != "--config") continue;
    std::string_view setting = argv[i + 1];
    if (setting.starts_with("model_provider=")) {
      provider = Unquote(setting.substr(std::string_view("model_provider=").size()));
    }
  }
  return provider;
}

bool ArgsSet(const std::vector<std::string>& argv, std::string_view setting_prefix) {
  return std::any_of(argv.begin(), argv.end(),
                     [&](const std::string& word) { return word.starts_with(setting_prefix); });
}

void CapCodex(std::vector<std::string>* argv, const std::vector<std::string>& env) {
  std::string home;
  if (auto codex_home = FindEnv(env, "CODEX_HOME")) {
    home = *codex_home;
  } else if (auto user_home = FindEnv(env, "HOME")) {
    home = std::string(*user_home) + "/.codex";
  }
  std::string text = home.empty() ? "" : ReadRegularFile(home + "/config.toml");
  CodexConfig config = ReadCodexConfig(text, ProviderInArgs(*argv));
  // codex refuses to start when a setting names a built-in provider.
  static constexpr std::array<std::string_view, 5> kBuiltIn = {"", "openai", "oss", "ollama",
                                                               "lmstudio"};
  std::vector<std::string> caps;
  // With nothing to connect to codex otherwise reconnects for ever ("Reconnecting... waiting for
  // network"); with the feature off it gives up at once, "Connection failed" (docs/agents.md).
  if (!ArgsSet(*argv, kCodexUnboundedReconnect)) {
    caps.push_back("-c");
    caps.push_back(std::string(kCodexUnboundedReconnect) + "false");
  }
  bool built_in = std::find(kBuiltIn.begin(), kBuiltIn.end(), config.provider) != kBuiltIn.end();
  for (auto [key, retries] :
       {std::pair<std::string_view, int>{"request_max_retries", kCodexRequestRetries},
        {"stream_max_retries", kCodexStreamRetries}}) {
    std::string setting = fmt::format("model_providers.{}.{}=", config.provider, key);
    bool in_file = std::find(config.provider_keys.begin(), config.provider_keys.end(), key) !=
                   config.provider_keys.end();
    if (built_in || in_file || ArgsSet(*argv, setting)) continue;
    caps.push_back("-c");
    caps.push_back(setting + std::to_string(retries));
  }
  if (caps.empty()) return;
  // After `exec`, where codex takes the options of a non-interactive run.
  auto at = std::find(argv->begin(), argv->end(), "exec");
  at = at == argv->end() ? argv->begin() + 1 : at + 1;
  argv->insert(at, caps.begin(), caps.end());
}

// What codex reported.

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

}  // namespace

void CapCodexRetries(std::vector<std::string>* argv, std::vector<std::string>* env) {
  CapCodex(argv, *env);
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
  return FailFor(v, FindCodexCause(log), "codex: ");
}

}  // namespace mex::agents
