#include "engine/failure.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>

#include "model/classify_pattern.h"

namespace mex {
namespace {

AttemptOutcome Exited(int exit_code, std::string log_tail = "") {
  AttemptOutcome o;
  o.end.reason = EndReason::kExited;
  o.end.exit_code = exit_code;
  o.log_tail = std::move(log_tail);
  return o;
}

AttemptOutcome Signalled(int signal, std::string log_tail = "") {
  AttemptOutcome o;
  o.end.reason = EndReason::kExited;
  o.end.signal = signal;
  o.log_tail = std::move(log_tail);
  return o;
}

AttemptOutcome EndedBy(EndReason reason) {
  AttemptOutcome o;
  o.end.reason = reason;
  if (reason == EndReason::kTimedOut || reason == EndReason::kStallKilled ||
      reason == EndReason::kCancelled) {
    o.end.signal = SIGTERM;
  }
  return o;
}

Classification Default(const AttemptOutcome& o) {
  return Classify(o, {});
}

ClassifyRule Rule(FailureClass c, uint32_t line) {
  ClassifyRule rule;
  rule.failure_class = c;
  rule.pos.line = line;
  return rule;
}

// A rule's pattern as the loader sets it: the text and its compiled RE2.
void SetPattern(ClassifyRule* rule, const std::string& pattern) {
  std::string err;
  rule->pattern = pattern;
  rule->regex = CompileClassifyPattern(pattern, &err);
  ASSERT_TRUE(rule->regex) << pattern << ": " << err;
}

TEST(FailureTest, ClassNames) {
  EXPECT_EQ(FailureClassName(FailureClass::kTransient), "transient");
  EXPECT_EQ(FailureClassName(FailureClass::kResource), "resource");
  EXPECT_EQ(FailureClassName(FailureClass::kLogic), "logic");
  EXPECT_EQ(FailureClassName(FailureClass::kPermanent), "permanent");
}

TEST(FailureTest, ExitZeroWithValidOutputSucceeds) {
  Classification c = Default(Exited(0, "all good, though rate limit was mentioned"));
  EXPECT_TRUE(c.succeeded);
}

TEST(FailureTest, ExitZeroWithInvalidOutputIsLogic) {
  AttemptOutcome o = Exited(0);
  o.output_error = "/decisions/0/id: expected a non-empty string";
  Classification c = Default(o);
  EXPECT_FALSE(c.succeeded);
  EXPECT_EQ(c.failure_class, FailureClass::kLogic);
  EXPECT_EQ(c.reason, o.output_error);
}

TEST(FailureTest, TimeoutIsTransient) {
  Classification c = Default(EndedBy(EndReason::kTimedOut));
  EXPECT_FALSE(c.succeeded);
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "timed out");
}

TEST(FailureTest, StallKillIsTransient) {
  Classification c = Default(EndedBy(EndReason::kStallKilled));
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "stalled (no output) and killed");
}

TEST(FailureTest, CancelledIsTransient) {
  Classification c = Default(EndedBy(EndReason::kCancelled));
  EXPECT_FALSE(c.succeeded);
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "cancelled");
}

TEST(FailureTest, CancelledIgnoresUserRules) {
  AttemptOutcome o = EndedBy(EndReason::kCancelled);
  o.log_tail = "fatal: bad config";
  ClassifyRule rule = Rule(FailureClass::kPermanent, 4);
  SetPattern(&rule, "fatal");
  EXPECT_EQ(Classify(o, {rule}).failure_class, FailureClass::kTransient);
}

TEST(FailureTest, SpawnFailureIsPermanent) {
  AttemptOutcome o = EndedBy(EndReason::kSpawnFailed);
  o.end.spawn_errno = ENOENT;
  o.end.error = "cannot run 'no-such-agent': No such file or directory";
  Classification c = Default(o);
  EXPECT_EQ(c.failure_class, FailureClass::kPermanent);
  EXPECT_EQ(c.reason, o.end.error);
}

