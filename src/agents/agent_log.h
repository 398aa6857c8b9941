// What the CLI files (claude.cc, codex.cc, gemini.cc) share to read an attempt's log: the last
// JSON object of a kind, its fields, the causes of a failure and the verdicts they give. Each CLI
// file's own code is in this namespace too, so it calls them by their names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agents/agent_cli.h"

namespace mex::agents {

using json = nlohmann::json;

inline constexpr size_t kNpos = std::string_view::npos;

std::string Lower(std::string_view text);

bool Contains(std::string_view text, std::string_view part);

// `text` as one line of at most 80 bytes in quotes, for a reason.
std::string Quote(std::string_view text);

// The last JSON object in `text` for which `wanted` holds. An object is looked for at the first
// '{' of each line, last line first: the agents print their objects at the start of a line (one
// line, or pretty-printed) or after a prefix ("[ERROR] {...}"), between lines of other text.
// The search walks and parses at most 32 times kAgentLogTailBytes in all, and takes no text that
// nests deeper than a result object could.
std::optional<json> LastObject(std::string_view text, bool (*wanted)(const json&));

// The field `key` of `object`, or null (also when `object` is no object).
const json* Field(const json& object, const char* key);

// The string `key` of `object`, or "".
std::string StringField(const json& object, const char* key);

bool IsTrue(const json& object, const char* key);

// A whole number in the range of int64_t, or nullopt.
std::optional<int64_t> IntField(const json& object, const char* key);

// A token count: a whole number >= 0.
std::optional<int64_t> TokenField(const json& object, const char* key);

// An amount of money: a finite number >= 0.
std::optional<double> CostField(const json& object, const char* key);

// a + b, or the largest int64_t when it would overflow.
int64_t AddTokens(int64_t a, int64_t b);

// What a failure was caused by, as read from a status, an exit code or a known text.
struct Cause {
  FailureClass failure_class = FailureClass::kLogic;
  std::string label;  // "API error 429 (rate limited)"
};

// HTTP statuses of the model APIs: a refused credential does not get better by waiting; a rate
// limit, an overloaded or failing server does.
std::optional<Cause> HttpCause(int64_t status);

// A text an agent prints for a cause, matched in lower case.
struct KnownText {
  std::string_view needle;
  FailureClass failure_class;
  std::string_view label;
};

// The known text found last in `lower`, the most recent cause.
std::optional<Cause> FindLastText(std::string_view lower, const KnownText* texts, size_t count,
                                  size_t* found_at = nullptr);

// Marks `v` judged and failed, of class `c`, for `reason` (made one line).
AgentVerdict& Fail(AgentVerdict& v, FailureClass c, std::string reason);

// Fail with the class of `cause`, its label after `prefix` ("codex: "), when there is a cause;
// else `v` as it is.
AgentVerdict& FailFor(AgentVerdict& v, const std::optional<Cause>& cause, std::string_view prefix);

// Marks `v` judged and done, for `reason`.
AgentVerdict& Done(AgentVerdict& v, std::string reason);

}  // namespace mex::agents
