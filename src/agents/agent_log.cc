#include "agents/agent_log.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace mex::agents {
namespace {

// How many bytes the search for JSON objects may walk and parse in all: a log full of braces that
// never close costs 32 passes over the tail, not one per line.
constexpr size_t kScanBudget = 32 * kAgentLogTailBytes;
// A result object nests a few levels; text that nests deeper is not one.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxQuote = 80;

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

}  // namespace

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

std::optional<json> LastObject(std::string_view text, bool (*wanted)(const json&)) {
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

std::optional<int64_t> TokenField(const json& object, const char* key) {
  std::optional<int64_t> n = IntField(object, key);
  if (n && *n < 0) return std::nullopt;
  return n;
}

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

std::optional<Cause> FindLastText(std::string_view lower, const KnownText* texts, size_t count,
                                  size_t* found_at) {
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

AgentVerdict& FailFor(AgentVerdict& v, const std::optional<Cause>& cause, std::string_view prefix) {
  return cause ? Fail(v, cause->failure_class, std::string(prefix) + cause->label) : v;
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

}  // namespace mex::agents