TEST(FailureTest, SpawnFailureWithoutMessageNamesTheErrno) {
  AttemptOutcome o = EndedBy(EndReason::kSpawnFailed);
  o.end.spawn_errno = EACCES;
  Classification c = Default(o);
  EXPECT_EQ(c.failure_class, FailureClass::kPermanent);
  EXPECT_EQ(c.reason, std::string("could not start: ") + std::strerror(EACCES));
}

TEST(FailureTest, SpawnFailureForWantOfDescriptorsProcessesOrMemoryIsResource) {
  // ulimit -n, ulimit -u, the whole system's tables, memory: gone once other attempts end.
  for (int err_no : {EMFILE, ENFILE, EAGAIN, ENOMEM}) {
    AttemptOutcome o = EndedBy(EndReason::kSpawnFailed);
    o.end.spawn_errno = err_no;
    o.end.error = std::string("cannot open stdin /dev/null: ") + std::strerror(err_no);
    Classification c = Default(o);
    EXPECT_EQ(c.failure_class, FailureClass::kResource) << std::strerror(err_no);
    EXPECT_EQ(c.reason, o.end.error);
  }
}

TEST(FailureTest, LogFullIsLogicAndSaysWhy) {
  AttemptOutcome o = EndedBy(EndReason::kLogFull);
  o.end.signal = SIGKILL;
  o.end.error = "its log reached log_limit (1048576 bytes) and mex ended it";
  Classification c = Default(o);
  EXPECT_EQ(c.failure_class, FailureClass::kLogic);
  EXPECT_EQ(c.reason, o.end.error);
}

TEST(FailureTest, Exit126IsPermanent) {
  Classification c = Default(Exited(126, "sh: ./run.sh: Permission denied"));
  EXPECT_EQ(c.failure_class, FailureClass::kPermanent);
  EXPECT_EQ(c.reason, "exit 126: command not executable");
}

TEST(FailureTest, Exit127IsPermanentAndNamesTheCommand) {
  Classification c = Default(Exited(127, "sh: 1: claud: not found\n"));
  EXPECT_EQ(c.failure_class, FailureClass::kPermanent);
  EXPECT_EQ(c.reason, "exit 127: command not found: claud");
  // bash's words, the last such line of the log
  c = Default(Exited(127,
                     "bash: line 1: first: command not found\nbash: line 2: make-it: "
                     "command not found\n"));
  EXPECT_EQ(c.reason, "exit 127: command not found: make-it");
  // a 127 the shell did not explain
  c = Default(Exited(127, "something else\n"));
  EXPECT_EQ(c.reason, "exit 127: command not found");
}

TEST(FailureTest, Exit137IsResource) {
  Classification c = Default(Exited(137));
  EXPECT_EQ(c.failure_class, FailureClass::kResource);
  EXPECT_EQ(c.reason, "exit 137: killed, likely out of memory");
}

TEST(FailureTest, SigkillNotSentByMexIsResource) {
  Classification c = Default(Signalled(SIGKILL));
  EXPECT_EQ(c.failure_class, FailureClass::kResource);
  EXPECT_EQ(c.reason, "killed by SIGKILL");
}

TEST(FailureTest, OtherSignalIsLogic) {
  Classification c = Default(Signalled(SIGSEGV));
  EXPECT_EQ(c.failure_class, FailureClass::kLogic);
  EXPECT_EQ(c.reason, "killed by SIGSEGV");
}

TEST(FailureTest, NoSpaceLeftIsResource) {
  Classification c = Default(Exited(1, "write out.bin: No space left on device\n"));
  EXPECT_EQ(c.failure_class, FailureClass::kResource);
  EXPECT_EQ(c.reason, "No space left on device (exit 1)");
}

TEST(FailureTest, CannotAllocateMemoryIsResource) {
  Classification c = Default(Exited(1, "fork: Cannot allocate memory"));
  EXPECT_EQ(c.failure_class, FailureClass::kResource);
  EXPECT_EQ(c.reason, "Cannot allocate memory (exit 1)");
}

