#include "engine/failure.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "model/classify_pattern.h"

namespace mex {
namespace {

constexpr size_t kMaxQuote = 60;

// Texts that name the cause of a failure, matched case-insensitively in the log tail.
struct KnownText {
  std::string_view needle;  // lower case
  std::string_view label;   // as a person reads it in the reason
  FailureClass failure_class;
};

constexpr KnownText kKnownTexts[] = {
    {"no space left on device", "No space left on device", FailureClass::kResource},
    {"disk quota exceeded", "Disk quota exceeded", FailureClass::kResource},
    {"cannot allocate memory", "Cannot allocate memory", FailureClass::kResource},
    {"out of memory", "Out of memory", FailureClass::kResource},
    {"std::bad_alloc", "Out of memory (std::bad_alloc)", FailureClass::kResource},
    {"too many open files", "Too many open files", FailureClass::kResource},
    {"rate limit", "rate limited", FailureClass::kTransient},
    {"rate_limit", "rate limited", FailureClass::kTransient},
    {"ratelimit", "rate limited", FailureClass::kTransient},
    {"rate-limit", "rate limited", FailureClass::kTransient},
    {"too many requests", "rate limited", FailureClass::kTransient},
    {"connection refused", "Connection refused", FailureClass::kTransient},
    {"connection reset", "Connection reset", FailureClass::kTransient},
    {"connection timed out", "Connection timed out", FailureClass::kTransient},
    {"connection failed", "Connection failed", FailureClass::kTransient},
    {"connection error", "Connection error", FailureClass::kTransient},
    {"temporary failure in name resolution", "Temporary failure in name resolution",
     FailureClass::kTransient},
    {"could not resolve host", "Could not resolve host", FailureClass::kTransient},
    {"name or service not known", "Name or service not known", FailureClass::kTransient},
    {"network is unreachable", "Network is unreachable", FailureClass::kTransient},
    {"no route to host", "No route to host", FailureClass::kTransient},
    {"econnreset", "Connection reset", FailureClass::kTransient},
    {"econnrefused", "Connection refused", FailureClass::kTransient},
    {"etimedout", "Connection timed out", FailureClass::kTransient},
    {"socket hang up", "Connection reset", FailureClass::kTransient},
    {"service unavailable", "Service unavailable", FailureClass::kTransient},
    {"bad gateway", "Bad gateway", FailureClass::kTransient},
    {"gateway timeout", "Gateway timeout", FailureClass::kTransient},
    {"internal server error", "Internal server error", FailureClass::kTransient},
    {"overloaded", "server overloaded", FailureClass::kTransient},
};

// HTTP statuses that mean "try again later", counted only next to a word that makes them a
// status ("HTTP 429", "status: 503", "error code 529"), so that "line 429" does not count.
struct KnownStatus {
  std::string_view number;
  std::string_view label;
};

constexpr KnownStatus kKnownStatuses[] = {
    {"429", "rate limited"},     {"500", "server error 500"}, {"502", "server error 502"},
    {"503", "server error 503"}, {"504", "server error 504"}, {"529", "server overloaded (529)"},
};
constexpr std::string_view kStatusWords[] = {"status", "http", "error", "code"};
constexpr size_t kStatusWordReach = 16;  // how far before the number the word may stand

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// The last position of `number` as a whole number with a status word shortly before it, or npos.
size_t FindLastStatus(const std::string& lower, std::string_view number) {
  size_t pos = lower.rfind(number);
  while (pos != std::string::npos) {
    size_t end = pos + number.size();
    bool whole =
        (pos == 0 || !IsDigit(lower[pos - 1])) && (end == lower.size() || !IsDigit(lower[end]));
    if (whole) {
      size_t from = pos > kStatusWordReach ? pos - kStatusWordReach : 0;
      std::string_view before(lower.data() + from, pos - from);
      for (std::string_view word : kStatusWords) {
        if (before.find(word) != std::string_view::npos) return pos;
      }
    }
    if (pos == 0) break;
    pos = lower.rfind(number, pos - 1);
  }
  return std::string::npos;
}

struct TextMatch {
  std::string_view label;
  FailureClass failure_class = FailureClass::kLogic;
};

// The known text that occurs last in the log: the most recent cause is the one that counts.
std::optional<TextMatch> FindKnownText(std::string_view log_tail) {
  std::string lower = Lower(log_tail);
  std::optional<TextMatch> best;
  size_t best_pos = 0;
  auto consider = [&](size_t pos, std::string_view label, FailureClass c) {
    if (pos == std::string::npos) return;
    if (!best || pos > best_pos) {
      best = TextMatch{label, c};
      best_pos = pos;
    }
  };
  for (const KnownText& text : kKnownTexts) {
    consider(lower.rfind(text.needle), text.label, text.failure_class);
  }
  for (const KnownStatus& status : kKnownStatuses) {
    consider(FindLastStatus(lower, status.number), status.label, FailureClass::kTransient);
  }
  return best;
}

std::string SignalName(int signal) {
  switch (signal) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGXFSZ:
      return "SIGXFSZ";
    default:
      return "signal " + std::to_string(signal);
  }
}

// How the attempt ended, in a few words: "exit 2", "killed by SIGSEGV", "timed out".
std::string DescribeEnd(const AttemptOutcome& outcome) {
  const AttemptEnd& end = outcome.end;
  switch (end.reason) {
    case EndReason::kTimedOut:
      return "timed out";
    case EndReason::kStallKilled:
      return "stalled (no output) and killed";
    case EndReason::kCancelled:
      return "cancelled";
    case EndReason::kSpawnFailed:
      if (!end.error.empty()) return end.error;
      return std::string("could not start: ") + std::strerror(end.spawn_errno);
    case EndReason::kLogFull:
      return end.error.empty() ? "its log reached its cap and it was ended" : end.error;
    case EndReason::kLost:
      return end.error.empty() ? "lost by the cluster" : end.error;
    case EndReason::kOutOfMemory:
      return end.error.empty() ? "out of memory" : end.error;
    case EndReason::kExited:
      break;
  }
  if (end.exit_code == 0 && !outcome.output_error.empty()) return outcome.output_error;
  if (end.exit_code >= 0) return "exit " + std::to_string(end.exit_code);
  if (end.signal != 0) return "killed by " + SignalName(end.signal);
  return "ended abnormally";
}

// One line of at most kMaxQuote characters, for quoting a match in a reason.
std::string Quote(std::string_view text) {
  size_t length = std::min(text.size(), kMaxQuote);
  // Never end inside a UTF-8 sequence.
  if (length < text.size()) {
    while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
  }
  std::string quoted(text.substr(0, length));
  std::replace_if(
      quoted.begin(), quoted.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (length < text.size()) quoted += "...";
  return "\"" + quoted + "\"";
}

bool Contains(const std::vector<int>& values, int value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Whether every condition `rule` gives holds for the attempt; `matched` gets the log text a
// pattern matched.
bool RuleMatches(const ClassifyRule& rule, const AttemptOutcome& outcome, std::string* matched) {
  const AttemptEnd& end = outcome.end;
  if (!rule.exit_codes.empty() && !(end.reason == EndReason::kExited && end.exit_code >= 0 &&
                                    Contains(rule.exit_codes, end.exit_code))) {
    return false;
  }
  if (!rule.signals.empty() && !(end.signal != 0 && Contains(rule.signals, end.signal))) {
    return false;
  }
  if (rule.timeout && *rule.timeout != (end.reason == EndReason::kTimedOut)) return false;
  if (!rule.pattern.empty()) {
    // One search of the whole tail: RE2 takes time linear in it, whatever the pattern. The
    // loader compiled the pattern (a rule made elsewhere without one never matches).
    std::string_view match;
    if (!rule.regex || !SearchClassifyPattern(*rule.regex, outcome.log_tail, &match)) return false;
    *matched = match;
  }
  return true;
}

Classification Failed(FailureClass c, std::string reason) {
  return Classification{false, c, std::move(reason)};
}

// The command a shell could not find, from the message it wrote last: dash's "sh: 1: NAME: not
// found", bash's "bash: line 1: NAME: command not found" (or "bash: NAME: command not found").
// "" when the log holds no such line.
std::string MissingCommand(const std::string& log_tail) {
  size_t end = log_tail.size();
  while (end > 0) {
    size_t start = log_tail.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string_view line(log_tail.data() + start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    for (std::string_view suffix : {": command not found", ": not found"}) {
      if (!line.ends_with(suffix)) continue;
      std::string_view head = line.substr(0, line.size() - suffix.size());
      size_t colon = head.rfind(": ");
      if (colon == std::string_view::npos) break;
      std::string_view name = head.substr(colon + 2);
      if (!name.empty() && name.size() <= 200) return std::string(name);
      break;
    }
    end = start == 0 ? 0 : start - 1;
  }
  return "";
}

Classification ClassifyByDefault(const AttemptOutcome& outcome) {
  const AttemptEnd& end = outcome.end;
  switch (end.reason) {
    case EndReason::kTimedOut:
    case EndReason::kStallKilled:
    case EndReason::kCancelled:
      return Failed(FailureClass::kTransient, DescribeEnd(outcome));
    case EndReason::kSpawnFailed:
      // A file of the attempt that mex refused to go through (a symlink on its way, a FIFO at a
      // log's name): something a task or an agent planted, which the next attempt may not meet.
      if (end.spawn_errno == ELOOP || end.spawn_errno == EXDEV || end.spawn_errno == ENXIO) {
        return Failed(FailureClass::kLogic, DescribeEnd(outcome));
      }
      // Out of descriptors or processes (ulimit -n, -u; the whole system's), or memory: not
      // the task's fault, and gone once other attempts end.
      if (end.spawn_errno == EMFILE || end.spawn_errno == ENFILE || end.spawn_errno == EAGAIN ||
          end.spawn_errno == ENOMEM) {
        return Failed(FailureClass::kResource, DescribeEnd(outcome));
      }
      return Failed(FailureClass::kPermanent, DescribeEnd(outcome));
    case EndReason::kLogFull:
      // A runaway: the next attempt is told why the last one was ended.
      return Failed(FailureClass::kLogic, DescribeEnd(outcome));
    case EndReason::kLost:
      return Failed(FailureClass::kTransient, DescribeEnd(outcome));
    case EndReason::kOutOfMemory:
      return Failed(FailureClass::kResource, DescribeEnd(outcome));
    case EndReason::kExited:
      break;
  }
  if (end.exit_code == 0) return Failed(FailureClass::kLogic, outcome.output_error);
  if (end.exit_code == 126) {
    return Failed(FailureClass::kPermanent, "exit 126: command not executable");
  }
  if (end.exit_code == 127) {
    std::string name = MissingCommand(outcome.log_tail);
    return Failed(FailureClass::kPermanent, name.empty() ? "exit 127: command not found"
                                                         : "exit 127: command not found: " + name);
  }
  if (end.exit_code == 137) {
    return Failed(FailureClass::kResource, "exit 137: killed, likely out of memory");
  }
  if (end.exit_code < 0 && end.signal == SIGKILL) {
    return Failed(FailureClass::kResource, "killed by SIGKILL");
  }
  if (std::optional<TextMatch> text = FindKnownText(outcome.log_tail)) {
    return Failed(text->failure_class,
                  std::string(text->label) + " (" + DescribeEnd(outcome) + ")");
  }
  return Failed(FailureClass::kLogic, DescribeEnd(outcome));
}

}  // namespace

std::string_view FailureClassName(FailureClass c) {
  switch (c) {
    case FailureClass::kTransient:
      return "transient";
    case FailureClass::kResource:
      return "resource";
    case FailureClass::kLogic:
      return "logic";
    case FailureClass::kPermanent:
      return "permanent";
  }
  return "logic";
}

Classification Classify(const AttemptOutcome& outcome, const std::vector<ClassifyRule>& rules) {
  const AttemptEnd& end = outcome.end;
  if (end.reason == EndReason::kExited && end.exit_code == 0 && outcome.output_error.empty() &&
      outcome.agent_failure.empty()) {
    return Classification{true, FailureClass::kLogic, "succeeded"};
  }
  // mex ended it, or the cluster lost it: not the task's fault, whatever a rule would make of
  // its log.
  if (end.reason == EndReason::kCancelled || end.reason == EndReason::kLost) {
    return ClassifyByDefault(outcome);
  }
  for (const ClassifyRule& rule : rules) {
    std::string matched;
    if (!RuleMatches(rule, outcome, &matched)) continue;
    std::string reason =
        "classify rule at line " + std::to_string(rule.pos.line) + ": " + DescribeEnd(outcome);
    if (!rule.pattern.empty()) reason += ", log matched " + Quote(matched);
    return Failed(rule.failure_class, std::move(reason));
  }
  if (end.reason == EndReason::kExited && !outcome.agent_failure.empty()) {
    return Failed(outcome.agent_class, outcome.agent_failure);
  }
  return ClassifyByDefault(outcome);
}

double BackoffDelay(const Backoff& backoff, int next_attempt, std::mt19937_64* rng) {
  int retries = std::max(next_attempt, 2) - 2;
  double delay = backoff.initial_s * std::pow(backoff.factor, retries);
  if (!(delay < backoff.max_s)) delay = backoff.max_s;  // also catches overflow to inf and NaN
  delay = std::max(delay, 0.0);
  double jitter = std::clamp(backoff.jitter, 0.0, 1.0);
  if (jitter > 0 && delay > 0 && rng != nullptr) {
    std::uniform_real_distribution<double> spread(-jitter * delay, jitter * delay);
    delay += spread(*rng);
  }
  return std::max(delay, 0.0);
}

}  // namespace mex
