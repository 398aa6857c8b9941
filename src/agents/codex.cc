#include "agents/codex.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "exec/environment.h"
#include "util/folder.h"  // ReadRegularFile

namespace mex {
namespace {

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

void CapCodex(AttemptSpec* spec) {
  std::string home;
  if (auto codex_home = FindEnv(spec->env, "CODEX_HOME")) {
    home = *codex_home;
  } else if (auto user_home = FindEnv(spec->env, "HOME")) {
    home = std::string(*user_home) + "/.codex";
  }
  std::string text = home.empty() ? "" : ReadRegularFile(home + "/config.toml");
  CodexConfig config = ReadCodexConfig(text, ProviderInArgs(spec->argv));
  // codex refuses to start when a setting names a built-in provider.
  static constexpr std::array<std::string_view, 5> kBuiltIn = {"", "openai", "oss", "ollama",
                                                               "lmstudio"};
  if (std::find(kBuiltIn.begin(), kBuiltIn.end(), config.provider) != kBuiltIn.end()) return;
  std::vector<std::string> caps;
  for (auto [key, retries] :
       {std::pair<std::string_view, int>{"request_max_retries", kCodexRequestRetries},
        {"stream_max_retries", kCodexStreamRetries}}) {
    std::string setting = fmt::format("model_providers.{}.{}=", config.provider, key);
    bool in_file = std::find(config.provider_keys.begin(), config.provider_keys.end(), key) !=
                   config.provider_keys.end();
    if (in_file || ArgsSet(spec->argv, setting)) continue;
    caps.push_back("-c");
    caps.push_back(setting + std::to_string(retries));
  }
  // After `exec`, where codex takes the options of a non-interactive run.
  auto at = std::find(spec->argv.begin(), spec->argv.end(), "exec");
  at = at == spec->argv.end() ? spec->argv.begin() + 1 : at + 1;
  spec->argv.insert(at, caps.begin(), caps.end());
}

}  // namespace

void CapAgentRetries(AgentDialect d, AttemptSpec* spec) {
  switch (d) {
    case AgentDialect::kClaude:
      if (!FindEnv(spec->env, "CLAUDE_CODE_MAX_RETRIES")) {
        SetEnv(&spec->env, "CLAUDE_CODE_MAX_RETRIES", std::to_string(kClaudeMaxRetries));
      }
      break;
    case AgentDialect::kCodex:
      CapCodex(spec);
      break;
    case AgentDialect::kGemini:  // only its settings.json can (see the header)
    case AgentDialect::kNone:
      break;
  }
}

}  // namespace mex