TEST(FailureTest, TooManyOpenFilesIsResource) {
  Classification c = Default(Exited(2, "open: too many open files"));
  EXPECT_EQ(c.failure_class, FailureClass::kResource);
  EXPECT_EQ(c.reason, "Too many open files (exit 2)");
}

TEST(FailureTest, OutOfMemoryIsResource) {
  Classification c = Default(Signalled(SIGABRT, "CUDA error: OUT OF MEMORY"));
  EXPECT_EQ(c.failure_class, FailureClass::kResource);
  EXPECT_EQ(c.reason, "Out of memory (killed by SIGABRT)");
}

TEST(FailureTest, RateLimitTextIsTransient) {
  Classification c = Default(Exited(1, "Error: Rate limit exceeded, retry later"));
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "rate limited (exit 1)");
}

TEST(FailureTest, Http429IsTransient) {
  Classification c = Default(Exited(1, "request failed: HTTP 429"));
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "rate limited (exit 1)");
}

TEST(FailureTest, BareNumber429IsNotRateLimit) {
  Classification c = Default(Exited(1, "assertion failed at parser.cc line 1429\n"));
  EXPECT_EQ(c.failure_class, FailureClass::kLogic);
  c = Default(Exited(1, "processed 429 records, then failed\n"));
  EXPECT_EQ(c.failure_class, FailureClass::kLogic);
}

TEST(FailureTest, ServiceUnavailableIsTransient) {
  Classification c = Default(Exited(1, "upstream said: 503 Service Unavailable"));
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "Service unavailable (exit 1)");
}

TEST(FailureTest, NetworkTextsAreTransient) {
  for (const char* text :
       {"connect: Connection refused", "read: connection reset by peer",
        "getaddrinfo: Temporary failure in name resolution", "curl: (6) Could not resolve host",
        "Connection failed: stream disconnected", "status code 529 overloaded_error"}) {
    Classification c = Default(Exited(1, text));
    EXPECT_EQ(c.failure_class, FailureClass::kTransient) << text;
  }
}

TEST(FailureTest, LastKnownTextInTheLogDecides) {
  Classification c =
      Default(Exited(1, "retrying: connection reset\n...\nwrite: No space left on device\n"));
  EXPECT_EQ(c.failure_class, FailureClass::kResource);
  c = Default(Exited(1, "No space left on device (cleaned up)\nretry: Connection refused\n"));
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
}

TEST(FailureTest, OtherExitIsLogic) {
  Classification c = Default(Exited(2, "test_parse FAILED\n"));
  EXPECT_FALSE(c.succeeded);
  EXPECT_EQ(c.failure_class, FailureClass::kLogic);
  EXPECT_EQ(c.reason, "exit 2");
}

TEST(FailureTest, UserRuleTakesPrecedence) {
  ClassifyRule rule = Rule(FailureClass::kTransient, 12);
  rule.exit_codes = {127};
  Classification c = Classify(Exited(127), {rule});
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "classify rule at line 12: exit 127");
}

TEST(FailureTest, UserRuleNeedsEveryCondition) {
  ClassifyRule rule = Rule(FailureClass::kPermanent, 7);
  rule.exit_codes = {1, 3};
  SetPattern(&rule, "quota (exceeded|reached)");
  // Exit code matches, pattern does not.
  EXPECT_EQ(Classify(Exited(1, "something else"), {rule}).failure_class, FailureClass::kLogic);
  // Pattern matches, exit code does not.
  EXPECT_EQ(Classify(Exited(2, "quota exceeded"), {rule}).failure_class, FailureClass::kLogic);
  // Both match.
  Classification c = Classify(Exited(3, "line one\nerror: quota reached for org\n"), {rule});
  EXPECT_EQ(c.failure_class, FailureClass::kPermanent);
  EXPECT_EQ(c.reason, "classify rule at line 7: exit 3, log matched \"quota reached\"");
}

TEST(FailureTest, UserRuleFirstMatchWins) {
  ClassifyRule first = Rule(FailureClass::kResource, 3);
  first.exit_codes = {4};
  ClassifyRule second = Rule(FailureClass::kPermanent, 5);
  second.exit_codes = {4};
  EXPECT_EQ(Classify(Exited(4), {first, second}).failure_class, FailureClass::kResource);
}

TEST(FailureTest, UserRuleTimeoutCondition) {
  ClassifyRule timed_out = Rule(FailureClass::kPermanent, 2);
  timed_out.timeout = true;
  EXPECT_EQ(Classify(EndedBy(EndReason::kTimedOut), {timed_out}).failure_class,
            FailureClass::kPermanent);
  EXPECT_EQ(Classify(Exited(1), {timed_out}).failure_class, FailureClass::kLogic);

  ClassifyRule not_timed_out = Rule(FailureClass::kPermanent, 2);
  not_timed_out.timeout = false;
  EXPECT_EQ(Classify(EndedBy(EndReason::kTimedOut), {not_timed_out}).failure_class,
            FailureClass::kTransient);
  EXPECT_EQ(Classify(Exited(1), {not_timed_out}).failure_class, FailureClass::kPermanent);
}

TEST(FailureTest, UserRuleSignalCondition) {
  ClassifyRule rule = Rule(FailureClass::kTransient, 9);
  rule.signals = {SIGKILL};
  Classification c = Classify(Signalled(SIGKILL), {rule});
  EXPECT_EQ(c.failure_class, FailureClass::kTransient);
  EXPECT_EQ(c.reason, "classify rule at line 9: killed by SIGKILL");
  EXPECT_EQ(Classify(Exited(137), {rule}).failure_class, FailureClass::kResource);
}

TEST(FailureTest, UserRuleExitCodeNeedsAnExit) {
  ClassifyRule rule = Rule(FailureClass::kLogic, 1);
  rule.exit_codes = {0};
  // A timed-out attempt has no exit code, whatever the rule lists.
  EXPECT_EQ(Classify(EndedBy(EndReason::kTimedOut), {rule}).failure_class,
            FailureClass::kTransient);
}

TEST(FailureTest, UserPatternSurvivesAHugeLogLine) {
  // libstdc++'s recursive matcher overflowed the stack on one match over 32 KiB.
  ClassifyRule rule = Rule(FailureClass::kPermanent, 6);
  SetPattern(&rule, "FATAL: x+");
  std::string log = std::string(60000, 'y') + "FATAL: " + std::string(32000, 'x') + "\n";
  Classification c = Classify(Exited(1, log), {rule});
  EXPECT_EQ(c.failure_class, FailureClass::kPermanent);
  EXPECT_EQ(c.reason.find("classify rule at line 6: exit 1, log matched \"FATAL: xxx"), 0u);
  EXPECT_EQ(Classify(Exited(1, std::string(90000, 'x')), {rule}).failure_class,
            FailureClass::kLogic);
}

TEST(FailureTest, UserPatternFindsAMatchAnywhereInALongLine) {
  ClassifyRule rule = Rule(FailureClass::kPermanent, 6);
  SetPattern(&rule, "quota exceeded for project [a-z]+");
  for (size_t at : {1000u, 1010u, 1020u, 1030u, 5000u}) {
    std::string log =
        std::string(at, 'y') + " quota exceeded for project alpha " + std::string(3000, 'y');
    EXPECT_EQ(Classify(Exited(1, log), {rule}).failure_class, FailureClass::kPermanent) << at;
  }
}

TEST(FailureTest, UserPatternAnchorsAtLineStart) {
  ClassifyRule rule = Rule(FailureClass::kPermanent, 6);
  SetPattern(&rule, "^fatal:");
  EXPECT_EQ(Classify(Exited(1, "ok\nfatal: no repo\n"), {rule}).failure_class,
            FailureClass::kPermanent);
  EXPECT_EQ(Classify(Exited(1, "ok\nnot fatal: fine\n"), {rule}).failure_class,
            FailureClass::kLogic);
}

TEST(FailureTest, UserPatternThatBacktracksExponentiallyReturns) {
  // A backtracking matcher tries 2^n ways to split n a's between the two '+' before it gives up:
  // std::regex did not return from 44 of them (killed after 60 s). RE2 runs in linear time.
  ClassifyRule rule = Rule(FailureClass::kPermanent, 3);
  SetPattern(&rule, "(a+)+b");
  EXPECT_EQ(Classify(Exited(1, std::string(44, 'a')), {rule}).failure_class, FailureClass::kLogic);
  EXPECT_EQ(Classify(Exited(1, std::string(64 * 1024, 'a')), {rule}).failure_class,
            FailureClass::kLogic);
  Classification c = Classify(Exited(1, std::string(44, 'a') + "b\n"), {rule});
  EXPECT_EQ(c.failure_class, FailureClass::kPermanent);
  EXPECT_EQ(c.reason,
            "classify rule at line 3: exit 1, log matched \"" + std::string(44, 'a') + "b\"");
}

TEST(FailureTest, UserPatternAnchorsAtLineEnd) {
  ClassifyRule rule = Rule(FailureClass::kPermanent, 6);
  SetPattern(&rule, "failed$");
  EXPECT_EQ(Classify(Exited(1, "build failed\nok\n"), {rule}).failure_class,
            FailureClass::kPermanent);
  EXPECT_EQ(Classify(Exited(1, "build failed twice\n"), {rule}).failure_class,
            FailureClass::kLogic);
}

TEST(FailureTest, UserPatternNeverSpansLines) {
  ClassifyRule rule = Rule(FailureClass::kPermanent, 6);
  for (const char* pattern : {"fatal.*repo", "fatal\\s+repo", "fatal[^x]+repo"}) {
    SetPattern(&rule, pattern);
    EXPECT_EQ(Classify(Exited(1, "fatal\nrepo\n"), {rule}).failure_class, FailureClass::kLogic)
        << pattern;
    EXPECT_EQ(Classify(Exited(1, "fatal \t repo\n"), {rule}).failure_class,
              FailureClass::kPermanent)
        << pattern;
  }
}

TEST(FailureTest, UserPatternIsCaseSensitiveUnlessItSaysOtherwise) {
  ClassifyRule rule = Rule(FailureClass::kPermanent, 6);
  SetPattern(&rule, "quota exceeded");
  EXPECT_EQ(Classify(Exited(1, "Quota Exceeded\n"), {rule}).failure_class, FailureClass::kLogic);
  SetPattern(&rule, "(?i)quota exceeded");
  EXPECT_EQ(Classify(Exited(1, "Quota Exceeded\n"), {rule}).failure_class,
            FailureClass::kPermanent);
}

TEST(FailureTest, BackoffDefaultsDoubleUpToMax) {
  Backoff backoff;  // initial 2 s, factor 2, max 300 s, no jitter
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 2, nullptr), 2);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 3, nullptr), 4);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 4, nullptr), 8);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 5, nullptr), 16);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 9, nullptr), 256);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 10, nullptr), 300);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 5000, nullptr), 300);
}

TEST(FailureTest, BackoffJitterStaysWithinBounds) {
  Backoff backoff;
  backoff.jitter = 0.25;
  std::mt19937_64 rng(42);
  double low = 1e9, high = 0;
  for (int i = 0; i < 10000; ++i) {
    double d = BackoffDelay(backoff, 3, &rng);  // 4 s ± 1 s
    ASSERT_GE(d, 3.0);
    ASSERT_LE(d, 5.0);
    low = std::min(low, d);
    high = std::max(high, d);
  }
  EXPECT_LT(low, 3.1);  // the draws spread over the whole range
  EXPECT_GT(high, 4.9);
}

TEST(FailureTest, BackoffFullJitterIsNeverNegative) {
  Backoff backoff;
  backoff.jitter = 1;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    double d = BackoffDelay(backoff, 2, &rng);
    ASSERT_GE(d, 0.0);
    ASSERT_LE(d, 4.0);
  }
}

}  // namespace
}  // namespace mex
